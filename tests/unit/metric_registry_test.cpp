// The host's metric registry (telemetry.md 8): families by handle, the text
// format, naming rules, and HELP/TYPE for families without samples.
#include <catch2/catch.hpp>

#include <string>
#include <string_view>
#include <vector>

#include "metrics/metric_registry.h"

using namespace tpark;

namespace {

uint64_t register_ok(MetricRegistry& registry, MetricType type, const std::string& name,
                     const std::vector<std::string>& labels = {},
                     const std::vector<double>& buckets = {}) {
  std::string error;
  const uint64_t handle =
      registry.register_family(type, name, "Help for " + name + ".", labels, buckets, &error);
  INFO(error);
  REQUIRE(handle != 0);
  return handle;
}

std::string refusal(MetricRegistry& registry, MetricType type, const std::string& name,
                    const std::vector<std::string>& labels = {},
                    const std::vector<double>& buckets = {}) {
  std::string error;
  if (registry.register_family(type, name, "help", labels, buckets, &error) != 0)
    return "(accepted)";
  return error;
}

}  // namespace

TEST_CASE("a_family_without_samples_still_renders_help_and_type") {
  MetricRegistry registry;
  register_ok(registry, MetricType::Counter, "tp_test_things_total", {"kind"});
  register_ok(registry, MetricType::Histogram, "tp_test_gap", {"slot"}, {0.5, 1.0});
  CHECK(registry.render_text() ==
        "# HELP tp_test_things_total Help for tp_test_things_total.\n"
        "# TYPE tp_test_things_total counter\n"
        "# HELP tp_test_gap Help for tp_test_gap.\n"
        "# TYPE tp_test_gap histogram\n");
}

TEST_CASE("samples_render_in_the_text_format") {
  MetricRegistry registry;
  const uint64_t counter =
      register_ok(registry, MetricType::Counter, "tp_test_events_total", {"kind"});
  const uint64_t gauge = register_ok(registry, MetricType::Gauge, "tp_test_depth");
  const uint64_t histogram =
      register_ok(registry, MetricType::Histogram, "tp_test_latency_seconds", {}, {0.1, 1.0});
  CHECK(registry.add(counter, {"a.b"}, 2));
  CHECK(registry.add(counter, {"a.b"}, 0.5));
  CHECK_FALSE(registry.add(counter, {"a.b"}, -1));  // counters never go down
  CHECK_FALSE(registry.add(counter, {}, 1));        // wrong label count
  CHECK_FALSE(registry.set(counter, {"a.b"}, 1));   // set is for gauges
  CHECK(registry.set(gauge, {}, 7));
  CHECK(registry.add(gauge, {}, -2));
  CHECK(registry.observe(histogram, {}, 0.05));
  CHECK(registry.observe(histogram, {}, 0.5));
  CHECK_FALSE(registry.observe(gauge, {}, 1));
  CHECK_FALSE(registry.add(99, {}, 1));  // unknown handle

  const std::string text = registry.render_text();
  CHECK_THAT(text, Catch::Contains("tp_test_events_total{kind=\"a.b\"} 2.5\n"));
  CHECK_THAT(text, Catch::Contains("tp_test_depth 5\n"));
  CHECK_THAT(text, Catch::Contains("tp_test_latency_seconds_bucket{le=\"0.1\"} 1\n"));
  CHECK_THAT(text, Catch::Contains("tp_test_latency_seconds_bucket{le=\"1\"} 2\n"));
  CHECK_THAT(text, Catch::Contains("tp_test_latency_seconds_count 2\n"));

  CHECK(registry.remove(counter, {"a.b"}));
  CHECK_FALSE(registry.remove(counter, {"a.b"}));
  CHECK_THAT(registry.render_text(), !Catch::Contains("kind=\"a.b\""));
  CHECK_THAT(registry.render_text(), Catch::Contains("# TYPE tp_test_events_total counter\n"));
}

TEST_CASE("registering_the_same_shape_again_returns_the_same_handle") {
  MetricRegistry registry;
  const uint64_t first = register_ok(registry, MetricType::Gauge, "tp_test_slots", {"slot"});
  CHECK(register_ok(registry, MetricType::Gauge, "tp_test_slots", {"slot"}) == first);
  CHECK(refusal(registry, MetricType::Gauge, "tp_test_slots", {"other"}) ==
        "metric 'tp_test_slots' is already registered with another shape");
  CHECK(refusal(registry, MetricType::Counter, "tp_test_slots_total", {}) == "(accepted)");
}

