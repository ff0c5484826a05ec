// The Training Park snapshot (telemetry.md 2): the host writes generated,
// config and sections; every other key is its section plugin's rendered text.
// One builder for GET /state/training/telemetry (which holds the rendered
// text between changes, telemetry/snapshot_cache.h) and the training_metrics
// read model.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <utility>

#include "telemetry/snapshot_cache.h"
#include "util/json.h"

namespace tpark {

class PluginManager;
class HostTelemetry;

// Renders every section (read-your-writes, each within the render timeout):
// the snapshot's text after generated_ms (`,"events":…,"config":…,
// "sections":{…}}`) and the unavailable sections. `telemetry` (may be null) is
// told the section statuses for /metrics. *reusable says whether the result
// may be held between changes: not when a section failed for a reason that
// may pass, or carries time-derived values that must be fresh at send.
// `config` gives the snapshot's `config` value as compact JSON (the live
// config, control.md 3.2); without it the value is null.
using ConfigJsonSource = std::function<std::string()>;
CachedSnapshot render_training_snapshot_rest(PluginManager& plugins, HostTelemetry* telemetry,
                                             bool* reusable, const ConfigJsonSource& config = {});

// `{"generated":…,"generated_ms":…` + rest: the whole snapshot text.
std::string training_snapshot_text(const CachedSnapshot& rest, int64_t generated_ms);

// A fresh render as compact JSON text.
std::string render_training_snapshot(PluginManager& plugins, HostTelemetry* telemetry,
                                     const ConfigJsonSource& config = {});

// The parsed value of each section's last rendered text, by section name.
struct SectionValueCache {
  std::map<std::string, std::pair<std::string, Json>, std::less<>> sections;
  // The value of `text`, parsed only when it differs from the last one of `name`.
  const Json& value(const std::string& name, const std::string& text);
};

// A fresh render as a value: equal to parsing render_training_snapshot's
// text, but only the sections whose text changed since the last call with
// `cache` are parsed (the training_metrics read model; one caller at a time
// per cache).
Json training_snapshot_value(PluginManager& plugins, HostTelemetry* telemetry,
                             const ConfigJsonSource& config, SectionValueCache& cache);

}  // namespace tpark
