// The fake host behind tpark-conform: see fake_host.h.
#include "fake_host.h"

#include <cstdlib>
#include <cstring>
#include <ctime>
#include <exception>
#include <regex>
#include <vector>

#include <nlohmann/json.hpp>

// The opaque instance handle the plugin gets (tp_plugin.h declares it incomplete).
struct tp_host {
  tpark::conform::FakeHost* self;
};

namespace tpark::conform {

namespace {

std::string to_string(tp_str s) { return s.ptr != nullptr ? std::string(s.ptr, s.len) : ""; }

FakeHost* self_of(tp_host* host) { return host != nullptr ? host->self : nullptr; }

int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

tp_status write_all(const tp_writer* out, const std::string& text) {
  if (out == nullptr || out->write == nullptr) return TP_INVALID_ARG;
  return out->write(out->writer_ctx, str(text));
}

// --- the table's slots: each finds its FakeHost and checks the phase ------

tp_status api_log(tp_host* host, int32_t level, tp_str message) {
  FakeHost* self = self_of(host);
  if (self == nullptr) return TP_INVALID_ARG;
  self->check_call("log");
  if (level < TP_LOG_TRACE || level > TP_LOG_ERROR) return TP_INVALID_ARG;
  if (level >= TP_LOG_WARN)
    std::cout << "LOG           " << (level == TP_LOG_WARN ? "warn: " : "error: ") << to_string(message)
              << "\n";
  return TP_OK;
}
tp_status api_metric_register(tp_host* host, const tp_metric_desc* desc, uint64_t* out_handle) {
  FakeHost* self = self_of(host);
  if (self == nullptr) return TP_INVALID_ARG;
  self->check_call("metric_register");
  return self->metric_register(desc, out_handle);
}
tp_status api_metric_add(tp_host* host, uint64_t handle, const tp_str*, size_t label_count,
                         double value) {
  FakeHost* self = self_of(host);
  if (self == nullptr) return TP_INVALID_ARG;
  self->check_call("metric_add");
  return self->metric_use(handle, label_count, 0, value, false);
}
tp_status api_metric_set(tp_host* host, uint64_t handle, const tp_str*, size_t label_count,
                         double value) {
  FakeHost* self = self_of(host);
  if (self == nullptr) return TP_INVALID_ARG;
  self->check_call("metric_set");
  return self->metric_use(handle, label_count, TP_METRIC_GAUGE, value, false);
}
tp_status api_metric_observe(tp_host* host, uint64_t handle, const tp_str*, size_t label_count,
                             double value) {
  FakeHost* self = self_of(host);
  if (self == nullptr) return TP_INVALID_ARG;
  self->check_call("metric_observe");
  return self->metric_use(handle, label_count, TP_METRIC_HISTOGRAM, value, false);
}
tp_status api_metric_remove(tp_host* host, uint64_t handle, const tp_str*, size_t label_count) {
  FakeHost* self = self_of(host);
  if (self == nullptr) return TP_INVALID_ARG;
  self->check_call("metric_remove");
  return self->metric_use(handle, label_count, 0, 0, false);
}
tp_status api_config_get(tp_host* host, const tp_writer* out) {
  FakeHost* self = self_of(host);
  if (self == nullptr) return TP_INVALID_ARG;
  self->check_call("config_get");
  return self->config_get(out);
}
tp_status api_state_read(tp_host* host, tp_str name, const tp_writer* out) {
  FakeHost* self = self_of(host);
  if (self == nullptr) return TP_INVALID_ARG;
  self->check_call("state_read");
  return self->state_read(name, out);
}
int64_t api_now_ms(tp_host* host) {
  if (FakeHost* self = self_of(host)) self->check_call("now_ms");
  return wall_ms();
}
int64_t api_monotonic_ns(tp_host* host) {
  if (FakeHost* self = self_of(host)) self->check_call("monotonic_ns");
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}
tp_status api_timer_start(tp_host* host, const tp_timer_desc* desc, uint64_t* out_timer_id) {
  FakeHost* self = self_of(host);
  if (self == nullptr) return TP_INVALID_ARG;
  self->check_call("timer_start");
  return self->timer_start(desc, out_timer_id);
}
tp_status api_timer_cancel(tp_host* host, uint64_t timer_id) {
  FakeHost* self = self_of(host);
  if (self == nullptr) return TP_INVALID_ARG;
  self->check_call("timer_cancel");
  return self->timer_cancel(timer_id);
}
tp_status api_wake_at(tp_host* host, int64_t) {
  FakeHost* self = self_of(host);
  if (self == nullptr) return TP_INVALID_ARG;
  self->check_call("wake_at");
  return TP_OK;
}
tp_status api_emit(tp_host* host, tp_str kind, tp_str payload, int64_t* out_id) {
  FakeHost* self = self_of(host);
  if (self == nullptr) return TP_INVALID_ARG;
  self->check_call("emit");
  return self->emit(kind, payload, out_id);
}
void* api_alloc(tp_host* host, size_t size) {
  FakeHost* self = self_of(host);
  if (self == nullptr) return nullptr;
  self->check_call("alloc");
  return self->alloc(size);
}
tp_status api_journal_read(tp_host* host, int64_t after_id, tp_str kind_prefix, uint64_t limit,
                           const tp_writer* out) {
  FakeHost* self = self_of(host);
  if (self == nullptr) return TP_INVALID_ARG;
  self->check_call("journal_read");
  return self->journal_read(after_id, kind_prefix, limit, out);
}
tp_status api_job_report(tp_host* host, tp_str job_id, uint32_t kind, tp_str json) {
  FakeHost* self = self_of(host);
  if (self == nullptr) return TP_INVALID_ARG;
  self->check_call("job_report");
  return self->job_report(job_id, kind, json);
}
tp_status api_ingest_lines(tp_host* host, const tp_ingest_line* lines, size_t count,
                           uint64_t* out_accepted) {
  FakeHost* self = self_of(host);
  if (self == nullptr) return TP_INVALID_ARG;
  self->check_call("ingest_lines");
  return self->ingest_lines(lines, count, out_accepted);
}
void api_free_buf(tp_host* host, void* ptr) {
  if (FakeHost* self = self_of(host)) {
    self->check_call("free_buf");
    self->free_buf(ptr);
  }
}

tp_status append_to_string(void* writer_ctx, tp_str bytes) {
  if (bytes.len > 0 && bytes.ptr == nullptr) return TP_INVALID_ARG;
  static_cast<std::string*>(writer_ctx)->append(bytes.ptr != nullptr ? bytes.ptr : "", bytes.len);
  return TP_OK;
}

}  // namespace

// --- Executor ---------------------------------------------------------------

Executor::Executor() : thread_([this] { run(); }) {}

Executor::~Executor() {
  {
    std::lock_guard lock(mutex_);
    quit_ = true;
  }
  changed_.notify_all();
  thread_.join();
}

void Executor::run() {
  std::unique_lock lock(mutex_);
  for (;;) {
    changed_.wait(lock, [&] { return has_job_ || quit_; });
    if (quit_) return;
    std::function<tp_status()> job = std::move(job_);
    has_job_ = false;
    lock.unlock();
    CallResult result;
    result.completed = true;
    try {
      result.status = job();
    } catch (const std::exception& e) {
      result.exception = true;
      result.exception_text = e.what();
    } catch (...) {
      result.exception = true;
      result.exception_text = "unknown exception";
    }
    lock.lock();
    result_ = result;
    done_ = true;
    changed_.notify_all();
  }
}

CallResult Executor::call(std::chrono::milliseconds deadline, int rule_if_stuck,
                          std::function<tp_status()> body) {
  std::unique_lock lock(mutex_);
  job_ = std::move(body);
  has_job_ = true;
  done_ = false;
  changed_.notify_all();
  CallResult result;
  if (changed_.wait_for(lock, deadline, [&] { return done_; })) result = result_;
  result.rule_if_stuck = rule_if_stuck;
  return result;
}

// --- SyntheticEvent ---------------------------------------------------------

SyntheticEvent::SyntheticEvent(std::string kind, bool replay, std::string payload, std::string node)
    : kind_(std::move(kind)), payload_(std::move(payload)), node_(std::move(node)) {
  static std::atomic<int64_t> next_id{1};
  const int64_t now = wall_ms();
  std::time_t seconds = static_cast<std::time_t>(now / 1000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[96];
  std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", utc.tm_year + 1900,
                utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec,
                static_cast<int>(now % 1000));
  time_ = text;
  source_ = "ingest";
  view_.struct_size = sizeof view_;
  view_.flags = replay ? TP_EVENT_REPLAY : 0u;
  view_.id = next_id++;
  view_.time_ms = now;
  view_.time = str(time_);
  view_.kind = str(kind_);
  view_.payload = str(payload_);
  view_.source = str(source_);
  view_.node = str(node_);
}

// --- FakeHost ---------------------------------------------------------------

FakeHost::FakeHost(Report& report) : report_(report) {
  api_.struct_size = sizeof api_;
  api_.abi_minor = TP_ABI_MINOR;
  api_.log = api_log;
  api_.metric_register = api_metric_register;
  api_.metric_add = api_metric_add;
  api_.metric_set = api_metric_set;
  api_.metric_observe = api_metric_observe;
  api_.metric_remove = api_metric_remove;
  api_.config_get = api_config_get;
  api_.state_read = api_state_read;
  api_.now_ms = api_now_ms;
  api_.monotonic_ns = api_monotonic_ns;
  api_.timer_start = api_timer_start;
  api_.timer_cancel = api_timer_cancel;
  api_.wake_at = api_wake_at;
  api_.emit = api_emit;
  api_.alloc = api_alloc;
  api_.free_buf = api_free_buf;
  api_.journal_read = api_journal_read;
  api_.job_report = api_job_report;
  api_.ingest_lines = api_ingest_lines;
}

FakeHost::~FakeHost() {
  for (void* p : buffers_) std::free(p);
}

tp_host* FakeHost::handle() {
  static tp_host instance{nullptr};
  instance.self = this;
  return &instance;
}

void FakeHost::set_config(std::string config_json) {
  std::lock_guard lock(mutex_);
  config_json_ = std::move(config_json);
}

void FakeHost::enter(Phase phase) { phase_ = phase; }

tp_writer FakeHost::writer_into(std::string* out) const {
  tp_writer writer{};
  writer.struct_size = sizeof writer;
  writer.writer_ctx = out;
  writer.write = append_to_string;
  return writer;
}

// Rule 10: after destroy nothing of the instance runs; after stop returned,
// none of the plugin's own threads does either.
void FakeHost::check_call(const char* slot) {
  const Phase phase = phase_;
  const bool late = phase == Phase::Destroyed ||
                    (phase == Phase::Stopped && std::this_thread::get_id() != executor_thread_);
  if (!late) return;
  std::lock_guard lock(mutex_);
  if (late_calls_reported_++ == 0)
    report_.fail(
        rule::kLifecycle,
        std::string("host API ") + slot + " called " +
            (phase == Phase::Destroyed ? "after destroy" : "by a plugin thread after stop"));
}

tp_status FakeHost::metric_register(const tp_metric_desc* desc, uint64_t* out_handle) {
  if (desc == nullptr || out_handle == nullptr || desc->struct_size < sizeof(uint32_t) * 2)
    return TP_INVALID_ARG;
  tp_metric_desc d{};
  std::memcpy(&d, desc, std::min<size_t>(desc->struct_size, sizeof d));
  static const std::regex name_pattern("[a-zA-Z_:][a-zA-Z0-9_:]*");
  const std::string name = to_string(d.name);
  if (!std::regex_match(name, name_pattern)) return TP_INVALID_ARG;
  if (d.type < TP_METRIC_COUNTER || d.type > TP_METRIC_HISTOGRAM) return TP_INVALID_ARG;
  if (d.type == TP_METRIC_COUNTER && (name.size() < 6 || name.substr(name.size() - 6) != "_total"))
    return TP_INVALID_ARG;
  if (d.label_count > 0 && d.label_names == nullptr) return TP_INVALID_ARG;
  std::lock_guard lock(mutex_);
  auto known = metric_names_.find(name);
  if (known != metric_names_.end()) {
    const Metric& m = metrics_[known->second];
    if (m.type != d.type || m.label_count != d.label_count) return TP_INVALID_ARG;
    *out_handle = known->second;
    return TP_OK;
  }
  const uint64_t handle = next_handle_++;
  metrics_[handle] = Metric{d.type, d.label_count};
  metric_names_[name] = handle;
  *out_handle = handle;
  return TP_OK;
}

tp_status FakeHost::metric_use(uint64_t handle, size_t label_count, uint32_t need_type, double value,
                               bool need_non_negative) {
  std::lock_guard lock(mutex_);
  auto it = metrics_.find(handle);
  if (it == metrics_.end()) return TP_NOT_FOUND;
  if (it->second.label_count != label_count) return TP_INVALID_ARG;
  if (need_type != 0 && it->second.type != need_type) return TP_INVALID_ARG;
  if ((need_non_negative || it->second.type == TP_METRIC_COUNTER) && value < 0) return TP_INVALID_ARG;
  return TP_OK;
}

tp_status FakeHost::config_get(const tp_writer* out) {
  std::string text;
  {
    std::lock_guard lock(mutex_);
    text = config_json_;
  }
  return write_all(out, text);
}

// The runner has no journal, bus or control plane: every capability-backed
// name answers TP_UNAVAILABLE, as a real host does before the capability
// exists, and a plugin must cope. events_start is synthesised.
tp_status FakeHost::state_read(tp_str name, const tp_writer* out) {
  const std::string n = to_string(name);
  static const std::vector<std::string> known = {"governor", "config",        "capsules",
                                                 "route_stats", "bus",       "tasks",
                                                 "task_restarts", "compatibility", "plugins"};
  if (n == "events_start") {
    nlohmann::json body = {{"start", "1970-01-01T00:00:00.000Z"}, {"start_ms", 0}, {"start_id", 0}};
    return write_all(out, body.dump());
  }
  for (const auto& k : known)
    if (k == n) return TP_UNAVAILABLE;
  return TP_NOT_FOUND;
}

tp_status FakeHost::timer_start(const tp_timer_desc* desc, uint64_t* out_timer_id) {
  if (desc == nullptr || out_timer_id == nullptr || desc->fn == nullptr || desc->delay_ms < 0 ||
      desc->interval_ms < 0)
    return TP_INVALID_ARG;
  if (phase_ == Phase::Stopping || phase_ == Phase::Stopped || phase_ == Phase::Destroyed)
    return TP_UNAVAILABLE;
  std::lock_guard lock(mutex_);
  Timer timer;
  std::memcpy(&timer.desc, desc, std::min<size_t>(desc->struct_size, sizeof timer.desc));
  const uint64_t id = next_handle_++;
  timers_[id] = timer;
  *out_timer_id = id;
  return TP_OK;
}

tp_status FakeHost::timer_cancel(uint64_t timer_id) {
  Timer timer;
  {
    std::lock_guard lock(mutex_);
    auto it = timers_.find(timer_id);
    if (it == timers_.end()) return TP_NOT_FOUND;
    timer = it->second;
    timers_.erase(it);
  }
  release_timer(timer);
  return TP_OK;
}

void FakeHost::release_timer(Timer& timer) {
  if (timer.desc.free_fn != nullptr) timer.desc.free_fn(timer.desc.user);
}

void FakeHost::fire_timers(Executor& executor, std::chrono::milliseconds deadline) {
  std::vector<std::pair<uint64_t, Timer>> due;
  {
    std::lock_guard lock(mutex_);
    for (const auto& entry : timers_) due.push_back(entry);
  }
  for (auto& [id, timer] : due) {
    CallResult call = executor.call(deadline, rule::kThreading, [&] {
      timer.desc.fn(timer.desc.user, id);
      return TP_OK;
    });
    if (!call.completed) {
      report_.fail(rule::kThreading, "timer callback did not return within " +
                                         std::to_string(deadline.count()) + " ms");
      report_.abandon();
    }
    if (call.exception)
      report_.fail(rule::kNoCppAcross,
                   "timer callback let an exception escape: " + call.exception_text);
    if (timer.desc.interval_ms == 0) {
      bool still_live = false;
      {
        std::lock_guard lock(mutex_);
        still_live = timers_.erase(id) == 1;
      }
      if (still_live) release_timer(timer);
    }
  }
  if (!due.empty())
    report_.pass(rule::kThreading,
                 "fired " + std::to_string(due.size()) + " timer(s) on the instance executor");
}

tp_status FakeHost::emit(tp_str kind, tp_str payload, int64_t* out_id) {
  static const std::regex kind_pattern("[a-z0-9][a-z0-9_.:-]*");
  if (!std::regex_match(to_string(kind), kind_pattern)) return TP_INVALID_ARG;
  // As the real host: the kinds it owns are not a plugin's to emit.
  static const char* const host_owned[] = {
      "logic.unit.", "orchestrator.job.", "config.",         "governor.",        "staging.",
      "leases.",     "policy.decision",   "policy.capsule.", "feedback.updated", "actions.hint."};
  for (const char* prefix : host_owned)
    if (to_string(kind).rfind(prefix, 0) == 0) return TP_INVALID_ARG;
  const std::string text = to_string(payload);
  if (!text.empty() && !nlohmann::json::accept(text)) return TP_INVALID_ARG;
  std::lock_guard lock(mutex_);
  if (out_id != nullptr) *out_id = next_event_id_;
  ++next_event_id_;
  return TP_OK;
}

void* FakeHost::alloc(size_t size) {
  void* p = std::malloc(size == 0 ? 1 : size);
  if (p == nullptr) return nullptr;
  std::lock_guard lock(mutex_);
  buffers_.insert(p);
  return p;
}

void FakeHost::free_buf(void* ptr) {
  if (ptr == nullptr) return;
  {
    std::lock_guard lock(mutex_);
    if (buffers_.erase(ptr) == 0) {
      report_.fail(rule::kWhoFrees,
                   "free_buf of a pointer the host never allocated (or freed twice)");
      return;
    }
  }
  std::free(ptr);
}

// After destroy the host releases the timers still live (calling each free_fn
// once, rule 10); buffers from alloc that the plugin never freed are leaks.
void FakeHost::check_balances() {
  std::map<uint64_t, Timer> live;
  size_t leaked = 0;
  {
    std::lock_guard lock(mutex_);
    live.swap(timers_);
    leaked = buffers_.size();
  }
  for (auto& [id, timer] : live) release_timer(timer);
  if (leaked > 0)
    report_.fail(rule::kWhoFrees,
                 std::to_string(leaked) + " buffer(s) from host alloc never freed with free_buf");
  else
    report_.pass(rule::kWhoFrees, "every host buffer the plugin allocated was freed");
}

}  // namespace tpark::conform

