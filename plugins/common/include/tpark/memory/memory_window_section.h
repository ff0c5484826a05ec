// The one plugin class of the two sections rendered from the window of recent
// memory items (telemetry.md §2.3: `memory` and `tool_invocations`). Each
// section keeps its own copy of the window (a plugin library per section)
// and differs only in the value it renders from it.
//
// Replayed rows fill the window like live ones: it holds no counters. The
// window also changes in ways a value does not show (items beyond the listed
// ones), so "changed" compares the new text with the last one.
#pragma once

#include <tpark/tp_plugin.hpp>

#include <cstdint>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>

#include "tpark/memory/memory_window.h"

namespace tpark::memory {

// The section's value from the window (memory_section, tool_invocations_section).
using WindowRenderer = nlohmann::ordered_json (*)(const MemoryWindow& window);

class MemoryWindowSection : public tpark::Section {
 public:
  MemoryWindowSection(tpark::HostRef host, WindowRenderer renderer)
      : Section(host), renderer_(renderer) {}

  void reset() override {
    window_.clear();
    window_changed_ = true;
  }

  void on_event(const tpark::EventView& event) override {
    if (event.kind() == kUpsertedKind)
      window_changed_ |= window_.upsert(event.payload(), event.time_ms());
    else if (event.kind() == kExpiredKind)
      window_changed_ |= window_.expire(event.payload());
  }

  bool render(std::string& out) override {
    bool changed = false;
    if (window_changed_ || !rendered_once_) {
      std::string text =
          renderer_(window_).dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
      changed = !rendered_once_ || text != cached_;
      cached_ = std::move(text);
      window_changed_ = false;
      rendered_once_ = true;
    }
    out = cached_;
    return changed;
  }

  uint64_t prime_rows() override { return kPrimeRowsPerKind; }

 private:
  const WindowRenderer renderer_;
  MemoryWindow window_;
  std::string cached_;
  bool window_changed_ = true;
  bool rendered_once_ = false;
};

}  // namespace tpark::memory
