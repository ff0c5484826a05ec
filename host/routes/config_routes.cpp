// Config and governor reads, and the preset reload (control.md 1.6, 2, 3):
// GET /state/config, GET /state/config/snapshots, GET /state/presets,
// POST /admin/presets/reload, GET /admin/governor/profile|hints.
// Config changes go through /actions only.
#include <charconv>

#include "config/config_state.h"
#include "config/governor.h"
#include "http/problem.h"
#include "routes/routes.h"

namespace tpark {

using http::Access;
using http::Request;
using http::Response;

namespace {

Response snapshots(AppContext& app, const Request& req) {
  int64_t limit = 100;
  if (auto v = req.query_one("limit")) {
    int64_t n = 0;
    auto [ptr, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
    if (v->empty() || ec != std::errc() || ptr != v->data() + v->size() || n < 1 || n > 1000)
      return http::validation_failed(req, {{"limit", "expected an integer in [1,1000]"}});
    limit = n;
  }
  return http::json_response(req, 200, app.config->snapshots_body(static_cast<size_t>(limit)));
}

}  // namespace

void add_config_routes(http::Router& router, AppContext& app) {
  router.add({"GET", "/state/config", Access::Admin,
              [&app](const Request& req) {
                return http::json_response(req, 200, app.config->state_config_body());
              },
              0, true});
  router.add({"GET", "/state/config/snapshots", Access::Admin,
              [&app](const Request& req) { return snapshots(app, req); }, 0, true});
  router.add({"GET", "/state/presets", Access::Admin,
              [&app](const Request& req) {
                return http::json_response(req, 200, app.config->presets_body());
              },
              0, true});
  router.add({"POST", "/admin/presets/reload", Access::Admin, [&app](const Request& req) {
                bool ok = false;
                Json result = app.reload_presets(&ok);
                if (!ok)
                  return http::problem(req, 400, "preset_invalid",
                                       "preset files have errors; the old set is kept",
                                       {{"errors", result}});
                return http::json_response(req, 200, result);
              }});
  router.add({"GET", "/admin/governor/profile", Access::Admin,
              [&app](const Request& req) {
                return http::json_response(req, 200,
                                           {{"profile", app.config->view()->values.profile}});
              },
              0, true});
  router.add({"GET", "/admin/governor/hints", Access::Admin,
              [&app](const Request& req) {
                return http::json_response(req, 200,
                                           control::full_hints(app.config->view()->values.hints));
              },
              0, true});
}

}  // namespace tpark
