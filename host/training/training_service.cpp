#include "training/training_service.h"

#include <spdlog/spdlog.h>

#include "config/config_state.h"
#include "config/settings.h"
#include "kernel/journal.h"
#include "metrics/metric_registry.h"
#include "plugins/orchestrator_runtime.h"
#include "plugins/plugin_manager.h"
#include "training/job_status.h"
#include "util/time.h"
#include "util/uuid.h"

namespace tpark::training {

using control::Sql;

namespace {

constexpr const char* kStages[] = {"collect", "analyse", "generate", "evaluate", "suggest"};

constexpr const char* kTrainingSchema =
    "CREATE TABLE IF NOT EXISTS training_jobs("
    " id TEXT PRIMARY KEY,"
    " goal TEXT NOT NULL,"
    " status TEXT NOT NULL,"
    " stage_index INTEGER,"
    " created_ms INTEGER NOT NULL,"
    " updated_ms INTEGER NOT NULL,"
    " started_ms INTEGER,"
    " finished_ms INTEGER,"
    " persona_id TEXT,"
    " project TEXT,"
    " meta TEXT NOT NULL,"
    " submitted TEXT NOT NULL,"
    " base TEXT NOT NULL,"
    " since_id INTEGER NOT NULL,"
    " until_id INTEGER NOT NULL,"
    " attempts INTEGER NOT NULL,"
    " dispatch TEXT NOT NULL,"
    " error TEXT,"
    " cancel_reason TEXT,"
    " logic_unit_id TEXT,"
    " result TEXT);"
    "CREATE INDEX IF NOT EXISTS training_jobs_status ON training_jobs(status, created_ms);"
    "CREATE INDEX IF NOT EXISTS training_jobs_updated ON training_jobs(updated_ms);"
    // The job list by status, newest first (GET /state/orchestrator/jobs?status=,
    // which clients poll) walks this index and reads only the rows it returns.
    "CREATE INDEX IF NOT EXISTS training_jobs_status_updated"
    " ON training_jobs(status, updated_ms DESC, id);"
    "CREATE TABLE IF NOT EXISTS logic_units("
    " id TEXT PRIMARY KEY,"
    " manifest TEXT NOT NULL,"
    " status TEXT NOT NULL,"
    " created_ms INTEGER NOT NULL,"
    " updated_ms INTEGER NOT NULL,"
    " job_id TEXT UNIQUE,"
    " applied_snapshot TEXT);"
    "CREATE TABLE IF NOT EXISTS training_history("
    " seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    " time_ms INTEGER NOT NULL,"
    " kind TEXT NOT NULL,"
    " payload TEXT NOT NULL);"
    // The orchestrator's result cache (control.md 5.5), stored with the
    // completion it came with and handed back through the state read
    // "training_cache", so it survives restarts.
    "CREATE TABLE IF NOT EXISTS training_cache("
    " seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    " key TEXT NOT NULL UNIQUE,"
    " job_id TEXT NOT NULL,"
    " computation TEXT NOT NULL);";

constexpr const char* kJobColumns =
    "id, goal, status, stage_index, created_ms, updated_ms, started_ms, finished_ms, persona_id,"
    " project, meta, submitted, base, since_id, until_id, attempts, dispatch, error,"
    " cancel_reason, logic_unit_id, result";

Json parse_or_null(const std::optional<std::string>& text) {
  if (!text) return nullptr;
  Json value = Json::parse(*text, nullptr, false);
  return value.is_discarded() ? Json(nullptr) : value;
}

// One training_jobs row as the job view of control.md 5.2.
Json job_item(const Sql& row) {
  const std::string status = row.text(2);
  const JobStatus normalized = normalize_job_status(status);
  const auto stage_index = row.optional_integer(3);
  const Json meta = parse_or_null(row.text(10));
  const Json result = parse_or_null(row.optional_text(20));
  const auto error = row.optional_text(17);
  double progress = stage_index ? static_cast<double>(*stage_index - 1) / 5.0 : 0.0;
  if (normalized.slug == "completed") progress = 1.0;
  Json item;
  item["id"] = row.text(0);
  item["goal"] = row.text(1);
  item["category"] = "agent_training";
  item["kind"] = "agent.training";
  item["status"] = status;
  item["status_slug"] = normalized.slug;
  item["status_label"] = normalized.label;
  item["progress"] = progress;
  item["stage"] = stage_index ? Json(kStages[*stage_index - 1]) : Json(nullptr);
  item["stage_index"] = stage_index ? Json(*stage_index) : Json(nullptr);
  item["created"] = format_rfc3339_ms(row.integer(4));
  item["updated"] = format_rfc3339_ms(row.integer(5));
  if (auto started = row.optional_integer(6)) item["started"] = format_rfc3339_ms(*started);
  if (auto finished = row.optional_integer(7)) item["finished"] = format_rfc3339_ms(*finished);
  if (auto persona = row.optional_text(8)) item["persona_id"] = *persona;
  if (auto project = row.optional_text(9)) item["project"] = *project;
  item["hints"] = meta;
  item["attempts"] = row.integer(15);
  item["dispatch"] = row.text(16);
  if (auto unit = row.optional_text(19)) item["logic_unit_id"] = *unit;
  if (!result.is_null()) item["result"] = result;
  if (result.is_object() && result.contains("worker")) item["worker"] = result["worker"];
  if (error) item["error"] = *error;
  if (auto reason = row.optional_text(18)) item["cancel_reason"] = *reason;
  Json data;
  data["payload"] = {{"goal", row.text(1)},
                     {"window", {{"since_id", row.integer(13)}, {"until_id", row.integer(14)}}},
                     {"base", parse_or_null(row.text(12))}};
  data["hints"] = meta;
  data["training"] = meta;
  data["submitted"] = parse_or_null(row.text(11));
  if (!result.is_null()) data["result"] = result;
  if (error) data["error"] = *error;
  data["progress_stage"] = stage_index ? Json(*stage_index) : Json(nullptr);
  item["data"] = std::move(data);
  return item;
}

Json unit_item(const Sql& row) {
  Json item;
  item["id"] = row.text(0);
  item["manifest"] = parse_or_null(row.text(1));
  item["status"] = row.text(2);
  item["created"] = format_rfc3339_ms(row.integer(3));
  item["updated"] = format_rfc3339_ms(row.integer(4));
  if (auto job = row.optional_text(5)) item["job_id"] = *job;
  return item;
}

// `payload` is the event's JSON text, built before the transaction so the
// journal's writer thread only binds it.
EventPtr append_event_text(WriteTx& tx, const char* kind, std::string payload,
                           const std::string& corr_id = {}) {
  NewEvent event;
  event.kind = kind;
  event.payload = std::move(payload);
  event.time_ms = now_ms();
  event.source = "host";
  event.corr_id = corr_id;
  return tx.append(std::move(event));
}

EventPtr append_event(WriteTx& tx, const char* kind, const Json& payload,
                      const std::string& corr_id = {}) {
  return append_event_text(tx, kind, payload.dump(), corr_id);
}

}  // namespace

void append_training_history(sqlite3* db, const char* kind, const Json& payload,
                             uint64_t history_max) {
  append_training_history_text(db, kind, payload.dump(), history_max);
}

void append_training_history_text(sqlite3* db, const char* kind, const std::string& payload,
                                  uint64_t history_max) {
  Sql(db, "INSERT INTO training_history(time_ms, kind, payload) VALUES(?,?,?)")
      .bind(1, now_ms())
      .bind(2, kind)
      .bind(3, payload)
      .run();
  Sql(db, "DELETE FROM training_history WHERE seq <= (SELECT MAX(seq) FROM training_history) - ?")
      .bind(1, static_cast<int64_t>(history_max))
      .run();
}

namespace {

constexpr int64_t kCacheEntries = 64;  // as many as the orchestrator keeps

struct CacheEntry {
  std::string key;
  std::string computation;  // JSON text
};

// The report's optional {key, computation}, kept verbatim. Anything of
// another shape is ignored (the cache is an optimisation).
std::optional<CacheEntry> cache_entry_of(const Json& cache) {
  if (!cache.is_object() || !cache.contains("key") || !cache["key"].is_string() ||
      cache["key"].get_ref<const std::string&>().size() > 128 || !cache.contains("computation") ||
      !cache["computation"].is_object())
    return std::nullopt;
  return CacheEntry{cache["key"].get<std::string>(), cache["computation"].dump()};
}

// Stores `entry`, keeping the newest 64.
void store_cache_entry(sqlite3* db, const std::string& job_id, const CacheEntry& entry) {
  Sql(db, "DELETE FROM training_cache WHERE key = ?").bind(1, entry.key).run();
  Sql(db, "INSERT INTO training_cache(key, job_id, computation) VALUES(?,?,?)")
      .bind(1, entry.key)
      .bind(2, job_id)
      .bind(3, entry.computation)
      .run();
  Sql(db, "DELETE FROM training_cache WHERE seq <= (SELECT MAX(seq) FROM training_cache) - ?")
      .bind(1, kCacheEntries)
      .run();
}

std::optional<std::string> job_status_in_tx(sqlite3* db, const std::string& id) {
  Sql select(db, "SELECT status FROM training_jobs WHERE id = ?");
  select.bind(1, id);
  if (!select.step()) return std::nullopt;
  return select.text(0);
}

}  // namespace

TrainingSettings training_settings_from_env(const std::string& dispatch) {
  TrainingSettings s;
  s.dispatch = dispatch;
  s.orchestrator_id = "tp.orchestrator." + dispatch;
  s.concurrency = env_u64("ARW_TRAINING_CONCURRENCY", 1, 1, 64);
  s.stage_delay_ms = env_u64("ARW_TRAINING_STAGE_DELAY_MS", 0, 0, 600000);
  s.job_timeout_secs = env_u64("ARW_TRAINING_JOB_TIMEOUT_SECS", 900, 1, 86400);
  s.history_max = env_u64("ARW_TRAINING_HISTORY_MAX", 10000, 100, 1000000);
  s.yield.busy_events_per_sec =
      env_u64("ARW_TRAINING_YIELD_EVENTS_PER_SEC", s.yield.busy_events_per_sec, 1, 100000000);
  s.yield.starts_per_sec =
      env_u64("ARW_TRAINING_YIELD_STARTS_PER_SEC", s.yield.starts_per_sec, 0, 100000);
  return s;
}

void create_training_tables(sqlite3* db) {
  char* message = nullptr;
  if (sqlite3_exec(db, kTrainingSchema, nullptr, nullptr, &message) != SQLITE_OK) {
    std::string text = message ? message : "unknown error";
    sqlite3_free(message);
    throw std::runtime_error("training tables: " + text);
  }
}

struct TrainingService::Claimed {
  std::string id;
  JobStart start;            // request_json is built by the runner (with_request)
  bool more_queued = false;  // another job was queued behind it
  // The row's texts as claimed: the request is built from them off the
  // journal's writer thread.
  std::string goal;
  int64_t created_ms = 0;
  std::string meta;
  std::string base;
};

// The job's start request (control.md 5.3), from its claimed row.
void TrainingService::with_request(Claimed& job) const {
  const Json meta = parse_or_null(job.meta);
  Json request = {{"job_id", job.id},
                  {"goal", job.goal},
                  {"created", format_rfc3339_ms(job.created_ms)},
                  {"mode", meta.value("mode", "balanced")},
                  {"request", meta},
                  {"base", parse_or_null(job.base)},
                  {"window", {{"since_id", job.start.since_id}, {"until_id", job.start.until_id}}},
                  {"stage_delay_ms", settings_.stage_delay_ms}};
  job.start.request_json = request.dump();
}

TrainingService::TrainingService(Journal& journal, control::ConfigState& config,
                                 PluginManager& plugins, TrainingSettings settings,
                                 MetricRegistry* metrics)
    : journal_(journal),
      config_(config),
      plugins_(plugins),
      settings_(std::move(settings)),
      reader_([&journal] {
        journal.transact([](WriteTx& tx) { create_training_tables(tx.db()); });
        return journal.path().string();
      }()),
      pacer_(settings_.yield, std::chrono::steady_clock::now(), journal.head_id()),
      metrics_(metrics) {
  if (!metrics_) return;
  std::string error;
  busy_family_ = metrics_->register_family(
      MetricType::Gauge, "arw_training_ingest_busy",
      "1 while ingest is busy and training job starts are paced (ARW_TRAINING_YIELD_*)", {}, {},
      &error);
  paced_family_ = metrics_->register_family(MetricType::Counter, "arw_training_starts_paced_total",
                                            "Training jobs started at the paced rate while ingest "
                                            "was busy",
                                            {}, {}, &error);
  if (!busy_family_ || !paced_family_) throw std::logic_error("training metric families: " + error);
  metrics_hook_ = metrics_->add_render_hook([this] {
    const Pacing now = pacing();
    std::lock_guard lock(export_mutex_);
    metrics_->set(busy_family_, {}, now.busy ? 1.0 : 0.0);
    metrics_->add(paced_family_, {}, static_cast<double>(now.paced_starts - exported_paced_));
    exported_paced_ = now.paced_starts;
  });
}

TrainingService::~TrainingService() {
  if (metrics_) metrics_->remove_render_hook(metrics_hook_);
  stop();
}

void TrainingService::start() {
  // control.md 1.5: a job that was running when the host died runs again.
  journal_.transact([](WriteTx& tx) {
    Sql(tx.db(),
        "UPDATE training_jobs SET status = 'queued', attempts = attempts + 1, updated_ms = ?"
        " WHERE status = 'running'")
        .bind(1, now_ms())
        .run();
  });
  std::lock_guard lock(mutex_);
  ++generation_;
  for (uint64_t i = 0; i < settings_.concurrency; ++i)
    runners_.emplace_back([this] { runner_loop(); });
}

void TrainingService::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    for (auto& [id, active] : active_) active.done_cv.notify_all();
  }
  claim_cv_.notify_all();
  for (auto& runner : runners_)
    if (runner.joinable()) runner.join();
  runners_.clear();
}

