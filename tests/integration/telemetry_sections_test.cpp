// The tools, cache, governor, capsules, feedback and logic_history sections
// through the real host (telemetry.md §2.2, §2.3, §5, §8; §11 checks 1 and
// 19): exact empty shapes, counting from ingested events, TTL expiry of cache
// entries, the feedback window across a restart, and the host-owned kinds
// that ingest cannot forge.
#include <catch2/catch.hpp>

#include <chrono>
#include <optional>
#include <sstream>
#include <string>
#include <thread>

#include "integration/test_host.h"
#include "support/metrics_text.h"
#include "util/time.h"

using namespace tpark::test;
using tpark::Json;

namespace {

Json snapshot_json(TestHost& host) {
  HttpResult snap = host.snapshot();
  REQUIRE(snap.status == 200);
  return snap.json();
}

Json ingest(TestHost& host, const std::string& ndjson) {
  HttpResult r = host.post("/events/ingest", ndjson);
  REQUIRE(r.status == 200);
  return r.json();
}

// The value of one sample line of /metrics, e.g. `arw_tool_cache_entries` or
// `arw_tool_invocations_total{tool="web.search"}`; nullopt when absent.
std::optional<double> metric_value(TestHost& host, const std::string& series) {
  HttpResult r = host.get_public("/metrics");
  REQUIRE(r.status == 200);
  return tpark::test::metric_value(r.body, series);
}

bool metrics_have_help_and_type(TestHost& host, const std::string& family) {
  const std::string body = host.get_public("/metrics").body;
  return body.find("# HELP " + family + " ") != std::string::npos &&
         body.find("# TYPE " + family + " ") != std::string::npos;
}

const char* const kEmptyTools =
    R"({"completed":0,"failed":0,"total_runs":0,"success_rate":null,"totals_by_tool":[]})";

}  // namespace

TEST_CASE("empty_host_renders_check_1_tools_and_capsules_and_the_default_shapes",
          "[integration][sections]") {
  TestHost host;
  const Json j = snapshot_json(host);
  CHECK(j["tools"].dump() == kEmptyTools);
  CHECK(j["capsules"].dump() ==
        R"({"count":0,"expiring_soon":0,"expired":0,"sample":[],"status_counts":{},)"
        R"("accessible_summary":"No active policy capsules."})");
  CHECK(j["logic_history"].dump() == "[]");
  // No control plane yet: the true empty governor state.
  CHECK(j["governor"].dump() == R"({"profile":"balance","memory_limit":null,"hints":{}})");
  CHECK(
      j["feedback"].dump() ==
      R"({"auto_apply":false,"signals":{"count":0,"recent":[]},"suggestions":{"count":0,"sample":[]}})");
  CHECK(
      j["cache"].dump() ==
      R"({"hit":0,"miss":0,"coalesced":0,"errors":0,"bypass":0,"payload_too_large":0,)"
      R"("capacity":2048,"ttl_secs":600,"entries":0,"max_payload_bytes":4194304,)"
      R"("latency_saved_ms_total":0,"latency_saved_samples":0,"avg_latency_saved_ms":0.0,)"
      R"("payload_bytes_saved_total":0,"payload_saved_samples":0,"avg_payload_bytes_saved":0.0,)"
      R"("avg_hit_age_secs":0.0,"hit_age_samples":0,"last_hit_age_secs":null,"max_hit_age_secs":null,)"
      R"("stampede_suppression_rate":0.0,"last_latency_saved_ms":null,"last_payload_bytes":null})");
  for (const char* name : {"tools", "cache", "governor", "capsules", "feedback", "logic_history"}) {
    INFO(name);
    CHECK(j["sections"][name].dump() ==
          R"({"plugin":"tp.section.)" + std::string(name) + R"(","version":"1.0.0","ok":true})");
  }
  // Check 1: every section of the snapshot is ok, each from its own plugin.
  REQUIRE(j["sections"].size() == 14);
  for (auto it = j["sections"].begin(); it != j["sections"].end(); ++it) {
    INFO(it.key());
    CHECK(it.value()["ok"] == true);
    CHECK(it.value()["plugin"] == "tp.section." + it.key());
  }

  // Every family of these sections has HELP and TYPE before any sample.
  for (const char* family :
       {"arw_tool_invocations_total", "arw_tool_cache_hits_total", "arw_tool_cache_miss_total",
        "arw_tool_cache_coalesced_total", "arw_tool_cache_errors_total",
        "arw_tool_cache_bypass_total", "arw_tool_cache_payload_too_large_total",
        "arw_tool_cache_latency_saved_seconds_total", "arw_tool_cache_payload_bytes_saved_total",
        "arw_tool_cache_entries", "arw_tool_cache_stampede_suppression_rate",
        "arw_policy_capsules"}) {
    INFO(family);
    CHECK(metrics_have_help_and_type(host, family));
  }
  for (const char* status : {"active", "expiring", "renew_due", "expired", "unbounded"})
    CHECK(metric_value(host, std::string("arw_policy_capsules{status=\"") + status + "\"}") == 0.0);
}

