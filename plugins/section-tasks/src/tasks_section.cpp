// tp.section.tasks: the `tasks` snapshot key (telemetry.md §2.1), the host
// task registry, rendered from host state "tasks".
//
// restarts_window changes with time alone, so while it is non-zero the
// section asks for a wake-up at the moment each restart leaves the 30 s
// window (host state `task_restarts` says when the restarts were).
// The rendering is shared: plugins/common/src/host_state_sections.cpp.
#include <cstdint>
#include <optional>
#include <string>

#include "tpark/host_state/host_state_section.h"
#include "tpark/host_state/host_state_sections.h"

namespace {

namespace host_state = tpark::sections::host_state;

class TasksSection final : public tpark::sections::HostStateSection {
 public:
  TasksSection(tpark::HostRef host, std::string_view /*config_json*/)
      : HostStateSection(host, "tasks", host_state::tasks_section) {}

 private:
  void on_rendered(const nlohmann::ordered_json& tasks) override {
    for (const auto& task : tasks)
      if (task["restarts_window"].get<uint64_t>() > 0) {
        schedule_window_exits();
        return;
      }
  }

  // wake_at is idempotent per time, so every render may ask again.
  void schedule_window_exits() {
    const std::optional<std::string> restarts = host().state("task_restarts");
    if (!restarts) return;
    for (int64_t at_ms : host_state::task_window_exits_ms(*restarts, host().now_ms()))
      host().wake_at(at_ms);
  }
};

}  // namespace

TP_SECTION_PLUGIN(TasksSection, "tasks")
