// The config action kinds (control.md 3.4): preset.apply, context.set,
// governor.hints.set and governor.profile.set, over one ConfigState.
#pragma once

#include <memory>

#include "config/config_state.h"
#include "kernel/action_kinds.h"

namespace tpark::control {

// Registers the four kinds in `registry`; they keep a reference to `state`.
void register_config_kinds(ActionKindRegistry& registry, ConfigState& state);

// The kinds one by one (unit tests and the registration above).
std::shared_ptr<ActionKind> make_preset_apply_kind(ConfigState& state);
std::shared_ptr<ActionKind> make_context_set_kind(ConfigState& state);
std::shared_ptr<ActionKind> make_hints_set_kind(ConfigState& state);
std::shared_ptr<ActionKind> make_profile_set_kind(ConfigState& state);

}  // namespace tpark::control
