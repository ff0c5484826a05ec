// Training jobs (control.md 5): the job, logic-unit and history tables, the
// local runners (ARW_TRAINING_CONCURRENCY) that hand queued jobs to the
// orchestrator plugin, the job reports it sends back (each committed as one
// transaction with its events), cancellation, the no-progress timeout and
// restart recovery. The plugin computes; this class owns every state change.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <tpark/tp_plugin.h>

#include "control/sql.h"
#include "training/start_pacer.h"
#include "training/start_request.h"
#include "util/json.h"

namespace tpark {
class Journal;
class MetricRegistry;
class PluginManager;
class WriteTx;
namespace control {
class ConfigState;
}

namespace training {

struct TrainingSettings {
  uint64_t concurrency = 1;         // ARW_TRAINING_CONCURRENCY
  uint64_t stage_delay_ms = 0;      // ARW_TRAINING_STAGE_DELAY_MS (a test hook)
  uint64_t job_timeout_secs = 900;  // ARW_TRAINING_JOB_TIMEOUT_SECS
  uint64_t history_max = 10000;     // ARW_TRAINING_HISTORY_MAX
  std::string dispatch = "local";   // local | nats (control.md 5.6)
  std::string orchestrator_id = "tp.orchestrator.local";
  YieldSettings yield;  // ingest first (start_pacer.h)
};

// Reads the ARW_TRAINING_* variables (a bad value falls back with a warning);
// `dispatch` (config::effective_training_dispatch) picks the orchestrator:
// tp.orchestrator.local, or tp.orchestrator.nats for the workers.
TrainingSettings training_settings_from_env(const std::string& dispatch = "local");

// Creates the training tables if they do not exist (idempotent).
void create_training_tables(sqlite3* db);
// The job list's query (GET /state/orchestrator/jobs), optionally of one
// status: binds (status,) limit, offset.
std::string job_list_sql(bool by_status);
// control.md 7: one history row in the caller's transaction; the oldest rows
// beyond `history_max` go in the same step.
void append_training_history(sqlite3* db, const char* kind, const Json& payload,
                             uint64_t history_max);
// The same with the payload's JSON text, dumped before the transaction.
void append_training_history_text(sqlite3* db, const char* kind, const std::string& payload,
                                  uint64_t history_max);

// GET /state/training/actions (control.md 7): newest first.
struct HistoryQuery {
  int64_t limit = 50;
  int64_t offset = 0;
  std::optional<int64_t> since_seq;      // exclusive
  std::optional<int64_t> since_time_ms;  // exclusive
  std::vector<std::string> kinds;        // full names; empty = all
};
struct HistoryPage {
  std::vector<Json> items;  // {seq,time,kind,payload}
  int64_t total = 0;        // matches
  std::optional<int64_t> latest_seq;
};

enum class CancelResult { Cancelled, NotFound, Terminal };
struct CancelOutcome {
  CancelResult result = CancelResult::NotFound;
  std::string state;  // the job's status when Terminal
};

class TrainingService {
 public:
  // With `metrics`, /metrics carries arw_training_ingest_busy and
  // arw_training_starts_paced_total (start_pacer.h).
  TrainingService(Journal& journal, control::ConfigState& config, PluginManager& plugins,
                  TrainingSettings settings, MetricRegistry* metrics = nullptr);
  ~TrainingService();
  TrainingService(const TrainingService&) = delete;
  TrainingService& operator=(const TrainingService&) = delete;

  // Recovery (running -> queued, attempts + 1), then the runners.
  void start();
  // Runners stop taking and watching jobs; running ones stay `running` in
  // the database (recovered at the next start).
  void stop();

  // Records a queued job (control.md 5.1, 5.3 "Created"); the 202 body.
  // Throws JournalUnavailable.
  Json create_job(const StartRequest& request, const std::string& corr_id);
  std::optional<Json> job(const std::string& id);
  Json list_jobs(int64_t limit, int64_t offset, const std::optional<std::string>& status_slug);
  CancelOutcome cancel_job(const std::string& id, const std::optional<std::string>& reason,
                           const std::string& corr_id);

  // The host API's job_report (ABI 1.2) for `plugin_id`.
  tp_status report(const std::string& plugin_id, std::string_view job_id, uint32_t kind,
                   std::string_view json);

  HistoryPage history(const HistoryQuery& query);
  uint64_t history_max() const { return settings_.history_max; }

  // The stored result cache of the orchestrator (control.md 5.5), oldest
  // first: {entries: [{key, job_id, computation}]} (state read "training_cache").
  Json cache_entries();

  std::optional<Json> logic_unit(const std::string& id);
  Json list_logic_units(int64_t limit, const std::optional<std::string>& status);

  // GET /orchestrator/mini_agents: the shipped catalog.
  static Json catalog();

  // Ingest first (start_pacer.h): whether job starts are paced now, and how
  // many started paced (arw_training_ingest_busy, _starts_paced_total).
  struct Pacing {
    bool busy = false;
    uint64_t paced_starts = 0;
  };
  Pacing pacing();

 private:
  struct Claimed;
  void runner_loop();
  std::optional<Claimed> claim();
  std::optional<Claimed> claim_in(WriteTx& tx);  // the oldest queued job, in `tx`
  void run(Claimed& job);
  void with_request(Claimed& job) const;                       // fills job.start.request_json
  bool fail(const std::string& id, const std::string& error);  // false when not running
  void finish_active(const std::string& id);
  // A start booked with the pacer (under mutex_): `retry_at` unset when a
  // job may start now, `paced` when ingest is busy and it starts paced.
  struct Slot {
    std::optional<std::chrono::steady_clock::time_point> retry_at;
    bool paced = false;
  };
  Slot start_slot();
  // Its runner still waits for it, and a job may start now (booked; *paced
  // as in Slot).
  bool runner_may_claim_for(const std::string& id, bool* paced);

  Journal& journal_;
  control::ConfigState& config_;
  PluginManager& plugins_;
  TrainingSettings settings_;
  control::ControlReader reader_;

  std::mutex mutex_;
  // Idle runners wait here for a claimable job; one is woken per new job
  // (and it wakes the next when it claimed one), not all of them.
  std::condition_variable claim_cv_;
  bool stopping_ = false;
  uint64_t generation_ = 0;  // bumped whenever a job may have become claimable
  StartPacer pacer_;
  uint64_t paced_starts_ = 0;  // jobs claimed on a paced slot
  struct Active {
    std::chrono::steady_clock::time_point last_progress;
    bool done = false;
    std::condition_variable done_cv;  // its runner waits here (finished, or stopping)
  };
  std::map<std::string, Active> active_;
  // Jobs claimed for a runner in the transaction that completed its last
  // job (one commit instead of two); the next free runner runs them.
  std::list<Claimed> handed_;
  std::vector<std::thread> runners_;

  MetricRegistry* metrics_ = nullptr;
  uint64_t busy_family_ = 0, paced_family_ = 0, metrics_hook_ = 0;
  std::mutex export_mutex_;      // concurrent scrapes run the hook concurrently
  uint64_t exported_paced_ = 0;  // under export_mutex_
};

}  // namespace training
}  // namespace tpark