Json TrainingService::create_job(const StartRequest& request, const std::string& corr_id) {
  const std::string id = random_uuid_v4();
  // The texts are built before the transaction: the journal's writer only
  // binds them.
  const std::string base =
      Json{{"env", config_.telemetry_config().at("context")}, {"hints", config_.governor_hints()}}
          .dump();
  const std::string meta = request.meta.dump();
  const std::string submitted = request.submitted.dump();
  Json payload = {{"id", id},
                  {"category", "agent_training"},
                  {"kind", "agent.training"},
                  {"label", request.goal},
                  {"priority", 3}};
  if (request.project) payload["project"] = *request.project;
  payload["tags"] = {"training", "mini-agent"};
  payload["hints"] = request.meta;
  if (request.persona_id) payload["persona_id"] = *request.persona_id;
  const std::string created = payload.dump();
  journal_.transact([&](WriteTx& tx) {
    const int64_t now = now_ms();
    const int64_t until_id = journal_.head_id();
    Sql(tx.db(), std::string("INSERT INTO training_jobs(") + kJobColumns +
                     ") VALUES(?,?,'queued',NULL,?,?,NULL,NULL,?,?,?,?,?,?,?,0,?,NULL,NULL,"
                     "NULL,NULL)")
        .bind(1, id)
        .bind(2, request.goal)
        .bind(3, now)
        .bind(4, now)
        .bind(5, request.persona_id)
        .bind(6, request.project)
        .bind(7, meta)
        .bind(8, submitted)
        .bind(9, base)
        .bind(10, request.since_id)
        .bind(11, std::max(until_id, request.since_id))
        .bind(12, settings_.dispatch)
        .run();
    append_event_text(tx, "orchestrator.job.created", created, corr_id);
  });
  {
    std::lock_guard lock(mutex_);
    ++generation_;
  }
  claim_cv_.notify_one();
  Json reply = {{"id", id},
                {"job_id", id},
                {"goal", request.goal},
                {"status", "queued"},
                {"data", {{"training", request.meta}, {"submitted", request.submitted}}}};
  if (!request.ignored.empty()) reply["ignored"] = request.ignored;
  return reply;
}

