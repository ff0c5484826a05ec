// The context formulas of telemetry.md §3.1 and the §3 rollups, pinned with
// the spec's exact numbers (worked example, §11 checks 3-8, the slot table).
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tpark/context/formulas.h"

namespace ctx = tpark::context;
using nlohmann::ordered_json;

namespace {

using Reasons = std::vector<std::string>;

// The payload of telemetry.md §11 check 3, with the slot budget as a parameter.
ordered_json worked_example_payload(int instructions_budget) {
  ordered_json payload = ordered_json::parse(R"({
    "summary": {"target_limit": 8, "lanes_requested": 2, "selected": 3, "avg_cscore": 0.25,
                "max_cscore": 0.3, "threshold_hits": 0, "min_score": 0.6,
                "lane_counts": {"semantic": 3}, "slots": {"counts": {"instructions": 0}}},
    "spec": {"slot_budgets": {"instructions": 2}}})");
  payload["spec"]["slot_budgets"]["instructions"] = instructions_budget;
  return payload;
}

ctx::CoverageInputs worked_example_inputs(int instructions_budget) {
  const ordered_json payload = worked_example_payload(instructions_budget);
  return ctx::inputs_from_summary(payload["summary"], &payload["spec"]);
}

// Inputs with no reasons and no risk: 4 of 4 selected over two lanes, good scores.
ctx::CoverageInputs healthy_inputs() {
  ctx::CoverageInputs in;
  in.target_limit = 4;
  in.lanes_requested = 2;
  in.selected = 4;
  in.avg_cscore = 0.9;
  in.max_cscore = 0.95;
  in.threshold_hits = 4;
  in.min_score = 0.5;
  in.lanes_present = 2;
  return in;
}

bool has_reason(const ctx::CoverageVerdict& verdict, std::string_view reason) {
  for (const auto& r : verdict.reasons) {
    if (r == reason) return true;
  }
  return false;
}

}  // namespace

// ---------------------------------------------------------------------------
// Inputs

TEST_CASE("inputs_from_summary reads the worked example", "[context][formulas]") {
  const ctx::CoverageInputs in = worked_example_inputs(2);
  CHECK(in.target_limit == 8);
  CHECK(in.lanes_requested == 2);
  CHECK(in.selected == 3);
  CHECK(in.avg_cscore == 0.25);
  CHECK(in.max_cscore == 0.3);
  CHECK(in.threshold_hits == 0);
  CHECK(in.min_score == 0.6);
  CHECK(in.lanes_present == 1);
  REQUIRE(in.slots.size() == 1);
  CHECK(in.slots[0].slot == "instructions");
  CHECK(in.slots[0].budget == 2);
  CHECK(in.slots[0].have == 0);
}

TEST_CASE("inputs_from_summary reads a missing or non-numeric number as 0", "[context][formulas]") {
  const ordered_json summary = ordered_json::parse(
      R"({"target_limit":"8","selected":null,"avg_cscore":true,"lane_counts":[1,2]})");
  const ctx::CoverageInputs in = ctx::inputs_from_summary(summary, nullptr);
  CHECK(in.target_limit == 0);
  CHECK(in.lanes_requested == 0);
  CHECK(in.selected == 0);
  CHECK(in.avg_cscore == 0.0);
  CHECK(in.max_cscore == 0.0);
  CHECK(in.min_score == 0.0);
  CHECK(in.lanes_present == 0);
  CHECK(in.slots.empty());

  const ctx::CoverageInputs from_non_object =
      ctx::inputs_from_summary(ordered_json::parse("[8,2,3]"), nullptr);
  CHECK(from_non_object.target_limit == 0);
  CHECK(from_non_object.selected == 0);
}

