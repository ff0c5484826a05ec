// tp.orchestrator.nats: the host's side of distributed training
// (docs/deploy.md "Training workers"). start_job queues a submit message
// that carries the job's journal window (read here), or, with
// ARW_TRAINING_NATS_WINDOW=fetch, only its bounds (the worker reads the rows
// it needs from the host's GET /state/events); the outbox thread publishes it to the
// JetStream work queue until the server acknowledges it. The results thread
// reads the workers' progress and results from their stream and reports them
// to the host (which commits a result at most once per job, control.md
// "idempotency"), acking each after the report. A max-deliveries advisory
// fails the job; a cancel is published on the job's cancel subject.
#include <nats/nats.h>

#include <unistd.h>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <climits>
#include <condition_variable>
#include <cstddef>
#include <cstdlib>
#include <deque>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <tpark/tp_plugin.hpp>

namespace {

using json = nlohmann::json;

constexpr const char* kJobsStream = "ARW_TRAINING_JOBS";
constexpr const char* kEventsStream = "ARW_TRAINING_EVENTS";
constexpr const char* kSubmitSubject = "arw.training.jobs.submit";
constexpr const char* kProgressSubjects = "arw.training.jobs.progress.*";
constexpr const char* kResultSubjects = "arw.training.jobs.result.*";
constexpr const char* kCancelPrefix = "arw.training.jobs.cancel.";
constexpr int64_t kNsPerMs = 1000000;
constexpr int64_t kDayNs = 24LL * 3600 * 1000 * kNsPerMs;
constexpr int64_t kDuplicateWindowNs = 120LL * 1000 * kNsPerMs;
constexpr auto kOutboxRetry = std::chrono::seconds(5);
constexpr int kResultBatch = 256;  // progress and results per pull
constexpr auto kResultLinger = std::chrono::milliseconds(10);
// The window is read newest first, as tp.orchestrator.local reads it, in id
// chunks doubling from 4,096 to 65,536 (the message size, not a sample cap,
// ends the reading), pages of at most 1,000 rows.
constexpr int64_t kFirstChunkIds = 4096;
constexpr int64_t kMaxChunkIds = 65536;
constexpr uint64_t kReadPage = 1000;
constexpr int64_t kEnvelopeReserveBytes = 512;  // the submit's own members
constexpr const char* kSamplesPlaceholder = "\x01samples\x01";
// The journal kinds tp.orchestrator.local reads (its collect stage): the
// window ships these rows so the worker computes from the same journal.
constexpr const char* kWindowKinds[] = {"working_set.iteration.summary", "context.coverage"};

std::string env_or(const char* name, std::string fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? std::string(value) : fallback;
}

int64_t env_int(const char* name, int64_t fallback, int64_t low, int64_t high) {
  const std::string text = env_or(name, "");
  if (text.empty()) return fallback;
  char* end = nullptr;
  const long long value = std::strtoll(text.c_str(), &end, 10);
  if (end == text.c_str() || *end != '\0' || value < low || value > high) return fallback;
  return value;
}

std::string sanitise_node_id(std::string_view name) {
  std::string id;
  for (char c : name.substr(0, 64)) {
    const bool allowed = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                         (c >= '0' && c <= '9') || c == '_' || c == '-';
    id += allowed ? c : '-';
  }
  return id.empty() ? std::string("node") : id;
}

std::string node_id() {
  const std::string id = env_or("ARW_NODE_ID", "");
  if (!id.empty()) return sanitise_node_id(id);
  char host[HOST_NAME_MAX + 1] = {};
  if (gethostname(host, sizeof host - 1) != 0) return "node";
  return sanitise_node_id(host);
}

std::string nats_url() {
  std::string url = env_or("ARW_NATS_URL", "nats://127.0.0.1:4222");
  if (env_or("ARW_NATS_TLS", "0") == "1" && url.rfind("nats://", 0) == 0)
    url = "tls://" + url.substr(7);
  return url;
}

struct Submit {
  std::string job_id;
  std::string request_json;
  int64_t since_id = 0;
  int64_t until_id = 0;
  uint32_t attempt = 1;
};

class NatsOrchestrator : public tpark::Orchestrator {
 public:
  NatsOrchestrator(tpark::HostRef host, std::string_view /*config_json*/)
      : tpark::Orchestrator(host),
        url_(nats_url()),
        group_(env_or("ARW_GROUP", "workers")),
        node_(node_id()),
        lease_ms_(env_int("ARW_ORCH_LEASE_MS", 30000, 100, 3600000)),
        max_deliver_(env_int("ARW_ORCH_MAX_DELIVER", 5, 1, 1000)),
        max_inflight_(env_int("ARW_ORCH_MAX_INFLIGHT", 16, 1, 100000)),
        max_bytes_(env_int("ARW_TRAINING_NATS_MAX_BYTES", 900000, 1024, 1048576)),
        ship_window_(ships_window()) {
    const tp_str labels[] = {{"reason", 6}};
    tp_metric_desc desc{};
    desc.struct_size = sizeof desc;
    desc.type = TP_METRIC_COUNTER;
    desc.name = {"arw_training_results_dropped_total", 34};
    desc.help = {"Worker results discarded by the host, by reason", 47};
    desc.label_names = labels;
    desc.label_count = 1;
    if (host.api()->metric_register(host.host(), &desc, &dropped_metric_) != TP_OK)
      dropped_metric_ = 0;
  }

