#include "telemetry/training_snapshot.h"

#include "plugins/plugin_manager.h"
#include "telemetry/host_telemetry.h"
#include "util/json.h"
#include "util/time.h"

namespace tpark {

std::string render_training_snapshot(PluginManager& plugins, HostTelemetry* telemetry) {
  std::vector<SectionRender> sections = plugins.render_sections();
  if (telemetry) telemetry->on_sections_rendered(sections);
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

}  // namespace tpark
