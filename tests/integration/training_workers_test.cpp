// Training on tpark-workers through NATS JetStream (control.md 5.6 as
// docs/deploy.md states it), against a real nats-server -js, the real host
// and real worker processes: check 28 (a worker that dies after publishing
// its result but before acking; redelivery; one unit, one history row, one
// completed event; attempts >= 2), two workers sharing 50 jobs, each
// completed once, with the manifests local dispatch computes; 100 jobs behind
// a large journal; the max-deliveries advisory; cancel and SIGTERM on a
// worker; progress that never moves a job back; a host killed before its
// submit was acknowledged; workers that read the host's journal themselves
// (ARW_TRAINING_NATS_WINDOW=fetch); progress coalesced; --nice 19 as
// SCHED_IDLE.
#include <catch2/catch.hpp>

#include <sched.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <thread>

#include "integration/test_host.h"
#include "support/nats_publisher.h"
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

// One tpark-worker process, started and waited for until it serves; `args`
// and `env` are added to its own.
std::unique_ptr<HostProcess> start_worker(const TempDir& dir, const NatsServer& nats,
                                          const std::string& id, bool exit_before_ack = false,
                                          std::vector<std::string> args = {}, EnvList env = {}) {
  HostProcess::Options o;
  o.binary = worker_binary();
  o.args = {"--worker-id", id};
  if (exit_before_ack) o.args.push_back("--exit-after-result-publish");
  o.args.insert(o.args.end(), args.begin(), args.end());
  o.env = {{"ARW_NATS_URL", nats.url()}, {"TPARK_BUILTIN_PLUGIN_DIR", TPARK_BUILTIN_PLUGIN_DIR}};
  o.env.insert(o.env.end(), env.begin(), env.end());
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
  for (auto& kv : more) {
    auto same = std::find_if(options.env.begin(), options.env.end(),
                             [&](const auto& set) { return set.first == kv.first; });
    if (same != options.env.end())
      same->second = std::move(kv.second);
    else
      options.env.push_back(std::move(kv));
  }
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
  CHECK(worker.log().find("--nice N") != std::string::npos);
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

namespace {

// Polls until `done` holds (or `limit` passes); the last answer.
template <class Done>
bool eventually(Done done, std::chrono::seconds limit = std::chrono::seconds(60)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  return done();
}

bool is_terminal(const Json& j) {
  return j["status_slug"] == "completed" || j["status_slug"] == "failed" ||
         j["status_slug"] == "cancelled";
}

// With no worker about: the window ingested and a job started on `host`,
// which dispatches over NATS and so holds it running, waiting for the
// progress and results the test publishes as workers would; its id.
std::string a_running_job(TestHost& host, const std::string& goal) {
  REQUIRE(host.post("/events/ingest", kWindow, kNdjson).status == 200);
  const std::string id = start_job(host, goal);
  REQUIRE(wait_job(host, id, [](const Json& j) {
            return j["status_slug"] == "running";
          })["status_slug"] == "running");
  return id;
}

// Events of `kind` about job `id`.
std::vector<Json> job_events(TestHost& host, const std::string& kind, const std::string& id) {
  std::vector<Json> out;
  for (auto& event : events(host, kind))
    if (event["payload"]["id"] == id) out.push_back(event);
  return out;
}

// An NDJSON body of `count` coverage events.
std::string coverage_lines(int count) {
  std::string body;
  for (int i = 0; i < count; ++i)
    body +=
        R"({"kind":"context.coverage","payload":{"needs_more":false,"reasons":[],"summary":{"target_limit":8,"selected":)" +
        std::to_string(i % 9) + R"(},"corr_id":"flood-)" + std::to_string(i) + "\"}}\n";
  return body;
}

}  // namespace

