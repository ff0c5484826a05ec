// Set-up of the host's components from the settings, one function each, so
// that run_host (app.cpp) only wires them together in order.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

#include "config/settings.h"
#include "http/server.h"
#include "live/event_stream.h"
#include "plugins/plugin_manager.h"
#include "telemetry/host_telemetry.h"

namespace tpark {

struct AppContext;

namespace control {
class ActionKindRegistry;
class ActionService;
class CapsuleStore;
class ConfigState;
class LeaseStore;
struct ControlSettings;
}  // namespace control

namespace training {
class TrainingService;
}

// The environment snapshot and the presets (control.md 3.2), logged; nullptr
// after printing the reason to stderr when the environment stops startup.
std::unique_ptr<control::ConfigState> boot_config_state(const Settings& settings);

// Route statistics and event counter settings (telemetry.md 4, 9), read once.
HostTelemetryOptions telemetry_options(const Settings& settings, int64_t started_ms);

// The /actions pipeline, leases and policy capsules over the journal's tables
// (control.md 4); throws when a table cannot be opened.
struct ControlPlane {
  std::unique_ptr<control::ActionService> actions;
  std::unique_ptr<control::LeaseStore> leases;
  std::unique_ptr<control::CapsuleStore> capsules;
};
ControlPlane open_control_plane(Journal& journal, control::ActionKindRegistry& kinds,
                                const control::ControlSettings& control_settings,
                                const control::ConfigState& config);

// What the plugin runtimes get from the host, read through `app` when called
// (app.plugins is null until the manager exists). `training` is the training
// service once it runs, for the orchestrators' job reports.
HostServices plugin_host_services(AppContext& app,
                                  std::atomic<training::TrainingService*>& training);
PluginSettings plugin_settings(const Settings& settings);

live::EventStreamSettings event_stream_settings(const Settings& settings);

// The HTTP server's options: the settings, the boot value of the restart key
// ARW_HTTP_MAX_CONC, the open-file limit raised to fit, and the hooks that
// feed route statistics and read models and check capsules.
http::ServerOptions server_options(AppContext& app, const http::Router& router);

}  // namespace tpark
