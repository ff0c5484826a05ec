#include "plugins/exporter_runtime.h"

#include <algorithm>

#include <spdlog/spdlog.h>

#include "plugins/host_api.h"
#include "plugins/plugin_call.h"
#include "plugins/plugin_manager.h"
#include "util/time.h"

namespace tpark {
namespace {

constexpr uint32_t kDefaultMaxBatchItems = 64;
constexpr int64_t kDefaultSnapshotIntervalMs = 10000;

// Instances that did not stop in time: kept alive (and their code mapped)
// for the life of the process, never destroyed.
void leak_forever(std::shared_ptr<ExporterInstance> instance) {
  static std::mutex mutex;
  static auto* abandoned = new std::vector<std::shared_ptr<ExporterInstance>>();
  std::lock_guard lock(mutex);
  abandoned->push_back(std::move(instance));
}

uint32_t wants_bit(uint32_t type) {
  switch (type) {
    case TP_EXPORT_SNAPSHOT:
      return TP_EXPORT_WANTS_SNAPSHOTS;
    case TP_EXPORT_PATCH:
      return TP_EXPORT_WANTS_PATCHES;
    case TP_EXPORT_METRICS:
      return TP_EXPORT_WANTS_METRICS;
    default:
      return 0;
  }
}

}  // namespace

// ---------------------------------------------------------------------------
// ExporterInstance
// ---------------------------------------------------------------------------

ExporterInstance::ExporterInstance(ExporterSpec spec, std::shared_ptr<const HostServices> services)
    : spec_(std::move(spec)), services_(std::move(services)), host_(std::make_unique<tp_host>()) {
  host_->plugin_id = spec_.plugin_id;
  host_->services = services_;
  host_->config_json = spec_.config_json;
  spec_.queue_capacity = std::max<size_t>(1, spec_.queue_capacity);
}

ExporterInstance::~ExporterInstance() {
  // Reached after shutdown or a failed start; abandoned instances are never
  // destroyed. Without a shutdown the worker is still told to stop.
  if (worker_.joinable()) {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    cv_.notify_all();
    worker_.join();
  }
}

bool ExporterInstance::wants(uint32_t type) const {
  return (spec_.desc.wants & wants_bit(type)) != 0;
}

std::chrono::milliseconds ExporterInstance::snapshot_interval() const {
  return std::chrono::milliseconds(spec_.desc.snapshot_interval_ms > 0
                                       ? spec_.desc.snapshot_interval_ms
                                       : kDefaultSnapshotIntervalMs);
}

std::optional<std::string> ExporterInstance::start() {
  std::weak_ptr<ExporterInstance> weak = weak_from_this();
  host_->post = [weak](std::function<void()>& task) {
    auto self = weak.lock();
    return self != nullptr && self->post(task);
  };
  host_->report_failure = [weak](const std::string& message) {
    auto self = weak.lock();
    if (self == nullptr) return;
    const uint64_t count = self->note_error(message);
    // A callback failing on every tick would flood the log: powers of two only.
    if ((count & (count - 1)) == 0)
      spdlog::warn("exporter {}: {} (errors so far: {})", self->spec_.plugin_id, message, count);
  };
  tp_error err = make_error();
  std::string detail;
  void* ctx = nullptr;
  tp_status status = call_guarded(
      [&] {
        return spec_.desc.create(host_api_table(), host_.get(), as_tp_str(spec_.config_json), &ctx,
                                 &err);
      },
      detail);
  if (status != TP_OK) {
    release_host_timers(host_.get());
    host_->revoked = true;
    if (detail.empty()) detail = error_text(err);
    return failure_text("create", status, detail);
  }
  ctx_ = ctx;
  created_ = true;
  err = make_error();
  status = call_guarded([&] { return spec_.desc.start(ctx_, &err); }, detail);
  if (status != TP_OK) {
    if (detail.empty()) detail = error_text(err);
    std::string ignored;
    release_host_timers(host_.get());
    call_guarded([&] { return spec_.desc.destroy(ctx_); }, ignored);
    created_ = false;
    host_->revoked = true;
    return failure_text("start", status, detail);
  }
  worker_ = std::thread([this] { run(); });
  return std::nullopt;
}

void ExporterInstance::offer(uint32_t type, const std::shared_ptr<const std::string>& body,
                             int64_t time_ms) {
  if (!wants(type)) return;
  {
    std::lock_guard lock(mutex_);
    if (stopping_ || worker_exited_) return;
    if (queue_.size() >= spec_.queue_capacity) {
      queue_.pop_front();  // the oldest goes: what is newest matters most to a sink
      ++dropped_;
      last_error_ =
          "queue full (" + std::to_string(spec_.queue_capacity) + " items); oldest dropped";
    }
    queue_.push_back(Item{type, time_ms, body});
  }
  cv_.notify_one();
}

bool ExporterInstance::post(std::function<void()>& task) {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ || worker_exited_) return false;
    tasks_.push_back(std::move(task));
  }
  cv_.notify_one();
  return true;
}

