// GET /metrics with 10,000 series: the host's render and serve path (its
// MetricRegistry rendered by the /metrics route through its HTTP server)
// against prometheus-cpp's own Exposer serving the same registry, measured
// with the same client loop (a fresh connection per scrape, as Prometheus
// does after an idle interval). Target: host latency <= 0.5x Exposer's.
//
// Usage: bench_metrics_vs_exposer [scrapes=300] [series=10000]
#include <prometheus/collectable.h>
#include <prometheus/exposer.h>
#include <prometheus/metric_family.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "http/pipeline.h"
#include "http/server.h"
#include "metrics/metric_registry.h"
#include "routes/app_context.h"
#include "routes/routes.h"
#include "support/bench_support.h"
#include "support/http_client.h"

using namespace tpark;
using Clock = std::chrono::steady_clock;

namespace {

// `series` label sets spread over counters, gauges and histograms (a third
// each, histograms with 7 buckets), as the host's own families look.
void fill_registry(MetricRegistry& metrics, size_t series) {
  std::string error;
  const uint64_t counter = metrics.register_family(MetricType::Counter, "bench_requests_total",
                                                   "Requests", {"path", "code"}, {}, &error);
  const uint64_t gauge = metrics.register_family(MetricType::Gauge, "bench_slot_fill_ratio", "Fill",
                                                 {"slot"}, {}, &error);
  const uint64_t histogram =
      metrics.register_family(MetricType::Histogram, "bench_latency_seconds", "Latency", {"path"},
                              {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0}, &error);
  for (size_t i = 0; i < series; ++i) {
    const std::string id = std::to_string(i);
    switch (i % 3) {
      case 0:
        metrics.add(counter, {"/route/" + id, i % 2 ? "200" : "500"}, static_cast<double>(i * 7));
        break;
      case 1:
        metrics.set(gauge, {"slot_" + id}, static_cast<double>(i) / 3.0);
        break;
      default:
        metrics.observe(histogram, {"/route/" + id}, static_cast<double>(i % 100) / 1000.0);
        break;
    }
  }
}

// The registry's series as prometheus-cpp families, for the Exposer.
class RegistryCollectable : public prometheus::Collectable {
 public:
  explicit RegistryCollectable(const MetricRegistry& metrics) : metrics_(metrics) {}
  std::vector<prometheus::MetricFamily> Collect() const override { return metrics_.collect(); }

 private:
  const MetricRegistry& metrics_;
};

struct Figures {
  double mean_ms, p50_ms, p99_ms;
  size_t bytes;
};

Figures scrape(uint16_t port, size_t scrapes) {
  std::vector<double> latencies_ms;
  size_t bytes = 0;
  for (size_t i = 0; i < scrapes + 10; ++i) {
    const auto start = Clock::now();
    test::HttpResult r = test::request("GET", "127.0.0.1", port, "/metrics");
    const double ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    if (r.status != 200) {
      std::fprintf(stderr, "scrape answered %d\n", r.status);
      std::exit(1);
    }
    bytes = r.body.size();
    if (i >= 10) latencies_ms.push_back(ms);  // the first 10 warm up
  }
  std::sort(latencies_ms.begin(), latencies_ms.end());
  double sum = 0;
  for (double ms : latencies_ms) sum += ms;
  return {sum / static_cast<double>(latencies_ms.size()), latencies_ms[latencies_ms.size() / 2],
          latencies_ms[latencies_ms.size() * 99 / 100], bytes};
}

}  // namespace

