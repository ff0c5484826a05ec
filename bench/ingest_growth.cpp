// Cost growth: durable HTTP NDJSON ingest into the real host in rounds while
// the journal grows, with a reader fetching the journal's first page
// (GET /state/events?after=0&limit=1000) throughout. Prints each round: rows
// journaled, ingest rate, the read's p50/p99/max latency, the host's RSS and
// the machine's 1-minute load average; then the rate at the end against the
// empty-journal rate, each the median of 3 rounds (the first 3, the last 3),
// so that one round slowed by other work on the machine does not decide it.
// Targets: rate at the end >= 0.9x the empty-journal rate; the read <= 50 ms
// throughout; RSS flat.
//
// Usage: bench_ingest_growth [rows=600000] [seconds per round=3] [connections=4] [lines per
// body=1000] (rows=7000000 reproduces a 7M-row, ~2.4 GB journal.)
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "support/bench_support.h"
#include "support/host_process.h"
#include "support/http_client.h"

using namespace tpark::test;
using Clock = std::chrono::steady_clock;

namespace {

constexpr const char* kToken = "t";

std::string rss_of(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0) {
      line.erase(0, 6);
      line.erase(0, line.find_first_not_of(" \t"));
      return line;
    }
  return "?";
}

}  // namespace

int main(int argc, char** argv) {
  if (tpark::test::help_requested(
          argc, argv,
          "usage: bench_ingest_growth [rows=600000] [seconds per round=3] [connections=4] [lines "
          "per body=1000]\nIngest rounds until the journal holds `rows` (7000000 reproduces a "
          "7M-row journal), printing each round's rate, read latency and RSS.\n"))
    return 0;
  const size_t target_rows = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 600000;
  const int round_seconds = argc > 2 ? std::atoi(argv[2]) : 3;
  const int connections = argc > 3 ? std::atoi(argv[3]) : 4;
  const size_t lines_per_body = argc > 4 ? std::strtoull(argv[4], nullptr, 10) : 1000;

  // A few distinct bodies, reused: the host journals every line it accepts.
  std::vector<std::string> bodies(8);
  for (size_t b = 0; b < bodies.size(); ++b)
    for (size_t i = 0; i < lines_per_body; ++i)
      bodies[b] += coverage_event_line(b * lines_per_body + i);

  TempDir dir;
  HostProcess::Options options;
  options.args = {"--listen", "127.0.0.1:0", "--state-dir", dir.file("state")};
  options.env = {
      {"ARW_ADMIN_TOKEN", kToken}, {"ARW_ADMIN_RATE_LIMIT", "0"}, {"ARW_PUBLIC_RATE_LIMIT", "0"}};
  options.log_path = dir.file("host.log");
  HostProcess host(std::move(options));

  std::printf("ingest_growth: %d connections, %zu-line bodies, %d s rounds, until %zu rows\n",
              connections, lines_per_body, round_seconds, target_rows);
  std::printf("  %5s %10s %10s %11s %11s %11s %10s %6s\n", "round", "rows", "events/s",
              "read p50 ms", "read p99 ms", "read max ms", "RSS", "load");
  size_t rows = 0;
  std::vector<double> rates;
  double worst_read_ms = 0;
  for (int round = 1; rows < target_rows; ++round) {
    std::atomic<bool> done{false};
    std::atomic<size_t> accepted{0};
    std::atomic<size_t> failures{0};
    const auto start = Clock::now();
    const auto end = start + std::chrono::seconds(round_seconds);
    std::vector<std::thread> writers;
    for (int c = 0; c < connections; ++c)
      writers.emplace_back([&, c] {
        HttpConnection connection("127.0.0.1", host.port(), std::chrono::seconds(120));
        for (size_t i = static_cast<size_t>(c); Clock::now() < end;
             i += static_cast<size_t>(connections)) {
          HttpResult r = connection.request(
              "POST", "/events/ingest",
              {{"X-ARW-Admin", kToken}, {"Content-Type", "application/x-ndjson"}},
              bodies[i % bodies.size()]);
          if (r.status == 200)
            accepted += r.json()["accepted"].get<size_t>();
          else
            ++failures;
        }
      });
    std::vector<double> read_ms;
    std::thread reader([&] {
      HttpConnection connection("127.0.0.1", host.port(), std::chrono::seconds(30));
      while (!done) {
        const auto at = Clock::now();
        HttpResult r = connection.request("GET", "/state/events?after=0&limit=1000",
                                          {{"X-ARW-Admin", kToken}});
        read_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - at).count());
        if (r.status != 200) ++failures;
        std::this_thread::sleep_for(
            std::chrono::milliseconds(100));  // a dashboard's poll, not a load
      }
    });
    for (auto& writer : writers) writer.join();
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    done = true;
    reader.join();
    if (failures) {
      std::fprintf(stderr, "%zu requests failed\n", failures.load());
      return 1;
    }
    rows += accepted;
    const double rate = static_cast<double>(accepted) / seconds;
    rates.push_back(rate);
    const double read_max = read_ms.empty() ? 0 : *std::max_element(read_ms.begin(), read_ms.end());
    worst_read_ms = std::max(worst_read_ms, read_max);
    std::printf("  %5d %10zu %10.0f %11.2f %11.2f %11.2f %10s %6s\n", round, rows, rate,
                percentile(read_ms, 0.5), percentile(read_ms, 0.99), read_max,
                rss_of(host.pid()).c_str(), load_average().c_str());
    std::fflush(stdout);
  }
  const size_t window = std::min<size_t>(3, rates.size());
  const double first_rate = median({rates.begin(), rates.begin() + static_cast<ptrdiff_t>(window)});
  const double last_rate = median({rates.end() - static_cast<ptrdiff_t>(window), rates.end()});
  const double ratio = first_rate > 0 ? last_rate / first_rate : 0;
  std::printf(
      "ingest_growth: at %zu rows %.0f events/s vs %.0f on the empty journal (medians of %zu "
      "rounds; last round alone %.0f): %.2fx (target >= 0.9x) %s; worst first-page read %.2f ms "
      "(target <= 50 ms) %s\n",
      rows, last_rate, first_rate, window, rates.back(), ratio, ratio >= 0.9 ? "MET" : "MISSED",
      worst_read_ms, worst_read_ms <= 50 ? "MET" : "MISSED");
  return 0;
}
