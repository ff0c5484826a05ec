// The Training Park snapshot (telemetry.md 2): the host writes generated,
// config and sections; every other key is its section plugin's rendered text.
// One builder for GET /state/training/telemetry and the training_metrics
// read model.
#pragma once

#include <string>

namespace tpark {

class PluginManager;
class HostTelemetry;

// Renders every section (read-your-writes, each within the render timeout)
// and returns the snapshot as compact JSON text. `telemetry` (may be null)
// is told the section statuses for /metrics.
std::string render_training_snapshot(PluginManager& plugins, HostTelemetry* telemetry);

}  // namespace tpark