TEST_CASE("inputs_from_summary truncates counts and floors them at 0", "[context][formulas]") {
  const ordered_json summary = ordered_json::parse(
      R"({"target_limit":8.9,"lanes_requested":-2,"selected":3.999,"threshold_hits":-0.5,
          "avg_cscore":-0.25})");
  const ctx::CoverageInputs in = ctx::inputs_from_summary(summary, nullptr);
  CHECK(in.target_limit == 8);
  CHECK(in.lanes_requested == 0);
  CHECK(in.selected == 3);
  CHECK(in.threshold_hits == 0);
  CHECK(in.avg_cscore == -0.25);  // a score, not a count: kept as is
}

TEST_CASE("inputs_from_summary saturates counts beyond int64", "[context][formulas]") {
  const ordered_json summary =
      ordered_json::parse(R"({"target_limit":18446744073709551615,"selected":1e300})");
  const ctx::CoverageInputs in = ctx::inputs_from_summary(summary, nullptr);
  CHECK(in.target_limit == std::numeric_limits<int64_t>::max());
  CHECK(in.selected == std::numeric_limits<int64_t>::max());
  // (3*T + 4) / 5 must not overflow: S == T is not below ceil(0.6*T).
  CHECK_FALSE(has_reason(ctx::coverage_verdict(in), ctx::kReasonBelowTargetLimit));
}

TEST_CASE("inputs_from_summary takes min_score from summary, else spec, else 0",
          "[context][formulas]") {
  const ordered_json spec = ordered_json::parse(R"({"min_score":0.4})");
  CHECK(ctx::inputs_from_summary(ordered_json::parse(R"({"min_score":0.6})"), &spec).min_score ==
        0.6);
  CHECK(ctx::inputs_from_summary(ordered_json::parse(R"({"min_score":"0.6"})"), &spec).min_score ==
        0.4);
  CHECK(ctx::inputs_from_summary(ordered_json::parse("{}"), &spec).min_score == 0.4);
  CHECK(ctx::inputs_from_summary(ordered_json::parse("{}"), nullptr).min_score == 0.0);
}

TEST_CASE("inputs_from_summary counts only lanes with a count above 0", "[context][formulas]") {
  const ordered_json summary = ordered_json::parse(
      R"({"lane_counts":{"semantic":3,"episodic":0,"graph":0.5,"recent":-1,"web":"2","code":1}})");
  CHECK(ctx::inputs_from_summary(summary, nullptr).lanes_present == 2);
}

TEST_CASE("inputs_from_summary prefers spec budgets over summary budgets", "[context][formulas]") {
  const ordered_json summary =
      ordered_json::parse(R"({"slots":{"budgets":{"a":1,"b":1},"counts":{"a":1,"c":2}}})");
  const ordered_json spec = ordered_json::parse(R"({"slot_budgets":{"c":3}})");

  const ctx::CoverageInputs from_spec = ctx::inputs_from_summary(summary, &spec);
  REQUIRE(from_spec.slots.size() == 1);
  CHECK(from_spec.slots[0].slot == "c");
  CHECK(from_spec.slots[0].budget == 3);
  CHECK(from_spec.slots[0].have == 2);

  const ordered_json spec_without_budgets = ordered_json::parse(R"({"slot_budgets":null})");
  const ctx::CoverageInputs from_summary = ctx::inputs_from_summary(summary, &spec_without_budgets);
  REQUIRE(from_summary.slots.size() == 2);
  CHECK(from_summary.slots[0].slot == "a");
  CHECK(from_summary.slots[0].have == 1);
  CHECK(from_summary.slots[1].slot == "b");
  CHECK(from_summary.slots[1].have == 0);  // no count for b: have 0
}

