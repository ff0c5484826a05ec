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

// The `sections` entry of one section: plugin, version, ok, error.
Json section_status(const SectionRender& s) {
  Json entry;
  entry["plugin"] = s.plugin_id;
  entry["version"] = s.version ? Json(*s.version) : Json(nullptr);
  entry["ok"] = s.ok;
  if (!s.ok) entry["error"] = s.error;
  return entry;
}

}  // namespace

CachedSnapshot render_training_snapshot_rest(PluginManager& plugins, HostTelemetry* telemetry,
                                             bool* reusable, const ConfigJsonSource& config) {
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
    status[s.name] = section_status(s);
    if (!s.ok) {
      s.json.clear();
      out.unavailable.push_back(std::move(s));
    }
  }
  out.text += ",\"config\":" + (config ? config() : std::string("null")) +
              ",\"sections\":" + status.dump() + "}";
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

std::string render_training_snapshot(PluginManager& plugins, HostTelemetry* telemetry,
                                     const ConfigJsonSource& config) {
  CachedSnapshot rest = render_training_snapshot_rest(plugins, telemetry, nullptr, config);
  return training_snapshot_text(rest, now_ms());
}

const Json& SectionValueCache::value(const std::string& name, const std::string& text) {
  auto it = sections.find(name);
  if (it == sections.end()) it = sections.emplace(name, std::pair<std::string, Json>{}).first;
  auto& [last_text, parsed] = it->second;
  if (parsed.is_null() || last_text != text) {
    parsed = Json::parse(text);
    last_text = text;
  }
  return parsed;
}

Json training_snapshot_value(PluginManager& plugins, HostTelemetry* telemetry,
                             const ConfigJsonSource& config, SectionValueCache& cache) {
  std::vector<SectionRender> sections = plugins.render_sections();
  if (telemetry) telemetry->on_sections_rendered(sections);
  const int64_t generated_ms = now_ms();
  Json out = Json::object();
  out["generated"] = format_rfc3339_ms(generated_ms);
  out["generated_ms"] = generated_ms;
  Json status = Json::object();
  for (const auto& s : sections) {
    out[s.name] = s.ok ? cache.value(s.name, s.json) : Json(nullptr);
    status[s.name] = section_status(s);
  }
  out["config"] = config ? Json::parse(config()) : Json(nullptr);
  out["sections"] = std::move(status);
  return out;
}

}  // namespace tpark
