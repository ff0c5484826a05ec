// The host's built-in read models (telemetry.md 6): training_metrics,
// context_metrics, route_stats and plugins. Control-plane models are defined
// by the code that owns their state, with one ReadModelHub::define call each.
#pragma once

#include "live/read_model_hub.h"

namespace tpark {
struct Settings;
class PluginManager;
class HostTelemetry;
}  // namespace tpark

namespace tpark::live {

// The volatile paths of training_metrics (excluded from change detection).
const std::vector<std::string>& training_metrics_volatile_paths();

// The effective C and M of route_stats: C = ARW_ROUTE_STATS_COALESCE_MS and
// M = max(C, ARW_ROUTE_STATS_PUBLISH_MS). The one place these are read; they
// come from the start-time settings until the live config provides them.
Coalescing route_stats_coalescing(const Settings& settings);

// Defines the four built-in models on `hub`. The references must outlive it.
void define_builtin_read_models(ReadModelHub& hub, const Settings& settings, PluginManager& plugins,
                                HostTelemetry& telemetry);

}  // namespace tpark::live
