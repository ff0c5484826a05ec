// `tpark context telemetry` against the real host: the JSON equals the
// snapshot's context, the exit codes of a refused and an unreachable host,
// and --watch --json across a host restart.
#include <netinet/in.h>
#include <sys/socket.h>

#include <catch2/catch.hpp>
#include <csignal>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>

#include "integration/cli_runner.h"
#include "integration/test_host.h"

using namespace tpark::test;
using namespace std::chrono_literals;
using tpark::Json;

namespace {

const HeaderList kNdjson = {{"Content-Type", "application/x-ndjson"}};

std::string coverage_line(int selected, int target) {
  return "{\"kind\":\"context.coverage\",\"payload\":{\"summary\":{\"target_limit\":" +
         std::to_string(target) +
         ",\"lanes_requested\":2,\"selected\":" + std::to_string(selected) +
         ",\"lane_counts\":{\"semantic\":" + std::to_string(selected) + "}}}}\n";
}

void ingest(uint16_t port, const std::string& body) {
  HeaderList headers = kNdjson;
  headers.emplace_back("X-ARW-Admin", kToken);
  REQUIRE(request("POST", "127.0.0.1", port, "/events/ingest", headers, body).status == 200);
}

Json read_model(uint16_t port, const std::string& id) {
  HttpResult r =
      request("GET", "127.0.0.1", port, "/state/read_models/" + id, {{"X-ARW-Admin", kToken}});
  REQUIRE(r.status == 200);
  return r.json();
}

std::vector<Json> json_lines(const std::string& path) {
  std::vector<Json> lines;
  std::istringstream in(read_text_file(path));
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) lines.push_back(Json::parse(line));
  return lines;
}

// Waits until the file holds a line of `instance_id` at `version` or later.
bool wait_for_line(const std::string& path, const std::string& instance_id, uint64_t version) {
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (std::chrono::steady_clock::now() < deadline) {
    try {
      for (const Json& line : json_lines(path))
        if (line["instance_id"] == instance_id && line["version"].get<uint64_t>() >= version)
          return true;
    } catch (const Json::parse_error&) {
      // a line being written
    }
    std::this_thread::sleep_for(50ms);  // polling the file the CLI appends to
  }
  return false;
}

// A port with nothing listening: bound (so no one else takes it), never listened on.
struct ClosedPort {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  uint16_t port = 0;
  ClosedPort() {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
    socklen_t size = sizeof address;
    getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size);
    port = ntohs(address.sin_port);
  }
  ~ClosedPort() { close(fd); }
};

}  // namespace

TEST_CASE("cli_context_telemetry_json_equals_the_snapshot_context", "[integration][cli]") {
  TestHost host;
  std::string body;
  for (int i = 0; i < 6; ++i) body += coverage_line(i, 8);
  body += "{\"kind\":\"context.recall.risk\",\"payload\":{\"score\":0.6}}\n";
  ingest(host.port(), body);
  CliRun run =
      run_cli(cli_args(host.port(), {"context", "telemetry", "--json"}), cli_env_with_token());
  INFO(run.err);
  REQUIRE(run.exit_code == 0);
  const Json printed = Json::parse(run.out);
  HttpResult snapshot = host.snapshot();
  REQUIRE(snapshot.status == 200);
  CHECK(printed == snapshot.json()["context"]);
  CHECK(printed["coverage"]["samples"] == 6);

  CliRun human = run_cli(cli_args(host.port(), {"context", "telemetry"}), cli_env_with_token());
  REQUIRE(human.exit_code == 0);
  CHECK(human.out.find("coverage") != std::string::npos);
  CHECK(human.out.find("recall risk") != std::string::npos);
  CHECK(human.out.find("%") != std::string::npos);
  CHECK(human.out.find("\033[") == std::string::npos);  // not a terminal: no colour
}

TEST_CASE("cli_without_a_token_exits_3_naming_the_flag_and_the_env_var", "[integration][cli]") {
  TestHost host;
  CliRun run = run_cli(cli_args(host.port(), {"context", "telemetry", "--json"}));
  CHECK(run.exit_code == 3);
  CHECK(run.out.empty());
  CHECK(run.err.find("--admin-token") != std::string::npos);
  CHECK(run.err.find("ARW_ADMIN_TOKEN") != std::string::npos);
  // A wrong token is the same answer.
  CliRun wrong =
      run_cli(cli_args(host.port(), {"context", "telemetry"}), {{"ARW_ADMIN_TOKEN", "nope"}});
  CHECK(wrong.exit_code == 3);
}

