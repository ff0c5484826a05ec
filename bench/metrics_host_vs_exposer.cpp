// GET /metrics of the running host, filled to its label caps (event kinds,
// ingest route samples, sources), against prometheus-cpp's Exposer serving a
// registry of as many series of the same types (counters, gauges, histograms
// with as many buckets), both scraped by `wrk` with the same connections in
// interleaved rounds (host, Exposer, host, ...; the first of each unmeasured
// warm-up). Each round is printed with its ratio to the Exposer round next to
// it; the verdict is the median of those paired ratios, so a round the
// machine slowed for both sides does not decide it. Target: the host's mean
// latency <= 0.5x the Exposer's. (bench_metrics_vs_exposer measures the text
// writer alone, in-process.) The default run takes about 30 s.
//
// Usage: bench_metrics_host_vs_exposer [seconds per round=2] [connections=4] [rounds=5]
//   env: BENCH_HOST_BINARY (another tpark-host build to measure, e.g. an older one)
#include <prometheus/counter.h>
#include <prometheus/exposer.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "support/bench_support.h"
#include "support/host_process.h"
#include "support/http_client.h"

using namespace tpark::test;

namespace {

constexpr const char* kToken = "t";

struct SeriesShape {
  size_t counters = 0, gauges = 0, histograms = 0, buckets = 0, sample_lines = 0;
};

// Counts the series of a text exposition by the TYPE of their family.
SeriesShape shape_of(const std::string& body) {
  SeriesShape shape;
  std::map<std::string, std::string> types;
  size_t at = 0;
  while (at < body.size()) {
    size_t end = body.find('\n', at);
    if (end == std::string::npos) end = body.size();
    const std::string line = body.substr(at, end - at);
    at = end + 1;
    if (line.rfind("# TYPE ", 0) == 0) {
      const size_t space = line.find(' ', 7);
      types[line.substr(7, space - 7)] = line.substr(space + 1);
      continue;
    }
    if (line.empty() || line[0] == '#') continue;
    ++shape.sample_lines;
    const std::string name = line.substr(0, line.find_first_of("{ "));
    if (auto it = types.find(name); it != types.end()) {
      if (it->second == "counter") ++shape.counters;
      if (it->second == "gauge") ++shape.gauges;
      continue;
    }
    if (name.size() > 6 && name.compare(name.size() - 6, 6, "_count") == 0) ++shape.histograms;
    if (name.size() > 7 && name.compare(name.size() - 7, 7, "_bucket") == 0) ++shape.buckets;
  }
  return shape;
}

// A registry with the same numbers of counter, gauge and histogram series.
std::shared_ptr<prometheus::Registry> registry_like(const SeriesShape& shape) {
  auto registry = std::make_shared<prometheus::Registry>();
  auto& counters =
      prometheus::BuildCounter().Name("ref_events_total").Help("Events").Register(*registry);
  auto& gauges =
      prometheus::BuildGauge().Name("ref_route_ewma_seconds").Help("EWMA").Register(*registry);
  auto& histograms = prometheus::BuildHistogram()
                         .Name("ref_route_latency_seconds")
                         .Help("Latency")
                         .Register(*registry);
  for (size_t i = 0; i < shape.counters; ++i)
    counters.Add({{"kind", "bench.kind." + std::to_string(i)}}).Increment(static_cast<double>(i));
  for (size_t i = 0; i < shape.gauges; ++i)
    gauges.Add({{"route", "/bench/route/" + std::to_string(i)}, {"source", "ingest"}})
        .Set(static_cast<double>(i) / 7.0);
  const size_t bounds = shape.histograms ? shape.buckets / shape.histograms - 1 : 0;  // +Inf aside
  prometheus::Histogram::BucketBoundaries boundaries;
  for (size_t b = 0; b < bounds; ++b) boundaries.push_back(0.001 * static_cast<double>(1u << b));
  for (size_t i = 0; i < shape.histograms; ++i)
    histograms
        .Add({{"route", "/bench/route/" + std::to_string(i)}, {"source", "ingest"}}, boundaries)
        .Observe(0.002);
  return registry;
}

struct WrkFigures {
  double requests_per_s = 0, mean_ms = 0, p50_ms = 0, p99_ms = 0;
};

double wrk_ms(const std::string& text, const std::string& label) {
  const size_t at = text.find(label);
  if (at == std::string::npos) return 0;
  char* end = nullptr;
  const double value = std::strtod(text.c_str() + at + label.size(), &end);
  const std::string unit(end, end + 2);
  if (unit == "us") return value / 1000.0;
  if (unit[0] == 's') return value * 1000.0;
  return value;  // ms
}

WrkFigures run_wrk(uint16_t port, int seconds, int connections) {
  const std::string command = "wrk --latency -t1 -c" + std::to_string(connections) + " -d" +
                              std::to_string(seconds) +
                              "s http://127.0.0.1:" + std::to_string(port) + "/metrics 2>&1";
  std::string text;
  if (FILE* pipe = ::popen(command.c_str(), "r")) {
    char buffer[4096];
    size_t n;
    while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) text.append(buffer, n);
    ::pclose(pipe);
  }
  WrkFigures figures;
  const size_t rps = text.find("Requests/sec:");
  if (rps == std::string::npos) {
    std::fprintf(stderr, "wrk failed:\n%s\n", text.c_str());
    std::exit(1);
  }
  figures.requests_per_s = std::strtod(text.c_str() + rps + 13, nullptr);
  figures.mean_ms = wrk_ms(text, "Latency ");
  figures.p50_ms = wrk_ms(text, " 50% ");
  figures.p99_ms = wrk_ms(text, " 99% ");
  return figures;
}

