// The host task registry (telemetry.md §2.1 `tasks`): what each long-lived
// host task (events.dispatcher, plugin.<id>, ...) has done since start.
// A task that starts again after its first start counts as a restart;
// `restarts_window` counts restarts within the last 30 s, so it changes with
// time alone: `task_restarts` gives the section the times to wake up at.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "util/json.h"

namespace tpark {

inline constexpr int64_t kTaskRestartWindowMs = 30000;

class TaskRegistry {
 public:
  // `clock` gives epoch ms; tests pass their own.
  explicit TaskRegistry(std::function<int64_t()> clock);

  void started(const std::string& name);
  void completed(const std::string& name);
  void aborted(const std::string& name);

  struct Task {
    std::string name;
    uint64_t started = 0;
    uint64_t completed = 0;
    uint64_t aborted = 0;
    uint64_t inflight = 0;  // started − completed − aborted, floored at 0
    std::optional<int64_t> last_start_ms;
    std::optional<int64_t> last_stop_ms;
    std::vector<int64_t> restarts_ms;  // restarts within the window, ascending
  };
  // Every task, names ascending, as of now.
  std::vector<Task> snapshot() const;

  // The §2.1 map: {name: {started, completed, aborted, inflight, last_start,
  // last_stop, restarts_window}}, names ascending.
  Json to_json() const;
  // {name: [epoch ms of each restart still in the window, ascending]}, for
  // tasks with such restarts only. Each leaves the window 30 s later.
  Json restarts_json() const;

 private:
  struct Counts {
    uint64_t started = 0, completed = 0, aborted = 0;
    std::optional<int64_t> last_start_ms, last_stop_ms;
    std::deque<int64_t> restarts_ms;
  };
  void stopped(const std::string& name, bool ok);

  std::function<int64_t()> clock_;
  mutable std::mutex mutex_;
  std::map<std::string, Counts> tasks_;
};

}  // namespace tpark
