// The `context` section and the arw_context_* metrics against the real host
// (telemetry.md §11 checks 1, 3-8 and the slot parts of 15).
#include <catch2/catch.hpp>

#include <chrono>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "integration/test_host.h"
#include "support/metrics_text.h"

using namespace tpark::test;
using tpark::Json;

namespace {

const std::vector<std::string> kSlotFamilies = {
    "arw_context_slot_gap", "arw_context_slot_gap_latest", "arw_context_slot_fill_ratio",
    "arw_context_slot_underfilled_total"};

// The payload of §11 check 3, with the instructions budget as a parameter.
std::string worked_example(int instructions_budget) {
  return R"({"summary":{"target_limit":8,"lanes_requested":2,"selected":3,"avg_cscore":0.25,)"
         R"("max_cscore":0.3,"threshold_hits":0,"min_score":0.6,"lane_counts":{"semantic":3},)"
         R"("slots":{"counts":{"instructions":0}}},"spec":{"slot_budgets":{"instructions":)" +
         std::to_string(instructions_budget) + "}}}";
}

std::string line(const std::string& kind, const std::string& payload) {
  return R"({"kind":")" + kind + R"(","payload":)" + payload + "}\n";
}

void ingest(TestHost& host, const std::string& ndjson) {
  HttpResult r = host.post("/events/ingest", ndjson);
  REQUIRE(r.status == 200);
}

Json snapshot(TestHost& host) {
  HttpResult r = host.snapshot();
  REQUIRE(r.status == 200);
  return r.json();
}

// /metrics, read after a snapshot: the snapshot waits until the section has
// taken every ingested event, and the section records metrics as it takes them.
std::string metrics_after_snapshot(TestHost& host) {
  snapshot(host);
  HttpResult r = host.get_public("/metrics");
  REQUIRE(r.status == 200);
  return r.body;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

// The value of one series, e.g. `arw_context_slot_fill_ratio{slot="x"}`.
std::optional<double> sample(const std::string& exposition, const std::string& series) {
  return tpark::test::metric_value(exposition, series);
}

// Sample lines (not comments) of a family, its histogram series included.
std::vector<std::string> sample_lines(const std::string& exposition, const std::string& family) {
  std::vector<std::string> out;
  for (const std::string& l : lines_of(exposition)) {
    if (l.empty() || l[0] == '#' || l.compare(0, family.size(), family) != 0) continue;
    const std::string rest = l.substr(family.size());
    if (rest[0] == '{' || rest[0] == ' ' || rest.rfind("_bucket", 0) == 0 ||
        rest.rfind("_sum", 0) == 0 || rest.rfind("_count", 0) == 0)
      out.push_back(l);
  }
  return out;
}

std::set<std::string> slot_values(const std::string& exposition, const std::string& family) {
  std::set<std::string> out;
  for (const std::string& l : sample_lines(exposition, family)) {
    const size_t at = l.find("slot=\"");
    if (at == std::string::npos) continue;
    const size_t end = l.find('"', at + 6);
    out.insert(l.substr(at + 6, end - at - 6));
  }
  return out;
}

bool has_slot_series(const std::string& exposition, const std::string& slot) {
  for (const std::string& family : kSlotFamilies)
    if (slot_values(exposition, family).count(slot)) return true;
  return false;
}

}  // namespace

TEST_CASE("empty_context_memory_and_tool_invocations_and_slot_families_without_samples",
          "[integration][context]") {
  TestHost host;
  const Json snap = snapshot(host);
  CHECK(snap["context"].dump() ==
        R"({"coverage":null,"recall_risk":null,"assembled":null,"assembly":null,)"
        R"("retriever":null,"window":512})");
  CHECK(snap["memory"].is_null());
  CHECK(snap["tool_invocations"].is_null());
  for (const char* section : {"context", "memory", "tool_invocations"}) {
    INFO(section);
    CHECK(snap["sections"][section]["ok"] == true);
    CHECK(snap["sections"][section]["plugin"] == std::string("tp.section.") + section);
  }

  const std::string text = metrics_after_snapshot(host);
  const std::vector<std::pair<std::string, std::string>> families = {
      {"arw_context_slot_gap", "histogram"},
      {"arw_context_slot_gap_latest", "gauge"},
      {"arw_context_slot_fill_ratio", "gauge"},
      {"arw_context_slot_underfilled_total", "counter"},
      {"arw_context_coverage_total", "counter"},
      {"arw_context_recall_risk_score", "histogram"},
      {"arw_context_recall_risk_total", "counter"},
      {"arw_context_recall_risk_flagged_total", "counter"}};
  for (const auto& [family, type] : families) {
    INFO(family);
    CHECK(text.find("# HELP " + family + " ") != std::string::npos);
    CHECK(text.find("# TYPE " + family + " " + type + "\n") != std::string::npos);
    CHECK(sample_lines(text, family).empty());
  }
}

TEST_CASE("worked_example_derives_coverage_and_recall_and_slot_metrics", "[integration][context]") {
  TestHost host;
  ingest(host, line("context.coverage", worked_example(2)) +
                   line("context.recall.risk", worked_example(2)));
  const Json context = snapshot(host)["context"];

  const Json coverage = context["coverage"]["latest"];
  CHECK(coverage["reasons"].dump() ==
        R"(["below_target_limit","low_lane_diversity","weak_average_score",)"
        R"("no_items_above_threshold","slot_underfilled:instructions"])");
  CHECK(coverage["needs_more"] == true);
  CHECK(coverage["derived"] == true);

  const Json recall = context["recall_risk"]["latest"];
  CHECK(recall["score"].dump() == "0.75");
  CHECK(recall["level"] == "high");
  CHECK(recall["at_risk"] == true);
  CHECK(recall["selected_ratio"].dump() == "0.375");
  CHECK(recall["components"].dump() ==
        R"({"coverage_shortfall":0.625,"lane_gap":0.5,"slot_gap":1.0,)"
        R"("slots":{"instructions":1.0},"quality_gap":1.0})");
  CHECK(recall["derived"] == true);

  const std::string text = metrics_after_snapshot(host);
  CHECK(sample(text, R"(arw_context_slot_fill_ratio{slot="instructions"})") == 0.0);
  CHECK(sample(text, R"(arw_context_slot_underfilled_total{slot="instructions"})") == 1.0);
  CHECK(sample(text, R"(arw_context_slot_gap_latest{slot="instructions"})") == 1.0);
  CHECK(sample(text, R"(arw_context_slot_gap_bucket{slot="instructions",le="0.9"})") == 0.0);
  CHECK(sample(text, R"(arw_context_slot_gap_bucket{slot="instructions",le="1"})") == 1.0);
  CHECK(sample(text, R"(arw_context_slot_gap_count{slot="instructions"})") == 1.0);
  CHECK(sample(text, R"(arw_context_coverage_total{needs_more="true"})") == 1.0);
  CHECK(sample(text, R"(arw_context_recall_risk_total{level="high"})") == 1.0);
  CHECK(sample(text, R"(arw_context_recall_risk_flagged_total{level="high"})") == 1.0);
  CHECK(sample(text, R"(arw_context_recall_risk_score_bucket{le="0.7"})") == 0.0);
  CHECK(sample(text, R"(arw_context_recall_risk_score_bucket{le="0.8"})") == 1.0);
}

TEST_CASE("slot_budget_0_drops_the_slot_reason_terms_and_series", "[integration][context]") {
  TestHost host;
  ingest(host, line("context.coverage", worked_example(0)) +
                   line("context.recall.risk", worked_example(0)));
  const Json context = snapshot(host)["context"];
  CHECK(context["coverage"]["latest"]["reasons"].dump() ==
        R"(["below_target_limit","low_lane_diversity","weak_average_score",)"
        R"("no_items_above_threshold"])");
  const Json recall = context["recall_risk"]["latest"];
  CHECK(recall["score"].dump() == "0.6875");
  CHECK(recall["level"] == "medium");
  CHECK_FALSE(recall["components"].contains("slot_gap"));
  CHECK_FALSE(recall["components"].contains("slots"));

  const std::string text = metrics_after_snapshot(host);
  CHECK_FALSE(has_slot_series(text, "instructions"));
  for (const std::string& family : kSlotFamilies) CHECK(sample_lines(text, family).empty());
}

TEST_CASE("needs_more_ratio_is_bounded_by_1_after_seven_events", "[integration][context]") {
  TestHost host;
  std::string body;
  for (int i = 0; i < 7; ++i)
    body += line("context.coverage", R"({"needs_more":true,"reasons":["below_target_limit"]})");
  ingest(host, body);
  const Json coverage = snapshot(host)["context"]["coverage"];
  CHECK(coverage["needs_more_ratio"].dump() == "1.0");
  CHECK(coverage["samples"] == 7);
  CHECK(coverage["recent"].size() == 5);
  CHECK(coverage["top_reasons"].dump() == R"([{"reason":"below_target_limit","count":7}])");
}

TEST_CASE("window_of_4_survives_a_restart_and_replay_is_not_counted", "[integration][context]") {
  TestHostOptions options;
  options.env = {{"ARW_CONTEXT_TELEMETRY_WINDOW", "4"}};
  TestHost host(options);
  std::string body;
  for (const char* score : {"0.125", "0.25", "0.375", "0.5", "0.625", "0.75"})
    body += line("context.recall.risk", std::string(R"({"score":)") + score + "}");
  ingest(host, body);

  const Json context = snapshot(host)["context"];
  CHECK(context["window"] == 4);
  const Json recall = context["recall_risk"];
  CHECK(recall["sampled"] == 4);
  CHECK(recall["avg_score"].dump() == "0.5625");
  CHECK(recall["at_risk_ratio"].dump() == "0.75");
  CHECK(recall["recent"][0]["score"].dump() == "0.75");
  CHECK(recall["levels"].dump() ==
        R"([{"level":"medium","count":2},{"level":"high","count":1},{"level":"low","count":1}])");
  // Metrics count all six events, not just the window.
  const std::string counted = metrics_after_snapshot(host);
  CHECK(sample(counted, R"(arw_context_recall_risk_total{level="low"})") == 3.0);
  CHECK(sample(counted, R"(arw_context_recall_risk_total{level="medium"})") == 2.0);
  CHECK(sample(counted, R"(arw_context_recall_risk_total{level="high"})") == 1.0);
  CHECK(sample(counted, R"(arw_context_recall_risk_flagged_total{level="medium"})") == 2.0);
  CHECK(sample(counted, "arw_context_recall_risk_score_count") == 6.0);

  REQUIRE(host.process().stop() == 0);
  host.start();
  const Json primed = snapshot(host)["context"];
  CHECK(primed.dump() == context.dump());
  // The replayed rows filled the window but were counted by the first process.
  const std::string text = metrics_after_snapshot(host);
  CHECK(sample_lines(text, "arw_context_recall_risk_total").empty());
  CHECK(sample_lines(text, "arw_context_recall_risk_score").empty());
}

TEST_CASE("non_finite_score_is_null_everywhere_and_skipped", "[integration][context]") {
  TestHost host;
  ingest(host, line("context.recall.risk", R"({"score":1e999,"level":"high","at_risk":true,)"
                                           R"("components":{"slots":{"a":1e999,"b":0.5}}})"));
  // The journal holds the canonical payload (SSE streams these same rows).
  HttpResult journal = host.get("/state/events?after=0&prefix=context.");
  REQUIRE(journal.status == 200);
  CHECK(
      journal.json()["items"][0]["payload"].dump() ==
      R"({"score":null,"level":"high","at_risk":true,"components":{"slots":{"a":null,"b":0.5}}})");

  const Json recall = snapshot(host)["context"]["recall_risk"];
  CHECK(recall["latest"]["score"].is_null());
  CHECK_FALSE(recall.contains("avg_score"));
  CHECK(recall["at_risk_ratio"].dump() == "1.0");
  CHECK(recall["levels"].dump() == R"([{"level":"high","count":1}])");
  CHECK(recall["top_slots"].dump() == R"([{"slot":"b","avg_gap":0.5,"max_gap":0.5,"samples":1}])");

  const std::string text = metrics_after_snapshot(host);
  CHECK_FALSE(has_slot_series(text, "a"));
  CHECK(sample(text, R"(arw_context_slot_gap_latest{slot="b"})") == 0.5);
  CHECK(sample_lines(text, "arw_context_recall_risk_score").empty());
  CHECK(sample(text, R"(arw_context_recall_risk_flagged_total{level="high"})") == 1.0);
}

TEST_CASE("doubles_are_shortest_and_fill_ratio_parses_to_two_thirds", "[integration][context]") {
  TestHost host;
  ingest(host,
         line("context.recall.risk", R"({"score":0.6})") +
             line("context.coverage",
                  R"({"summary":{"selected":3,"slots":{"counts":{"x":2},"budgets":{"x":3}}}})"));
  HttpResult snap = host.snapshot();
  REQUIRE(snap.status == 200);
  CHECK(snap.body.find(R"("score":0.6)") != std::string::npos);
  CHECK(snap.body.find("0.6000000238418579") == std::string::npos);
  const std::optional<double> fill =
      sample(metrics_after_snapshot(host), R"(arw_context_slot_fill_ratio{slot="x"})");
  REQUIRE(fill.has_value());
  CHECK(*fill == 2.0 / 3.0);
}

TEST_CASE("slot_label_is_capped_at_256_names_plus_other", "[integration][context]") {
  TestHost host;
  Json budgets = Json::object();
  for (int i = 0; i < 300; ++i) {
    std::string digits = std::to_string(i);
    budgets["s" + std::string(3 - digits.size(), '0') + digits] = 1;
  }
  // selected 1 and no slot counts: every slot is underfilled, fill 0, gap 1.
  const std::string payload =
      Json{{"summary", {{"selected", 1}}}, {"spec", {{"slot_budgets", budgets}}}}.dump();
  ingest(host, line("context.coverage", payload) + line("context.recall.risk", payload));
  const std::string text = metrics_after_snapshot(host);
  for (const std::string& family : kSlotFamilies) {
    INFO(family);
    const std::set<std::string> slots = slot_values(text, family);
    CHECK(slots.size() == 257);
    CHECK(slots.count("s255") == 1);
    CHECK(slots.count("s256") == 0);
    CHECK(slots.count("other") == 1);
  }
  // The 44 slots past the cap all count under "other".
  CHECK(sample(text, R"(arw_context_slot_underfilled_total{slot="other"})") == 44.0);
  CHECK(sample(text, R"(arw_context_slot_gap_count{slot="other"})") == 44.0);
}

TEST_CASE("stale_slot_gauges_go_after_the_ttl_and_counters_stay", "[integration][context]") {
  TestHostOptions options;
  options.env = {{"ARW_CONTEXT_SLOT_METRIC_TTL_SECS", "2"}};
  TestHost host(options);
  ingest(host, line("context.coverage", worked_example(2)) +
                   line("context.recall.risk", worked_example(2)));
  const auto observed_at = std::chrono::steady_clock::now();
  const std::string before = metrics_after_snapshot(host);
  REQUIRE(sample(before, R"(arw_context_slot_gap_latest{slot="instructions"})") == 1.0);
  REQUIRE(sample(before, R"(arw_context_slot_fill_ratio{slot="instructions"})") == 0.0);

  // The check itself is about time passing: 3 s after the last observation.
  std::this_thread::sleep_until(observed_at + std::chrono::seconds(3));
  const std::string after = metrics_after_snapshot(host);
  CHECK_FALSE(sample(after, R"(arw_context_slot_gap_latest{slot="instructions"})"));
  CHECK_FALSE(sample(after, R"(arw_context_slot_fill_ratio{slot="instructions"})"));
  CHECK(sample(after, R"(arw_context_slot_underfilled_total{slot="instructions"})") == 1.0);
  CHECK(sample(after, R"(arw_context_slot_gap_count{slot="instructions"})") == 1.0);
  // HELP and TYPE stay once the last series is gone.
  CHECK(after.find("# TYPE arw_context_slot_gap_latest gauge\n") != std::string::npos);

  // A new observation brings the gauges back.
  ingest(host, line("context.recall.risk", worked_example(2)));
  CHECK(sample(metrics_after_snapshot(host),
               R"(arw_context_slot_gap_latest{slot="instructions"})") == 1.0);
}

TEST_CASE("window_comes_from_host_yaml_and_the_env_wins", "[integration][context]") {
  TestHostOptions options;
  options.host_yaml =
      "schema: tpark.host/v1\nplugins:\n  tp.section.context:\n    config: {window: 3}\n";
  {
    TestHost host(options);
    CHECK(snapshot(host)["context"]["window"] == 3);
  }
  {
    TestHostOptions with_env = options;
    with_env.env = {{"ARW_CONTEXT_TELEMETRY_WINDOW", "5"}};
    TestHost host(with_env);
    CHECK(snapshot(host)["context"]["window"] == 5);
  }
  {
    // A bad value falls back to the configured window, with one warning.
    TestHostOptions bad_env = options;
    bad_env.env = {{"ARW_CONTEXT_TELEMETRY_WINDOW", "65537"}};
    TestHost host(bad_env);
    CHECK(snapshot(host)["context"]["window"] == 3);
    const std::string log = host.process().log();
    const std::string warning = "ARW_CONTEXT_TELEMETRY_WINDOW='65537'";
    const size_t first = log.find(warning);
    CHECK(first != std::string::npos);
    CHECK(log.find(warning, first + 1) == std::string::npos);
  }
}

TEST_CASE("a_reprimed_section_does_not_count_metrics_twice", "[integration][context]") {
  // An inbox of one event overflows on a burst, so the section is re-primed:
  // it is reset and every row since the start is delivered again, the ten
  // already counted included.
  TestHostOptions options;
  options.env = {{"ARW_PLUGIN_INBOX", "1"}};
  TestHost host(options);
  for (int i = 0; i < 10; ++i) ingest(host, line("context.coverage", R"({"needs_more":false})"));
  CHECK(sample(metrics_after_snapshot(host), R"(arw_context_coverage_total{needs_more="false"})") ==
        10.0);
  std::string burst;
  for (int i = 0; i < 200; ++i) burst += line("context.coverage", R"({"needs_more":false})");
  ingest(host, burst);
  CHECK(snapshot(host)["context"]["coverage"]["samples"] == 210);
  CHECK(sample(metrics_after_snapshot(host), R"(arw_context_coverage_total{needs_more="false"})") ==
        210.0);
}
