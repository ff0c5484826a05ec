// Periodic retention, every ARW_EVENTS_PRUNE_SEC: the journal's
// ARW_EVENTS_MAX_ROWS / ARW_EVENTS_RETENTION_DAYS (when set) and the lease
// retention (control/leases.h), so dead leases do not pile up.
#pragma once

#include <condition_variable>
#include <mutex>
#include <thread>

#include "config/settings.h"

namespace tpark {

class Journal;

namespace control {
class LeaseStore;
}

// Runs a pass at once and then every ARW_EVENTS_PRUNE_SEC on its own thread
// until destroyed.
class Pruner {
 public:
  Pruner(Journal& journal, control::LeaseStore& leases, const Settings& s);
  ~Pruner();
  Pruner(const Pruner&) = delete;
  Pruner& operator=(const Pruner&) = delete;

 private:
  void loop();
  Journal& journal_;
  control::LeaseStore& leases_;
  const Settings& settings_;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace tpark
