// The rendered telemetry snapshot kept between changes (telemetry.md §2: the
// snapshot may be served from the materialised value while it is not dirty,
// its volatile paths refreshed at send).
//
// What the cache holds is everything after `generated_ms` (the sections,
// `config` and `sections`), keyed by the host's change generation
// (HostTelemetry::change_generation: bumped by every committed event, every
// request that is not an observation request, plugin starts and stops,
// reloads and section wake-ups). A held value also expires after `max_age`
// (the read models' M, ARW_READ_MODEL_MAX_DELAY_MS), so what observation
// requests change (their own route statistics) shows within M, as §6 allows.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "plugins/plugin_manager.h"

namespace tpark {

// One rendered snapshot: the text after generated_ms, and the sections that
// were unavailable in it (disabled, not_loaded), which every response that
// serves it counts again in arw_telemetry_section_errors_total.
struct CachedSnapshot {
  std::string text;
  std::vector<SectionRender> unavailable;  // json empty
};

class SnapshotCache {
 public:
  using Clock = std::chrono::steady_clock;

  explicit SnapshotCache(std::chrono::milliseconds max_age) : max_age_(max_age) {}

  // The held value when it was rendered at `generation` less than max_age
  // ago; null otherwise. Any thread.
  std::shared_ptr<const CachedSnapshot> find(uint64_t generation, Clock::time_point now) const {
    std::lock_guard lock(mutex_);
    if (!value_ || generation != generation_ || now - rendered_at_ >= max_age_) return nullptr;
    return value_;
  }

  // Holds `value`, rendered from state read at `generation` (read before the
  // render started, so a change during the render leaves it stale). Any thread.
  void store(uint64_t generation, Clock::time_point rendered_at,
             std::shared_ptr<const CachedSnapshot> value) {
    std::lock_guard lock(mutex_);
    generation_ = generation;
    rendered_at_ = rendered_at;
    value_ = std::move(value);
  }

 private:
  const std::chrono::milliseconds max_age_;
  mutable std::mutex mutex_;
  uint64_t generation_ = 0;
  Clock::time_point rendered_at_{};
  std::shared_ptr<const CachedSnapshot> value_;
};

}  // namespace tpark
