// The context section's payload readers (context_payload.h): the members the
// windows keep, read from the payload text into plain values, typed and
// defaulted as a full JSON parse followed by a member lookup would read them.
#include <catch2/catch.hpp>

#include <limits>
#include <string>

#include "context_payload.h"

namespace cs = tpark::context_section;

TEST_CASE("context_payload_reads_the_summary_numbers_as_finite_values_and_counts",
          "[context][payload]") {
  const cs::CoveragePayload p = cs::read_coverage_payload(
      R"({"summary":{"target_limit":8.9,"selected":-3,"lanes_requested":18446744073709551615,)"
      R"("avg_cscore":0.25,"min_score":"0.6","lane_counts":{"semantic":3,"x":"y"}},)"
      R"("spec":{"slot_budgets":{"instructions":2}},"needs_more":true})");
  REQUIRE(p.summary);
  CHECK(p.summary->target_limit.count == 8);
  CHECK(*p.summary->target_limit.finite == 8.9);
  CHECK(p.summary->selected.count == 0);
  CHECK(*p.summary->selected.finite == -3.0);
  CHECK(p.summary->lanes_requested.count == std::numeric_limits<int64_t>::max());
  CHECK(*p.summary->avg_cscore.finite == 0.25);
  CHECK_FALSE(p.summary->min_score.finite);  // a string is no number
  REQUIRE(p.summary->lane_counts);
  REQUIRE(p.summary->lane_counts->size() == 2);
  CHECK_FALSE(p.summary->lane_counts->at(1).second.finite);
  REQUIRE(p.spec);
  REQUIRE(p.spec->slot_budgets);
  CHECK(p.spec->slot_budgets->at(0).second.count == 2);
  CHECK(p.needs_more == true);
  CHECK_FALSE(p.reasons);
}

TEST_CASE("context_payload_reads_a_repeated_member_as_its_last_occurrence_in_its_first_place",
          "[context][payload]") {
  const cs::RecallPayload p = cs::read_recall_payload(
      R"({"level":"high","components":{"slots":{"a":0.5,"b":1,"a":0.25}},"level":"",)"
      R"("summary":{"selected":1},"summary":7,"at_risk":true,"at_risk":"no"})");
  CHECK_FALSE(p.level);    // the last one is empty
  CHECK_FALSE(p.summary);  // the last one is not an object
  CHECK_FALSE(p.at_risk);  // the last one is not a boolean
  REQUIRE(p.component_slots);
  REQUIRE(p.component_slots->size() == 2);
  CHECK(p.component_slots->at(0).first == "a");
  CHECK(*p.component_slots->at(0).second.finite == 0.25);
}

TEST_CASE("context_payload_reads_a_payload_that_is_not_an_object_as_empty", "[context][payload]") {
  for (const char* text : {"[1,2]", "17", R"({"summary":)", "", R"("summary")"}) {
    INFO(text);
    const cs::AssemblyPayload p = cs::read_assembly_payload(text);
    CHECK_FALSE(p.needs_more);
    CHECK_FALSE(p.summary);
    CHECK_FALSE(p.duration_ms.finite);
  }
  const cs::RetrieverPayload r = cs::read_retriever_payload(
      R"({"diagnostics":{"counts":{"seeds":2},"slots":{"counts":{"s":3},"budgets":{"s":1}}},)"
      R"("summary":[1]})");
  REQUIRE(r.counts);
  REQUIRE(r.slot_counts);
  CHECK(r.slot_counts->at(0).second.count == 3);
  CHECK_FALSE(r.lanes);
  CHECK_FALSE(r.summary);
}
