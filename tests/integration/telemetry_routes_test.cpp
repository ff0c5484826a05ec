// Route statistics and the host-fed sections through the real host
// (telemetry.md §2.1 routes, bus, tasks, compatibility; §4; §8 host
// families; §11 checks 10 and 20): the ETag poll, runtime route samples,
// the key cap, the bucket env var, the legacy header count, the core event
// counters and the plugin tasks across a reload.
#include <catch2/catch.hpp>

#include <algorithm>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "integration/test_host.h"
#include "support/metrics_text.h"

using namespace tpark::test;
using tpark::Json;

namespace {

const HeaderList kNdjson = {{"Content-Type", "application/x-ndjson"}};

Json snapshot_json(TestHost& host) {
  HttpResult snap = host.snapshot();
  REQUIRE(snap.status == 200);
  return snap.json();
}

Json route_stats(TestHost& host) {
  HttpResult r = host.get_public("/state/route_stats");
  REQUIRE(r.status == 200);
  return r.json();
}

std::string metrics_text(TestHost& host) {
  HttpResult r = host.get_public("/metrics");
  REQUIRE(r.status == 200);
  return r.body;
}

std::vector<std::string> keys_of(const Json& object) {
  std::vector<std::string> keys;
  for (auto it = object.begin(); it != object.end(); ++it) keys.push_back(it.key());
  return keys;
}

const std::vector<std::string> kRouteEntryKeys = {"path",   "hits",   "errors",
                                                  "ewma_ms", "p95_ms", "max_ms"};
const std::vector<std::string> kTaskKeys = {"started",    "completed", "aborted",        "inflight",
                                            "last_start", "last_stop", "restarts_window"};

// The snapshot's `routes` entry for a path (REQUIREs it).
Json route_entry(const Json& snapshot, const std::string& path) {
  for (const auto& entry : snapshot["routes"])
    if (entry["path"] == path) return entry;
  FAIL("no routes entry for " << path);
  return nullptr;
}

}  // namespace

TEST_CASE("route_stats_poll_gets_304_until_another_route_changes_check_10",
          "[integration][routes]") {
  TestHost host;
  HttpResult first = host.get_public("/state/route_stats");
  REQUIRE(first.status == 200);
  const std::optional<std::string> etag = first.header("etag");
  REQUIRE(etag);
  CHECK(etag->rfind("W/\"rs-", 0) == 0);
  CHECK(etag->size() == 23);
  CHECK(first.header("cache-control") == "private, max-age=2");

  // The first poll is now counted, but the ETag leaves that entry out.
  HttpResult second = host.get_public("/state/route_stats", {{"If-None-Match", *etag}});
  CHECK(second.status == 304);
  CHECK(second.body.empty());
  CHECK(second.header("etag") == etag);
  CHECK(second.header("cache-control") == "private, max-age=2");

  CHECK(host.get_public("/nope/1").status == 404);
  CHECK(host.get_public("/nope/2").status == 404);
  HttpResult third = host.get_public("/state/route_stats", {{"If-None-Match", *etag}});
  REQUIRE(third.status == 200);
  REQUIRE(third.header("etag"));
  CHECK(third.header("etag") != etag);
  const Json by_path = third.json()["routes"]["by_path"];
  CHECK(by_path["other"]["hits"] == 2);
  CHECK(by_path["other"]["errors"] == 2);
  CHECK_FALSE(by_path.contains("/nope/1"));
  CHECK_FALSE(by_path.contains("/nope/2"));
  CHECK(by_path["/state/route_stats"]["hits"] == 2);

  // A list and the strong form match too (weak comparison).
  const std::string now_etag = *third.header("etag");
  CHECK(host.get_public("/state/route_stats",
                        {{"If-None-Match", "W/\"rs-0000000000000000\", " + now_etag.substr(2)}})
            .status == 304);
  CHECK(host.get_public("/state/route_stats", {{"If-None-Match", "*"}}).status == 304);
}

