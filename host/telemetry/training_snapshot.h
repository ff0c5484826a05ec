// The Training Park snapshot (telemetry.md 2): the host writes generated,
// config and sections; every other key is its section plugin's rendered text.
// One builder for GET /state/training/telemetry (which holds the rendered
// text between changes, telemetry/snapshot_cache.h) and the training_metrics
// read model.
#pragma once

#include <string>

#include "telemetry/snapshot_cache.h"

namespace tpark {

class PluginManager;
class HostTelemetry;

// Renders every section (read-your-writes, each within the render timeout):
// the snapshot's text after generated_ms (`,"events":…,"config":…,
// "sections":{…}}`) and the unavailable sections. `telemetry` (may be null) is
// told the section statuses for /metrics. *reusable says whether the result
// may be held between changes: not when a section failed for a reason that
// may pass, or carries time-derived values that must be fresh at send.
CachedSnapshot render_training_snapshot_rest(PluginManager& plugins, HostTelemetry* telemetry,
                                             bool* reusable);

// `{"generated":…,"generated_ms":…` + rest: the whole snapshot text.
std::string training_snapshot_text(const CachedSnapshot& rest, int64_t generated_ms);

// A fresh render as compact JSON text.
std::string render_training_snapshot(PluginManager& plugins, HostTelemetry* telemetry);

}  // namespace tpark