std::optional<Json> TrainingService::job(const std::string& id) {
  return reader_.with([&](sqlite3* db) -> std::optional<Json> {
    Sql select(db, std::string("SELECT ") + kJobColumns + " FROM training_jobs WHERE id = ?");
    select.bind(1, id);
    if (!select.step()) return std::nullopt;
    return job_item(select);
  });
}

std::string job_list_sql(bool by_status) {
  return std::string("SELECT ") + kJobColumns + " FROM training_jobs" +
         (by_status ? " WHERE status = ?" : "") + " ORDER BY updated_ms DESC, id LIMIT ? OFFSET ?";
}

Json TrainingService::list_jobs(int64_t limit, int64_t offset,
                                const std::optional<std::string>& status_slug) {
  return reader_.with([&](sqlite3* db) {
    const std::string where = status_slug ? " WHERE status = ?" : "";
    Sql count(db, "SELECT COUNT(*) FROM training_jobs" + where);
    if (status_slug) count.bind(1, *status_slug);
    count.step();
    const int64_t total = count.integer(0);
    Sql select(db, job_list_sql(status_slug.has_value()));
    int index = 1;
    if (status_slug) select.bind(index++, *status_slug);
    select.bind(index, limit);
    select.bind(index + 1, offset);
    Json items = Json::array();
    while (select.step()) items.push_back(job_item(select));
    return Json{
        {"items", std::move(items)}, {"total", total}, {"limit", limit}, {"offset", offset}};
  });
}

