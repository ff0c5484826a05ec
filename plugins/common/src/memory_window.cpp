#include "tpark/memory/memory_window.h"

#include <algorithm>
#include <map>
#include <vector>

#include "tpark/json/kept_members.h"

namespace tpark::memory {
namespace {

using Json = nlohmann::ordered_json;

const Json* member(const Json* object, const char* key) {
  if (object == nullptr || !object->is_object()) return nullptr;
  auto it = object->find(key);
  return it == object->end() ? nullptr : &*it;
}

std::optional<std::string> string_of(const Json* value) {
  if (value == nullptr || !value->is_string()) return std::nullopt;
  return value->get<std::string>();
}

// A modular field: value.<key>, else value.payload.<key> (modular tool
// invocations carry their own fields inside the message payload).
const Json* modular_field(const Json& item, const char* key) {
  const Json* value = member(&item, "value");
  if (const Json* found = member(value, key)) return found;
  return member(member(value, "payload"), key);
}

Json value_or_null(const Json* value) {
  return value != nullptr ? *value : Json(nullptr);
}

std::optional<std::string> item_id(const Json& payload) {
  const Json* id = member(&payload, "id");
  if (id == nullptr) return std::nullopt;
  if (id->is_string()) return id->get<std::string>();
  if (id->is_number_integer()) return id->dump();
  return std::nullopt;
}

// What the window reads of a payload (the header's list), read once with
// simdjson on-demand: the rest of the payload is skipped, never built.
using tpark::json::Keep;
using tpark::json::kWhole;

const Keep& modular_keep(bool with_payload) {
  static const Keep inner{{{"turn_id", kWhole},
                           {"agent_id", kWhole},
                           {"intent", kWhole},
                           {"payload_kind", kWhole},
                           {"confidence", kWhole},
                           {"created_ms", kWhole},
                           {"payload_summary", kWhole},
                           {"invocation_id", kWhole},
                           {"tool_id", kWhole},
                           {"requested_by", kWhole},
                           {"validation_gate", kWhole},
                           {"result", kWhole},
                           {"result_status", kWhole},
                           {"status", kWhole}}};
  static const Keep outer = [] {
    Keep keep = inner;
    keep.members.emplace_back("payload", inner);
    keep.members.emplace_back("lifecycle", Keep{{{"stage", kWhole}, {"validation_gate", kWhole}}});
    return keep;
  }();
  return with_payload ? outer : inner;
}

const Keep& upsert_keep() {
  static const Keep keep{{{"id", kWhole}, {"lane", kWhole}, {"value", modular_keep(true)}}};
  return keep;
}

const Keep& expire_keep() {
  static const Keep keep{{{"id", kWhole}}};
  return keep;
}

std::optional<Json> parse_object(std::string_view text, const Keep& keep) {
  thread_local tpark::json::KeptReader reader;
  Json kept;
  if (!reader.read_object(text, keep, kept)) return std::nullopt;
  return kept;
}

std::optional<std::string> result_status_of(const Json& item) {
  if (auto status = string_of(member(modular_field(item, "result"), "status"))) return status;
  if (auto status = string_of(modular_field(item, "result_status"))) return status;
  return string_of(modular_field(item, "status"));
}

MemoryItem extract_item(std::string id, const Json& payload, int64_t event_time_ms) {
  MemoryItem item;
  item.id = std::move(id);
  item.lane = string_of(member(&payload, "lane"));
  item.payload_kind = string_of(modular_field(payload, "payload_kind"));
  const Json* lifecycle = member(member(&payload, "value"), "lifecycle");
  item.lifecycle_stage = string_of(member(lifecycle, "stage")).value_or("accepted");
  const Json* created = modular_field(payload, "created_ms");
  item.created_ms =
      created != nullptr && created->is_number_integer() ? created->get<int64_t>() : event_time_ms;
  item.payload_summary = value_or_null(modular_field(payload, "payload_summary"));
  if (!item.payload_kind) return item;

  const bool tool = *item.payload_kind == kToolInvocationKind;
  const std::optional<std::string> status = tool ? result_status_of(payload) : std::nullopt;
  if (tool) {
    item.tool_id = string_of(modular_field(payload, "tool_id")).value_or("unknown");
    item.result_status = status.value_or("unknown");
    item.invocation_id = value_or_null(modular_field(payload, "invocation_id"));
  }
  Json gate = value_or_null(member(lifecycle, "validation_gate"));
  if (gate.is_null()) gate = value_or_null(modular_field(payload, "validation_gate"));
  if (gate.is_null()) gate = "skipped";

  Json& entry = item.entry;
  entry = Json::object();
  entry["id"] = *member(&payload, "id");
  entry["lane"] = value_or_null(member(&payload, "lane"));
  entry["turn_id"] = value_or_null(modular_field(payload, "turn_id"));
  entry["agent_id"] = value_or_null(modular_field(payload, "agent_id"));
  entry["intent"] = value_or_null(modular_field(payload, "intent"));
  entry["payload_kind"] = *item.payload_kind;
  entry["lifecycle_stage"] = item.lifecycle_stage;
  entry["validation_gate"] = std::move(gate);
  entry["confidence"] = value_or_null(modular_field(payload, "confidence"));
  entry["created_ms"] = item.created_ms;
  entry["payload_summary"] = item.payload_summary;
  if (tool) {
    entry["invocation_id"] = item.invocation_id;
    entry["tool_id"] = value_or_null(modular_field(payload, "tool_id"));
    entry["requested_by"] = value_or_null(modular_field(payload, "requested_by"));
    entry["result_status"] = status ? Json(*status) : Json(nullptr);
  }
  return item;
}

// Greater created_ms first; on a tie the newer upsert first.
bool newer_created(const MemoryItem& a, const MemoryItem& b) {
  if (a.created_ms != b.created_ms) return a.created_ms > b.created_ms;
  return a.upsert_sequence > b.upsert_sequence;
}

double ratio(uint64_t part, uint64_t whole) {
  return static_cast<double>(part) / static_cast<double>(whole);
}

}  // namespace

bool is_success_status(std::string_view status) {
  std::string lower(status);
  for (char& c : lower) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return lower == "ok" || lower == "success" || lower == "succeeded" || lower == "completed";
}

MemoryWindow::MemoryWindow(std::size_t capacity) : capacity_(capacity == 0 ? 1 : capacity) {}

void MemoryWindow::clear() {
  items_.clear();
  by_id_.clear();
  next_sequence_ = 1;
}

bool MemoryWindow::upsert(std::string_view payload_json, int64_t event_time_ms) {
  auto payload = parse_object(payload_json, upsert_keep());
  if (!payload) return false;
  auto id = item_id(*payload);
  if (!id) return false;
  MemoryItem item = extract_item(*id, *payload, event_time_ms);
  item.upsert_sequence = next_sequence_++;
  if (auto found = by_id_.find(item.id); found != by_id_.end()) {
    items_.erase(found->second);
    by_id_.erase(found);
  }
  items_.push_front(std::move(item));
  by_id_[items_.front().id] = items_.begin();
  if (items_.size() > capacity_) {
    by_id_.erase(items_.back().id);
    items_.pop_back();
  }
  return true;
}

bool MemoryWindow::expire(std::string_view payload_json) {
  auto payload = parse_object(payload_json, expire_keep());
  if (!payload) return false;
  auto id = item_id(*payload);
  if (!id) return false;
  auto found = by_id_.find(*id);
  if (found == by_id_.end()) return false;
  items_.erase(found->second);
  by_id_.erase(found);
  return true;
}

nlohmann::ordered_json memory_section(const MemoryWindow& window) {
  if (window.empty()) return nullptr;
  std::map<std::string, uint64_t> lanes;
  std::vector<const MemoryItem*> modular;
  uint64_t pending_human_review = 0;
  uint64_t blocked = 0;
  for (const MemoryItem& item : window.items()) {
    if (item.lane) ++lanes[*item.lane];
    if (!item.payload_kind) continue;
    modular.push_back(&item);
    if (item.lifecycle_stage == "pending_human_review") ++pending_human_review;
    if (item.lifecycle_stage == "blocked") ++blocked;
  }
  const auto kept = std::min(kModularRecentMax, modular.size());
  std::partial_sort(modular.begin(), modular.begin() + static_cast<std::ptrdiff_t>(kept),
                    modular.end(),
                    [](const MemoryItem* a, const MemoryItem* b) { return newer_created(*a, *b); });
  Json recent = Json::array();
  for (std::size_t i = 0; i < kept; ++i) recent.push_back(modular[i]->entry);

  Json lanes_json = Json::object();
  for (const auto& [lane, count] : lanes) lanes_json[lane] = count;
  Json out = Json::object();
  out["lanes"] = std::move(lanes_json);
  out["total_recent"] = static_cast<uint64_t>(window.size());
  out["modular"] = {{"recent", std::move(recent)},
                    {"pending_human_review", pending_human_review},
                    {"blocked", blocked}};
  return out;
}

nlohmann::ordered_json tool_invocations_section(const MemoryWindow& window) {
  struct ToolTotals {
    uint64_t total = 0;
    uint64_t success = 0;
    const MemoryItem* last = nullptr;
  };
  std::map<std::string, ToolTotals> tools;
  uint64_t total = 0;
  uint64_t success = 0;
  for (const MemoryItem& item : window.items()) {
    if (!item.payload_kind || *item.payload_kind != kToolInvocationKind) continue;
    ToolTotals& tool = tools[item.tool_id];
    const bool ok = is_success_status(item.result_status);
    ++tool.total;
    ++total;
    if (ok) {
      ++tool.success;
      ++success;
    }
    if (tool.last == nullptr || newer_created(item, *tool.last)) tool.last = &item;
  }
  if (total == 0) return nullptr;

  std::vector<std::pair<const std::string*, const ToolTotals*>> ranked;
  for (const auto& [tool_id, totals] : tools) ranked.emplace_back(&tool_id, &totals);
  const auto kept = std::min(kToolSummaryMax, ranked.size());
  std::partial_sort(ranked.begin(), ranked.begin() + static_cast<std::ptrdiff_t>(kept),
                    ranked.end(), [](const auto& a, const auto& b) {
                      if (a.second->total != b.second->total)
                        return a.second->total > b.second->total;
                      if (a.second->last->created_ms != b.second->last->created_ms)
                        return a.second->last->created_ms > b.second->last->created_ms;
                      return *a.first < *b.first;
                    });
  Json summary = Json::array();
  for (std::size_t i = 0; i < kept; ++i) {
    const ToolTotals& tool = *ranked[i].second;
    Json row = Json::object();
    row["tool_id"] = *ranked[i].first;
    row["total"] = tool.total;
    row["success"] = tool.success;
    row["failed"] = tool.total - tool.success;
    row["success_rate"] = ratio(tool.success, tool.total);
    row["last_ms"] = tool.last->created_ms;
    row["last_status"] = tool.last->result_status;
    row["last_summary"] = tool.last->payload_summary;
    row["last_invocation_id"] = tool.last->invocation_id;
    summary.push_back(std::move(row));
  }
  Json out = Json::object();
  out["summary"] = std::move(summary);
  out["overall"] = {{"total", total},
                    {"success", success},
                    {"failed", total - success},
                    {"success_rate", ratio(success, total)}};
  return out;
}

}  // namespace tpark::memory