TEST_CASE("a_hundred_jobs_behind_a_large_journal_all_complete", "[nats][training]") {
  // Each submit used to read and parse the whole window, so with 300,000
  // rows every job took about a second on the host alone and 200 jobs of the
  // fleet benchmark seemed to hang. A submit now reads newest first and stops
  // when the message is full.
  NatsServer nats({.jetstream = true});
  TestHost host(nats_dispatch(
      nats, {{"ARW_TRAINING_CONCURRENCY", "16"}, {"ARW_TRAINING_NATS_MAX_BYTES", "65536"}}));
  const std::string flood = coverage_lines(2000);
  for (int i = 0; i < 150; ++i) REQUIRE(host.post("/events/ingest", flood, kNdjson).status == 200);
  REQUIRE(host.post("/events/ingest", kWindow, kNdjson).status == 200);
  auto a = start_worker(host.dir(), nats, "w-a");
  auto b = start_worker(host.dir(), nats, "w-b");

  const auto start = std::chrono::steady_clock::now();
  std::vector<std::string> ids;
  for (int i = 0; i < 100; ++i) ids.push_back(start_job(host, "behind a large journal"));
  REQUIRE(eventually(
      [&] {
        return host.get("/state/orchestrator/jobs?status=completed&limit=1").json()["total"] == 100;
      },
      std::chrono::seconds(90)));
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  INFO("100 jobs in " << seconds << " s");
  CHECK(host.get("/logic-units?limit=1").json()["total"] == 100);
}

TEST_CASE("the_max_deliveries_advisory_fails_the_job_with_its_reason", "[nats][training]") {
  // Two workers die in turn while the job is in hand (kill -9, so neither
  // acks nor naks); with ARW_ORCH_MAX_DELIVER=2 the server gives up after the
  // second lease, publishes the advisory, and the host fails the job.
  NatsServer nats({.jetstream = true});
  TestHost host(nats_dispatch(nats, {{"ARW_ORCH_MAX_DELIVER", "2"},
                                     {"ARW_ORCH_LEASE_MS", "1000"},
                                     {"ARW_TRAINING_STAGE_DELAY_MS", "1500"}}));
  REQUIRE(host.post("/events/ingest", kWindow, kNdjson).status == 200);
  auto first = start_worker(host.dir(), nats, "w-first");
  const std::string id = start_job(host, "dead letter");
  Json item = wait_job(host, id, [](const Json& j) { return !j["stage_index"].is_null(); });
  REQUIRE(!item["stage_index"].is_null());
  first->kill9();
  auto second = start_worker(host.dir(), nats, "w-second");
  item = wait_job(host, id, [](const Json& j) { return j["attempts"].get<int>() >= 2; });
  REQUIRE(item["attempts"] == 2);
  second->kill9();
  auto idle = start_worker(host.dir(), nats, "w-idle");  // pulls; gets nothing more

  item = wait_job(host, id, is_terminal, std::chrono::seconds(30));
  INFO(item.dump());
  CHECK(item["status_slug"] == "failed");
  CHECK(item["error"] == "max deliveries (2) exceeded");
  const auto failed = job_events(host, "orchestrator.job.failed", id);
  REQUIRE(failed.size() == 1);
  CHECK(failed[0]["payload"]["error"] == "max deliveries (2) exceeded");
  CHECK(host.get("/logic-units/lu-" + id).status == 404);
  CHECK(job_events(host, "orchestrator.job.completed", id).empty());
}

TEST_CASE("a_cancel_over_nats_stops_the_job_on_its_worker_and_stores_no_unit", "[nats][training]") {
  NatsServer nats({.jetstream = true});
  TestHost host(nats_dispatch(nats, {{"ARW_TRAINING_STAGE_DELAY_MS", "1000"}}));
  REQUIRE(host.post("/events/ingest", kWindow, kNdjson).status == 200);
  auto worker = start_worker(host.dir(), nats, "w-only");
  const std::string id = start_job(host, "cancel me");
  Json item = wait_job(host, id, [](const Json& j) { return !j["stage_index"].is_null(); });
  REQUIRE(!item["stage_index"].is_null());  // the worker has it in hand

  HttpResult r = host.post("/orchestrator/jobs/" + id + "/cancel", R"({"reason":"enough"})");
  INFO(r.body);
  REQUIRE(r.status == 200);
  CHECK(worker->wait_for_log("job " + id + " cancelled by the host", std::chrono::seconds(10)));

  // The worker serves one message at a time: the next job completing on it
  // means it let go of the cancelled one (which would have published a
  // result, dropped by the host and counted, had it run on).
  const std::string next = start_job(host, "after the cancel");
  item = wait_job(host, next, is_terminal);
  REQUIRE(item["status_slug"] == "completed");
  CHECK(item["worker"] == "w-only");
  item = job(host, id);
  CHECK(item["status_slug"] == "cancelled");
  CHECK(item["cancel_reason"] == "enough");
  CHECK(host.get("/logic-units/lu-" + id).status == 404);
  CHECK(job_events(host, "orchestrator.job.completed", id).empty());
  CHECK(host.get("/metrics").body.find("arw_training_results_dropped_total{") == std::string::npos);
}

