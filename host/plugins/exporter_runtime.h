// Exporters (sdk.md "exporter" kind, rules 7 and 9; ABI 1.1): per instance
// its own bounded queue and worker thread, so one slow sink never stalls the
// bus, the HTTP server or the other exporters. The host owns buffering,
// retry with backoff, drops (counted) and the unhealthy marking; the plugin
// only answers OK / RETRY / ERROR per batch.
//
// ExporterRuntime feeds every running instance what its descriptor asked for:
// telemetry snapshots and metric samples at the instance's interval, and
// read-model patches through offer_patch().
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
#include <shared_mutex>
#include <string>
#include <thread>
#include <vector>

#include <tpark/tp_plugin.h>

#include "plugins/section_runtime.h"  // PluginHealth

struct tp_host;

namespace tpark {

struct HostServices;

struct ExporterSpec {
  std::string plugin_id;
  tp_exporter_desc desc{};  // copied from the library; required slots non-NULL
  std::string config_json;  // validated block, compact
  size_t queue_capacity = 1024;
  // An export_batch running longer than this marks the exporter unhealthy.
  std::chrono::milliseconds stall_timeout{5000};
  std::chrono::milliseconds backoff_initial{100};
  std::chrono::milliseconds backoff_max{5000};
};

// GET /admin/plugins `exporter` (README "Host routes").
struct ExporterCounters {
  size_t queue_depth = 0;
  size_t queue_capacity = 0;
  uint64_t sent = 0;     // items delivered (OK)
  uint64_t retried = 0;  // batches answered RETRY
  uint64_t dropped = 0;  // items lost: queue full, ERROR, or a retry cut short by stop
  std::optional<std::string> last_error;
};

class ExporterInstance : public std::enable_shared_from_this<ExporterInstance> {
 public:
  ExporterInstance(ExporterSpec spec, std::shared_ptr<const HostServices> services);
  ~ExporterInstance();
  ExporterInstance(const ExporterInstance&) = delete;
  ExporterInstance& operator=(const ExporterInstance&) = delete;

  // Control thread: create, start, then the worker. Returns the failure
  // message (the plugin is then `failed`; nothing runs).
  std::optional<std::string> start();
  // Control thread: no new items; the worker drains the queue (each batch
  // once, no retries) and exits; then stop and destroy. Bounded by
  // stop_timeout: a worker or stop that does not finish in time is abandoned
  // with the instance (leaked, never destroyed). False when abandoned.
  bool shutdown(std::chrono::milliseconds stop_timeout);

  // A live swap (a reload that reconfigures the exporter). The successor is
  // started held: it queues what it is offered but delivers nothing until
  // release(). The outgoing instance's hand_off() takes no new items,
  // delivers its queue (retries included) until a batch answers RETRY or
  // `stop_timeout` runs out, then stops and returns every item it did not
  // deliver, oldest first; release() puts them ahead of what the successor
  // queued meanwhile, so each item reaches exactly one of the two, in order.
  // A batch in flight when the time runs out stays with the abandoned
  // instance (counted neither sent nor dropped here).
  void hold();
  struct HandedOff;
  std::shared_ptr<HandedOff> hand_off(std::chrono::milliseconds stop_timeout, bool* stopped);
  void release(std::shared_ptr<HandedOff> items);

  // Any thread: queues one item if the descriptor wants its type. When the
  // queue is full the oldest item is dropped and counted. Never blocks on
  // the plugin.
  void offer(uint32_t type, const std::shared_ptr<const std::string>& body, int64_t time_ms);
  bool wants(uint32_t type) const;
  std::chrono::milliseconds snapshot_interval() const;
  const std::string& plugin_id() const { return spec_.plugin_id; }

  PluginHealth health() const;
  ExporterCounters counters() const;

