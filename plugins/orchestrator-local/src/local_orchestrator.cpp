// tp.orchestrator.local: runs training jobs in this process (control.md 5.3,
// 5.5), one thread per job, written only against the SDK. It reads the
// journal through journal_read and reports through job_report; the host owns
// every state change, event and the logic unit.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>
#include <tpark/tp_plugin.hpp>

#include "result_cache.h"
#include "training_model.h"

namespace {

namespace model = tpark::training_model;
using nlohmann::json;

constexpr const char* kReadKinds[] = {"working_set.iteration.summary", "context.coverage"};
constexpr uint64_t kReadPage = 1000;
// The first chunk spans the sample cap in ids (at least kMinFirstChunkIds):
// a window dense in samples fills the cap from one read of about cap rows.
constexpr int64_t kMinFirstChunkIds = 64;
constexpr int64_t kMaxChunkIds = 65536;

// One NDJSON envelope {id,time,kind,payload,source,node?} as a Row, the
// payload kept as text. The host writes the envelope in that key order, so
// the fields are cut out directly; anything else is parsed in full.
model::Row parse_envelope(std::string_view line) {
  constexpr std::string_view kId = "{\"id\":", kKindKey = ",\"kind\":\"",
                             kPayload = ",\"payload\":", kSource = ",\"source\":\"";
  const size_t kind_at = line.find(kKindKey);
  const size_t payload_at = line.find(kPayload);
  const size_t source_at = line.rfind(kSource);
  if (line.substr(0, kId.size()) == kId && kind_at != std::string_view::npos &&
      payload_at != std::string_view::npos && source_at != std::string_view::npos &&
      kind_at < payload_at && payload_at < source_at) {
    const size_t kind_begin = kind_at + kKindKey.size();
    const size_t kind_end = line.find('"', kind_begin);
    const size_t payload_begin = payload_at + kPayload.size();
    return model::Row{std::stoll(std::string(line.substr(kId.size(), kind_at - kId.size()))),
                      std::string(line.substr(kind_begin, kind_end - kind_begin)),
                      std::string(line.substr(payload_begin, source_at - payload_begin))};
  }
  const json envelope = json::parse(line);
  return model::Row{envelope.at("id").get<int64_t>(), envelope.at("kind").get<std::string>(),
                    envelope.value("payload", json::object()).dump()};
}

struct Job {
  std::thread thread;
  std::atomic<bool> cancelled{false};
};

class LocalOrchestrator final : public tpark::Orchestrator {
 public:
  LocalOrchestrator(tpark::HostRef host, std::string_view) : Orchestrator(host) {
    cache_hits_ = host.register_counter(
        "arw_training_cache_hits_total",
        "Training jobs that reused an earlier job's computation (control.md 5.5)");
  }
  ~LocalOrchestrator() override { stop(); }

  void stop() override {
    std::map<std::string, std::shared_ptr<Job>> jobs;
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
      jobs = jobs_;
      for (auto& [id, job] : jobs_) job->cancelled = true;
    }
    cv_.notify_all();
    for (auto& [id, job] : jobs)
      if (job->thread.joinable()) job->thread.join();
    std::lock_guard lock(mutex_);
    jobs_.clear();
  }

  void start_job(const tpark::JobView& view) override {
    auto job = std::make_shared<Job>();
    std::lock_guard lock(mutex_);
    if (stopping_) throw tpark::Error(TP_UNAVAILABLE, "the orchestrator is stopping");
    reap_locked();
    if (jobs_.count(view.job_id)) throw tpark::Error(TP_INVALID_ARG, "the job is already running");
    jobs_[view.job_id] = job;
    job->thread = std::thread([this, view, job] { run(view, *job); });
  }

  void cancel_job(std::string_view job_id) override {
    {
      std::lock_guard lock(mutex_);
      auto it = jobs_.find(std::string(job_id));
      if (it == jobs_.end()) return;
      it->second->cancelled = true;
    }
    cv_.notify_all();
  }

 private:
  struct Finished {
    bool done = false;
  };

