// One running section instance (sdk.md "section" kind, telemetry.md 1.2):
// its lifecycle calls, its bounded inbox on the bus, and its executor thread
// that runs every non-lifecycle callback serialised (priming and re-priming,
// on_event batches, render requests, timer callbacks). The host holds none of
// its locks while it calls the plugin.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include <tpark/tp_plugin.h>

#include "kernel/bus.h"
#include "kernel/event.h"

struct tp_host;

namespace tpark {

struct HostServices;

// What a section's rendered value must be (telemetry.md 2: a wrong type is
// `invalid_output`). Third-party sections may render any JSON value.
enum class SectionShape { Any, Object, Array, ObjectOrNull };

struct SectionSpec {
  std::string plugin_id;
  std::string section_name;
  tp_section_desc desc{};             // copied from the library; required slots non-NULL
  bool subscribes = false;            // false: the manifest subscribes to nothing
  std::vector<std::string> prefixes;  // kind prefixes; empty = every kind
  std::string config_json;            // validated block, compact
  size_t inbox_capacity = 65536;      // ARW_PLUGIN_INBOX
  SectionShape shape = SectionShape::Any;
};

struct PluginHealth {
  bool ok = false;
  uint64_t error_count = 0;
  std::optional<std::string> last_error;
};

// The answer to one render request; filled on the executor.
class RenderTicket {
 public:
  struct Outcome {
    bool ok = false;
    std::string error;  // failed, invalid_output
    std::string json;   // the value when ok
  };
  // Waits until the render finished or the deadline passed (nullopt).
  std::optional<Outcome> wait_until(std::chrono::steady_clock::time_point deadline);
  void finish(Outcome outcome);
  bool done() const;

 private:
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  bool done_ = false;
  Outcome outcome_;
};

class SectionInstance : public BusSubscriber, public std::enable_shared_from_this<SectionInstance> {
 public:
  SectionInstance(SectionSpec spec, std::shared_ptr<const HostServices> services);
  ~SectionInstance() override;
  SectionInstance(const SectionInstance&) = delete;
  SectionInstance& operator=(const SectionInstance&) = delete;

  // Control thread: create, start, subscribe, then prime on the executor.
  // Returns the failure message (the plugin is then `failed`; nothing runs).
  std::optional<std::string> start();
  // Control thread: unsubscribe, drain the executor, stop (bounded by
  // stop_timeout, on a helper thread), release timers, destroy. Returns false
  // when the instance did not stop in time and was abandoned (leaked).
  bool shutdown(std::chrono::milliseconds stop_timeout);

  // Any thread: asks the executor for a render (a pending one is shared). The
  // render runs only after every inbox event with an id <= min_id was
  // delivered, so a snapshot reflects everything journaled before it was asked.
  std::shared_ptr<RenderTicket> request_render(int64_t min_id = 0);
  // Counts one failed call (e.g. a render the host gave up waiting for).
  void record_failure(const std::string& message);

  // Waits until the first priming pass finished (or the deadline passed).
  bool wait_primed(std::chrono::steady_clock::time_point deadline);

  PluginHealth health() const;
  const SectionSpec& spec() const { return spec_; }
  uint64_t dropped_events() const { return dropped_events_.load(); }
  uint64_t prime_count() const { return prime_count_.load(); }

  // BusSubscriber (dispatcher thread).
  const std::vector<std::string>& prefixes() const override { return spec_.prefixes; }
  size_t offer(std::span<const EventPtr> events) override;

 private:
  void run();
  void prime();
  void deliver(const Event& event, uint32_t flags);
  void run_pending_tasks();
  void render_now(const std::shared_ptr<RenderTicket>& ticket);
  bool post(std::function<void()>& task);
  bool stopping() const { return stopping_.load(std::memory_order_acquire); }
  void note_ok();
  void note_failure(const char* callback, tp_status status, const std::string& detail = {});
  uint64_t count_failure(const std::string& message);  // no log line; returns the new count
  void abandon(std::chrono::milliseconds stop_timeout);

  SectionSpec spec_;
  std::shared_ptr<const HostServices> services_;
  std::unique_ptr<tp_host> host_;
  void* ctx_ = nullptr;
  bool created_ = false;
  uint64_t subscription_id_ = 0;

  // Executor state, guarded by mutex_.
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<EventPtr> inbox_;
  std::deque<std::function<void()>> tasks_;
  bool reprime_requested_ = false;
  bool executor_exited_ = false;
  std::shared_ptr<RenderTicket> pending_render_;
  std::condition_variable primed_cv_;
  bool primed_ = false;
  bool render_queued_ = false;   // pending_render_ waits for the executor
  int64_t render_min_id_ = 0;    // deliver inbox events up to here first
  std::atomic<bool> stopping_{false};
  std::thread executor_;

  // Executor-only state.
  int64_t last_delivered_id_ = 0;
  std::string render_cache_;
  bool has_render_cache_ = false;

  // Health.
  std::atomic<uint64_t> error_count_{0};
  std::atomic<bool> last_call_failed_{false};
  mutable std::mutex health_mutex_;
  std::optional<std::string> last_error_;

  std::atomic<uint64_t> dropped_events_{0};
  std::atomic<uint64_t> prime_count_{0};
};

}  // namespace tpark