  ~NatsOrchestrator() override { close(); }

  void start() override {
    connect();
    jsCtx* js = nullptr;
    check(natsConnection_JetStream(&js, connection_, nullptr), "JetStream");
    js_ = js;
    create_streams_and_consumers();
    const std::string advisory =
        std::string("$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.") + kJobsStream + "." + group_;
    check(natsConnection_Subscribe(&advisory_sub_, connection_, advisory.c_str(),
                                   &NatsOrchestrator::on_advisory, this),
          "advisory subscription");
    outbox_thread_ = std::thread([this] { run_outbox(); });
    results_thread_ = std::thread([this] { run_results(); });
    host().info("training jobs dispatched over NATS " + url_ + " to worker group " + group_);
  }

  void stop() override {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    cv_.notify_all();
    if (outbox_thread_.joinable()) outbox_thread_.join();
    if (results_thread_.joinable()) results_thread_.join();
    close();
  }

  void start_job(const tpark::JobView& job) override {
    Submit submit{job.job_id, job.request_json, job.since_id, job.until_id, job.attempt};
    {
      std::lock_guard lock(mutex_);
      dispatched_.insert(job.job_id);
      outbox_.push_back(std::move(submit));
    }
    cv_.notify_all();
  }

  void cancel_job(std::string_view job_id) override {
    {
      std::lock_guard lock(mutex_);
      for (auto it = outbox_.begin(); it != outbox_.end(); ++it)
        if (it->job_id == job_id) {
          outbox_.erase(it);
          break;
        }
    }
    const std::string subject = kCancelPrefix + std::string(job_id);
    if (connection_ != nullptr) natsConnection_Publish(connection_, subject.c_str(), "{}", 2);
  }

 private:
  // ARW_TRAINING_NATS_WINDOW: `ship` (the default) puts the window's rows in
  // the submit; `fetch` leaves the workers to read them from the host. A
  // bad value falls back to `ship` with a warning, as the training settings.
  bool ships_window() {
    const std::string mode = env_or("ARW_TRAINING_NATS_WINDOW", "ship");
    if (mode == "fetch") return false;
    if (mode != "ship")
      host().warn("ARW_TRAINING_NATS_WINDOW must be ship or fetch, not " + mode + "; using ship");
    return true;
  }

  static void check(natsStatus status, const std::string& what) {
    if (status != NATS_OK)
      throw tpark::Error(TP_UNAVAILABLE, "NATS " + what + ": " + natsStatus_GetText(status) + " (" +
                                             env_or("ARW_NATS_URL", "nats://127.0.0.1:4222") + ")");
  }