TEST_CASE("sigterm_lets_the_worker_finish_the_job_in_hand_and_exit_0", "[nats][training]") {
  NatsServer nats({.jetstream = true});
  TestHost host(nats_dispatch(nats, {{"ARW_TRAINING_STAGE_DELAY_MS", "700"}}));
  REQUIRE(host.post("/events/ingest", kWindow, kNdjson).status == 200);
  auto leaving = start_worker(host.dir(), nats, "w-leaving");
  const std::string id = start_job(host, "finish first");
  Json item = wait_job(host, id, [](const Json& j) { return !j["stage_index"].is_null(); });
  REQUIRE(!item["stage_index"].is_null());
  auto staying = start_worker(host.dir(), nats, "w-staying");

  // SIGTERM mid-job: the job is finished (or naked for another worker), the
  // message acked, and the process exits 0.
  CHECK(leaving->stop(std::chrono::seconds(30)) == std::optional<int>(0));
  CHECK(leaving->log().find("worker w-leaving stopped") != std::string::npos);
  item = wait_job(host, id, is_terminal);
  INFO(item.dump());
  REQUIRE(item["status_slug"] == "completed");
  CHECK(job_events(host, "orchestrator.job.completed", id).size() == 1);
  CHECK(host.get("/logic-units?limit=100").json()["total"] == 1);
  // An idle worker stops at once, with 0 too.
  CHECK(staying->stop(std::chrono::seconds(15)) == std::optional<int>(0));
}

TEST_CASE("progress_out_of_order_or_redelivered_never_moves_a_job_back", "[nats][training]") {
  // No worker: the test publishes the progress workers would, in the order
  // redeliveries produce (a second run starts again at the first stages).
  NatsServer nats({.jetstream = true});
  TestHost host(nats_dispatch(nats));
  const std::string id = a_running_job(host, "monotonic");

  Publisher worker(nats.url());
  const char* stages[] = {"collect", "analyse", "generate", "evaluate", "suggest"};
  auto progress = [&](int stage, int attempt) {
    const Json body = {{"job_id", id},
                       {"stage", stages[stage - 1]},
                       {"stage_index", stage},
                       {"progress", (stage - 1) / 5.0},
                       {"worker", "w-test"},
                       {"attempt", attempt},
                       {"time", "2026-01-01T00:00:00.000Z"}};
    REQUIRE(worker.publish_acked(
        "arw.training.jobs.progress." + id, body.dump(),
        "progress-" + id + "-" + std::to_string(stage) + "-" + std::to_string(attempt)));
  };
  // Each message waits for the one before it to be handled (the host records
  // a message's attempt even when it does not apply its stage), so none is
  // folded into a later one of the same fetched batch.
  progress(3, 1);
  REQUIRE(wait_job(host, id, [](const Json& j) { return j["stage_index"] == 3; })["stage_index"] ==
          3);
  progress(2, 2);  // a second delivery starts over, behind the first
  Json item = wait_job(host, id, [](const Json& j) { return j["attempts"] == 2; });
  REQUIRE(item["attempts"] == 2);
  CHECK(item["stage_index"] == 3);
  progress(1, 3);  // and a third
  item = wait_job(host, id, [](const Json& j) { return j["attempts"] == 3; });
  REQUIRE(item["attempts"] == 3);
  CHECK(item["stage_index"] == 3);
  progress(4, 3);
  item = wait_job(host, id, [](const Json& j) { return j["stage_index"] == 4; });
  INFO(item.dump());
  REQUIRE(item["stage_index"] == 4);
  std::vector<int> applied;
  for (const auto& event : job_events(host, "orchestrator.job.progress", id))
    applied.push_back(event["payload"]["stage_index"].get<int>());
  CHECK(applied == std::vector<int>{3, 4});
}

