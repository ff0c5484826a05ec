// GET /state/training/telemetry (telemetry.md 2): the host writes generated,
// config and sections; every other key is its section plugin's rendered text.
// Everything after generated_ms is kept between changes (SnapshotCache), so a
// poll with nothing new costs a lookup and one copy; generated and
// generated_ms are written fresh for every response.
#include "http/problem.h"
#include "plugins/plugin_manager.h"
#include "routes/routes.h"
#include "telemetry/host_telemetry.h"
#include "telemetry/snapshot_cache.h"
#include "util/time.h"

namespace tpark {

using http::Access;
using http::Request;
using http::Response;

namespace {

// A rendered snapshot may be held unless a section's value is missing for a
// reason that may pass (failed, timeout, invalid_output: the next request
// asks again), or it carries time-derived values that must be fresh at send
// (capsule countdowns, §6 volatile paths).
bool cacheable(const std::vector<SectionRender>& sections) {
  for (const auto& s : sections) {
    if (!s.ok && s.error != "disabled" && s.error != "not_loaded") return false;
    if (s.ok && s.name == "capsules" && s.json.rfind("{\"count\":0,", 0) != 0) return false;
  }
  return true;
}

// Renders every section: the snapshot after generated_ms
// (`,"events":…,"config":…,"sections":{…}}`) and the unavailable sections.
CachedSnapshot render_snapshot_rest(AppContext& app, bool& reusable) {
  std::vector<SectionRender> sections = app.plugins->render_sections();
  if (app.telemetry) app.telemetry->on_sections_rendered(sections);
  reusable = cacheable(sections);
  CachedSnapshot out;
  Json status = Json::object();
  for (auto& s : sections) {
    out.text += ',';
    out.text += Json(s.name).dump();
    out.text += ':';
    out.text += s.ok ? s.json : "null";
    Json entry;
    entry["plugin"] = s.plugin_id;
    entry["version"] = s.version ? Json(*s.version) : Json(nullptr);
    entry["ok"] = s.ok;
    if (!s.ok) entry["error"] = s.error;
    status[s.name] = std::move(entry);
    if (!s.ok) {
      s.json.clear();
      out.unavailable.push_back(std::move(s));
    }
  }
  // The live config arrives with the control plane; until then it is null.
  out.text += ",\"config\":null,\"sections\":" + status.dump() + "}";
  return out;
}

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
    rest = std::make_shared<const CachedSnapshot>(render_snapshot_rest(app, reusable));
    if (reusable && app.telemetry) cache.store(generation, now, rest);
  }
  const int64_t generated_ms = now_ms();
  std::string body;
  body.reserve(64 + rest->text.size());
  body += "{\"generated\":\"";
  body += format_rfc3339_ms(generated_ms);
  body += "\",\"generated_ms\":";
  body += std::to_string(generated_ms);
  body += rest->text;
  Response r = http::json_text_response(req, 200, std::move(body));
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