CancelOutcome TrainingService::cancel_job(const std::string& id,
                                          const std::optional<std::string>& reason,
                                          const std::string& corr_id) {
  CancelOutcome outcome;
  bool was_running = false;
  journal_.transact([&](WriteTx& tx) {
    auto status = job_status_in_tx(tx.db(), id);
    if (!status) {
      outcome.result = CancelResult::NotFound;
      return;
    }
    if (*status != "queued" && *status != "running") {
      outcome.result = CancelResult::Terminal;
      outcome.state = *status;
      return;
    }
    was_running = *status == "running";
    const int64_t now = now_ms();
    Sql(tx.db(),
        "UPDATE training_jobs SET status = 'cancelled', cancel_reason = ?, updated_ms = ?,"
        " finished_ms = ? WHERE id = ?")
        .bind(1, reason)
        .bind(2, now)
        .bind(3, now)
        .bind(4, id)
        .run();
    append_event(tx, "orchestrator.job.cancelled",
                 {{"id", id}, {"reason", reason ? Json(*reason) : Json(nullptr)}}, corr_id);
    outcome.result = CancelResult::Cancelled;
  });
  if (outcome.result == CancelResult::Cancelled && was_running) {
    {
      std::lock_guard lock(mutex_);
      handed_.remove_if([&](const Claimed& handed) { return handed.id == id; });
    }
    if (auto orchestrator = plugins_.orchestrator(settings_.orchestrator_id))
      orchestrator->cancel_job(id);
    finish_active(id);
  }
  return outcome;
}

