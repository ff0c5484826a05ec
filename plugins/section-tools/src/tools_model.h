// The `tools` section of telemetry.md §2.2 as a plain tally, apart from the
// SDK glue so its counting rules are unit-tested:
//   {completed, failed, total_runs, success_rate: f64|null,
//    totals_by_tool: [{tool_id, count}] (≤ 12, count desc, tool_id asc)}
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>
#include <tpark/tally/top_k_tally.h>

namespace tpark::sections::tools {

inline constexpr size_t kTotalsByToolMax = 12;
// §8: the `tool` label of arw_tool_invocations_total keeps this many names,
// each at most kToolLabelBytesMax bytes (the slot label's length cap).
inline constexpr size_t kToolLabelMax = 64;
inline constexpr size_t kToolLabelBytesMax = 64;
// Memory stays bounded whatever tool ids arrive: this many ids (the first
// seen, each at most kToolIdBytesMax bytes) are counted by name; any other
// counts under "other", which then ranks in totals_by_tool like an id.
inline constexpr size_t kToolsTrackedMax = 4 * kToolLabelMax;
inline constexpr size_t kToolIdBytesMax = 128;

// What one event counted as.
enum class ToolEvent { None, Completed, Failed, Accepted };

struct Counted {
  ToolEvent event = ToolEvent::None;
  std::string tool_id;  // Accepted only
};

class ToolsTally {
 public:
  // Counts one event. actions.completed / actions.failed count unless their
  // source is "host" (the host's own config actions are not tool runs);
  // modular.tool.accepted counts under its payload.tool_id (a non-empty
  // string; an event without one names no tool and is not counted).
  Counted count(std::string_view kind, std::string_view source, std::string_view payload_json);
  void clear();

  uint64_t completed() const { return completed_; }
  uint64_t failed() const { return failed_; }
  nlohmann::ordered_json render() const;

 private:
  uint64_t completed_ = 0;
  uint64_t failed_ = 0;
  tpark::tally::TopKTally by_tool_{kToolsTrackedMax, kToolIdBytesMax};
};

// The label cap of §8: the first kToolLabelMax distinct tool ids of at most
// kToolLabelBytesMax bytes keep their name for the life of the process;
// every later or longer one is "other".
class ToolLabelCap {
 public:
  std::string label_for(std::string_view tool_id);

 private:
  std::set<std::string, std::less<>> named_;
};

}  // namespace tpark::sections::tools
