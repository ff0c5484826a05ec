#include "tpark/context/formulas.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include <nlohmann/json.hpp>

namespace tpark::context {
namespace {

// Element `n` of `items`, appended when n == size(): an element already there
// keeps its storage (its strings' buffers) for the caller to overwrite.
template <class T>
T& reuse_at(std::vector<T>& items, std::size_t n) {
  if (n < items.size()) return items[n];
  return items.emplace_back();
}

// Insertion sort (stable, no buffer) for the few slots a payload budgets; a
// stable sort with its buffer beyond that.
void sort_stable_by_slot(std::vector<SlotInput>& slots) {
  const auto by_slot = [](const SlotInput& a, const SlotInput& b) { return a.slot < b.slot; };
  if (slots.size() > 32) {
    std::stable_sort(slots.begin(), slots.end(), by_slot);
    return;
  }
  for (std::size_t i = 1; i < slots.size(); ++i)
    for (std::size_t j = i; j > 0 && by_slot(slots[j], slots[j - 1]); --j)
      std::swap(slots[j], slots[j - 1]);
}

// Sorted slots: of equal names keeps the last one.
void keep_last_of_each_slot(std::vector<SlotInput>& slots) {
  std::size_t kept = 0;
  for (std::size_t i = 0; i < slots.size(); ++i) {
    if (i + 1 < slots.size() && slots[i + 1].slot == slots[i].slot) continue;
    if (kept != i) std::swap(slots[kept], slots[i]);
    ++kept;
  }
  slots.resize(kept);
}

template <class Json>
const Json* member(const Json* object, const char* key) {
  if (object == nullptr || !object->is_object()) return nullptr;
  auto it = object->find(key);
  return it == object->end() ? nullptr : &*it;
}

// A member as the formulas read it: a missing or non-numeric one is no number.
template <class Json>
NumberField number_field_of(const Json* value) {
  if (value == nullptr) return {};
  if (value->is_number_unsigned()) return number_field(value->template get<uint64_t>());
  if (value->is_number_integer()) return number_field(value->template get<int64_t>());
  if (value->is_number_float()) return number_field(value->template get<double>());
  return {};
}

template <class Json>
std::optional<NumberFields> number_fields_of(const Json* object) {
  if (object == nullptr || !object->is_object()) return std::nullopt;
  NumberFields fields;
  for (const auto& [key, value] : object->items())
    set_number_field(fields, key, number_field_of(&value));
  return fields;
}

template <class Json>
CoverageInputs inputs_from_summary_impl(const Json& summary, const Json* spec) {
  SummaryFields fields;
  const Json* s = &summary;
  fields.target_limit = number_field_of(member(s, "target_limit"));
  fields.lanes_requested = number_field_of(member(s, "lanes_requested"));
  fields.selected = number_field_of(member(s, "selected"));
  fields.avg_cscore = number_field_of(member(s, "avg_cscore"));
  fields.max_cscore = number_field_of(member(s, "max_cscore"));
  fields.threshold_hits = number_field_of(member(s, "threshold_hits"));
  fields.min_score = number_field_of(member(s, "min_score"));
  fields.lane_counts = number_fields_of(member(s, "lane_counts"));
  const Json* slots = member(s, "slots");
  fields.slot_counts = number_fields_of(member(slots, "counts"));
  fields.slot_budgets = number_fields_of(member(slots, "budgets"));
  if (spec == nullptr) return inputs_from_fields(fields, nullptr);
  SpecFields spec_fields;
  spec_fields.min_score = number_field_of(member(spec, "min_score"));
  spec_fields.slot_budgets = number_fields_of(member(spec, "slot_budgets"));
  return inputs_from_fields(fields, &spec_fields);
}

}  // namespace

void set_number_field(NumberFields& fields, std::string_view key, NumberField value) {
  for (auto& [name, field] : fields) {
    if (name == key) {
      field = value;
      return;
    }
  }
  fields.emplace_back(std::string(key), value);
}

const NumberField* find_number_field(const NumberFields& fields, std::string_view key) {
  for (const auto& [name, field] : fields)
    if (name == key) return &field;
  return nullptr;
}

CoverageInputs inputs_from_fields(const SummaryFields& summary, const SpecFields* spec) {
  CoverageInputs in;
  inputs_from_fields(summary, spec, in);
  return in;
}

void inputs_from_fields(const SummaryFields& summary, const SpecFields* spec, CoverageInputs& in) {
  in.target_limit = summary.target_limit.count;
  in.lanes_requested = summary.lanes_requested.count;
  in.selected = summary.selected.count;
  in.avg_cscore = summary.avg_cscore.finite.value_or(0.0);
  in.max_cscore = summary.max_cscore.finite.value_or(0.0);
  in.threshold_hits = summary.threshold_hits.count;

  std::optional<double> min_score = summary.min_score.finite;
  if (!min_score && spec != nullptr) min_score = spec->min_score.finite;
  in.min_score = min_score.value_or(0.0);

  in.lanes_present = 0;
  if (summary.lane_counts) {
    for (const auto& [lane, count] : *summary.lane_counts)
      if (count.count > 0) ++in.lanes_present;
  }

  const NumberFields* budgets = nullptr;
  if (spec != nullptr && spec->slot_budgets) budgets = &*spec->slot_budgets;
  if (budgets == nullptr && summary.slot_budgets) budgets = &*summary.slot_budgets;
  std::size_t kept = 0;
  if (budgets != nullptr) {
    for (const auto& [slot, budget] : *budgets) {
      if (budget.count <= 0) continue;
      SlotInput& input = reuse_at(in.slots, kept++);
      input.slot.assign(slot);
      input.budget = budget.count;
    }
  }
  in.slots.resize(kept);
  // Ascending byte order of the name (std::string's order), as a std::map of
  // the budgets would give; of a name listed twice the last budget wins.
  sort_stable_by_slot(in.slots);
  keep_last_of_each_slot(in.slots);
  for (SlotInput& input : in.slots) {
    const NumberField* have =
        summary.slot_counts ? find_number_field(*summary.slot_counts, input.slot) : nullptr;
    input.have = have != nullptr ? have->count : 0;
  }
}

CoverageInputs inputs_from_summary(const nlohmann::json& summary, const nlohmann::json* spec) {
  return inputs_from_summary_impl(summary, spec);
}

CoverageInputs inputs_from_summary(const nlohmann::ordered_json& summary,
                                   const nlohmann::ordered_json* spec) {
  return inputs_from_summary_impl(summary, spec);
}

CoverageVerdict coverage_verdict(const CoverageInputs& in) {
  CoverageVerdict verdict;
  coverage_verdict(in, verdict);
  return verdict;
}

void coverage_verdict(const CoverageInputs& in, CoverageVerdict& verdict) {
  // Every string goes back to the spares, and each reason takes one from there.
  for (std::string& reason : verdict.reasons) verdict.spare_reasons.push_back(std::move(reason));
  verdict.reasons.clear();
  auto next_reason = [&]() -> std::string& {
    if (verdict.spare_reasons.empty()) return verdict.reasons.emplace_back();
    verdict.reasons.push_back(std::move(verdict.spare_reasons.back()));
    verdict.spare_reasons.pop_back();
    return verdict.reasons.back();
  };
  auto add = [&](std::string_view reason) { next_reason().assign(reason); };

  if (in.selected == 0) add(kReasonNoItemsSelected);
  // ceil(0.6*T) in integers; 128-bit so that a saturated T cannot overflow.
  const auto target_selected = static_cast<int64_t>((__int128{3} * in.target_limit + 4) / 5);
  if (in.selected < target_selected) add(kReasonBelowTargetLimit);
  const int64_t lanes_needed = std::min<int64_t>(std::clamp<int64_t>(in.lanes_requested, 1, 3), 2);
  if (in.lanes_present < lanes_needed) add(kReasonLowLaneDiversity);
  if (in.avg_cscore < 0.9 * in.min_score) add(kReasonWeakAverageScore);
  if (in.threshold_hits == 0 && in.max_cscore < in.min_score) add(kReasonNoItemsAboveThreshold);
  for (const SlotInput& slot : in.slots) {
    if (slot.budget <= 0) continue;
    if (slot_underfilled(slot.budget, in.selected, slot.have)) {
      std::string& reason = next_reason();
      reason.assign(kReasonSlotUnderfilledPrefix);
      reason.append(slot.slot);
    }
  }
  verdict.needs_more = !verdict.reasons.empty();
}

bool slot_underfilled(int64_t budget, int64_t selected, int64_t have) {
  return have < std::min(budget, std::max<int64_t>(selected, 1));
}

double slot_fill_ratio(int64_t budget, int64_t selected, int64_t have) {
  const int64_t expected = std::max<int64_t>(1, std::min(budget, std::max<int64_t>(selected, 1)));
  const double ratio = static_cast<double>(std::min(have, budget)) / static_cast<double>(expected);
  return std::clamp(ratio, 0.0, 1.0);
}

double slot_gap(int64_t budget, int64_t have) {
  return static_cast<double>(budget - std::min(have, budget)) / static_cast<double>(budget);
}

RecallRisk recall_risk(const CoverageInputs& in, bool needs_more) {
  RecallRisk risk;
  recall_risk(in, needs_more, risk);
  return risk;
}

void recall_risk(const CoverageInputs& in, bool needs_more, RecallRisk& risk) {
  const int64_t target = in.target_limit;
  const int64_t selected = in.selected;

  const double coverage_ratio = std::clamp(static_cast<double>(std::min(selected, target)) /
                                               static_cast<double>(std::max<int64_t>(target, 1)),
                                           0.0, 1.0);
  risk.selected_ratio = coverage_ratio;
  risk.coverage_shortfall = 1.0 - coverage_ratio;

  risk.desired_lanes = std::max<int64_t>(in.lanes_requested, 1);
  risk.lane_count = selected > 0 ? std::max<int64_t>(in.lanes_present, 1) : in.lanes_present;
  risk.lane_gap = static_cast<double>(std::max<int64_t>(risk.desired_lanes - risk.lane_count, 0)) /
                  static_cast<double>(risk.desired_lanes);

  std::size_t slots = 0;
  risk.slot_gap.reset();
  for (const SlotInput& slot : in.slots) {
    if (slot.budget <= 0) continue;
    const double gap = slot_gap(slot.budget, slot.have);
    SlotGap& kept = reuse_at(risk.slots, slots++);
    kept.slot.assign(slot.slot);
    kept.gap = gap;
    risk.slot_gap = risk.slot_gap ? std::max(*risk.slot_gap, gap) : gap;
  }
  risk.slots.resize(slots);

  const double threshold_gap = (in.threshold_hits == 0 && in.max_cscore < in.min_score) ? 1.0 : 0.0;
  const double avg_gap =
      in.min_score > 0.0
          ? std::clamp(std::max(in.min_score - in.avg_cscore, 0.0) / in.min_score, 0.0, 1.0)
          : 0.0;
  risk.quality_gap = std::max(threshold_gap, avg_gap);

  // Summed in the fixed order coverage, lane, slot, quality, so the result is
  // the same bit for bit wherever it is computed.
  double weighted_sum = 0.0;
  int weight_total = 0;
  weighted_sum += kCoverageWeight * risk.coverage_shortfall;
  weight_total += kCoverageWeight;
  if (risk.desired_lanes > 1) {
    weighted_sum += kLaneWeight * risk.lane_gap;
    weight_total += kLaneWeight;
  }
  if (risk.slot_gap) {
    weighted_sum += kSlotWeight * *risk.slot_gap;
    weight_total += kSlotWeight;
  }
  weighted_sum += kQualityWeight * risk.quality_gap;
  weight_total += kQualityWeight;

  risk.score = std::clamp(weighted_sum / static_cast<double>(weight_total), 0.0, 1.0);
  risk.level.assign(risk_level(risk.score));
  risk.at_risk = needs_more || risk.score >= 0.4;
}

std::string_view risk_level(double score) {
  if (score >= 0.7) return "high";
  if (score >= 0.4) return "medium";
  return "low";
}

void StatsAccumulator::add(double value) {
  if (!std::isfinite(value)) return;
  // Start from the first value rather than 0.0 so the sum is exactly the sum
  // of the values (0.0 + -0.0 would lose the sign).
  if (samples_ == 0) {
    sum_ = value;
    max_ = value;
  } else {
    sum_ += value;
    max_ = std::max(max_, value);
  }
  ++samples_;
}

std::optional<Stats> StatsAccumulator::stats() const {
  if (samples_ == 0) return std::nullopt;
  return Stats{sum_ / static_cast<double>(samples_), max_, samples_};
}

std::optional<double> mean_of_finite(std::span<const double> oldest_to_newest) {
  StatsAccumulator accumulator;
  for (double value : oldest_to_newest) accumulator.add(value);
  if (auto stats = accumulator.stats()) return stats->avg;
  return std::nullopt;
}

std::optional<double> effective_slot_gap(double gap) {
  if (!std::isfinite(gap)) return std::nullopt;
  return std::clamp(gap, 0.0, 1.0);
}

std::vector<CountEntry> top_by_count(const std::map<std::string, uint64_t>& counts,
                                     std::size_t limit) {
  std::vector<CountEntry> entries;
  for (const auto& [key, count] : counts) {
    if (count > 0) entries.push_back(CountEntry{key, count});
  }
  const auto by_rank = [](const CountEntry& a, const CountEntry& b) {
    if (a.count != b.count) return a.count > b.count;
    return a.key < b.key;
  };
  const std::size_t kept = std::min(limit, entries.size());
  std::partial_sort(entries.begin(), entries.begin() + static_cast<std::ptrdiff_t>(kept),
                    entries.end(), by_rank);
  entries.resize(kept);
  return entries;
}

std::vector<StatsEntry> top_by_avg(const std::map<std::string, StatsAccumulator>& stats,
                                   std::size_t limit) {
  std::vector<StatsEntry> entries;
  for (const auto& [key, accumulator] : stats) {
    if (auto s = accumulator.stats()) entries.push_back(StatsEntry{key, *s});
  }
  // A NaN average (only possible when finite sums overflow to +inf and -inf)
  // ranks last, so the ordering stays a strict weak order.
  const auto by_rank = [](const StatsEntry& a, const StatsEntry& b) {
    const bool a_nan = std::isnan(a.stats.avg);
    const bool b_nan = std::isnan(b.stats.avg);
    if (a_nan != b_nan) return b_nan;
    if (!a_nan && a.stats.avg != b.stats.avg) return a.stats.avg > b.stats.avg;
    return a.key < b.key;
  };
  const std::size_t kept = std::min(limit, entries.size());
  std::partial_sort(entries.begin(), entries.begin() + static_cast<std::ptrdiff_t>(kept),
                    entries.end(), by_rank);
  entries.resize(kept);
  return entries;
}

}  // namespace tpark::context
