// The `context` section's model (telemetry.md §3): entries, effective values
// and `derived`, windows and their aggregates, and what each event adds to the
// arw_context_* metrics, with the spec's exact numbers (§11 checks 1, 3-8).
#include <catch2/catch.hpp>

#include <cmath>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "context_model.h"

namespace cs = tpark::context_section;
using Json = nlohmann::ordered_json;

namespace {

constexpr const char* kTime = "2025-01-02T03:04:05.678Z";

// The payload of §11 check 3, with the instructions budget as a parameter.
std::string worked_example(int instructions_budget) {
  return R"({"summary":{"target_limit":8,"lanes_requested":2,"selected":3,"avg_cscore":0.25,)"
         R"("max_cscore":0.3,"threshold_hits":0,"min_score":0.6,"lane_counts":{"semantic":3},)"
         R"("slots":{"counts":{"instructions":0}}},"spec":{"slot_budgets":{"instructions":)" +
         std::to_string(instructions_budget) + "}}}";
}

class Feeder {
 public:
  explicit Feeder(int64_t window = cs::kDefaultWindow) : model(window) {}

  cs::MetricObservations feed(std::string_view kind, const std::string& payload,
                              std::string_view node = {}) {
    return model.on_event(cs::EventInput{++last_id, kTime, node, kind, payload});
  }
  Json value() {
    std::string text;
    model.render(text);
    return Json::parse(text);
  }
  std::string text() {
    std::string out;
    model.render(out);
    return out;
  }

  cs::ContextModel model;
  int64_t last_id = 0;
};

}  // namespace

TEST_CASE("empty_context_renders_every_sub_section_null_and_the_window", "[context][section]") {
  Feeder feeder;
  CHECK(feeder.text() == R"({"coverage":null,"recall_risk":null,"assembled":null,"assembly":null,)"
                         R"("retriever":null,"window":512})");
  Feeder small(4);
  CHECK(small.value()["window"] == 4);
}

TEST_CASE("worked_example_coverage_entry_has_the_five_reasons_and_derived", "[context][section]") {
  Feeder feeder;
  const cs::MetricObservations observed = feeder.feed(cs::kCoverageKind, worked_example(2));
  const Json coverage = feeder.value()["coverage"];
  const Json expected_entry = Json::parse(
      std::string(R"({"id":1,"time":")") + kTime +
      R"(","needs_more":true,"reasons":["below_target_limit","low_lane_diversity",)"
      R"("weak_average_score","no_items_above_threshold","slot_underfilled:instructions"],)"
      R"("summary":{"target_limit":8,"lanes_requested":2,"selected":3,"avg_cscore":0.25,)"
      R"("max_cscore":0.3,"threshold_hits":0,"min_score":0.6,"lane_counts":{"semantic":3},)"
      R"("slots":{"counts":{"instructions":0}}},"spec":{"slot_budgets":{"instructions":2}},)"
      R"("derived":true})");
  CHECK(coverage["latest"].dump() == expected_entry.dump());
  CHECK(coverage["recent"].dump() == "[" + expected_entry.dump() + "]");
  CHECK(coverage["samples"] == 1);
  CHECK(coverage["needs_more_ratio"].dump() == "1.0");
  CHECK(coverage["top_slots"].dump() == R"([{"slot":"instructions","count":1}])");

  CHECK(observed.source == cs::MetricObservations::Source::Coverage);
  CHECK(observed.needs_more);
  REQUIRE(observed.fill_ratios.size() == 1);
  CHECK(observed.fill_ratios[0].first == "instructions");
  CHECK(observed.fill_ratios[0].second == 0.0);
  CHECK(observed.underfilled_slots == std::vector<std::string>{"instructions"});
}