TEST_CASE("inputs_from_summary skips budgets of 0 or less and keeps byte order",
          "[context][formulas]") {
  const ordered_json summary = ordered_json::parse("{}");
  const ordered_json spec = ordered_json::parse(
      R"({"slot_budgets":{"zeta":1,"Zeta":2,"alpha":0,"beta":-3,"half":0.5,"_x":1.9,"Älpha":1}})");
  const ctx::CoverageInputs in = ctx::inputs_from_summary(summary, &spec);
  std::vector<std::string> names;
  for (const auto& slot : in.slots) names.push_back(slot.slot);
  // Byte order: uppercase < underscore < lowercase < UTF-8 lead bytes.
  CHECK(names == std::vector<std::string>{"Zeta", "_x", "zeta", "Älpha"});
  CHECK(in.slots[1].budget == 1);  // 1.9 truncated
}

TEST_CASE("inputs_from_summary accepts plain nlohmann::json too", "[context][formulas]") {
  const nlohmann::json payload = nlohmann::json::parse(worked_example_payload(2).dump());
  const ctx::CoverageInputs in = ctx::inputs_from_summary(payload["summary"], &payload["spec"]);
  CHECK(in.selected == 3);
  CHECK(in.lanes_present == 1);
  REQUIRE(in.slots.size() == 1);
  CHECK(in.slots[0].budget == 2);
}

// ---------------------------------------------------------------------------
// Coverage verdict

TEST_CASE("coverage_verdict lists the worked example's five reasons in order",
          "[context][formulas]") {
  const ctx::CoverageVerdict verdict = ctx::coverage_verdict(worked_example_inputs(2));
  CHECK(verdict.reasons == Reasons{"below_target_limit", "low_lane_diversity", "weak_average_score",
                                   "no_items_above_threshold", "slot_underfilled:instructions"});
  CHECK(verdict.needs_more);
}

TEST_CASE("coverage_verdict with a slot budget of 0 gives only the first four reasons",
          "[context][formulas]") {
  const ctx::CoverageVerdict verdict = ctx::coverage_verdict(worked_example_inputs(0));
  CHECK(verdict.reasons == Reasons{"below_target_limit", "low_lane_diversity", "weak_average_score",
                                   "no_items_above_threshold"});
  CHECK(verdict.needs_more);
}

TEST_CASE("coverage_verdict appends all six rules in order, slots in byte order",
          "[context][formulas]") {
  ctx::CoverageInputs in;
  in.target_limit = 8;
  in.lanes_requested = 3;
  in.min_score = 0.5;
  in.slots = {{"a", 2, 0}, {"b", 1, 0}};
  CHECK(ctx::coverage_verdict(in).reasons == Reasons{"no_items_selected", "below_target_limit",
                                                     "low_lane_diversity", "weak_average_score",
                                                     "no_items_above_threshold",
                                                     "slot_underfilled:a", "slot_underfilled:b"});
}

TEST_CASE("coverage_verdict is empty and needs no more for healthy inputs", "[context][formulas]") {
  const ctx::CoverageVerdict verdict = ctx::coverage_verdict(healthy_inputs());
  CHECK(verdict.reasons.empty());
  CHECK_FALSE(verdict.needs_more);
}

TEST_CASE("coverage_verdict with T=0 and S=0 reports no_items_selected, not below target",
          "[context][formulas]") {
  ctx::CoverageInputs in = healthy_inputs();
  in.target_limit = 0;
  in.selected = 0;
  const ctx::CoverageVerdict verdict = ctx::coverage_verdict(in);
  CHECK(verdict.reasons == Reasons{"no_items_selected"});
  CHECK(verdict.needs_more);
}

TEST_CASE("coverage_verdict target is ceil(0.6*T) for T=1..20", "[context][formulas]") {
  // ceil(0.6*T) worked out by hand: 0.6, 1.2, 1.8, 2.4, 3, 3.6, ...
  const int64_t expected[20] = {1, 2, 2, 3, 3, 4, 5, 5, 6, 6, 7, 8, 8, 9, 9, 10, 11, 11, 12, 12};
  for (int64_t t = 1; t <= 20; ++t) {
    INFO("T=" << t);
    ctx::CoverageInputs in = healthy_inputs();
    in.target_limit = t;
    in.selected = expected[t - 1];
    CHECK_FALSE(has_reason(ctx::coverage_verdict(in), ctx::kReasonBelowTargetLimit));
    in.selected = expected[t - 1] - 1;
    CHECK(has_reason(ctx::coverage_verdict(in), ctx::kReasonBelowTargetLimit));
  }
}