  void connect() {
    check(natsOptions_Create(&options_), "options");
    natsOptions_SetURL(options_, url_.c_str());
    const std::string user = env_or("ARW_NATS_USER", "");
    if (!user.empty() && url_.find('@') == std::string::npos)
      natsOptions_SetUserInfo(options_, user.c_str(), env_or("ARW_NATS_PASS", "").c_str());
    natsOptions_SetMaxReconnect(options_, -1);
    natsOptions_SetReconnectWait(options_, 250);
    const int64_t retries = env_int("ARW_NATS_CONNECT_RETRIES", 3, 0, 1000);
    const int64_t backoff_ms = env_int("ARW_NATS_CONNECT_BACKOFF_MS", 500, 0, 600000);
    natsStatus status = NATS_OK;
    for (int64_t attempt = 0; attempt <= retries; ++attempt) {
      status = natsConnection_Connect(&connection_, options_);
      if (status == NATS_OK) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(backoff_ms));
    }
    check(status, "connect");
  }

  void close() {
    if (advisory_sub_ != nullptr) {
      natsSubscription_Unsubscribe(advisory_sub_);
      natsSubscription_Destroy(advisory_sub_);
      advisory_sub_ = nullptr;
    }
    if (js_ != nullptr) {
      jsCtx_Destroy(js_);
      js_ = nullptr;
    }
    if (connection_ != nullptr) {
      natsConnection_Destroy(connection_);
      connection_ = nullptr;
    }
    if (options_ != nullptr) {
      natsOptions_Destroy(options_);
      options_ = nullptr;
    }
  }

  // control.md "Distribution over NATS JetStream": the host creates the
  // streams and consumers; workers only bind to them.
  void create_streams_and_consumers() {
    jsErrCode error = static_cast<jsErrCode>(0);
    jsStreamConfig jobs;
    jsStreamConfig_Init(&jobs);
    jobs.Name = kJobsStream;
    const char* submit[] = {kSubmitSubject};
    jobs.Subjects = submit;
    jobs.SubjectsLen = 1;
    jobs.Retention = js_WorkQueuePolicy;
    jobs.Storage = js_FileStorage;
    jobs.MaxAge = kDayNs;
    jobs.Duplicates = kDuplicateWindowNs;
    jobs.MaxMsgSize = 1 << 20;
    natsStatus status = js_AddStream(nullptr, js_, &jobs, nullptr, &error);
    if (status != NATS_OK && error != JSStreamNameExistErr) check(status, "work stream");

    jsStreamConfig events;
    jsStreamConfig_Init(&events);
    events.Name = kEventsStream;
    const char* subjects[] = {kProgressSubjects, kResultSubjects};
    events.Subjects = subjects;
    events.SubjectsLen = 2;
    events.Retention = js_LimitsPolicy;
    events.Storage = js_FileStorage;
    events.MaxAge = kDayNs;
    events.Duplicates = kDuplicateWindowNs;
    status = js_AddStream(nullptr, js_, &events, nullptr, &error);
    if (status != NATS_OK && error != JSStreamNameExistErr) check(status, "result stream");

    jsConsumerConfig workers;
    jsConsumerConfig_Init(&workers);
    workers.Durable = group_.c_str();
    workers.AckPolicy = js_AckExplicit;
    workers.AckWait = lease_ms_ * kNsPerMs;
    workers.MaxDeliver = max_deliver_;
    workers.MaxAckPending = max_inflight_;
    add_or_update_consumer(kJobsStream, workers, "worker consumer");

    host_durable_ = "tpark-host-" + node_;
    jsConsumerConfig results;
    jsConsumerConfig_Init(&results);
    results.Durable = host_durable_.c_str();
    results.AckPolicy = js_AckExplicit;
    results.DeliverPolicy = js_DeliverAll;
    add_or_update_consumer(kEventsStream, results, "host consumer");
  }