TEST_CASE("worked_example_recall_entry_derives_0_75_high_with_components", "[context][section]") {
  Feeder feeder;
  const cs::MetricObservations observed = feeder.feed(cs::kRecallRiskKind, worked_example(2));
  const Json latest = feeder.value()["recall_risk"]["latest"];
  CHECK(latest["score"].dump() == "0.75");
  CHECK(latest["level"] == "high");
  CHECK(latest["at_risk"] == true);
  CHECK(latest["selected_ratio"].dump() == "0.375");
  CHECK(latest["desired_lanes"] == 2);
  CHECK(latest["lane_count"] == 1);
  CHECK(latest["components"].dump() ==
        R"({"coverage_shortfall":0.625,"lane_gap":0.5,"slot_gap":1.0,)"
        R"("slots":{"instructions":1.0},"quality_gap":1.0})");
  CHECK(latest["derived"] == true);
  std::vector<std::string> keys;
  for (auto it = latest.begin(); it != latest.end(); ++it) keys.push_back(it.key());
  CHECK(keys == std::vector<std::string>{"id", "time", "score", "level", "at_risk",
                                         "selected_ratio", "desired_lanes", "lane_count",
                                         "components", "summary", "spec", "derived"});

  CHECK(observed.source == cs::MetricObservations::Source::Recall);
  REQUIRE(observed.score.has_value());
  CHECK(*observed.score == 0.75);
  CHECK(observed.level_label == "high");
  CHECK(observed.flagged);
  REQUIRE(observed.slot_gaps.size() == 1);
  CHECK(observed.slot_gaps[0] == std::pair<std::string, double>{"instructions", 1.0});
}

TEST_CASE("slot_budget_0_gives_four_reasons_0_6875_medium_and_no_slot_terms",
          "[context][section]") {
  Feeder feeder;
  const cs::MetricObservations coverage = feeder.feed(cs::kCoverageKind, worked_example(0));
  const cs::MetricObservations recall = feeder.feed(cs::kRecallRiskKind, worked_example(0));
  const Json value = feeder.value();
  CHECK(value["coverage"]["latest"]["reasons"].dump() ==
        R"(["below_target_limit","low_lane_diversity","weak_average_score",)"
        R"("no_items_above_threshold"])");
  CHECK_FALSE(value["coverage"].contains("top_slots"));
  const Json latest = value["recall_risk"]["latest"];
  CHECK(latest["score"].dump() == "0.6875");
  CHECK(latest["level"] == "medium");
  CHECK(latest["components"].dump() ==
        R"({"coverage_shortfall":0.625,"lane_gap":0.5,"quality_gap":1.0})");
  CHECK(coverage.fill_ratios.empty());
  CHECK(coverage.underfilled_slots.empty());
  CHECK(recall.slot_gaps.empty());
}

TEST_CASE("needs_more_ratio_stays_bounded_by_1_over_seven_events", "[context][section]") {
  Feeder feeder;
  for (int i = 0; i < 7; ++i)
    feeder.feed(cs::kCoverageKind, R"({"needs_more":true,"reasons":["below_target_limit"]})");
  const Json coverage = feeder.value()["coverage"];
  CHECK(coverage["needs_more_ratio"].dump() == "1.0");
  CHECK(coverage["samples"] == 7);
  CHECK(coverage["recent"].size() == 5);
  CHECK(coverage["recent"][0]["id"] == 7);
  CHECK(coverage["latest"] == coverage["recent"][0]);
  CHECK(coverage["top_reasons"].dump() == R"([{"reason":"below_target_limit","count":7}])");
  // Producer values: nothing was derived.
  CHECK_FALSE(coverage["latest"].contains("derived"));
}

TEST_CASE("window_of_4_keeps_the_newest_four_recall_events", "[context][section]") {
  Feeder feeder(4);
  for (const char* score : {"0.125", "0.25", "0.375", "0.5", "0.625", "0.75"})
    feeder.feed(cs::kRecallRiskKind, std::string(R"({"score":)") + score + "}");
  const Json recall = feeder.value()["recall_risk"];
  CHECK(recall["sampled"] == 4);
  CHECK(recall["avg_score"].dump() == "0.5625");
  CHECK(recall["at_risk_ratio"].dump() == "0.75");
  CHECK(recall["recent"].size() == 4);
  CHECK(recall["recent"][0]["score"].dump() == "0.75");
  CHECK(recall["levels"].dump() ==
        R"([{"level":"medium","count":2},{"level":"high","count":1},{"level":"low","count":1}])");
  // level and at_risk came from the score: the host computed them.
  CHECK(recall["latest"]["derived"] == true);
}