TEST_CASE("cli_against_a_closed_port_exits_1_with_the_url", "[integration][cli]") {
  ClosedPort closed;
  const std::string url = "http://127.0.0.1:" + std::to_string(closed.port);
  CliRun run = run_cli({"--base", url, "context", "telemetry"}, cli_env_with_token());
  CHECK(run.exit_code == 1);
  CHECK(run.err.find(url + "/state/training/telemetry") != std::string::npos);
  CHECK(run.err.find("--base") != std::string::npos);
  // ARW_BASE is the fallback of --base.
  CliRun from_env = run_cli({"tools", "cache"}, {{"ARW_BASE", url}, {"ARW_ADMIN_TOKEN", kToken}});
  CHECK(from_env.exit_code == 1);
  CHECK(from_env.err.find(url) != std::string::npos);
}

TEST_CASE("cli_watch_json_writes_each_version_once_in_order_across_a_host_restart",
          "[integration][cli]") {
  TempDir dir;
  {
    std::ofstream config(dir.file("host.yaml"));
    config << "schema: tpark.host/v1\n";
  }
  auto start_host = [&](uint16_t port, int n) {
    HostProcess::Options o;
    o.args = {"--listen",    "127.0.0.1:" + std::to_string(port),
              "--state-dir", dir.file("state"),
              "--config",    dir.file("host.yaml")};
    o.env = {{"ARW_ADMIN_TOKEN", kToken},
             {"ARW_ADMIN_RATE_LIMIT", "0"},
             {"ARW_PERF_PRESET", "balanced"},
             {"ARW_TELEMETRY_SECTION_TIMEOUT_MS", "5000"},
             {"TPARK_BUILTIN_PLUGIN_DIR", TPARK_BUILTIN_PLUGIN_DIR}};
    o.log_path = dir.file("host-" + std::to_string(n) + ".log");
    return std::make_unique<HostProcess>(std::move(o));
  };
  auto host = start_host(0, 1);
  const uint16_t port = host->port();
  const std::string output = dir.file("context.ndjson");

  HostProcess::Options w;
  w.binary = TPARK_CLI_BINARY;
  w.args = cli_args(port, {"context", "telemetry", "--watch", "--json", "--output", output});
  w.env = cli_env_with_token();
  w.log_path = dir.file("watch.log");
  w.wait_for_listening = false;
  HostProcess watch(std::move(w));

  auto drive = [&](int rounds) {
    std::string instance;
    for (int i = 0; i < rounds; ++i) {
      ingest(port, coverage_line(i % 8, 8));
      const Json now = read_model(port, "context_metrics");
      instance = now["instance_id"];
      REQUIRE(wait_for_line(output, instance, now["version"].get<uint64_t>()));
    }
    return instance;
  };
  const std::string first_instance = drive(4);

  host->kill9();
  host.reset();
  host = start_host(port, 2);
  const std::string second_instance = drive(4);
  REQUIRE(second_instance != first_instance);
  const Json last = read_model(port, "context_metrics");
  REQUIRE(wait_for_line(output, second_instance, last["version"].get<uint64_t>()));
  watch.stop();
  INFO(watch.log());

  const std::vector<Json> lines = json_lines(output);
  std::set<std::pair<std::string, uint64_t>> seen;
  std::map<std::string, uint64_t> newest;
  bool second_started = false;
  for (const Json& line : lines) {
    REQUIRE(line.size() == 4);
    CHECK(line.contains("generated"));
    const std::string instance = line["instance_id"];
    const uint64_t version = line["version"];
    CHECK(seen.insert({instance, version}).second);  // never twice
    if (instance == second_instance)
      second_started = true;
    else
      CHECK_FALSE(second_started);  // the first boot's lines come first
    if (newest.count(instance)) CHECK(version == newest[instance] + 1);  // every version, in order
    newest[instance] = version;
  }
  CHECK(newest.count(first_instance) == 1);
  CHECK(newest[second_instance] == last["version"].get<uint64_t>());
  CHECK(lines.back()["context"] == last["value"]);
  CHECK(watch.log().find("reconnecting") != std::string::npos);
}