WrkFigures median_of(std::vector<WrkFigures> rounds) {
  std::sort(rounds.begin(), rounds.end(),
            [](const WrkFigures& a, const WrkFigures& b) { return a.mean_ms < b.mean_ms; });
  return rounds[rounds.size() / 2];
}

double median_of(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const size_t n = values.size();
  return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

void print_figures(const WrkFigures& figures) {
  std::printf("%8.0f scrapes/s  mean %7.3f ms  p50 %7.3f ms  p99 %7.3f ms", figures.requests_per_s,
              figures.mean_ms, figures.p50_ms, figures.p99_ms);
}

// Distinct event kinds (past the label cap), route samples for distinct paths
// (past the route-statistics cap) and sources, in one NDJSON body.
std::string filling_body() {
  std::string body;
  for (int i = 0; i < 600; ++i)
    body += "{\"kind\":\"bench.kind." + std::to_string(i) +
            "\",\"payload\":{\"i\":" + std::to_string(i) + "}}\n";
  for (int i = 0; i < 200; ++i)
    body += "{\"kind\":\"http.route.sample\",\"payload\":{\"path\":\"/bench/route/" +
            std::to_string(i) + "\",\"status\":" + (i % 5 ? "200" : "500") +
            ",\"ms\":" + std::to_string(1 + i % 40) + "}}\n";
  return body;
}

}  // namespace

