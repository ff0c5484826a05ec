// Logic units (control.md 6): manifest validation and install, the dry run,
// and the logic_unit.apply / logic_unit.revert action kinds over the live
// configuration. The patch computation is the applier plugin's
// (tp.applier.logic-units, ABI 1.2); the host owns validation of the result,
// the action pipeline, the transaction, the snapshots and the history.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "control/sql.h"
#include "kernel/action_kinds.h"
#include "util/json.h"

namespace tpark {
class Journal;
class PluginManager;
namespace control {
class ConfigState;
}

namespace training {

struct LogicUnitSettings {
  std::string patch_safety = "warn";  // ARW_PATCH_SAFETY: off | warn | enforce
  uint64_t history_max = 10000;
  std::string applier_id = "tp.applier.logic-units";
};

struct FieldProblem {
  std::string field;
  std::string message;
};

// §6.1 manifest validation: every error, and the unknown top-level fields.
struct ManifestCheck {
  std::vector<FieldProblem> errors;
  std::vector<std::string> warnings;
};
ManifestCheck validate_manifest(const Json& manifest);
// The shape of a patches array (>= 1 {target, op, value}), errors at patches.<i>.<field>.
std::vector<FieldProblem> validate_patch_shapes(const Json& patches);

// What a patch computation answers (dry run and the action's plan).
struct PatchOutcome {
  enum class Result { Ok, Invalid, Conflict, NotFound, SafetyFailed, Unavailable };
  Result result = Result::Ok;
  std::vector<FieldProblem> errors;  // Invalid / Conflict / NotFound
  Json body = Json::object();        // Ok: the reply; SafetyFailed: {issues}
};

class LogicUnits {
 public:
  LogicUnits(Journal& journal, control::ConfigState& config, PluginManager& plugins,
             LogicUnitSettings settings);

  // 201 created / 200 replaced; `changed` false when identical and installed.
  struct InstallOutcome {
    bool created = false;
    bool changed = true;
    std::vector<std::string> warnings;
  };
  InstallOutcome install(const Json& manifest, const std::string& via, const std::string& corr_id);

  // The patches a request names: its own, or the stored unit's (nullopt:
  // unknown id). `kind_error` is set when the unit is not applicable.
  std::optional<Json> unit_patches(const std::string& id, std::string* kind_error);

  // The patches' computation against the current state, writing nothing:
  // the errors (400 / 409) and the enforce-mode safety refusal a real apply
  // would meet.
  PatchOutcome check(const Json& patches);

  // POST /logic-units/apply with dry_run: no state change; a history row.
  PatchOutcome dry_run(const std::string& id, const Json& patches, const std::string& via,
                       const std::string& corr_id);

  // POST /logic-units/promote (6.5): a config snapshot (the current one when
  // snapshot_id is empty) as a new installed unit; nullopt for an unknown
  // snapshot. `request` holds the validated name, version, category, project.
  std::optional<Json> promote(const std::string& snapshot_id, const Json& request,
                              const std::string& via, const std::string& corr_id);

  // The two action kinds, registered at boot.
  std::shared_ptr<control::ActionKind> apply_kind();
  std::shared_ptr<control::ActionKind> revert_kind();

  const LogicUnitSettings& settings() const { return settings_; }

 private:
  friend class ApplyKind;
  friend class RevertKind;
  Journal& journal_;
  control::ConfigState& config_;
  PluginManager& plugins_;
  LogicUnitSettings settings_;
};

}  // namespace training
}  // namespace tpark
