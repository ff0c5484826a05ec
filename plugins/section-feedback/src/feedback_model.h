// The `feedback` section of telemetry.md §2.3 as plain state, apart from the
// SDK glue so its rules are unit-tested:
//   {auto_apply: bool,
//    signals: {count, recent: [{id, ts, kind, target, confidence: f64, severity: u64}]},
//    suggestions: {count, sample: [{id, action, confidence, rationale, params}]}}
// A field the producer did not send (or sent with another type, for the
// typed ones) is null.
#pragma once

#include <cstddef>
#include <deque>
#include <string_view>

#include <nlohmann/json.hpp>

namespace tpark::sections::feedback {

inline constexpr size_t kSignalWindow = 200;  // newest feedback.signal events kept
inline constexpr size_t kRecentSignals = 5;   // signals.recent, newest first
inline constexpr size_t kSuggestionSample = 3;

class FeedbackState {
 public:
  // auto_apply_default: ARW_FEEDBACK_AUTO_APPLY, the value before any
  // host feedback.updated event.
  explicit FeedbackState(bool auto_apply_default);

  // One event; returns true when the section value changed.
  //  - feedback.signal enters the window (any source);
  //  - feedback.suggested replaces the suggestions (any source);
  //  - feedback.updated sets auto_apply from payload.auto_apply, only when
  //    the host emitted it (a host-owned kind: nothing else may change it).
  bool apply(std::string_view kind, std::string_view source, std::string_view payload_json);
  // Back to the state before any event.
  void clear();

  nlohmann::ordered_json render() const;

 private:
  bool auto_apply_default_;
  bool auto_apply_;
  std::deque<nlohmann::ordered_json> signals_;  // oldest first, ≤ kSignalWindow
  size_t suggestion_count_ = 0;
  nlohmann::ordered_json suggestion_sample_ = nlohmann::ordered_json::array();
};

}  // namespace tpark::sections::feedback