  void add_or_update_consumer(const char* stream, jsConsumerConfig& config, const char* what) {
    jsErrCode error = static_cast<jsErrCode>(0);
    jsConsumerInfo* info = nullptr;
    natsStatus status = js_AddConsumer(&info, js_, stream, &config, nullptr, &error);
    if (status != NATS_OK) status = js_UpdateConsumer(&info, js_, stream, &config, nullptr, &error);
    if (info != nullptr) jsConsumerInfo_Destroy(info);
    check(status, what);
  }

  // The job's window rows (the kinds the computation reads) as a JSON array
  // text, oldest first, each a journal envelope as the host wrote it (not
  // parsed and written again): the newest rows that fit the message, so the
  // oldest are the ones left out (see `truncated` below). Read newest first
  // in id chunks (as tp.orchestrator.local reads), so a submit costs what it
  // ships, not the whole window: a journal of millions of rows made every
  // submit parse all of them, and 200 jobs queued behind it for minutes.
  std::string window_rows(const Submit& submit, uint64_t& truncated) {
    const int64_t budget_bytes =
        max_bytes_ - static_cast<int64_t>(submit.request_json.size()) - kEnvelopeReserveBytes;
    std::vector<std::string> newest_first;
    int64_t bytes = 0;
    bool full = false;
    int64_t hi = submit.until_id;
    int64_t span = kFirstChunkIds;
    while (hi > submit.since_id && !full) {
      const int64_t lo = std::max(submit.since_id, hi - span);
      std::vector<std::pair<int64_t, std::string>> chunk;  // (id, envelope)
      for (const char* kind : kWindowKinds) read_range(lo, hi, kind, chunk);
      std::sort(chunk.begin(), chunk.end(),
                [](const auto& a, const auto& b) { return a.first > b.first; });
      for (auto& [id, envelope] : chunk) {
        const int64_t row_bytes = static_cast<int64_t>(envelope.size()) + 1;
        if (full || bytes + row_bytes > budget_bytes) {
          full = true;
          ++truncated;
          continue;
        }
        bytes += row_bytes;
        newest_first.push_back(std::move(envelope));
      }
      hi = lo;
      span = std::min(span * 2, kMaxChunkIds);
    }
    // Rows older than the chunk that filled the message are left out too but
    // not read, so `truncated` counts the rows read and left out: a lower
    // bound, above 0 exactly when the window was cut (docs/deploy.md).
    std::string rows = "[";
    rows.reserve(static_cast<size_t>(bytes) + 2);
    for (auto it = newest_first.rbegin(); it != newest_first.rend(); ++it) {
      if (rows.size() > 1) rows += ',';
      rows += *it;
    }
    return rows + "]";
  }

  // Rows of `kind` with lo < id <= hi, appended as (id, envelope) ascending.
  void read_range(int64_t lo, int64_t hi, const char* kind,
                  std::vector<std::pair<int64_t, std::string>>& out) {
    int64_t after = lo;
    while (after < hi) {
      const uint64_t limit = std::min<uint64_t>(kReadPage, static_cast<uint64_t>(hi - after));
      const std::string page = tpark::journal_read(host(), after, kind, limit);
      uint64_t lines = 0;
      for (size_t start = 0; start < page.size();) {
        size_t end = page.find('\n', start);
        if (end == std::string::npos) end = page.size();
        std::string envelope = page.substr(start, end - start);
        start = end + 1;
        ++lines;
        const int64_t id = envelope_id(envelope);
        if (id > hi || id <= after) return;
        after = id;
        out.emplace_back(id, std::move(envelope));
      }
      if (lines < limit) return;
    }
  }

  // The "id" member of a journal envelope (its first member), without
  // parsing the rest.
  static int64_t envelope_id(std::string_view envelope) {
    constexpr std::string_view kPrefix = "{\"id\":";
    if (envelope.substr(0, kPrefix.size()) != kPrefix)
      return json::parse(envelope).at("id").get<int64_t>();
    return std::strtoll(envelope.data() + kPrefix.size(), nullptr, 10);
  }

