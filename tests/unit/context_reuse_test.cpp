// The context formulas and the context model filling objects handed back per
// event (the storage-reusing overloads): each call gives exactly what a fresh
// object would, whatever the object held before.
#include <catch2/catch.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "context_model.h"
#include "tpark/context/formulas.h"

namespace ctx = tpark::context;
namespace cs = tpark::context_section;

namespace {

ctx::NumberFields fields(std::vector<std::pair<std::string, int64_t>> members) {
  ctx::NumberFields out;
  for (const auto& [key, value] : members) out.emplace_back(key, ctx::number_field(value));
  return out;
}

// Many long slot names, most underfilled: more reasons and slots than `small`.
ctx::SummaryFields large_summary() {
  ctx::SummaryFields summary;
  summary.target_limit = ctx::number_field(int64_t{40});
  summary.selected = ctx::number_field(int64_t{2});
  summary.lanes_requested = ctx::number_field(int64_t{3});
  summary.slot_budgets = fields({{"a_slot_name_longer_than_the_small_string_buffer", 9},
                                 {"another_slot_name_longer_than_that_buffer", 8},
                                 {"evidence", 4},
                                 {"instructions", 2}});
  summary.slot_counts = fields({{"evidence", 1}});
  return summary;
}

ctx::SummaryFields small_summary() {
  ctx::SummaryFields summary;
  summary.target_limit = ctx::number_field(int64_t{4});
  summary.selected = ctx::number_field(int64_t{4});
  summary.lanes_requested = ctx::number_field(int64_t{1});
  summary.lane_counts = fields({{"semantic", 4}});
  summary.avg_cscore = ctx::number_field(0.9);
  summary.max_cscore = ctx::number_field(0.95);
  summary.threshold_hits = ctx::number_field(int64_t{4});
  summary.slot_budgets = fields({{"plan", 1}});
  summary.slot_counts = fields({{"plan", 0}});
  return summary;
}

void check_same_inputs(const ctx::CoverageInputs& a, const ctx::CoverageInputs& b) {
  CHECK(a.target_limit == b.target_limit);
  CHECK(a.lanes_requested == b.lanes_requested);
  CHECK(a.selected == b.selected);
  CHECK(a.avg_cscore == b.avg_cscore);
  CHECK(a.max_cscore == b.max_cscore);
  CHECK(a.threshold_hits == b.threshold_hits);
  CHECK(a.min_score == b.min_score);
  CHECK(a.lanes_present == b.lanes_present);
  REQUIRE(a.slots.size() == b.slots.size());
  for (std::size_t i = 0; i < a.slots.size(); ++i) {
    CHECK(a.slots[i].slot == b.slots[i].slot);
    CHECK(a.slots[i].budget == b.slots[i].budget);
    CHECK(a.slots[i].have == b.slots[i].have);
  }
}

void check_same_risk(const ctx::RecallRisk& a, const ctx::RecallRisk& b) {
  CHECK(a.score == b.score);
  CHECK(a.level == b.level);
  CHECK(a.at_risk == b.at_risk);
  CHECK(a.selected_ratio == b.selected_ratio);
  CHECK(a.desired_lanes == b.desired_lanes);
  CHECK(a.lane_count == b.lane_count);
  CHECK(a.coverage_shortfall == b.coverage_shortfall);
  CHECK(a.lane_gap == b.lane_gap);
  CHECK(a.slot_gap == b.slot_gap);
  CHECK(a.quality_gap == b.quality_gap);
  REQUIRE(a.slots.size() == b.slots.size());
  for (std::size_t i = 0; i < a.slots.size(); ++i) {
    CHECK(a.slots[i].slot == b.slots[i].slot);
    CHECK(a.slots[i].gap == b.slots[i].gap);
  }
}

}  // namespace

