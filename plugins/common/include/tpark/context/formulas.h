// The context analytics formulas of telemetry.md §3.1 (coverage verdict, slot
// formulas, recall risk) and the order-exact rollups behind the §3 aggregates.
//
// Pure functions over plain values: no I/O, no clocks, no global state. Both
// tp.section.context and the training job (control.md §5.5) compile them in,
// so both report the very same numbers. The two consumers differ only in how
// they fill a summary's missing fields: the training job builds its own
// summary JSON and turns it into CoverageInputs with inputs_from_summary(); the
// section reads the same fields from the raw payload and calls
// inputs_from_fields(), which inputs_from_summary() also goes through.
//
// Numerics (telemetry.md §0): doubles only; counts and thresholds are integer
// arithmetic, weights are integers, so results are exact and portable.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace tpark::context {

// ---------------------------------------------------------------------------
// Inputs

// One budgeted slot: budget > 0 always (a budget <= 0 is skipped everywhere).
struct SlotInput {
  std::string slot;
  int64_t budget = 0;  // b
  int64_t have = 0;    // h: summary.slots.counts[slot], else 0
};

// The symbols of telemetry.md §3.1 "Inputs". Counts are non-negative.
struct CoverageInputs {
  int64_t target_limit = 0;     // T
  int64_t lanes_requested = 0;  // L
  int64_t selected = 0;         // S
  double avg_cscore = 0.0;      // avg
  double max_cscore = 0.0;      // max
  int64_t threshold_hits = 0;   // H
  double min_score = 0.0;       // m
  int64_t lanes_present = 0;    // P: lane_counts entries with count > 0
  // Budgeted slots only, in ascending byte order of `slot`. The formulas below
  // rely on that order (reasons and components list slots in it).
  std::vector<SlotInput> slots;
};

// Builds the inputs from a context `summary` and an optional (sanitised)
// `spec`, with telemetry's defaults:
// - a missing, non-numeric or non-finite number is 0;
// - counts (T, L, S, H, lane counts, slot counts, budgets) are truncated
//   toward zero, negatives become 0, and values beyond int64 saturate;
// - m = summary.min_score, else spec.min_score, else 0;
// - P = number of summary.lane_counts entries whose count is > 0;
// - budgets = spec.slot_budgets when it is an object, else
//   summary.slots.budgets; slots whose budget is <= 0 are dropped.
// `summary` that is not an object gives all-zero inputs; `spec` may be null.
CoverageInputs inputs_from_summary(const nlohmann::json& summary, const nlohmann::json* spec);
CoverageInputs inputs_from_summary(const nlohmann::ordered_json& summary,
                                   const nlohmann::ordered_json* spec);

// ---------------------------------------------------------------------------
// Summary and spec fields, read once
//
// What inputs_from_summary reads of a `summary` and a `spec`, as plain values:
// a reader that does not build JSON values (e.g. simdjson on-demand over the
// raw payload) fills these and calls inputs_from_fields.

// One member as the formulas read it, decided when it is read.
struct NumberField {
  std::optional<double> finite;  // the value when it is a finite number
  int64_t count = 0;             // the value as a count (rules above); 0 when not a number
};

// How a JSON number of each type reads (the types nlohmann's parser gives:
// non-negative integers unsigned, negative ones signed, others double).
// Inline: a payload reader calls them once per number.
inline NumberField number_field(uint64_t value) {
  // A count saturates at int64 max.
  constexpr uint64_t kCountMax = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  return NumberField{static_cast<double>(value),
                     static_cast<int64_t>(value > kCountMax ? kCountMax : value)};
}

inline NumberField number_field(int64_t value) {
  return NumberField{static_cast<double>(value), value > 0 ? value : 0};
}