 private:
  struct Item {
    uint32_t type;
    int64_t time_ms;
    std::shared_ptr<const std::string> body;
  };
  void run();
  bool post(std::function<void()>& task);
  void run_tasks(std::unique_lock<std::mutex>& lock);
  void deliver(std::vector<Item> batch, std::unique_lock<std::mutex>& lock);
  bool stop_and_destroy(std::chrono::steady_clock::time_point deadline,
                        std::chrono::milliseconds stop_timeout);
  uint64_t note_error(const std::string& message);  // returns the error count
  void abandon(std::chrono::milliseconds stop_timeout);

  ExporterSpec spec_;
  std::shared_ptr<const HostServices> services_;
  std::unique_ptr<tp_host> host_;
  void* ctx_ = nullptr;
  bool created_ = false;

  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<Item> queue_;
  std::deque<std::function<void()>> tasks_;  // timer callbacks
  bool stopping_ = false;
  bool worker_exited_ = false;
  bool held_ = false;         // a successor waiting for its predecessor's hand-off
  bool handing_off_ = false;  // stopping for a swap: a RETRY hands the rest on
  bool handed_back_ = false;  // the worker put a batch back and stopped delivering
  uint64_t sequence_ = 0;
  // When the export_batch in flight started (worker only writes it).
  std::optional<std::chrono::steady_clock::time_point> in_flight_since_;
  std::thread worker_;

  // Counters and health, guarded by mutex_.
  uint64_t sent_ = 0, retried_ = 0, dropped_ = 0, error_count_ = 0;
  bool last_call_failed_ = false;
  bool retrying_ = false;  // the batch at the head answered RETRY: unhealthy until delivered
  std::optional<std::string> last_error_;
};

// Feeds the running exporters. Owned by the plugin manager.
class ExporterRuntime {
 public:
  struct Feeds {
    // The telemetry snapshot body (GET /state/training/telemetry); nullopt
    // when it cannot be built now.
    std::function<std::optional<std::string>()> snapshot;
    // The host's metric samples as Prometheus text (GET /metrics).
    std::function<std::string()> metrics;
    // Called from add/remove (outside the runtime's lock) when the number of
    // instances wanting patches goes from 0 to 1 (true) or 1 to 0 (false).
    std::function<void(bool wanted)> patches_wanted;
  };
  explicit ExporterRuntime(Feeds feeds);
  ~ExporterRuntime();  // stops the feeder
  ExporterRuntime(const ExporterRuntime&) = delete;
  ExporterRuntime& operator=(const ExporterRuntime&) = delete;

  void add(std::shared_ptr<ExporterInstance> instance);
  void remove(const std::shared_ptr<ExporterInstance>& instance);
  // Puts `successor` in `outgoing`'s place in one step: every item offered
  // before it returns went to `outgoing`, every item after to `successor`.
  void replace(const std::shared_ptr<ExporterInstance>& outgoing,
               std::shared_ptr<ExporterInstance> successor);
  // Stops the feeder thread; nothing is offered after it returns.
  void stop_feeding();

  // A read-model patch frame {id, instance_id, version, base_version, patch}
  // as compact JSON, published at `published_ms`, for every exporter that
  // wants patches. `read_model_id` is the frame's id. The entry point for the
  // read-model hub's publication (a hub patch subscription for every id);
  // never blocks on a plugin.
  void offer_patch(const std::string& read_model_id, std::shared_ptr<const std::string> frame,
                   int64_t published_ms);

 private:
  void feed_loop();

  Feeds feeds_;
  std::mutex mutex_;  // stopping_ and the feeder's wake-ups
  std::condition_variable cv_;
  bool stopping_ = false;
  bool changed_ = false;  // an instance was added or swapped: the feeder re-plans now
  struct Fed {
    std::shared_ptr<ExporterInstance> instance;
    std::chrono::steady_clock::time_point next_due;
    uint64_t slot = 0;  // kept by replace(), so a due round reaches the successor
  };
  // Offers hold it shared, so replace() (exclusive) falls between two offers.
  std::shared_mutex instances_mutex_;
  std::vector<Fed> instances_;
  uint64_t next_slot_ = 0;
  size_t patch_takers_ = 0;  // instances_ that want patches
  std::thread feeder_;
};

}  // namespace tpark