TEST_CASE("non_finite_score_is_null_and_skipped_by_every_aggregate", "[context][section]") {
  Feeder feeder;
  // 1e999 arrives as null: the journal canonicalises it.
  const cs::MetricObservations observed = feeder.feed(
      cs::kRecallRiskKind,
      R"({"score":null,"level":"high","at_risk":true,"components":{"slots":{"a":null,"b":0.5}}})");
  const Json recall = feeder.value()["recall_risk"];
  CHECK(recall["latest"]["score"].is_null());
  CHECK_FALSE(recall.contains("avg_score"));
  CHECK(recall["at_risk_ratio"].dump() == "1.0");
  CHECK(recall["levels"].dump() == R"([{"level":"high","count":1}])");
  CHECK(recall["top_slots"].dump() == R"([{"slot":"b","avg_gap":0.5,"max_gap":0.5,"samples":1}])");
  CHECK_FALSE(recall["latest"].contains("derived"));
  CHECK_FALSE(observed.score.has_value());
  CHECK(observed.level_label == "high");
  CHECK(observed.flagged);
  REQUIRE(observed.slot_gaps.size() == 1);
  CHECK(observed.slot_gaps[0].first == "b");
}

TEST_CASE("doubles_print_shortest_and_fill_ratio_is_two_thirds", "[context][section]") {
  Feeder feeder;
  feeder.feed(cs::kRecallRiskKind, R"({"score":0.6})");
  const cs::MetricObservations coverage =
      feeder.feed(cs::kCoverageKind,
                  R"({"summary":{"selected":3,"slots":{"counts":{"x":2},"budgets":{"x":3}}}})");
  const std::string text = feeder.text();
  CHECK(text.find(R"("score":0.6)") != std::string::npos);
  CHECK(text.find("0.6000000238418579") == std::string::npos);
  REQUIRE(coverage.fill_ratios.size() == 1);
  CHECK(coverage.fill_ratios[0].first == "x");
  CHECK(coverage.fill_ratios[0].second == 2.0 / 3.0);
}

TEST_CASE("average_is_the_oldest_to_newest_sum_after_evictions", "[context][section]") {
  // A running sum that adds and subtracts would lose the 1.0s next to 1e16
  // and report 0; the re-summed window [1.0, 1.0] averages exactly 1.0.
  Feeder feeder(2);
  feeder.feed(cs::kRecallRiskKind, R"({"score":1e16})");
  feeder.feed(cs::kRecallRiskKind, R"({"score":1.0})");
  feeder.feed(cs::kRecallRiskKind, R"({"score":1.0})");
  CHECK(feeder.value()["recall_risk"]["avg_score"].dump() == "1.0");

  // 0.1 + 0.2 + 0.3 summed in that order, then divided by 3.
  Feeder ordered;
  for (const char* score : {"0.1", "0.2", "0.3"})
    ordered.feed(cs::kRecallRiskKind, std::string(R"({"score":)") + score + "}");
  CHECK(ordered.value()["recall_risk"]["avg_score"].get<double>() == (0.1 + 0.2 + 0.3) / 3.0);
}

TEST_CASE("render_reports_a_change_only_after_an_event_or_reset", "[context][section]") {
  Feeder feeder;
  std::string text;
  CHECK(feeder.model.render(text));
  CHECK_FALSE(feeder.model.render(text));
  feeder.feed("context.other", "{}");  // not one of the five kinds
  CHECK_FALSE(feeder.model.render(text));
  feeder.feed(cs::kCoverageKind, "{}");
  CHECK(feeder.model.render(text));
  CHECK_FALSE(feeder.model.render(text));
  feeder.model.reset();
  CHECK(feeder.model.render(text));
  CHECK(Json::parse(text)["coverage"].is_null());
}

TEST_CASE("producer_reasons_and_needs_more_win_over_the_summary", "[context][section]") {
  Feeder feeder;
  feeder.feed(cs::kCoverageKind,
              R"({"needs_more":false,"reasons":["custom",7,"slot_underfilled:plan"],)"
              R"("summary":{"selected":0}})",
              "node-a");
  const Json latest = feeder.value()["coverage"]["latest"];
  CHECK(latest.dump() == std::string(R"({"id":1,"time":")") + kTime +
                             R"(","node":"node-a","needs_more":false,)"
                             R"("reasons":["custom","slot_underfilled:plan"],)"
                             R"("summary":{"selected":0}})");
}

