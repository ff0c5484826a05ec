#include "plugins/host_api.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <queue>
#include <set>
#include <thread>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include <spdlog/spdlog.h>

#include "kernel/ingest.h"
#include "kernel/journal.h"
#include "kernel/kinds.h"
#include "metrics/metric_registry.h"
#include "plugins/plugin_call.h"
#include "plugins/plugin_manager.h"
#include "util/time.h"

namespace tpark {
namespace {

std::string_view view(tp_str text) {
  return text.ptr != nullptr ? std::string_view(text.ptr, text.len) : std::string_view();
}

bool usable(const tp_host* host) {
  return host != nullptr && !host->revoked.load(std::memory_order_acquire) && host->services;
}

// A plugin-provided struct copied per rule 2: min(struct_size, sizeof) into a
// zeroed local. False when it is smaller than its 1.0 size.
template <class T>
bool copy_in(const T* from, T& local) {
  local = T{};
  if (from == nullptr || from->struct_size < sizeof(T)) return false;
  std::memcpy(&local, from, sizeof(T));
  return true;
}

tp_status write_to(const tp_writer* out, std::string_view text) {
  tp_writer writer;
  if (!copy_in(out, writer) || writer.write == nullptr) return TP_INVALID_ARG;
  return writer.write(writer.writer_ctx, tp_str{text.data(), text.size()});
}

std::vector<std::string> label_values(const tp_str* values, size_t count) {
  std::vector<std::string> out;
  out.reserve(count);
  for (size_t i = 0; i < count; ++i) out.emplace_back(view(values[i]));
  return out;
}

// ---------------------------------------------------------------------------
// Timers and wake-ups: one thread, one priority queue, for every instance.
// Timer callbacks are posted onto the owning instance's executor; wake-ups
// call HostServices::mark_dirty from this thread (host code only).
// ---------------------------------------------------------------------------
class TimerService {
 public:
  static TimerService& get() {
    static TimerService service;
    return service;
  }

  ~TimerService() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
    // At process exit the remaining timers belong to abandoned instances whose
    // code may be wedged: their user data is leaked, not freed.
    for (auto& [id, timer] : timers_) timer->free_fn = nullptr;
  }

  tp_status start(tp_host* host, const tp_timer_desc& desc, uint64_t* out_id) {
    auto timer = std::make_shared<Timer>();
    timer->host = host;
    timer->interval_ms = desc.interval_ms;
    timer->fn = desc.fn;
    timer->user = desc.user;
    timer->free_fn = desc.free_fn;
    {
      std::lock_guard lock(mutex_);
      ensure_thread();
      timer->id = next_id_++;
      timers_.emplace(timer->id, timer);
      queue_.push(Due{Clock::now() + std::chrono::milliseconds(desc.delay_ms), timer->id});
    }
    cv_.notify_all();
    if (out_id != nullptr) *out_id = timer->id;
    return TP_OK;
  }

  tp_status cancel(tp_host* host, uint64_t timer_id) {
    std::shared_ptr<Timer> released;
    {
      std::lock_guard lock(mutex_);
      auto it = timers_.find(timer_id);
      if (it == timers_.end() || it->second->host != host) return TP_NOT_FOUND;
      it->second->cancelled.store(true, std::memory_order_release);
      released = std::move(it->second);
      timers_.erase(it);
    }
    // free_fn runs here unless a queued callback still holds the timer; then
    // it runs on the executor after that callback is skipped.
    released.reset();
    return TP_OK;
  }

  tp_status wake_at(tp_host* host, int64_t at_ms) {
    {
      std::lock_guard lock(mutex_);
      if (!wake_keys_.insert({host, at_ms}).second) return TP_OK;  // idempotent
      ensure_thread();
      const uint64_t id = next_id_++;
      wakes_.emplace(id, Wake{host, at_ms});
      const int64_t delay_ms = std::max<int64_t>(0, at_ms - tpark::now_ms());
      queue_.push(Due{Clock::now() + std::chrono::milliseconds(delay_ms), id});
    }
    cv_.notify_all();
    return TP_OK;
  }