  std::string submit_body(const Submit& submit) {
    const json request = json::parse(submit.request_json);
    json body = {{"id", submit.job_id},
                 {"kind", "agent.training"},
                 {"priority", 3},
                 {"attempt", submit.attempt},
                 {"idem_key", submit.job_id},
                 {"payload",
                  {{"request", request.value("request", json::object())},
                   {"base", request.value("base", json::object())},
                   {"window", {{"since_id", submit.since_id}, {"until_id", submit.until_id}}},
                   {"job", request}}}};
    if (!ship_window_) return body.dump();
    uint64_t truncated = 0;
    const std::string samples = window_rows(submit, truncated);
    body["payload"]["samples"] = kSamplesPlaceholder;
    body["payload"]["truncated"] = truncated;
    // The rows are spliced in as text where the placeholder string stands:
    // the last string of the dump (keys are written sorted, and only numbers
    // follow payload.samples), so a request that contains the same text is
    // left alone.
    std::string text = body.dump();
    const std::string quoted = json(kSamplesPlaceholder).dump();
    text.replace(text.rfind(quoted), quoted.size(), samples);
    return text;
  }

  bool publish_submit(const Submit& submit) {
    std::string body;
    try {
      body = submit_body(submit);
    } catch (const std::exception& e) {
      const json failed = {{"error", std::string("cannot build the submit message: ") + e.what()}};
      tpark::job_report(host(), submit.job_id, TP_JOB_FAILED, failed.dump());
      return true;
    }
    jsPubOptions options;
    jsPubOptions_Init(&options);
    const std::string msg_id = "submit-" + submit.job_id;
    options.MsgId = msg_id.c_str();
    jsPubAck* ack = nullptr;
    jsErrCode error = static_cast<jsErrCode>(0);
    const natsStatus status = js_Publish(&ack, js_, kSubmitSubject, body.data(),
                                         static_cast<int>(body.size()), &options, &error);
    if (ack != nullptr) jsPubAck_Destroy(ack);
    return status == NATS_OK;
  }

  // Publishes queued submits in order; one without a PubAck is retried every
  // 5 s (and blocks the ones behind it, so jobs leave in creation order).
  void run_outbox() {
    std::unique_lock lock(mutex_);
    while (!stopping_) {
      if (outbox_.empty()) {
        cv_.wait(lock, [&] { return stopping_ || !outbox_.empty(); });
        continue;
      }
      const Submit submit = outbox_.front();
      lock.unlock();
      const bool published = publish_submit(submit);
      lock.lock();
      if (published) {
        if (!outbox_.empty() && outbox_.front().job_id == submit.job_id) outbox_.pop_front();
        continue;
      }
      host().warn("submit of job " + submit.job_id + " not acknowledged; retrying in 5 s");
      cv_.wait_for(lock, kOutboxRetry, [&] { return stopping_; });
    }
  }

  void count_dropped(const std::string& job_id) {
    bool known = false;
    {
      std::lock_guard lock(mutex_);
      known = dispatched_.count(job_id) > 0;
    }
    if (dropped_metric_ == 0) return;
    const std::string reason = known ? "terminal" : "unknown_job";
    const tp_str label = {reason.data(), reason.size()};
    host().api()->metric_add(host().host(), dropped_metric_, &label, 1, 1.0);
  }

  // A message from the result stream, parsed once.
  struct WorkerMessage {
    bool progress = false;  // else a result
    std::string job_id;     // empty: not ours to understand
    json body;
    std::string_view text;  // as published (valid while its natsMsg is)
  };

  // An integer member, or `fallback` when it is missing or not an integer
  // (a worker's message is input: it must not throw on this thread).
  static int64_t int_member(const json& body, const char* key, int64_t fallback) {
    const auto it = body.find(key);
    return it != body.end() && it->is_number_integer() ? it->get<int64_t>() : fallback;
  }

  static std::string string_member(const json& body, const char* key) {
    const auto it = body.find(key);
    return it != body.end() && it->is_string() ? it->get<std::string>() : std::string();
  }