void ExporterInstance::run_tasks(std::unique_lock<std::mutex>& lock) {
  while (!tasks_.empty()) {
    std::function<void()> task = std::move(tasks_.front());
    tasks_.pop_front();
    lock.unlock();
    task();
    task = nullptr;
    lock.lock();
  }
}

void ExporterInstance::run() {
  const size_t max_items =
      spec_.desc.max_batch_items > 0 ? spec_.desc.max_batch_items : kDefaultMaxBatchItems;
  std::unique_lock lock(mutex_);
  while (true) {
    cv_.wait(lock, [&] { return stopping_ || (!held_ && !queue_.empty()) || !tasks_.empty(); });
    if (!stopping_) run_tasks(lock);
    if (queue_.empty() || held_ || handed_back_) {
      if (stopping_) break;
      continue;
    }
    std::vector<Item> batch;
    const size_t n = std::min(max_items, queue_.size());
    batch.reserve(n);
    for (size_t i = 0; i < n; ++i) {
      batch.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
    deliver(std::move(batch), lock);
  }
  worker_exited_ = true;
  tasks_.clear();
  cv_.notify_all();
}

// Called and returns with `lock` held; released around each plugin call.
void ExporterInstance::deliver(std::vector<Item> batch, std::unique_lock<std::mutex>& lock) {
  std::vector<tp_export_item> items(batch.size());
  std::vector<const tp_export_item*> pointers(batch.size());
  for (size_t i = 0; i < batch.size(); ++i) {
    items[i].struct_size = sizeof(tp_export_item);
    items[i].type = batch[i].type;
    items[i].time_ms = batch[i].time_ms;
    items[i].body = as_tp_str(*batch[i].body);
    pointers[i] = &items[i];
  }
  tp_export_batch request{};
  request.struct_size = sizeof request;
  request.sequence = ++sequence_;
  request.items = pointers.data();
  request.item_count = pointers.size();
  auto backoff = spec_.backoff_initial;
  for (uint32_t attempt = 0;; ++attempt) {
    request.attempt = attempt;
    in_flight_since_ = std::chrono::steady_clock::now();
    lock.unlock();
    tp_error err = make_error();
    std::string detail;
    const tp_status status =
        call_guarded([&] { return spec_.desc.export_batch(ctx_, &request, &err); }, detail);
    if (detail.empty()) detail = error_text(err);
    lock.lock();
    in_flight_since_.reset();
    if (status == TP_OK) {
      sent_ += batch.size();
      last_call_failed_ = false;
      retrying_ = false;
      return;
    }
    if (status == TP_RETRY) {
      ++retried_;
      retrying_ = true;
      last_error_ = "export_batch: TP_RETRY" + (detail.empty() ? "" : ": " + detail);
      // Draining for stop delivers each batch once: no waiting on retries.
      if (!stopping_) {
        cv_.wait_for(lock, backoff, [&] { return stopping_; });
        backoff = std::min(backoff * 2, spec_.backoff_max);
      }
      if (!stopping_) continue;
      if (handing_off_) {
        // A swap: the successor gets this batch, ahead of the rest.
        for (auto it = batch.rbegin(); it != batch.rend(); ++it) queue_.push_front(std::move(*it));
        handed_back_ = true;
        return;
      }
      dropped_ += batch.size();
      return;
    }
    dropped_ += batch.size();
    ++error_count_;
    last_call_failed_ = true;
    last_error_ = failure_text("export_batch", status, detail);
    spdlog::warn("exporter {}: {} ({} items dropped)", spec_.plugin_id, *last_error_, batch.size());
    return;
  }
}

uint64_t ExporterInstance::note_error(const std::string& message) {
  std::lock_guard lock(mutex_);
  ++error_count_;
  last_call_failed_ = true;
  last_error_ = message;
  return error_count_;
}

PluginHealth ExporterInstance::health() const {
  std::lock_guard lock(mutex_);
  PluginHealth health;
  health.error_count = error_count_;
  health.last_error = last_error_;
  const bool stalled = in_flight_since_ &&
                       std::chrono::steady_clock::now() - *in_flight_since_ > spec_.stall_timeout;
  const bool full = queue_.size() >= spec_.queue_capacity;
  health.ok = !last_call_failed_ && !retrying_ && !stalled && !full && !worker_exited_;
  if (stalled) {
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::steady_clock::now() - *in_flight_since_)
                        .count();
    health.last_error = "export_batch has not returned for " + std::to_string(ms) + " ms";
  }
  return health;
}