  void release(tp_host* host) {
    std::vector<std::shared_ptr<Timer>> released;
    {
      std::lock_guard lock(mutex_);
      for (auto it = timers_.begin(); it != timers_.end();) {
        if (it->second->host == host) {
          it->second->cancelled.store(true, std::memory_order_release);
          released.push_back(std::move(it->second));
          it = timers_.erase(it);
        } else {
          ++it;
        }
      }
      for (auto it = wakes_.begin(); it != wakes_.end();) {
        if (it->second.host == host) {
          wake_keys_.erase({host, it->second.at_ms});
          it = wakes_.erase(it);
        } else {
          ++it;
        }
      }
    }
    released.clear();  // free_fn calls, outside the lock
  }

 private:
  using Clock = std::chrono::steady_clock;

  struct Timer {
    uint64_t id = 0;
    tp_host* host = nullptr;
    int64_t interval_ms = 0;
    tp_timer_fn fn = nullptr;
    void* user = nullptr;
    tp_free_fn free_fn = nullptr;
    std::atomic<bool> cancelled{false};
    std::atomic<bool> queued{false};  // a firing waits on the executor
    // The last holder releases the user data: exactly once (tp_timer_desc).
    ~Timer() {
      if (free_fn != nullptr) free_fn(user);
    }
  };
  struct Wake {
    tp_host* host = nullptr;
    int64_t at_ms = 0;
  };
  struct Due {
    Clock::time_point at;
    uint64_t id;
    bool operator>(const Due& other) const {
      return at != other.at ? at > other.at : id > other.id;
    }
  };

  TimerService() = default;

  void ensure_thread() {
    if (!thread_.joinable()) thread_ = std::thread([this] { run(); });
  }

  void run() {
    std::unique_lock lock(mutex_);
    while (!stopping_) {
      if (queue_.empty()) {
        cv_.wait(lock);
        continue;
      }
      const Due due = queue_.top();
      if (due.at > Clock::now()) {
        cv_.wait_until(lock, due.at);
        continue;
      }
      queue_.pop();
      if (auto it = timers_.find(due.id); it != timers_.end()) {
        fire(it, due, lock);
      } else if (auto wake = wakes_.find(due.id); wake != wakes_.end()) {
        const tp_host* host = wake->second.host;
        wake_keys_.erase({wake->second.host, wake->second.at_ms});
        wakes_.erase(wake);
        if (!usable(host) || !host->services->mark_dirty) continue;
        auto services = host->services;
        std::string plugin_id = host->plugin_id;
        lock.unlock();
        services->mark_dirty(plugin_id);
        lock.lock();
      }
    }
  }

  // Posts one firing onto the owner's executor (called with the lock held;
  // nothing of the plugin runs under it).
  void fire(std::unordered_map<uint64_t, std::shared_ptr<Timer>>::iterator it, const Due& due,
            std::unique_lock<std::mutex>& lock) {
    std::shared_ptr<Timer> timer = it->second;
    if (timer->interval_ms <= 0) {
      timers_.erase(it);  // one-shot: from now on cancel answers TP_NOT_FOUND
    } else {
      const auto next = due.at + std::chrono::milliseconds(timer->interval_ms);
      queue_.push(Due{std::max(next, Clock::now()), timer->id});
    }
    // A slow executor gets one pending firing per timer, not a backlog.
    if (timer->queued.exchange(true)) return;
    std::function<void()> task = [timer] {
      timer->queued.store(false);
      if (timer->cancelled.load(std::memory_order_acquire)) return;
      // Guarded like every call into a plugin (sdk.md rule 8): an exception
      // escaping the callback costs the instance an error, not the process.
      std::string detail;
      call_guarded(
          [&] {
            timer->fn(timer->user, timer->id);
            return TP_OK;
          },
          detail);
      if (!detail.empty() && timer->host->report_failure)
        timer->host->report_failure(failure_text("timer", TP_INTERNAL, detail));
    };
    if (timer->host->post && timer->host->post(task)) return;
    // The executor has stopped, so the timer is dead. Its user data is freed
    // outside the lock, or leaked if the instance was abandoned.
    timers_.erase(timer->id);
    if (timer->host->revoked.load()) timer->free_fn = nullptr;
    lock.unlock();
    task = nullptr;
    timer.reset();
    lock.lock();
  }

