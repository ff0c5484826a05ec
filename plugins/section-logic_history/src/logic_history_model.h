// The `logic_history` section of telemetry.md §2.3 / control.md §7 as a plain
// list, apart from the SDK glue so its rules are unit-tested: up to 10
// entries {time, kind, payload}, newest first. The entries are the host's
// persisted history rows (load_rows); the host's
// logic.unit.{suggested,installed,dry_run,applied,reverted} events stand in
// for them when the host cannot serve the rows.
#pragma once

#include <cstddef>
#include <deque>
#include <string_view>

#include <nlohmann/json.hpp>

namespace tpark::sections::logic_history {

inline constexpr size_t kHistoryMax = 10;

class LogicHistory {
 public:
  // One event, delivered in journal order; returns true when it entered the
  // list. Only the five kinds count, and only from the host: they are
  // host-owned, so an event from anywhere else changes nothing.
  bool add(std::string_view kind, std::string_view source, std::string_view time,
           std::string_view payload_json);
  void clear() { entries_.clear(); }
  // Replaces the list with the host's persisted rows: the state read
  // "training_history", {items: [{seq, time, kind, payload}]} newest first.
  // Returns false, keeping the list, when the text is not such a document.
  bool load_rows(std::string_view state_json);

  // The entries, newest first.
  nlohmann::ordered_json render() const;

 private:
  std::deque<nlohmann::ordered_json> entries_;  // newest first
};

}  // namespace tpark::sections::logic_history
