// tp.section.tasks: the `tasks` snapshot key (telemetry.md §2.1), the host
// task registry. It is host state, not events: the state is re-read on every
// render (a small in-process read), and the render reports a change only when
// the value differs from the previous one.
//
// restarts_window changes with time alone, so while it is non-zero the
// section asks for a wake-up at the moment each restart leaves the 30 s
// window (host state `task_restarts` says when the restarts were).
#include <tpark/tp_plugin.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "tpark/host_state/host_state_sections.h"

namespace {

namespace host_state = tpark::sections::host_state;

class TasksSection final : public tpark::Section {
 public:
  TasksSection(tpark::HostRef host, std::string_view /*config_json*/) : Section(host) {}

  void reset() override {}
  void on_event(const tpark::EventView& /*event*/) override {}

  bool render(std::string& out) override {
    // nullopt when the host cannot serve the state: the empty shape.
    const std::optional<std::string> state = host().state("tasks");
    const nlohmann::ordered_json tasks = host_state::tasks_section(
        state ? std::optional<std::string_view>(*state) : std::nullopt);
    for (const auto& task : tasks)
      if (task["restarts_window"].get<uint64_t>() > 0) {
        schedule_window_exits();
        break;
      }
    out = tasks.dump();
    const bool changed = out != last_render_;
    if (changed) last_render_ = out;
    return changed;
  }

 private:
  // wake_at is idempotent per time, so every render may ask again.
  void schedule_window_exits() {
    const std::optional<std::string> restarts = host().state("task_restarts");
    if (!restarts) return;
    for (int64_t at_ms : host_state::task_window_exits_ms(*restarts, host().now_ms()))
      host().wake_at(at_ms);
  }

  std::string last_render_;
};

}  // namespace

TP_SECTION_PLUGIN(TasksSection, "tasks")