TEST_CASE("coverage_verdict needs min(clamp(L,1,3),2) lanes present", "[context][formulas]") {
  struct Case {
    int64_t lanes_requested, lanes_present;
    bool low;
  };
  const Case cases[] = {{0, 0, true},  {0, 1, false}, {1, 0, true},  {1, 1, false}, {2, 1, true},
                        {2, 2, false}, {3, 1, true},  {3, 2, false}, {9, 1, true},  {9, 2, false}};
  for (const Case& c : cases) {
    INFO("L=" << c.lanes_requested << " P=" << c.lanes_present);
    ctx::CoverageInputs in = healthy_inputs();
    in.lanes_requested = c.lanes_requested;
    in.lanes_present = c.lanes_present;
    CHECK(has_reason(ctx::coverage_verdict(in), ctx::kReasonLowLaneDiversity) == c.low);
  }
}

TEST_CASE("coverage_verdict score rules compare against m and 0.9*m", "[context][formulas]") {
  ctx::CoverageInputs in = healthy_inputs();
  in.min_score = 0.5;
  in.avg_cscore = 0.45;  // == 0.9*0.5: not below
  CHECK_FALSE(has_reason(ctx::coverage_verdict(in), ctx::kReasonWeakAverageScore));
  in.avg_cscore = 0.44;
  CHECK(has_reason(ctx::coverage_verdict(in), ctx::kReasonWeakAverageScore));

  in.max_cscore = 0.4;  // below m, but there are threshold hits
  CHECK_FALSE(has_reason(ctx::coverage_verdict(in), ctx::kReasonNoItemsAboveThreshold));
  in.threshold_hits = 0;
  CHECK(has_reason(ctx::coverage_verdict(in), ctx::kReasonNoItemsAboveThreshold));
  in.max_cscore = 0.5;  // == m: not below
  CHECK_FALSE(has_reason(ctx::coverage_verdict(in), ctx::kReasonNoItemsAboveThreshold));
}

// ---------------------------------------------------------------------------
// Slot formulas: the four rows of the telemetry.md §3.1 table

TEST_CASE("slot formulas match the table row b=2 S=1 h=1", "[context][formulas]") {
  CHECK_FALSE(ctx::slot_underfilled(2, 1, 1));
  CHECK(ctx::slot_fill_ratio(2, 1, 1) == 1.0);
  CHECK(ctx::slot_gap(2, 1) == 0.5);
}

TEST_CASE("slot formulas match the table row b=2 S=3 h=0", "[context][formulas]") {
  CHECK(ctx::slot_underfilled(2, 3, 0));
  CHECK(ctx::slot_fill_ratio(2, 3, 0) == 0.0);
  CHECK(ctx::slot_gap(2, 0) == 1.0);
}

TEST_CASE("slot formulas match the table row b=4 S=2 h=3 with fill clamped from 1.5",
          "[context][formulas]") {
  CHECK_FALSE(ctx::slot_underfilled(4, 2, 3));
  CHECK(ctx::slot_fill_ratio(4, 2, 3) == 1.0);
  CHECK(ctx::slot_gap(4, 3) == 0.25);
}

TEST_CASE("slot formulas match the table row b=3 S=0 h=0", "[context][formulas]") {
  CHECK(ctx::slot_underfilled(3, 0, 0));
  CHECK(ctx::slot_fill_ratio(3, 0, 0) == 0.0);
  CHECK(ctx::slot_gap(3, 0) == 1.0);
}

