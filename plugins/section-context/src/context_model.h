// The `context` section's state (telemetry.md §3): one ring of the newest W
// events per windowed kind, the newest context.assembled event, the
// aggregates rendered from them, and what each event contributes to the
// arw_context_* metrics (§8). Pure: events in, JSON text and metric
// observations out; the plugin glue owns the host calls.
//
// The formulas (coverage verdict, slot formulas, recall risk, rankings) are
// tp_context_formulas'; this model decides which values are the producer's
// and which are derived (§3.1), and keeps the windows.
//
// Per event the model reads only the members its windows keep (simdjson
// on-demand) and keeps the raw payload of the newest few events of each kind;
// their `latest`/`recent` entries are built from that text when a render
// first shows them.
//
// Choices where §3 leaves room, kept here in one place:
// - a `summary` or `spec` that is not an object counts as absent; a
//   sanitised `spec` keeps the §3 keys in the order §3 lists them;
// - producer values win key by key: a recall event without a finite score but
//   with a summary still keeps its own `level` and `at_risk` when it has them;
// - `derived: true` marks an entry in which the host computed any of the
//   §3.1 values, `level` from a producer score included;
// - retriever.counts aggregates diagnostics.counts.*, else the event's
//   summary.selected and summary.total_candidates under those names.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tpark::context_section {

inline constexpr int64_t kDefaultWindow = 512;  // ARW_CONTEXT_TELEMETRY_WINDOW
inline constexpr int64_t kMinWindow = 1;
inline constexpr int64_t kMaxWindow = 65536;
inline constexpr std::size_t kRecentMax = 5;

inline constexpr std::string_view kCoverageKind = "context.coverage";
inline constexpr std::string_view kRecallRiskKind = "context.recall.risk";
inline constexpr std::string_view kAssemblyKind = "working_set.iteration.summary";
inline constexpr std::string_view kRetrieverKind = "working_set.completed";
inline constexpr std::string_view kAssembledKind = "context.assembled";

// One journaled event, borrowed for the duration of ContextModel::on_event.
struct EventInput {
  int64_t id = 0;
  std::string_view time;  // RFC 3339 with milliseconds
  std::string_view node;  // empty when absent
  std::string_view kind;
  std::string_view payload;  // canonical compact JSON
};

// What one event adds to /metrics, with slot names before label capping.
struct MetricObservations {
  enum class Source { None, Coverage, Recall };
  Source source = Source::None;
  // Coverage events.
  bool needs_more = false;                                  // effective needs_more
  std::vector<std::pair<std::string, double>> fill_ratios;  // budgeted slots (with a summary)
  std::vector<std::string> underfilled_slots;               // slot_underfilled:<slot> reasons
  // Recall events.
  std::optional<double> score;                            // the finite effective score
  std::string level_label;                                // low|medium|high|unknown
  bool flagged = false;                                   // effective at_risk is true
  std::vector<std::pair<std::string, double>> slot_gaps;  // effective, clamped to [0,1]
};

// "low", "medium" and "high" label themselves; any other level (or none) is
// "unknown", which keeps the level label's values to four.
std::string_view level_label(const std::optional<std::string>& level);

class ContextModel {
 public:
  // window is clamped to [kMinWindow, kMaxWindow].
  explicit ContextModel(int64_t window = kDefaultWindow);
  ~ContextModel();
  ContextModel(const ContextModel&) = delete;
  ContextModel& operator=(const ContextModel&) = delete;

  uint64_t window() const;
  // Drops every window and the newest assembled event.
  void reset();
  // Takes one event. Kinds other than the five of §3 change nothing and
  // observe nothing.
  MetricObservations on_event(const EventInput& event);
  // The same into `observed` (its previous contents are replaced): a caller
  // that hands the same object back per event reuses its storage, and the
  // model then allocates nothing per event once its windows are full.
  void on_event(const EventInput& event, MetricObservations& observed);
  // Sets `out` to the section's JSON text. Returns true when it may differ
  // from the previous render (an event or a reset came in between); the
  // text is rebuilt, averages re-summed oldest to newest, only then.
  bool render(std::string& out);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace tpark::context_section