  std::mutex mutex_;
  std::condition_variable cv_;
  std::priority_queue<Due, std::vector<Due>, std::greater<>> queue_;
  std::unordered_map<uint64_t, std::shared_ptr<Timer>> timers_;
  std::unordered_map<uint64_t, Wake> wakes_;
  std::set<std::pair<const tp_host*, int64_t>> wake_keys_;
  uint64_t next_id_ = 1;
  bool stopping_ = false;
  std::thread thread_;
};

// ---------------------------------------------------------------------------
// The slots
// ---------------------------------------------------------------------------

tp_status slot_log(tp_host* host, int32_t level, tp_str message) {
  if (host == nullptr) return TP_INVALID_ARG;
  spdlog::level::level_enum spd;
  switch (level) {
    case TP_LOG_TRACE:
      spd = spdlog::level::trace;
      break;
    case TP_LOG_DEBUG:
      spd = spdlog::level::debug;
      break;
    case TP_LOG_INFO:
      spd = spdlog::level::info;
      break;
    case TP_LOG_WARN:
      spd = spdlog::level::warn;
      break;
    case TP_LOG_ERROR:
      spd = spdlog::level::err;
      break;
    default:
      return TP_INVALID_ARG;
  }
  spdlog::log(spd, "plugin {}: {}", host->plugin_id, view(message));
  if (level == TP_LOG_ERROR) note_plugin_error_line(view(message));
  return TP_OK;
}

tp_status slot_metric_register(tp_host* host, const tp_metric_desc* desc, uint64_t* out_handle) {
  if (!usable(host) || host->services->metrics == nullptr) return TP_UNAVAILABLE;
  tp_metric_desc local;
  if (!copy_in(desc, local) || out_handle == nullptr) return TP_INVALID_ARG;
  if (local.type < TP_METRIC_COUNTER || local.type > TP_METRIC_HISTOGRAM) return TP_INVALID_ARG;
  if ((local.label_count > 0 && local.label_names == nullptr) ||
      (local.bucket_count > 0 && local.buckets == nullptr))
    return TP_INVALID_ARG;
  std::vector<double> buckets(local.buckets, local.buckets + local.bucket_count);
  std::string error;
  const uint64_t handle = host->services->metrics->register_family(
      static_cast<MetricType>(local.type), view(local.name), view(local.help),
      label_values(local.label_names, local.label_count), buckets, &error);
  if (handle == 0) {
    spdlog::warn("plugin {}: metric_register refused: {}", host->plugin_id, error);
    return TP_INVALID_ARG;
  }
  *out_handle = handle;
  return TP_OK;
}

template <class Op>
tp_status metric_op(tp_host* host, const tp_str* values, size_t count, Op op) {
  if (!usable(host) || host->services->metrics == nullptr) return TP_UNAVAILABLE;
  if (count > 0 && values == nullptr) return TP_INVALID_ARG;
  // Views of the caller's label values: a series already known is found
  // without copying them.
  thread_local std::vector<std::string_view> labels;
  labels.clear();
  for (size_t i = 0; i < count; ++i) labels.push_back(view(values[i]));
  return op(*host->services->metrics, MetricRegistry::LabelValues(labels)) ? TP_OK : TP_INVALID_ARG;
}

tp_status slot_metric_add(tp_host* host, uint64_t handle, const tp_str* values, size_t count,
                          double value) {
  return metric_op(host, values, count, [&](MetricRegistry& m, const auto& labels) {
    return m.add_values(handle, labels, value);
  });
}

tp_status slot_metric_set(tp_host* host, uint64_t handle, const tp_str* values, size_t count,
                          double value) {
  return metric_op(host, values, count, [&](MetricRegistry& m, const auto& labels) {
    return m.set_values(handle, labels, value);
  });
}

tp_status slot_metric_observe(tp_host* host, uint64_t handle, const tp_str* values, size_t count,
                              double value) {
  return metric_op(host, values, count, [&](MetricRegistry& m, const auto& labels) {
    return m.observe_values(handle, labels, value);
  });
}

tp_status slot_metric_remove(tp_host* host, uint64_t handle, const tp_str* values, size_t count) {
  const tp_status status = metric_op(
      host, values, count,
      [&](MetricRegistry& m, const auto& labels) { return m.remove_values(handle, labels); });
  return status == TP_INVALID_ARG ? TP_NOT_FOUND : status;
}

tp_status slot_config_get(tp_host* host, const tp_writer* out) {
  if (host == nullptr) return TP_INVALID_ARG;
  return write_to(out, host->config_json);
}

tp_status slot_state_read(tp_host* host, tp_str name, const tp_writer* out) {
  if (!usable(host)) return TP_UNAVAILABLE;
  const std::string key(view(name));
  std::optional<Json> value;
  try {
    if (host->services->state_read) value = host->services->state_read(key);
    // The host start time is part of HostServices itself, so it is served
    // even before the app wires its state reads.
    if (!value && key == "events_start")
      value = Json{{"start", format_rfc3339_ms(host->services->events_start_ms)},
                   {"start_ms", host->services->events_start_ms},
                   {"start_id", host->services->events_start_id}};
  } catch (const std::exception& e) {
    spdlog::warn("plugin {}: state_read {} failed: {}", host->plugin_id, key, e.what());
    return TP_UNAVAILABLE;
  }
  if (!value) return is_known_state_name(key) ? TP_UNAVAILABLE : TP_NOT_FOUND;
  // The app answers null for a known name whose capability is not there yet.
  if (value->is_null()) return TP_UNAVAILABLE;
  return write_to(out, value->dump());
}

int64_t slot_now_ms(tp_host*) {
  return tpark::now_ms();
}
int64_t slot_monotonic_ns(tp_host*) {
  return tpark::monotonic_ns();
}

tp_status slot_timer_start(tp_host* host, const tp_timer_desc* desc, uint64_t* out_timer_id) {
  if (!usable(host)) return TP_UNAVAILABLE;
  if (!host->post) return TP_UNSUPPORTED;  // the instance has no executor
  tp_timer_desc local;
  if (!copy_in(desc, local) || local.fn == nullptr || local.delay_ms < 0 || local.interval_ms < 0)
    return TP_INVALID_ARG;
  return TimerService::get().start(host, local, out_timer_id);
}

tp_status slot_timer_cancel(tp_host* host, uint64_t timer_id) {
  if (host == nullptr) return TP_INVALID_ARG;
  return TimerService::get().cancel(host, timer_id);
}

tp_status slot_wake_at(tp_host* host, int64_t at_ms) {
  if (!usable(host)) return TP_UNAVAILABLE;
  return TimerService::get().wake_at(host, at_ms);
}

tp_status slot_emit(tp_host* host, tp_str kind, tp_str payload_json, int64_t* out_id) {
  if (host == nullptr) return TP_INVALID_ARG;
  const std::string_view kind_text = view(kind);
  if (!kind_is_valid(kind_text) || kind_is_stream(kind_text)) return TP_INVALID_ARG;
  // Host-owned kinds (telemetry.md 1.1) are the host's word on its own state:
  // a plugin cannot forge them, as ingest cannot (reserved_kind).
  if (kind_is_host_owned(kind_text)) {
    if (host->report_failure)
      host->report_failure("emit: kind " + std::string(kind_text) +
                           " is host-owned; refused (TP_INVALID_ARG)");
    return TP_INVALID_ARG;
  }
  std::string payload = "{}";
  if (payload_json.len > 0) {
    auto canonical = canonicalize_json(view(payload_json));
    if (!canonical) return TP_INVALID_ARG;
    payload = std::move(*canonical);
  }
  if (!usable(host) || host->services->journal == nullptr) return TP_UNAVAILABLE;
  NewEvent event;
  event.kind = std::string(kind_text);
  event.payload = std::move(payload);
  event.time_ms = tpark::now_ms();
  event.source = plugin_event_source(host->plugin_id);
  try {
    std::vector<NewEvent> batch;
    batch.push_back(std::move(event));
    auto committed = host->services->journal->append(std::move(batch));
    if (out_id != nullptr) *out_id = committed.empty() ? 0 : committed.front()->id;
    return TP_OK;
  } catch (const JournalUnavailable& e) {
    spdlog::warn("plugin {}: emit failed: {}", host->plugin_id, e.what());
    return TP_UNAVAILABLE;
  } catch (const std::exception& e) {
    spdlog::error("plugin {}: emit failed: {}", host->plugin_id, e.what());
    return TP_INTERNAL;
  }
}

void* slot_alloc(tp_host*, size_t size) {
  return std::malloc(size == 0 ? 1 : size);
}
void slot_free_buf(tp_host*, void* ptr) {
  std::free(ptr);
}

// ABI 1.2: journal rows as NDJSON envelopes, ascending (orchestrators).
tp_status slot_journal_read(tp_host* host, int64_t after_id, tp_str kind_prefix, uint64_t limit,
                            const tp_writer* out) {
  constexpr uint64_t kPageRows = 1000;
  if (host == nullptr || after_id < 0) return TP_INVALID_ARG;
  if (!usable(host) || host->services->journal == nullptr) return TP_UNAVAILABLE;
  std::vector<std::string> prefixes;
  if (kind_prefix.len > 0) prefixes.emplace_back(view(kind_prefix));
  const auto page = host->services->journal->read_after(
      after_id, prefixes, static_cast<size_t>(limit == 0 ? kPageRows : limit));
  std::string text;
  for (const auto& event : page.items) {
    text += envelope_json(*event);
    text += '\n';
  }
  return write_to(out, text);
}

// ABI 1.2: a job's progress, result or failure; the host commits it.
tp_status slot_job_report(tp_host* host, tp_str job_id, uint32_t kind, tp_str json) {
  if (host == nullptr) return TP_INVALID_ARG;
  if (!usable(host) || !host->services->job_report) return TP_UNAVAILABLE;
  return host->services->job_report(host->plugin_id, view(job_id), kind, view(json));
}

// ABI 1.2: a source's messages, validated as ingest lines and journaled in
// one transaction; the rejected ones are counted under the source's name.
tp_status slot_ingest_lines(tp_host* host, const tp_ingest_line* lines, size_t count,
                            uint64_t* out_accepted) {
  if (host == nullptr || (lines == nullptr && count > 0)) return TP_INVALID_ARG;
  if (host->event_source.empty()) return TP_UNSUPPORTED;
  if (!usable(host) || host->services->journal == nullptr) return TP_UNAVAILABLE;
  IngestOptions options;
  options.source = host->event_source;
  const int64_t receive_ms = tpark::now_ms();
  std::vector<NewEvent> events;
  events.reserve(count);
  std::vector<IngestRejection> rejected;
  for (size_t i = 0; i < count; ++i) {
    tp_ingest_line line{};
    std::memcpy(&line, &lines[i], std::min<size_t>(lines[i].struct_size, sizeof line));
    if (line.rejected.len > 0) {
      rejected.push_back({i + 1, std::string(view(line.rejected))});
      continue;
    }
    NewEvent event;
    if (auto failure = parse_source_message(view(line.body), view(line.node), view(line.kind_hint),
                                            receive_ms, options, event))
      rejected.push_back({i + 1, std::move(*failure)});
    else
      events.push_back(std::move(event));
  }
  if (!rejected.empty() && host->services->ingest_rejected)
    host->services->ingest_rejected(host->event_source, rejected);
  const uint64_t accepted = events.size();
  if (!events.empty()) {
    try {
      host->services->journal->append(std::move(events));
    } catch (const JournalUnavailable& e) {
      spdlog::warn("plugin {}: ingest failed: {}", host->plugin_id, e.what());
      return TP_UNAVAILABLE;
    }
  }
  if (out_accepted != nullptr) *out_accepted = accepted;
  return TP_OK;
}

// Slots are C function pointers; an exception must never unwind through the
// plugin's frames, so each slot is wrapped once here.
template <auto Slot, class R, class... Args>
R guarded_slot(Args... args) noexcept {
  try {
    return Slot(args...);
  } catch (const std::exception& e) {
    spdlog::error("host API slot failed: {}", e.what());
  } catch (...) {
    spdlog::error("host API slot failed with an unknown exception");
  }
  if constexpr (std::is_same_v<R, tp_status>)
    return TP_INTERNAL;
  else if constexpr (!std::is_void_v<R>)
    return R{};
}

tp_host_api make_table() {
  tp_host_api api{};
  api.struct_size = sizeof(tp_host_api);
  api.abi_minor = TP_ABI_MINOR;
  api.log = &guarded_slot<slot_log, tp_status, tp_host*, int32_t, tp_str>;
  api.metric_register =
      &guarded_slot<slot_metric_register, tp_status, tp_host*, const tp_metric_desc*, uint64_t*>;
  api.metric_add =
      &guarded_slot<slot_metric_add, tp_status, tp_host*, uint64_t, const tp_str*, size_t, double>;
  api.metric_set =
      &guarded_slot<slot_metric_set, tp_status, tp_host*, uint64_t, const tp_str*, size_t, double>;
  api.metric_observe = &guarded_slot<slot_metric_observe, tp_status, tp_host*, uint64_t,
                                     const tp_str*, size_t, double>;
  api.metric_remove =
      &guarded_slot<slot_metric_remove, tp_status, tp_host*, uint64_t, const tp_str*, size_t>;
  api.config_get = &guarded_slot<slot_config_get, tp_status, tp_host*, const tp_writer*>;
  api.state_read = &guarded_slot<slot_state_read, tp_status, tp_host*, tp_str, const tp_writer*>;
  api.now_ms = &guarded_slot<slot_now_ms, int64_t, tp_host*>;
  api.monotonic_ns = &guarded_slot<slot_monotonic_ns, int64_t, tp_host*>;
  api.timer_start =
      &guarded_slot<slot_timer_start, tp_status, tp_host*, const tp_timer_desc*, uint64_t*>;
  api.timer_cancel = &guarded_slot<slot_timer_cancel, tp_status, tp_host*, uint64_t>;
  api.wake_at = &guarded_slot<slot_wake_at, tp_status, tp_host*, int64_t>;
  api.emit = &guarded_slot<slot_emit, tp_status, tp_host*, tp_str, tp_str, int64_t*>;
  api.alloc = &guarded_slot<slot_alloc, void*, tp_host*, size_t>;
  api.free_buf = &guarded_slot<slot_free_buf, void, tp_host*, void*>;
  api.journal_read = &guarded_slot<slot_journal_read, tp_status, tp_host*, int64_t, tp_str,
                                   uint64_t, const tp_writer*>;
  api.job_report = &guarded_slot<slot_job_report, tp_status, tp_host*, tp_str, uint32_t, tp_str>;
  api.ingest_lines = &guarded_slot<slot_ingest_lines, tp_status, tp_host*, const tp_ingest_line*,
                                   size_t, uint64_t*>;
  return api;
}

}  // namespace

const tp_host_api* host_api_table() {
  static const tp_host_api table = make_table();
  return &table;
}

void release_host_timers(tp_host* host) {
  TimerService::get().release(host);
}

std::string plugin_event_source(std::string_view plugin_id) {
  return "plugin:" + std::string(plugin_id);
}

bool is_known_state_name(const std::string& name) {
  return std::find(kStateReadNames.begin(), kStateReadNames.end(), name) != kStateReadNames.end();
}

}  // namespace tpark
