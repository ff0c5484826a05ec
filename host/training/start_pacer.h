// Ingest first: training never takes the host from the events it observes.
// While the journal takes at least `busy_events_per_sec` appends per second
// (HTTP or NATS ingest), the runners start jobs at most `starts_per_sec`
// times a second; otherwise they start them as fast as they free up. A job
// waiting for its slot stays `queued`. What a job costs the host (its
// claim, submit, window reads, result) then stays a bounded share of it,
// however many jobs clients queue (docs/training.md "Ingest first").
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>

namespace tpark::training {

struct YieldSettings {
  uint64_t busy_events_per_sec = 10000;  // ARW_TRAINING_YIELD_EVENTS_PER_SEC
  uint64_t starts_per_sec = 20;          // ARW_TRAINING_YIELD_STARTS_PER_SEC; 0: never paced
};

// Not thread-safe: its owner serialises the calls.
class StartPacer {
 public:
  using Clock = std::chrono::steady_clock;
  // The append rate is measured over spans of at least this long. One loaded span makes the
  // host busy; it is quiet again after kQuietHold of spans below the busy rate.
  static constexpr std::chrono::milliseconds kSpan{100};
  static constexpr std::chrono::milliseconds kQuietHold{1000};

  // `head`: the journal's head id at `now`.
  StartPacer(YieldSettings settings, Clock::time_point now, int64_t head);

  // Whether a job may start at `now`, given the journal's `head` then:
  // nullopt books the start; otherwise the time to ask again.
  std::optional<Clock::time_point> start_at(Clock::time_point now, int64_t head);

  // Measures the append rate once a span is over (start_at does too).
  void observe(Clock::time_point now, int64_t head);

  // Ingest was busy at the last measurement: starts are paced.
  bool busy() const { return busy_; }

 private:
  YieldSettings settings_;
  Clock::duration interval_{};
  Clock::time_point span_start_;
  int64_t span_head_ = 0;
  bool busy_ = false;
  Clock::time_point last_loaded_;  // the end of the last span at the busy rate
  Clock::time_point next_start_;
};

}  // namespace tpark::training