TEST_CASE("slot_fill_ratio is exactly 2/3 for b=3 S=3 h=2", "[context][formulas]") {
  CHECK(ctx::slot_fill_ratio(3, 3, 2) == 2.0 / 3.0);
  CHECK_FALSE(ctx::slot_underfilled(3, 3, 3));
  CHECK(ctx::slot_underfilled(3, 3, 2));
}

TEST_CASE("slot_gap is 0 when the slot has more than its budget", "[context][formulas]") {
  CHECK(ctx::slot_gap(2, 5) == 0.0);
  CHECK(ctx::slot_fill_ratio(2, 5, 5) == 1.0);
}

// ---------------------------------------------------------------------------
// Recall risk

TEST_CASE("recall_risk combines the worked example's gaps to 0.75 high", "[context][formulas]") {
  const ctx::CoverageInputs in = worked_example_inputs(2);
  const ctx::RecallRisk risk = ctx::recall_risk(in, ctx::coverage_verdict(in).needs_more);
  CHECK(risk.score == 0.75);
  CHECK(risk.level == "high");
  CHECK(risk.at_risk);
  CHECK(risk.selected_ratio == 0.375);
  CHECK(risk.desired_lanes == 2);
  CHECK(risk.lane_count == 1);
  CHECK(risk.coverage_shortfall == 0.625);
  CHECK(risk.lane_gap == 0.5);
  REQUIRE(risk.slot_gap.has_value());
  CHECK(*risk.slot_gap == 1.0);
  REQUIRE(risk.slots.size() == 1);
  CHECK(risk.slots[0].slot == "instructions");
  CHECK(risk.slots[0].gap == 1.0);
  CHECK(risk.quality_gap == 1.0);
}

TEST_CASE("recall_risk with a slot budget of 0 drops the slot term to 0.6875 medium",
          "[context][formulas]") {
  const ctx::CoverageInputs in = worked_example_inputs(0);
  const ctx::RecallRisk risk = ctx::recall_risk(in, false);
  CHECK(risk.score == 0.6875);
  CHECK(risk.level == "medium");
  CHECK(risk.at_risk);
  CHECK_FALSE(risk.slot_gap.has_value());
  CHECK(risk.slots.empty());
  CHECK(risk.coverage_shortfall == 0.625);
  CHECK(risk.lane_gap == 0.5);
  CHECK(risk.quality_gap == 1.0);
}

TEST_CASE("recall_risk slot_gap is the maximum over budgeted slots", "[context][formulas]") {
  ctx::CoverageInputs in = healthy_inputs();
  in.slots = {{"a", 4, 3}, {"b", 2, 1}, {"c", 1, 1}};
  const ctx::RecallRisk risk = ctx::recall_risk(in, false);
  REQUIRE(risk.slots.size() == 3);
  CHECK(risk.slots[0].gap == 0.25);
  CHECK(risk.slots[1].gap == 0.5);
  CHECK(risk.slots[2].gap == 0.0);
  CHECK(risk.slot_gap == 0.5);
  // coverage 0, lane 0, slot 0.5, quality 0: 0.5/5
  CHECK(risk.score == 0.5 / 5.0);
}

TEST_CASE("recall_risk leaves the lane term out when desired_lanes is 1", "[context][formulas]") {
  ctx::CoverageInputs in;  // S=0, P=0: the lane gap is 1 but must not count
  in.target_limit = 4;
  in.threshold_hits = 1;
  for (int64_t lanes_requested : {0, 1}) {
    INFO("L=" << lanes_requested);
    in.lanes_requested = lanes_requested;
    const ctx::RecallRisk risk = ctx::recall_risk(in, false);
    CHECK(risk.desired_lanes == 1);
    CHECK(risk.lane_count == 0);
    CHECK(risk.lane_gap == 1.0);
    CHECK(risk.coverage_shortfall == 1.0);
    CHECK(risk.quality_gap == 0.0);
    CHECK(risk.score == 2.0 / 3.0);  // (2*1 + 0) / 3, not (2*1 + 1 + 0) / 4
  }
  in.lanes_requested = 2;
  CHECK(ctx::recall_risk(in, false).score == 0.75);  // (2*1 + 1 + 0) / 4
}