namespace tpark::conform {

// Three rows: a context.coverage event and two first-pass iteration
// summaries, enough for a training job to have samples.
tp_status FakeHost::journal_read(int64_t after_id, tp_str kind_prefix, uint64_t limit,
                                 const tp_writer* out) {
  if (out == nullptr || out->write == nullptr || after_id < 0) return TP_INVALID_ARG;
  static const char* kRows[] = {
      R"({"id":1,"time":"2026-01-01T00:00:00.000Z","kind":"context.coverage","payload":{"needs_more":true,"summary":{"target_limit":8,"selected":2}},"source":"host"})",
      R"({"id":2,"time":"2026-01-01T00:00:01.000Z","kind":"working_set.iteration.summary","payload":{"iteration":0,"corr_id":"c1","summary":{"target_limit":8,"selected":3,"lanes_requested":2,"lane_counts":{"semantic":3},"avg_cscore":0.25,"max_cscore":0.3,"min_score":0.6}},"source":"host"})",
      R"({"id":3,"time":"2026-01-01T00:00:02.000Z","kind":"working_set.iteration.summary","payload":{"iteration":0,"corr_id":"c2","summary":{"target_limit":8,"selected":8,"lanes_requested":2,"lane_counts":{"semantic":4,"episodic":4},"avg_cscore":0.7,"max_cscore":0.9,"min_cscore":0.5}},"source":"host"})"};
  const std::string prefix = to_string(kind_prefix);
  std::string text;
  uint64_t lines = 0;
  for (int64_t id = 1; id <= 3; ++id) {
    if (id <= after_id || (limit != 0 && lines >= limit)) continue;
    const nlohmann::json row = nlohmann::json::parse(kRows[id - 1]);
    if (row.at("kind").get<std::string>().compare(0, prefix.size(), prefix) != 0) continue;
    text += kRows[id - 1];
    text += '\n';
    ++lines;
  }
  return out->write(out->writer_ctx, str(text));
}

tp_status FakeHost::ingest_lines(const tp_ingest_line* lines, size_t count,
                                 uint64_t* out_accepted) {
  if (lines == nullptr && count > 0) return TP_INVALID_ARG;
  uint64_t accepted = 0;
  for (size_t i = 0; i < count; ++i) {
    if (lines[i].struct_size < sizeof(tp_ingest_line)) return TP_INVALID_ARG;
    if (lines[i].rejected.len > 0) continue;
    const nlohmann::json body = nlohmann::json::parse(to_string(lines[i].body), nullptr, false);
    if (!body.is_discarded() && body.is_object()) ++accepted;
  }
  if (out_accepted != nullptr) *out_accepted = accepted;
  return TP_OK;
}

tp_status FakeHost::job_report(tp_str job_id, uint32_t kind, tp_str json) {
  const nlohmann::json body = nlohmann::json::parse(to_string(json), nullptr, false);
  if (body.is_discarded() || !body.is_object()) return TP_INVALID_ARG;
  const std::string id = to_string(job_id);
  std::lock_guard lock(mutex_);
  auto it = jobs_.find(id);
  if (it == jobs_.end() || it->second.end != 0) return TP_NOT_FOUND;
  if (kind == TP_JOB_PROGRESS) {
    if (!body.contains("stage_index") || !body["stage_index"].is_number_integer())
      return TP_INVALID_ARG;
    it->second.stages.push_back(body["stage_index"].get<int64_t>());
  } else if (kind == TP_JOB_RESULT) {
    if (!body.contains("manifest") || !body["manifest"].is_object()) return TP_INVALID_ARG;
    it->second.end = kind;
  } else if (kind == TP_JOB_FAILED) {
    if (!body.contains("error") || !body["error"].is_string()) return TP_INVALID_ARG;
    it->second.end = kind;
  } else {
    return TP_INVALID_ARG;
  }
  jobs_changed_.notify_all();
  return TP_OK;
}

uint32_t FakeHost::wait_job_end(const std::string& job_id, std::chrono::milliseconds deadline) {
  std::unique_lock lock(mutex_);
  jobs_.emplace(job_id, JobReports{});
  jobs_changed_.wait_for(lock, deadline, [&] { return jobs_[job_id].end != 0; });
  return jobs_[job_id].end;
}

std::vector<int64_t> FakeHost::job_stages(const std::string& job_id) {
  std::lock_guard lock(mutex_);
  auto it = jobs_.find(job_id);
  return it == jobs_.end() ? std::vector<int64_t>() : it->second.stages;
}

}  // namespace tpark::conform
