#include "config/config_kinds.h"

#include <algorithm>
#include <stdexcept>

#include "config/governor.h"

namespace tpark::control {

namespace {

// The first error as an exception: execute re-checks its input (the state may
// have moved since admission) and fails the action with the message.
void throw_if_invalid(const std::vector<InputError>& errors) {
  if (errors.empty()) return;
  throw std::invalid_argument("input." + errors.front().field + ": " + errors.front().message);
}

void add_hint_jumps(const ConfigState& state, const ChangePlan& plan, ActionPreview& preview) {
  const Json& current = state.view()->values.hints;
  for (const auto& key : hint_jumps(current, plan.changed_hints))
    preview.risk_reasons.push_back(
        {"hint_jump", key + " " + current[key].dump() + " -> " + plan.changed_hints[key].dump()});
}

Json cause_of(const ActionRun& run) { return {{"kind", run.kind}, {"action_id", run.action_id}}; }

class ConfigKind : public ActionKind {
 public:
  explicit ConfigKind(ConfigState& state) : state_(state) {}

  ActionPreview preview(const Json& input) const override { return make_plan(input).preview; }

  ActionOutcome execute(const Json& input, const ActionRun& run, WriteTx& tx) override {
    throw_if_invalid(validate(input));
    ChangePlan plan = make_plan(input);
    return state_.commit(plan, run, cause_of(run), tx);
  }

 protected:
  // The plan with the kind's risk reasons (only when the diff is not empty).
  virtual ChangePlan make_plan(const Json& input) const = 0;
  ConfigState& state_;
};

// ---- preset.apply ---------------------------------------------------------

class PresetApplyKind : public ConfigKind {
 public:
  using ConfigKind::ConfigKind;

  std::vector<InputError> validate(const Json& input) const override {
    if (!input.is_object()) return {{"", "expected an object"}};
    auto it = input.find("preset");
    if (it == input.end() || it->is_null()) return {{"preset", "required"}};
    if (!it->is_string()) return {{"preset", "expected a string"}};
    if (!state_.presets()->find(it->get<std::string>()))
      return {{"preset", "unknown preset \"" + it->get<std::string>() + "\""}};
    return {};
  }

  std::vector<std::string> scope_targets(const Json& input) const override {
    std::string name = input.is_object() && input.contains("preset") && input["preset"].is_string()
                           ? input["preset"].get<std::string>()
                           : std::string();
    auto presets = state_.presets();
    const Preset* preset = presets->find(name);
    return {"preset/" + (preset ? preset->name : name)};
  }

 protected:
  ChangePlan make_plan(const Json& input) const override {
    throw_if_invalid(validate(input));
    auto presets = state_.presets();
    const Preset* preset = presets->find(input["preset"].get<std::string>());
    if (!preset) throw std::invalid_argument("input.preset: unknown preset");
    ChangeRequest request;
    request.hint_source = "preset";
    for (const auto& e : preset->env) request.env.push_back({e.key, EnvChange::Op::Set, e.value});
    if (preset->kind == "perf") {
      // Tombstones for keys another perf preset defines and this one does not,
      // so switching presets leaves none of the previous one's values behind.
      for (const auto& key : key_registry()) {
        if (preset->defines(key.name)) continue;
        bool other = std::any_of(presets->items.begin(), presets->items.end(), [&](const Preset& p) {
          return p.kind == "perf" && p.name != preset->name && p.defines(key.name);
        });
        if (other) request.env.push_back({key.name, EnvChange::Op::Tombstone, nullptr});
      }
      request.perf_applied = preset->name;
    } else {
      request.context_applied = preset->name;
    }
    if (preset->governor.is_object()) {
      if (preset->governor.contains("profile"))
        request.profile = preset->governor["profile"].get<std::string>();
      if (preset->governor.contains("hints")) request.hints = preset->governor["hints"];
    }
    ChangePlan plan = state_.plan(request);
    if (!plan.preview.empty()) {
      if (preset->risky)
        plan.preview.risk_reasons.push_back({"preset_risky", "preset " + preset->name + " is risky"});
      for (const auto& key : preset->risky_keys()) {
        bool changes = std::any_of(
            plan.preview.diff_summary.begin(), plan.preview.diff_summary.end(),
            [&](const Json& d) {
              const std::string target = d["target"].get<std::string>();
              const std::string prefix = "env." + key;
              return target == prefix || target.rfind(prefix + ".", 0) == 0;
            });
        if (changes)
          plan.preview.risk_reasons.push_back({"key_risky", key + " is marked risky in " + preset->name});
      }
      add_hint_jumps(state_, plan, plan.preview);
    }
    return plan;
  }
};

// ---- context.set ----------------------------------------------------------

class ContextSetKind : public ConfigKind {
 public:
  using ConfigKind::ConfigKind;