inline NumberField number_field(double value) {
  NumberField field;
  if (std::isfinite(value)) field.finite = value;
  // A count: non-negative, fractions truncated, saturating at int64 max.
  if (!(value > 0.0)) return field;  // negatives, zero and NaN
  // 2^63 is the first double beyond int64; converting it would be undefined.
  field.count = value >= 9223372036854775808.0 ? std::numeric_limits<int64_t>::max()
                                               : static_cast<int64_t>(value);
  return field;
}

// An object's members in its order; a repeated key keeps its first place and
// its last value (as nlohmann's ordered_json reads it).
using NumberFields = std::vector<std::pair<std::string, NumberField>>;

// Sets `key` in `fields` with that rule.
void set_number_field(NumberFields& fields, std::string_view key, NumberField value);
// The member `key`, or nullptr.
const NumberField* find_number_field(const NumberFields& fields, std::string_view key);

struct SummaryFields {
  NumberField target_limit;
  NumberField lanes_requested;
  NumberField selected;
  NumberField total_candidates;
  NumberField avg_cscore;
  NumberField max_cscore;
  NumberField threshold_hits;
  NumberField min_score;
  std::optional<NumberFields> lane_counts;   // when an object
  std::optional<NumberFields> slot_counts;   // slots.counts, when both are objects
  std::optional<NumberFields> slot_budgets;  // slots.budgets, when both are objects
};

struct SpecFields {
  NumberField min_score;
  std::optional<NumberFields> slot_budgets;  // when an object
};

// inputs_from_summary over fields already read; `spec` may be null.
CoverageInputs inputs_from_fields(const SummaryFields& summary, const SpecFields* spec);
// The same into `out`, reusing the storage of its slots: a caller that hands
// the same object back per event allocates only when a payload brings more or
// longer slot names than any before.
void inputs_from_fields(const SummaryFields& summary, const SpecFields* spec, CoverageInputs& out);

// ---------------------------------------------------------------------------
// Coverage verdict

inline constexpr std::string_view kReasonNoItemsSelected = "no_items_selected";
inline constexpr std::string_view kReasonBelowTargetLimit = "below_target_limit";
inline constexpr std::string_view kReasonLowLaneDiversity = "low_lane_diversity";
inline constexpr std::string_view kReasonWeakAverageScore = "weak_average_score";
inline constexpr std::string_view kReasonNoItemsAboveThreshold = "no_items_above_threshold";
// A reason for a slot is this prefix followed by the slot name.
inline constexpr std::string_view kReasonSlotUnderfilledPrefix = "slot_underfilled:";

struct CoverageVerdict {
  std::vector<std::string> reasons;  // in rule order, slots in ascending byte order
  bool needs_more = false;           // reasons is non-empty
  // Strings the filling overload keeps between calls, so that a reason
  // ("slot_underfilled:" and a name is longer than a short string) reuses a
  // buffer instead of allocating one. Not part of the verdict.
  std::vector<std::string> spare_reasons;
};

// Applies the six rules in order:
//   no_items_selected         S == 0
//   below_target_limit        S < (3*T + 4) / 5          (= ceil(0.6*T), integers)
//   low_lane_diversity        P < min(clamp(L, 1, 3), 2)
//   weak_average_score        avg < 0.9*m
//   no_items_above_threshold  H == 0 && max < m
//   slot_underfilled:<slot>   slot_underfilled(b, S, h), per budgeted slot
CoverageVerdict coverage_verdict(const CoverageInputs& inputs);
// The same into `out`, reusing the storage of its reasons (and spare_reasons).
void coverage_verdict(const CoverageInputs& inputs, CoverageVerdict& out);

// ---------------------------------------------------------------------------
// Slot formulas. Precondition: budget > 0 (callers skip other budgets).

// h < min(b, max(S, 1))
bool slot_underfilled(int64_t budget, int64_t selected, int64_t have);
// clamp(min(h, b) / max(1, min(b, max(S, 1))), 0, 1)
double slot_fill_ratio(int64_t budget, int64_t selected, int64_t have);
// (b - min(h, b)) / b, in [0, 1]
double slot_gap(int64_t budget, int64_t have);

