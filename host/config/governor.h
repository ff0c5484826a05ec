// Governor profile and hints (control.md 2.1, 2.2): the names, aliases, the 18
// hint keys with their ranges, and validation shared by the config kinds and
// the governor POST routes.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kernel/action_kinds.h"
#include "util/json.h"

namespace tpark::control {

inline constexpr const char* kDefaultProfile = "balance";

// The 18 hint keys in the spec's order (GET /admin/governor/hints).
const std::vector<std::string>& hint_keys();
bool is_hint_key(std::string_view key);
// Whether the hint is numeric (int or float): the hints hint_jump checks.
bool is_numeric_hint(std::string_view key);

// `balance`, `performance` or `power-saver` for a valid name or alias (any
// case: balanced, perf, power_saver, powersaver, eco); nullopt otherwise.
std::optional<std::string> normalize_profile(std::string_view name);

// Checks a flat hints object `{key: value|null}` against control.md 2.2.
// `current` holds the hints in effect (set ones only); the cross-key rules
// (item budget <= budget, custom format needs a template) are checked on the
// merged result. Each error's field is `field_prefix` + key (field_prefix is
// "" for a flat body or "hints." inside an action input). Keys that are not
// hints are returned in `ignored` and are not errors here.
struct HintsCheck {
  std::vector<InputError> errors;
  std::vector<std::string> ignored;
};
HintsCheck validate_hints(const Json& hints, const Json& current,
                          std::string_view field_prefix = "");

// Hints with their declared JSON types: int hints given as 24.0 become 24,
// float hints given as 1 become 1.0; other values (and unknown keys) as given.
// Apply to hints that passed validate_hints.
Json typed_hints(const Json& hints);

// `current` with `changes` laid over it: a value sets, null unsets. Result
// holds set hints only, in hint_keys() order.
Json merge_hints(const Json& current, const Json& changes);

// All 18 keys, null when unset (GET /admin/governor/hints).
Json full_hints(const Json& set_hints);

// hint_jump (control.md 4.5): a numeric hint changing from c to n with
// n > 2c or n < c/2; c = 0 makes any n != 0 count; no current value and
// setting null are exempt. Returns the changed keys that jump, in order.
std::vector<std::string> hint_jumps(const Json& current, const Json& changes);

}  // namespace tpark::control