TEST_CASE("coverage_without_summary_or_reasons_needs_nothing", "[context][section]") {
  Feeder feeder;
  const cs::MetricObservations observed = feeder.feed(cs::kCoverageKind, "{}");
  const Json coverage = feeder.value()["coverage"];
  CHECK(coverage["latest"]["needs_more"] == false);
  CHECK(coverage["latest"]["reasons"] == Json::array());
  CHECK(coverage["needs_more_ratio"].dump() == "0.0");
  CHECK_FALSE(coverage.contains("top_reasons"));
  CHECK_FALSE(observed.needs_more);
  CHECK(observed.fill_ratios.empty());
}

TEST_CASE("sanitised_spec_keeps_only_the_listed_keys_in_spec_order", "[context][section]") {
  Feeder feeder;
  feeder.feed(cs::kCoverageKind,
              R"({"needs_more":true,"spec":{"secret":"x","scorer":"mmrd","lanes":["a"],)"
              R"("limit":8,"query_provided":true},"project":"p","query":"q","duration_ms":12})");
  const Json latest = feeder.value()["coverage"]["latest"];
  CHECK(latest["spec"].dump() ==
        R"({"lanes":["a"],"limit":8,"scorer":"mmrd","query_provided":true})");
  std::vector<std::string> keys;
  for (auto it = latest.begin(); it != latest.end(); ++it) keys.push_back(it.key());
  CHECK(keys == std::vector<std::string>{"id", "time", "needs_more", "reasons", "duration_ms",
                                         "spec", "project", "query"});
}

TEST_CASE("recall_without_score_or_summary_keeps_producer_level_and_nulls", "[context][section]") {
  Feeder feeder;
  const cs::MetricObservations observed =
      feeder.feed(cs::kRecallRiskKind, R"({"level":"severe","reasons":["r"]})");
  const Json recall = feeder.value()["recall_risk"];
  CHECK(recall["latest"].dump() == std::string(R"({"id":1,"time":")") + kTime +
                                       R"(","score":null,"level":"severe","at_risk":null,)"
                                       R"("reasons":["r"]})");
  CHECK_FALSE(recall.contains("at_risk_ratio"));
  CHECK(recall["levels"].dump() == R"([{"level":"severe","count":1}])");
  CHECK(observed.level_label == "unknown");
  CHECK_FALSE(observed.flagged);
}

TEST_CASE("producer_score_derives_at_risk_from_needs_more", "[context][section]") {
  Feeder feeder;
  feeder.feed(cs::kRecallRiskKind, R"({"score":0.1,"needs_more":true})");
  const Json latest = feeder.value()["recall_risk"]["latest"];
  CHECK(latest["level"] == "low");
  CHECK(latest["at_risk"] == true);
  CHECK(latest["needs_more"] == true);
  CHECK(latest["derived"] == true);
}

TEST_CASE("level_labels_are_the_three_levels_or_unknown", "[context][section]") {
  CHECK(cs::level_label(std::string("low")) == "low");
  CHECK(cs::level_label(std::string("medium")) == "medium");
  CHECK(cs::level_label(std::string("high")) == "high");
  CHECK(cs::level_label(std::string("HIGH")) == "unknown");
  CHECK(cs::level_label(std::nullopt) == "unknown");
}

