// What route handlers share: the kernel, the plugins and the boot facts.
// Handlers read from it; only actions (control plane) change state.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "config/settings.h"
#include "util/json.h"

namespace tpark {

class Journal;
class Bus;
class MetricRegistry;
class PluginManager;
class IngestMetrics;
class HostTelemetry;
namespace control {
class ActionKindRegistry;
class ConfigState;
class ActionService;
class LeaseStore;
class CapsuleStore;
}
namespace training {
class TrainingService;
class LogicUnits;
}
namespace live {
class ReadModelHub;
class EventStreams;
}  // namespace live

struct AppContext {
  Settings settings;
  Journal* journal = nullptr;
  Bus* bus = nullptr;
  MetricRegistry* metrics = nullptr;
  PluginManager* plugins = nullptr;
  // Route statistics, core counters, tasks and the host's /metrics families.
  HostTelemetry* telemetry = nullptr;
  // Action kinds by name (control.md 4.1): config kinds, later logic units
  // and plugin-registered kinds.
  control::ActionKindRegistry* action_kinds = nullptr;
  // The live configuration and governor state (control.md 2, 3).
  control::ConfigState* config = nullptr;
  // Read models and their patches (telemetry.md 6); control-plane models
  // are defined here too (ReadModelHub::define).
  live::ReadModelHub* read_models = nullptr;
  // GET /events clients (telemetry.md 7).
  live::EventStreams* event_streams = nullptr;
  // The /actions pipeline, staging and executor; leases; policy capsules
  // (control.md 4).
  control::ActionService* actions = nullptr;
  control::LeaseStore* leases = nullptr;
  control::CapsuleStore* capsules = nullptr;
  // Training jobs and logic units (control.md 5, 6).
  training::TrainingService* training = nullptr;
  training::LogicUnits* logic_units = nullptr;
  std::string instance_id;   // 16 lowercase hex, the boot's read-model epoch
  int64_t started_ms = 0;
  int64_t started_id = 0;    // journal head at start
  std::atomic<bool> ready{false};
  // Re-reads host.yaml and applies it to the plugins (SIGHUP and the route).
  // Returns the route's JSON body or the config errors as a problem payload.
  std::function<Json(bool* ok)> reload_plugins;
  // Re-reads the preset directory (SIGHUP and the route): the route's body, or
  // the errors [{file,line,column,message}] with *ok false (old set kept).
  std::function<Json(bool* ok)> reload_presets;
};

}  // namespace tpark
