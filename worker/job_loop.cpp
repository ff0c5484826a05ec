#include "job_loop.h"

#include <nats/nats.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string_view>
#include <thread>

#include <spdlog/spdlog.h>

#include "util/json.h"
#include "worker_host_api.h"

namespace tpark::worker {
namespace {

constexpr const char* kJobsStream = "ARW_TRAINING_JOBS";
constexpr const char* kCancelSubjects = "arw.training.jobs.cancel.>";
constexpr const char* kCancelPrefix = "arw.training.jobs.cancel.";
constexpr const char* kStages[] = {"collect", "analyse", "generate", "evaluate", "suggest"};
constexpr int64_t kFetchExpiryMs = 5000;

int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

std::string rfc3339_now() {
  using namespace std::chrono;
  const auto now = system_clock::now();
  const std::time_t seconds = system_clock::to_time_t(now);
  const auto ms = duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char text[64];
  std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%03lldZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<long long>(ms));
  return text;
}

// What the plugin reported at the end of the job in hand.
struct Outcome {
  bool done = false;
  bool ok = false;
  Json manifest;
  Json result;
  std::string error;
};

class Worker {
 public:
  Worker(const WorkerOptions& options, const tp_orchestrator_desc& orchestrator,
         const std::atomic<bool>& stop)
      : options_(options),
        orchestrator_(orchestrator),
        stop_(stop),
        host_([this](std::string_view job_id, uint32_t kind, std::string_view json) {
          return on_report(job_id, kind, json);
        }) {
    if (options_.host)
      journal_ = std::make_unique<HostJournal>(*options_.host, options_.admin_token);
  }

  ~Worker() {
    if (cancel_sub_ != nullptr) natsSubscription_Destroy(cancel_sub_);
    if (jobs_sub_ != nullptr) natsSubscription_Destroy(jobs_sub_);
    if (js_ != nullptr) jsCtx_Destroy(js_);
    if (connection_ != nullptr) natsConnection_Destroy(connection_);
  }

  int run() {
    if (!connect()) return 1;
    tp_error err{};
    err.struct_size = sizeof err;
    const tp_str config{"{}", 2};
    if (orchestrator_.create(host_.api(), host_.handle(), config, &ctx_, &err) != TP_OK ||
        orchestrator_.start(ctx_, &err) != TP_OK) {
      spdlog::error("tp.orchestrator.local did not start: {}", err.message);
      return 1;
    }
    spdlog::info("worker {} serving group {} on {}", options_.worker_id, options_.group,
                 options_.nats_url);
    while (!stop_) {
      natsMsgList list{};
      jsErrCode error = static_cast<jsErrCode>(0);
      const natsStatus status = natsSubscription_Fetch(&list, jobs_sub_, 1, kFetchExpiryMs, &error);
      if (status != NATS_OK) {
        natsMsgList_Destroy(&list);
        if (status != NATS_TIMEOUT) std::this_thread::sleep_for(std::chrono::milliseconds(250));
        continue;
      }
      for (int i = 0; i < list.Count; ++i) serve(list.Msgs[i]);
      natsMsgList_Destroy(&list);
    }
    orchestrator_.stop(ctx_, &err);
    orchestrator_.destroy(ctx_);
    spdlog::info("worker {} stopped", options_.worker_id);
    return 0;
  }