TEST_CASE("assembly_reads_needs_more_fallbacks_and_ranks_lanes", "[context][section]") {
  Feeder feeder;
  feeder.feed(cs::kAssemblyKind,
              R"({"index":0,"coverage":{"needs_more":true},"duration_ms":10,)"
              R"("summary":{"selected":4,"total_candidates":10,)"
              R"("lane_counts":{"semantic":3,"episodic":1},"slots":{"counts":{"plan":1}}}})");
  feeder.feed(cs::kAssemblyKind,
              R"({"iteration":1,"coverage_gap":false,"duration_ms":20,)"
              R"("summary":{"selected":2,"lane_counts":{"semantic":1,"procedural":2}}})");
  const Json assembly = feeder.value()["assembly"];
  CHECK(assembly["samples"] == 2);
  CHECK(assembly["needs_more_ratio"].dump() == "0.5");
  CHECK(assembly["recent"][1]["iteration"] == 0);
  CHECK(assembly["recent"][1]["needs_more"] == true);
  CHECK(assembly["latest"]["needs_more"] == false);
  CHECK(assembly["metrics"].dump() == R"({"selected":{"avg":3.0,"max":4.0,"samples":2},)"
                                      R"("candidates":{"avg":10.0,"max":10.0,"samples":1},)"
                                      R"("duration_ms":{"avg":15.0,"max":20.0,"samples":2}})");
  CHECK(assembly["lanes"].dump() == R"([{"lane":"procedural","avg":2.0,"max":2.0,"samples":1},)"
                                    R"({"lane":"semantic","avg":2.0,"max":3.0,"samples":2},)"
                                    R"({"lane":"episodic","avg":1.0,"max":1.0,"samples":1}])");
  CHECK(assembly["slots"].dump() == R"([{"slot":"plan","avg":1.0,"max":1.0,"samples":1}])");
}

TEST_CASE("retriever_counts_fall_back_to_list_lengths_and_summary", "[context][section]") {
  Feeder feeder;
  feeder.feed(cs::kRetrieverKind, R"({"iteration":2,"items":[1,2,3],"seeds":[1],)"
                                  R"("summary":{"selected":3,"total_candidates":9}})");
  feeder.feed(cs::kRetrieverKind,
              R"({"diagnostics":{"counts":{"selected":5,"seeds":2},"scorer":"mmrd",)"
              R"("timings_ms":{"total":40,"retrieve":30},"lanes":{"semantic":5},)"
              R"("slots":{"counts":{"evidence":2}}}})");
  const Json retriever = feeder.value()["retriever"];
  CHECK(retriever["recent"][1]["counts"].dump() == R"({"selected":3,"seeds":1,"expanded":0})");
  CHECK(retriever["latest"]["counts"].dump() == R"({"selected":5,"seeds":2})");
  CHECK(retriever["latest"]["scorer"] == "mmrd");
  CHECK(retriever["counts"].dump() == R"({"seeds":{"avg":2.0,"max":2.0,"samples":1},)"
                                      R"("selected":{"avg":4.0,"max":5.0,"samples":2},)"
                                      R"("total_candidates":{"avg":9.0,"max":9.0,"samples":1}})");
  CHECK(retriever["timings_ms"].dump() == R"({"retrieve":{"avg":30.0,"max":30.0,"samples":1},)"
                                          R"("total":{"avg":40.0,"max":40.0,"samples":1}})");
  CHECK(retriever["lanes"].dump() == R"([{"lane":"semantic","avg":5.0,"max":5.0,"samples":1}])");
  CHECK(retriever["slots"].dump() == R"([{"slot":"evidence","avg":2.0,"max":2.0,"samples":1}])");
}

TEST_CASE("assembled_is_the_newest_event_and_not_windowed", "[context][section]") {
  Feeder feeder(1);
  feeder.feed(cs::kAssembledKind, R"({"query":"old"})");
  feeder.feed(cs::kAssembledKind,
              R"({"extra":1,"limit":8,"query":"new",)"
              R"("working_set":{"iterations":2,"final_spec":{"limit":8,"x":1},"counts":{"a":1}}})");
  CHECK(feeder.value()["assembled"].dump() ==
        std::string(R"({"id":2,"time":")") + kTime +
            R"(","query":"new","limit":8,)"
            R"("working_set":{"counts":{"a":1},"final_spec":{"limit":8},"iterations":2}})");
}

TEST_CASE("a_non_object_payload_is_read_as_empty", "[context][section]") {
  Feeder feeder;
  feeder.feed(cs::kRecallRiskKind, "[1,2]");
  const Json recall = feeder.value()["recall_risk"];
  CHECK(recall["sampled"] == 1);
  CHECK(recall["latest"]["score"].is_null());
}
