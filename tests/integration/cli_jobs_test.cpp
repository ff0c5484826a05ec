// `tpark jobs` against the real host: --follow to the suggested unit (exit
// 0), a job cancelled meanwhile (exit 1), local validation before any
// request (exit 2), and the status codes' exit codes.
#include <catch2/catch.hpp>

#include "integration/cli_runner.h"
#include "integration/test_host.h"

using namespace tpark::test;
using namespace std::chrono_literals;
using tpark::Json;

namespace {

const char* kWorkedExample =
    "{\"kind\":\"working_set.iteration.summary\",\"payload\":{\"iteration\":0,\"summary\":{"
    "\"target_limit\":8,"
    "\"selected\":3,\"lanes_requested\":2,\"lane_counts\":{\"semantic\":3},\"slots\":{\"budgets\":{"
    "\"instructions\":2}},\"avg_cscore\":0.25,\"max_cscore\":0.3,\"min_score\":0.6}}}\n";

TestHostOptions with_env(EnvList env) {
  TestHostOptions options;
  options.env = std::move(env);
  return options;
}

// Waits for the newest job to reach `status`; returns its id.
std::string wait_for_job(TestHost& host, const std::string& status) {
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (std::chrono::steady_clock::now() < deadline) {
    HttpResult r = host.get("/state/orchestrator/jobs?limit=1");
    if (r.status == 200 && !r.json()["items"].empty() && r.json()["items"][0]["status"] == status)
      return r.json()["items"][0]["id"];
    std::this_thread::sleep_for(50ms);  // polling the host for the job's state
  }
  FAIL("no job reached " << status);
  return {};
}

}  // namespace

TEST_CASE("cli_jobs_start_follow_exits_0_with_the_logic_unit_id", "[integration][cli]") {
  TestHost host;
  REQUIRE(host.post("/events/ingest", kWorkedExample, {{"Content-Type", "application/x-ndjson"}})
              .status == 200);
  CliRun run = run_cli(
      cli_args(host.port(), {"jobs", "start", "fewer misses", "--diversity", "0.4", "--follow"}),
      cli_env_with_token());
  INFO(run.out << run.err);
  REQUIRE(run.exit_code == 0);
  HttpResult jobs = host.get("/state/orchestrator/jobs?limit=1");
  const std::string id = jobs.json()["items"][0]["id"];
  CHECK(jobs.json()["items"][0]["status"] == "completed");
  CHECK(run.out.find("suggested logic unit: lu-" + id) != std::string::npos);
  // Not a terminal: plain lines, one per stage, no bar.
  CHECK(run.out.find("collect") != std::string::npos);
  CHECK(run.out.find("suggest") != std::string::npos);
  CHECK(run.out.find('\r') == std::string::npos);
  CHECK(host.get("/logic-units/lu-" + id).status == 200);

  // The unit through the CLI, and the status codes' exit codes.
  CliRun show = run_cli(cli_args(host.port(), {"logic-units", "show", "lu-" + id, "--json"}),
                        cli_env_with_token());
  REQUIRE(show.exit_code == 0);
  CHECK(Json::parse(show.out)["id"] == "lu-" + id);
  CliRun no_lease =
      run_cli(cli_args(host.port(), {"logic-units", "apply", "lu-" + id}), cli_env_with_token());
  CHECK(no_lease.exit_code == 1);  // 403
  CHECK(no_lease.err.find("tpark leases grant logic:apply") != std::string::npos);
  CliRun terminal = run_cli(cli_args(host.port(), {"jobs", "cancel", id}), cli_env_with_token());
  CHECK(terminal.exit_code == 1);  // 409
  CHECK(terminal.err.find("409") != std::string::npos);
  CliRun missing = run_cli(cli_args(host.port(), {"jobs", "show", "nope"}), cli_env_with_token());
  CHECK(missing.exit_code == 1);  // 404
  CliRun unauthorized =
      run_cli(cli_args(host.port(), {"jobs", "list"}), {{"ARW_ADMIN_TOKEN", "wrong"}});
  CHECK(unauthorized.exit_code == 3);  // 401
  CliRun list = run_cli(cli_args(host.port(), {"jobs", "list"}), cli_env_with_token());
  CHECK(list.exit_code == 0);
  CHECK(list.out.find(id) != std::string::npos);
  CHECK(list.out.find("completed") != std::string::npos);
}

TEST_CASE("cli_jobs_follow_exits_1_when_the_job_is_cancelled_meanwhile", "[integration][cli]") {
  TestHost host(with_env({{"ARW_TRAINING_STAGE_DELAY_MS", "60000"}}));
  TempDir dir;
  HostProcess::Options o;
  o.binary = TPARK_CLI_BINARY;
  o.args = cli_args(host.port(), {"jobs", "start", "fewer misses", "--follow"});
  o.env = cli_env_with_token();
  o.log_path = dir.file("cli.log");
  o.wait_for_listening = false;
  HostProcess follow(std::move(o));
  const std::string id = wait_for_job(host, "running");
  REQUIRE(host.post("/orchestrator/jobs/" + id + "/cancel", R"({"reason":"enough"})").status ==
          200);
  const auto code = follow.wait_exit(30s);
  INFO(follow.log());
  CHECK(code == 1);
  CHECK(follow.log().find("cancelled") != std::string::npos);
}

TEST_CASE("cli_jobs_start_validates_knobs_locally_with_exit_2", "[integration][cli]") {
  // No host at all: a request would end in exit 1, so exit 2 proves none was sent.
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"jobs", "start", "g", "--diversity", "1.2"},
           {"jobs", "start", "g", "--recency", "-0.1"},
           {"jobs", "start", "g", "--compression", "abc"},
           {"jobs", "start"},
           {"jobs", "start", "   "},
           {"context", "telemetry", "--output", "x.log", "--output-rotate", "32K"},
           {"context", "telemetry", "--output-rotate", "64Q", "--output", "x.log"},
           {"frobnicate"}}) {
    CliRun run = run_cli(cli_args(1, args), cli_env_with_token());
    INFO(args[0] << " " << args.back() << ": " << run.err);
    CHECK(run.exit_code == 2);
  }
  CliRun run = run_cli(cli_args(1, {"jobs", "start", "g", "--diversity", "1.2"}));
  CHECK(run.err.find("--diversity") != std::string::npos);
}
