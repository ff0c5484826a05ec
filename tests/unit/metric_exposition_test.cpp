// The /metrics text of a filled registry, byte for byte: against a golden
// file (written by the renderer over prometheus-cpp's own series, before the
// registry kept its series itself) and against a plain reference renderer
// over a prometheus::Registry that got the very same operations, rendered
// again after every round of changes (so text kept between scrapes is never
// stale). Thousands of series of every type, labels that need escaping,
// removed and re-added series, NaN and infinities, integers on both sides
// of where the shortest form turns to an exponent, fractional bucket counts.
// TPARK_UPDATE_GOLDEN=1 rewrites the golden file.
#include <catch2/catch.hpp>

#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include "metrics/metric_registry.h"
#include "support/golden_file.h"

using namespace tpark;

namespace {

const std::string kGolden =
    std::string(TPARK_SOURCE_DIR) + "/tests/fixtures/metrics/filled_registry.prom";

// A plain renderer of the text format 0.0.4 over prometheus-cpp's
// Collect(): families in registration order, HELP/TYPE for a family without
// series, labels by name, shortest round-trip numbers, Nan/+Inf/-Inf.
std::string number(double value) {
  if (std::isnan(value)) return "Nan";
  if (std::isinf(value)) return value < 0 ? "-Inf" : "+Inf";
  char buffer[64];
  return std::string(buffer, std::to_chars(buffer, buffer + sizeof buffer, value).ptr);
}

std::string escaped(const std::string& text, bool quote) {
  std::string out;
  for (char c : text) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '\n')
      out += "\\n";
    else if (quote && c == '"')
      out += "\\\"";
    else
      out += c;
  }
  return out;
}

std::string line_head(const std::string& name, const prometheus::ClientMetric& metric,
                      const std::string& extra = "") {
  std::string labels;
  for (const auto& label : metric.label)
    labels += (labels.empty() ? "" : ",") + label.name + "=\"" + escaped(label.value, true) + "\"";
  if (!extra.empty()) labels += (labels.empty() ? "" : ",") + extra;
  return name + (labels.empty() ? "" : "{" + labels + "}") + " ";
}

struct ReferenceFamily {
  std::string name, help, type;
};

std::string reference_text(prometheus::Registry& registry,
                           const std::vector<ReferenceFamily>& families) {
  std::map<std::string, prometheus::MetricFamily> collected;
  for (auto& family : registry.Collect()) collected[family.name] = family;
  std::string out;
  for (const auto& family : families) {
    if (!family.help.empty())
      out += "# HELP " + family.name + " " + escaped(family.help, false) + "\n";
    out += "# TYPE " + family.name + " " + family.type + "\n";
    auto it = collected.find(family.name);
    if (it == collected.end()) continue;
    for (const auto& metric : it->second.metric) {
      if (family.type == "counter") {
        out += line_head(family.name, metric) + number(metric.counter.value) + "\n";
      } else if (family.type == "gauge") {
        out += line_head(family.name, metric) + number(metric.gauge.value) + "\n";
      } else {
        const auto& histogram = metric.histogram;
        out += line_head(family.name + "_count", metric) + std::to_string(histogram.sample_count) +
               "\n";
        out += line_head(family.name + "_sum", metric) + number(histogram.sample_sum) + "\n";
        for (const auto& bucket : histogram.bucket)
          out += line_head(family.name + "_bucket", metric,
                           "le=\"" + number(bucket.upper_bound) + "\"") +
                 std::to_string(bucket.cumulative_count) + "\n";
      }
    }
  }
  return out;
}

// Every operation goes to the host's registry and, when there is one, to a
// prometheus::Registry the reference renders.
class Filler {
 public:
  Filler(MetricRegistry& metrics, prometheus::Registry* reference)
      : metrics_(metrics), reference_(reference) {}

  uint64_t family(MetricType type, const std::string& name, const std::string& help,
                  const std::vector<std::string>& label_names,
                  const std::vector<double>& buckets = {}) {
    std::string error;
    const uint64_t handle =
        metrics_.register_family(type, name, help, label_names, buckets, &error);
    INFO(error);
    REQUIRE(handle != 0);
    Shape shape{type, label_names, buckets, nullptr, nullptr, nullptr};
    if (reference_) {
      if (type == MetricType::Counter)
        shape.counters = &prometheus::BuildCounter().Name(name).Help(help).Register(*reference_);
      if (type == MetricType::Gauge)
        shape.gauges = &prometheus::BuildGauge().Name(name).Help(help).Register(*reference_);
      if (type == MetricType::Histogram)
        shape.histograms =
            &prometheus::BuildHistogram().Name(name).Help(help).Register(*reference_);
      const char* type_text = type == MetricType::Counter ? "counter"
                              : type == MetricType::Gauge ? "gauge"
                                                          : "histogram";
      families_.push_back({name, help, type_text});
    }
    shapes_[handle] = shape;
    return handle;
  }

