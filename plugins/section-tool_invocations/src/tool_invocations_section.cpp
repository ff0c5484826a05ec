// tp.section.tool_invocations: the `tool_invocations` snapshot key (telemetry.md 2.3).
//
// null until the window of recent memory items holds a tool invocation;
// otherwise the outcomes per tool and overall. The window and the value live
// in tp_memory_window (plugins/common), shared with tp.section.memory, which
// keeps its own copy of the window.
#include <tpark/tp_plugin.hpp>

#include <string>
#include <string_view>
#include <utility>

#include "tpark/memory/memory_window.h"

namespace {

class ToolInvocationsSection final : public tpark::Section {
 public:
  ToolInvocationsSection(tpark::HostRef host, std::string_view /*config_json*/) : Section(host) {}

  void reset() override {
    window_.clear();
    window_changed_ = true;
  }

  // Replayed rows fill the window like live ones: it holds no counters.
  void on_event(const tpark::EventView& event) override {
    if (event.kind() == tpark::memory::kUpsertedKind)
      window_changed_ |= window_.upsert(event.payload(), event.time_ms());
    else if (event.kind() == tpark::memory::kExpiredKind)
      window_changed_ |= window_.expire(event.payload());
  }

  // The window also changes in ways the value does not show (items beyond the
  // listed ones), so "changed" compares the new text with the last one.
  bool render(std::string& out) override {
    bool changed = false;
    if (window_changed_ || !rendered_once_) {
      std::string text = tpark::memory::tool_invocations_section(window_).dump(
          -1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
      changed = !rendered_once_ || text != cached_;
      cached_ = std::move(text);
      window_changed_ = false;
      rendered_once_ = true;
    }
    out = cached_;
    return changed;
  }

  uint64_t prime_rows() override { return tpark::memory::kPrimeRowsPerKind; }

 private:
  tpark::memory::MemoryWindow window_;
  std::string cached_;
  bool window_changed_ = true;
  bool rendered_once_ = false;
};

}  // namespace

TP_SECTION_PLUGIN(ToolInvocationsSection, "tool_invocations")