TEST_CASE("runtime_route_samples_count_per_path_and_keep_their_source_check_20",
          "[integration][routes]") {
  TestHost host;
  const std::string sample = R"({"kind":"http.route.sample","payload":{"path":"/context/assemble",)";
  const std::string body = sample + R"("method":"POST","status":200,"ms":12}})" + "\n" +
                           sample + R"("status":200,"ms":12}})" + "\n" +
                           sample + R"("status":200,"ms":12}})" + "\n" +
                           sample + R"("status":500,"ms":12}})" + "\n" +
                           // Journaled, never recorded: negative ms, string status, no path.
                           sample + R"("status":200,"ms":-1}})" + "\n" +
                           sample + R"("status":"200","ms":1}})" + "\n" +
                           R"({"kind":"http.route.sample","payload":{"status":200,"ms":1}})" + "\n";
  HttpResult ingest = host.post("/events/ingest", body, kNdjson);
  REQUIRE(ingest.status == 200);
  CHECK(ingest.json()["accepted"] == 7);

  const Json snap = snapshot_json(host);
  CHECK(route_entry(snap, "/context/assemble").dump() ==
        R"({"path":"/context/assemble","hits":4,"errors":1,"ewma_ms":12.0,"p95_ms":12,"max_ms":12})");

  const Json by_path = route_stats(host)["routes"]["by_path"];
  CHECK(by_path["/context/assemble"]["latency_histogram"].dump() ==
        R"({"sum_ms":48.0,"count":4,"buckets":[{"le_ms":5.0,"count":0},{"le_ms":10.0,"count":0},)"
        R"({"le_ms":25.0,"count":4},{"le_ms":50.0,"count":4},{"le_ms":100.0,"count":4},)"
        R"({"le_ms":200.0,"count":4},{"le_ms":500.0,"count":4},{"le_ms":1000.0,"count":4},)"
        R"({"le_ms":2000.0,"count":4},{"le_ms":5000.0,"count":4},{"le_ms":10000.0,"count":4},)"
        R"({"le_ms":null,"count":4}]})");

  const std::string metrics = metrics_text(host);
  CHECK(metric_value(metrics, R"(arw_route_hits_total{path="/context/assemble",source="ingest"})") ==
        4.0);
  CHECK(metric_value(metrics,
                     R"(arw_route_errors_total{path="/context/assemble",source="ingest"})") == 1.0);
  CHECK_FALSE(metric_value(metrics,
                           R"(arw_route_hits_total{path="/context/assemble",source="host"})"));
  CHECK(metric_value(
            metrics,
            R"(arw_route_latency_seconds_bucket{path="/context/assemble",source="ingest",le="0.01"})") ==
        0.0);
  CHECK(metric_value(
            metrics,
            R"(arw_route_latency_seconds_bucket{path="/context/assemble",source="ingest",le="0.025"})") ==
        4.0);
  // §4's EWMA in doubles, unrounded, then in seconds: 0.8·12 + 0.2·12 is
  // 12.000000000000002 in binary, and /metrics writes it exactly.
  double ewma_ms = 12;
  for (int sample_index = 1; sample_index < 4; ++sample_index) ewma_ms = 0.8 * ewma_ms + 0.2 * 12;
  CHECK(metric_value(metrics,
                     R"(arw_route_ewma_seconds{path="/context/assemble",source="ingest"})") ==
        ewma_ms / 1000);
  CHECK(metric_value(metrics, R"(arw_events_total{kind="http.route.sample"})") == 7.0);
  // The host's own request to the ingest route is the other source.
  CHECK(metric_value(metrics, R"(arw_route_hits_total{path="/events/ingest",source="host"})") ==
        1.0);
}

TEST_CASE("host_fed_sections_have_the_spec_shapes", "[integration][routes]") {
  TestHost host;
  REQUIRE(host.get_public("/healthz").status == 200);
  REQUIRE(host.post("/events/ingest", "{\"kind\":\"a.b\"}\n{\"kind\":\"c.d\"}\n", kNdjson).status ==
          200);
  const Json snap = snapshot_json(host);

  REQUIRE(snap["routes"].is_array());
  for (const auto& entry : snap["routes"]) {
    CHECK(keys_of(entry) == kRouteEntryKeys);
    CHECK(entry["ewma_ms"].is_number_float());
  }
  const Json healthz = route_entry(snap, "/healthz");
  CHECK(healthz["hits"] == 1);
  CHECK(healthz["errors"] == 0);

  CHECK(keys_of(snap["bus"]) ==
        std::vector<std::string>{"published", "delivered", "receivers", "lagged", "no_receivers"});
  CHECK(snap["bus"]["published"] == 2);
  CHECK(snap["bus"]["lagged"] == 0);

  const Json tasks = snap["tasks"];
  CHECK(keys_of(tasks["events.dispatcher"]) == kTaskKeys);
  CHECK(tasks["events.dispatcher"]["started"] == 1);
  CHECK(tasks["events.dispatcher"]["inflight"] == 1);
  CHECK(tasks["events.dispatcher"]["last_stop"].is_null());
  CHECK(tasks["events.dispatcher"]["restarts_window"] == 0);
  for (const char* section : {"events", "routes", "bus", "tasks", "compatibility", "cache"}) {
    const std::string task = std::string("plugin.tp.section.") + section;
    INFO(task);
    REQUIRE(tasks.contains(task));
    CHECK(keys_of(tasks[task]) == kTaskKeys);
    CHECK(tasks[task]["started"] == 1);
    CHECK(tasks[task]["inflight"] == 1);
    CHECK(tasks[task]["last_start"].is_string());
  }
  std::vector<std::string> names = keys_of(tasks);
  CHECK(std::is_sorted(names.begin(), names.end()));

  CHECK(snap["compatibility"].dump() == R"({"legacy_capsule_headers":0})");
  for (const char* name : {"routes", "bus", "tasks", "compatibility"}) {
    INFO(name);
    CHECK(snap["sections"][name]["ok"] == true);
    CHECK(snap["sections"][name]["plugin"] == std::string("tp.section.") + name);
  }
}

