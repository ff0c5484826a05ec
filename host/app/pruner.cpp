#include "app/pruner.h"

#include <spdlog/spdlog.h>

#include "control/leases.h"
#include "kernel/journal.h"
#include "util/time.h"

namespace tpark {

Pruner::Pruner(Journal& journal, control::LeaseStore& leases, const Settings& s)
    : journal_(journal), leases_(leases), settings_(s) {
  thread_ = std::thread([this] { loop(); });
}

Pruner::~Pruner() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Pruner::loop() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    lock.unlock();
    if (settings_.events_max_rows || settings_.events_retention_days) {
      int64_t min_time =
          settings_.events_retention_days
              ? now_ms() - static_cast<int64_t>(*settings_.events_retention_days) * 86400000
              : 0;
      try {
        uint64_t removed = journal_.prune(settings_.events_max_rows.value_or(0), min_time);
        if (removed) spdlog::info("retention removed {} journal rows", removed);
      } catch (const std::exception& e) {
        spdlog::warn("retention pass failed: {}", e.what());
      }
    }
    try {
      if (const int64_t removed = leases_.prune())
        spdlog::info("retention removed {} inactive leases", removed);
    } catch (const std::exception& e) {
      spdlog::warn("lease retention pass failed: {}", e.what());
    }
    lock.lock();
    cv_.wait_for(lock, std::chrono::seconds(settings_.events_prune_sec),
                 [this] { return stopping_; });
  }
}

}  // namespace tpark
