// tp.section.logic_history: the `logic_history` snapshot key (telemetry.md
// §2.3): the latest 10 logic-unit history entries, newest first. A window,
// so the newest rows are replayed at start and the list survives restarts.
#include <tpark/tp_plugin.hpp>

#include <string>
#include <string_view>

#include "logic_history_model.h"

namespace {

namespace history = tpark::sections::logic_history;

class LogicHistorySection final : public tpark::Section {
 public:
  LogicHistorySection(tpark::HostRef host, std::string_view /*config_json*/) : Section(host) {}

  void reset() override {
    history_.clear();
    changed_ = true;
  }

  void on_event(const tpark::EventView& event) override {
    if (history_.add(event.kind(), event.source(), event.time(), event.payload())) changed_ = true;
  }

  bool render(std::string& out) override {
    // Unchanged since the last render: the same text, without rebuilding it.
    const bool changed = changed_;
    if (changed) rendered_ = history_.render().dump();
    changed_ = false;
    out = rendered_;
    return changed;
  }

  uint64_t prime_rows() override { return history::kHistoryMax; }

 private:
  history::LogicHistory history_;
  bool changed_ = true;
  std::string rendered_;
};

}  // namespace

TP_SECTION_PLUGIN(LogicHistorySection, "logic_history")
