// The training job's computation (control.md 5.5) with exact numbers worked
// from the spec: collect's filters and counts, the counterfactual model's
// steps, the rules, the winner and the manifest's evidence-less shape.
#include <catch2/catch.hpp>

#include <set>

#include "training_model.h"

using namespace tpark::training_model;

namespace {

Row summary_row(int64_t id, const std::string& payload) {
  return Row{id, "working_set.iteration.summary", payload};
}

// telemetry.md 3.1's worked example, recorded with the base spec.
Sample worked_example() {
  Sample s;
  s.id = 1;
  s.target_limit = 8;
  s.selected = 3;
  s.total_candidates = 3;
  s.lanes_requested = 2;
  s.avg_cscore = 0.25;
  s.max_cscore = 0.3;
  s.min_score = 0.6;
  s.lane_counts = {{"semantic", 3}};
  s.budgets = {{"instructions", 2}};
  const Knobs base;
  s.expand_per_seed = base.expand_per_seed;
  s.expand_query = base.expand_query;
  s.top_k = base.top_k;
  s.lambda = base.lambda;
  s.lane_bonus = base.lane_bonus;
  return s;
}

}  // namespace

TEST_CASE("baseline_reproduces_the_worked_example_risk_0_75") {
  const Knobs base;
  const Prediction p = predict(worked_example(), base, base);
  CHECK(p.selected == 3);
  CHECK(p.score == Approx(0.75).margin(1e-12));
  CHECK(p.coverage_shortfall == Approx(0.625));
  CHECK(p.lane_gap == Approx(0.5));
  CHECK(p.slot_gap == Approx(1.0));
  CHECK(p.quality_gap == Approx(1.0));
  CHECK(p.reasons == std::vector<std::string>{"below_target_limit", "low_lane_diversity",
                                              "weak_average_score", "no_items_above_threshold",
                                              "slot_underfilled:instructions"});
}

TEST_CASE("raising_k_alone_never_helps_a_supply_bound_sample") {
  const Knobs base;
  Knobs more_k = base;
  more_k.k = base.k + 10;
  CHECK(predict(worked_example(), base, more_k).selected == 3);
}

TEST_CASE("expansion_grows_supply_by_the_ratio_of_1_plus_e") {
  const Knobs base;  // E=3, Q=false, T=4
  Knobs e_only = base;
  e_only.expand_per_seed = 4;  // g = 5/4: pool 3.75 -> 3
  CHECK(predict(worked_example(), base, e_only).selected == 3);
  Knobs supply = e_only;
  supply.expand_query = true;
  supply.top_k = 6;  // g = 5/4 * (1 + 0.16) = 1.45: pool 4.35 -> 4
  CHECK(predict(worked_example(), base, supply).selected == 4);
}

TEST_CASE("a_limit_bound_sample_at_the_world_cap_grows_with_k") {
  const Knobs base;
  Sample s = worked_example();
  s.target_limit = 40;
  s.selected = 40;
  s.total_candidates = 80;  // P0 = 80 >= 0.9 * W(40) = 72: the world cap binds
  s.max_cscore = 0.5;
  s.min_cscore = 0.5;  // hi = lo: a(m) = 1 when m <= lo
  s.min_score = 0.1;
  Knobs cand = base;
  cand.k = base.k + 10;  // L1 = 50, w = W(50)/W(40) = 100/80
  // pool = max(40, 80 * 1) * 1.25 = 100 -> s1 = min(50, 100) = 50
  CHECK(predict(s, base, cand).selected == 50);
}

