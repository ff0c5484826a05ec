#include "training/logic_units.h"

#include <regex>
#include <set>

#include <spdlog/spdlog.h>

#include "config/config_registry.h"
#include "config/config_state.h"
#include "config/governor.h"
#include "kernel/journal.h"
#include "plugins/applier_runtime.h"
#include "plugins/plugin_manager.h"
#include "training/training_service.h"
#include "util/time.h"
#include "util/uuid.h"

namespace tpark::training {

using control::Sql;

namespace {

constexpr size_t kDocumentMaxBytes = 256 * 1024;

const std::set<std::string>& known_manifest_fields() {
  static const std::set<std::string> fields = {"id",          "name",    "version",    "category",
                                               "patches",     "kind",    "authors",    "license",
                                               "provenance",  "slots",   "parameters", "compat",
                                               "permissions", "metrics", "ui",         "tests"};
  return fields;
}

bool is_semver(const std::string& text) {
  static const std::regex pattern(
      R"(^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-((0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(\.(0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(\+([0-9a-zA-Z-]+(\.[0-9a-zA-Z-]+)*))?$)");
  return std::regex_match(text, pattern);
}

// "<field>: <message>" from an applier refusal.
FieldProblem split_refusal(const std::string& text) {
  const auto colon = text.find(": ");
  if (colon == std::string::npos) return {"patches", text};
  return {text.substr(0, colon), text.substr(colon + 2)};
}

int64_t snapshot_seq(const std::string& id) {
  if (id.rfind("snap-", 0) != 0) return -1;
  try {
    return std::stoll(id.substr(5));
  } catch (const std::exception&) {
    return -1;
  }
}

EventPtr append_event(WriteTx& tx, const char* kind, const Json& payload, const std::string& corr) {
  NewEvent event;
  event.kind = kind;
  event.payload = payload.dump();
  event.time_ms = now_ms();
  event.source = "host";
  event.corr_id = corr;
  return tx.append(std::move(event));
}

}  // namespace

std::vector<FieldProblem> validate_patch_shapes(const Json& patches) {
  std::vector<FieldProblem> errors;
  if (!patches.is_array() || patches.empty())
    return {{"patches", "expected an array of at least one {target, op, value}"}};
  for (size_t i = 0; i < patches.size(); ++i) {
    const Json& p = patches[i];
    const std::string at = "patches." + std::to_string(i);
    if (!p.is_object()) {
      errors.push_back({at, "expected an object {target, op, value}"});
      continue;
    }
    if (!p.contains("target") || !p["target"].is_string() || p["target"].get<std::string>().empty())
      errors.push_back({at + ".target", "expected a dot path"});
    if (!p.contains("op") || !(p["op"] == "set" || p["op"] == "merge" || p["op"] == "jsonpatch"))
      errors.push_back({at + ".op", "expected one of set, merge, jsonpatch"});
    if (!p.contains("value"))
      errors.push_back({at + ".value", "required"});
    else if (p["op"] == "jsonpatch" && !p["value"].is_array())
      errors.push_back({at + ".value", "expected an RFC 6902 array"});
  }
  return errors;
}

ManifestCheck validate_manifest(const Json& m) {
  ManifestCheck check;
  auto& errors = check.errors;
  if (!m.is_object()) {
    errors.push_back({"", "expected a manifest object"});
    return check;
  }
  auto text = [&](const char* key) -> const Json* {
    auto it = m.find(key);
    return it == m.end() ? nullptr : &*it;
  };
  static const std::regex id_pattern("^[a-z0-9][a-z0-9._-]{0,127}$");
  if (const Json* id = text("id"); !id)
    errors.push_back({"id", "required"});
  else if (!id->is_string() || !std::regex_match(id->get<std::string>(), id_pattern))
    errors.push_back({"id", "expected ^[a-z0-9][a-z0-9._-]{0,127}$"});
  if (const Json* name = text("name"); !name)
    errors.push_back({"name", "required"});
  else if (!name->is_string() || name->get_ref<const std::string&>().empty() ||
           name->get_ref<const std::string&>().size() > 200)
    errors.push_back({"name", "expected a string of 1..200 characters"});
  if (const Json* version = text("version"); !version)
    errors.push_back({"version", "required"});
  else if (!version->is_string() || !is_semver(version->get<std::string>()))
    errors.push_back({"version", "expected a SemVer 2.0 version"});
  static const std::set<std::string> categories = {"retrieval", "reasoning", "sampling",
                                                   "policy",    "memory",    "evaluation"};
  if (const Json* category = text("category"); !category)
    errors.push_back({"category", "required"});
  else if (!category->is_string() || !categories.count(category->get<std::string>()))
    errors.push_back(
        {"category", "expected one of retrieval, reasoning, sampling, policy, memory, evaluation"});
  if (const Json* kind = text("kind");
      kind &&
      !(kind->is_string() && (*kind == "config" || *kind == "transform" || *kind == "plugin")))
    errors.push_back({"kind", "expected one of config, transform, plugin"});
  if (const Json* patches = text("patches"); !patches) {
    errors.push_back({"patches", "required"});
  } else {
    for (auto& e : validate_patch_shapes(*patches)) errors.push_back(std::move(e));
  }
  auto expect = [&](const char* key, bool (Json::*is)() const noexcept, const char* what) {
    if (const Json* v = text(key); v && !((*v).*is)()) errors.push_back({key, what});
  };
  expect("authors", &Json::is_array, "expected an array of strings");
  expect("license", &Json::is_string, "expected a string");
  expect("provenance", &Json::is_object, "expected an object");
  expect("slots", &Json::is_array, "expected an array");
  expect("parameters", &Json::is_object, "expected an object");
  expect("compat", &Json::is_object, "expected an object");
  expect("permissions", &Json::is_object, "expected an object");
  expect("metrics", &Json::is_object, "expected an object");
  expect("ui", &Json::is_object, "expected an object");
  expect("tests", &Json::is_object, "expected an object");
  for (auto it = m.begin(); it != m.end(); ++it)
    if (!known_manifest_fields().count(it.key())) check.warnings.push_back(it.key());
  return check;
}

// A patch computation: the applier's document turned into a target state,
// validated, planned against the current view.
struct Planned {
  PatchOutcome outcome;
  control::ChangePlan plan;
  Json after = Json::object();
  Json safety_issues = Json::array();
};

namespace {

Planned plan_patches(LogicUnits& units, control::ConfigState& config, PluginManager& plugins,
                     const Json& patches) {
  Planned planned;
  auto fail = [&](PatchOutcome::Result result, std::vector<FieldProblem> errors) {
    planned.outcome.result = result;
    planned.outcome.errors = std::move(errors);
    return planned;
  };
  auto applier = plugins.applier(units.settings().applier_id);
  if (!applier)
    return fail(PatchOutcome::Result::Unavailable,
                {{"", units.settings().applier_id + " is not running"}});
  const auto view = config.view();
  const Json before = config.patch_document(view->values);
  const ApplierResult answer =
      applier->call(ApplierInstance::Call::Apply, before.dump(), patches.dump());
  if (answer.status == TP_INVALID_ARG)
    return fail(PatchOutcome::Result::Invalid, {split_refusal(answer.error)});
  if (answer.status == TP_NOT_FOUND)
    return fail(PatchOutcome::Result::Conflict, {split_refusal(answer.error)});
  if (answer.status != TP_OK) return fail(PatchOutcome::Result::Unavailable, {{"", answer.error}});
  const Json output = Json::parse(answer.output, nullptr, false);
  if (output.is_discarded() || !output.is_object() || !output.contains("document") ||
      !output["document"].is_object())
    return fail(PatchOutcome::Result::Unavailable, {{"", "the applier answered no document"}});
  planned.after = output["document"];
  planned.safety_issues = output.value("safety_issues", Json::array());

  // The working copy must validate (6.2): registry types and ranges, hints,
  // profile, document size.
  std::vector<FieldProblem> errors;
  control::ConfigValues target = view->values;
  const Json& env_after = planned.after.contains("env") ? planned.after["env"] : Json::object();
  if (!env_after.is_object())
    errors.push_back({"env", "expected an object"});
  else
    for (auto it = env_after.begin(); it != env_after.end(); ++it) {
      const control::KeySpec* key = control::find_key(it.key());
      if (key == nullptr) {
        errors.push_back({"env." + it.key(), "unknown configuration key"});
        continue;
      }
      const Json& was = before["env"].contains(it.key()) ? before["env"][it.key()] : Json(nullptr);
      if (it.value() == was) continue;
      if (it.value().is_null()) {
        target.applied.erase(key->name);  // fall back to the layer below
        continue;
      }
      auto parsed = control::parse_key_json(*key, it.value());
      if (auto* message = std::get_if<std::string>(&parsed))
        errors.push_back({"env." + it.key(), *message});
      else
        target.applied[key->name] = std::get<Json>(parsed);
    }
  const Json governor = planned.after.value("governor", Json::object());
  if (!governor.is_object()) {
    errors.push_back({"governor", "expected an object"});
  } else {
    for (auto it = governor.begin(); it != governor.end(); ++it)
      if (it.key() != "profile" && it.key() != "hints")
        errors.push_back({"governor." + it.key(), "unknown governor field"});
    if (governor.contains("profile") && governor["profile"] != before["governor"]["profile"]) {
      auto profile = governor["profile"].is_string()
                         ? control::normalize_profile(governor["profile"].get<std::string>())
                         : std::nullopt;
      if (!profile)
        errors.push_back({"governor.profile", "unknown profile"});
      else
        target.profile = *profile;
    }
    const Json hints = governor.value("hints", Json::object());
    if (!hints.is_object()) {
      errors.push_back({"governor.hints", "expected an object"});
    } else {
      Json changes = Json::object();
      for (auto it = hints.begin(); it != hints.end(); ++it) {
        const Json& was = before["governor"]["hints"].contains(it.key())
                              ? before["governor"]["hints"][it.key()]
                              : Json(nullptr);
        if (it.value() != was) changes[it.key()] = it.value();
      }
      const auto check = control::validate_hints(changes, view->values.hints, "governor.hints.");
      for (const auto& e : check.errors) errors.push_back({e.field, e.message});
      for (const auto& key : check.ignored)
        errors.push_back({"governor.hints." + key, "unknown hint"});
      if (check.errors.empty() && check.ignored.empty())
        target.hints = control::merge_hints(view->values.hints, control::typed_hints(changes));
    }
  }
  Json document = Json::object();
  for (auto it = planned.after.begin(); it != planned.after.end(); ++it)
    if (it.key() != "env" && it.key() != "governor") document[it.key()] = it.value();
  if (document.dump().size() > kDocumentMaxBytes)
    errors.push_back({"document", "the config document exceeds 256 KiB"});
  target.document = std::move(document);
  if (!errors.empty()) return fail(PatchOutcome::Result::Invalid, std::move(errors));

  planned.plan = config.plan_target(target);
  planned.plan.hint_source = "logic_unit";
  auto& reasons = planned.plan.preview.risk_reasons;
  if (units.settings().patch_safety != "off")
    for (const auto& issue : planned.safety_issues) {
      const std::string code = issue.value("code", "");
      reasons.push_back(
          {code == "permissions_change" ? "permissions_change" : "safety_finding",
           code + " at " + issue.value("pointer", "") + ": " + issue.value("detail", "")});
    }
  for (const auto& key : control::hint_jumps(view->values.hints, planned.plan.changed_hints))
    reasons.push_back({"hint_jump", key});
  planned.plan.preview.safety_issues = planned.safety_issues;
  if (units.settings().patch_safety == "enforce" && !planned.safety_issues.empty()) {
    planned.outcome.result = PatchOutcome::Result::SafetyFailed;
    planned.outcome.body = {{"issues", planned.safety_issues}};
  }
  return planned;
}

Json risk_of(const control::ActionPreview& preview) {
  Json reasons = Json::array();
  for (const auto& r : preview.risk_reasons)
    reasons.push_back({{"code", r.code}, {"detail", r.detail}});
  return {{"risky", !preview.empty() && !reasons.empty()}, {"reasons", reasons}};
}

}  // namespace

LogicUnits::LogicUnits(Journal& journal, control::ConfigState& config, PluginManager& plugins,
                       LogicUnitSettings settings)
    : journal_(journal), config_(config), plugins_(plugins), settings_(std::move(settings)) {}

LogicUnits::InstallOutcome LogicUnits::install(const Json& manifest, const std::string& via,
                                               const std::string& corr_id) {
  InstallOutcome out;
  out.warnings = validate_manifest(manifest).warnings;
  const std::string id = manifest["id"].get<std::string>();
  journal_.transact([&](WriteTx& tx) {
    Sql select(tx.db(), "SELECT manifest, status FROM logic_units WHERE id = ?");
    select.bind(1, id);
    const int64_t now = now_ms();
    if (select.step()) {
      if (select.text(1) == "installed" && Json::parse(select.text(0)) == manifest) {
        out.changed = false;
        return;
      }
      Sql(tx.db(),
          "UPDATE logic_units SET manifest = ?, status = 'installed', updated_ms = ? WHERE id = ?")
          .bind(1, manifest.dump())
          .bind(2, now)
          .bind(3, id)
          .run();
    } else {
      out.created = true;
      Sql(tx.db(),
          "INSERT INTO logic_units(id, manifest, status, created_ms, updated_ms) "
          "VALUES(?,?,'installed',?,?)")
          .bind(1, id)
          .bind(2, manifest.dump())
          .bind(3, now)
          .bind(4, now)
          .run();
    }
    append_training_history(tx.db(), "logic.unit.installed", {{"id", id}, {"via", via}},
                            settings_.history_max);
    append_event(tx, "logic.unit.installed", {{"id", id}, {"version", manifest["version"]}},
                 corr_id);
  });
  return out;
}

std::optional<Json> LogicUnits::promote(const std::string& snapshot_id, const Json& request,
                                        const std::string& via, const std::string& corr_id) {
  const std::string wanted = snapshot_id.empty() ? config_.view()->snapshot_id : snapshot_id;
  auto snapshot = config_.snapshot(wanted);
  if (!snapshot) return std::nullopt;
  // The snapshot's applied layer and governor state relative to built-in defaults.
  Json env = Json::object();
  for (const auto& key : control::key_registry()) {
    auto it = snapshot->values.applied.find(key.name);
    if (it == snapshot->values.applied.end() || it->second.is_null()) continue;
    if (!control::config_values_equal(it->second, key.default_value)) env[key.name] = it->second;
  }
  Json patches = Json::array();
  if (!env.empty()) patches.push_back({{"target", "env"}, {"op", "merge"}, {"value", env}});
  if (snapshot->values.profile != "balance")
    patches.push_back(
        {{"target", "governor.profile"}, {"op", "set"}, {"value", snapshot->values.profile}});
  if (!snapshot->values.hints.empty())
    patches.push_back(
        {{"target", "governor.hints"}, {"op", "merge"}, {"value", snapshot->values.hints}});
  if (patches.empty())  // a unit needs one patch: an empty merge states "the defaults"
    patches.push_back({{"target", "env"}, {"op", "merge"}, {"value", Json::object()}});
  Json provenance = {
      {"generator", "tpark.promote/1"},
      {"snapshot_id", snapshot->id},
      {"parent_id", snapshot->parent_id.empty() ? Json(nullptr) : Json(snapshot->parent_id)},
      {"cause", snapshot->cause},
      {"created", snapshot->created}};
  if (request.contains("project")) provenance["project"] = request["project"];
  const std::string id = "promoted-" + random_uuid_v4().substr(0, 8);
  Json manifest = {{"id", id},
                   {"name", request["name"]},
                   {"version", request.value("version", "1.0.0")},
                   {"category", request.value("category", "retrieval")},
                   {"kind", "config"},
                   {"patches", patches},
                   {"provenance", provenance}};
  install(manifest, via, corr_id);
  const std::string now = format_rfc3339_ms(now_ms());
  return Json{{"id", id},
              {"manifest", manifest},
              {"status", "installed"},
              {"created", now},
              {"updated", now}};
}

std::optional<Json> LogicUnits::unit_patches(const std::string& id, std::string* kind_error) {
  std::optional<Json> patches;
  journal_.transact([&](WriteTx& tx) {
    Sql select(tx.db(), "SELECT manifest FROM logic_units WHERE id = ?");
    select.bind(1, id);
    if (!select.step()) return;
    const Json manifest = Json::parse(select.text(0), nullptr, false);
    if (manifest.is_object() && manifest.value("kind", "config") != "config")
      *kind_error = "only a config unit can be applied; this one is " + manifest.value("kind", "");
    patches = manifest.is_object() ? manifest.value("patches", Json::array()) : Json::array();
  });
  return patches;
}

PatchOutcome LogicUnits::check(const Json& patches) {
  return plan_patches(*this, config_, plugins_, patches).outcome;
}

PatchOutcome LogicUnits::dry_run(const std::string& id, const Json& patches, const std::string& via,
                                 const std::string& corr_id) {
  Planned planned = plan_patches(*this, config_, plugins_, patches);
  if (planned.outcome.result != PatchOutcome::Result::Ok) return planned.outcome;
  const auto& preview = planned.plan.preview;
  const Json risk = risk_of(preview);
  journal_.transact([&](WriteTx& tx) {
    append_training_history(tx.db(), "logic.unit.dry_run",
                            {{"id", id},
                             {"via", via},
                             {"changed", !preview.empty()},
                             {"diff_summary", preview.diff_summary}},
                            settings_.history_max);
    append_event(
        tx, "logic.unit.dry_run",
        {{"id", id}, {"via", via}, {"changed", !preview.empty()}, {"ops", preview.json_patch}},
        corr_id);
  });
  planned.outcome.body = {{"ok", true},
                          {"id", id},
                          {"dry_run", true},
                          {"changed", !preview.empty()},
                          {"diff_summary", preview.diff_summary},
                          {"json_patch", preview.json_patch},
                          {"safety_issues", planned.safety_issues},
                          {"risk", risk},
                          {"would_stage", risk["risky"]},
                          {"pinned", preview.pinned},
                          {"restart_required", preview.restart_required},
                          {"config", planned.after}};
  return planned.outcome;
}

// ---- logic_unit.apply ------------------------------------------------------

class ApplyKind : public control::ActionKind {
 public:
  explicit ApplyKind(LogicUnits& units) : units_(units) {}