bool TrainingService::runner_may_claim_for(const std::string& id, bool* paced) {
  std::lock_guard lock(mutex_);
  if (stopping_ || active_.count(id) == 0) return false;
  const Slot slot = start_slot();
  *paced = slot.paced;
  if (!slot.retry_at) return true;
  ++generation_;  // not yet: the runner looks again once free, and is paced
  return false;
}

void TrainingService::finish_active(const std::string& id) {
  // Only the job's own runner wakes: waking all of them on every finished
  // job cost a context switch per runner per job.
  std::lock_guard lock(mutex_);
  if (auto it = active_.find(id); it != active_.end()) {
    it->second.done = true;
    it->second.done_cv.notify_all();
  }
}

bool TrainingService::fail(const std::string& id, const std::string& error) {
  bool failed = false;
  journal_.transact([&](WriteTx& tx) {
    if (job_status_in_tx(tx.db(), id) != std::optional<std::string>("running")) return;
    const int64_t now = now_ms();
    Sql(tx.db(),
        "UPDATE training_jobs SET status = 'failed', error = ?, updated_ms = ?, finished_ms = ?"
        " WHERE id = ?")
        .bind(1, error)
        .bind(2, now)
        .bind(3, now)
        .bind(4, id)
        .run();
    append_event(tx, "orchestrator.job.failed", {{"id", id}, {"ok", false}, {"error", error}});
    failed = true;
  });
  finish_active(id);
  return failed;
}

TrainingService::Slot TrainingService::start_slot() {
  const auto retry_at = pacer_.start_at(std::chrono::steady_clock::now(), journal_.head_id());
  return {retry_at, pacer_.busy()};
}

TrainingService::Pacing TrainingService::pacing() {
  std::lock_guard lock(mutex_);
  // Measured here too, so that a scrape sees the load without a job start.
  pacer_.observe(std::chrono::steady_clock::now(), journal_.head_id());
  return {pacer_.busy(), paced_starts_};
}

std::optional<TrainingService::Claimed> TrainingService::claim() {
  std::optional<Claimed> claimed;
  journal_.transact([&](WriteTx& tx) { claimed = claim_in(tx); });
  return claimed;
}

std::optional<TrainingService::Claimed> TrainingService::claim_in(WriteTx& tx) {
  Sql select(tx.db(), std::string("SELECT ") + kJobColumns +
                          " FROM training_jobs WHERE status = 'queued'"
                          " ORDER BY created_ms, rowid LIMIT 2");
  if (!select.step()) return std::nullopt;
  Claimed job;
  job.id = select.text(0);
  job.goal = select.text(1);
  job.created_ms = select.integer(4);
  job.meta = select.text(10);
  job.base = select.text(12);
  const int64_t attempts = std::max<int64_t>(1, select.integer(15));
  job.start.job_id = job.id;
  job.start.since_id = select.integer(13);
  job.start.until_id = select.integer(14);
  job.start.attempt = static_cast<uint32_t>(attempts);
  job.more_queued = select.step();
  const int64_t now = now_ms();
  Sql(tx.db(),
      "UPDATE training_jobs SET status = 'running', attempts = ?, started_ms = ?, updated_ms = ?"
      " WHERE id = ?")
      .bind(1, attempts)
      .bind(2, now)
      .bind(3, now)
      .bind(4, job.id)
      .run();
  return job;
}

void TrainingService::runner_loop() {
  uint64_t seen = 0;
  while (true) {
    std::optional<Claimed> job;
    bool paced = false;  // claimed on a paced slot (a handed job was counted when claimed)
    {
      std::unique_lock lock(mutex_);
      claim_cv_.wait(lock, [&] { return stopping_ || !handed_.empty() || generation_ != seen; });
      if (stopping_) return;
      if (!handed_.empty()) {
        job = std::move(handed_.front());
        handed_.pop_front();
      } else if (const Slot slot = start_slot(); slot.retry_at) {
        // Ingest is busy and a job started less than a slot ago: ask again
        // then (`seen` stays behind, so the claim is not forgotten).
        claim_cv_.wait_until(lock, *slot.retry_at, [&] { return stopping_; });
        continue;
      } else {
        seen = generation_;
        paced = slot.paced;
      }
    }
    if (!job) {
      try {
        job = claim();
      } catch (const std::exception& e) {
        spdlog::warn("training: cannot claim a job: {}", e.what());
      }
    }
    if (!job) continue;
    if (paced) {
      std::lock_guard lock(mutex_);
      ++paced_starts_;
    }
    if (job->more_queued) {
      // Another queued job waits: let the next runner (or this one) take it.
      // (A job created meanwhile wakes a runner itself.) Without one, no
      // runner looks: a claim that finds nothing is a transaction per job.
      {
        std::lock_guard lock(mutex_);
        ++generation_;
      }
      claim_cv_.notify_one();
    }
    run(*job);
  }
}