TEST_CASE("route_stats_body_has_bus_events_routes_tasks_and_the_cache_section",
          "[integration][routes]") {
  TestHost host;
  REQUIRE(host.post("/events/ingest", "{\"kind\":\"c.d\"}\n{\"kind\":\"a.b\"}\n{\"kind\":\"a.b\"}\n",
                    kNdjson)
              .status == 200);
  const Json body = route_stats(host);
  CHECK(keys_of(body) == std::vector<std::string>{"bus", "events", "routes", "tasks", "cache"});
  CHECK(keys_of(body["events"]) == std::vector<std::string>{"start", "total", "kinds"});
  CHECK(body["events"]["total"] == 3);
  CHECK(body["events"]["kinds"].dump() == R"({"a.b":2,"c.d":1})");
  CHECK(keys_of(body["routes"]) == std::vector<std::string>{"by_path"});
  CHECK(keys_of(body["routes"]["by_path"]["/events/ingest"]) ==
        std::vector<std::string>{"hits", "errors", "ewma_ms", "p95_ms", "max_ms",
                                 "latency_histogram"});
  const Json snap = snapshot_json(host);
  CHECK(body["bus"]["published"] == 3);
  CHECK(body["cache"] == snap["cache"]);
  CHECK(body["tasks"] == snap["tasks"]);
  CHECK(body["events"]["start"] == snap["events"]["start"]);
}

TEST_CASE("requests_carrying_x_arw_gate_are_counted", "[integration][routes]") {
  TestHost host;
  CHECK(host.get_public("/healthz", {{"X-ARW-Gate", "1"}}).status == 410);
  CHECK(host.get_public("/nope", {{"X-ARW-Gate", "capsule"}}).status == 404);
  CHECK(host.get("/state/events", {{"x-arw-gate", ""}}).status == 200);
  CHECK(host.get_public("/healthz").status == 200);
  CHECK(snapshot_json(host)["compatibility"].dump() == R"({"legacy_capsule_headers":3})");
  CHECK(metric_value(metrics_text(host), "arw_legacy_capsule_headers_total") == 3.0);
}

TEST_CASE("core_event_counters_and_ingest_codes_reach_metrics", "[integration][routes]") {
  TestHost host;
  HttpResult ok = host.post("/events/ingest",
                            "{\"kind\":\"a.b\"}\n{\"kind\":\"a.b\"}\n{bad\n{\"kind\":\"c.d\"}\n",
                            kNdjson);
  REQUIRE(ok.status == 200);
  const int64_t last_id = ok.json()["last_id"].get<int64_t>();
  CHECK(request("POST", "127.0.0.1", host.port(), "/events/ingest", kNdjson, "{\"kind\":\"x.y\"}\n")
            .status == 401);
  CHECK(host.post("/events/ingest", "{\"kind\":\"x.y\"}\n", {{"Content-Type", "text/html"}}).status ==
        415);

  const std::string metrics = metrics_text(host);
  CHECK(metric_value(metrics, R"(arw_events_total{kind="a.b"})") == 2.0);
  CHECK(metric_value(metrics, R"(arw_events_total{kind="c.d"})") == 1.0);
  CHECK_FALSE(metric_value(metrics, R"(arw_events_total{kind="x.y"})"));
  CHECK(metric_value(metrics, R"(arw_events_ingested_total{source="ingest"})") == 3.0);
  CHECK(metric_value(metrics, R"(arw_events_rejected_total{reason="invalid_json",source="ingest"})") ==
        1.0);
  CHECK(metric_value(metrics, R"(arw_events_ingest_requests_total{code="200"})") == 1.0);
  CHECK(metric_value(metrics, R"(arw_events_ingest_requests_total{code="401"})") == 1.0);
  CHECK(metric_value(metrics, R"(arw_events_ingest_requests_total{code="415"})") == 1.0);
  CHECK(metric_value(metrics, "arw_events_journal_last_id") == static_cast<double>(last_id));
  CHECK(metric_value(metrics, "arw_bus_published_total") == 3.0);
  CHECK(metric_value(metrics, R"(arw_plugin_info{plugin="tp.section.routes",version="1.0.0"})") ==
        1.0);
  CHECK(metric_value(metrics, R"(arw_plugin_up{plugin="tp.section.routes"})") == 1.0);
  CHECK(metric_value(metrics, R"(arw_task_started_total{task="events.dispatcher"})") == 1.0);
  CHECK(metric_value(metrics, R"(arw_task_inflight{task="plugin.tp.section.routes"})") == 1.0);

  // Mirrored counters only grow: a second scrape adds what happened since.
  REQUIRE(host.post("/events/ingest", "{\"kind\":\"a.b\"}\n", kNdjson).status == 200);
  const std::string later = metrics_text(host);
  CHECK(metric_value(later, R"(arw_events_total{kind="a.b"})") == 3.0);
  CHECK(metric_value(later, "arw_bus_published_total") == 4.0);
  CHECK(metric_value(later, R"(arw_events_ingest_requests_total{code="200"})") == 2.0);
}

