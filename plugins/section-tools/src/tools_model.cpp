#include "tools_model.h"

#include <algorithm>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace tpark::sections::tools {

Counted ToolsTally::count(std::string_view kind, std::string_view source,
                          std::string_view payload_json) {
  if (kind == "actions.completed" || kind == "actions.failed") {
    if (source == "host") return {};
    if (kind == "actions.completed") {
      ++completed_;
      return {ToolEvent::Completed, {}};
    }
    ++failed_;
    return {ToolEvent::Failed, {}};
  }
  if (kind != "modular.tool.accepted") return {};
  const auto payload = nlohmann::json::parse(payload_json, nullptr, false);
  if (!payload.is_object()) return {};
  auto it = payload.find("tool_id");
  if (it == payload.end() || !it->is_string() || it->get_ref<const std::string&>().empty())
    return {};
  const std::string& tool_id = it->get_ref<const std::string&>();
  by_tool_.add(tool_id);
  return {ToolEvent::Accepted, tool_id};
}

void ToolsTally::clear() {
  completed_ = 0;
  failed_ = 0;
  by_tool_.clear();
}

nlohmann::ordered_json ToolsTally::render() const {
  nlohmann::ordered_json totals = nlohmann::ordered_json::array();
  for (const auto& [tool_id, count] : by_tool_.top(kTotalsByToolMax, /*fold_rest=*/false))
    totals.push_back({{"tool_id", tool_id}, {"count", count}});

  const uint64_t total_runs = completed_ + failed_;
  nlohmann::ordered_json out = nlohmann::ordered_json::object();
  out["completed"] = completed_;
  out["failed"] = failed_;
  out["total_runs"] = total_runs;
  out["success_rate"] = total_runs == 0 ? nlohmann::ordered_json(nullptr)
                                        : nlohmann::ordered_json(static_cast<double>(completed_) /
                                                                 static_cast<double>(total_runs));
  out["totals_by_tool"] = std::move(totals);
  return out;
}

std::string ToolLabelCap::label_for(std::string_view tool_id) {
  if (named_.find(tool_id) != named_.end()) return std::string(tool_id);
  if (named_.size() >= kToolLabelMax || tool_id.size() > kToolLabelBytesMax) return "other";
  named_.emplace(tool_id);
  return std::string(tool_id);
}

}  // namespace tpark::sections::tools
