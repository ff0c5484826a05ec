// Route statistics arithmetic (telemetry.md §4): EWMA seeding and rounding,
// buckets and ARW_ROUTE_HIST_MS, the p95 rank rule and its cap at max_ms,
// the key cap with "other", runtime samples, the ETag that ignores the
// poll's own entry, If-None-Match, the series recorded into since a scrape,
// and the host task registry (§2.1 tasks).
#include <catch2/catch.hpp>

#include <cstdio>
#include <string>
#include <vector>

#include "telemetry/route_stats.h"
#include "telemetry/tasks.h"

using tpark::Json;
using tpark::RouteAggregate;
using tpark::RouteSource;
using tpark::RouteStats;

namespace {

RouteAggregate samples(const std::vector<double>& ms, const std::vector<uint64_t>& bounds_ms,
                       int64_t status = 200) {
  RouteAggregate aggregate;
  for (double value : ms) aggregate.record(value, status, bounds_ms);
  return aggregate;
}

std::vector<double> repeat(double ms, size_t n) {
  return std::vector<double>(n, ms);
}

std::vector<double> concat(std::vector<double> a, const std::vector<double>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

}  // namespace

TEST_CASE("ewma_is_seeded_by_a_first_0_ms_sample_then_weighs_0_8_and_0_2", "[unit][routes]") {
  const std::vector<uint64_t> bounds = {5, 10};
  RouteAggregate a = samples({0.0}, bounds);
  CHECK(a.ewma_ms == 0.0);
  a.record(10.0, 200, bounds);
  // Seeded by the 0 ms sample: 0.8·0 + 0.2·10. A zero EWMA taken as "unset"
  // would give 10 here.
  CHECK(a.ewma_ms == 2.0);
  a.record(5.0, 200, bounds);
  CHECK(a.ewma_display_ms() == 2.6);  // 0.8·2 + 0.2·5
}

TEST_CASE("ewma_shown_in_json_is_rounded_to_one_decimal", "[unit][routes]") {
  const std::vector<uint64_t> bounds = {5};
  CHECK(samples({12.34}, bounds).ewma_display_ms() == 12.3);
  CHECK(samples({0.25}, bounds).ewma_display_ms() == 0.3);
  CHECK(samples({7.0}, bounds).ewma_display_ms() == 7.0);
}

TEST_CASE("route_json_has_the_spec_keys_cumulative_buckets_and_a_null_last_bound",
          "[unit][routes]") {
  const std::vector<uint64_t> bounds = {5, 10, 25};
  const RouteAggregate a = samples({12.0}, bounds);
  CHECK(tpark::route_json(a, bounds).dump() ==
        R"({"hits":1,"errors":0,"ewma_ms":12.0,"p95_ms":12,"max_ms":12,)"
        R"("latency_histogram":{"sum_ms":12.0,"count":1,"buckets":[{"le_ms":5.0,"count":0},)"
        R"({"le_ms":10.0,"count":0},{"le_ms":25.0,"count":1},{"le_ms":null,"count":1}]}})");
}

TEST_CASE("a_sample_on_a_bound_goes_into_that_bucket_and_errors_count_status_400_and_up",
          "[unit][routes]") {
  const std::vector<uint64_t> bounds = {5, 10};
  RouteAggregate a;
  a.record(5.0, 399, bounds);
  a.record(10.5, 400, bounds);
  a.record(0.5, 503, bounds);
  CHECK(a.bucket_counts == std::vector<uint64_t>{2, 0, 1});
  CHECK(a.errors == 2);
  CHECK(a.hits == 3);
  CHECK(a.max_ms() == 11);  // ⌈10.5⌉
  CHECK(a.sum_ms == 16.0);
}

TEST_CASE("p95_takes_the_bound_of_the_bucket_reaching_rank_ceil_0_95_hits", "[unit][routes]") {
  const std::vector<uint64_t> bounds = {5, 10, 25};
  // 20 hits: rank 19, reached in the 5 ms bucket.
  CHECK(samples(concat(repeat(3.0, 19), {7.0}), bounds).p95_ms(bounds) == 5);
  // 21 hits: rank ⌈19.95⌉ = 20, reached only in the 10 ms bucket.
  CHECK(samples(concat(repeat(3.0, 19), {9.0, 24.0}), bounds).p95_ms(bounds) == 10);
  // One hit: rank max(1, 1) = 1.
  CHECK(samples({3.0}, bounds).p95_ms(bounds) == 3);
  CHECK(RouteAggregate{}.p95_ms(bounds) == 0);
}

TEST_CASE("p95_never_exceeds_max_ms", "[unit][routes]") {
  const std::vector<uint64_t> bounds = {5, 10, 25};
  // Rank 19 of 20 falls in the 10 ms bucket, but nothing took longer than 7 ms.
  const RouteAggregate a = samples(concat(repeat(3.0, 18), {7.0, 7.0}), bounds);
  CHECK(a.max_ms() == 7);
  CHECK(a.p95_ms(bounds) == 7);
  // The overflow bucket answers max_ms = ⌈30.2⌉.
  CHECK(samples({30.2}, bounds).p95_ms(bounds) == 31);
}

TEST_CASE("route_hist_ms_drops_invalid_entries_then_sorts_and_dedups", "[unit][routes]") {
  const auto parsed = tpark::parse_route_bounds_ms(" 100, 5,abc,,10,5,-3,0,1.5");
  CHECK(parsed.bounds_ms == std::vector<uint64_t>{5, 10, 100});
  CHECK(parsed.invalid == std::vector<std::string>{"abc", "", "-3", "0", "1.5"});
  CHECK_FALSE(parsed.fell_back);
}

TEST_CASE("route_hist_ms_without_a_valid_entry_is_the_default", "[unit][routes]") {
  const std::vector<uint64_t> defaults = {5, 10, 25, 50, 100, 200, 500, 1000, 2000, 5000, 10000};
  CHECK(tpark::default_route_bounds_ms() == defaults);
  const auto bad = tpark::parse_route_bounds_ms("x,0");
  CHECK(bad.bounds_ms == defaults);
  CHECK(bad.fell_back);
  CHECK(bad.invalid == std::vector<std::string>{"x", "0"});
  const auto blank = tpark::parse_route_bounds_ms("  ");
  CHECK(blank.bounds_ms == defaults);
  CHECK(blank.invalid.empty());
}

TEST_CASE("keys_past_the_cap_and_the_path_other_share_other", "[unit][routes]") {
  RouteStats stats({5}, 2);
  CHECK(stats.record("other", RouteSource::Host, 404, 1.0) == "other");  // takes no slot
  CHECK(stats.record("/a", RouteSource::Host, 200, 1.0) == "/a");
  CHECK(stats.record("/b", RouteSource::Ingest, 200, 1.0) == "/b");
  CHECK(stats.record("/c", RouteSource::Host, 200, 1.0) == "other");
  CHECK(stats.record("/a", RouteSource::Host, 200, 1.0) == "/a");  // known keys stay
  const Json by_path = stats.by_path_json();
  std::vector<std::string> keys;
  for (auto it = by_path.begin(); it != by_path.end(); ++it) keys.push_back(it.key());
  CHECK(keys == std::vector<std::string>{"/a", "/b", "other"});
  CHECK(by_path["other"]["hits"] == 2);
  CHECK(by_path["other"]["errors"] == 1);
  CHECK(by_path["/a"]["hits"] == 2);
}

TEST_CASE("a_key_longer_than_256_bytes_is_other_and_takes_no_slot", "[unit][routes]") {
  RouteStats stats({5}, 1);
  const std::string longest = "/" + std::string(tpark::kRouteKeyBytesMax - 1, 'a');
  CHECK(stats.record("/" + std::string(tpark::kRouteKeyBytesMax, 'a'), RouteSource::Ingest, 200, 1.0) ==
        "other");
  CHECK(stats.record(longest, RouteSource::Ingest, 200, 1.0) == longest);
  CHECK(stats.by_path_json().size() == 2);
}

TEST_CASE("json_merges_sources_per_path_while_series_keep_them_apart", "[unit][routes]") {
  RouteStats stats({5, 50}, 128);
  stats.record("/context/assemble", RouteSource::Host, 200, 4.0);
  stats.record("/context/assemble", RouteSource::Ingest, 500, 12.0);
  stats.record("/context/assemble", RouteSource::Ingest, 200, 12.0);
  const Json merged = stats.by_path_json()["/context/assemble"];
  CHECK(merged["hits"] == 3);
  CHECK(merged["errors"] == 1);
  const auto series = stats.series();
  REQUIRE(series.size() == 2);
  CHECK(series[0].source == RouteSource::Host);
  CHECK(series[0].aggregate.hits == 1);
  CHECK(series[1].source == RouteSource::Ingest);
  CHECK(series[1].aggregate.hits == 2);
  CHECK(series[1].aggregate.errors == 1);
  CHECK(std::string(tpark::route_source_label(series[1].source)) == "ingest");
}

TEST_CASE("route_samples_need_a_string_path_an_integer_status_and_finite_ms_at_least_0",
          "[unit][routes]") {
  auto sample = tpark::parse_route_sample(
      R"({"path":"/context/assemble","method":"POST","status":500,"ms":12})");
  REQUIRE(sample);
  CHECK(sample->path == "/context/assemble");
  CHECK(sample->status == 500);
  CHECK(sample->ms == 12.0);
  CHECK(tpark::parse_route_sample(R"({"path":"/a","status":200,"ms":0})"));
  CHECK_FALSE(tpark::parse_route_sample(R"({"path":"/a","status":200,"ms":-1})"));
  CHECK_FALSE(tpark::parse_route_sample(R"({"path":"/a","status":200,"ms":null})"));
  CHECK_FALSE(tpark::parse_route_sample(R"({"path":"/a","status":200.0,"ms":1})"));
  CHECK_FALSE(tpark::parse_route_sample(R"({"path":"/a","status":"200","ms":1})"));
  CHECK_FALSE(tpark::parse_route_sample(R"({"path":7,"status":200,"ms":1})"));
  CHECK_FALSE(tpark::parse_route_sample(R"({"status":200,"ms":1})"));
  CHECK_FALSE(tpark::parse_route_sample(R"([1])"));
}

TEST_CASE("fnv1a_64_matches_the_reference_vectors", "[unit][routes]") {
  CHECK(tpark::fnv1a_64("") == 0xcbf29ce484222325ULL);
  CHECK(tpark::fnv1a_64("a") == 0xaf63dc4c8601ec8cULL);
  CHECK(tpark::fnv1a_64("foobar") == 0x85944171f73967e8ULL);
}

TEST_CASE("etag_hashes_the_compact_body_without_the_route_stats_entry", "[unit][routes]") {
  Json body = Json::parse(
      R"({"bus":{"published":0},"events":{"start":"x","total":0,"kinds":{}},)"
      R"("routes":{"by_path":{"/a":{"hits":1},"/state/route_stats":{"hits":1}}},)"
      R"("tasks":{},"cache":null})");
  const std::string etag = tpark::route_stats_etag(body);
  const uint64_t hash = tpark::fnv1a_64(
      R"({"bus":{"published":0},"events":{"start":"x","total":0,"kinds":{}},)"
      R"("routes":{"by_path":{"/a":{"hits":1}}},"tasks":{},"cache":null})");
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(hash));
  CHECK(etag == std::string("W/\"rs-") + hex + "\"");

