// tp.section.tools: the `tools` snapshot key (telemetry.md §2.2) and the
// arw_tool_invocations_total{tool} counter (§8). Lifetime counters: rows
// replayed while priming are history, not runs, and are not counted.
#include <tpark/tp_plugin.hpp>

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "tools_model.h"

namespace {

using tpark::sections::tools::ToolEvent;

class ToolsSection final : public tpark::Section {
 public:
  ToolsSection(tpark::HostRef host, std::string_view /*config_json*/)
      : Section(host),
        invocations_metric_(host.register_counter(
            "arw_tool_invocations_total", "modular.tool.accepted events by tool_id", {"tool"})) {}

  void reset() override {
    tally_.clear();
    changed_ = true;
  }

  void on_event(const tpark::EventView& event) override {
    if (event.replay()) return;
    const auto counted = tally_.count(event.kind(), event.source(), event.payload());
    if (counted.event == ToolEvent::None) return;
    changed_ = true;
    // A re-prime recounts the section from the journal; the Prometheus
    // counter already holds those rows and must not count them twice.
    if (event.id() <= metrics_counted_through_id_) return;
    metrics_counted_through_id_ = event.id();
    if (counted.event == ToolEvent::Accepted)
      host().metric_add(invocations_metric_, {tool_labels_.label_for(counted.tool_id)}, 1.0);
  }

  bool render(std::string& out) override {
    // Unchanged since the last render: the same text, without rebuilding it.
    const bool changed = changed_;
    if (changed) rendered_ = tally_.render().dump();
    changed_ = false;
    out = rendered_;
    return changed;
  }

 private:
  const uint64_t invocations_metric_;
  tpark::sections::tools::ToolsTally tally_;
  tpark::sections::tools::ToolLabelCap tool_labels_;
  int64_t metrics_counted_through_id_ = 0;
  bool changed_ = true;
  std::string rendered_;
};

}  // namespace

TP_SECTION_PLUGIN(ToolsSection, "tools")