void TrainingService::run(Claimed& job) {
  with_request(job);
  {
    std::lock_guard lock(mutex_);
    Active& active = active_[job.id];
    active.last_progress = std::chrono::steady_clock::now();
    active.done = false;
  }
  auto orchestrator = plugins_.orchestrator(settings_.orchestrator_id);
  std::optional<std::string> refused =
      orchestrator ? orchestrator->start_job(job.start)
                   : std::optional<std::string>("no orchestrator: " + settings_.orchestrator_id +
                                                " is not running");
  try {
    if (refused) fail(job.id, *refused);
  } catch (const std::exception& e) {
    spdlog::warn("training: job {} not failed: {}", job.id, e.what());
  }
  const auto timeout = std::chrono::seconds(settings_.job_timeout_secs);
  bool timed_out = false;
  {
    std::unique_lock lock(mutex_);
    while (!stopping_) {
      auto it = active_.find(job.id);
      if (it == active_.end() || it->second.done) break;
      const auto deadline = it->second.last_progress + timeout;
      if (std::chrono::steady_clock::now() >= deadline) {
        timed_out = true;
        break;
      }
      it->second.done_cv.wait_until(lock, deadline);
    }
    active_.erase(job.id);
  }
  if (!timed_out) return;
  try {
    fail(job.id, "no progress for " + std::to_string(settings_.job_timeout_secs) +
                     " s (ARW_TRAINING_JOB_TIMEOUT_SECS)");
  } catch (const std::exception& e) {
    spdlog::warn("training: job {} not failed: {}", job.id, e.what());
  }
  if (orchestrator) orchestrator->cancel_job(job.id);
}