  static WorkerMessage parse_worker_message(natsMsg* msg) {
    WorkerMessage out;
    out.progress =
        std::string_view(natsMsg_GetSubject(msg)).rfind("arw.training.jobs.progress.", 0) == 0;
    out.text = std::string_view(natsMsg_GetData(msg), natsMsg_GetDataLength(msg));
    out.body = json::parse(out.text, nullptr, false);
    if (!out.body.is_discarded() && out.body.is_object() && out.body.contains("job_id") &&
        out.body["job_id"].is_string())
      out.job_id = out.body["job_id"].get<std::string>();
    return out;
  }

  // One progress or result message; false when the host could not commit
  // (the message is then naked and comes back).
  bool handle(const WorkerMessage& message, int64_t attempt) {
    if (message.job_id.empty()) return true;  // not ours to understand: drop it
    const json& body = message.body;
    json report = {{"attempt", attempt}, {"worker", string_member(body, "worker")}};
    uint32_t kind = 0;
    bool as_published = false;
    if (message.progress) {
      kind = TP_JOB_PROGRESS;
      report["stage_index"] = int_member(body, "stage_index", 0);
    } else if (body.contains("ok") && body["ok"] == true) {
      kind = TP_JOB_RESULT;
      // The worker's message already has the report's members (attempt,
      // worker, manifest, result): it goes as published, unless a later
      // delivery's attempt seen in the batch is higher.
      as_published = int_member(body, "attempt", 0) == attempt;
      if (!as_published) {
        report["manifest"] = body.value("manifest", json(nullptr));
        report["result"] = body.value("result", json::object());
      }
    } else {
      kind = TP_JOB_FAILED;
      std::string error = string_member(body, "error");
      report["error"] = error.empty() ? std::string("the worker failed the job") : error;
    }
    const std::string built = as_published ? std::string() : report.dump();
    const tp_status status =
        tpark::job_report(host(), message.job_id, kind, as_published ? message.text : built);
    if (status == TP_UNAVAILABLE) return false;
    if (status == TP_NOT_FOUND && kind != TP_JOB_PROGRESS) count_dropped(message.job_id);
    return true;
  }

  // Reports a fetched batch, acking each message after its report. Progress
  // that the same batch supersedes (a later stage of the job, or its result)
  // is acked without a report of its own: each report is one commit on the
  // host, and the job moves only forward anyway. The highest attempt seen
  // for a job goes with the report that is made.
  void report_batch(const std::vector<natsMsg*>& batch) {
    std::vector<WorkerMessage> messages;
    messages.reserve(batch.size());
    std::map<std::string, int> newest_progress;  // job -> index of its highest stage
    std::map<std::string, int64_t> attempts;     // job -> highest attempt in the batch
    std::set<std::string> finished;              // jobs with a result in the batch
    for (int i = 0; i < static_cast<int>(batch.size()); ++i) {
      messages.push_back(parse_worker_message(batch[static_cast<size_t>(i)]));
      const WorkerMessage& m = messages.back();
      if (m.job_id.empty()) continue;
      int64_t& attempt = attempts[m.job_id];
      attempt = std::max(attempt, int_member(m.body, "attempt", 1));
      if (!m.progress) {
        finished.insert(m.job_id);
        continue;
      }
      auto [it, fresh] = newest_progress.emplace(m.job_id, i);
      const auto& kept = messages[static_cast<size_t>(it->second)].body;
      if (!fresh && int_member(m.body, "stage_index", 0) > int_member(kept, "stage_index", 0))
        it->second = i;
    }
    for (int i = 0; i < static_cast<int>(batch.size()); ++i) {
      const WorkerMessage& m = messages[static_cast<size_t>(i)];
      const bool superseded = m.progress && !m.job_id.empty() &&
                              (finished.count(m.job_id) > 0 || newest_progress[m.job_id] != i);
      const bool done = superseded || handle(m, m.job_id.empty() ? 1 : attempts[m.job_id]);
      natsMsg* msg = batch[static_cast<size_t>(i)];
      done ? natsMsg_Ack(msg, nullptr) : natsMsg_Nak(msg, nullptr);
    }
  }

