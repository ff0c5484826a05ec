#include "tpark/host_state/host_state_sections.h"

#include <algorithm>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

namespace tpark::sections::host_state {

namespace {

using ordered_json = nlohmann::ordered_json;

// telemetry.md §2.1: restarts_window counts restarts within 30 s.
constexpr int64_t kRestartWindowMs = 30000;

// The state parsed, or a discarded value when absent or unreadable.
ordered_json parse_state(const std::optional<std::string_view>& state) {
  if (!state) return ordered_json(ordered_json::value_t::discarded);
  return ordered_json::parse(*state, nullptr, false);
}

// A u64 field; 0 when absent or not a non-negative integer.
uint64_t u64_field(const ordered_json& object, const char* key) {
  const auto it = object.find(key);
  if (it == object.end()) return 0;
  if (it->is_number_unsigned()) return it->get<uint64_t>();
  if (it->is_number_integer()) return std::max<int64_t>(it->get<int64_t>(), 0);
  return 0;
}

// A string|null field.
ordered_json string_or_null(const ordered_json& object, const char* key) {
  const auto it = object.find(key);
  return it != object.end() && it->is_string() ? *it : ordered_json(nullptr);
}

}  // namespace

ordered_json routes_section(const std::optional<std::string_view>& route_stats_state) {
  const ordered_json state = parse_state(route_stats_state);
  // A map keeps the paths in byte order, whatever order the state used.
  std::map<std::string, const ordered_json*> by_path;
  if (state.is_object()) {
    const auto routes = state.find("routes");
    if (routes != state.end() && routes->is_object()) {
      const auto paths = routes->find("by_path");
      if (paths != routes->end() && paths->is_object())
        for (auto it = paths->begin(); it != paths->end(); ++it)
          if (it.value().is_object()) by_path.emplace(it.key(), &it.value());
    }
  }
  ordered_json out = ordered_json::array();
  for (const auto& [path, route] : by_path) {
    ordered_json entry = ordered_json::object();
    entry["path"] = path;
    entry["hits"] = u64_field(*route, "hits");
    entry["errors"] = u64_field(*route, "errors");
    const auto ewma = route->find("ewma_ms");
    entry["ewma_ms"] = ewma != route->end() && ewma->is_number() ? ewma->get<double>() : 0.0;
    entry["p95_ms"] = u64_field(*route, "p95_ms");
    entry["max_ms"] = u64_field(*route, "max_ms");
    out.push_back(std::move(entry));
  }
  return out;
}

ordered_json bus_section(const std::optional<std::string_view>& bus_state) {
  ordered_json state = parse_state(bus_state);
  if (!state.is_object()) state = ordered_json::object();
  ordered_json out = ordered_json::object();
  for (const char* key : {"published", "delivered", "receivers", "lagged", "no_receivers"})
    out[key] = u64_field(state, key);
  return out;
}

ordered_json tasks_section(const std::optional<std::string_view>& tasks_state) {
  const ordered_json state = parse_state(tasks_state);
  std::map<std::string, ordered_json> tasks;
  if (state.is_object()) {
    for (auto it = state.begin(); it != state.end(); ++it) {
      if (!it.value().is_object()) continue;
      const ordered_json& task = it.value();
      ordered_json entry = ordered_json::object();
      entry["started"] = u64_field(task, "started");
      entry["completed"] = u64_field(task, "completed");
      entry["aborted"] = u64_field(task, "aborted");
      entry["inflight"] = u64_field(task, "inflight");
      entry["last_start"] = string_or_null(task, "last_start");
      entry["last_stop"] = string_or_null(task, "last_stop");
      entry["restarts_window"] = u64_field(task, "restarts_window");
      tasks.emplace(it.key(), std::move(entry));
    }
  }
  ordered_json out = ordered_json::object();
  for (auto& [name, entry] : tasks) out[name] = std::move(entry);
  return out;
}

ordered_json compatibility_section(const std::optional<std::string_view>& compatibility_state) {
  ordered_json state = parse_state(compatibility_state);
  if (!state.is_object()) state = ordered_json::object();
  ordered_json out = ordered_json::object();
  out["legacy_capsule_headers"] = u64_field(state, "legacy_capsule_headers");
  return out;
}

std::vector<int64_t> task_window_exits_ms(const std::optional<std::string_view>& restarts_state,
                                          int64_t now_ms) {
  const ordered_json state = parse_state(restarts_state);
  std::vector<int64_t> exits;
  if (!state.is_object()) return exits;
  for (auto task = state.begin(); task != state.end(); ++task) {
    const ordered_json& restarts = task.value();
    if (!restarts.is_array()) continue;
    for (const auto& at : restarts) {
      if (!at.is_number_integer()) continue;
      const int64_t exit_ms = at.get<int64_t>() + kRestartWindowMs;
      if (exit_ms > now_ms) exits.push_back(exit_ms);
    }
  }
  std::sort(exits.begin(), exits.end());
  exits.erase(std::unique(exits.begin(), exits.end()), exits.end());
  return exits;
}

}  // namespace tpark::sections::host_state