// ---------------------------------------------------------------------------
// Recall risk

// Integer weights of the score's terms (0.4/0.2/0.2/0.2 once normalised).
inline constexpr int kCoverageWeight = 2;
inline constexpr int kLaneWeight = 1;
inline constexpr int kSlotWeight = 1;
inline constexpr int kQualityWeight = 1;

struct SlotGap {
  std::string slot;
  double gap = 0.0;
};

struct RecallRisk {
  double score = 0.0;  // in [0, 1]
  std::string level;   // risk_level(score)
  bool at_risk = false;
  double selected_ratio = 0.0;  // = coverage_ratio
  int64_t desired_lanes = 1;    // max(L, 1), not capped
  int64_t lane_count = 0;       // P, raised to 1 when S > 0
  // components, in the order of the JSON object
  double coverage_shortfall = 0.0;
  // Always computed; it only enters the score when desired_lanes > 1.
  double lane_gap = 0.0;
  std::optional<double> slot_gap;  // max over budgeted slots; unset without any
  std::vector<SlotGap> slots;      // per budgeted slot, ascending byte order
  double quality_gap = 0.0;
};

// Score = clamp(sum(weight*gap) / sum(weight), 0, 1) over the included terms,
// summed in the order coverage, lane, slot, quality. `needs_more` is the
// coverage verdict's (or the producer's) flag: at_risk = needs_more || score >= 0.4.
RecallRisk recall_risk(const CoverageInputs& inputs, bool needs_more);
// The same into `out`, reusing the storage of its slots.
void recall_risk(const CoverageInputs& inputs, bool needs_more, RecallRisk& out);

// "high" if score >= 0.7, "medium" if score >= 0.4, else "low".
std::string_view risk_level(double score);

// ---------------------------------------------------------------------------
// Rollups for the §3 aggregates

inline constexpr std::size_t kTopReasonsMax = 5;      // top_reasons, coverage.top_slots
inline constexpr std::size_t kLevelsMax = 5;          // recall_risk.levels
inline constexpr std::size_t kTopSlotGapsMax = 5;     // recall_risk.top_slots
inline constexpr std::size_t kLaneSlotStatsMax = 32;  // assembly/retriever lanes, slots

// {avg, max, samples} over finite values (telemetry.md §3 "Stats").
struct Stats {
  double avg = 0.0;
  double max = 0.0;
  uint64_t samples = 0;
};

// Accumulates values in the order given, which must be oldest to newest: the
// average is then exactly "sum from oldest to newest, divided by the count"
// (telemetry.md §0). Non-finite values are skipped.
class StatsAccumulator {
 public:
  void add(double value);
  uint64_t samples() const { return samples_; }
  // nullopt when no finite value was added (the aggregate is then omitted).
  std::optional<Stats> stats() const;

 private:
  double sum_ = 0.0;
  double max_ = 0.0;
  uint64_t samples_ = 0;
};

// The mean of the finite values, summed oldest to newest; nullopt if none.
std::optional<double> mean_of_finite(std::span<const double> oldest_to_newest);

// A slot gap as the aggregates use it: clamped to [0, 1]; nullopt when
// non-finite (such a gap is skipped: no sample, no metric series).
std::optional<double> effective_slot_gap(double gap);

struct CountEntry {
  std::string key;
  uint64_t count = 0;
};

// Entries with a count > 0, by count descending then key ascending (byte
// order), at most `limit` of them. For top_reasons, top_slots and levels.
std::vector<CountEntry> top_by_count(const std::map<std::string, uint64_t>& counts,
                                     std::size_t limit);

struct StatsEntry {
  std::string key;
  Stats stats;
};

// Entries with at least one sample, by avg descending then key ascending,
// at most `limit` of them. For recall_risk.top_slots (avg_gap) and lanes/slots.
std::vector<StatsEntry> top_by_avg(const std::map<std::string, StatsAccumulator>& stats,
                                   std::size_t limit);

}  // namespace tpark::context
