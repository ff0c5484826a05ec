// /metrics against the real Prometheus tools (telemetry.md §8 and §11 checks
// 3 and 15): promtool finds nothing to lint in a live body after a realistic
// batch from the agent simulator, and a real Prometheus server scraping the
// host answers the ops guide's slot-gap queries after the worked example.
#include <catch2/catch.hpp>

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "integration/test_host.h"

using namespace tpark::test;
using tpark::Json;

namespace {

// A program on PATH, else in /usr/bin; nullopt when absent.
std::optional<std::string> find_program(const std::string& name) {
  std::vector<std::string> dirs;
  if (const char* path = std::getenv("PATH")) {
    std::istringstream in(path);
    for (std::string dir; std::getline(in, dir, ':');)
      if (!dir.empty()) dirs.push_back(dir);
  }
  dirs.push_back("/usr/bin");
  for (const auto& dir : dirs) {
    const std::string candidate = dir + "/" + name;
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return std::nullopt;
}

std::string require_program(const std::string& name) {
  const auto found = find_program(name);
  if (!found)
    FAIL(name << " not found on PATH or in /usr/bin: install the Debian package prometheus "
                 "(scripts/deps.sh test does)");
  return *found;
}

std::string shell_quote(const std::string& word) {
  std::string out = "'";
  for (char c : word) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// Runs a shell command; returns its exit code and, interleaved, stdout and stderr.
std::pair<int, std::string> run_command(const std::string& command) {
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::string out;
  char buffer[65536];
  for (size_t n; (n = fread(buffer, 1, sizeof buffer, pipe)) > 0;) out.append(buffer, n);
  const int status = pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

// A port that was free a moment ago (Prometheus cannot be told to pick one).
uint16_t free_port() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  socklen_t length = sizeof address;
  REQUIRE(getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0);
  close(fd);
  return ntohs(address.sin_port);
}

std::string url_encode(const std::string& text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    }
  }
  return out;
}

// §11 check 3's payload.
const std::string kWorkedExample =
    R"({"summary":{"target_limit":8,"lanes_requested":2,"selected":3,"avg_cscore":0.25,)"
    R"("max_cscore":0.3,"threshold_hits":0,"min_score":0.6,"lane_counts":{"semantic":3},)"
    R"("slots":{"counts":{"instructions":0}}},"spec":{"slot_budgets":{"instructions":2}}})";

// A Prometheus server on 127.0.0.1 scraping one target every second, with
// its TSDB in a temporary directory. Stopped with SIGTERM on destruction.
class PrometheusServer {
 public:
  explicit PrometheusServer(uint16_t target_port) {
    const std::string binary = require_program("prometheus");
    {
      std::ofstream config(dir_.file("prometheus.yml"));
      config << "global:\n"
                "  scrape_interval: 1s\n"
                "  evaluation_interval: 1s\n"
                "scrape_configs:\n"
                "  - job_name: tpark\n"
                "    static_configs:\n"
                "      - targets: ['127.0.0.1:"
             << target_port << "']\n";
    }
    // The free port can be taken between the probe and the bind: try again then.
    for (int attempt = 1; attempt <= 3; ++attempt) {
      port_ = free_port();
      HostProcess::Options o;
      o.binary = binary;
      o.args = {"--config.file=" + dir_.file("prometheus.yml"),
                "--storage.tsdb.path=" + dir_.file("data-" + std::to_string(attempt)),
                "--web.listen-address=127.0.0.1:" + std::to_string(port_)};
      o.log_path = dir_.file("prometheus-" + std::to_string(attempt) + ".log");
      o.wait_for_listening = false;
      process_ = std::make_unique<HostProcess>(std::move(o));
      if (process_->wait_for_log("Server is ready to receive web requests",
                                 std::chrono::seconds(30)))
        return;
      const std::string log = process_->log();
      process_->stop(std::chrono::seconds(10));
      if (log.find("address already in use") == std::string::npos || attempt == 3)
        FAIL("prometheus did not become ready; log:\n" << log);
    }
  }
  ~PrometheusServer() {
    if (process_) process_->stop(std::chrono::seconds(20));  // SIGTERM, then reap
  }

