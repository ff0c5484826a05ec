// Action kinds (control.md 4.1): what the /actions pipeline needs from the code
// that owns a kind. The pipeline (leases, policy, staging, queue, workers,
// idempotency) lives in host/control/actions*; the config kinds of
// control.md 3.4 (preset.apply, context.set, governor.hints.set,
// governor.profile.set) live with the live configuration in host/config/,
// logic_unit.apply/revert in host/training/. The contract sits in kernel/ so
// that every owner of a kind implements it without including the pipeline.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "util/json.h"

namespace tpark {
class WriteTx;
}

namespace tpark::control {

// One input error: `field` is the dotted path under `input` as the client sent
// it ("vars.ARW_CONTEXT_K"); the pipeline prefixes "input." for the problem.
struct InputError {
  std::string field;
  std::string message;
};

// A risk rule that matched (control.md 4.5): code is one of preset_risky,
// key_risky, permissions_change, safety_finding, hint_jump.
struct RiskReason {
  std::string code;
  std::string detail;
};

// What an action would change, computed against the current state without
// changing anything (control.md 3.4 steps 1-2, 4.5, 4.6).
struct ActionPreview {
  Json diff_summary = Json::array();  // [{target,pointer,op,before,after}]
  Json json_patch = Json::array();    // RFC 6902 ops against the patch document
  std::vector<std::string> pinned;    // keys an explicit env pins (dropped)
  std::vector<std::string> unchanged; // keys whose effective value stays
  std::vector<std::string> restart_required;
  std::vector<RiskReason> risk_reasons;  // the kind's own rules; empty = not risky
  Json safety_issues;                    // logic units only; null otherwise
  int64_t config_version = 0;            // the state the preview was taken from
  bool empty() const { return diff_summary.empty(); }
};

// Who runs the action, for events and history.
struct ActionRun {
  std::string action_id;
  std::string kind;
  std::string corr_id;  // the submitting request's id
  std::string via;      // "api" unless the caller said otherwise
};

struct ActionOutcome {
  Json output = Json::object();  // the action's `output` ({changed:...,...})
  // Publishes in-memory state once the transaction committed, on the journal's
  // writer thread before the commit's events reach the bus and SSE (so readers
  // are current when they hear of it); never called if the commit failed. Must
  // not block or use the journal. May be empty.
  std::function<void()> on_committed;
};

// The handler of one action kind. validate/scope_targets/preview are called on
// request threads and must not change state.
class ActionKind {
 public:
  virtual ~ActionKind() = default;
  // External kinds accept POST /actions/{id}/state (control.md 4.1).
  virtual bool external() const { return false; }
  // Every error in `input`; empty means valid.
  virtual std::vector<InputError> validate(const Json& input) const = 0;
  // Lease scope targets (control.md 4.2 "Scope targets").
  virtual std::vector<std::string> scope_targets(const Json& input) const = 0;
  // The change against the current state, with the kind's risk reasons.
  virtual ActionPreview preview(const Json& input) const = 0;
  // Executes on the journal's writer thread inside the action's transaction:
  // writes state rows and appends events through `tx`. Throwing rolls back this
  // action's work only and fails the action with the exception's message.
  // Must not touch state other threads read; do that in on_committed.
  // Host-executed kinds run one at a time, in admission order.
  virtual ActionOutcome execute(const Json& input, const ActionRun& run, WriteTx& tx) = 0;
};

// Kinds by name; filled at boot, read by the pipeline.
class ActionKindRegistry {
 public:
  // Throws std::logic_error if the kind is already registered.
  void add(const std::string& kind, std::shared_ptr<ActionKind> handler) {
    std::lock_guard lock(mutex_);
    if (!kinds_.emplace(kind, std::move(handler)).second)
      throw std::logic_error("action kind registered twice: " + kind);
  }
  std::shared_ptr<ActionKind> find(std::string_view kind) const {
    std::lock_guard lock(mutex_);
    auto it = kinds_.find(std::string(kind));
    return it == kinds_.end() ? nullptr : it->second;
  }
  std::vector<std::string> kinds() const {
    std::lock_guard lock(mutex_);
    std::vector<std::string> out;
    for (const auto& [name, handler] : kinds_) out.push_back(name);
    return out;
  }

 private:
  mutable std::mutex mutex_;
  std::map<std::string, std::shared_ptr<ActionKind>> kinds_;
};

}  // namespace tpark::control