  void add(uint64_t handle, const std::vector<std::string>& labels, double value) {
    REQUIRE(metrics_.add(handle, labels, value));
    if (!reference_) return;
    const Shape& shape = shapes_.at(handle);
    if (shape.counters) shape.counters->Add(label_map(shape, labels)).Increment(value);
    if (shape.gauges) shape.gauges->Add(label_map(shape, labels)).Increment(value);
  }

  void set(uint64_t handle, const std::vector<std::string>& labels, double value) {
    REQUIRE(metrics_.set(handle, labels, value));
    if (!reference_) return;
    const Shape& shape = shapes_.at(handle);
    shape.gauges->Add(label_map(shape, labels)).Set(value);
  }

  void observe(uint64_t handle, const std::vector<std::string>& labels, double value) {
    REQUIRE(metrics_.observe(handle, labels, value));
    if (!reference_) return;
    const Shape& shape = shapes_.at(handle);
    shape.histograms->Add(label_map(shape, labels), shape.buckets).Observe(value);
  }

  void observe_buckets(uint64_t handle, const std::vector<std::string>& labels,
                       const std::vector<double>& increments, double sum) {
    REQUIRE(metrics_.observe_buckets(handle, labels, increments, sum));
    if (!reference_) return;
    const Shape& shape = shapes_.at(handle);
    shape.histograms->Add(label_map(shape, labels), shape.buckets).ObserveMultiple(increments, sum);
  }

  void remove(uint64_t handle, const std::vector<std::string>& labels) {
    REQUIRE(metrics_.remove(handle, labels));
    if (!reference_) return;
    const Shape& shape = shapes_.at(handle);
    const auto map = label_map(shape, labels);
    if (shape.counters) shape.counters->Remove(&shape.counters->Add(map));
    if (shape.gauges) shape.gauges->Remove(&shape.gauges->Add(map));
    if (shape.histograms) shape.histograms->Remove(&shape.histograms->Add(map, shape.buckets));
  }

  std::string reference() const { return reference_text(*reference_, families_); }

 private:
  struct Shape {
    MetricType type;
    std::vector<std::string> label_names;
    std::vector<double> buckets;
    prometheus::Family<prometheus::Counter>* counters;
    prometheus::Family<prometheus::Gauge>* gauges;
    prometheus::Family<prometheus::Histogram>* histograms;
  };

  static prometheus::Labels label_map(const Shape& shape, const std::vector<std::string>& values) {
    prometheus::Labels labels;
    for (size_t i = 0; i < values.size(); ++i) labels.emplace(shape.label_names[i], values[i]);
    return labels;
  }

  MetricRegistry& metrics_;
  prometheus::Registry* reference_;
  std::map<uint64_t, Shape> shapes_;
  std::vector<ReferenceFamily> families_;
};

// A fixed pseudo-random sequence, the same on every platform.
class Sequence {
 public:
  uint64_t next() {
    state_ = state_ * 6364136223846793005ull + 1442695040888963407ull;
    return state_ >> 33;
  }
  size_t below(size_t n) { return static_cast<size_t>(next() % n); }

 private:
  uint64_t state_ = 14;
};

struct Handles {
  uint64_t events, rejected, requests, depth, ratio, empty_gauge, latency, gap, empty_histogram,
      untouched;
};

// Numbers whose text is easy to get wrong: integers around where the
// shortest form becomes an exponent, tiny and huge magnitudes, thirds.
double awkward_number(Sequence& sequence) {
  static const double kValues[] = {0,
                                   1,
                                   7,
                                   99999,
                                   100000,
                                   123456,
                                   1e6,
                                   1234567,
                                   1e15,
                                   1e16,
                                   1e21,
                                   1e22,
                                   0.1,
                                   1.0 / 3,
                                   2.5e-7,
                                   1e-300,
                                   -0.5,
                                   -1e6,
                                   9007199254740993.0,
                                   4.35,
                                   0.30000000000000004,
                                   5e-324,
                                   1.7976931348623157e308};
  return kValues[sequence.below(sizeof kValues / sizeof kValues[0])];
}