  body["routes"]["by_path"]["/state/route_stats"]["hits"] = 2;
  CHECK(tpark::route_stats_etag(body) == etag);
  body["routes"]["by_path"]["/a"]["hits"] = 2;
  CHECK(tpark::route_stats_etag(body) != etag);
}

TEST_CASE("if_none_match_compares_weakly_and_accepts_lists_and_star", "[unit][routes]") {
  const std::string etag = R"(W/"rs-0123456789abcdef")";
  using tpark::if_none_match_matches;
  CHECK(if_none_match_matches(etag, etag));
  CHECK(if_none_match_matches(R"("rs-0123456789abcdef")", etag));
  CHECK(if_none_match_matches(R"(W/"rs-0000000000000000", W/"rs-0123456789abcdef")", etag));
  CHECK(if_none_match_matches(R"(junk, "rs-0123456789abcdef")", etag));
  CHECK(if_none_match_matches("*", etag));
  CHECK_FALSE(if_none_match_matches(R"(W/"rs-0000000000000000")", etag));
  CHECK_FALSE(if_none_match_matches("", etag));
  CHECK_FALSE(if_none_match_matches(R"(W/"rs-0123456789abcdef)", etag));
}

TEST_CASE("tasks_count_starts_stops_and_restarts_within_30_s", "[unit][tasks]") {
  int64_t now = 1000;
  tpark::TaskRegistry tasks([&now] { return now; });
  tasks.started("a");
  now = 2000;
  tasks.completed("a");
  now = 3000;
  tasks.started("a");  // restart 1
  now = 4000;
  tasks.aborted("a");
  now = 5000;
  tasks.started("a");  // restart 2
  tasks.started("never.stopped");
  CHECK(tasks.to_json().dump() ==
        R"({"a":{"started":3,"completed":1,"aborted":1,"inflight":1,)"
        R"("last_start":"1970-01-01T00:00:05.000Z","last_stop":"1970-01-01T00:00:04.000Z",)"
        R"("restarts_window":2},)"
        R"("never.stopped":{"started":1,"completed":0,"aborted":0,"inflight":1,)"
        R"("last_start":"1970-01-01T00:00:05.000Z","last_stop":null,"restarts_window":0}})");
  CHECK(tasks.restarts_json().dump() == R"({"a":[3000,5000]})");
  now = 33000;  // the 3000 restart leaves the window exactly 30 s later
  CHECK(tasks.to_json()["a"]["restarts_window"] == 1);
  CHECK(tasks.restarts_json().dump() == R"({"a":[5000]})");
  now = 35000;
  CHECK(tasks.to_json()["a"]["restarts_window"] == 0);
  CHECK(tasks.restarts_json().dump() == "{}");
}

TEST_CASE("series_recorded_since_gives_only_the_series_recorded_into_after_that_record",
          "[unit][routes]") {
  RouteStats stats({10, 100}, 16);
  uint64_t through = 0;
  CHECK(stats.series_recorded_since(0, &through).empty());
  CHECK(through == 0);
  stats.record("/a", RouteSource::Host, 200, 1);
  stats.record("/b", RouteSource::Ingest, 200, 2);
  stats.record("/a", RouteSource::Ingest, 500, 3);
  auto all = stats.series_recorded_since(0, &through);
  CHECK(through == 3);
  REQUIRE(all.size() == 3);
  CHECK(all.size() == stats.series().size());

  CHECK(stats.series_recorded_since(through, &through).empty());
  stats.record("/b", RouteSource::Ingest, 200, 4);
  auto changed = stats.series_recorded_since(through, &through);
  CHECK(through == 4);
  REQUIRE(changed.size() == 1);
  CHECK(changed[0].key == "/b");
  CHECK(changed[0].source == RouteSource::Ingest);
  CHECK(changed[0].aggregate.hits == 2);
  // One source of a key recorded into leaves the other out.
  stats.record("/a", RouteSource::Host, 200, 5);
  changed = stats.series_recorded_since(through, &through);
  REQUIRE(changed.size() == 1);
  CHECK(changed[0].key == "/a");
  CHECK(changed[0].source == RouteSource::Host);
}
