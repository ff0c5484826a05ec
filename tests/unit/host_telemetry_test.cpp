// The host's own telemetry without the HTTP server (telemetry.md §4, §8):
// counters mirrored into Prometheus by delta at scrape time, the kind label
// cap, runtime samples from committed events, the per-request hook, and the
// registry additions it relies on (bucket increments and scrape hooks).
#include <catch2/catch.hpp>

#include <cstdio>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "http/http_types.h"
#include "kernel/bus.h"
#include "kernel/ingest.h"
#include "metrics/metric_registry.h"
#include "support/metrics_text.h"
#include "telemetry/host_telemetry.h"

using namespace tpark;

namespace {

std::optional<double> sample_value(const std::string& text, const std::string& series) {
  return tpark::test::metric_value(text, series);
}

int64_t next_id = 0;

EventPtr event(const std::string& kind, const std::string& payload = "{}",
               const std::string& source = "ingest") {
  auto e = std::make_shared<Event>();
  e->id = ++next_id;
  e->kind = kind;
  e->payload = payload;
  e->source = source;
  return e;
}

// What the journal's commit sink does in the host: count, then dispatch.
void commit(HostTelemetry& telemetry, Bus& bus, std::vector<EventPtr> events) {
  telemetry.on_commit(events);
  bus.publish(std::move(events));
}

http::Request request(const std::string& method, const std::string& route_template) {
  http::Request r;
  r.method = method;
  r.route_template = route_template;
  return r;
}

}  // namespace

TEST_CASE("mirrored_counters_grow_by_what_changed_since_the_last_scrape", "[unit][telemetry]") {
  MetricRegistry metrics;
  Bus bus;
  HostTelemetry telemetry(metrics, bus, {});
  commit(telemetry, bus, {event("a.b"), event("a.b"), event("c.d", "{}", "host")});
  std::string text = metrics.render_text();
  CHECK(sample_value(text, R"(arw_events_total{kind="a.b"})") == 2.0);
  CHECK(sample_value(text, R"(arw_events_total{kind="c.d"})") == 1.0);
  CHECK(sample_value(text, R"(arw_events_ingested_total{source="ingest"})") == 2.0);
  CHECK(sample_value(text, R"(arw_events_ingested_total{source="host"})") == 1.0);
  CHECK(sample_value(text, "arw_events_journal_last_id") == static_cast<double>(next_id));
  // The scrape waits for the bus to dispatch what was committed.
  CHECK(sample_value(text, "arw_bus_published_total") == 3.0);
  CHECK(sample_value(text, "arw_bus_no_receivers_total") == 3.0);
  CHECK(sample_value(text, "arw_bus_receivers") == 0.0);

  commit(telemetry, bus, {event("a.b")});
  text = metrics.render_text();
  CHECK(sample_value(text, R"(arw_events_total{kind="a.b"})") == 3.0);
  CHECK(sample_value(text, "arw_bus_published_total") == 4.0);
  CHECK(metrics.render_text() == text);  // a scrape with nothing new changes nothing
}

TEST_CASE("the_kind_label_keeps_512_kinds_and_events_list_the_most_counted",
          "[unit][telemetry]") {
  MetricRegistry metrics;
  Bus bus;
  HostTelemetryOptions options;
  options.kinds_max = 2;
  HostTelemetry telemetry(metrics, bus, options);
  std::vector<EventPtr> batch;
  for (int i = 0; i <= 512; ++i) {
    char kind[16];
    std::snprintf(kind, sizeof kind, "k.%03d", i);
    batch.push_back(event(kind));
  }
  batch.push_back(event("k.512"));
  batch.push_back(event("k.100"));
  commit(telemetry, bus, batch);
  const std::string text = metrics.render_text();
  CHECK(sample_value(text, R"(arw_events_total{kind="k.511"})") == 1.0);
  CHECK(sample_value(text, R"(arw_events_total{kind="other"})") == 2.0);  // k.512, twice
  CHECK_FALSE(sample_value(text, R"(arw_events_total{kind="k.512"})"));
  // events.kinds counts 4 x kinds_max = 8 kinds by name (k.000..k.007, the
  // first seen); every later kind counts into "other" at record time, so
  // k.100 and k.512 (2 each) are among the 513 there.
  const Json events = telemetry.events_json();
  CHECK(events["total"] == 515);
  CHECK(events["kinds"].dump() == R"({"k.000":1,"k.001":1,"other":513})");
}

