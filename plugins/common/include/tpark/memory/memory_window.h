// The window of recent memory items behind the `memory` and
// `tool_invocations` snapshot keys (telemetry.md §2.3), and the two section
// values rendered from it.
//
// The window holds the newest 200 distinct item ids: memory.item.upserted
// supplies an item (the latest upsert of an id replaces it and makes it the
// newest), memory.item.expired removes payload.id, and an upsert of a new id
// into a full window evicts the least recently upserted one. Both sections
// keep their own copy of the window; this library is the one implementation.
//
// A payload is read once, with simdjson on-demand (tpark/json/kept_members.h),
// keeping only the members below; the rest is skipped, never built.
//
// Where an item's fields are read from (the upserted payload is the item):
//   id                      payload.id (string, or an integer written as text)
//   lane                    payload.lane
//   the modular fields      payload.value.<key>, else payload.value.payload.<key>
//                           (turn_id, agent_id, intent, payload_kind, confidence,
//                            created_ms, payload_summary, invocation_id, tool_id,
//                            requested_by)
//   lifecycle_stage         value.lifecycle.stage, default "accepted"
//   validation_gate         value.lifecycle.validation_gate, else the modular
//                           field validation_gate, default "skipped"
//   result_status           result.status, else result_status, else status
//                           (each as a modular field, strings only)
//   created_ms              the modular field when it is an integer, else the
//                           upsert event's time (epoch ms)
#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include <nlohmann/json.hpp>

namespace tpark::memory {

inline constexpr std::size_t kWindowItems = 200;
inline constexpr std::size_t kModularRecentMax = 50;
inline constexpr std::size_t kToolSummaryMax = 12;
inline constexpr std::string_view kToolInvocationKind = "tool_invocation";
inline constexpr std::string_view kUpsertedKind = "memory.item.upserted";
inline constexpr std::string_view kExpiredKind = "memory.item.expired";
// The newest journal rows of each kind that a (re)start replays. Repeated
// upserts of one id and expiries use rows without adding ids, so the replay
// reaches five windows back to find the newest 200 distinct ids again.
inline constexpr uint64_t kPrimeRowsPerKind = 5 * kWindowItems;

// One item as the sections need it, extracted once at upsert.
struct MemoryItem {
  std::string id;
  std::optional<std::string> lane;
  std::optional<std::string> payload_kind;  // set: a modular item
  std::string lifecycle_stage;
  int64_t created_ms = 0;
  uint64_t upsert_sequence = 0;  // later upserts are greater: the tie-break
  // The modular `recent` entry (null for items without payload_kind).
  nlohmann::ordered_json entry;
  // Tool invocations: the normalised tool id and status ("unknown" when missing).
  std::string tool_id;
  std::string result_status;
  nlohmann::ordered_json invocation_id;
  nlohmann::ordered_json payload_summary;
};

// ok|success|succeeded|completed, ASCII case-insensitive.
bool is_success_status(std::string_view status);

class MemoryWindow {
 public:
  explicit MemoryWindow(std::size_t capacity = kWindowItems);

  void clear();
  // memory.item.upserted. Returns false (and changes nothing) when the payload
  // is not an object with a usable id.
  bool upsert(std::string_view payload_json, int64_t event_time_ms);
  // memory.item.expired. Returns true when payload.id was in the window.
  bool expire(std::string_view payload_json);

  std::size_t size() const { return items_.size(); }
  bool empty() const { return items_.empty(); }
  // Newest upsert first.
  const std::list<MemoryItem>& items() const { return items_; }

 private:
  std::size_t capacity_;
  uint64_t next_sequence_ = 1;
  std::list<MemoryItem> items_;
  std::unordered_map<std::string, std::list<MemoryItem>::iterator> by_id_;
};

// The `memory` value: null when the window is empty, else
// {lanes: {lane: u64}, total_recent: u64,
//  modular: {recent: [entry] (<= 50, created_ms descending, then the newer
//            upsert first), pending_human_review: u64, blocked: u64}}.
// pending_human_review and blocked count modular items at that lifecycle stage.
nlohmann::ordered_json memory_section(const MemoryWindow& window);

// The `tool_invocations` value: null unless the window holds items with
// payload_kind "tool_invocation", else
// {summary: [{tool_id, total, success, failed, success_rate, last_ms,
//             last_status, last_summary, last_invocation_id}] (<= 12; total
//            desc, then last_ms desc, then tool_id asc),
//  overall: {total, success, failed, success_rate}}.
// last_* come from the tool's item with the greatest created_ms (the newer
// upsert on a tie).
nlohmann::ordered_json tool_invocations_section(const MemoryWindow& window);

}  // namespace tpark::memory