Handles register_families(Filler& fill) {
  Handles h{};
  h.events = fill.family(MetricType::Counter, "tp_test_events_total", "Events by kind", {"kind"});
  h.rejected = fill.family(MetricType::Counter, "tp_test_rejected_total",
                           "Rejected lines by source and reason", {"source", "reason"});
  h.requests = fill.family(MetricType::Counter, "tp_test_requests_total", "Requests", {});
  h.depth = fill.family(MetricType::Gauge, "tp_test_queue_depth",
                        "A help text with a backslash \\ and a\nnewline", {"queue"});
  h.ratio = fill.family(MetricType::Gauge, "tp_test_ratio", "Ratios", {"zone", "slot"});
  h.empty_gauge = fill.family(MetricType::Gauge, "tp_test_never_set", "Never set", {"x"});
  h.latency = fill.family(MetricType::Histogram, "tp_test_latency_seconds", "Latency by route",
                          {"path", "source"}, {0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5});
  h.gap = fill.family(MetricType::Histogram, "tp_test_gap", "Gaps", {},
                      {0.1, 0.25, 0.5, 0.75, 0.9, 1.0});
  h.empty_histogram = fill.family(MetricType::Histogram, "tp_test_never_observed", "Never observed",
                                  {"slot"}, {1.0});
  h.untouched = fill.family(MetricType::Counter, "tp_test_untouched_total", "", {});
  return h;
}

// One round of changes: `series` new or existing series touched, a few removed.
void fill_round(Filler& fill, const Handles& h, Sequence& sequence, size_t series) {
  for (size_t i = 0; i < series; ++i) {
    const std::string n = std::to_string(sequence.below(series));
    switch (sequence.below(8)) {
      case 0:
        fill.add(h.events, {"kind." + n}, static_cast<double>(sequence.below(1000)));
        break;
      case 1:
        fill.add(h.rejected, {n + "\"quoted\\" + n, sequence.below(2) ? "bad\njson" : "too_large"},
                 std::fabs(awkward_number(sequence)));
        break;
      case 2:
        fill.add(h.requests, {}, 1);
        break;
      case 3: {
        const size_t pick = sequence.below(10);
        const double special[] = {std::nan(""), std::numeric_limits<double>::infinity(),
                                  -std::numeric_limits<double>::infinity()};
        fill.set(h.depth, {"q" + n}, pick < 3 ? special[pick] : awkward_number(sequence));
        break;
      }
      case 4:
        fill.add(h.ratio, {"z" + std::to_string(sequence.below(3)), "slot " + n},
                 awkward_number(sequence) / 7);
        break;
      case 5:
        fill.observe(h.latency, {"/route/" + n, sequence.below(2) ? "host" : "ingest"},
                     static_cast<double>(sequence.below(7000)) / 1000.0);
        break;
      case 6: {
        std::vector<double> increments(10, 0.0);
        for (auto& increment : increments)
          increment = static_cast<double>(sequence.below(4)) + (sequence.below(5) == 0 ? 0.5 : 0);
        increments.resize(9);
        fill.observe_buckets(h.latency, {"/sampled/" + n, "ingest"}, increments,
                             static_cast<double>(sequence.below(100)) / 8.0);
        break;
      }
      default:
        fill.observe(h.gap, {}, static_cast<double>(sequence.below(120)) / 100.0);
        break;
    }
  }
  // Removed series, some of which come back in a later round.
  for (size_t i = 0; i < series / 50; ++i) {
    const std::string n = std::to_string(sequence.below(series));
    fill.set(h.depth, {"q" + n}, 1);
    fill.remove(h.depth, {"q" + n});
    fill.add(h.events, {"kind.removed." + n}, 1);
    fill.remove(h.events, {"kind.removed." + n});
  }
}

}  // namespace

TEST_CASE("a_filled_registry_renders_byte_for_byte_as_its_golden_file", "[unit][metrics]") {
  MetricRegistry metrics;
  Filler fill(metrics, nullptr);
  const Handles handles = register_families(fill);
  Sequence sequence;
  for (int round = 0; round < 2; ++round) fill_round(fill, handles, sequence, 200);
  tpark::test::check_golden_file(metrics.render_text(), kGolden);
}

TEST_CASE("a_filled_registry_renders_as_the_reference_renderer_after_every_round",
          "[unit][metrics]") {
  MetricRegistry metrics;
  prometheus::Registry reference;
  Filler fill(metrics, &reference);
  const Handles handles = register_families(fill);
  Sequence sequence;
  for (int round = 0; round < 8; ++round) {
    fill_round(fill, handles, sequence, round % 2 ? 3000 : 40);
    const std::string text = metrics.render_text();
    INFO("round " << round << ", " << text.size() << " bytes");
    CHECK(text == fill.reference());
    CHECK(metrics.render_text() == text);  // a scrape changes nothing
  }
}