  std::vector<control::InputError> validate(const Json& input) const override {
    if (!input.is_object()) return {{"", "expected an object"}};
    std::vector<control::InputError> errors;
    if (!input.contains("id") || !input["id"].is_string())
      errors.push_back({"id", "expected a string"});
    if (!input.contains("patches") || !input["patches"].is_array() || input["patches"].empty())
      errors.push_back({"patches", "expected a non-empty array"});
    return errors;
  }
  std::vector<std::string> scope_targets(const Json& input) const override {
    return {"logic_unit/" + input.value("id", std::string())};
  }
  control::ActionPreview preview(const Json& input) const override {
    Planned planned = plan_patches(units_, units_.config_, units_.plugins_, input["patches"]);
    if (planned.outcome.result != PatchOutcome::Result::Ok &&
        planned.outcome.result != PatchOutcome::Result::SafetyFailed)
      return {};
    return planned.plan.preview;
  }
  control::ActionOutcome execute(const Json& input, const control::ActionRun& run,
                                 WriteTx& tx) override {
    Planned planned = plan_patches(units_, units_.config_, units_.plugins_, input["patches"]);
    if (planned.outcome.result == PatchOutcome::Result::SafetyFailed)
      throw std::invalid_argument("patch_safety_failed: the safety scan found issues");
    if (planned.outcome.result != PatchOutcome::Result::Ok) {
      const auto& e = planned.outcome.errors.front();
      throw std::invalid_argument((e.field.empty() ? "" : e.field + ": ") + e.message);
    }
    const std::string id = input["id"].get<std::string>();
    const Json cause = {{"kind", run.kind}, {"action_id", run.action_id}, {"logic_unit", id}};
    control::ActionOutcome outcome = units_.config_.commit(planned.plan, run, cause, tx);
    Json& out = outcome.output;
    const bool changed = out.value("changed", false);
    if (!changed) {
      const std::string current = units_.config_.view()->snapshot_id;
      out["snapshot_id"] = current;
      out["applied_snapshot_id"] = current;
      out["diff_summary"] = Json::array();
      out["json_patch"] = Json::array();
    }
    out["id"] = id;
    out["dry_run"] = false;
    out["safety_issues"] = planned.safety_issues;
    out["config"] = planned.after;
    const int64_t now = now_ms();
    if (changed)
      Sql(tx.db(),
          "UPDATE logic_units SET status = 'applied', applied_snapshot = ?, updated_ms = ? WHERE "
          "id = ?")
          .bind(1, out["applied_snapshot_id"].get<std::string>())
          .bind(2, now)
          .bind(3, id)
          .run();
    Json payload = {{"id", id},
                    {"action_id", run.action_id},
                    {"snapshot_id", out["snapshot_id"]},
                    {"applied_snapshot_id", out["applied_snapshot_id"]},
                    {"ops", out["json_patch"]},
                    {"changed", changed},
                    {"via", run.via}};
    if (!planned.safety_issues.empty()) payload["safety_issues"] = planned.safety_issues;
    Json history = payload;
    history["diff_summary"] = out["diff_summary"];
    append_training_history(tx.db(), "logic.unit.applied", history, units_.settings().history_max);
    append_event(tx, "logic.unit.applied", payload, run.corr_id);
    return outcome;
  }

