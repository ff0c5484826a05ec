#include "telemetry/training_snapshot.h"

#include "plugins/plugin_manager.h"
#include "telemetry/host_telemetry.h"
#include "util/json.h"
#include "util/time.h"

namespace tpark {

namespace {

bool cacheable(const std::vector<SectionRender>& sections) {
  for (const auto& s : sections) {
    if (!s.ok && s.error != "disabled" && s.error != "not_loaded") return false;
    if (s.ok && s.name == "capsules" && s.json.rfind("{\"count\":0,", 0) != 0) return false;
  }
  return true;
}

}  // namespace

CachedSnapshot render_training_snapshot_rest(PluginManager& plugins, HostTelemetry* telemetry,
                                             bool* reusable) {
  std::vector<SectionRender> sections = plugins.render_sections();
  if (telemetry) telemetry->on_sections_rendered(sections);
  if (reusable) *reusable = cacheable(sections);
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

std::string training_snapshot_text(const CachedSnapshot& rest, int64_t generated_ms) {
  std::string body;
  body.reserve(64 + rest.text.size());
  body += "{\"generated\":\"";
  body += format_rfc3339_ms(generated_ms);
  body += "\",\"generated_ms\":";
  body += std::to_string(generated_ms);
  body += rest.text;
  return body;
}

std::string render_training_snapshot(PluginManager& plugins, HostTelemetry* telemetry) {
  CachedSnapshot rest = render_training_snapshot_rest(plugins, telemetry, nullptr);
  return training_snapshot_text(rest, now_ms());
}

}  // namespace tpark
