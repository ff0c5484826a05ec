// The live configuration (control.md 3.2, 3.6, 2.3): the layers (explicit env
// > applied > preset > built-in default), the governor state, the generic
// config document, config snapshots, and the one write path that turns a
// target state into a diff, state rows, a snapshot and events in the caller's
// transaction.
//
// Threads: readers (routes, state reads) take an immutable view at any time.
// Writes run on the journal's writer thread through plan() + commit(), one at
// a time: a config write starts only after the previous one's on_committed ran
// (or its transaction failed), which the single FIFO config writer guarantees.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "config/config_registry.h"
#include "config/presets.h"
#include "kernel/action_kinds.h"
#include "util/json.h"

namespace tpark {
class Journal;
}

namespace tpark::control {

// What the layers below "applied" are, fixed at boot.
struct BootConfig {
  std::shared_ptr<const PresetSet> presets;
  std::string boot_perf;                    // canonical perf preset name
  std::string perf_source = "auto";         // "env" (ARW_PERF_PRESET) or "auto"
  std::optional<std::string> boot_context;  // canonical context preset name
  DetectedTier detected;
  std::map<std::string, Json> env_layer;    // pinned keys, typed
  std::vector<std::string> warnings;        // invalid env values (one each), to log
  size_t snapshots_max = 1000;
};

using EnvLookup = std::function<std::optional<std::string>(const std::string& name)>;

// The environment snapshot and preset selection (control.md 3.2, 3.5). Returns
// the boot config, or the message of a fatal error (exit 78): an unknown or
// invalid preset named by ARW_PERF_PRESET / ARW_CONTEXT_PRESET.
std::variant<BootConfig, std::string> resolve_boot_config(std::shared_ptr<const PresetSet> presets,
                                                          const DetectedTier& detected,
                                                          const EnvLookup& env);

// The mutable state a snapshot captures.
struct ConfigValues {
  std::map<std::string, Json> applied;  // key -> value; null is a tombstone
  std::string profile = "balance";
  Json hints = Json::object();          // set hints only
  std::optional<int64_t> memory_limit;
  Json document = Json::object();       // the generic config document's roots
  std::optional<std::string> perf_applied;
  std::optional<std::string> context_applied;

  Json to_json() const;
  static ConfigValues from_json(const Json& state);
};

struct SnapshotInfo {
  int64_t seq = 0;
  std::string id;  // snap-<seq>
  std::string parent_id;  // empty for snap-0
  std::string created;
  Json cause;
  ConfigValues values;
};

// One published state: immutable once built.
struct ConfigView {
  int64_t version = 0;
  std::string snapshot_id;
  ConfigValues values;
};

// One key's effective value and where it came from.
struct EffectiveValue {
  Json value;  // null when unset
  std::string source;  // env | applied | preset | default
};

// A change to one env key requested by a kind.
struct EnvChange {
  std::string key;
  enum class Op { Set, Tombstone, Remove } op = Op::Set;
  Json value;  // Set only
};

// What a kind asks for; plan() turns it into a diff against the current view.
struct ChangeRequest {
  std::vector<EnvChange> env;
  std::optional<std::string> profile;
  Json hints = Json::object();  // key -> value | null (unset)
  std::optional<std::string> perf_applied;     // recorded only if the diff is not empty
  std::optional<std::string> context_applied;
  // actions.hint.applied `source`: action, preset, logic_unit or revert.
  std::string hint_source = "action";
};

// The result of planning: the preview and the target state.
struct ChangePlan {
  ActionPreview preview;
  ConfigValues target;
  int64_t base_version = 0;
  std::string base_snapshot_id;
  std::optional<std::string> previous_profile;  // set when the profile changes
  Json changed_hints = Json::object();          // hint -> new value (null = unset)
  std::string hint_source = "action";
};

class ConfigState {
 public:
  explicit ConfigState(BootConfig boot);

  // Creates the tables if needed, loads the applied layer, governor state and
  // snapshots, and on first boot writes snap-0 (cause bootstrap) with the boot
  // preset's governor block. Throws on database errors.
  void open(Journal& journal);

  std::shared_ptr<const ConfigView> view() const;
  const BootConfig& boot() const { return boot_; }
  std::shared_ptr<const PresetSet> presets() const;

  EffectiveValue effective(const ConfigValues& values, const KeySpec& key) const;
  // {env:{every key}, governor:{profile,hints(18)}, <document roots>} (control.md 6.2)
  Json patch_document(const ConfigValues& values) const;

  // Bodies.
  Json state_config_body() const;              // GET /state/config
  Json telemetry_config() const;               // the snapshot's `config`
  Json governor_hints() const;                 // state_config_body()'s governor.hints alone
  // GET /about's perf_preset: {tier,detected,boot,http_max_conc,actions_queue_max},
  // the limits in force (ARW_HTTP_MAX_CONC needs a restart: its boot value).
  Json about_perf_preset() const;
  Json governor_state() const;                 // {profile, memory_limit, hints(set ones)}
  Json presets_body() const;                   // GET /state/presets
  Json snapshots_body(size_t limit) const;     // GET /state/config/snapshots
  std::optional<SnapshotInfo> snapshot(const std::string& id) const;

  // Replaces the preset set if `next` has no errors; returns whether it did.
  bool replace_presets(std::shared_ptr<const PresetSet> next);

  // The effective value of one registry key now (null when unset or unknown).
  Json effective_value(std::string_view key) const;

  // Computes the diff of a change against the current view (no state change).
  ChangePlan plan(const ChangeRequest& request) const;
  // The same for a whole target state (logic units, reverts): applied entries
  // of pinned keys and entries that change no effective value are kept as
  // they are now and listed in `pinned` / `unchanged`.
  ChangePlan plan_target(const ConfigValues& target) const;
  // Writes a non-empty plan in `tx`: applied rows, governor state, snapshot,
  // version, config.patch.applied and the governor events. Returns the output
  // and the on_committed that publishes the new view. An empty plan writes
  // nothing and returns {changed:false,unchanged,pinned}.
  ActionOutcome commit(const ChangePlan& plan, const ActionRun& run, const Json& cause,
                       WriteTx& tx);

 private:
  Json preset_layer_value(const std::string& key) const;
  // {tier,detected,boot}: tier is the perf preset in force at boot, as the
  // reference reports it; detected the hardware tier (control.md 3.2, 3.5).
  Json perf_preset_names() const;
  // Fills diff_summary and json_patch of `plan` (base -> plan.target).
  void finish_plan(const ConfigValues& base, ChangePlan& plan) const;
  void publish(std::shared_ptr<const ConfigView> next, std::optional<SnapshotInfo> added);

  BootConfig boot_;
  std::map<std::string, Json> preset_layer_;  // boot perf + boot context, fixed at boot
  std::map<std::string, Json> boot_effective_;  // for pending_restart
  mutable std::mutex mutex_;
  std::shared_ptr<const ConfigView> view_;
  std::shared_ptr<const PresetSet> presets_;
  std::vector<SnapshotInfo> snapshots_;  // ascending seq
};

}  // namespace tpark::control