TEST_CASE("events_kinds_with_k_plus_1_kinds_list_k_and_other", "[unit][telemetry]") {
  MetricRegistry metrics;
  Bus bus;
  HostTelemetryOptions options;
  options.kinds_max = 3;
  HostTelemetry telemetry(metrics, bus, options);
  commit(telemetry, bus, {event("d.x"), event("b.x"), event("b.x"), event("a.x"), event("c.x")});
  // K = 3 of the 4 kinds: b.x (2), then a.x and c.x by name; d.x is "other".
  CHECK(telemetry.events_json()["kinds"].dump() == R"({"a.x":1,"b.x":2,"c.x":1,"other":1})");
  // The rendering is reused until the next commit, then rebuilt.
  commit(telemetry, bus, {event("d.x"), event("d.x")});
  CHECK(telemetry.events_json()["kinds"].dump() == R"({"a.x":1,"b.x":2,"d.x":3,"other":1})");
}

TEST_CASE("events_kinds_count_at_most_4_k_kinds_by_name", "[unit][telemetry]") {
  MetricRegistry metrics;
  Bus bus;
  HostTelemetryOptions options;
  options.kinds_max = 1;
  HostTelemetry telemetry(metrics, bus, options);
  // 4 x 1 kinds are tracked; the fifth, however often it comes, is "other".
  commit(telemetry, bus,
         {event("a.x"), event("b.x"), event("c.x"), event("d.x"), event("e.x"), event("e.x"),
          event("e.x"), event("a.x")});
  CHECK(telemetry.events_json()["kinds"].dump() == R"({"a.x":2,"other":6})");
}

TEST_CASE("committed_route_samples_are_recorded_as_ingest_and_invalid_ones_skipped",
          "[unit][telemetry]") {
  MetricRegistry metrics;
  Bus bus;
  HostTelemetry telemetry(metrics, bus, {});
  commit(telemetry, bus,
         {event("http.route.sample", R"({"path":"/x","status":503,"ms":30})"),
          event("http.route.sample", R"({"path":"/x","status":200,"ms":-1})"),
          event("http.route.sample.extra", R"({"path":"/y","status":200,"ms":1})")});
  telemetry.on_request(request("GET", "/x"), 200, 2500);
  const Json by_path = telemetry.routes().by_path_json();
  CHECK(by_path.size() == 1);
  CHECK(by_path["/x"]["hits"] == 2);
  CHECK(by_path["/x"]["errors"] == 1);
  CHECK(by_path["/x"]["max_ms"] == 30);
  CHECK(by_path["/x"]["ewma_ms"] == 24.5);  // 0.8·30 + 0.2·2.5
  const std::string text = metrics.render_text();
  CHECK(sample_value(text, R"(arw_route_hits_total{path="/x",source="ingest"})") == 1.0);
  CHECK(sample_value(text, R"(arw_route_errors_total{path="/x",source="ingest"})") == 1.0);
  CHECK(sample_value(text, R"(arw_route_hits_total{path="/x",source="host"})") == 1.0);
  CHECK(sample_value(text, R"(arw_route_errors_total{path="/x",source="host"})") == 0.0);
  CHECK(sample_value(text, R"(arw_route_max_seconds{path="/x",source="host"})") == 0.003);
  CHECK(sample_value(text, R"(arw_route_latency_seconds_sum{path="/x",source="ingest"})") ==
        0.03);
  CHECK(sample_value(text,
                     R"(arw_route_latency_seconds_bucket{path="/x",source="ingest",le="0.025"})") ==
        0.0);
  CHECK(sample_value(text,
                     R"(arw_route_latency_seconds_bucket{path="/x",source="ingest",le="0.05"})") ==
        1.0);
}

