// tp.section.memory: the `memory` snapshot key (telemetry.md 2.3).
//
// null while the window of recent memory items is empty; otherwise the items
// by lane, their number, and the newest modular messages among them. The
// window, the value and the plugin class live in tp_memory_window
// (plugins/common), shared with tp.section.tool_invocations.
#include "tpark/memory/memory_window_section.h"

namespace {

class MemorySection final : public tpark::memory::MemoryWindowSection {
 public:
  MemorySection(tpark::HostRef host, std::string_view /*config_json*/)
      : MemoryWindowSection(host, tpark::memory::memory_section) {}
};

}  // namespace

TP_SECTION_PLUGIN(MemorySection, "memory")