 private:
  bool connect() {
    natsOptions* options = nullptr;
    natsOptions_Create(&options);
    natsOptions_SetURL(options, options_.nats_url.c_str());
    const char* user = std::getenv("ARW_NATS_USER");
    if (user != nullptr && *user != '\0' && options_.nats_url.find('@') == std::string::npos) {
      const char* pass = std::getenv("ARW_NATS_PASS");
      natsOptions_SetUserInfo(options, user, pass != nullptr ? pass : "");
    }
    natsOptions_SetMaxReconnect(options, -1);
    natsOptions_SetReconnectWait(options, 250);
    natsStatus status = natsConnection_Connect(&connection_, options);
    natsOptions_Destroy(options);
    if (status != NATS_OK) {
      spdlog::error("cannot connect to NATS at {}: {}", options_.nats_url,
                    natsStatus_GetText(status));
      return false;
    }
    if (natsConnection_JetStream(&js_, connection_, nullptr) != NATS_OK) return false;
    // Workers never create streams or consumers: the host does, at boot.
    jsSubOptions sub_options;
    jsSubOptions_Init(&sub_options);
    sub_options.Stream = kJobsStream;
    sub_options.Consumer = options_.group.c_str();
    jsErrCode error = static_cast<jsErrCode>(0);
    for (int attempt = 0; !stop_; ++attempt) {
      status = js_PullSubscribe(&jobs_sub_, js_, nullptr, options_.group.c_str(), nullptr,
                                &sub_options, &error);
      if (status == NATS_OK) break;
      jobs_sub_ = nullptr;
      if (attempt % 20 == 0)
        spdlog::warn("waiting for the host to create consumer {} on {}: {}", options_.group,
                     kJobsStream, natsStatus_GetText(status));
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
    if (jobs_sub_ == nullptr) return false;
    status = natsConnection_Subscribe(&cancel_sub_, connection_, kCancelSubjects,
                                      &Worker::on_cancel, this);
    return status == NATS_OK;
  }

  static void on_cancel(natsConnection*, natsSubscription*, natsMsg* msg, void* closure) {
    auto* self = static_cast<Worker*>(closure);
    const std::string_view subject = natsMsg_GetSubject(msg);
    const std::string job_id(subject.substr(std::string_view(kCancelPrefix).size()));
    natsMsg_Destroy(msg);
    bool running = false;
    {
      std::lock_guard lock(self->mutex_);
      self->cancelled_.insert(job_id);
      running = job_id == self->job_id_;
      if (running) self->cv_.notify_all();
    }
    if (running) self->orchestrator_.cancel_job(self->ctx_, tp_str{job_id.data(), job_id.size()});
  }

  bool publish(const std::string& subject, const Json& body, const std::string& msg_id) {
    const std::string text = body.dump();
    jsPubOptions options;
    jsPubOptions_Init(&options);
    options.MsgId = msg_id.c_str();
    jsPubAck* ack = nullptr;
    jsErrCode error = static_cast<jsErrCode>(0);
    const natsStatus status = js_Publish(&ack, js_, subject.c_str(), text.data(),
                                         static_cast<int>(text.size()), &options, &error);
    if (ack != nullptr) jsPubAck_Destroy(ack);
    return status == NATS_OK;
  }

  // The plugin's job_report: progress is published at once (and renews the
  // lease); the end is handed to serve().
  tp_status on_report(std::string_view job_id, uint32_t kind, std::string_view json) {
    const Json body = Json::parse(json, nullptr, false);
    if (body.is_discarded() || !body.is_object()) return TP_INVALID_ARG;
    std::unique_lock lock(mutex_);
    if (job_id != job_id_ || outcome_.done || cancelled_.count(job_id_)) return TP_NOT_FOUND;
    if (kind == TP_JOB_PROGRESS) {
      const int64_t stage = body.value("stage_index", int64_t{0});
      if (stage < 1 || stage > 5) return TP_INVALID_ARG;
      // Coalesced: the host applies progress only forward, and the result
      // says the job is done, so a quick job's stages need no message each.
      // Not on a redelivery: its result may fall in the server's duplicate
      // window (Nats-Msg-Id result-<job>), and its progress is then how the
      // host learns the attempt.
      const int64_t now = now_ms();
      if (attempt_ == 1 && now - last_progress_ms_ < options_.progress_min_ms) return TP_OK;
      last_progress_ms_ = now;
      const std::string id = job_id_;
      natsMsg* msg = msg_;
      const uint64_t attempt = attempt_;
      lock.unlock();
      const Json progress = {{"job_id", id},
                             {"stage", kStages[stage - 1]},
                             {"stage_index", stage},
                             {"progress", static_cast<double>(stage - 1) / 5.0},
                             {"worker", options_.worker_id},
                             {"attempt", attempt},
                             {"time", rfc3339_now()}};
      publish("arw.training.jobs.progress." + id, progress,
              "progress-" + id + "-" + std::to_string(stage) + "-" + std::to_string(attempt));
      natsMsg_InProgress(msg, nullptr);
      return TP_OK;
    }
    if (kind == TP_JOB_RESULT) {
      outcome_.ok = true;
      outcome_.manifest = body.value("manifest", Json(nullptr));
      outcome_.result = body.value("result", Json::object());
    } else if (kind == TP_JOB_FAILED) {
      outcome_.ok = false;
      outcome_.error = body.value("error", std::string("failed"));
    } else {
      return TP_INVALID_ARG;
    }
    outcome_.done = true;
    cv_.notify_all();
    return TP_OK;
  }

  void nak_later(natsMsg* msg, uint64_t delivered) {
    const int64_t delay =
        std::min<int64_t>(60000, options_.nack_delay_ms * static_cast<int64_t>(delivered));
    natsMsg_NakWithDelay(msg, delay, nullptr);
  }

  // Steps 2-6 of the worker loop for one message.
  void serve(natsMsg* msg) {
    jsMsgMetaData* meta = nullptr;
    uint64_t delivered = 1;
    if (natsMsg_GetMetaData(&meta, msg) == NATS_OK) {
      delivered = meta->NumDelivered;
      jsMsgMetaData_Destroy(meta);
    }
    const int64_t started_ms = now_ms();
    const Json body = Json::parse(
        std::string_view(natsMsg_GetData(msg), natsMsg_GetDataLength(msg)), nullptr, false);
    // The window comes as rows (`samples`), or as its bounds only, when the
    // host leaves the worker to read its journal (`window` without samples).
    const bool valid =
        !body.is_discarded() && body.is_object() && body.contains("id") && body["id"].is_string() &&
        body.contains("payload") && body["payload"].is_object() &&
        body["payload"].contains("job") && body["payload"]["job"].is_object() &&
        (body["payload"].contains("samples")
             ? body["payload"]["samples"].is_array()
             : body["payload"].contains("window") && body["payload"]["window"].is_object());
    if (!valid) {
      // Step 2: nothing to compute; say so if the job can be named.
      if (!body.is_discarded() && body.is_object() && body.contains("id") &&
          body["id"].is_string()) {
        const std::string id = body["id"].get<std::string>();
        publish("arw.training.jobs.result." + id,
                {{"job_id", id},
                 {"ok", false},
                 {"error", "invalid job message"},
                 {"retryable", false},
                 {"worker", options_.worker_id},
                 {"attempt", delivered},
                 {"latency_ms", now_ms() - started_ms}},
                "result-" + id);
      }
      natsMsg_Term(msg, nullptr);
      return;
    }
    const std::string id = body["id"].get<std::string>();
    {
      std::lock_guard lock(mutex_);
      if (cancelled_.count(id)) {  // step 3
        spdlog::info("job {} was cancelled before it started; its message terminated", id);
        natsMsg_Term(msg, nullptr);
        return;
      }
    }
    const Json& payload = body["payload"];
    const bool reads_host = !payload.contains("samples");
    if (reads_host && !journal_) {
      spdlog::error(
          "job {} carries no window rows and this worker has no --base to read the host's "
          "journal from; nak",
          id);
      nak_later(msg, delivered);
      return;
    }
    if (reads_host) {
      const Json& bounds = payload["window"];
      host_.set_remote_journal(journal_.get(), bounds.value("until_id", int64_t{0}));
    } else {
      std::vector<JournalRow> rows;
      for (const auto& row : payload["samples"])
        rows.push_back({row.value("id", int64_t{0}), row.value("kind", std::string()), row.dump()});
      host_.set_window(std::move(rows));
    }
    const std::string request = payload["job"].dump();
    const Json window = payload.value("window", Json::object());
    {
      std::lock_guard lock(mutex_);
      job_id_ = id;
      msg_ = msg;
      attempt_ = delivered;
      last_progress_ms_ = started_ms;
      outcome_ = Outcome{};
    }
    tp_job_view view{};
    view.struct_size = sizeof view;
    view.attempt = static_cast<uint32_t>(delivered);
    view.job_id = tp_str{id.data(), id.size()};
    view.request_json = tp_str{request.data(), request.size()};
    view.since_id = window.value("since_id", int64_t{0});
    view.until_id = window.value("until_id", int64_t{0});
    tp_error err{};
    err.struct_size = sizeof err;
    if (orchestrator_.start_job(ctx_, &view, &err) != TP_OK) {
      std::lock_guard lock(mutex_);
      outcome_.done = true;
      outcome_.error = err.message[0] != '\0' ? err.message : "start_job failed";
    }
    // Step 4 runs on the plugin's thread; wait for its end (or a cancel).
    Outcome outcome;
    bool cancelled = false;
    {
      std::unique_lock lock(mutex_);
      cv_.wait(lock, [&] { return outcome_.done || cancelled_.count(id) > 0; });
      outcome = outcome_;
      cancelled = !outcome_.done;
      job_id_.clear();
      msg_ = nullptr;
    }
    if (cancelled) {
      spdlog::info("job {} cancelled by the host; its message terminated, no result", id);
      natsMsg_Term(msg, nullptr);
      return;
    }
    if (!outcome.ok && host_.remote_read_failed()) {
      // The host's journal could not be read: transient, not the job's fault.
      spdlog::warn("job {} could not read the host's journal; nak", id);
      nak_later(msg, delivered);
      return;
    }
    // Step 5: the result, awaited until its PubAck.
    Json result = {{"job_id", id},
                   {"ok", outcome.ok},
                   {"worker", options_.worker_id},
                   {"attempt", delivered},
                   {"latency_ms", now_ms() - started_ms}};
    if (outcome.ok) {
      result["manifest"] = outcome.manifest;
      result["result"] = outcome.result;
    } else {
      result["error"] = outcome.error;
      result["retryable"] = false;
    }
    if (!publish("arw.training.jobs.result." + id, result, "result-" + id)) {
      spdlog::warn("result of job {} not acknowledged; nak", id);
      nak_later(msg, delivered);
      return;
    }
    if (options_.exit_after_result_publish) {
      spdlog::warn("--exit-after-result-publish: exiting before the ack of job {}", id);
      std::_Exit(3);
    }
    // Step 6: ack only after the PubAck.
    jsErrCode error = static_cast<jsErrCode>(0);
    if (natsMsg_AckSync(msg, nullptr, &error) != NATS_OK)
      spdlog::warn("ack of job {} failed; it may run again (one unit all the same)", id);
  }

  const WorkerOptions& options_;
  const tp_orchestrator_desc& orchestrator_;
  const std::atomic<bool>& stop_;
  WorkerHost host_;
  std::unique_ptr<HostJournal> journal_;  // null without --base
  void* ctx_ = nullptr;
  natsConnection* connection_ = nullptr;
  jsCtx* js_ = nullptr;
  natsSubscription* jobs_sub_ = nullptr;
  natsSubscription* cancel_sub_ = nullptr;

  std::mutex mutex_;
  std::condition_variable cv_;
  std::set<std::string> cancelled_;
  std::string job_id_;  // the job in hand; empty between jobs
  natsMsg* msg_ = nullptr;
  uint64_t attempt_ = 1;
  int64_t last_progress_ms_ = 0;  // when the job started or last published progress
  Outcome outcome_;
};

}  // namespace

int run_worker(const WorkerOptions& options, const tp_orchestrator_desc& orchestrator,
               const std::atomic<bool>& stop) {
  Worker worker(options, orchestrator, stop);
  return worker.run();
}

}  // namespace tpark::worker
