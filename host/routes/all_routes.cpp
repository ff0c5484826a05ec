#include "routes/routes.h"

namespace tpark {

void add_all_routes(http::Router& router, AppContext& app) {
  add_host_routes(router, app);
  add_event_routes(router, app);
  add_telemetry_routes(router, app);
  add_route_stats_routes(router, app);
  add_config_routes(router, app);
  add_live_routes(router, app);
  add_action_routes(router, app);
  add_lease_routes(router, app);
  add_policy_routes(router, app);
  add_training_routes(router, app);
  add_ui_routes(router, app);
}

}  // namespace tpark