tp_status TrainingService::report(const std::string& plugin_id, std::string_view job_id_view,
                                  uint32_t kind, std::string_view json) {
  if (plugin_id != settings_.orchestrator_id) return TP_NOT_FOUND;
  const std::string id(job_id_view);
  const Json body = Json::parse(json, nullptr, false);
  if (body.is_discarded() || !body.is_object()) return TP_INVALID_ARG;
  tp_status status = TP_NOT_FOUND;
  try {
    // Distributed runs (control.md 5.6) say which delivery they are: the
    // job's attempts is the highest seen, recorded even once it is terminal,
    // in the same transaction as the report (one commit per message).
    const Json attempt = body.value("attempt", Json(nullptr));
    auto record_attempt = [&](WriteTx& tx) {
      if (!attempt.is_number_integer()) return;
      Sql(tx.db(), "UPDATE training_jobs SET attempts = MAX(attempts, ?) WHERE id = ?")
          .bind(1, attempt.get<int64_t>())
          .bind(2, id)
          .run();
    };
    if (kind == TP_JOB_PROGRESS) {
      const Json stage = body.value("stage_index", Json(nullptr));
      if (!stage.is_number_integer() || stage.get<int64_t>() < 1 || stage.get<int64_t>() > 5)
        return TP_INVALID_ARG;
      const int64_t index = stage.get<int64_t>();
      journal_.transact([&](WriteTx& tx) {
        record_attempt(tx);
        Sql current(tx.db(), "SELECT status, stage_index FROM training_jobs WHERE id = ?");
        current.bind(1, id);
        if (!current.step() || current.text(0) != "running") return;
        status = TP_OK;
        // Applied only when the stage moves forward: a redelivered job's
        // second run, or a message out of order, does not move it back.
        if (const auto reached = current.optional_integer(1); reached && *reached >= index) return;
        Sql(tx.db(), "UPDATE training_jobs SET stage_index = ?, updated_ms = ? WHERE id = ?")
            .bind(1, index)
            .bind(2, now_ms())
            .bind(3, id)
            .run();
        append_event(tx, "orchestrator.job.progress",
                     {{"id", id},
                      {"status", "running"},
                      {"progress", static_cast<double>(index - 1) / 5.0},
                      {"stage", kStages[index - 1]},
                      {"stage_index", index}});
      });
      // Any progress of a running job is a sign of life for its timeout. No
      // wake-up: the job's runner sees the later deadline when the earlier
      // one passes (waking every runner on every progress message cost more
      // than the progress itself).
      if (status == TP_OK) {
        std::lock_guard lock(mutex_);
        if (auto it = active_.find(id); it != active_.end())
          it->second.last_progress = std::chrono::steady_clock::now();
      }
      return status;
    }
    if (kind == TP_JOB_FAILED) {
      const Json error = body.value("error", Json(nullptr));
      if (!error.is_string() || error.get_ref<const std::string&>().empty()) return TP_INVALID_ARG;
      if (attempt.is_number_integer()) journal_.transact(record_attempt);
      return fail(id, error.get<std::string>()) ? TP_OK : TP_NOT_FOUND;
    }
    if (kind != TP_JOB_RESULT) return TP_INVALID_ARG;
    const Json manifest = body.value("manifest", Json(nullptr));
    const Json result = body.value("result", Json::object());
    const std::string unit_id = "lu-" + id;
    std::optional<Claimed> next;
    bool next_paced = false;
    if (!manifest.is_object() || manifest.value("id", "") != unit_id || !result.is_object())
      return TP_INVALID_ARG;
    // Everything but the statements is built here, on the reporting thread:
    // the journal's writer, which HTTP ingest waits on, only binds and steps.
    // A job's meta never changes once it is created, so a reader reads it.
    const std::optional<std::string> meta_text =
        reader_.with([&](sqlite3* db) -> std::optional<std::string> {
          Sql select(db, "SELECT meta FROM training_jobs WHERE id = ?");
          select.bind(1, id);
          if (!select.step()) return std::nullopt;
          return select.text(0);
        });
    if (!meta_text) return TP_NOT_FOUND;
    const Json meta = parse_or_null(*meta_text);
    const std::string manifest_text = manifest.dump();
    Json job_result = {{"logic_unit_id", unit_id},
                       {"logic_unit", manifest},
                       {"hints", meta},
                       {"candidate_id", result.value("candidate_id", Json(nullptr))},
                       {"baseline", result.value("baseline", Json(nullptr))},
                       {"predicted", result.value("predicted", Json(nullptr))},
                       {"evidence_window", result.value("evidence_window", Json(nullptr))}};
    if (const Json worker = body.value("worker", Json(nullptr));
        worker.is_string() && !worker.get_ref<const std::string&>().empty())
      job_result["worker"] = worker;
    const std::string job_result_text = job_result.dump();
    const std::string history_text =
        Json{{"id", unit_id}, {"job_id", id}, {"via", "training"}}.dump();
    const std::string suggested_text = Json{{"id", unit_id},
                                            {"job_id", id},
                                            {"hints", meta},
                                            {"changes", result.value("changes", Json::object())}}
                                           .dump();
    const std::string completed_text = Json{
        {"id", id},
        {"ok", true},
        {"result",
         {{"logic_unit_id", unit_id},
          {"candidate_id", job_result["candidate_id"]},
          {"baseline", job_result["baseline"]},
          {"predicted",
           job_result["predicted"]}}}}.dump();
    const std::optional<CacheEntry> cache = cache_entry_of(body.value("cache", Json(nullptr)));
    const std::optional<int64_t> attempt_seen =
        attempt.is_number_integer() ? std::optional<int64_t>(attempt.get<int64_t>()) : std::nullopt;
    journal_.transact([&](WriteTx& tx) {
      // The re-check: a cancel (or timeout) that committed first wins.
      if (job_status_in_tx(tx.db(), id) != std::optional<std::string>("running"))
        return record_attempt(tx);
      Sql existing(tx.db(), "SELECT 1 FROM logic_units WHERE id = ? OR job_id = ?");
      existing.bind(1, unit_id).bind(2, id);
      if (existing.step()) return record_attempt(tx);
      const int64_t now = now_ms();
      Sql(tx.db(),
          "INSERT INTO logic_units(id, manifest, status, created_ms, updated_ms, job_id)"
          " VALUES(?,?,'suggested',?,?,?)")
          .bind(1, unit_id)
          .bind(2, manifest_text)
          .bind(3, now)
          .bind(4, now)
          .bind(5, id)
          .run();
      append_training_history_text(tx.db(), "logic.unit.suggested", history_text,
                                   settings_.history_max);
      if (cache) store_cache_entry(tx.db(), id, *cache);
      // The delivery's attempt goes in with the completion (one row write).
      Sql(tx.db(),
          "UPDATE training_jobs SET status = 'completed', stage_index = 5, logic_unit_id = ?,"
          " result = ?, updated_ms = ?, finished_ms = ?,"
          " attempts = MAX(attempts, COALESCE(?, attempts)) WHERE id = ?")
          .bind(1, unit_id)
          .bind(2, job_result_text)
          .bind(3, now)
          .bind(4, now)
          .bind(5, attempt_seen)
          .bind(6, id)
          .run();
      append_event_text(tx, "logic.unit.suggested", suggested_text);
      append_event_text(tx, "orchestrator.job.completed", completed_text);
      status = TP_OK;
      // The job's runner is free from here: it takes the oldest queued job
      // in this transaction, one commit instead of a claim of its own, when
      // the pacer lets a job start now. A claim that fails leaves the result
      // alone (the runner claims later).
      if (runner_may_claim_for(id, &next_paced)) {
        try {
          next = claim_in(tx);
        } catch (const std::exception& e) {
          spdlog::warn("training: cannot claim a job: {}", e.what());
          next.reset();
        }
      }
    });
    if (status == TP_OK) {
      if (next) {
        std::lock_guard lock(mutex_);
        handed_.push_back(std::move(*next));
        if (next_paced) ++paced_starts_;
      }
      finish_active(id);
    }
    return status;
  } catch (const JournalUnavailable& e) {
    spdlog::warn("training: report for job {} not committed: {}", id, e.what());
    return TP_UNAVAILABLE;
  }
}

