// tp.section.tool_invocations: the `tool_invocations` snapshot key (telemetry.md 2.3).
//
// null until the window of recent memory items holds a tool invocation;
// otherwise the outcomes per tool and overall. The window, the value and the
// plugin class live in tp_memory_window (plugins/common), shared with
// tp.section.memory.
#include "tpark/memory/memory_window_section.h"

namespace {

class ToolInvocationsSection final : public tpark::memory::MemoryWindowSection {
 public:
  ToolInvocationsSection(tpark::HostRef host, std::string_view /*config_json*/)
      : MemoryWindowSection(host, tpark::memory::tool_invocations_section) {}
};

}  // namespace

TP_SECTION_PLUGIN(ToolInvocationsSection, "tool_invocations")