TEST_CASE("ingested_actions_count_as_tool_runs_and_accepted_tools_by_id_check_19",
          "[integration][sections]") {
  TestHost host;
  // Host-owned kinds cannot be ingested; actions.completed from a runtime can.
  Json r = ingest(host,
                  "{\"kind\":\"logic.unit.applied\"}\n"
                  "{\"kind\":\"orchestrator.job.completed\"}\n"
                  "{\"kind\":\"config.patch.applied\"}\n"
                  "{\"kind\":\"actions.completed\"}\n");
  CHECK(r["accepted"] == 1);
  CHECK(r["rejected"].dump() ==
        R"([{"line":1,"error":"reserved_kind"},{"line":2,"error":"reserved_kind"},)"
        R"({"line":3,"error":"reserved_kind"}])");
  const Json items = host.get("/state/events?after=0").json()["items"];
  REQUIRE(items.size() == 1);
  CHECK(items[0]["source"] == "ingest");
  CHECK(snapshot_json(host)["tools"].dump() ==
        R"({"completed":1,"failed":0,"total_runs":1,"success_rate":1.0,"totals_by_tool":[]})");

  ingest(host,
         "{\"kind\":\"actions.failed\"}\n"
         "{\"kind\":\"actions.completed\"}\n"
         "{\"kind\":\"actions.completed\"}\n"
         "{\"kind\":\"modular.tool.accepted\",\"payload\":{\"tool_id\":\"web.search\"}}\n"
         "{\"kind\":\"modular.tool.accepted\",\"payload\":{\"tool_id\":\"fs.read\"}}\n"
         "{\"kind\":\"modular.tool.accepted\",\"payload\":{\"tool_id\":\"web.search\"}}\n");
  const Json j = snapshot_json(host);
  CHECK(j["tools"].dump() ==
        R"({"completed":3,"failed":1,"total_runs":4,"success_rate":0.75,"totals_by_tool":[)"
        R"({"tool_id":"web.search","count":2},{"tool_id":"fs.read","count":1}]})");
  // logic.unit.* is host-owned: nothing ingested reaches the history.
  CHECK(j["logic_history"].dump() == "[]");
  CHECK(metric_value(host, R"(arw_tool_invocations_total{tool="web.search"})") == 2.0);
  CHECK(metric_value(host, R"(arw_tool_invocations_total{tool="fs.read"})") == 1.0);

  // Lifetime counters start at 0 at each start: the journal's rows are history.
  REQUIRE(host.process().stop() == 0);
  host.start();
  const Json fresh = snapshot_json(host);
  CHECK(fresh["tools"].dump() == kEmptyTools);
  CHECK(fresh["logic_history"].dump() == "[]");
}