  void run_results() {
    natsSubscription* subscription = nullptr;
    jsSubOptions options;
    jsSubOptions_Init(&options);
    options.Stream = kEventsStream;
    options.Consumer = host_durable_.c_str();
    jsErrCode error = static_cast<jsErrCode>(0);
    while (!is_stopping() && subscription == nullptr) {
      if (js_PullSubscribe(&subscription, js_, nullptr, host_durable_.c_str(), nullptr, &options,
                           &error) != NATS_OK) {
        subscription = nullptr;
        std::this_thread::sleep_for(std::chrono::milliseconds(250));
      }
    }
    while (!is_stopping()) {
      natsMsgList list{};
      const natsStatus status =
          natsSubscription_Fetch(&list, subscription, kResultBatch, 500, &error);
      if (status != NATS_OK) {
        natsMsgList_Destroy(&list);
        if (status != NATS_TIMEOUT) std::this_thread::sleep_for(std::chrono::milliseconds(100));
        continue;
      }
      // A job's progress and result come milliseconds apart: a short second
      // pull lets one report (one commit) cover several of them.
      std::vector<natsMsg*> batch(list.Msgs, list.Msgs + list.Count);
      natsMsgList more{};
      if (list.Count < kResultBatch) {
        std::this_thread::sleep_for(kResultLinger);
        if (natsSubscription_Fetch(&more, subscription, kResultBatch - list.Count, 5, &error) ==
            NATS_OK)
          batch.insert(batch.end(), more.Msgs, more.Msgs + more.Count);
      }
      report_batch(batch);
      natsMsgList_Destroy(&more);
      natsMsgList_Destroy(&list);
    }
    if (subscription != nullptr) natsSubscription_Destroy(subscription);
  }

  bool is_stopping() {
    std::lock_guard lock(mutex_);
    return stopping_;
  }

  // $JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES: the submit at stream_seq was
  // delivered max_deliver times without an ack; its job fails.
  static void on_advisory(natsConnection*, natsSubscription*, natsMsg* msg, void* closure) {
    auto* self = static_cast<NatsOrchestrator*>(closure);
    const json advisory = json::parse(
        std::string_view(natsMsg_GetData(msg), natsMsg_GetDataLength(msg)), nullptr, false);
    natsMsg_Destroy(msg);
    if (advisory.is_discarded() || !advisory.contains("stream_seq")) return;
    natsMsg* submit = nullptr;
    jsErrCode error = static_cast<jsErrCode>(0);
    if (js_GetMsg(&submit, self->js_, kJobsStream, advisory["stream_seq"].get<uint64_t>(), nullptr,
                  &error) != NATS_OK)
      return;
    const json body = json::parse(
        std::string_view(natsMsg_GetData(submit), natsMsg_GetDataLength(submit)), nullptr, false);
    natsMsg_Destroy(submit);
    if (body.is_discarded() || !body.contains("id") || !body["id"].is_string()) return;
    const json failed = {
        {"error", "max deliveries (" + std::to_string(self->max_deliver_) + ") exceeded"}};
    tpark::job_report(self->host(), body["id"].get<std::string>(), TP_JOB_FAILED, failed.dump());
  }

  const std::string url_;
  const std::string group_;
  const std::string node_;
  const int64_t lease_ms_;
  const int64_t max_deliver_;
  const int64_t max_inflight_;
  const int64_t max_bytes_;
  const bool ship_window_;
  std::string host_durable_;
  uint64_t dropped_metric_ = 0;
  natsOptions* options_ = nullptr;
  natsConnection* connection_ = nullptr;
  jsCtx* js_ = nullptr;
  natsSubscription* advisory_sub_ = nullptr;
  std::thread outbox_thread_, results_thread_;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::deque<Submit> outbox_;
  std::set<std::string> dispatched_;
};

}  // namespace

TP_ORCHESTRATOR_PLUGIN(NatsOrchestrator, "nats")