  std::vector<InputError> validate(const Json& input) const override {
    if (!input.is_object()) return {{"", "expected an object"}};
    auto vars = input.find("vars");
    if (vars == input.end() || vars->is_null()) return {{"vars", "required"}};
    if (!vars->is_object()) return {{"vars", "expected an object"}};
    if (vars->empty()) return {{"vars", "expected at least one key"}};
    std::vector<InputError> errors;
    for (auto it = vars->begin(); it != vars->end(); ++it) {
      const std::string field = "vars." + it.key();
      const KeySpec* key = find_key(it.key());
      if (!key) {
        errors.push_back({field, "unknown key (not in the registry)"});
        continue;
      }
      if (key->domain != KeyDomain::Context) {
        errors.push_back({field, "not a context key (perf keys change through preset.apply)"});
        continue;
      }
      if (it.value().is_null()) continue;
      KeyParse parsed = parse_key_json(*key, it.value());
      if (auto* error = std::get_if<std::string>(&parsed)) errors.push_back({field, *error});
    }
    return errors;
  }

  std::vector<std::string> scope_targets(const Json& input) const override {
    std::vector<std::string> targets;
    if (input.is_object() && input.contains("vars") && input["vars"].is_object())
      for (auto it = input["vars"].begin(); it != input["vars"].end(); ++it)
        targets.push_back("env/" + it.key());
    return targets;
  }

 protected:
  ChangePlan make_plan(const Json& input) const override {
    throw_if_invalid(validate(input));
    ChangeRequest request;
    for (auto it = input["vars"].begin(); it != input["vars"].end(); ++it) {
      if (it.value().is_null()) {
        request.env.push_back({it.key(), EnvChange::Op::Remove, nullptr});
        continue;
      }
      KeyParse parsed = parse_key_json(*find_key(it.key()), it.value());
      request.env.push_back({it.key(), EnvChange::Op::Set, std::get<Json>(parsed)});
    }
    return state_.plan(request);
  }
};

// ---- governor.hints.set ---------------------------------------------------

class HintsSetKind : public ConfigKind {
 public:
  using ConfigKind::ConfigKind;

  std::vector<InputError> validate(const Json& input) const override {
    if (!input.is_object()) return {{"", "expected an object"}};
    auto hints = input.find("hints");
    if (hints == input.end() || hints->is_null()) return {{"hints", "required"}};
    if (!hints->is_object()) return {{"hints", "expected an object"}};
    if (hints->empty()) return {{"hints", "expected at least one key"}};
    HintsCheck check = validate_hints(*hints, state_.view()->values.hints, "hints.");
    for (const auto& key : check.ignored) check.errors.push_back({"hints." + key, "unknown hint"});
    return check.errors;
  }

  std::vector<std::string> scope_targets(const Json& input) const override {
    std::vector<std::string> targets;
    if (input.is_object() && input.contains("hints") && input["hints"].is_object())
      for (auto it = input["hints"].begin(); it != input["hints"].end(); ++it)
        targets.push_back("governor.hints/" + it.key());
    return targets;
  }

 protected:
  ChangePlan make_plan(const Json& input) const override {
    throw_if_invalid(validate(input));
    ChangeRequest request;
    request.hints = typed_hints(input["hints"]);
    ChangePlan plan = state_.plan(request);
    if (!plan.preview.empty()) add_hint_jumps(state_, plan, plan.preview);
    return plan;
  }
};

// ---- governor.profile.set -------------------------------------------------

class ProfileSetKind : public ConfigKind {
 public:
  using ConfigKind::ConfigKind;

  std::vector<InputError> validate(const Json& input) const override {
    if (!input.is_object()) return {{"", "expected an object"}};
    auto it = input.find("profile");
    if (it == input.end() || it->is_null()) return {{"profile", "required"}};
    if (!it->is_string() || !normalize_profile(it->get<std::string>()))
      return {{"profile", "expected one of balance, performance, power-saver (or an alias)"}};
    return {};
  }

  std::vector<std::string> scope_targets(const Json&) const override { return {"governor.profile"}; }

 protected:
  ChangePlan make_plan(const Json& input) const override {
    throw_if_invalid(validate(input));
    ChangeRequest request;
    request.profile = *normalize_profile(input["profile"].get<std::string>());
    return state_.plan(request);
  }

  // The output names the profile in effect (POST /admin/governor/profile replies with it).
  ActionOutcome execute(const Json& input, const ActionRun& run, WriteTx& tx) override {
    ActionOutcome outcome = ConfigKind::execute(input, run, tx);
    outcome.output["profile"] = *normalize_profile(input["profile"].get<std::string>());
    return outcome;
  }
};

}  // namespace

std::shared_ptr<ActionKind> make_preset_apply_kind(ConfigState& state) {
  return std::make_shared<PresetApplyKind>(state);
}
std::shared_ptr<ActionKind> make_context_set_kind(ConfigState& state) {
  return std::make_shared<ContextSetKind>(state);
}
std::shared_ptr<ActionKind> make_hints_set_kind(ConfigState& state) {
  return std::make_shared<HintsSetKind>(state);
}
std::shared_ptr<ActionKind> make_profile_set_kind(ConfigState& state) {
  return std::make_shared<ProfileSetKind>(state);
}

void register_config_kinds(ActionKindRegistry& registry, ConfigState& state) {
  registry.add("preset.apply", make_preset_apply_kind(state));
  registry.add("context.set", make_context_set_kind(state));
  registry.add("governor.hints.set", make_hints_set_kind(state));
  registry.add("governor.profile.set", make_profile_set_kind(state));
}

}  // namespace tpark::control