HistoryPage TrainingService::history(const HistoryQuery& query) {
  return reader_.with([&](sqlite3* db) {
    std::string where = " WHERE 1=1";
    if (query.since_seq) where += " AND seq > ?";
    if (query.since_time_ms) where += " AND time_ms > ?";
    if (!query.kinds.empty()) {
      where += " AND kind IN (";
      for (size_t i = 0; i < query.kinds.size(); ++i) where += i == 0 ? "?" : ",?";
      where += ")";
    }
    auto bind_filters = [&](Sql& sql) {
      int index = 1;
      if (query.since_seq) sql.bind(index++, *query.since_seq);
      if (query.since_time_ms) sql.bind(index++, *query.since_time_ms);
      for (const auto& kind : query.kinds) sql.bind(index++, kind);
      return index;
    };
    HistoryPage page;
    Sql count(db, "SELECT COUNT(*) FROM training_history" + where);
    bind_filters(count);
    count.step();
    page.total = count.integer(0);
    Sql latest(db, "SELECT MAX(seq) FROM training_history");
    latest.step();
    page.latest_seq = latest.optional_integer(0);
    Sql select(db, "SELECT seq, time_ms, kind, payload FROM training_history" + where +
                       " ORDER BY seq DESC LIMIT ? OFFSET ?");
    const int index = bind_filters(select);
    select.bind(index, query.limit);
    select.bind(index + 1, query.offset);
    while (select.step())
      page.items.push_back(Json{{"seq", select.integer(0)},
                                {"time", format_rfc3339_ms(select.integer(1))},
                                {"kind", select.text(2)},
                                {"payload", parse_or_null(select.text(3))}});
    return page;
  });
}

Json TrainingService::cache_entries() {
  return reader_.with([&](sqlite3* db) {
    Json entries = Json::array();
    Sql select(db, "SELECT key, job_id, computation FROM training_cache ORDER BY seq");
    while (select.step())
      entries.push_back({{"key", select.text(0)},
                         {"job_id", select.text(1)},
                         {"computation", parse_or_null(select.text(2))}});
    return Json{{"entries", std::move(entries)}};
  });
}

std::optional<Json> TrainingService::logic_unit(const std::string& id) {
  return reader_.with([&](sqlite3* db) -> std::optional<Json> {
    Sql select(db,
               "SELECT id, manifest, status, created_ms, updated_ms, job_id FROM logic_units"
               " WHERE id = ?");
    select.bind(1, id);
    if (!select.step()) return std::nullopt;
    return unit_item(select);
  });
}

Json TrainingService::list_logic_units(int64_t limit, const std::optional<std::string>& status) {
  return reader_.with([&](sqlite3* db) {
    const std::string where = status ? " WHERE status = ?" : "";
    Sql count(db, "SELECT COUNT(*) FROM logic_units" + where);
    if (status) count.bind(1, *status);
    count.step();
    const int64_t total = count.integer(0);
    Sql select(db, "SELECT id, manifest, status, created_ms, updated_ms, job_id FROM logic_units" +
                       where + " ORDER BY updated_ms DESC, id LIMIT ?");
    int index = 1;
    if (status) select.bind(index++, *status);
    select.bind(index, limit);
    Json items = Json::array();
    while (select.step()) items.push_back(unit_item(select));
    return Json{{"items", std::move(items)}, {"total", total}};
  });
}

Json TrainingService::catalog() {
  auto agent = [](const char* id, const char* name, const char* mode, const char* summary) {
    return Json{{"id", id},
                {"name", name},
                {"category", "agent_training"},
                {"kind", "agent.training"},
                {"mode", mode},
                {"summary", summary},
                {"start", "/orchestrator/mini_agents/start_training"}};
  };
  return Json{{"version", 1},
              {"schema", "tpark.mini_agents/1"},
              {"items",
               {agent("retrieval-tuner-quick", "Retrieval tuner (quick)", "quick",
                      "100 newest first passes; the first rule that fires and the union"),
                agent("retrieval-tuner", "Retrieval tuner", "balanced",
                      "500 newest first passes; every rule but cov+"),
                agent("retrieval-tuner-deep", "Retrieval tuner (deep)", "deep",
                      "2000 newest first passes; every rule"),
                agent("retrieval-tuner-verified", "Retrieval tuner (verified)", "verified",
                      "as balanced, but a change must beat the baseline by 0.02")}}};
}

}  // namespace tpark::training
