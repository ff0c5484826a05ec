// Training on tpark-workers through NATS JetStream (control.md 5.6 as
// docs/deploy.md states it), against a real nats-server -js, the real host
// and real worker processes: check 28 (a worker that dies after publishing
// its result but before acking; redelivery; one unit, one history row, one
// completed event; attempts >= 2), and two workers sharing 50 jobs, each
// completed once, with the manifests local dispatch computes.
#include <catch2/catch.hpp>

#include <chrono>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>

#include "integration/test_host.h"
#include "support/nats_server.h"

using namespace tpark::test;
using tpark::Json;

namespace {

const HeaderList kJson = {{"Content-Type", "application/json"}};
const HeaderList kNdjson = {{"Content-Type", "application/x-ndjson"}};

// telemetry.md 3.1's worked example and a second first pass: evidence for the
// counterfactual model.
const char* kWindow =
    R"({"kind":"working_set.iteration.summary","payload":{"iteration":0,"corr_id":"c1","summary":{"target_limit":8,"selected":3,"lanes_requested":2,"lane_counts":{"semantic":3},"slots":{"budgets":{"instructions":2}},"avg_cscore":0.25,"threshold_hits":0,"max_cscore":0.3,"min_score":0.6}}})"
    "\n"
    R"({"kind":"working_set.iteration.summary","payload":{"iteration":0,"corr_id":"c2","summary":{"target_limit":8,"selected":8,"lanes_requested":2,"lane_counts":{"semantic":4,"episodic":4},"avg_cscore":0.7,"max_cscore":0.9,"min_cscore":0.5}}})"
    "\n"
    R"({"kind":"context.coverage","payload":{"needs_more":true,"reasons":["below_target_limit"],"summary":{"target_limit":8,"selected":3}}})"
    "\n";

std::string worker_binary() {
  return std::string(TPARK_BINARY_DIR) + "/worker/tpark-worker";
}

// One tpark-worker process, started and waited for until it serves.
std::unique_ptr<HostProcess> start_worker(const TempDir& dir, const NatsServer& nats,
                                          const std::string& id, bool exit_before_ack = false) {
  HostProcess::Options o;
  o.binary = worker_binary();
  o.args = {"--worker-id", id};
  if (exit_before_ack) o.args.push_back("--exit-after-result-publish");
  o.env = {{"ARW_NATS_URL", nats.url()}, {"TPARK_BUILTIN_PLUGIN_DIR", TPARK_BUILTIN_PLUGIN_DIR}};
  o.log_path = dir.file(id + ".log");
  o.wait_for_listening = false;
  auto worker = std::make_unique<HostProcess>(std::move(o));
  REQUIRE(worker->wait_for_log("serving group", std::chrono::seconds(20)));
  return worker;
}

TestHostOptions nats_dispatch(const NatsServer& nats, EnvList more = {}) {
  TestHostOptions options;
  options.env = {{"ARW_TRAINING_DISPATCH", "nats"},
                 {"ARW_NATS_URL", nats.url()},
                 {"ARW_NODE_ID", "trainer"},
                 {"ARW_ORCH_LEASE_MS", "2000"}};
  for (auto& kv : more) options.env.push_back(std::move(kv));
  return options;
}

std::string start_job(TestHost& host, const std::string& goal) {
  HttpResult r = host.post("/orchestrator/mini_agents/start_training",
                           R"({"goal":")" + goal + R"(","mode":"quick"})", kJson);
  INFO(r.body);
  REQUIRE(r.status == 202);
  return r.json()["id"].get<std::string>();
}

Json job(TestHost& host, const std::string& id) {
  HttpResult r = host.get("/state/orchestrator/jobs/" + id);
  INFO(r.body);
  REQUIRE(r.status == 200);
  return r.json();
}

// Polls the job until `done` holds for it (or `limit` passes); the last view.
template <class Done>
Json wait_job(TestHost& host, const std::string& id, Done done,
              std::chrono::seconds limit = std::chrono::seconds(60)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  Json item = job(host, id);
  while (!done(item) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    item = job(host, id);
  }
  return item;
}

std::vector<Json> events(TestHost& host, const std::string& prefix) {
  std::vector<Json> out;
  int64_t after = 0;
  for (;;) {
    Json page =
        host.get("/state/events?limit=1000&prefix=" + prefix + "&after=" + std::to_string(after))
            .json();
    for (auto& item : page["items"]) out.push_back(item);
    if (page["items"].size() < 1000) return out;
    after = page["next_after"];
  }
}

// A unit's manifest without what names its own job (its id and job id, when
// it was created, the journal head then, and which earlier job's computation
// it reused): the rest is what the computation produced from the window.
std::string computed_part(Json manifest) {
  manifest.erase("id");
  for (const char* key : {"job_id", "created", "cached_from"}) manifest["provenance"].erase(key);
  manifest["provenance"]["window"].erase("until_id");
  return manifest.dump();
}

}  // namespace