TEST_CASE("context_formulas_into_a_reused_object_give_what_a_fresh_one_gives",
          "[context][formulas]") {
  ctx::CoverageInputs inputs;
  ctx::CoverageVerdict verdict;
  ctx::RecallRisk risk;
  // Large, small, large again: the object shrinks and grows back.
  for (const ctx::SummaryFields& summary : {large_summary(), small_summary(), large_summary()}) {
    ctx::inputs_from_fields(summary, nullptr, inputs);
    check_same_inputs(inputs, ctx::inputs_from_fields(summary, nullptr));
    ctx::coverage_verdict(inputs, verdict);
    const ctx::CoverageVerdict fresh = ctx::coverage_verdict(inputs);
    CHECK(verdict.reasons == fresh.reasons);
    CHECK(verdict.needs_more == fresh.needs_more);
    ctx::recall_risk(inputs, verdict.needs_more, risk);
    check_same_risk(risk, ctx::recall_risk(inputs, verdict.needs_more));
  }
  // No summary budgets and no spec: the slots of the previous call are gone.
  ctx::inputs_from_fields(ctx::SummaryFields{}, nullptr, inputs);
  CHECK(inputs.slots.empty());
  CHECK(inputs.lanes_present == 0);
}

TEST_CASE("inputs_from_fields_orders_slots_by_bytes_and_keeps_the_last_positive_budget_of_a_name",
          "[context][formulas]") {
  // A hand-built list may repeat a name (a payload reader never does): as a
  // map assigned in order, the last budget above 0 wins.
  ctx::SummaryFields summary;
  summary.slot_budgets = fields({{"b", 2}, {"a", 5}, {"b", 0}, {"B", 1}, {"a", 3}, {"c", -1}});
  const ctx::CoverageInputs in = ctx::inputs_from_fields(summary, nullptr);
  REQUIRE(in.slots.size() == 3);
  CHECK(in.slots[0].slot == "B");
  CHECK(in.slots[0].budget == 1);
  CHECK(in.slots[1].slot == "a");
  CHECK(in.slots[1].budget == 3);
  CHECK(in.slots[2].slot == "b");
  CHECK(in.slots[2].budget == 2);
}

TEST_CASE("context_model_observations_into_a_reused_object_match_fresh_ones",
          "[context][section]") {
  const std::string time = "2026-01-01T00:00:00.000Z";
  const std::vector<std::pair<std::string_view, std::string>> events = {
      {cs::kCoverageKind, R"({"summary":{"target_limit":8,"selected":1,"slots":{"counts":{"x":0},)"
                          R"("budgets":{"x":2,"y":3}}}})"},
      {cs::kRecallRiskKind,
       R"({"summary":{"target_limit":8,"selected":1,"slots":{"budgets":{"x":2}}}})"},
      {"other.kind", "{}"},
      {cs::kCoverageKind, R"({"reasons":["a"],"needs_more":false})"},
      {cs::kRecallRiskKind, R"({"score":0.2,"level":"low","at_risk":false})"},
  };
  cs::ContextModel reused_model(2);
  cs::ContextModel fresh_model(2);
  cs::MetricObservations reused;
  int64_t id = 0;
  for (int round = 0; round < 3; ++round) {
    for (const auto& [kind, payload] : events) {
      ++id;
      reused_model.on_event(cs::EventInput{id, time, "", kind, payload}, reused);
      const cs::MetricObservations fresh =
          fresh_model.on_event(cs::EventInput{id, time, "", kind, payload});
      INFO(kind << " " << payload);
      CHECK(reused.source == fresh.source);
      CHECK(reused.needs_more == fresh.needs_more);
      CHECK(reused.fill_ratios == fresh.fill_ratios);
      CHECK(reused.underfilled_slots == fresh.underfilled_slots);
      CHECK(reused.score == fresh.score);
      CHECK(reused.level_label == fresh.level_label);
      CHECK(reused.flagged == fresh.flagged);
      CHECK(reused.slot_gaps == fresh.slot_gaps);
    }
  }
  std::string reused_text;
  std::string fresh_text;
  reused_model.render(reused_text);
  fresh_model.render(fresh_text);
  CHECK(reused_text == fresh_text);
}