TEST_CASE("host_metric_families_show_help_and_type_from_the_start", "[integration][routes]") {
  TestHost host;
  const std::string metrics = metrics_text(host);
  for (const char* family :
       {"arw_route_latency_seconds", "arw_route_hits_total", "arw_route_errors_total",
        "arw_route_ewma_seconds", "arw_route_p95_seconds", "arw_route_max_seconds",
        "arw_events_total", "arw_events_ingested_total", "arw_events_rejected_total",
        "arw_events_ingest_requests_total", "arw_events_journal_last_id", "arw_bus_published_total",
        "arw_bus_delivered_total", "arw_bus_lagged_total", "arw_bus_no_receivers_total",
        "arw_bus_receivers", "arw_task_started_total", "arw_task_completed_total",
        "arw_task_aborted_total", "arw_task_inflight", "arw_task_restarts_window",
        "arw_legacy_capsule_headers_total", "arw_plugin_info", "arw_plugin_up",
        "arw_telemetry_section_ok", "arw_telemetry_section_errors_total"}) {
    INFO(family);
    CHECK(metrics.find(std::string("# HELP ") + family + " ") != std::string::npos);
    CHECK(metrics.find(std::string("# TYPE ") + family + " ") != std::string::npos);
  }
}

TEST_CASE("section_status_metrics_follow_the_snapshot", "[integration][routes]") {
  TestHostOptions options;
  options.host_yaml = "schema: tpark.host/v1\nplugins:\n  tp.section.bus: {enabled: false}\n";
  TestHost host(options);
  CHECK_FALSE(metric_value(metrics_text(host), R"(arw_telemetry_section_ok{section="bus"})"));
  snapshot_json(host);
  snapshot_json(host);
  const std::string metrics = metrics_text(host);
  CHECK(metric_value(metrics, R"(arw_telemetry_section_ok{section="bus"})") == 0.0);
  CHECK(metric_value(metrics, R"(arw_telemetry_section_ok{section="routes"})") == 1.0);
  CHECK(metric_value(metrics,
                     R"(arw_telemetry_section_errors_total{error="disabled",section="bus"})") ==
        2.0);
}

TEST_CASE("route_hist_ms_sets_the_buckets_of_json_and_metrics", "[integration][routes]") {
  TestHostOptions options;
  options.env.emplace_back("ARW_ROUTE_HIST_MS", "50,abc,10,50");
  TestHost host(options);
  REQUIRE(host.get_public("/healthz").status == 200);
  const Json buckets =
      route_stats(host)["routes"]["by_path"]["/healthz"]["latency_histogram"]["buckets"];
  REQUIRE(buckets.size() == 3);
  CHECK(buckets[0]["le_ms"] == 10.0);
  CHECK(buckets[1]["le_ms"] == 50.0);
  CHECK(buckets[2]["le_ms"].is_null());
  CHECK(buckets[2]["count"] == 1);
  const std::string metrics = metrics_text(host);
  CHECK(metrics.find(R"(arw_route_latency_seconds_bucket{path="/healthz",source="host",le="0.01"})") !=
        std::string::npos);
  CHECK(metrics.find(R"(arw_route_latency_seconds_bucket{path="/healthz",source="host",le="0.05"})") !=
        std::string::npos);
  CHECK(metrics.find(R"(le="0.025")") == std::string::npos);
  CHECK(host.process().wait_for_log("ARW_ROUTE_HIST_MS", std::chrono::seconds(5)));
}