TEST_CASE("a_result_records_its_delivery_with_the_completion_and_a_later_one_only_that",
          "[nats][training]") {
  // No worker: the test publishes the results a worker would, the second as
  // a later delivery of the same job (a worker that died before its ack).
  NatsServer nats({.jetstream = true});
  TestHost host(nats_dispatch(nats));
  const std::string id = a_running_job(host, "attempts");
  Publisher worker(nats.url());
  auto result = [&](int attempt, const std::string& candidate) {
    const Json body = {
        {"job_id", id},
        {"ok", true},
        {"worker", "w-test"},
        {"attempt", attempt},
        {"manifest", {{"id", "lu-" + id}, {"version", 1}, {"patches", Json::array()}}},
        {"result", {{"candidate_id", candidate}, {"changes", {{"ARW_CONTEXT_K", 24}}}}}};
    REQUIRE(worker.publish_acked("arw.training.jobs.result." + id, body.dump(),
                                 "result-" + id + "-" + std::to_string(attempt)));
  };
  result(2, "first");
  Json item = wait_job(host, id, is_terminal);
  INFO(item.dump());
  REQUIRE(item["status_slug"] == "completed");
  CHECK(item["attempts"] == 2);  // written with the completion
  CHECK(item["worker"] == "w-test");
  CHECK(item["result"]["candidate_id"] == "first");
  CHECK(item["logic_unit_id"] == "lu-" + id);
  auto suggested_for_job = [&] {
    std::vector<Json> out;
    for (auto& event : events(host, "logic.unit.suggested"))
      if (event["payload"]["job_id"] == id) out.push_back(event);
    return out;
  };
  const auto suggested = suggested_for_job();
  REQUIRE(suggested.size() == 1);
  CHECK(suggested[0]["payload"]["id"] == "lu-" + id);
  CHECK(suggested[0]["payload"]["changes"] == Json{{"ARW_CONTEXT_K", 24}});
  CHECK(suggested[0]["payload"]["hints"] == item["hints"]);

  result(3, "second");  // a later delivery: its attempt counts, nothing else changes
  item = wait_job(host, id, [](const Json& j) { return j["attempts"] == 3; });
  REQUIRE(item["attempts"] == 3);
  CHECK(item["result"]["candidate_id"] == "first");
  CHECK(job_events(host, "orchestrator.job.completed", id).size() == 1);
  CHECK(suggested_for_job().size() == 1);
  CHECK(host.get("/logic-units?limit=100").json()["total"] == 1);
}

TEST_CASE("a_host_killed_before_its_submit_was_acknowledged_still_completes_the_job_once",
          "[nats][training]") {
  // With the server down, the submit cannot get its PubAck: the job exists in
  // the host's SQLite, its message only in memory. kill -9 loses the memory;
  // the restarted host dispatches the job again from SQLite.
  NatsServer nats({.jetstream = true});
  TestHost host(nats_dispatch(nats));
  REQUIRE(host.post("/events/ingest", kWindow, kNdjson).status == 200);
  nats.stop();
  const std::string id = start_job(host, "outbox");
  CHECK(host.process().wait_for_log("submit of job " + id + " not acknowledged",
                                    std::chrono::seconds(20)));
  host.process().kill9();
  nats.start();
  host.start();
  auto worker = start_worker(host.dir(), nats, "w-after");
  const Json item = wait_job(host, id, is_terminal);
  INFO(item.dump());
  REQUIRE(item["status_slug"] == "completed");
  CHECK(item["worker"] == "w-after");
  CHECK(job_events(host, "orchestrator.job.completed", id).size() == 1);
  CHECK(host.get("/logic-units?limit=100").json()["total"] == 1);
}

