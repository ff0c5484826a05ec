#include "training/start_pacer.h"

namespace tpark::training {

StartPacer::StartPacer(YieldSettings settings, Clock::time_point now, int64_t head)
    : settings_(settings),
      interval_(settings.starts_per_sec == 0
                    ? Clock::duration::zero()
                    : std::chrono::duration_cast<Clock::duration>(std::chrono::seconds(1)) /
                          static_cast<int64_t>(settings.starts_per_sec)),
      span_start_(now),
      span_head_(head),
      next_start_(now) {}

void StartPacer::observe(Clock::time_point now, int64_t head) {
  const auto span = now - span_start_;
  if (span < kSpan) return;
  const double secs = std::chrono::duration<double>(span).count();
  const double rate = static_cast<double>(head - span_head_) / secs;
  const bool loaded =
      settings_.starts_per_sec > 0 && rate >= static_cast<double>(settings_.busy_events_per_sec);
  // Busy at the first loaded span; quiet only after kQuietHold without one, so a pause between
  // two ingest batches does not let a burst of starts through.
  if (loaded) {
    busy_ = true;
    last_loaded_ = now;
  } else if (busy_ && now - last_loaded_ >= kQuietHold) {
    busy_ = false;
  }
  span_start_ = now;
  span_head_ = head;
}

std::optional<StartPacer::Clock::time_point> StartPacer::start_at(Clock::time_point now,
                                                                  int64_t head) {
  observe(now, head);
  if (busy_ && now < next_start_) return next_start_;
  // Every start books the next slot, so the first start once ingest turns
  // busy also waits for a start made just before.
  next_start_ = now + interval_;
  return std::nullopt;
}

}  // namespace tpark::training
