// The bus: one dispatcher thread delivers committed events in id order to
// subscribers through their own bounded queues. It never blocks the journal's
// writer, and a slow subscriber never blocks the others (telemetry.md 1.2).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "kernel/event.h"

namespace tpark {

struct BusCounters {
  uint64_t published = 0;     // events dispatched
  uint64_t delivered = 0;     // deliveries accepted by subscribers
  uint64_t receivers = 0;     // current subscribers
  uint64_t lagged = 0;        // events a subscriber's queue had no room for
  uint64_t no_receivers = 0;  // events no subscriber matched
};

class BusSubscriber {
 public:
  virtual ~BusSubscriber() = default;
  // Kind prefixes this subscriber wants; empty = every kind. Must not change.
  virtual const std::vector<std::string>& prefixes() const = 0;
  // Called on the dispatcher thread with consecutive matching events, in id
  // order. Must not block. Returns how many (from the front) it accepted; the
  // rest count in `lagged` and the subscriber handles its own recovery.
  virtual size_t offer(std::span<const EventPtr> events) = 0;
};

class Bus {
 public:
  Bus();
  ~Bus();  // stops the dispatcher
  Bus(const Bus&) = delete;
  Bus& operator=(const Bus&) = delete;

  // Queues a committed batch (ascending ids) for dispatch. Never blocks for
  // long: the hand-off queue is unbounded, the subscribers' are bounded.
  void publish(std::vector<EventPtr> batch);

  // Adds a subscriber; it sees exactly the events published after this call
  // returns.
  uint64_t subscribe(std::shared_ptr<BusSubscriber> subscriber);
  // Removes a subscriber. Called from any thread but the dispatcher, it returns
  // only once the subscriber can no longer be offered anything; from inside
  // offer() it takes effect with the next batch.
  void unsubscribe(uint64_t subscription_id);

  // Blocks until everything published before the call has been offered.
  // Not from inside offer() (the dispatcher would wait on itself).
  void flush();

  // Waits until every event with an id <= `id` has been offered to the
  // subscribers, or the deadline passes. Returns whether it was reached.
  // Readers use it for read-your-writes: a 2xx ingest is visible after it.
  bool wait_offered(int64_t id, std::chrono::steady_clock::time_point deadline);

  BusCounters counters() const;
  // The id of the last event offered to subscribers (0 before any).
  int64_t dispatched_id() const { return dispatched_id_.load(std::memory_order_acquire); }

 private:
  void run();
  struct Entry {
    uint64_t id;
    std::shared_ptr<BusSubscriber> subscriber;
    uint64_t after_seq;  // batches up to this publish sequence predate the subscription
  };
  void dispatch(const std::vector<EventPtr>& batch, uint64_t seq, const std::vector<Entry>& entries,
                std::vector<char>& matched);
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::condition_variable flushed_cv_;
  std::deque<std::vector<EventPtr>> pending_;
  std::shared_ptr<const std::vector<Entry>> entries_;  // copy-on-write
  uint64_t next_subscription_ = 1;
  uint64_t published_seq_ = 0, dispatched_seq_ = 0;
  // A dispatch round works on one snapshot of entries_; unsubscribe waits for
  // the round that may still hold the removed subscriber.
  bool in_round_ = false;
  uint64_t rounds_done_ = 0;
  bool stopping_ = false;
  std::atomic<uint64_t> published_{0}, delivered_{0}, lagged_{0}, no_receivers_{0};
  std::atomic<int64_t> dispatched_id_{0};
  std::thread thread_;
};

}  // namespace tpark
