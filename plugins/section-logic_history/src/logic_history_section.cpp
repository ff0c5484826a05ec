// tp.section.logic_history: the `logic_history` snapshot key (telemetry.md
// §2.3): the latest 10 rows of the persisted logic-unit history, newest
// first, read through state_read("training_history") whenever a history
// event arrives. A window, so the newest events are replayed at start.
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
    // An event says the history changed; the host committed its rows with
    // it, so the list is re-read from them. A host that cannot serve them
    // leaves the list the events built.
    if (changed_) {
      try {
        if (auto rows = host().state("training_history")) history_.load_rows(*rows);
      } catch (const tpark::Error&) {
        // Keep the list the events built.
      }
    }
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
