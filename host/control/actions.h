// The action pipeline (control.md 4.1, 4.2, 4.5, 4.6): submission with
// idempotency, policy and lease, evidence and risk, staging, the queue limit
// and admission in one transaction; staging decisions; the FIFO executor for
// host-executed kinds; reads for the routes. Every state change commits with
// its events in one Journal::transact (1.5).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "control/policy.h"
#include "control/sql.h"
#include "http/problem.h"
#include "kernel/action_kinds.h"
#include "util/json.h"

namespace tpark {
class Journal;
}

namespace tpark::control {

// The `error` of an action whose execution could not be committed (disk
// full, I/O error): nothing of it was stored, and it is `failed`.
inline constexpr const char* kCommitFailedError =
    "unavailable: the database commit failed; nothing of the execution was stored";

struct SubmitRequest {
  std::string kind;
  Json input = Json::object();
  std::optional<std::string> idem_key;
  std::string corr_id;  // the request id
  std::string via = "api";
};

struct SubmitOutcome {
  enum class Result {
    Queued,        // 202
    Staged,        // 202 staged:true
    Reused,        // 200 reused:true
    UnknownKind,   // 400 on `kind`
    InputInvalid,  // 400, errors under `input.`
    IdemConflict,  // 409
    Denied,        // 403 lease_required
    QueueFull,     // 429 queue_full
  };
  Result result = Result::Queued;
  std::string id;
  std::string state;
  Json evidence;                         // staged replies
  std::vector<http::FieldError> errors;  // InputInvalid
  std::string require_capability;        // Denied
  Json explain;                          // Denied
  uint64_t queue_limit = 0, queued = 0;  // QueueFull
};

// Approve/deny/state-change outcome.
struct DecisionOutcome {
  enum class Result { Ok, NotFound, Conflict, QueueFull, InputInvalid };
  Result result = Result::Ok;
  std::string state;  // the entry's or action's state (Conflict and Ok)
  Json action;        // POST /actions/{id}/state: the row after the change
  uint64_t queue_limit = 0, queued = 0;
  std::vector<http::FieldError> errors;
};

struct ActionFilter {
  std::optional<std::string> state;
  std::optional<std::string> kind;
  std::optional<std::string> kind_prefix;   // kinds starting with it
  std::optional<int64_t> updated_since_ms;  // updated strictly after
  int64_t limit = 100;
  int64_t offset = 0;
};

// The `actions` read model's window: the newest 200 actions (control.md 1.6).
inline constexpr int64_t kActionsModelLimit = 200;

class ActionService {
 public:
  ActionService(Journal& journal, ActionKindRegistry& kinds, const ControlSettings& settings);
  ~ActionService();  // stops the executor; queued actions stay queued
  ActionService(const ActionService&) = delete;
  ActionService& operator=(const ActionService&) = delete;

  // Boot: requeues `running` actions, prunes old terminal ones, starts the
  // executor (unless workers == 0).
  void start();
  void stop();

  // The effective queue limit; the config state may override the env value.
  void set_queue_max_source(std::function<uint64_t()> source);

  SubmitOutcome submit(const SubmitRequest& request);
  DecisionOutcome approve(const std::string& id, const std::string& decided_by,
                          const std::string& corr_id);
  DecisionOutcome deny(const std::string& id, const std::optional<std::string>& reason,
                       const std::string& decided_by, const std::string& corr_id);
  // POST /actions/{id}/state for external kinds: forward transitions only.
  DecisionOutcome set_external_state(const std::string& id, const Json& body,
                                     const std::string& corr_id);

  std::optional<Json> action(const std::string& id);
  // {items,total,limit,offset}, newest created first.
  Json list_actions(const ActionFilter& filter);
  // {items,status,limit,generated,generated_ms}, oldest created first.
  Json list_staging(const std::optional<std::string>& status, int64_t limit);
  // Waits up to timeout_ms while the action is queued or running; returns the
  // row as it is then (nullopt if it does not exist).
  std::optional<Json> wait_settled(const std::string& id, uint64_t timeout_ms);

  // Terminal actions updated before `cutoff_ms` are removed with their
  // staging entries; returns rows removed.
  uint64_t prune_terminal(int64_t cutoff_ms);

  const ControlSettings& settings() const { return settings_; }

 private:
  struct QueuedAction;
  void executor_loop();
  std::optional<QueuedAction> next_queued();
  void execute(const QueuedAction& action);
  uint64_t queue_max() const;
  void notify_changed();

  Journal& journal_;
  ActionKindRegistry& kinds_;
  ControlSettings settings_;
  ControlReader reader_;
  std::function<uint64_t()> queue_max_source_;
  int64_t next_queue_order_ = 1;  // only touched on the journal's writer thread

  mutable std::mutex mutex_;
  std::condition_variable wake_;     // the executor: new work or stop
  std::condition_variable settled_;  // wait_settled: some action changed
  uint64_t change_seq_ = 0;
  bool stopping_ = false;
  bool work_pending_ = true;
  std::thread executor_;
};

}  // namespace tpark::control