  // Joins the threads of jobs that ended (mutex_ held).
  void reap_locked() {
    for (auto it = jobs_.begin(); it != jobs_.end();) {
      if (finished_.count(it->first)) {
        if (it->second->thread.joinable()) it->second->thread.join();
        finished_.erase(it->first);
        it = jobs_.erase(it);
      } else {
        ++it;
      }
    }
  }

  // Sleeps the stage delay unless cancelled; true when the job goes on.
  bool wait_delay(const Job& job, int64_t delay_ms) {
    if (delay_ms <= 0) return !job.cancelled;
    std::unique_lock lock(mutex_);
    cv_.wait_for(lock, std::chrono::milliseconds(delay_ms),
                 [&] { return job.cancelled.load() || stopping_; });
    return !job.cancelled && !stopping_;
  }

  // Entering a stage: the checkpoint of control.md 5.3.
  bool enter_stage(const std::string& job_id, const Job& job, int64_t delay_ms, int stage) {
    if (!wait_delay(job, delay_ms)) return false;
    const std::string body = "{\"stage_index\":" + std::to_string(stage) + "}";
    return tpark::job_report(host(), job_id, TP_JOB_PROGRESS, body) == TP_OK && !job.cancelled;
  }

  // Rows of `kind` with lo < id <= hi, handed to `on_row` ascending, read in
  // pages no larger than the range; false when the job was cancelled meanwhile.
  template <class OnRow>
  bool visit_range(int64_t lo, int64_t hi, const char* kind, const Job& job, OnRow on_row) {
    int64_t after = lo;
    while (after < hi) {
      if (job.cancelled) return false;
      const uint64_t limit = std::min<uint64_t>(kReadPage, static_cast<uint64_t>(hi - after));
      const std::string text = tpark::journal_read(host(), after, kind, limit);
      uint64_t lines = 0;
      for (size_t start = 0; start < text.size();) {
        size_t end = text.find('\n', start);
        if (end == std::string::npos) end = text.size();
        model::Row row = parse_envelope(std::string_view(text).substr(start, end - start));
        start = end + 1;
        ++lines;
        if (row.id > hi) return true;
        after = row.id;
        on_row(std::move(row));
      }
      if (lines < limit) return true;
    }
    return true;
  }

  // The same rows appended to `out`.
  bool read_range(int64_t lo, int64_t hi, const char* kind, const Job& job,
                  std::vector<model::Row>& out) {
    return visit_range(lo, hi, kind, job,
                       [&out](model::Row&& row) { out.push_back(std::move(row)); });
  }

  // Stage 1's reading: the window (since_id, until_id] newest first, in id
  // chunks that grow from the sample cap's size up to kMaxChunkIds (doubling,
  // or eightfold after a chunk of few rows), each
  // read ascending and handed to the collector descending, until the
  // collector has its cap. So a job holds one chunk at a time and stops
  // early; its cost grows with the rows it examines, not with the window.
  // The collector sees the same rows in the same order whatever the chunk
  // sizes. False when cancelled.
  bool read_newest_first(const model::JobInput& in, const Job& job, size_t cap,
                         model::Collector& collector) {
    int64_t hi = in.until_id;
    int64_t span = std::clamp<int64_t>(static_cast<int64_t>(std::min<size_t>(cap, kMaxChunkIds)),
                                       kMinFirstChunkIds, kMaxChunkIds);
    while (hi > in.since_id) {
      const int64_t lo = std::max(in.since_id, hi - span);
      std::vector<model::Row> chunk;
      for (const char* kind : kReadKinds)
        if (!read_range(lo, hi, kind, job, chunk)) return false;
      std::sort(chunk.begin(), chunk.end(),
                [](const model::Row& a, const model::Row& b) { return a.id > b.id; });
      for (const auto& row : chunk)
        if (!collector.add(row)) return true;
      hi = lo;
      // A chunk that held less than a quarter of the cap says the rows are
      // sparse here: reach further back at once rather than in many reads.
      const int64_t growth = chunk.size() * 4 < cap ? 8 : 2;
      span = std::min(span * growth, kMaxChunkIds);
    }
    return true;
  }