int main(int argc, char** argv) {
  if (tpark::test::help_requested(
          argc, argv,
          "usage: bench_metrics_vs_exposer [scrapes=300] [series=10000]\nGET /metrics with 10,000 "
          "series: the host's render and serve path (its MetricRegistry rendered by the /metrics "
          "route through its HTTP server) against prometheus-cpp's own Exposer serving the same "
          "registry, measured with the same client loop (a fresh connection per scrape, as "
          "Prometheus does after an idle interval).\n"))
    return 0;
  const size_t scrapes = argc > 1 ? std::stoul(argv[1]) : 300;
  const size_t series = argc > 2 ? std::stoul(argv[2]) : 10000;

  MetricRegistry metrics;
  fill_registry(metrics, series);

  // The host's path: the /metrics route of add_host_routes on its HttpServer.
  AppContext app;
  app.metrics = &metrics;
  http::Router router;
  add_host_routes(router, app);
  http::AdminAuth auth(http::AuthSettings{});
  http::RateLimiter limiter(http::RateSettings{});
  http::ServerOptions options;
  options.bind_address = "127.0.0.1";
  options.port = 0;
  options.public_rate_limit = 0;  // benchmarks lift the limiters
  http::HttpServer server(router, auth, limiter, options);
  const uint16_t host_port = server.listen();
  server.start();

  // prometheus-cpp's Exposer over the very same series (the registry's
  // collect(), as prometheus-cpp families).
  prometheus::Exposer exposer("127.0.0.1:0");
  const auto collectable = std::make_shared<RegistryCollectable>(metrics);  // held weakly
  exposer.RegisterCollectable(collectable);
  const uint16_t exposer_port = static_cast<uint16_t>(exposer.GetListeningPorts().at(0));

  // Both serve the same registry: the same lines, but for the Exposer's own
  // exposer_* families, with equal values (the host writes shortest
  // round-trip doubles, prometheus-cpp rounds to 16 significant digits).
  {
    auto lines_of = [](const std::string& body) {
      std::vector<std::string> lines;
      size_t at = 0;
      while (at < body.size()) {
        size_t end = body.find('\n', at);
        if (end == std::string::npos) end = body.size();
        std::string line = body.substr(at, end - at);
        if (line.find("exposer_") != 0 && line.find("# HELP exposer_") != 0 &&
            line.find("# TYPE exposer_") != 0)
          lines.push_back(std::move(line));
        at = end + 1;
      }
      return lines;
    };
    auto same_sample = [](const std::string& a, const std::string& b) {
      if (a == b) return true;
      const size_t a_space = a.rfind(' '), b_space = b.rfind(' ');
      if (a[0] == '#' || a_space == std::string::npos || b_space == std::string::npos ||
          a.compare(0, a_space, b, 0, b_space) != 0)
        return false;
      const double x = std::stod(a.substr(a_space + 1)), y = std::stod(b.substr(b_space + 1));
      return x == y || std::fabs(x - y) <= 1e-15 * std::max(std::fabs(x), std::fabs(y));
    };
    const auto host_lines = lines_of(test::request("GET", "127.0.0.1", host_port, "/metrics").body);
    const auto reference_lines =
        lines_of(test::request("GET", "127.0.0.1", exposer_port, "/metrics").body);
    bool same = host_lines.size() == reference_lines.size();
    for (size_t i = 0; same && i < host_lines.size(); ++i)
      if (!same_sample(host_lines[i], reference_lines[i])) {
        std::fprintf(stderr, "line %zu differs:\n  host:    %s\n  Exposer: %s\n", i + 1,
                     host_lines[i].c_str(), reference_lines[i].c_str());
        same = false;
      }
    if (!same) {
      std::fprintf(stderr,
                   "the host and the Exposer do not serve the same metrics (%zu vs %zu lines)\n",
                   host_lines.size(), reference_lines.size());
      return 1;
    }
  }

  // In-process: the series as prometheus-cpp families, then the host's render.
  auto average_ms = [](auto&& work) {
    const int runs = 20;
    const auto start = Clock::now();
    for (int i = 0; i < runs; ++i) work();
    return std::chrono::duration<double, std::milli>(Clock::now() - start).count() / runs;
  };
  const double collect_ms = average_ms([&] { (void)metrics.collect(); });
  const double render_ms = average_ms([&] { (void)metrics.render_text(); });

  // Interleaved rounds, so both see the same machine load.
  Figures host{}, reference{};
  const size_t rounds = 3;
  std::vector<Figures> host_rounds, reference_rounds;
  for (size_t round = 0; round < rounds; ++round) {
    host_rounds.push_back(scrape(host_port, scrapes / rounds));
    reference_rounds.push_back(scrape(exposer_port, scrapes / rounds));
  }
  auto median_of = [](std::vector<Figures> figures) {
    std::sort(figures.begin(), figures.end(),
              [](const Figures& a, const Figures& b) { return a.mean_ms < b.mean_ms; });
    return figures[figures.size() / 2];
  };
  host = median_of(host_rounds);
  reference = median_of(reference_rounds);

  std::printf(
      "metrics_vs_exposer: %zu series, %zu scrapes each (median of %zu interleaved rounds)\n",
      series, scrapes, rounds);
  std::printf("  host /metrics : %7zu bytes  mean %8.3f ms  p50 %8.3f ms  p99 %8.3f ms\n",
              host.bytes, host.mean_ms, host.p50_ms, host.p99_ms);
  std::printf("  Exposer       : %7zu bytes  mean %8.3f ms  p50 %8.3f ms  p99 %8.3f ms\n",
              reference.bytes, reference.mean_ms, reference.p50_ms, reference.p99_ms);
  std::printf("  in-process: registry collect() %.3f ms, host render_text() %.3f ms\n", collect_ms,
              render_ms);
  const double ratio = host.mean_ms / reference.mean_ms;
  std::printf("  latency ratio host/Exposer (mean): %.2fx (target <= 0.5x) %s\n", ratio,
              ratio <= 0.5 ? "MET" : "MISSED");
  server.stop();
  return 0;
}