ExporterCounters ExporterInstance::counters() const {
  std::lock_guard lock(mutex_);
  ExporterCounters c;
  c.queue_depth = queue_.size();
  c.queue_capacity = spec_.queue_capacity;
  c.sent = sent_;
  c.retried = retried_;
  c.dropped = dropped_;
  c.last_error = last_error_;
  return c;
}

void ExporterInstance::abandon(std::chrono::milliseconds stop_timeout) {
  spdlog::error("plugin {} did not stop within {} ms; abandoned", spec_.plugin_id,
                stop_timeout.count());
  host_->revoked = true;
  note_error("did not stop within " + std::to_string(stop_timeout.count()) + " ms; abandoned");
  if (worker_.joinable()) worker_.detach();
  leak_forever(shared_from_this());
}

bool ExporterInstance::shutdown(std::chrono::milliseconds stop_timeout) {
  if (!created_) return true;
  const auto deadline = std::chrono::steady_clock::now() + stop_timeout;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  bool drained = false;
  {
    std::unique_lock lock(mutex_);
    drained = !worker_.joinable() || cv_.wait_until(lock, deadline, [&] { return worker_exited_; });
  }
  if (!drained) {
    abandon(stop_timeout);
    return false;
  }
  if (worker_.joinable()) worker_.join();
  return stop_and_destroy(deadline, stop_timeout);
}

bool ExporterInstance::stop_and_destroy(std::chrono::steady_clock::time_point deadline,
                                        std::chrono::milliseconds stop_timeout) {
  // stop() may block: it runs on a helper thread, abandoned with the
  // instance if it does not return in time.
  auto self = shared_from_this();
  auto stopped = call_stop_until(
      deadline, [self](tp_error* err) { return self->spec_.desc.stop(self->ctx_, err); });
  if (!stopped) {
    abandon(stop_timeout);
    return false;
  }
  if (stopped->status != TP_OK) note_error(failure_text("stop", stopped->status, stopped->detail));
  release_host_timers(host_.get());
  std::string detail;
  const tp_status status = call_guarded([&] { return spec_.desc.destroy(ctx_); }, detail);
  if (status != TP_OK) note_error(failure_text("destroy", status, detail));
  created_ = false;
  ctx_ = nullptr;
  host_->revoked = true;
  return true;
}

struct ExporterInstance::HandedOff {
  std::deque<Item> items;
};

void ExporterInstance::hold() {
  std::lock_guard lock(mutex_);
  held_ = true;
}

std::shared_ptr<ExporterInstance::HandedOff> ExporterInstance::hand_off(
    std::chrono::milliseconds stop_timeout, bool* stopped) {
  auto handed = std::make_shared<HandedOff>();
  *stopped = true;
  if (!created_) return handed;
  const auto deadline = std::chrono::steady_clock::now() + stop_timeout;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    handing_off_ = true;
  }
  cv_.notify_all();
  bool drained = false;
  {
    std::unique_lock lock(mutex_);
    drained = !worker_.joinable() || cv_.wait_until(lock, deadline, [&] { return worker_exited_; });
    // What the worker did not take (or put back) goes on; a worker still in
    // export_batch finds an empty queue when it returns.
    handed->items = std::move(queue_);
    queue_.clear();
  }
  if (!drained) {
    abandon(stop_timeout);
    *stopped = false;
    return handed;
  }
  if (worker_.joinable()) worker_.join();
  *stopped = stop_and_destroy(deadline, stop_timeout);
  return handed;
}

void ExporterInstance::release(std::shared_ptr<HandedOff> handed) {
  {
    std::lock_guard lock(mutex_);
    if (handed) {
      for (auto it = handed->items.rbegin(); it != handed->items.rend(); ++it)
        queue_.push_front(std::move(*it));
    }
    while (queue_.size() > spec_.queue_capacity) {
      queue_.pop_front();
      ++dropped_;
      last_error_ =
          "queue full (" + std::to_string(spec_.queue_capacity) + " items); oldest dropped";
    }
    held_ = false;
  }
  cv_.notify_all();
}

// ---------------------------------------------------------------------------
// ExporterRuntime
// ---------------------------------------------------------------------------

ExporterRuntime::ExporterRuntime(Feeds feeds) : feeds_(std::move(feeds)) {}

ExporterRuntime::~ExporterRuntime() {
  stop_feeding();
}

void ExporterRuntime::add(std::shared_ptr<ExporterInstance> instance) {
  const bool wants_patches = instance->wants(TP_EXPORT_PATCH);
  bool first_for_patches = false;
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    {
      std::unique_lock instances(instances_mutex_);
      first_for_patches = wants_patches && patch_takers_++ == 0;
      // The first snapshot goes out at once, then at the instance's interval.
      instances_.push_back(
          Fed{std::move(instance), std::chrono::steady_clock::now(), ++next_slot_});
    }
    changed_ = true;
    if (!feeder_.joinable()) feeder_ = std::thread([this] { feed_loop(); });
  }
  cv_.notify_all();
  if (first_for_patches && feeds_.patches_wanted) feeds_.patches_wanted(true);
}