  // Pairing over the whole window (control.md 5.5 exact reading 3): every
  // summary in it, read a page of summaries at a time (one read for a window
  // of few summaries, however many other rows it holds) and kept only as
  // keys. Asked for only when a coverage event needs it; a cancel leaves it
  // partial, and the job stops at its next checkpoint.
  model::Pairing window_pairing(const model::JobInput& in, const Job& job,
                                const std::optional<std::string>& project) {
    model::Pairing pairing;
    visit_range(in.since_id, in.until_id, kReadKinds[0], job,
                [&](model::Row&& row) { pairing.add(row, project); });
    return pairing;
  }

  void run(const tpark::JobView& view, Job& job) {
    try {
      run_stages(view, job);
    } catch (const std::exception& e) {
      const std::string body = json{{"error", std::string("training failed: ") + e.what()}}.dump();
      tpark::job_report(host(), view.job_id, TP_JOB_FAILED, body);
    }
    std::lock_guard lock(mutex_);
    finished_.insert({view.job_id, Finished{true}});
  }

  void run_stages(const tpark::JobView& view, Job& job) {
    const model::JobInput in = model::parse_job_input(view.request_json);
    const json request = json::parse(view.request_json);
    const int64_t delay_ms = request.value("stage_delay_ms", int64_t{0});
    std::optional<std::string> project;
    if (auto it = in.request.find("project"); it != in.request.end() && it->is_string())
      project = it->get<std::string>();

    if (!enter_stage(view.job_id, job, delay_ms, 1)) return;
    const size_t cap = model::sample_cap(in.mode, in.request);
    model::Collector collector(project, cap, in.base,
                               [&] { return window_pairing(in, job, project); });
    if (!read_newest_first(in, job, cap, collector)) return;
    const model::Collected collected = std::move(collector).finish();

    if (!enter_stage(view.job_id, job, delay_ms, 2)) return;
    const std::string key = model::cache_digest(model::cache_key(in, collected));
    std::optional<model::Computation> computation;
    std::optional<std::string> cached_from;
    load_stored_cache();
    {
      std::lock_guard lock(mutex_);
      if (auto entry = cache_.find(key)) {
        computation = std::move(entry->computation);
        cached_from = std::move(entry->job_id);
      }
    }
    if (!computation) computation = model::compute(collected.samples, in);
    if (!enter_stage(view.job_id, job, delay_ms, 3)) return;
    if (!enter_stage(view.job_id, job, delay_ms, 4)) return;
    if (!enter_stage(view.job_id, job, delay_ms, 5)) return;

    const model::Suggestion suggestion = model::suggest(in, collected, *computation, cached_from);
    json report = {{"manifest", suggestion.manifest}, {"result", suggestion.result}};
    // A fresh computation goes to the host with the result, which stores it
    // in the job's completion transaction (the cache across restarts).
    if (!cached_from)
      report["cache"] = {{"key", key}, {"computation", model::computation_to_json(*computation)}};
    if (tpark::job_report(host(), view.job_id, TP_JOB_RESULT, report.dump()) != TP_OK) return;
    if (cached_from) {
      host().metric_add(cache_hits_, {}, 1.0);
      return;
    }
    std::lock_guard lock(mutex_);
    cache_.store(key, view.job_id, std::move(*computation));
  }

  // Once per process, at the first job (the host answers state reads only
  // once it is up): the entries the host stored for earlier completed jobs.
  // A host without them (another process, an older host) leaves the cache as is.
  void load_stored_cache() {
    {
      std::lock_guard lock(mutex_);
      if (cache_loaded_) return;
      cache_loaded_ = true;
    }
    std::optional<std::string> stored;
    try {
      stored = host().state("training_cache");
    } catch (const tpark::Error&) {
      return;
    }
    if (!stored) return;
    const json state = json::parse(*stored, nullptr, false);
    std::lock_guard lock(mutex_);
    cache_.load(state);
  }

  uint64_t cache_hits_ = 0;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::map<std::string, std::shared_ptr<Job>> jobs_;
  std::map<std::string, Finished> finished_;
  model::ResultCache cache_;
  bool cache_loaded_ = false;
};

}  // namespace

TP_ORCHESTRATOR_PLUGIN(LocalOrchestrator, "local")