TEST_CASE("worker_help_names_its_flags_and_environment", "[nats][training]") {
  TempDir dir;
  HostProcess::Options o;
  o.binary = worker_binary();
  o.args = {"--help"};
  o.log_path = dir.file("help.log");
  o.wait_for_listening = false;
  HostProcess worker(std::move(o));
  REQUIRE(worker.wait_exit(std::chrono::seconds(10)) == 0);
  CHECK(worker.log().find("--exit-after-result-publish") != std::string::npos);
  CHECK(worker.log().find("ARW_NATS_URL") != std::string::npos);
}

TEST_CASE("check_28_a_worker_dying_before_its_ack_yields_exactly_one_unit", "[nats][training]") {
  NatsServer nats({.jetstream = true});
  TestHost host(nats_dispatch(nats));
  REQUIRE(host.post("/events/ingest", kWindow, kNdjson).status == 200);
  const auto plugin = host.plugin_item("tp.orchestrator.nats");
  REQUIRE(plugin);
  REQUIRE((*plugin)["state"] == "loaded");

  auto first = start_worker(host.dir(), nats, "w-dies", /*exit_before_ack=*/true);
  const std::string id = start_job(host, "check 28");
  // The first worker publishes its result and exits before acking.
  REQUIRE(first->wait_exit(std::chrono::seconds(60)).has_value());
  auto second = start_worker(host.dir(), nats, "w-second");
  // After ARW_ORCH_LEASE_MS the message is delivered again, to the second.
  const Json done = wait_job(host, id, [](const Json& j) {
    return j["status_slug"] == "completed" && j["attempts"].get<int>() >= 2;
  });
  INFO(done.dump());
  CHECK(done["status_slug"] == "completed");
  CHECK(done["attempts"].get<int>() >= 2);
  CHECK(done["dispatch"] == "nats");
  CHECK(second->log().find("serving group") != std::string::npos);

  CHECK(host.get("/logic-units/lu-" + id).status == 200);
  int units = 0;
  const Json unit_list = host.get("/logic-units?limit=100").json();
  for (const auto& unit : unit_list["items"]) units += unit["job_id"] == id ? 1 : 0;
  CHECK(units == 1);
  int history = 0;
  const Json history_page = host.get("/state/training/actions?limit=100").json();
  for (const auto& row : history_page["items"])
    history += row["kind"] == "logic.unit.suggested" && row["payload"]["job_id"] == id ? 1 : 0;
  CHECK(history == 1);
  int completed = 0;
  for (const auto& event : events(host, "orchestrator.job.completed"))
    completed += event["payload"]["id"] == id ? 1 : 0;
  CHECK(completed == 1);
}

TEST_CASE("two_workers_share_50_jobs_each_completed_once_with_local_manifests",
          "[nats][training]") {
  NatsServer nats({.jetstream = true});
  TestHost host(nats_dispatch(nats, {{"ARW_TRAINING_CONCURRENCY", "16"}}));
  REQUIRE(host.post("/events/ingest", kWindow, kNdjson).status == 200);
  auto a = start_worker(host.dir(), nats, "w-a");
  auto b = start_worker(host.dir(), nats, "w-b");

  std::vector<std::string> ids;
  for (int i = 0; i < 50; ++i) ids.push_back(start_job(host, "fleet"));
  std::set<std::string> workers;
  std::set<std::string> manifests;
  for (const auto& id : ids) {
    const Json done = wait_job(host, id, [](const Json& j) {
      return j["status_slug"] == "completed" || j["status_slug"] == "failed";
    });
    INFO(done.dump());
    REQUIRE(done["status_slug"] == "completed");
    REQUIRE(done.contains("worker"));
    workers.insert(done["worker"].get<std::string>());
    manifests.insert(computed_part(host.get("/logic-units/lu-" + id).json()["manifest"]));
  }
  CHECK(workers == std::set<std::string>{"w-a", "w-b"});
  CHECK(host.get("/logic-units?limit=100").json()["total"] == 50);
  std::map<std::string, int> completed;
  for (const auto& event : events(host, "orchestrator.job.completed"))
    ++completed[event["payload"]["id"].get<std::string>()];
  CHECK(completed.size() == 50);
  for (const auto& [id, count] : completed) CHECK(count == 1);
  REQUIRE(manifests.size() == 1);

  // The same journal, local dispatch: the same computation.
  a->stop();
  b->stop();
  host.process().stop();
  host.set_env("ARW_TRAINING_DISPATCH", "local");
  host.start();
  const std::string local = start_job(host, "fleet");
  const Json done = wait_job(host, local, [](const Json& j) {
    return j["status_slug"] == "completed" || j["status_slug"] == "failed";
  });
  REQUIRE(done["status_slug"] == "completed");
  CHECK(done["dispatch"] == "local");
  CHECK(computed_part(host.get("/logic-units/lu-" + local).json()["manifest"]) ==
        *manifests.begin());
}