TEST_CASE("cache_counts_tool_cache_outcomes_and_derives_rates", "[integration][sections]") {
  TestHost host;
  ingest(
      host,
      R"({"kind":"tool.cache","payload":{"outcome":"miss","key":"k1","cached":true}})"
      "\n"
      R"({"kind":"tool.cache","payload":{"outcome":"miss","key":"k2","cached":true}})"
      "\n"
      R"({"kind":"tool.cache","payload":{"outcome":"miss","key":"k3","cached":false}})"
      "\n"
      R"({"kind":"tool.cache","payload":{"outcome":"hit","key":"k1","latency_saved_ms":120,"payload_bytes":2048,"age_secs":5}})"
      "\n"
      R"({"kind":"tool.cache","payload":{"outcome":"coalesced","key":"k2","latency_saved_ms":80,"payload_bytes":1024,"age_secs":0}})"
      "\n"
      R"({"kind":"tool.cache","payload":{"outcome":"coalesced","key":"k2"}})"
      "\n"
      R"({"kind":"tool.cache","payload":{"outcome":"error","key":"k4"}})"
      "\n"
      R"({"kind":"tool.cache","payload":{"outcome":"not_cacheable","reason":"payload_too_large"}})"
      "\n"
      R"({"kind":"tool.cache","payload":{"outcome":"not_cacheable","reason":"side_effects"}})"
      "\n");
  const Json cache = snapshot_json(host)["cache"];
  CHECK(
      cache.dump() ==
      R"({"hit":1,"miss":3,"coalesced":2,"errors":1,"bypass":2,"payload_too_large":1,)"
      R"("capacity":2048,"ttl_secs":600,"entries":2,"max_payload_bytes":4194304,)"
      R"("latency_saved_ms_total":200,"latency_saved_samples":2,"avg_latency_saved_ms":100.0,)"
      R"("payload_bytes_saved_total":3072,"payload_saved_samples":2,"avg_payload_bytes_saved":1536.0,)"
      R"("avg_hit_age_secs":2.5,"hit_age_samples":2,"last_hit_age_secs":0,"max_hit_age_secs":5,)"
      R"("stampede_suppression_rate":0.4,"last_latency_saved_ms":80,"last_payload_bytes":1024})");

  CHECK(metric_value(host, "arw_tool_cache_hits_total") == 1.0);
  CHECK(metric_value(host, "arw_tool_cache_miss_total") == 3.0);
  CHECK(metric_value(host, "arw_tool_cache_coalesced_total") == 2.0);
  CHECK(metric_value(host, "arw_tool_cache_errors_total") == 1.0);
  CHECK(metric_value(host, "arw_tool_cache_bypass_total") == 2.0);
  CHECK(metric_value(host, "arw_tool_cache_payload_too_large_total") == 1.0);
  CHECK(metric_value(host, "arw_tool_cache_latency_saved_seconds_total") == 0.2);
  CHECK(metric_value(host, "arw_tool_cache_payload_bytes_saved_total") == 3072.0);
  CHECK(metric_value(host, "arw_tool_cache_entries") == 2.0);
  CHECK(metric_value(host, "arw_tool_cache_stampede_suppression_rate") == 0.4);
}

TEST_CASE("cache_limits_follow_the_env_and_entries_expire_after_the_ttl",
          "[integration][sections]") {
  TestHostOptions options;
  options.env = {{"ARW_TOOLS_CACHE_TTL_SECS", "1"},
                 {"ARW_TOOLS_CACHE_CAP", "5"},
                 {"ARW_TOOLS_CACHE_MAX_PAYLOAD_BYTES", "off"}};
  TestHost host(options);
  // "old" was stored 5 s ago, beyond the 1 s TTL; "new" is stored now.
  const std::string five_seconds_ago = tpark::format_rfc3339_ms(tpark::now_ms() - 5000);
  ingest(host, R"({"kind":"tool.cache","time":")" + five_seconds_ago +
                   R"(","payload":{"outcome":"miss","key":"old","cached":true}})"
                   "\n"
                   R"({"kind":"tool.cache","payload":{"outcome":"miss","key":"new","cached":true}})"
                   "\n");
  const Json cache = snapshot_json(host)["cache"];
  CHECK(cache["capacity"] == 5);
  CHECK(cache["ttl_secs"] == 1);
  CHECK(cache["max_payload_bytes"].is_null());
  CHECK(cache["miss"] == 2);
  // The entry may already be gone on a slow machine, never more than one.
  CHECK(cache["entries"].get<int>() <= 1);

  // Without any render, the entries gauge drops to 0 at the entry's expiry.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  std::optional<double> entries = metric_value(host, "arw_tool_cache_entries");
  while (entries != 0.0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    entries = metric_value(host, "arw_tool_cache_entries");
  }
  CHECK(entries == 0.0);
  CHECK(snapshot_json(host)["cache"]["entries"] == 0);
}

