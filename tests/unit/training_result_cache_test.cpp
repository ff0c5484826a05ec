// The orchestrator's result cache (control.md 5.5): a computation survives
// its JSON form exactly, keys are short digests, and the host's stored
// entries load back, the newest 64 kept.
#include <catch2/catch.hpp>

#include <string>

#include "result_cache.h"

using namespace tpark::training_model;

namespace {

Computation sample_computation() {
  Computation c;
  c.evidence = true;
  Candidate c0;
  c0.id = "c0";
  c0.aggregate.mean_recall_risk = 0.75;
  c0.aggregate.coverage_shortfall = 0.625;
  c0.aggregate.slot_gap = 1.0;
  c0.aggregate.reason_freq = {{"low_lane_diversity", 1.0}};
  Candidate lane = c0;
  lane.id = "lane";
  lane.rules = {"lane"};
  lane.knobs.lambda = 0.76;
  lane.knobs.lane_bonus = 0.07;
  lane.aggregate.mean_recall_risk = 0.65 + 1e-12;  // a value only an exact round trip keeps
  lane.aggregate.slot_gap.reset();
  c.candidates = {c0, lane};
  c.winner_id = "lane";
  c.winner = lane.knobs;
  c.baseline = c0.aggregate;
  c.predicted = lane.aggregate;
  return c;
}

}  // namespace

TEST_CASE("a_computation_round_trips_through_json_exactly", "[unit][training][cache]") {
  const Computation c = sample_computation();
  const json text = computation_to_json(c);
  const Computation back = computation_from_json(json::parse(text.dump()));
  CHECK(computation_to_json(back) == text);
  CHECK(back.candidates[1].aggregate.mean_recall_risk == 0.65 + 1e-12);
  CHECK_FALSE(back.candidates[1].aggregate.slot_gap.has_value());
  CHECK(back.baseline->slot_gap == 1.0);
  CHECK(back.winner.lanes == Knobs().lanes);

  Computation none;
  const Computation none_back = computation_from_json(computation_to_json(none));
  CHECK_FALSE(none_back.baseline.has_value());
  CHECK_FALSE(none_back.predicted.has_value());
  CHECK(none_back.candidates.empty());
}

TEST_CASE("cache_digest_is_32_hex_digits_and_tells_keys_apart", "[unit][training][cache]") {
  const std::string a = cache_digest("{\"mode\":\"balanced\"}\n1 {}");
  CHECK(a.size() == 32);
  CHECK(a.find_first_not_of("0123456789abcdef") == std::string::npos);
  CHECK(cache_digest("{\"mode\":\"balanced\"}\n1 {}") == a);
  CHECK(cache_digest("{\"mode\":\"balanced\"}\n2 {}") != a);
}

TEST_CASE("result_cache_loads_stored_entries_skips_bad_ones_and_keeps_the_newest_64",
          "[unit][training][cache]") {
  json entries = json::array();
  for (int i = 0; i < 70; ++i)
    entries.push_back({{"key", "k" + std::to_string(i)},
                       {"job_id", "job" + std::to_string(i)},
                       {"computation", computation_to_json(sample_computation())}});
  entries.push_back({{"key", "bad"}, {"job_id", "x"}, {"computation", {{"evidence", 3}}}});
  ResultCache cache;
  CHECK(cache.load({{"entries", entries}}) == 70);
  CHECK(cache.size() == ResultCache::kEntries);
  CHECK_FALSE(cache.find("k5").has_value());
  CHECK_FALSE(cache.find("bad").has_value());
  const auto hit = cache.find("k69");
  REQUIRE(hit.has_value());
  CHECK(hit->job_id == "job69");
  CHECK(hit->computation.winner_id == "lane");
  CHECK(cache.load(json(nullptr)) == 0);
}
