#include "telemetry/tasks.h"

#include "util/time.h"

namespace tpark {

TaskRegistry::TaskRegistry(std::function<int64_t()> clock) : clock_(std::move(clock)) {}

void TaskRegistry::started(const std::string& name) {
  const int64_t now = clock_();
  std::lock_guard lock(mutex_);
  Counts& task = tasks_[name];
  if (task.started > 0) {
    task.restarts_ms.push_back(now);
    // Only restarts inside the window are ever read.
    while (!task.restarts_ms.empty() && task.restarts_ms.front() <= now - kTaskRestartWindowMs)
      task.restarts_ms.pop_front();
  }
  ++task.started;
  task.last_start_ms = now;
}

void TaskRegistry::completed(const std::string& name) {
  stopped(name, true);
}

void TaskRegistry::aborted(const std::string& name) {
  stopped(name, false);
}

void TaskRegistry::stopped(const std::string& name, bool ok) {
  const int64_t now = clock_();
  std::lock_guard lock(mutex_);
  Counts& task = tasks_[name];
  ++(ok ? task.completed : task.aborted);
  task.last_stop_ms = now;
}

std::vector<TaskRegistry::Task> TaskRegistry::snapshot() const {
  const int64_t now = clock_();
  std::lock_guard lock(mutex_);
  std::vector<Task> out;
  out.reserve(tasks_.size());
  for (const auto& [name, counts] : tasks_) {
    Task task;
    task.name = name;
    task.started = counts.started;
    task.completed = counts.completed;
    task.aborted = counts.aborted;
    const uint64_t stopped = counts.completed + counts.aborted;
    task.inflight = counts.started > stopped ? counts.started - stopped : 0;
    task.last_start_ms = counts.last_start_ms;
    task.last_stop_ms = counts.last_stop_ms;
    for (int64_t at : counts.restarts_ms)
      if (at > now - kTaskRestartWindowMs) task.restarts_ms.push_back(at);
    out.push_back(std::move(task));
  }
  return out;
}

Json TaskRegistry::to_json() const {
  auto time_or_null = [](const std::optional<int64_t>& ms) {
    return ms ? Json(format_rfc3339_ms(*ms)) : Json(nullptr);
  };
  Json map = Json::object();
  for (const Task& task : snapshot()) {
    Json entry = Json::object();
    entry["started"] = task.started;
    entry["completed"] = task.completed;
    entry["aborted"] = task.aborted;
    entry["inflight"] = task.inflight;
    entry["last_start"] = time_or_null(task.last_start_ms);
    entry["last_stop"] = time_or_null(task.last_stop_ms);
    entry["restarts_window"] = task.restarts_ms.size();
    map[task.name] = std::move(entry);
  }
  return map;
}

Json TaskRegistry::restarts_json() const {
  Json map = Json::object();
  for (const Task& task : snapshot())
    if (!task.restarts_ms.empty()) map[task.name] = task.restarts_ms;
  return map;
}

}  // namespace tpark