void ExporterRuntime::remove(const std::shared_ptr<ExporterInstance>& instance) {
  bool last_for_patches = false;
  {
    std::unique_lock instances(instances_mutex_);
    const auto before = instances_.size();
    instances_.erase(std::remove_if(instances_.begin(), instances_.end(),
                                    [&](const Fed& fed) { return fed.instance == instance; }),
                     instances_.end());
    if (instances_.size() != before && instance->wants(TP_EXPORT_PATCH))
      last_for_patches = --patch_takers_ == 0;
  }
  if (last_for_patches && feeds_.patches_wanted) feeds_.patches_wanted(false);
}

void ExporterRuntime::replace(const std::shared_ptr<ExporterInstance>& outgoing,
                              std::shared_ptr<ExporterInstance> successor) {
  bool first_for_patches = false, last_for_patches = false, found = false;
  {
    std::unique_lock instances(instances_mutex_);
    for (auto& fed : instances_) {
      if (fed.instance != outgoing) continue;
      found = true;
      const bool was = outgoing->wants(TP_EXPORT_PATCH);
      const bool is = successor->wants(TP_EXPORT_PATCH);
      if (is && !was) first_for_patches = patch_takers_++ == 0;
      if (was && !is) last_for_patches = --patch_takers_ == 0;
      fed.instance = successor;
      break;
    }
  }
  if (!found) return add(std::move(successor));
  {
    std::lock_guard lock(mutex_);
    changed_ = true;  // its interval may be shorter
  }
  cv_.notify_all();
  if (first_for_patches && feeds_.patches_wanted) feeds_.patches_wanted(true);
  if (last_for_patches && feeds_.patches_wanted) feeds_.patches_wanted(false);
}

void ExporterRuntime::stop_feeding() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (feeder_.joinable()) feeder_.join();
}

void ExporterRuntime::offer_patch(const std::string& read_model_id,
                                  std::shared_ptr<const std::string> frame, int64_t published_ms) {
  (void)read_model_id;  // 1.1: every exporter that wants patches gets every read model's
  // Offered under the shared lock: a swap (replace) never falls between
  // choosing an instance and queueing on it.
  std::shared_lock instances(instances_mutex_);
  for (const auto& fed : instances_)
    if (fed.instance->wants(TP_EXPORT_PATCH))
      fed.instance->offer(TP_EXPORT_PATCH, frame, published_ms);
}

// One thread for all exporters: when an instance is due it gets the current
// snapshot and/or metric samples, each built once per round for all of the
// instances due in it. Building a snapshot renders sections; it never runs
// with the runtime's lock held.
void ExporterRuntime::feed_loop() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    changed_ = false;
    const auto now = std::chrono::steady_clock::now();
    std::vector<uint64_t> due;
    bool want_snapshot = false, want_metrics = false;
    auto next = now + std::chrono::seconds(60);
    {
      std::unique_lock instances(instances_mutex_);
      for (auto& fed : instances_) {
        const bool snapshots = fed.instance->wants(TP_EXPORT_SNAPSHOT);
        const bool metrics = fed.instance->wants(TP_EXPORT_METRICS);
        if (!snapshots && !metrics) continue;
        if (fed.next_due <= now) {
          due.push_back(fed.slot);
          want_snapshot = want_snapshot || snapshots;
          want_metrics = want_metrics || metrics;
          fed.next_due = now + fed.instance->snapshot_interval();
        }
        next = std::min(next, fed.next_due);
      }
    }
    if (due.empty()) {
      // An instance added meanwhile is due at once: wake for it too.
      cv_.wait_until(lock, next, [&] { return stopping_ || changed_; });
      continue;
    }
    lock.unlock();
    const int64_t time_ms = now_ms();
    std::shared_ptr<const std::string> snapshot, metrics;
    if (want_snapshot && feeds_.snapshot) {
      if (auto body = feeds_.snapshot())
        snapshot = std::make_shared<const std::string>(std::move(*body));
    }
    if (want_metrics && feeds_.metrics)
      metrics = std::make_shared<const std::string>(feeds_.metrics());
    {
      // By slot, under the shared lock: an instance swapped out meanwhile
      // passes its round to its successor.
      std::shared_lock instances(instances_mutex_);
      for (const auto& fed : instances_) {
        if (std::find(due.begin(), due.end(), fed.slot) == due.end()) continue;
        if (snapshot) fed.instance->offer(TP_EXPORT_SNAPSHOT, snapshot, time_ms);
        if (metrics) fed.instance->offer(TP_EXPORT_METRICS, metrics, time_ms);
      }
    }
    lock.lock();
  }
}

}  // namespace tpark