TEST_CASE("collect_counts_followups_duplicates_invalid_and_pairs_by_corr_id") {
  const Knobs base;
  std::vector<Row> rows = {
      summary_row(1, R"({"iteration":0,"corr_id":"a","summary":{"target_limit":8,"selected":3}})"),
      summary_row(2, R"({"iteration":1,"corr_id":"a","summary":{"target_limit":8,"selected":5}})"),
      Row{3, "context.coverage", R"({"corr_id":"a","summary":{"target_limit":8,"selected":3}})"},
      Row{4, "context.coverage", R"({"summary":{"target_limit":8,"selected":3}})"},
      summary_row(5, R"({"index":0,"summary":{"target_limit":0,"selected":3}})"),
      summary_row(6, R"({"iteration":"0","summary":{"target_limit":8,"selected":3}})"),
      summary_row(7, R"({"summary":{"target_limit":8.9,"selected":true}})"),
      Row{8, "context.assembled", R"({"summary":{"target_limit":8,"selected":3}})"},
      summary_row(
          9, R"({"iteration":null,"project":"p","summary":{"target_limit":6.7,"selected":2}})")};
  const Collected all = collect(rows, std::nullopt, 500, base);
  REQUIRE(all.samples.size() == 2);
  CHECK(all.samples[0].id == 1);
  CHECK(all.samples[1].id == 9);
  CHECK(all.samples[1].target_limit == 6);
  CHECK(all.followups == 2);   // rows 2 and 6
  CHECK(all.duplicates == 1);  // row 4: no corr_id while summaries exist
  CHECK(all.invalid == 2);     // rows 5 and 7
  // Row 3 pairs with row 1 and is counted nowhere; row 8 is another kind.

  const Collected project = collect(rows, std::string("p"), 500, base);
  CHECK(project.samples.size() == 1);
  CHECK(project.followups == 0);

  // The cap stops the newest-first scan: only row 9 is examined.
  const Collected capped = collect(rows, std::nullopt, 1, base);
  REQUIRE(capped.samples.size() == 1);
  CHECK(capped.samples[0].id == 9);
  CHECK(capped.invalid == 0);
}

TEST_CASE("collector_fed_newest_first_asks_for_pairing_only_at_a_coverage_event") {
  const Knobs base;
  int asked = 0;
  // Summaries only: the pairing is never needed, and the cap stops at row 3.
  Collector summaries(std::nullopt, 2, base, [&] {
    ++asked;
    return Pairing{};
  });
  CHECK(summaries.add(summary_row(4, R"({"summary":{"target_limit":8,"selected":3}})")));
  CHECK(summaries.add(summary_row(3, R"({"iteration":2,"summary":{}})")));
  CHECK_FALSE(summaries.add(summary_row(2, R"({"summary":{"target_limit":8,"selected":1}})")));
  CHECK_FALSE(summaries.add(summary_row(1, R"({"summary":{"target_limit":8,"selected":2}})")));
  const Collected first = std::move(summaries).finish();
  CHECK(asked == 0);
  REQUIRE(first.samples.size() == 2);
  CHECK(first.samples[0].id == 2);  // ascending
  CHECK(first.samples[1].id == 4);
  CHECK(first.followups == 1);

  // A coverage event newer than its summary: the whole window's pairing
  // (here: an older summary with corr_id "a") drops it, asked for once.
  Pairing pairing;
  pairing.add(summary_row(1, R"({"corr_id":"a","summary":{"target_limit":8,"selected":3}})"),
              std::nullopt);
  pairing.add(summary_row(2, R"({"iteration":1,"corr_id":"b","summary":{}})"), std::nullopt);
  // Nested values of the members pairing reads still count: an object pass
  // is a follow-up, an object project is no match.
  pairing.add(summary_row(3, R"({"iteration":{"n":0},"corr_id":"d","summary":{}})"), std::nullopt);
  Pairing in_project;
  in_project.add(summary_row(4, R"({"project":{"p":1},"corr_id":"e","summary":{}})"),
                 std::string("p"));
  CHECK_FALSE(in_project.summaries_exist);
  CHECK(pairing.summaries_exist);
  CHECK(pairing.summary_keys == std::set<std::string>{"a"});
  Collector mixed(std::nullopt, 10, base, [&] {
    ++asked;
    return pairing;
  });
  mixed.add(
      Row{6, "context.coverage", R"({"corr_id":"a","summary":{"target_limit":8,"selected":3}})"});
  mixed.add(
      Row{5, "context.coverage", R"({"corr_id":"c","summary":{"target_limit":8,"selected":3}})"});
  mixed.add(Row{4, "context.coverage", R"({"summary":{"target_limit":8,"selected":3}})"});
  mixed.add(summary_row(1, R"({"corr_id":"a","summary":{"target_limit":8,"selected":3}})"));
  const Collected second = std::move(mixed).finish();
  CHECK(asked == 1);
  REQUIRE(second.samples.size() == 2);
  CHECK(second.samples[0].id == 1);
  CHECK(second.samples[1].id == 5);
  CHECK(second.duplicates == 1);  // row 4: no corr_id while summaries exist
}

