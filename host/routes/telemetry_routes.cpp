// GET /state/training/telemetry (telemetry.md 2), built by
// telemetry/training_snapshot. Everything after generated_ms is kept between
// changes (SnapshotCache), so a poll with nothing new costs a lookup and one
// copy; generated and generated_ms are written fresh for every response.
#include "config/config_state.h"
#include "http/problem.h"
#include "plugins/plugin_manager.h"
#include "routes/routes.h"
#include "telemetry/host_telemetry.h"
#include "telemetry/training_snapshot.h"
#include "util/time.h"

namespace tpark {

using http::Access;
using http::Request;
using http::Response;

namespace {

Response telemetry_snapshot(AppContext& app, SnapshotCache& cache, const Request& req) {
  // Read before rendering: a change during the render leaves the entry stale.
  const uint64_t generation = app.telemetry ? app.telemetry->change_generation() : 0;
  const auto now = SnapshotCache::Clock::now();
  std::shared_ptr<const CachedSnapshot> rest =
      app.telemetry ? cache.find(generation, now) : nullptr;
  if (rest) {
    // Each response counts its unavailable sections, as a fresh render does.
    if (!rest->unavailable.empty()) app.telemetry->on_sections_rendered(rest->unavailable);
  } else {
    bool reusable = false;
    rest = std::make_shared<const CachedSnapshot>(
        render_training_snapshot_rest(*app.plugins, app.telemetry, &reusable, [&app] {
          return app.config ? app.config->telemetry_config().dump() : std::string("null");
        }));
    if (reusable && app.telemetry) cache.store(generation, now, rest);
  }
  Response r = http::json_text_response(req, 200, training_snapshot_text(*rest, now_ms()));
  r.set_header("Cache-Control", "no-store");
  return r;
}

}  // namespace

void add_telemetry_routes(http::Router& router, AppContext& app) {
  auto cache = std::make_shared<SnapshotCache>(
      std::chrono::milliseconds(app.settings.read_model_max_delay_ms));
  router.add({"GET", "/state/training/telemetry", Access::Admin,
              [&app, cache](const Request& req) { return telemetry_snapshot(app, *cache, req); },
              0, true});
}

}  // namespace tpark
