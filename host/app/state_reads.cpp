#include "app/state_reads.h"

#include <map>
#include <stdexcept>
#include <string_view>

#include "config/config_state.h"
#include "control/capsules.h"
#include "plugins/host_api.h"
#include "plugins/plugin_manager.h"
#include "routes/app_context.h"
#include "telemetry/host_telemetry.h"
#include "training/training_service.h"
#include "util/time.h"

namespace tpark {

namespace {

using StateRead = Json (*)(const AppContext& app);

const std::map<std::string, StateRead, std::less<>>& state_read_table() {
  static const std::map<std::string, StateRead, std::less<>> table = {
      {"config", [](const AppContext& app) { return app.config->state_config_body(); }},
      {"governor", [](const AppContext& app) { return app.config->governor_state(); }},
      {"bus", [](const AppContext& app) { return app.telemetry->bus_json(); }},
      {"route_stats", [](const AppContext& app) { return app.telemetry->route_stats_body(); }},
      {"tasks", [](const AppContext& app) { return app.telemetry->tasks().to_json(); }},
      // Host-internal: when each restart counted in restarts_window leaves the
      // window, so tp.section.tasks can wake up then (telemetry.md 2.1).
      {"task_restarts",
       [](const AppContext& app) { return app.telemetry->tasks().restarts_json(); }},
      {"compatibility", [](const AppContext& app) { return app.telemetry->compatibility_json(); }},
      {"events_start",
       [](const AppContext& app) {
         return Json{{"start", format_rfc3339_ms(app.started_ms)},
                     {"start_ms", app.started_ms},
                     {"start_id", app.started_id}};
       }},
      {"plugins",
       [](const AppContext& app) { return app.plugins ? app.plugins->describe() : Json(nullptr); }},
      {"capsules",
       [](const AppContext& app) { return app.capsules ? app.capsules->list() : Json(nullptr); }},
      // The logic_history section's rows (control.md 7): the persisted
      // history itself, so the snapshot shows what /state/training/actions does.
      {"training_history",
       [](const AppContext& app) {
         if (!app.training) return Json(nullptr);
         training::HistoryQuery query;
         query.limit = 10;
         return Json{{"items", app.training->history(query).items}};
       }},
      // The orchestrator's result cache, stored with each completed job.
      {"training_cache",
       [](const AppContext& app) {
         return app.training ? app.training->cache_entries() : Json(nullptr);
       }},
  };
  return table;
}

}  // namespace

std::function<std::optional<Json>(const std::string& name)> host_state_reads(
    const AppContext& app) {
  const auto& table = state_read_table();
  for (std::string_view name : kStateReadNames)
    if (table.find(name) == table.end())
      throw std::logic_error("state read without an answer: " + std::string(name));
  if (table.size() != kStateReadNames.size())
    throw std::logic_error("state read answered but not in kStateReadNames");
  return [&app, &table](const std::string& name) -> std::optional<Json> {
    auto it = table.find(name);
    if (it == table.end()) return std::nullopt;
    return it->second(app);
  };
}

}  // namespace tpark