namespace {

// A worker's --base: the test host's own address.
std::vector<std::string> reads_host(const TestHost& host) {
  return {"--base", "http://127.0.0.1:" + std::to_string(host.port())};
}

// The scheduling policy of every thread of process `pid` (field 41 of
// /proc/<pid>/task/<tid>/stat), keyed by thread id.
std::map<std::string, int> thread_policies(pid_t pid) {
  std::map<std::string, int> out;
  const std::string tasks = "/proc/" + std::to_string(pid) + "/task";
  for (const auto& task : std::filesystem::directory_iterator(tasks)) {
    std::ifstream in(task.path() / "stat");
    const std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::istringstream fields(stat.substr(stat.rfind(')') + 2));
    std::string field;
    for (int i = 3; i <= 41 && fields >> field; ++i)
      if (i == 41) out[task.path().filename().string()] = std::stoi(field);
  }
  return out;
}

}  // namespace

TEST_CASE("workers_reading_the_hosts_journal_compute_the_local_manifests", "[nats][training]") {
  // ARW_TRAINING_NATS_WINDOW=fetch: the submit carries the window's bounds
  // only, and each worker reads what the computation asks for from the
  // host's GET /state/events, as tp.orchestrator.local reads it in the host.
  NatsServer nats({.jetstream = true});
  TestHost host(nats_dispatch(
      nats, {{"ARW_TRAINING_CONCURRENCY", "16"}, {"ARW_TRAINING_NATS_WINDOW", "fetch"}}));
  // Coverage events around the summaries: the pairing reads the whole window.
  REQUIRE(host.post("/events/ingest", coverage_lines(3000), kNdjson).status == 200);
  REQUIRE(host.post("/events/ingest", kWindow, kNdjson).status == 200);
  REQUIRE(host.post("/events/ingest", coverage_lines(500), kNdjson).status == 200);

  // A worker that cannot read the host naks such a job (it is not the job's
  // fault) and leaves it to one that can.
  auto blind =
      start_worker(host.dir(), nats, "w-blind", false, {}, {{"ARW_ORCH_NACK_DELAY_MS", "100"}});
  const std::string first = start_job(host, "fetch");
  REQUIRE(
      blind->wait_for_log("job " + first + " carries no window rows", std::chrono::seconds(20)));
  CHECK(blind->stop() == std::optional<int>(0));

  const EnvList token = {{"ARW_ADMIN_TOKEN", kToken}};  // the host asks for it
  auto a = start_worker(host.dir(), nats, "w-a", false, reads_host(host), token);
  auto b = start_worker(host.dir(), nats, "w-b", false, reads_host(host), token);
  std::vector<std::string> ids = {first};
  for (int i = 0; i < 29; ++i) ids.push_back(start_job(host, "fetch"));
  std::set<std::string> workers;
  std::set<std::string> manifests;
  for (const auto& id : ids) {
    const Json done = wait_job(host, id, is_terminal);
    INFO(done.dump());
    REQUIRE(done["status_slug"] == "completed");
    workers.insert(done["worker"].get<std::string>());
    manifests.insert(computed_part(host.get("/logic-units/lu-" + id).json()["manifest"]));
  }
  CHECK(workers == std::set<std::string>{"w-a", "w-b"});
  REQUIRE(manifests.size() == 1);

  // The same journal, local dispatch: the same computation.
  a->stop();
  b->stop();
  host.process().stop();
  host.set_env("ARW_TRAINING_DISPATCH", "local");
  host.start();
  const std::string local = start_job(host, "fetch");
  const Json done = wait_job(host, local, is_terminal);
  REQUIRE(done["status_slug"] == "completed");
  CHECK(computed_part(host.get("/logic-units/lu-" + local).json()["manifest"]) ==
        *manifests.begin());
}

