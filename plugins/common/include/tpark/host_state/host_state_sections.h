// The sections fed by host state, not events (telemetry.md §2.1): `routes`,
// `bus`, `tasks` and `compatibility`, as pure functions from the state's JSON
// text (sdk.md "host state read") to the section value. Without the state
// (nullopt: the host cannot serve it) or with unreadable text, each gives
// its empty shape: [], zero counters, {}, {"legacy_capsule_headers":0}.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace tpark::sections::host_state {

// From state `route_stats` (the §4 body): [{path, hits, errors, ewma_ms,
// p95_ms, max_ms}] for every routes.by_path entry, sorted by path.
nlohmann::ordered_json routes_section(const std::optional<std::string_view>& route_stats_state);

// From state `bus`: {published, delivered, receivers, lagged, no_receivers}.
nlohmann::ordered_json bus_section(const std::optional<std::string_view>& bus_state);

// From state `tasks`: {name: {started, completed, aborted, inflight,
// last_start, last_stop, restarts_window}}, names ascending.
nlohmann::ordered_json tasks_section(const std::optional<std::string_view>& tasks_state);

// From state `compatibility`: {legacy_capsule_headers}.
nlohmann::ordered_json compatibility_section(
    const std::optional<std::string_view>& compatibility_state);

// From state `task_restarts` ({name: [restart epoch ms, ...]}): the times
// after now_ms at which a restart leaves its 30 s window, ascending, unique.
std::vector<int64_t> task_window_exits_ms(const std::optional<std::string_view>& restarts_state,
                                          int64_t now_ms);

}  // namespace tpark::sections::host_state