TEST_CASE("recall_risk desired lanes are not capped and lane_count is raised to 1 by S",
          "[context][formulas]") {
  ctx::CoverageInputs in = healthy_inputs();
  in.lanes_requested = 5;
  in.lanes_present = 0;
  const ctx::RecallRisk risk = ctx::recall_risk(in, false);
  CHECK(risk.desired_lanes == 5);
  CHECK(risk.lane_count == 1);
  CHECK(risk.lane_gap == 0.8);
}

TEST_CASE("recall_risk avg_gap is 0 when m is 0", "[context][formulas]") {
  ctx::CoverageInputs in = healthy_inputs();
  in.min_score = 0.0;
  in.avg_cscore = -1.0;  // below m, but with m = 0 there is no average to fall short of
  in.max_cscore = 0.0;   // not below m: no threshold gap either
  in.threshold_hits = 0;
  const ctx::RecallRisk risk = ctx::recall_risk(in, false);
  CHECK(risk.quality_gap == 0.0);
  CHECK(risk.score == 0.0);
  CHECK(risk.level == "low");
  CHECK_FALSE(risk.at_risk);
}

TEST_CASE("recall_risk quality gap is the larger of threshold and average gaps",
          "[context][formulas]") {
  ctx::CoverageInputs in = healthy_inputs();
  in.lanes_requested = 1;
  in.min_score = 0.5;
  in.avg_cscore = 0.25;  // avg_gap = 0.25/0.5 = 0.5
  in.threshold_hits = 1;
  ctx::RecallRisk risk = ctx::recall_risk(in, false);
  CHECK(risk.quality_gap == 0.5);
  CHECK(risk.score == 0.5 / 3.0);
  CHECK(risk.level == "low");
  CHECK_FALSE(risk.at_risk);
  CHECK(ctx::recall_risk(in, true).at_risk);  // needs_more alone puts it at risk

  in.threshold_hits = 0;
  in.max_cscore = 0.4;  // threshold_gap = 1
  CHECK(ctx::recall_risk(in, false).quality_gap == 1.0);

  in.avg_cscore = -5.0;  // avg_gap clamped to 1
  in.threshold_hits = 1;
  CHECK(ctx::recall_risk(in, false).quality_gap == 1.0);
}

TEST_CASE("recall_risk of exactly 0.4 is medium and at risk", "[context][formulas]") {
  ctx::CoverageInputs in;
  in.target_limit = 8;
  in.selected = 4;  // shortfall 0.5
  in.lanes_requested = 2;
  in.lanes_present = 1;      // lane gap 0.5
  in.slots = {{"s", 2, 1}};  // slot gap 0.5
  in.threshold_hits = 1;     // m = 0: quality 0
  const ctx::RecallRisk risk = ctx::recall_risk(in, false);
  CHECK(risk.score == 0.4);  // (2*0.5 + 0.5 + 0.5 + 0) / 5
  CHECK(risk.level == "medium");
  CHECK(risk.at_risk);
}

TEST_CASE("recall_risk with T=0 has a full coverage shortfall", "[context][formulas]") {
  ctx::CoverageInputs in = healthy_inputs();
  in.target_limit = 0;
  const ctx::RecallRisk risk = ctx::recall_risk(in, false);
  CHECK(risk.selected_ratio == 0.0);
  CHECK(risk.coverage_shortfall == 1.0);
}