TEST_CASE("a_worker_reads_each_range_of_the_hosts_journal_once", "[nats][training]") {
  // Journal rows never change: a worker keeps those it read, so a job whose
  // window overlaps the last one's asks the host only for the ids after it
  // (one read for both kinds it reads), not for its whole window.
  NatsServer nats({.jetstream = true});
  TestHost host(nats_dispatch(
      nats, {{"ARW_TRAINING_CONCURRENCY", "1"}, {"ARW_TRAINING_NATS_WINDOW", "fetch"}}));
  REQUIRE(host.post("/events/ingest", coverage_lines(3000), kNdjson).status == 200);
  REQUIRE(host.post("/events/ingest", kWindow, kNdjson).status == 200);
  REQUIRE(host.post("/events/ingest", coverage_lines(500), kNdjson).status == 200);
  auto worker =
      start_worker(host.dir(), nats, "w-a", false, reads_host(host), {{"ARW_ADMIN_TOKEN", kToken}});
  constexpr int kJobs = 20;
  std::vector<std::string> ids;
  for (int i = 0; i < kJobs; ++i) ids.push_back(start_job(host, "reads"));
  std::set<std::string> manifests;
  for (const auto& id : ids) {
    const Json done = wait_job(host, id, is_terminal);
    INFO(done.dump());
    REQUIRE(done["status_slug"] == "completed");
    manifests.insert(computed_part(host.get("/logic-units/lu-" + id).json()["manifest"]));
  }
  CHECK(manifests.size() == 1);
  const Json stats = host.get("/state/route_stats").json();
  const int64_t reads = stats["routes"]["by_path"]["/state/events"]["hits"].get<int64_t>();
  INFO("GET /state/events: " << reads << " for " << kJobs << " jobs");
  CHECK(reads <= kJobs + 10);
}

TEST_CASE("a_worker_coalesces_progress_unless_asked_for_every_stage", "[nats][training]") {
  // Stages 150 ms apart: with ARW_ORCH_PROGRESS_MIN_MS=250 a stage is
  // published only 250 ms after the last one, so about every other one.
  NatsServer nats({.jetstream = true});
  TestHost host(nats_dispatch(nats, {{"ARW_TRAINING_STAGE_DELAY_MS", "150"}}));
  REQUIRE(host.post("/events/ingest", kWindow, kNdjson).status == 200);
  auto stages_of = [&](const std::string& id) {
    std::vector<int64_t> stages;
    for (const auto& event : job_events(host, "orchestrator.job.progress", id))
      stages.push_back(event["payload"]["stage_index"].get<int64_t>());
    return stages;
  };
  auto coalescing = start_worker(host.dir(), nats, "w-coalescing", false, {},
                                 {{"ARW_ORCH_PROGRESS_MIN_MS", "250"}});
  const std::string fewer = start_job(host, "coalesced");
  REQUIRE(wait_job(host, fewer, is_terminal)["status_slug"] == "completed");
  const std::vector<int64_t> coalesced = stages_of(fewer);
  coalescing->stop();

  // The default: every stage, as control.md's worker loop (the last may
  // reach the host with the result, which supersedes it).
  auto every_stage = start_worker(host.dir(), nats, "w-every-stage");
  const std::string all = start_job(host, "every stage");
  REQUIRE(wait_job(host, all, is_terminal)["status_slug"] == "completed");
  const std::vector<int64_t> every = stages_of(all);

  INFO("coalesced " << coalesced.size() << ", every stage " << every.size());
  REQUIRE(every.size() >= 4);
  CHECK(std::vector<int64_t>(every.begin(), every.begin() + 4) == std::vector<int64_t>{1, 2, 3, 4});
  CHECK(!coalesced.empty());
  CHECK(coalesced.size() <= 3);
  CHECK(std::is_sorted(coalesced.begin(), coalesced.end()));
}

TEST_CASE("nice_19_puts_every_worker_thread_in_sched_idle", "[nats][training]") {
  NatsServer nats({.jetstream = true});
  TestHost host(nats_dispatch(nats));
  auto idle = start_worker(host.dir(), nats, "w-idle", false, {"--nice", "19"});
  CHECK(idle->log().find("CPU priority lowered: nice 19, SCHED_IDLE") != std::string::npos);
  const auto idle_threads = thread_policies(idle->pid());
  REQUIRE(idle_threads.size() > 1);  // libnats' threads too
  for (const auto& [tid, policy] : idle_threads) {
    INFO("thread " << tid);
    CHECK(policy == SCHED_IDLE);
  }
  auto nice = start_worker(host.dir(), nats, "w-nice", false, {"--nice", "5"});
  for (const auto& [tid, policy] : thread_policies(nice->pid())) {
    INFO("thread " << tid);
    CHECK(policy == SCHED_OTHER);
  }
  // Idle, it still computes when the CPU is free.
  const std::string id = start_job(host, "idle");
  CHECK(wait_job(host, id, is_terminal)["status_slug"] == "completed");
}