int main(int argc, char** argv) {
  if (tpark::test::help_requested(
          argc, argv,
          "usage: bench_metrics_host_vs_exposer [seconds per round=2] [connections=4] "
          "[rounds=5]\nGET /metrics of the running host, filled to its label caps (event kinds, "
          "ingest route samples, sources), against prometheus-cpp's Exposer serving a registry of "
          "as many series of the same types (counters, gauges, histograms with as many buckets), "
          "both scraped by `wrk` with the same connections in interleaved rounds (host, Exposer, "
          "host, ...; the first of each unmeasured warm-up).\n"))
    return 0;
  const int seconds = argc > 1 ? std::atoi(argv[1]) : 2;
  const int connections = argc > 2 ? std::atoi(argv[2]) : 4;
  const int rounds = std::max(1, argc > 3 ? std::atoi(argv[3]) : 5);

  TempDir dir;
  HostProcess::Options options;
  if (const char* binary = std::getenv("BENCH_HOST_BINARY")) options.binary = binary;
  options.args = {"--listen", "127.0.0.1:0", "--state-dir", dir.file("state")};
  options.env = {{"ARW_ADMIN_TOKEN", kToken},
                 {"ARW_ADMIN_RATE_LIMIT", "0"},
                 {"ARW_PUBLIC_RATE_LIMIT", "0"},
                 {"TPARK_BUILTIN_PLUGIN_DIR", TPARK_BUILTIN_PLUGIN_DIR}};
  options.log_path = dir.file("host.log");
  HostProcess host(std::move(options));

  const std::string body = filling_body();
  for (int source = 0; source < 3; ++source) {
    HttpResult r =
        request("POST", "127.0.0.1", host.port(), "/events/ingest",
                {{"X-ARW-Admin", kToken}, {"Content-Type", "application/x-ndjson"}}, body);
    if (r.status != 200) {
      std::fprintf(stderr, "filling the host failed: %d %s\n", r.status, r.body.c_str());
      return 1;
    }
  }
  // Every host route once, so the host's own route series exist too.
  for (const char* path : {"/healthz", "/readyz", "/state/route_stats", "/state/read_models",
                           "/about", "/state/events?after=0&limit=10", "/metrics"})
    request("GET", "127.0.0.1", host.port(), path, {{"X-ARW-Admin", kToken}});

  const std::string exposition = request("GET", "127.0.0.1", host.port(), "/metrics").body;
  const SeriesShape shape = shape_of(exposition);
  auto registry = registry_like(shape);
  prometheus::Exposer exposer("127.0.0.1:0");
  exposer.RegisterCollectable(registry);
  const uint16_t exposer_port = static_cast<uint16_t>(exposer.GetListeningPorts().at(0));
  const SeriesShape reference_shape =
      shape_of(request("GET", "127.0.0.1", exposer_port, "/metrics").body);

  std::printf(
      "metrics_host_vs_exposer: wrk -t1 -c%d, %d s per round, %d interleaved rounds after a "
      "warm-up\n",
      connections, seconds, rounds);
  std::printf(
      "  host /metrics : %zu sample lines (%zu counters, %zu gauges, %zu histograms), %zu bytes\n",
      shape.sample_lines, shape.counters, shape.gauges, shape.histograms, exposition.size());
  std::printf("  Exposer       : %zu sample lines\n", reference_shape.sample_lines);
  run_wrk(host.port(), 1, connections);
  run_wrk(exposer_port, 1, connections);
  std::vector<WrkFigures> host_rounds, reference_rounds;
  std::vector<double> ratios;
  for (int round = 0; round < rounds; ++round) {
    // Alternate which side goes first, so neither always follows the other.
    const bool host_first = round % 2 == 0;
    WrkFigures host_round, reference_round;
    if (host_first) host_round = run_wrk(host.port(), seconds, connections);
    reference_round = run_wrk(exposer_port, seconds, connections);
    if (!host_first) host_round = run_wrk(host.port(), seconds, connections);
    host_rounds.push_back(host_round);
    reference_rounds.push_back(reference_round);
    ratios.push_back(host_round.mean_ms / reference_round.mean_ms);
    std::printf("  round %d: host ", round + 1);
    print_figures(host_round);
    std::printf("\n           Exposer ");
    print_figures(reference_round);
    std::printf("\n           ratio %.2fx\n", ratios.back());
  }
  const WrkFigures host_figures = median_of(host_rounds);
  const WrkFigures reference = median_of(reference_rounds);
  std::printf(
      "  host    : %8.0f scrapes/s  mean %7.3f ms  p50 %7.3f ms  p99 %7.3f ms (median round)\n",
      host_figures.requests_per_s, host_figures.mean_ms, host_figures.p50_ms, host_figures.p99_ms);
  std::printf(
      "  Exposer : %8.0f scrapes/s  mean %7.3f ms  p50 %7.3f ms  p99 %7.3f ms (median round)\n",
      reference.requests_per_s, reference.mean_ms, reference.p50_ms, reference.p99_ms);
  const double ratio = median_of(ratios);
  std::printf(
      "  latency ratio host/Exposer (mean, median of %d paired rounds; worst %.2fx): %.2fx "
      "(target <= 0.5x) %s\n",
      rounds, *std::max_element(ratios.begin(), ratios.end()), ratio,
      ratio <= 0.5 ? "MET" : "MISSED");
  return 0;
}