TEST_CASE("risk_level thresholds are exactly 0.4 and 0.7", "[context][formulas]") {
  CHECK(ctx::risk_level(0.0) == "low");
  CHECK(ctx::risk_level(std::nextafter(0.4, 0.0)) == "low");
  CHECK(ctx::risk_level(0.4) == "medium");
  CHECK(ctx::risk_level(std::nextafter(0.7, 0.0)) == "medium");
  CHECK(ctx::risk_level(0.7) == "high");
  CHECK(ctx::risk_level(1.0) == "high");
}

// ---------------------------------------------------------------------------
// Rollups

TEST_CASE("mean_of_finite sums oldest to newest before dividing", "[context][rollups]") {
  // In this order 1e16 + -1e16 cancels first and the 1 survives; summed in any
  // other order the 1 is rounded away.
  const std::vector<double> oldest_to_newest = {1e16, -1e16, 1.0};
  CHECK(ctx::mean_of_finite(oldest_to_newest) == 1.0 / 3.0);
  const std::vector<double> reversed = {1.0, -1e16, 1e16};
  CHECK(ctx::mean_of_finite(reversed) == 0.0);
}

TEST_CASE("mean_of_finite averages the window of check 6 to 0.5625", "[context][rollups]") {
  const std::vector<double> window = {0.375, 0.5, 0.625, 0.75};
  CHECK(ctx::mean_of_finite(window) == 0.5625);
}

TEST_CASE("mean_of_finite skips non-finite values and is empty without any", "[context][rollups]") {
  const double inf = std::numeric_limits<double>::infinity();
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const std::vector<double> mixed = {inf, 0.25, nan, 0.75, -inf};
  CHECK(ctx::mean_of_finite(mixed) == 0.5);
  const std::vector<double> none = {inf, nan};
  CHECK_FALSE(ctx::mean_of_finite(none).has_value());
  CHECK_FALSE(ctx::mean_of_finite({}).has_value());
}

TEST_CASE("StatsAccumulator gives avg, max and samples over finite values", "[context][rollups]") {
  ctx::StatsAccumulator acc;
  CHECK_FALSE(acc.stats().has_value());
  acc.add(std::numeric_limits<double>::infinity());
  CHECK(acc.samples() == 0);
  CHECK_FALSE(acc.stats().has_value());
  acc.add(-2.0);
  acc.add(5.0);
  acc.add(std::numeric_limits<double>::quiet_NaN());
  acc.add(0.5);
  const auto stats = acc.stats();
  REQUIRE(stats.has_value());
  CHECK(stats->avg == 3.5 / 3.0);
  CHECK(stats->max == 5.0);
  CHECK(stats->samples == 3);
}

TEST_CASE("StatsAccumulator max of negative values is the largest of them", "[context][rollups]") {
  ctx::StatsAccumulator acc;
  acc.add(-3.0);
  acc.add(-1.0);
  acc.add(-2.0);
  CHECK(acc.stats()->max == -1.0);
  CHECK(acc.stats()->avg == -2.0);
}

TEST_CASE("effective_slot_gap clamps to [0,1] and skips non-finite gaps", "[context][rollups]") {
  CHECK(ctx::effective_slot_gap(0.5) == 0.5);
  CHECK(ctx::effective_slot_gap(1.5) == 1.0);
  CHECK(ctx::effective_slot_gap(-0.25) == 0.0);
  CHECK_FALSE(ctx::effective_slot_gap(std::numeric_limits<double>::infinity()).has_value());
  CHECK_FALSE(ctx::effective_slot_gap(std::numeric_limits<double>::quiet_NaN()).has_value());
}

TEST_CASE("top_by_count ranks levels of check 6 as medium, high, low", "[context][rollups]") {
  const auto ranked = ctx::top_by_count({{"low", 1}, {"high", 1}, {"medium", 2}}, ctx::kLevelsMax);
  REQUIRE(ranked.size() == 3);
  CHECK(ranked[0].key == "medium");
  CHECK(ranked[0].count == 2);
  CHECK(ranked[1].key == "high");
  CHECK(ranked[1].count == 1);
  CHECK(ranked[2].key == "low");
  CHECK(ranked[2].count == 1);
}

