// Reload (SIGHUP and the two reload routes): host.yaml's
// plugin set and the preset directory, each on its own, so that an error in
// one keeps the other's result.
#pragma once

#include <functional>

#include "util/json.h"

namespace tpark {

struct AppContext;
class Journal;
class PluginManager;

namespace control {
class ConfigState;
}

// Re-reads host.yaml from the same source as at start and applies it to
// `plugins`. Returns the route's JSON body, or the config errors as a problem
// payload with *ok false (the old set kept). Calls are serialised.
std::function<Json(bool* ok)> make_plugins_reload(AppContext& app, PluginManager& plugins);

// Re-reads the preset directory into `config` and journals presets.reloaded.
// Returns the route's body, or the errors [{file,line,column,message}] with
// *ok false (the old set kept). Calls are serialised.
std::function<Json(bool* ok)> make_presets_reload(control::ConfigState& config, Journal& journal);

// SIGHUP: both reloads through `app`, each result logged.
void reload_on_sighup(AppContext& app);

}  // namespace tpark
