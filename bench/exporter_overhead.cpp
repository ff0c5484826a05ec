// Exporter overhead on the event path: durable HTTP ingest into the real
// host with the three built-in exporters enabled (jsonl to a temp dir, NATS
// to a local nats-server, Pushgateway to a local prometheus-pushgateway,
// patches and snapshots flowing) against the same host with none, same run,
// alternating rounds. Target: >= 0.9x.
//
// Usage: bench_exporter_overhead [events_per_round=100000] [rounds=3]
// Needs nats-server and prometheus-pushgateway (scripts/deps.sh test).

#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "support/bench_support.h"
#include "support/free_port.h"
#include "support/host_process.h"
#include "support/http_client.h"

using namespace tpark::test;
using Clock = std::chrono::steady_clock;

namespace {

std::string event_line(int i) {
  return "{\"kind\":\"tool.result\",\"payload\":{\"tool\":\"search\",\"ok\":" +
         std::string(i % 7 ? "true" : "false") + ",\"latency_ms\":" + std::to_string(i % 300) +
         ",\"corr_id\":\"c-" + std::to_string(i) + "\"}}\n";
}

// Events/s of one host run: bodies of 1000 lines over 2 connections.
double ingest_rate(const TempDir& dir, const std::string& name, const std::string& host_yaml,
                   const std::vector<std::string>& bodies, long events) {
  const std::string config = dir.file(name + ".yaml");
  std::ofstream(config) << host_yaml;
  HostProcess::Options o;
  o.args = {"--listen", "127.0.0.1:0", "--state-dir", dir.file(name + "-state"),
            "--config", config};
  o.env = {{"ARW_ADMIN_RATE_LIMIT", "0"},
           {"ARW_PUBLIC_RATE_LIMIT", "0"},
           {"TPARK_BUILTIN_PLUGIN_DIR", std::string(TPARK_BUILTIN_PLUGIN_DIR)}};
  o.log_path = dir.file(name + ".log");
  HostProcess host(o);
  const auto start = Clock::now();
  const long accepted = post_ingest_bodies(host.port(), bodies, 2);
  const double secs = std::chrono::duration<double>(Clock::now() - start).count();
  std::printf("  %s: %.0f events/s\n", name.c_str(), static_cast<double>(accepted) / secs);
  // The exporters' view after the run (queue depth, sent, dropped).
  if (name.rfind("with", 0) == 0) {
    std::this_thread::sleep_for(std::chrono::seconds(2));  // patches still coalescing
    HttpResult plugins = request("GET", "127.0.0.1", host.port(), "/admin/plugins");
    const tpark::Json body = plugins.json();  // kept alive while its items are read
    for (const auto& item : body["items"])
      if (item.contains("exporter"))
        std::printf("  %s %s: %s\n", name.c_str(), item["id"].get<std::string>().c_str(),
                    item["exporter"].dump().c_str());
  }
  host.stop();
  if (accepted != events) std::printf("  %s: only %ld events accepted\n", name.c_str(), accepted);
  return static_cast<double>(accepted) / secs;
}

}  // namespace

int main(int argc, char** argv) {
  if (tpark::test::help_requested(
          argc, argv,
          "usage: bench_exporter_overhead [events_per_round=100000] [rounds=3]\nExporter overhead "
          "on the event path: durable HTTP ingest into the real host with the three built-in "
          "exporters enabled (jsonl to a temp dir, NATS to a local nats-server, Pushgateway to a "
          "local prometheus-pushgateway, patches and snapshots flowing) against the same host with "
          "none, same run, alternating rounds.\n"))
    return 0;
  const int events = argc > 1 ? std::atoi(argv[1]) : 100000;
  const int rounds = argc > 2 ? std::atoi(argv[2]) : 3;
  TempDir dir;

  const uint16_t nats_port = free_loopback_port(), gateway_port = free_loopback_port();
  HostProcess::Options nats;
  nats.binary = "/usr/sbin/nats-server";  // Debian's package
  nats.args = {"-a", "127.0.0.1", "-p", std::to_string(nats_port)};
  nats.log_path = dir.file("nats.log");
  nats.wait_for_listening = false;
  HostProcess nats_server(nats);
  HostProcess::Options gateway;
  gateway.binary = "/usr/bin/prometheus-pushgateway";
  gateway.args = {"--web.listen-address=127.0.0.1:" + std::to_string(gateway_port)};
  gateway.log_path = dir.file("pushgateway.log");
  gateway.wait_for_listening = false;
  HostProcess gateway_server(gateway);
  if (!nats_server.wait_for_log("Server is ready", std::chrono::seconds(20)) ||
      !gateway_server.wait_for_log("Listening on", std::chrono::seconds(20))) {
    std::fprintf(stderr, "nats-server or prometheus-pushgateway did not start:\n%s\n%s\n",
                 nats_server.log().c_str(), gateway_server.log().c_str());
    return 1;
  }

  std::vector<std::string> bodies;
  for (int i = 0; i < events; i += 1000) {
    std::string body;
    for (int j = i; j < std::min(events, i + 1000); ++j) body += event_line(j);
    bodies.push_back(std::move(body));
  }
  const std::string none = "schema: tpark.host/v1\n";
  const std::string all =
      "schema: tpark.host/v1\n"
      "plugins:\n"
      "  tp.exporter.jsonl: {enabled: true, config: {dir: \"" +
      dir.file("jsonl") +
      "\", what: [patches, snapshots]}}\n"
      "  tp.exporter.nats: {enabled: true, config: {url: \"nats://127.0.0.1:" +
      std::to_string(nats_port) +
      "\", node: bench}}\n"
      "  tp.exporter.pushgateway: {enabled: true, config: {url: \"http://127.0.0.1:" +
      std::to_string(gateway_port) + "\", interval_ms: 1000}}\n";

  double best_none = 0, best_all = 0;
  for (int round = 0; round < rounds; ++round) {
    best_none = std::max(best_none,
                         ingest_rate(dir, "none-" + std::to_string(round), none, bodies, events));
    best_all = std::max(best_all,
                        ingest_rate(dir, "with-all-" + std::to_string(round), all, bodies, events));
  }
  double load[1] = {0};
  getloadavg(load, 1);
  std::printf("exporter_overhead: %d events per round, best of %d rounds, load average %.2f\n",
              events, rounds, load[0]);
  std::printf(
      "exporter_overhead: ingest with jsonl+nats+pushgateway %.0f events/s; without exporters "
      "%.0f events/s; ratio %.2fx (target >= 0.9x)\n",
      best_all, best_none, best_all / best_none);
  return 0;
}
