#include "logic_history_model.h"

#include <utility>

namespace tpark::sections::logic_history {

namespace {

bool is_history_kind(std::string_view kind) {
  return kind == "logic.unit.suggested" || kind == "logic.unit.installed" ||
         kind == "logic.unit.dry_run" || kind == "logic.unit.applied" ||
         kind == "logic.unit.reverted";
}

}  // namespace

bool LogicHistory::add(std::string_view kind, std::string_view source, std::string_view time,
                       std::string_view payload_json) {
  if (source != "host" || !is_history_kind(kind)) return false;
  // The journal holds canonical JSON; should a payload still not parse, the
  // entry keeps its place with a null payload rather than vanish.
  auto payload = nlohmann::ordered_json::parse(payload_json, nullptr, false);
  if (payload.is_discarded()) payload = nullptr;
  nlohmann::ordered_json entry = nlohmann::ordered_json::object();
  entry["time"] = time;
  entry["kind"] = kind;
  entry["payload"] = std::move(payload);
  entries_.push_front(std::move(entry));
  if (entries_.size() > kHistoryMax) entries_.pop_back();
  return true;
}

nlohmann::ordered_json LogicHistory::render() const {
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  for (const auto& entry : entries_) out.push_back(entry);
  return out;
}

}  // namespace tpark::sections::logic_history