  // An instant query through the HTTP API; the `data.result` array.
  Json query(const std::string& promql) {
    HttpResult r = request("GET", "127.0.0.1", port_, "/api/v1/query?query=" + url_encode(promql));
    REQUIRE(r.status == 200);
    const Json body = r.json();
    REQUIRE(body["status"] == "success");
    return body["data"]["result"];
  }
  std::string log() const { return process_->log(); }

 private:
  TempDir dir_;  // declared first: outlives the process
  uint16_t port_ = 0;
  std::unique_ptr<HostProcess> process_;
};

}  // namespace

TEST_CASE("metrics_pass_promtool_check_after_a_simulated_batch", "[prometheus]") {
  const std::string promtool = require_program("promtool");
  TestHost host;

  const auto [sim_code, ndjson] = run_command(shell_quote(TPARK_AGENT_SIM_BINARY) +
                                              " --stdout --count 3000 --seed 21 2>/dev/null");
  REQUIRE(sim_code == 0);
  HttpResult ingest =
      host.post("/events/ingest", ndjson, {{"Content-Type", "application/x-ndjson"}});
  REQUIRE(ingest.status == 200);
  REQUIRE(ingest.json()["accepted"] == 3000);
  REQUIRE(ingest.json()["rejected_total"] == 0);
  // The snapshot returns once every section has taken the ingested events.
  REQUIRE(host.snapshot().status == 200);

  HttpResult metrics = host.get_public("/metrics");
  REQUIRE(metrics.status == 200);
  TempDir dir;
  {
    std::ofstream out(dir.file("metrics.txt"), std::ios::binary);
    out << metrics.body;
  }
  const auto [code, findings] = run_command(shell_quote(promtool) + " check metrics < " +
                                            shell_quote(dir.file("metrics.txt")));
  INFO("promtool said:\n" << findings);
  CHECK(code == 0);
  CHECK(findings.empty());
}

TEST_CASE("shipped_prometheus_yml_passes_promtool_check_config", "[prometheus]") {
  const std::string promtool = require_program("promtool");
  const auto [code, output] =
      run_command(shell_quote(promtool) + " check config " +
                  shell_quote(std::string(TPARK_SOURCE_DIR) + "/examples/prometheus.yml"));
  INFO(output);
  CHECK(code == 0);
  CHECK(output.find("SUCCESS") != std::string::npos);
}

TEST_CASE("prometheus_scrapes_the_worked_example_slot_gap", "[prometheus]") {
  TestHost host;
  PrometheusServer prometheus(host.port());

  const std::string lines = R"({"kind":"context.coverage","payload":)" + kWorkedExample + "}\n" +
                            R"({"kind":"context.recall.risk","payload":)" + kWorkedExample + "}\n";
  HttpResult ingest = host.post("/events/ingest", lines);
  REQUIRE(ingest.status == 200);
  REQUIRE(ingest.json()["accepted"] == 2);

  // Scrapes every second: the gap of 1.0 (have 0 of budget 2) shows up within
  // a few, well inside 30 s.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  Json result;
  while (std::chrono::steady_clock::now() < deadline) {
    result = prometheus.query(R"(arw_context_slot_gap_latest{slot="instructions"})");
    if (result.size() == 1 && result[0]["value"][1] == "1") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  INFO("last result: " << result.dump() << "\nprometheus log:\n" << prometheus.log());
  REQUIRE(result.size() == 1);
  CHECK(result[0]["metric"]["slot"] == "instructions");
  CHECK(result[0]["metric"]["job"] == "tpark");
  CHECK(result[0]["value"][1] == "1");

  // The ops guide's query for the worst slot gap over time.
  const Json worst = prometheus.query("max_over_time(arw_context_slot_gap_latest[15m])");
  REQUIRE(worst.size() == 1);
  CHECK(worst[0]["metric"]["slot"] == "instructions");
  CHECK(worst[0]["value"][1] == "1");
}