TEST_CASE("no_samples_give_the_request_knobs_only") {
  JobInput job;
  job.job_id = "j1";
  job.goal = "g";
  job.request = json::parse(R"({"goal":"g","mode":"balanced","diversity":0.2})");
  const Computation c = compute({}, job);
  CHECK_FALSE(c.evidence);
  CHECK(c.candidates.empty());
  CHECK(c.winner_id == "div");
  CHECK(c.winner.lambda == Approx(0.6));
  const Suggestion s = suggest(job, Collected{}, c, std::nullopt);
  CHECK(s.manifest["id"] == "lu-j1");
  CHECK(s.manifest["metrics"]["expected_effect"].is_null());
  CHECK(s.manifest["patches"][0]["value"] ==
        json::parse(R"({"ARW_CONTEXT_DIVERSITY_LAMBDA":0.6})"));
  CHECK(s.manifest["patches"][1]["value"] ==
        json::parse(R"({"mode":"balanced","retrieval_div":0.2})"));
  CHECK(s.manifest["provenance"]["base"] ==
        json::parse(R"({"ARW_CONTEXT_DIVERSITY_LAMBDA":0.72})"));
  CHECK(s.manifest["provenance"]["baseline"].is_null());
  CHECK(s.manifest["provenance"]["evidence"] == "none");

  job.request = json::parse(R"({"goal":"g","mode":"balanced"})");
  const Computation plain = compute({}, job);
  CHECK(plain.winner_id == "c0");
  CHECK(suggest(job, Collected{}, plain, std::nullopt).manifest["patches"].size() == 1);
}

TEST_CASE("the_worked_example_triggers_every_rule_and_lane_wins_in_balanced_mode") {
  JobInput job;
  job.job_id = "j1";
  job.mode = "balanced";
  job.request = json::parse(R"({"goal":"g","mode":"balanced"})");
  const Computation c = compute({worked_example()}, job);
  REQUIRE(c.baseline);
  CHECK(c.baseline->mean_recall_risk == Approx(0.75));
  std::vector<std::string> ids;
  for (const auto& candidate : c.candidates) ids.push_back(candidate.id);
  CHECK(ids ==
        std::vector<std::string>{"c0", "cov", "supply", "slot", "lane", "quality", "combined"});
  // lane: λ 0.72 -> 0.76, b 0.05 -> 0.07; one more lane present: lane gap 0 -> score 0.65.
  CHECK(c.winner_id == "lane");
  CHECK(c.winner.lambda == Approx(0.76));
  CHECK(c.winner.lane_bonus == Approx(0.07));
  CHECK(c.predicted->mean_recall_risk == Approx(0.65));
  // quick: c0, the first rule that fired (cov) and combined.
  job.mode = "quick";
  std::vector<std::string> quick;
  for (const auto& candidate : compute({worked_example()}, job).candidates)
    quick.push_back(candidate.id);
  CHECK(quick == std::vector<std::string>{"c0", "cov", "combined"});
}
