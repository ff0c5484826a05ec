// The `governor` section of telemetry.md §2.3 as pure functions, apart from
// the SDK glue so its rules are unit-tested:
//   {profile (default "balance"), memory_limit: u64|null, hints: object}
// from host state "governor" ({profile, memory_limit, hints}, control.md §2;
// GET lists all 18 hint keys with null for unset ones).
#pragma once

#include <optional>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

namespace tpark::sections::governor {

// `value` with every null, {} and [] removed, recursively (an object or array
// left empty by the removal goes too). The top level itself is kept.
nlohmann::ordered_json without_empty_values(const nlohmann::ordered_json& value);

// The section value from the state's JSON text; nullopt (the host has no
// governor yet) or unparsable text gives the empty state
// {"profile":"balance","memory_limit":null,"hints":{}}.
nlohmann::ordered_json governor_section(const std::optional<std::string_view>& state_json);

}  // namespace tpark::sections::governor