TEST_CASE("route_keys_past_route_stats_max_share_other", "[integration][routes]") {
  TestHostOptions options;
  options.env.emplace_back("ARW_ROUTE_STATS_MAX", "2");
  TestHost host(options);
  REQUIRE(host.get_public("/healthz").status == 200);
  REQUIRE(host.get_public("/about").status == 200);
  REQUIRE(host.get_public("/readyz").status == 200);
  const Json by_path = route_stats(host)["routes"]["by_path"];
  CHECK(keys_of(by_path) == std::vector<std::string>{"/about", "/healthz", "other"});
  CHECK(by_path["other"]["hits"] == 1);
  CHECK(by_path["other"]["errors"] == 0);
}

TEST_CASE("a_plugin_stopped_and_started_again_counts_one_restart", "[integration][routes]") {
  TestHost host;
  CHECK(metric_value(metrics_text(host), R"(arw_plugin_up{plugin="tp.section.bus"})") == 1.0);
  host.write_config("schema: tpark.host/v1\nplugins:\n  tp.section.bus: {enabled: false}\n");
  REQUIRE(host.post("/admin/plugins/reload", "").status == 200);
  Json task = snapshot_json(host)["tasks"]["plugin.tp.section.bus"];
  CHECK(task["started"] == 1);
  CHECK(task["completed"] == 1);
  CHECK(task["inflight"] == 0);
  CHECK(task["last_stop"].is_string());
  CHECK(task["restarts_window"] == 0);
  // Gone from the plugin families while it is not loaded.
  CHECK_FALSE(metric_value(metrics_text(host), R"(arw_plugin_up{plugin="tp.section.bus"})"));

  host.write_config("schema: tpark.host/v1\n");
  REQUIRE(host.post("/admin/plugins/reload", "").status == 200);
  const Json snap = snapshot_json(host);
  task = snap["tasks"]["plugin.tp.section.bus"];
  CHECK(task["started"] == 2);
  CHECK(task["completed"] == 1);
  CHECK(task["aborted"] == 0);
  CHECK(task["inflight"] == 1);
  CHECK(task["restarts_window"] == 1);
  CHECK(snap["sections"]["bus"]["ok"] == true);
  const std::string metrics = metrics_text(host);
  CHECK(metric_value(metrics, R"(arw_task_started_total{task="plugin.tp.section.bus"})") == 2.0);
  CHECK(metric_value(metrics, R"(arw_task_completed_total{task="plugin.tp.section.bus"})") == 1.0);
  CHECK(metric_value(metrics, R"(arw_task_restarts_window{task="plugin.tp.section.bus"})") == 1.0);
  CHECK(metric_value(metrics, R"(arw_plugin_up{plugin="tp.section.bus"})") == 1.0);
}

TEST_CASE("a_held_snapshot_refreshes_generated_and_is_rendered_again_after_a_change",
          "[integration][routes]") {
  // M at its maximum: only a change renders the sections again.
  TestHostOptions options;
  options.env = {{"ARW_READ_MODEL_MAX_DELAY_MS", "3600000"}};
  TestHost host(options);
  auto rest_of = [](const std::string& body) { return body.substr(body.find(",\"events\":")); };
  const HttpResult first = host.snapshot();
  REQUIRE(first.status == 200);
  const Json first_json = first.json();

  // Observation requests (the polls themselves) are no change: the sections
  // are served as held, with generated written fresh.
  HttpResult again;
  for (int attempt = 0; attempt < 200; ++attempt) {
    again = host.snapshot();
    REQUIRE(again.status == 200);
    if (again.json()["generated_ms"] != first_json["generated_ms"]) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  CHECK(again.json()["generated_ms"] != first_json["generated_ms"]);
  CHECK(again.json()["generated"] != first_json["generated"]);
  CHECK(rest_of(again.body) == rest_of(first.body));

  // A request that is not an observation request is a change: the route
  // statistics of every poll so far show in the next snapshot.
  CHECK(host.get_public("/nope").status == 404);
  const Json changed = host.snapshot().json();
  uint64_t snapshot_hits = 0;
  for (const Json& route : changed["routes"])
    if (route["path"] == "/state/training/telemetry") snapshot_hits = route["hits"].get<uint64_t>();
  CHECK(snapshot_hits >= 2);

  // So is an event, read back at once.
  REQUIRE(host.post("/events/ingest", "{\"kind\":\"a.x\"}\n").status == 200);
  CHECK(host.snapshot().json()["events"]["total"] == 1);
}