TEST_CASE("top_by_count breaks ties by key in byte order, skips zeros and keeps the limit",
          "[context][rollups]") {
  const std::map<std::string, uint64_t> counts = {{"b", 3}, {"a", 3}, {"B", 3}, {"z", 9},
                                                  {"c", 1}, {"d", 1}, {"e", 0}, {"f", 2}};
  const auto ranked = ctx::top_by_count(counts, 5);
  std::vector<std::string> keys;
  for (const auto& entry : ranked) keys.push_back(entry.key);
  CHECK(keys == std::vector<std::string>{"z", "B", "a", "b", "f"});

  CHECK(ctx::top_by_count(counts, 100).size() == 7);  // "e" has count 0
  CHECK(ctx::top_by_count(counts, 0).empty());
}

TEST_CASE("top_by_avg ranks slot gaps of check 7 with the non-finite slot absent",
          "[context][rollups]") {
  std::map<std::string, ctx::StatsAccumulator> gaps;
  for (const auto& [slot, raw] : std::vector<std::pair<std::string, double>>{
           {"a", std::numeric_limits<double>::infinity()}, {"b", 0.5}}) {
    if (auto gap = ctx::effective_slot_gap(raw)) gaps[slot].add(*gap);
  }
  const auto ranked = ctx::top_by_avg(gaps, ctx::kTopSlotGapsMax);
  REQUIRE(ranked.size() == 1);
  CHECK(ranked[0].key == "b");
  CHECK(ranked[0].stats.avg == 0.5);
  CHECK(ranked[0].stats.max == 0.5);
  CHECK(ranked[0].stats.samples == 1);
}

TEST_CASE("top_by_avg ranks by avg desc then key asc, skips empty keys and keeps the limit",
          "[context][rollups]") {
  std::map<std::string, ctx::StatsAccumulator> stats;
  stats["y"].add(0.5);
  stats["x"].add(0.25);
  stats["x"].add(0.75);  // avg 0.5, ties with y
  stats["w"].add(1.0);
  stats["v"].add(0.1);
  stats["u"];                                                // no samples
  stats["t"].add(std::numeric_limits<double>::quiet_NaN());  // no finite samples
  const auto ranked = ctx::top_by_avg(stats, 3);
  REQUIRE(ranked.size() == 3);
  CHECK(ranked[0].key == "w");
  CHECK(ranked[1].key == "x");
  CHECK(ranked[1].stats.max == 0.75);
  CHECK(ranked[1].stats.samples == 2);
  CHECK(ranked[2].key == "y");
  CHECK(ctx::top_by_avg(stats, ctx::kLaneSlotStatsMax).size() == 4);
}

// ---------------------------------------------------------------------------
// Number form (telemetry.md §0): the one JSON writer already prints doubles in
// shortest round-trip form with ".0", and non-finite values as null.

TEST_CASE("json writes doubles in shortest round-trip form with .0 and NaN as null",
          "[context][numbers]") {
  CHECK(ordered_json(0.6).dump() == "0.6");
  CHECK(ordered_json(1.0).dump() == "1.0");
  CHECK(ordered_json(0.75).dump() == "0.75");
  CHECK(ordered_json(0.6875).dump() == "0.6875");
  const std::string two_thirds = ordered_json(2.0 / 3.0).dump();
  CHECK(std::stod(two_thirds) == 2.0 / 3.0);
  CHECK(ordered_json::parse(two_thirds).get<double>() == 2.0 / 3.0);
  CHECK(ordered_json(std::numeric_limits<double>::quiet_NaN()).dump() == "null");
  CHECK(ordered_json(std::numeric_limits<double>::infinity()).dump() == "null");
  CHECK(nlohmann::json(0.6).dump() == "0.6");
  CHECK(nlohmann::json(1.0).dump() == "1.0");
}
