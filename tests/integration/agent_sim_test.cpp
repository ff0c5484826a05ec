// The agent simulator (examples/agent-sim) against the real host: the same
// seed gives the same bytes, every line it writes is one the host accepts,
// --target delivers every event in order, and --follow-config shapes the
// events from GET /state/config (or says it cannot and uses the defaults).
#include <catch2/catch.hpp>

#include <sys/wait.h>

#include <cstdio>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "integration/agent_sim_runner.h"
#include "integration/test_host.h"

using namespace tpark::test;
using tpark::Json;

namespace {

const std::string kSimulator = TPARK_AGENT_SIM_BINARY;

std::string shell_quote(const std::string& word) {
  std::string out = "'";
  for (char c : word) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

struct RunResult {
  int exit_code = -1;
  std::string out;
};

// Runs the simulator with `args` and returns its stdout and exit code.
RunResult run_simulator(const std::vector<std::string>& args) {
  std::string command = shell_quote(kSimulator);
  for (const auto& arg : args) command += " " + shell_quote(arg);
  FILE* pipe = popen(command.c_str(), "r");
  REQUIRE(pipe != nullptr);
  RunResult result;
  char buffer[65536];
  for (size_t n; (n = fread(buffer, 1, sizeof buffer, pipe)) > 0;) result.out.append(buffer, n);
  const int status = pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

// Posts NDJSON lines in batches of 1000 (the simulator's own batch limit) and
// sums the host's answers.
void post_all(TestHost& host, const std::vector<std::string>& lines, uint64_t& accepted,
              uint64_t& rejected_total) {
  accepted = 0;
  rejected_total = 0;
  for (size_t at = 0; at < lines.size(); at += 1000) {
    std::string body;
    for (size_t i = at; i < std::min(lines.size(), at + 1000); ++i) body += lines[i] + "\n";
    HttpResult r = host.post("/events/ingest", body, {{"Content-Type", "application/x-ndjson"}});
    REQUIRE(r.status == 200);
    const Json answer = r.json();
    accepted += answer["accepted"].get<uint64_t>();
    rejected_total += answer["rejected_total"].get<uint64_t>();
    if (answer["rejected_total"].get<uint64_t>() > 0) {
      const uint64_t line = answer["rejected"][0]["line"].get<uint64_t>();
      FAIL("rejected " << answer["rejected"][0].dump() << ": " << lines[at + line - 1]);
    }
  }
}

// Every journal row after `after`, paged through GET /state/events.
std::vector<Json> journal_rows(TestHost& host, int64_t after = 0) {
  std::vector<Json> rows;
  while (true) {
    HttpResult r = host.get("/state/events?limit=1000&after=" + std::to_string(after));
    REQUIRE(r.status == 200);
    const Json page = r.json();
    for (const Json& item : page["items"]) rows.push_back(item);
    if (page["items"].size() < 1000) return rows;
    after = page["next_after"].get<int64_t>();
  }
}

std::string base_url(TestHost& host) {
  return "http://127.0.0.1:" + std::to_string(host.port());
}

}  // namespace

TEST_CASE("agent_sim_same_seed_gives_byte_identical_stdout", "[agent-sim]") {
  const RunResult first = run_simulator({"--stdout", "--count", "3000", "--seed", "7"});
  const RunResult second = run_simulator({"--stdout", "--count", "3000", "--seed", "7"});
  REQUIRE(first.exit_code == 0);
  REQUIRE(second.exit_code == 0);
  REQUIRE(lines_of(first.out).size() == 3000);
  CHECK(first.out == second.out);

  const RunResult other_seed = run_simulator({"--stdout", "--count", "3000", "--seed", "8"});
  REQUIRE(other_seed.exit_code == 0);
  REQUIRE(lines_of(other_seed.out).size() == 3000);
  CHECK(first.out != other_seed.out);
}

TEST_CASE("agent_sim_stream_has_every_kind_and_its_own_clock", "[agent-sim]") {
  const RunResult run = run_simulator({"--stdout", "--count", "5000", "--seed", "11"});
  REQUIRE(run.exit_code == 0);
  const auto lines = lines_of(run.out);
  REQUIRE(lines.size() == 5000);

  std::set<std::string> kinds, cache_outcomes;
  bool recall_has_summary_and_spec = false, completed_has_diagnostics = false;
  bool follow_up_iteration = false;
  for (const auto& line : lines) {
    const Json event = Json::parse(line);
    const std::string kind = event["kind"];
    kinds.insert(kind);
    CHECK(event["node"] == "agent-sim");
    const Json& payload = event["payload"];
    if (kind == "tool.cache") cache_outcomes.insert(payload["outcome"].get<std::string>());
    if (kind == "context.recall.risk" && payload["summary"].contains("slots") &&
        payload["spec"].contains("slot_budgets"))
      recall_has_summary_and_spec = true;
    if (kind == "working_set.completed" && payload["diagnostics"].contains("counts"))
      completed_has_diagnostics = true;
    if (kind == "working_set.iteration.summary" && payload["iteration"] == 1)
      follow_up_iteration = true;
  }
  CHECK(kinds == std::set<std::string>{"actions.completed", "actions.failed", "context.assembled",
                                       "context.coverage", "context.recall.risk", "feedback.signal",
                                       "feedback.suggested", "http.route.sample",
                                       "memory.item.expired", "memory.item.upserted",
                                       "modular.tool.accepted", "tool.cache",
                                       "working_set.completed", "working_set.iteration.summary"});
  CHECK(cache_outcomes ==
        std::set<std::string>{"coalesced", "error", "hit", "miss", "not_cacheable"});
  CHECK(recall_has_summary_and_spec);
  CHECK(completed_has_diagnostics);
  CHECK(follow_up_iteration);

  // The simulated clock starts at the fixed epoch and advances 20 ms per event
  // without --rate.
  CHECK(Json::parse(lines[0])["time"] == "2026-01-01T00:00:00.000Z");
  CHECK(Json::parse(lines[1])["time"] == "2026-01-01T00:00:00.020Z");
  CHECK(Json::parse(lines[4999])["time"] == "2026-01-01T00:01:39.980Z");
}

TEST_CASE("agent_sim_every_line_of_5000_is_accepted_by_the_host", "[agent-sim]") {
  TestHost host;
  const RunResult run = run_simulator({"--stdout", "--count", "5000", "--seed", "3"});
  REQUIRE(run.exit_code == 0);
  const auto lines = lines_of(run.out);
  REQUIRE(lines.size() == 5000);

  uint64_t accepted = 0, rejected_total = 0;
  post_all(host, lines, accepted, rejected_total);
  CHECK(accepted == 5000);
  CHECK(rejected_total == 0);

  HttpResult snapshot = host.snapshot();
  REQUIRE(snapshot.status == 200);
  CHECK(snapshot.json()["events"]["total"].get<uint64_t>() >= 5000);
}

TEST_CASE("agent_sim_target_mode_delivers_every_event_in_order", "[agent-sim]") {
  TestHost host;
  const std::vector<std::string> stream_args = {
      "--count", "1500", "--seed", "5", "--start-time", "2026-03-01T12:00:00.000Z"};
  std::vector<std::string> target_args = {"--rate", "0"};
  target_args.insert(target_args.end(), stream_args.begin(), stream_args.end());
  const SimulatorRun simulator = run_simulator_against(host, target_args, std::chrono::seconds(120));
  INFO(simulator.log);
  REQUIRE(simulator.exit_code == 0);
  CHECK(simulator.log.find("done: sent 1500, accepted 1500, rejected 0") != std::string::npos);

  // The journal holds exactly the events --stdout writes for the same seed
  // and clock, in the same order.
  std::vector<std::string> args = {"--stdout"};
  args.insert(args.end(), stream_args.begin(), stream_args.end());
  const RunResult expected = run_simulator(args);
  REQUIRE(expected.exit_code == 0);
  const auto expected_lines = lines_of(expected.out);
  REQUIRE(expected_lines.size() == 1500);

  std::vector<Json> delivered;
  for (Json& row : journal_rows(host))
    if (row["source"] == "ingest" && row.value("node", "") == "agent-sim") delivered.push_back(row);
  REQUIRE(delivered.size() == 1500);
  for (size_t i = 0; i < delivered.size(); ++i) {
    const Json sent = Json::parse(expected_lines[i]);
    INFO("event " << i);
    REQUIRE(delivered[i]["kind"] == sent["kind"]);
    REQUIRE(delivered[i]["time"] == sent["time"]);
    REQUIRE(delivered[i]["payload"] == sent["payload"]);
  }
}

TEST_CASE("agent_sim_follow_config_shapes_k_or_falls_back_to_defaults", "[agent-sim]") {
  // K pinned by the host's environment (control.md §3.2 layer 1).
  TestHostOptions options;
  options.env = {{"ARW_CONTEXT_K", "30"}};
  TestHost host(options);
  const bool config_route = host.get("/state/config").status == 200;

  const SimulatorRun simulator = run_simulator_against(
      host, {"--follow-config", base_url(host), "--count", "300", "--seed", "9"},
      std::chrono::seconds(60));
  INFO(simulator.log);
  REQUIRE(simulator.exit_code == 0);

  // First passes run with spec.limit = K: the live 30, or while the host has no
  // /state/config, the built-in 18 after a one-line notice.
  const int64_t expected_k = config_route ? 30 : 18;
  const std::string notice = config_route ? "following " : "/state/config is not available";
  CHECK(simulator.log.find(notice) != std::string::npos);
  size_t first_passes = 0;
  for (Json& row : journal_rows(host)) {
    if (row["kind"] != "working_set.iteration.summary" || row["payload"]["iteration"] != 0)
      continue;
    ++first_passes;
    CHECK(row["payload"]["spec"]["limit"] == expected_k);
    CHECK(row["payload"]["summary"]["target_limit"] == expected_k);
  }
  CHECK(first_passes > 10);
}

TEST_CASE("agent_sim_exits_1_naming_the_line_when_the_host_rejects_one", "[agent-sim]") {
  // Lines over 600 bytes are line_too_large for this host; the simulator's
  // context events are longer, so it must stop with status 1 and say which.
  TestHostOptions options;
  options.env = {{"ARW_EVENTS_INGEST_MAX_LINE_BYTES", "600"}};
  TestHost host(options);
  const SimulatorRun simulator =
      run_simulator_against(host, {"--count", "200"}, std::chrono::seconds(60));
  INFO(simulator.log);
  CHECK(simulator.exit_code == 1);
  CHECK(simulator.log.find("(line_too_large): {\"kind\":\"working_set.iteration.summary\"") !=
        std::string::npos);
}

TEST_CASE("agent_sim_rate_paces_the_output", "[agent-sim]") {
  // 50 events at 100 events/s: the last is due 0.49 s after the first.
  const auto started = std::chrono::steady_clock::now();
  const RunResult run = run_simulator({"--stdout", "--count", "50", "--rate", "100"});
  const auto elapsed = std::chrono::steady_clock::now() - started;
  REQUIRE(run.exit_code == 0);
  const auto lines = lines_of(run.out);
  REQUIRE(lines.size() == 50);
  CHECK(elapsed >= std::chrono::milliseconds(490));
  // The simulated clock follows the rate: 10 ms per event.
  CHECK(Json::parse(lines[49])["time"] == "2026-01-01T00:00:00.490Z");
}
