// tp.section.memory: the `memory` snapshot key (telemetry.md 2.3).
//
// null while the window of recent memory items is empty; otherwise the items
// by lane, their number, and the newest modular messages among them. The
// window and the value live in tp_memory_window (plugins/common), shared with
// tp.section.tool_invocations, which keeps its own copy of the window.
#include <tpark/tp_plugin.hpp>

#include <string>
#include <string_view>
#include <utility>

#include "tpark/memory/memory_window.h"

namespace {

class MemorySection final : public tpark::Section {
 public:
  MemorySection(tpark::HostRef host, std::string_view /*config_json*/) : Section(host) {}

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
      std::string text = tpark::memory::memory_section(window_).dump(
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

TP_SECTION_PLUGIN(MemorySection, "memory")
