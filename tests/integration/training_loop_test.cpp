// The training loop end to end against the real host (issue 13): a job's
// suggestion is applied, the agent simulator in --follow-config mode then
// produces events with the applied values, and after a revert (across a
// kill -9 and restart) its events carry the earlier values again.
#include <catch2/catch.hpp>

#include <chrono>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "integration/agent_sim_runner.h"
#include "integration/test_host.h"

using namespace tpark::test;
using tpark::Json;

namespace {

const HeaderList kJson = {{"Content-Type", "application/json"}};

// telemetry.md 3.1's worked example: the lane rule wins (lambda and lane bonus up).
const char* kWorkedExample =
    R"({"kind":"working_set.iteration.summary","payload":{"iteration":0,"summary":{"target_limit":8,"selected":3,"lanes_requested":2,"lane_counts":{"semantic":3},"slots":{"budgets":{"instructions":2}},"avg_cscore":0.25,"threshold_hits":0,"max_cscore":0.3,"min_score":0.6}}})"
    "\n";

Json completed_job(TestHost& host, const std::string& id) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  Json item = host.get("/state/orchestrator/jobs/" + id).json();
  while (item["status_slug"] != "completed" && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    item = host.get("/state/orchestrator/jobs/" + id).json();
  }
  return item;
}

// The id of the newest iteration summary journaled so far (0: none).
int64_t newest_summary_id(TestHost& host) {
  int64_t after = 0;
  for (;;) {
    const Json page =
        host.get("/state/events?limit=1000&prefix=working_set.iteration.summary&after=" +
                 std::to_string(after))
            .json();
    if (page["items"].empty()) return after;
    after = page["next_after"];
  }
}

// The spec of every first pass the simulator journaled after `after`.
std::vector<Json> simulated_first_pass_specs(TestHost& host, int64_t after) {
  std::vector<Json> specs;
  for (;;) {
    const Json page =
        host.get("/state/events?limit=1000&prefix=working_set.iteration.summary&after=" +
                 std::to_string(after))
            .json();
    for (const auto& row : page["items"])
      if (row.value("node", "") == "agent-sim" && row["payload"]["iteration"] == 0)
        specs.push_back(row["payload"]["spec"]);
    if (page["items"].empty()) return specs;
    after = page["next_after"];
  }
}

std::vector<Json> follow_and_collect(TestHost& host, const std::string& seed) {
  const int64_t after = newest_summary_id(host);
  const SimulatorRun run =
      run_simulator_against(host,
                            {"--follow-config", "http://127.0.0.1:" + std::to_string(host.port()),
                             "--count", "200", "--seed", seed},
                            std::chrono::seconds(60));
  INFO(run.log);
  REQUIRE(run.exit_code == 0);
  CHECK(run.log.find("following ") != std::string::npos);
  return simulated_first_pass_specs(host, after);
}

void lease(TestHost& host) {
  REQUIRE(host.post("/leases", R"({"capability":"logic:apply","ttl_secs":600})", kJson).status ==
          201);
}

}  // namespace

TEST_CASE("the_simulator_follows_an_applied_suggestion_and_its_revert_after_a_restart",
          "[integration][training][agent-sim][crash]") {
  TestHost host;
  REQUIRE(host.post("/events/ingest", kWorkedExample).status == 200);
  const std::string id =
      host.post("/orchestrator/mini_agents/start_training", R"({"goal":"fewer misses"})", kJson)
          .json()["id"];
  REQUIRE(completed_job(host, id)["status_slug"] == "completed");
  const Json unit = host.get("/logic-units/lu-" + id).json();
  Json env_patch;
  for (const auto& patch : unit["manifest"]["patches"])
    if (patch["target"] == "env") env_patch = patch["value"];
  INFO(unit.dump());
  REQUIRE(env_patch.is_object());
  // The balanced preset's values, and the suggestion's (the lane rule: lambda
  // +0.04, lane bonus +0.02).
  const Json& base = unit["manifest"]["provenance"]["base"];
  const double lambda_before = base["ARW_CONTEXT_DIVERSITY_LAMBDA"].get<double>();
  const double bonus_before = base["ARW_CONTEXT_LANE_BONUS"].get<double>();
  const double lambda = env_patch["ARW_CONTEXT_DIVERSITY_LAMBDA"].get<double>();
  const double lane_bonus = env_patch["ARW_CONTEXT_LANE_BONUS"].get<double>();
  CHECK(lambda == Approx(lambda_before + 0.04));
  CHECK(lane_bonus == Approx(bonus_before + 0.02));

  // Before: the live values.
  const std::vector<Json> before = follow_and_collect(host, "3");
  CHECK(before.size() > 10);
  for (const auto& spec : before) {
    CHECK(spec["diversity_lambda"] == Approx(lambda_before));
    CHECK(spec["lane_bonus"] == Approx(bonus_before));
  }

  lease(host);
  const Json applied =
      host.post("/logic-units/apply", Json{{"id", "lu-" + id}}.dump(), kJson).json();
  INFO(applied.dump());
  REQUIRE(applied["changed"] == true);
  CHECK(host.get("/state/config").json()["env"]["ARW_CONTEXT_DIVERSITY_LAMBDA"]["value"] ==
        Approx(lambda));

  // After the apply: every first pass the simulator makes uses the new values.
  const std::vector<Json> after_apply = follow_and_collect(host, "4");
  CHECK(after_apply.size() > 10);
  for (const auto& spec : after_apply) {
    CHECK(spec["diversity_lambda"] == Approx(lambda));
    CHECK(spec["lane_bonus"] == Approx(lane_bonus));
  }

  // kill -9, restart, revert to the snapshot before the apply.
  host.process().kill9();
  host.start();
  lease(host);
  const HttpResult reverted =
      host.post("/logic-units/revert", Json{{"snapshot_id", applied["snapshot_id"]}}.dump(), kJson);
  INFO(reverted.body);
  REQUIRE(reverted.status == 200);
  CHECK(host.get("/logic-units/lu-" + id).json()["status"] == "reverted");

  const std::vector<Json> after_revert = follow_and_collect(host, "5");
  CHECK(after_revert.size() > 10);
  for (const auto& spec : after_revert) {
    CHECK(spec["diversity_lambda"] == Approx(lambda_before));
    CHECK(spec["lane_bonus"] == Approx(bonus_before));
  }
}
