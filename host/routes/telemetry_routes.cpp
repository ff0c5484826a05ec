// GET /state/training/telemetry (telemetry.md 2): the host writes generated,
// config and sections; every other key is its section plugin's rendered text.
#include "http/problem.h"
#include "plugins/plugin_manager.h"
#include "routes/routes.h"
#include "telemetry/host_telemetry.h"
#include "util/time.h"

namespace tpark {

using http::Access;
using http::Request;
using http::Response;

namespace {

Response telemetry_snapshot(AppContext& app, const Request& req) {
  Response r = http::json_text_response(req, 200, telemetry_snapshot_body(app));
  r.set_header("Cache-Control", "no-store");
  return r;
}

}  // namespace

std::string telemetry_snapshot_body(AppContext& app) {
  std::vector<SectionRender> sections = app.plugins->render_sections();
  if (app.telemetry) app.telemetry->on_sections_rendered(sections);
  int64_t generated_ms = now_ms();
  std::string body = "{\"generated\":\"" + format_rfc3339_ms(generated_ms) +
                     "\",\"generated_ms\":" + std::to_string(generated_ms);
  Json status = Json::object();
  for (const auto& s : sections) {
    body += ',';
    body += Json(s.name).dump();
    body += ':';
    body += s.ok ? s.json : "null";
    Json entry;
    entry["plugin"] = s.plugin_id;
    entry["version"] = s.version ? Json(*s.version) : Json(nullptr);
    entry["ok"] = s.ok;
    if (!s.ok) entry["error"] = s.error;
    status[s.name] = std::move(entry);
  }
  // The live config arrives with the control plane; until then it is null.
  body += ",\"config\":null,\"sections\":" + status.dump() + "}";
  return body;
}

void add_telemetry_routes(http::Router& router, AppContext& app) {
  router.add({"GET", "/state/training/telemetry", Access::Admin,
              [&app](const Request& req) { return telemetry_snapshot(app, req); }, 0, true});
}

}  // namespace tpark
