#include "app/reload.h"

#include <memory>
#include <mutex>

#include <spdlog/spdlog.h>

#include "config/config_state.h"
#include "config/presets.h"
#include "config/settings.h"
#include "kernel/journal.h"
#include "live/read_model_hub.h"
#include "plugins/plugin_manager.h"
#include "routes/app_context.h"
#include "telemetry/host_telemetry.h"
#include "util/time.h"

namespace tpark {

std::function<Json(bool* ok)> make_plugins_reload(AppContext& app, PluginManager& plugins) {
  auto reload_mutex = std::make_shared<std::mutex>();
  return [&app, &plugins, reload_mutex](bool* ok) -> Json {
    std::lock_guard guard(*reload_mutex);
    HostConfigResult loaded = reload_host_config(app.settings);
    if (auto* errors = std::get_if<std::vector<ConfigError>>(&loaded)) {
      *ok = false;
      return config_errors_json(*errors);
    }
    const HostConfig& next = std::get<HostConfig>(loaded);
    auto applied = plugins.reload(next);
    if (auto* errors = std::get_if<std::vector<ConfigError>>(&applied)) {
      *ok = false;
      return config_errors_json(*errors);
    }
    const ReloadResult& r = std::get<ReloadResult>(applied);
    app.read_models->mark_dirty("plugins");
    if (app.telemetry) app.telemetry->note_change();
    Json restart = Json::array();
    if (next.listen != app.settings.host_config.listen) restart.push_back("listen");
    if (next.state_dir != app.settings.host_config.state_dir) restart.push_back("state_dir");
    *ok = true;
    return {
        {"ok", true},
        {"applied", {{"added", r.added}, {"removed", r.removed}, {"reconfigured", r.reconfigured}}},
        {"restart_required", restart}};
  };
}

std::function<Json(bool* ok)> make_presets_reload(control::ConfigState& config, Journal& journal) {
  auto reload_mutex = std::make_shared<std::mutex>();
  return [&config, &journal, reload_mutex](bool* ok) -> Json {
    std::lock_guard guard(*reload_mutex);
    auto next = control::load_presets(config.presets()->dir);
    Json loaded = Json::array();
    for (const auto& preset : next->items) loaded.push_back(preset.name);
    Json errors = next->errors_json();
    *ok = config.replace_presets(next);
    NewEvent event;
    event.kind = "presets.reloaded";
    event.payload = Json{{"loaded", *ok ? loaded : Json::array()}, {"errors", errors}}.dump();
    event.time_ms = now_ms();
    event.source = "host";
    try {
      journal.append({std::move(event)});
    } catch (const std::exception& e) {
      spdlog::warn("presets.reloaded not journaled: {}", e.what());
    }
    if (!*ok) return errors;
    return {{"ok", true}, {"loaded", loaded}, {"errors", Json::array()}};
  };
}

void reload_on_sighup(AppContext& app) {
  bool ok = false;
  Json result = app.reload_plugins(&ok);
  if (ok)
    spdlog::info("SIGHUP: host configuration reloaded: {}", result.dump());
  else
    spdlog::error("SIGHUP: host configuration has errors, old set kept: {}", result.dump());
  // The presets reload on their own: an error in one keeps the other's result.
  bool presets_ok = false;
  Json presets_result = app.reload_presets(&presets_ok);
  if (presets_ok)
    spdlog::info("SIGHUP: presets reloaded: {}", presets_result.dump());
  else
    spdlog::error("SIGHUP: presets have errors, old set kept: {}", presets_result.dump());
}

}  // namespace tpark