TEST_CASE("names_follow_the_lint_rules") {
  MetricRegistry registry;
  CHECK(refusal(registry, MetricType::Counter, "tp_test_hits") ==
        "counter 'tp_test_hits' must end in _total");
  CHECK(refusal(registry, MetricType::Gauge, "tp_test_hits_total") ==
        "only counters end in _total ('tp_test_hits_total')");
  CHECK(refusal(registry, MetricType::Gauge, "tp_test_latency_ms") ==
        "metric name 'tp_test_latency_ms' uses _ms; use seconds");
  CHECK(refusal(registry, MetricType::Gauge, "9lives") == "invalid metric name '9lives'");
  CHECK(refusal(registry, MetricType::Gauge, "tp_test_x", {"__reserved"}) ==
        "invalid label name '__reserved'");
  CHECK(refusal(registry, MetricType::Histogram, "tp_test_h", {"le"}, {1.0}) ==
        "histograms cannot use the label 'le'");
  CHECK(refusal(registry, MetricType::Histogram, "tp_test_h", {}, {1.0, 0.5}) ==
        "histogram buckets must be ascending");
  CHECK(refusal(registry, MetricType::Gauge, "tp_test_g", {}, {1.0}) ==
        "only histograms have buckets");
  CHECK(refusal(registry, MetricType::Gauge, "tp_test_msgs") == "(accepted)");  // _msgs is no unit
}

// Series are found again through a cache of resolved label sets: sets that
// concatenate to the same text stay apart, and a removed series starts again
// from zero when it comes back.
TEST_CASE("resolved_series_stay_distinct_and_a_removed_one_starts_again_from_zero") {
  MetricRegistry registry;
  const uint64_t pairs =
      register_ok(registry, MetricType::Counter, "tp_test_pairs_total", {"a", "b"});
  const uint64_t gauge = register_ok(registry, MetricType::Gauge, "tp_test_level", {"slot"});
  for (int i = 0; i < 3; ++i) {
    CHECK(registry.add(pairs, {"xy", "z"}, 1));
    CHECK(registry.add(pairs, {"x", "yz"}, 10));
    CHECK(registry.add_values(pairs, std::vector<std::string_view>{"", "xyz"}, 100));
  }
  CHECK(registry.set(gauge, {"s1"}, 4));
  CHECK(registry.set_values(gauge, std::vector<std::string_view>{"s1"}, 6));
  std::string text = registry.render_text();
  CHECK_THAT(text, Catch::Contains("tp_test_pairs_total{a=\"xy\",b=\"z\"} 3\n"));
  CHECK_THAT(text, Catch::Contains("tp_test_pairs_total{a=\"x\",b=\"yz\"} 30\n"));
  CHECK_THAT(text, Catch::Contains("tp_test_pairs_total{a=\"\",b=\"xyz\"} 300\n"));
  CHECK_THAT(text, Catch::Contains("tp_test_level{slot=\"s1\"} 6\n"));

  CHECK(registry.remove(pairs, {"xy", "z"}));
  CHECK(registry.remove_values(gauge, std::vector<std::string_view>{"s1"}));
  text = registry.render_text();
  CHECK_THAT(text, !Catch::Contains("b=\"z\""));
  CHECK_THAT(text, !Catch::Contains("slot=\"s1\""));
  CHECK(registry.add(pairs, {"xy", "z"}, 2));
  CHECK(registry.add(gauge, {"s1"}, 1));
  text = registry.render_text();
  CHECK_THAT(text, Catch::Contains("tp_test_pairs_total{a=\"xy\",b=\"z\"} 2\n"));
  CHECK_THAT(text, Catch::Contains("tp_test_level{slot=\"s1\"} 1\n"));
  CHECK_THAT(text, Catch::Contains("tp_test_pairs_total{a=\"x\",b=\"yz\"} 30\n"));
  CHECK_FALSE(registry.add_values(pairs, std::vector<std::string_view>{"only-one"}, 1));
}
