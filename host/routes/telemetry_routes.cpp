// GET /state/training/telemetry (telemetry.md 2), built by render_training_snapshot.
#include "http/problem.h"
#include "plugins/plugin_manager.h"
#include "routes/routes.h"
#include "telemetry/training_snapshot.h"

namespace tpark {

using http::Access;
using http::Request;
using http::Response;

namespace {

Response telemetry_snapshot(AppContext& app, const Request& req) {
  Response r = http::json_text_response(req, 200, render_training_snapshot(*app.plugins, app.telemetry));
  r.set_header("Cache-Control", "no-store");
  return r;
}

}  // namespace

void add_telemetry_routes(http::Router& router, AppContext& app) {
  router.add({"GET", "/state/training/telemetry", Access::Admin,
              [&app](const Request& req) { return telemetry_snapshot(app, req); }, 0, true});
}

}  // namespace tpark
