// Durable HTTP NDJSON ingest into the real host, events/s, against a raw
// SQLite batched insert of the same rows (same pragmas, same machine, same
// run). Rounds alternate: the raw insert into a fresh file, then the same
// rows into a fresh host over HTTP; each round is printed, and the medians
// are compared, so one noisy second on a shared machine does not decide.
// Targets: >= 250k events/s and >= 0.5x the raw SQLite rate.
// Meanwhile a reader polls the journal's first page
// (GET /state/events?after=0&limit=1000, every 100 ms, as a dashboard would);
// its latency under full ingest is printed. Target: <= 50 ms throughout.
//
// Usage: bench_http_ingest [events=400000] [connections=4] [lines per body=1000] [rounds=3]
// Run with a Release build; the host gets ARW_ADMIN_RATE_LIMIT=0.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "support/bench_support.h"
#include "support/host_process.h"
#include "support/http_client.h"

using namespace tpark::test;
using Clock = std::chrono::steady_clock;

int main(int argc, char** argv) {
  if (tpark::test::help_requested(
          argc, argv,
          "usage: bench_http_ingest [events=400000] [connections=4] [lines per body=1000] "
          "[rounds=3]\nDurable HTTP NDJSON ingest into the real host, events/s, against a raw "
          "SQLite batched insert of the same rows (same pragmas, same machine, same run).\n"))
    return 0;
  const int total = argc > 1 ? std::atoi(argv[1]) : 400000;
  const int connections = argc > 2 ? std::atoi(argv[2]) : 4;
  // Bodies of 1,000 lines (~330 KB) by default; at most ~12k fit the 4 MiB ingest limit.
  const int per_body = argc > 3 ? std::atoi(argv[3]) : 1000;
  const int rounds = std::max(1, argc > 4 ? std::atoi(argv[4]) : 3);
  TempDir dir;

  std::vector<std::string> bodies;
  std::vector<std::string> payloads;
  for (int i = 0; i < total; i += per_body) {
    std::string body;
    for (int j = i; j < std::min(total, i + per_body); ++j) {
      std::string line = coverage_event_line(static_cast<size_t>(j));
      body += line;
      size_t p = line.find("\"payload\":") + 10;
      payloads.push_back(line.substr(p, line.size() - p - 2));
    }
    bodies.push_back(std::move(body));
  }

  struct Round {
    double raw_rate = 0, http_rate = 0, http_secs = 0, host_cpu_us = 0, client_cpu_us = 0;
    long accepted = 0;
    std::string host_side;
  };
  std::vector<double> read_ms;
  long read_failures = 0;

  // One round: the raw reference, then a fresh host taking the same rows.
  auto run_round = [&](int number) {
    Round round;
    round.raw_rate =
        raw_sqlite_insert_rate(dir.file("raw-" + std::to_string(number) + ".db"), payloads);

    HostProcess::Options o;
    o.args = {"--listen", "127.0.0.1:0", "--state-dir",
              dir.file("state-" + std::to_string(number))};
    o.env = {{"ARW_ADMIN_RATE_LIMIT", "0"}, {"ARW_PUBLIC_RATE_LIMIT", "0"}};
    o.log_path = dir.file("host-" + std::to_string(number) + ".log");
    HostProcess host(o);

    std::atomic<bool> ingesting{true};
    std::thread reader([&] {
      HttpConnection conn("127.0.0.1", host.port(), std::chrono::seconds(30));
      while (ingesting) {
        const auto at = Clock::now();
        HttpResult r = conn.request("GET", "/state/events?after=0&limit=1000");
        if (!ingesting) break;  // the last read may have started after the ingest ended
        read_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - at).count());
        if (r.status != 200) ++read_failures;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));  // a dashboard's poll
      }
    });
    const double cpu_before = cpu_seconds(host.pid());
    const double client_cpu_before = cpu_seconds(getpid());
    auto start = Clock::now();
    round.accepted = post_ingest_bodies(host.port(), bodies, connections);
    round.http_secs = std::chrono::duration<double>(Clock::now() - start).count();
    round.host_cpu_us = 1e6 * (cpu_seconds(host.pid()) - cpu_before) /
                        static_cast<double>(std::max(1L, round.accepted));
    // The benchmark's own CPU shares the machine's cores with the host.
    round.client_cpu_us = 1e6 * (cpu_seconds(getpid()) - client_cpu_before) /
                          static_cast<double>(std::max(1L, round.accepted));
    round.http_rate = static_cast<double>(round.accepted) / round.http_secs;
    ingesting = false;
    reader.join();
    // The host's own view of the read (request parsed to response queued), so
    // time spent waiting for a CPU on a busy machine shows as the difference.
    try {
      HttpConnection conn("127.0.0.1", host.port(), std::chrono::seconds(30));
      const auto stats = conn.request("GET", "/state/route_stats").json();
      const auto& route = stats.at("routes").at("by_path").at("/state/events");
      round.host_side =
          "p95 " + route.at("p95_ms").dump() + " ms, max " + route.at("max_ms").dump() + " ms";
    } catch (const std::exception& e) {
      round.host_side = std::string("unknown (") + e.what() + ")";
    }
    host.stop();
    std::printf(
        "http_ingest:   round %d: raw SQLite %.0f events/s, then %ld events over HTTP in %.2f s: "
        "%.0f events/s (%.2fx), host CPU %.2f us per event (the benchmark's client %.2f us); the "
        "read in the host %s\n",
        number, round.raw_rate, round.accepted, round.http_secs, round.http_rate,
        round.http_rate / round.raw_rate, round.host_cpu_us, round.client_cpu_us,
        round.host_side.c_str());
    return round;
  };

  std::printf("http_ingest: %d rounds of %d events over %d connections (%d-line bodies)\n", rounds,
              total, connections, per_body);
  std::vector<Round> results;
  for (int number = 1; number <= rounds; ++number) results.push_back(run_round(number));

  auto median_of = [&](double Round::*field) {
    std::vector<double> values;
    for (const Round& round : results) values.push_back(round.*field);
    std::sort(values.begin(), values.end());
    return values[values.size() / 2];
  };
  const double http_rate = median_of(&Round::http_rate);
  const double raw_rate = median_of(&Round::raw_rate);
  std::printf(
      "http_ingest: durable HTTP ingest %.0f events/s; raw SQLite batched insert %.0f "
      "events/s (medians of %d rounds); ratio %.2fx (targets >= 250000 events/s, "
      ">= 0.5x); the host's CPU per event %.2f us (all its threads)\n",
      http_rate, raw_rate, rounds, http_rate / raw_rate, median_of(&Round::host_cpu_us));
  const double read_max = read_ms.empty() ? 0 : *std::max_element(read_ms.begin(), read_ms.end());
  std::printf(
      "http_ingest: GET /state/events?after=0&limit=1000 under that ingest, %zu reads: "
      "p50 %.1f ms, p99 %.1f ms, max %.1f ms (target <= 50 ms throughout); load average %s\n",
      read_ms.size(), percentile(read_ms, 0.5), percentile(read_ms, 0.99), read_max,
      load_average().c_str());
  bool all_accepted = true;
  for (const Round& round : results) all_accepted = all_accepted && round.accepted == total;
  return all_accepted && read_failures == 0 ? 0 : 1;
}
