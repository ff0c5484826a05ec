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

bool LogicHistory::load_rows(std::string_view state_json) {
  const auto state = nlohmann::ordered_json::parse(state_json, nullptr, false);
  if (!state.is_object() || !state.contains("items") || !state["items"].is_array()) return false;
  std::deque<nlohmann::ordered_json> rows;
  for (const auto& row : state["items"]) {
    if (rows.size() == kHistoryMax) break;
    if (!row.is_object()) continue;
    nlohmann::ordered_json entry = nlohmann::ordered_json::object();
    entry["time"] = row.value("time", nlohmann::ordered_json());
    entry["kind"] = row.value("kind", nlohmann::ordered_json());
    entry["payload"] = row.value("payload", nlohmann::ordered_json());
    rows.push_back(std::move(entry));
  }
  entries_ = std::move(rows);
  return true;
}

nlohmann::ordered_json LogicHistory::render() const {
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  for (const auto& entry : entries_) out.push_back(entry);
  return out;
}

}  // namespace tpark::sections::logic_history