TEST_CASE("cache_entries_are_capped_at_the_capacity", "[integration][sections]") {
  TestHostOptions options;
  options.env = {{"ARW_TOOLS_CACHE_CAP", "2"}};
  TestHost host(options);
  ingest(host, R"({"kind":"tool.cache","payload":{"outcome":"miss","key":"a","cached":true}})"
               "\n"
               R"({"kind":"tool.cache","payload":{"outcome":"miss","key":"b","cached":true}})"
               "\n"
               R"({"kind":"tool.cache","payload":{"outcome":"miss","key":"c","cached":true}})"
               "\n");
  const Json cache = snapshot_json(host)["cache"];
  CHECK(cache["capacity"] == 2);
  CHECK(cache["entries"] == 2);
}

TEST_CASE("feedback_window_keeps_newest_signals_and_latest_suggestions_across_restarts",
          "[integration][sections]") {
  TestHostOptions options;
  options.env = {{"ARW_FEEDBACK_AUTO_APPLY", "1"}};
  TestHost host(options);
  std::string body;
  for (int i = 1; i <= 7; ++i)
    body += R"({"kind":"feedback.signal","payload":{"id":"s)" + std::to_string(i) +
            R"(","ts":"2024-05-01T10:00:0)" + std::to_string(i) +
            R"(.000Z","kind":"latency","target":"/context/assemble","confidence":0.5,"severity":)" +
            std::to_string(i % 3) + "}}\n";
  body += R"({"kind":"feedback.suggested","payload":{"version":1,"suggestions":[{"id":"x"}]}})"
          "\n";
  body +=
      R"({"kind":"feedback.suggested","payload":{"version":2,"suggestions":[)"
      R"({"id":"g1","action":"governor.hints","confidence":0.8,"rationale":"slow","params":{"mode":"quick"}},)"
      R"({"id":"g2","action":"preset.apply"},{"id":"g3","action":"x"},{"id":"g4","action":"y"}]}})"
      "\n";
  // feedback.updated is host-owned: a runtime cannot flip auto_apply.
  body += R"({"kind":"feedback.updated","payload":{"auto_apply":false}})"
          "\n";
  const Json r = ingest(host, body);
  CHECK(r["accepted"] == 9);
  CHECK(r["rejected"].dump() == R"([{"line":10,"error":"reserved_kind"}])");

  const std::string expected =
      R"({"auto_apply":true,"signals":{"count":7,"recent":[)"
      R"({"id":"s7","ts":"2024-05-01T10:00:07.000Z","kind":"latency","target":"/context/assemble","confidence":0.5,"severity":1},)"
      R"({"id":"s6","ts":"2024-05-01T10:00:06.000Z","kind":"latency","target":"/context/assemble","confidence":0.5,"severity":0},)"
      R"({"id":"s5","ts":"2024-05-01T10:00:05.000Z","kind":"latency","target":"/context/assemble","confidence":0.5,"severity":2},)"
      R"({"id":"s4","ts":"2024-05-01T10:00:04.000Z","kind":"latency","target":"/context/assemble","confidence":0.5,"severity":1},)"
      R"({"id":"s3","ts":"2024-05-01T10:00:03.000Z","kind":"latency","target":"/context/assemble","confidence":0.5,"severity":0}]},)"
      R"("suggestions":{"count":4,"sample":[)"
      R"({"id":"g1","action":"governor.hints","confidence":0.8,"rationale":"slow","params":{"mode":"quick"}},)"
      R"({"id":"g2","action":"preset.apply","confidence":null,"rationale":null,"params":null},)"
      R"({"id":"g3","action":"x","confidence":null,"rationale":null,"params":null}]}})";
  CHECK(snapshot_json(host)["feedback"].dump() == expected);

  // A window: priming rebuilds it from the journal after a restart.
  REQUIRE(host.process().stop() == 0);
  host.start();
  CHECK(snapshot_json(host)["feedback"].dump() == expected);
}
