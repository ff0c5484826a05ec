// Host routes (spec README "Host routes").
#include <tpark/tp_plugin.h>

#include "config/config_state.h"
#include "http/problem.h"
#include "kernel/journal.h"
#include "metrics/metric_registry.h"
#include "plugins/plugin_manager.h"
#include "routes/routes.h"
#include "util/time.h"

namespace tpark {

using http::Access;
using http::Request;
using http::Response;

void add_host_routes(http::Router& router, AppContext& app) {
  router.add({"GET", "/healthz", Access::Public,
              [](const Request& req) { return http::json_response(req, 200, {{"status", "ok"}}); },
              0, true, /*inline_safe=*/true});

  router.add({"GET", "/readyz", Access::Public,
              [&app](const Request& req) {
                bool journal_ok = app.journal != nullptr && app.journal->usable();
                bool plugins_ok = app.ready.load() && app.plugins->settled();
                // The preset set in use still holds the boot perf preset.
                bool presets_ok = app.config != nullptr &&
                                  app.config->presets()->find(app.config->boot().boot_perf);
                Json checks = {{"journal", journal_ok}, {"plugins", plugins_ok}, {"presets", presets_ok}};
                bool ready = journal_ok && plugins_ok && presets_ok;
                return http::json_response(req, ready ? 200 : 503,
                                           {{"ready", ready}, {"checks", checks}});
              },
              0, true});

  router.add({"GET", "/about", Access::Public,
              [&app](const Request& req) {
                Json body;
                body["name"] = "tpark";
                body["version"] = TPARK_VERSION;
                body["abi"] = {{"major", TP_ABI_MAJOR}, {"minor", TP_ABI_MINOR}};
                body["perf_preset"] = app.config->about_perf_preset();
                body["instance_id"] = app.instance_id;
                body["started"] = format_rfc3339_ms(app.started_ms);
                body["uptime_s"] = (now_ms() - app.started_ms) / 1000;
                return http::json_response(req, 200, body);
              }});

  router.add({"GET", "/admin/plugins", Access::Admin, [&app](const Request& req) {
                return http::json_response(req, 200, app.plugins->describe());
              }});

  router.add({"POST", "/admin/plugins/reload", Access::Admin, [&app](const Request& req) {
                bool ok = false;
                Json result = app.reload_plugins(&ok);
                if (!ok)
                  return http::problem(req, 400, "config_invalid",
                                       "host configuration has errors; the old set is kept",
                                       {{"errors", result}});
                return http::json_response(req, 200, result);
              }});

  router.add({"GET", "/metrics", Access::Public,
              [&app](const Request&) {
                Response r;
                r.content_type = "text/plain; version=0.0.4; charset=utf-8";
                r.body = app.metrics->render_text();
                return r;
              },
              0, true});
}

}  // namespace tpark