TEST_CASE("requests_count_legacy_headers_ingest_codes_and_unmatched_paths_as_other",
          "[unit][telemetry]") {
  MetricRegistry metrics;
  Bus bus;
  HostTelemetry telemetry(metrics, bus, {});
  http::Request gate = request("GET", "other");
  gate.headers.items.emplace_back("x-arw-gate", "1");
  telemetry.on_request(gate, 404, 10);
  telemetry.on_request(request("POST", "/events/ingest"), 413, 10);
  telemetry.on_request(request("POST", "/events/ingest"), 429, 10);  // not a counted code
  telemetry.on_request(request("GET", "/events/ingest"), 405, 10);   // not the ingest route
  telemetry.on_request(request("GET", ""), 400, 10);
  telemetry.on_ingest_rejections("ingest", {{3, "invalid_json"}, {4, "invalid_kind"},
                                            {6, "invalid_json"}});
  CHECK(telemetry.compatibility_json().dump() == R"({"legacy_capsule_headers":1})");
  CHECK(telemetry.routes().by_path_json()["other"]["hits"] == 2);
  const std::string text = metrics.render_text();
  CHECK(sample_value(text, R"(arw_events_ingest_requests_total{code="413"})") == 1.0);
  CHECK_FALSE(sample_value(text, R"(arw_events_ingest_requests_total{code="429"})"));
  CHECK_FALSE(sample_value(text, R"(arw_events_ingest_requests_total{code="405"})"));
  CHECK(sample_value(text, R"(arw_events_rejected_total{reason="invalid_json",source="ingest"})") ==
        2.0);
  CHECK(sample_value(text, R"(arw_events_rejected_total{reason="invalid_kind",source="ingest"})") ==
        1.0);
  CHECK(sample_value(text, "arw_legacy_capsule_headers_total") == 1.0);
}

TEST_CASE("histogram_bucket_increments_add_counts_and_sum", "[unit][telemetry]") {
  MetricRegistry registry;
  std::string error;
  const uint64_t h =
      registry.register_family(MetricType::Histogram, "tp_test_seconds", "help", {"k"}, {1.0, 2.0},
                               &error);
  REQUIRE(h != 0);
  CHECK(registry.observe_buckets(h, {"x"}, {1, 0, 2}, 5.5));
  CHECK(registry.observe_buckets(h, {"x"}, {0, 1, 0}, 1.5));
  CHECK_FALSE(registry.observe_buckets(h, {"x"}, {1, 0}, 1.0));      // one short of +Inf
  CHECK_FALSE(registry.observe_buckets(h, {"x"}, {1, -1, 0}, 1.0));  // counts never go down
  const std::string text = registry.render_text();
  CHECK(sample_value(text, R"(tp_test_seconds_bucket{k="x",le="1"})") == 1.0);
  CHECK(sample_value(text, R"(tp_test_seconds_bucket{k="x",le="2"})") == 2.0);
  CHECK(sample_value(text, R"(tp_test_seconds_bucket{k="x",le="+Inf"})") == 4.0);
  CHECK(sample_value(text, R"(tp_test_seconds_count{k="x"})") == 4.0);
  CHECK(sample_value(text, R"(tp_test_seconds_sum{k="x"})") == 7.0);
}

TEST_CASE("render_hooks_run_before_each_render_until_removed", "[unit][telemetry]") {
  MetricRegistry registry;
  std::string error;
  const uint64_t gauge =
      registry.register_family(MetricType::Gauge, "tp_test_scrapes", "help", {}, {}, &error);
  REQUIRE(gauge != 0);
  int runs = 0;
  const uint64_t hook = registry.add_render_hook([&] { registry.set(gauge, {}, ++runs); });
  CHECK(sample_value(registry.render_text(), "tp_test_scrapes") == 1.0);
  CHECK(sample_value(registry.render_text(), "tp_test_scrapes") == 2.0);
  registry.remove_render_hook(hook);
  CHECK(sample_value(registry.render_text(), "tp_test_scrapes") == 2.0);
  CHECK(runs == 2);
}
