#include "plugins/section_runtime.h"

#include <algorithm>
#include <cstring>
#include <map>

#include <spdlog/spdlog.h>

#include "kernel/journal.h"
#include "plugins/host_api.h"
#include "plugins/plugin_call.h"
#include "plugins/plugin_manager.h"
#include "util/json.h"

namespace tpark {
namespace {

// Journal rows read per page while priming; pending renders and timer
// callbacks run between pages, so a long recount does not time renders out.
constexpr size_t kPrimePageRows = 1024;
// Live events delivered per executor turn before pending tasks get a look in.
constexpr size_t kEventBatch = 256;
// A render larger than this is refused (TP_TOO_LARGE to the plugin).
constexpr size_t kMaxRenderBytes = 64u << 20;

// Instances that did not stop in time: kept alive (and their code mapped)
// for the life of the process, never destroyed.
void leak_forever(std::shared_ptr<SectionInstance> instance) {
  static std::mutex mutex;
  static auto* abandoned = new std::vector<std::shared_ptr<SectionInstance>>();
  std::lock_guard lock(mutex);
  abandoned->push_back(std::move(instance));
}

// Whether valid JSON `text` has the shape: its first character says its type,
// so no document is built.
bool shape_ok(std::string_view text, SectionShape shape) {
  const size_t first = text.find_first_not_of(" \t\r\n");
  const char c = first == std::string_view::npos ? '\0' : text[first];
  switch (shape) {
    case SectionShape::Any:
      return true;
    case SectionShape::Object:
      return c == '{';
    case SectionShape::Array:
      return c == '[';
    case SectionShape::ObjectOrNull:
      return c == '{' || c == 'n';
  }
  return false;
}


// The host's writer for render output: appends, bounded.
struct RenderBuffer {
  std::string text;
  static tp_status write(void* ctx, tp_str bytes) noexcept {
    auto* self = static_cast<RenderBuffer*>(ctx);
    if (bytes.len > 0 && bytes.ptr == nullptr) return TP_INVALID_ARG;
    if (self->text.size() + bytes.len > kMaxRenderBytes) return TP_TOO_LARGE;
    try {
      self->text.append(bytes.ptr, bytes.len);
      return TP_OK;
    } catch (...) {
      return TP_NO_MEMORY;
    }
  }
};

}  // namespace

// ---------------------------------------------------------------------------
// RenderTicket
// ---------------------------------------------------------------------------

std::optional<RenderTicket::Outcome> RenderTicket::wait_until(
    std::chrono::steady_clock::time_point deadline) {
  std::unique_lock lock(mutex_);
  if (!cv_.wait_until(lock, deadline, [&] { return done_; })) return std::nullopt;
  return outcome_;
}

void RenderTicket::finish(Outcome outcome) {
  {
    std::lock_guard lock(mutex_);
    if (done_) return;
    outcome_ = std::move(outcome);
    done_ = true;
  }
  cv_.notify_all();
}

bool RenderTicket::done() const {
  std::lock_guard lock(mutex_);
  return done_;
}

// ---------------------------------------------------------------------------
// SectionInstance
// ---------------------------------------------------------------------------

SectionInstance::SectionInstance(SectionSpec spec, std::shared_ptr<const HostServices> services)
    : spec_(std::move(spec)), services_(std::move(services)), host_(std::make_unique<tp_host>()) {
  host_->plugin_id = spec_.plugin_id;
  host_->services = services_;
  host_->config_json = spec_.config_json;
}

SectionInstance::~SectionInstance() {
  // Normally reached after shutdown (or a failed start), when the executor has
  // exited or never ran; abandoned instances are never destroyed. Without a
  // shutdown the executor is still told to stop, so this never hangs on it.
  if (executor_.joinable()) {
    {
      std::lock_guard lock(mutex_);
      stopping_.store(true, std::memory_order_release);
    }
    cv_.notify_all();
    executor_.join();
  }
}

std::optional<std::string> SectionInstance::start() {
  // Timer callbacks land on this instance's executor.
  std::weak_ptr<SectionInstance> weak = weak_from_this();
  host_->post = [weak](std::function<void()>& task) {
    auto self = weak.lock();
    return self != nullptr && self->post(task);
  };
  host_->report_failure = [weak](const std::string& message) {
    if (auto self = weak.lock()) self->record_failure(message);
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
    release_host_timers(host_.get());  // in case create started any before failing
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

  // Subscribe before priming: whatever the bus offers from now on is either
  // read by the priming pass from the journal or found in the inbox after it.
  {
    std::lock_guard lock(mutex_);
    reprime_requested_ = true;
  }
  if (spec_.subscribes && services_->bus != nullptr)
    subscription_id_ = services_->bus->subscribe(shared_from_this());
  executor_ = std::thread([this] { run(); });
  return std::nullopt;
}

size_t SectionInstance::offer(std::span<const EventPtr> events) {
  size_t accepted = 0;
  {
    std::lock_guard lock(mutex_);
    // Late offers after shutdown began are taken and dropped: not lag.
    if (stopping()) return events.size();
    const size_t room =
        spec_.inbox_capacity > inbox_.size() ? spec_.inbox_capacity - inbox_.size() : 0;
    accepted = std::min(room, events.size());
    inbox_.insert(inbox_.end(), events.begin(), events.begin() + static_cast<ptrdiff_t>(accepted));
    if (accepted < events.size()) {
      // Overflow (telemetry.md 1.2): the rest count in bus.lagged and the
      // executor rebuilds this section from the journal.
      dropped_events_.fetch_add(events.size() - accepted, std::memory_order_relaxed);
      reprime_requested_ = true;
    }
  }
  cv_.notify_one();
  return accepted;
}

bool SectionInstance::post(std::function<void()>& task) {
  {
    std::lock_guard lock(mutex_);
    if (stopping() || executor_exited_) return false;
    tasks_.push_back(std::move(task));
  }
  cv_.notify_one();
  return true;
}

bool SectionInstance::wait_primed(std::chrono::steady_clock::time_point deadline) {
  std::unique_lock lock(mutex_);
  return primed_cv_.wait_until(lock, deadline,
                               [&] { return primed_ || executor_exited_ || stopping(); });
}

std::shared_ptr<RenderTicket> SectionInstance::request_render(int64_t min_id) {
  std::shared_ptr<RenderTicket> ticket;
  {
    std::lock_guard lock(mutex_);
    // A queued render answers this request too (it waits for the higher id),
    // and so does a running one that already reflects min_id, so a wedged
    // plugin does not collect a backlog of renders. A running render that
    // may miss events up to min_id is not shared: the new request queues
    // its own (the running one keeps its ticket).
    if (pending_render_ && !pending_render_->done() &&
        (render_queued_ || min_id <= render_min_id_)) {
      if (render_queued_) render_min_id_ = std::max(render_min_id_, min_id);
      return pending_render_;
    }
    ticket = std::make_shared<RenderTicket>();
    if (stopping() || executor_exited_) {
      ticket->finish({false, "failed", ""});
      return ticket;
    }
    pending_render_ = ticket;
    render_queued_ = true;
    render_min_id_ = min_id;
  }
  cv_.notify_one();
  return ticket;
}

void SectionInstance::run() {
  std::unique_lock lock(mutex_);
  while (true) {
    cv_.wait(lock, [&] {
      return stopping() || reprime_requested_ || !tasks_.empty() || !inbox_.empty() ||
             render_queued_;
    });
    if (stopping()) break;
    if (reprime_requested_) {
      reprime_requested_ = false;
      // Everything in the inbox is already committed, so the priming pass
      // reads it from the journal; dropping it here loses nothing.
      std::deque<EventPtr> stale;
      stale.swap(inbox_);
      lock.unlock();
      stale.clear();
      prime();
      lock.lock();
      primed_ = true;
      primed_cv_.notify_all();
      continue;
    }
    // A render goes once the events it must reflect are delivered.
    if (render_queued_ && (inbox_.empty() || inbox_.front()->id > render_min_id_)) {
      render_queued_ = false;
      auto ticket = pending_render_;
      lock.unlock();
      render_now(ticket);
      lock.lock();
      continue;
    }
    if (!tasks_.empty()) {
      auto task = std::move(tasks_.front());
      tasks_.pop_front();
      lock.unlock();
      task();
      task = nullptr;  // may release timer user data: not under the lock
      lock.lock();
      continue;
    }
    std::vector<EventPtr> batch;
    const size_t n = std::min(kEventBatch, inbox_.size());
    batch.reserve(n);
    for (size_t i = 0; i < n; ++i) {
      batch.push_back(std::move(inbox_.front()));
      inbox_.pop_front();
    }
    lock.unlock();
    for (const auto& event : batch) {
      if (stopping()) break;
      // The priming pass may already have delivered it from the journal.
      if (event->id <= last_delivered_id_) continue;
      deliver(*event, 0);
      last_delivered_id_ = event->id;
    }
    batch.clear();
    lock.lock();
  }
  executor_exited_ = true;
  lock.unlock();
  cv_.notify_all();
  primed_cv_.notify_all();
}

void SectionInstance::run_pending_tasks() {
  while (!stopping()) {
    std::function<void()> task;
    {
      std::lock_guard lock(mutex_);
      if (tasks_.empty()) return;
      task = std::move(tasks_.front());
      tasks_.pop_front();
    }
    task();
  }
}

void SectionInstance::prime() {
  prime_count_.fetch_add(1, std::memory_order_relaxed);
  std::string detail;
  tp_status status = call_explained("reset", [&] { return spec_.desc.reset(ctx_); }, detail);
  if (status == TP_OK)
    note_ok();
  else
    note_failure("reset", status, detail);

  uint64_t rows = 0;
  if (spec_.desc.prime_rows != nullptr) {
    detail.clear();
    status = call_guarded([&] { return spec_.desc.prime_rows(ctx_, &rows); }, detail);
    if (status == TP_OK) {
      note_ok();
    } else {
      note_failure("prime_rows", status, detail);
      rows = 0;
    }
  }
  const int64_t start_id = services_->events_start_id;
  last_delivered_id_ = start_id;
  if (!spec_.subscribes || services_->journal == nullptr) return;

  try {
    // Windows: the newest rows before the host's start, flagged as replay
    // so they fill windows without counting as traffic. Prefixes may
    // overlap, so rows are merged by id.
    if (rows > 0) {
      std::map<int64_t, EventPtr> replay;
      const std::vector<std::string> all{""};
      for (const auto& prefix : spec_.prefixes.empty() ? all : spec_.prefixes)
        for (auto& event : services_->journal->newest(prefix, rows, start_id))
          replay.emplace(event->id, std::move(event));
      for (const auto& [id, event] : replay) {
        if (stopping()) return;
        deliver(*event, TP_EVENT_REPLAY);
      }
    }
    // Counters: every row since the start, recounted.
    int64_t after = start_id;
    while (!stopping()) {
      Journal::Page page = services_->journal->read_after(after, spec_.prefixes, kPrimePageRows);
      for (const auto& event : page.items) {
        if (stopping()) return;
        deliver(*event, 0);
        last_delivered_id_ = event->id;
      }
      if (page.items.size() < kPrimePageRows) break;
      after = page.items.back()->id;
      run_pending_tasks();
    }
  } catch (const std::exception& e) {
    // The journal is unreadable: live events still flow; the counts are
    // short until the next re-prime, and health says so.
    note_failure("priming", TP_UNAVAILABLE, std::string("journal read failed: ") + e.what());
  }
}

void SectionInstance::deliver(const Event& event, uint32_t flags) {
  tp_event_view view;
  std::memset(&view, 0, sizeof view);
  view.struct_size = sizeof view;
  view.flags = flags;
  view.id = event.id;
  view.time_ms = event.time_ms;
  view.time = as_tp_str(event.time);
  view.kind = as_tp_str(event.kind);
  static const std::string empty_payload = "{}";
  view.payload = as_tp_str(event.payload.empty() ? empty_payload : event.payload);
  view.source = as_tp_str(event.source);
  view.node = as_tp_str(event.node);
  std::string detail;
  const tp_status status =
      call_explained("on_event", [&] { return spec_.desc.on_event(ctx_, &view); }, detail);
  if (status == TP_OK)
    note_ok();
  else
    note_failure("on_event", status, detail);
}

void SectionInstance::render_now(const std::shared_ptr<RenderTicket>& ticket) {
  RenderBuffer buffer;
  tp_writer writer;
  std::memset(&writer, 0, sizeof writer);
  writer.struct_size = sizeof writer;
  writer.writer_ctx = &buffer;
  writer.write = &RenderBuffer::write;
  int32_t changed = 1;
  std::string detail;
  const tp_status status =
      call_explained("render", [&] { return spec_.desc.render(ctx_, &writer, &changed); }, detail);
  if (status != TP_OK) {
    note_failure("render", status, detail);
    ticket->finish({false, "failed", ""});
    return;
  }
  // Unchanged: the plugin may skip writing; the last good text stands.
  if (changed == 0 && has_render_cache_) {
    note_ok();
    ticket->finish({true, "", render_cache_});
    return;
  }
  // Validated without building a document (the text is what is served).
  const bool valid = Json::accept(buffer.text);
  if (!valid || !shape_ok(buffer.text, spec_.shape)) {
    note_failure("render", TP_INVALID_ARG,
                 !valid ? "render: output is not JSON" : "render: output has the wrong JSON type");
    has_render_cache_ = false;
    ticket->finish({false, "invalid_output", ""});
    return;
  }
  note_ok();
  render_cache_ = std::move(buffer.text);
  has_render_cache_ = true;
  ticket->finish({true, "", render_cache_});
}

void SectionInstance::note_ok() {
  last_call_failed_.store(false, std::memory_order_relaxed);
}

void SectionInstance::note_failure(const char* callback, tp_status status,
                                   const std::string& detail) {
  record_failure(failure_text(callback, status, detail));
}

void SectionInstance::record_failure(const std::string& message) {
  const uint64_t count = count_failure(message);
  // A plugin failing on every event would flood the log: powers of two only.
  if ((count & (count - 1)) == 0)
    spdlog::warn("plugin {}: {} (errors so far: {})", spec_.plugin_id, message, count);
}

uint64_t SectionInstance::count_failure(const std::string& message) {
  const uint64_t count = error_count_.fetch_add(1, std::memory_order_relaxed) + 1;
  last_call_failed_.store(true, std::memory_order_relaxed);
  std::lock_guard lock(health_mutex_);
  last_error_ = message;
  return count;
}

PluginHealth SectionInstance::health() const {
  PluginHealth health;
  health.error_count = error_count_.load(std::memory_order_relaxed);
  health.ok = !last_call_failed_.load(std::memory_order_relaxed);
  std::lock_guard lock(health_mutex_);
  health.last_error = last_error_;
  return health;
}

void SectionInstance::abandon(std::chrono::milliseconds stop_timeout) {
  spdlog::error("plugin {} did not stop within {} ms; abandoned", spec_.plugin_id,
                stop_timeout.count());
  host_->revoked = true;
  count_failure("did not stop within " + std::to_string(stop_timeout.count()) + " ms; abandoned");
  if (executor_.joinable()) executor_.detach();
  leak_forever(shared_from_this());
}

bool SectionInstance::shutdown(std::chrono::milliseconds stop_timeout) {
  const auto deadline = std::chrono::steady_clock::now() + stop_timeout;
  if (subscription_id_ != 0) {
    services_->bus->unsubscribe(subscription_id_);
    subscription_id_ = 0;
  }
  if (!created_) return true;

  // Drain: the executor finishes the callback it is in and exits; queued
  // events and tasks are dropped (no callback starts after stop).
  {
    std::lock_guard lock(mutex_);
    stopping_.store(true, std::memory_order_release);
  }
  cv_.notify_all();
  bool drained = false;
  {
    std::unique_lock lock(mutex_);
    drained =
        !executor_.joinable() || cv_.wait_until(lock, deadline, [&] { return executor_exited_; });
  }
  if (!drained) {
    abandon(stop_timeout);
    return false;
  }
  if (executor_.joinable()) executor_.join();
  std::deque<EventPtr> inbox;
  std::deque<std::function<void()>> tasks;
  std::shared_ptr<RenderTicket> render;
  {
    std::lock_guard lock(mutex_);
    inbox.swap(inbox_);
    tasks.swap(tasks_);
    render = std::move(pending_render_);
    executor_exited_ = true;
  }
  if (render) render->finish({false, "failed", ""});
  tasks.clear();  // timer firings never run; their holds on user data end here

  // stop() may block; it runs on a helper thread that is abandoned with the
  // instance if it does not return within the stop timeout.
  auto self = shared_from_this();
  auto stopped = call_stop_until(
      deadline, [self](tp_error* err) { return self->spec_.desc.stop(self->ctx_, err); });
  if (!stopped) {
    abandon(stop_timeout);
    return false;
  }
  if (stopped->status != TP_OK) note_failure("stop", stopped->status, stopped->detail);

  release_host_timers(host_.get());
  std::string detail;
  const tp_status status = call_guarded([&] { return spec_.desc.destroy(ctx_); }, detail);
  if (status != TP_OK) note_failure("destroy", status, detail);
  created_ = false;
  ctx_ = nullptr;
  host_->revoked = true;
  return true;
}

}  // namespace tpark