 private:
  LogicUnits& units_;
};

// ---- logic_unit.revert -----------------------------------------------------

class RevertKind : public control::ActionKind {
 public:
  explicit RevertKind(LogicUnits& units) : units_(units) {}

  std::vector<control::InputError> validate(const Json& input) const override {
    if (!input.is_object() || !input.contains("snapshot_id") || !input["snapshot_id"].is_string())
      return {{"snapshot_id", "expected a snapshot id"}};
    if (!units_.config_.snapshot(input["snapshot_id"].get<std::string>()))
      return {{"snapshot_id", "unknown snapshot"}};
    return {};
  }
  std::vector<std::string> scope_targets(const Json& input) const override {
    return {"snapshot/" + input.value("snapshot_id", std::string())};
  }
  control::ActionPreview preview(const Json& input) const override { return plan(input).preview; }
  control::ActionOutcome execute(const Json& input, const control::ActionRun& run,
                                 WriteTx& tx) override {
    const std::string reverted_to = input["snapshot_id"].get<std::string>();
    control::ChangePlan change = plan(input);
    const Json cause = {
        {"kind", run.kind}, {"action_id", run.action_id}, {"reverted_to", reverted_to}};
    control::ActionOutcome outcome = units_.config_.commit(change, run, cause, tx);
    Json& out = outcome.output;
    const bool changed = out.value("changed", false);
    const std::string current = changed ? out["applied_snapshot_id"].get<std::string>()
                                        : units_.config_.view()->snapshot_id;
    out["snapshot_id"] = current;
    out["reverted_to"] = reverted_to;
    if (!changed) {
      out["diff_summary"] = Json::array();
      out["json_patch"] = Json::array();
    }
    out["config"] = units_.config_.patch_document(change.target);
    // Every unit whose latest apply produced a snapshot newer than reverted_to.
    std::vector<std::string> ids;
    {
      Sql select(tx.db(), "SELECT id, applied_snapshot FROM logic_units WHERE status = 'applied'");
      while (select.step())
        if (snapshot_seq(select.text(1)) > snapshot_seq(reverted_to)) ids.push_back(select.text(0));
    }
    const int64_t now = now_ms();
    for (const auto& id : ids) {
      Sql(tx.db(), "UPDATE logic_units SET status = 'reverted', updated_ms = ? WHERE id = ?")
          .bind(1, now)
          .bind(2, id)
          .run();
      append_training_history(tx.db(), "logic.unit.reverted",
                              {{"id", id},
                               {"action_id", run.action_id},
                               {"snapshot_id", current},
                               {"reverted_to", reverted_to},
                               {"via", run.via},
                               {"changed", changed}},
                              units_.settings().history_max);
    }
    append_event(
        tx, "logic.unit.reverted",
        {{"snapshot_id", current}, {"reverted_to", reverted_to}, {"ids", ids}, {"via", run.via}},
        run.corr_id);
    return outcome;
  }

 private:
  control::ChangePlan plan(const Json& input) const {
    auto snapshot = units_.config_.snapshot(input["snapshot_id"].get<std::string>());
    if (!snapshot) throw std::invalid_argument("input.snapshot_id: unknown snapshot");
    control::ConfigValues target = snapshot->values;
    // Presets recorded in the snapshot are not re-applied: only the values.
    control::ChangePlan change = units_.config_.plan_target(target);
    change.hint_source = "revert";
    for (const auto& key :
         control::hint_jumps(units_.config_.view()->values.hints, change.changed_hints))
      change.preview.risk_reasons.push_back({"hint_jump", key});
    return change;
  }
  LogicUnits& units_;
};

std::shared_ptr<control::ActionKind> LogicUnits::apply_kind() {
  return std::make_shared<ApplyKind>(*this);
}
std::shared_ptr<control::ActionKind> LogicUnits::revert_kind() {
  return std::make_shared<RevertKind>(*this);
}

}  // namespace tpark::training
