// Training jobs against the real host (control.md 5, checks 22-27): the
// start request's validation and knob precedence, the lifecycle and its
// events, the evidence-less and worked-example jobs, cancellation, the
// no-progress timeout and restart recovery.
#include <catch2/catch.hpp>

#include <chrono>
#include <map>
#include <set>
#include <thread>

#include "integration/test_host.h"

using namespace tpark::test;
using tpark::Json;

namespace {

const HeaderList kJson = {{"Content-Type", "application/json"}};

TestHostOptions with_env(EnvList env) {
  TestHostOptions options;
  options.env = std::move(env);
  return options;
}

HttpResult start(TestHost& host, const std::string& body) {
  return host.post("/orchestrator/mini_agents/start_training", body, kJson);
}

std::string start_job(TestHost& host, const std::string& body) {
  HttpResult r = start(host, body);
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

// Polls until the job's status_slug is one of `slugs` (or 30 s pass).
Json wait_status(TestHost& host, const std::string& id, std::set<std::string> slugs) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  Json item = job(host, id);
  while (!slugs.count(item["status_slug"].get<std::string>()) &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
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
    if (page["items"].empty()) return out;
    after = page["next_after"];
  }
}

std::vector<std::string> error_fields(const HttpResult& r) {
  std::vector<std::string> fields;
  const Json body = r.json();
  for (const auto& e : body["errors"]) fields.push_back(e["field"].get<std::string>());
  return fields;
}

// telemetry.md 3.1's worked example as a first-pass iteration summary.
const char* kWorkedExample =
    R"({"kind":"working_set.iteration.summary","payload":{"iteration":0,"summary":{"target_limit":8,"selected":3,"lanes_requested":2,"lane_counts":{"semantic":3},"slots":{"budgets":{"instructions":2}},"avg_cscore":0.25,"threshold_hits":0,"max_cscore":0.3,"min_score":0.6}}})"
    "\n";

}  // namespace

TEST_CASE("start_training_rejects_bad_knobs_naming_every_path", "[integration][training]") {
  TestHost host;
  HttpResult r = start(host, R"({"goal":"g","diversity":1.2})");
  CHECK(r.status == 400);
  CHECK(r.header("content-type") == "application/problem+json");
  CHECK_THAT(error_fields(r), Catch::VectorContains(std::string("diversity")));

  r = start(host, R"({"goal":"g","data":{"training":{"recency":"x"}}})");
  CHECK(r.status == 400);
  CHECK_THAT(error_fields(r), Catch::VectorContains(std::string("data.training.recency")));

  r = start(host, R"({"goal":"  "})");
  CHECK(r.status == 400);
  CHECK_THAT(error_fields(r), Catch::VectorContains(std::string("goal")));

  // Losing locations are validated too, and every error comes in one 400.
  r = start(
      host,
      R"({"goal":"g","episodes":0,"data":{"preset":"warp","compression":"0.5x","training":5}})");
  CHECK(r.status == 400);
  const auto fields = error_fields(r);
  CHECK_THAT(fields, Catch::VectorContains(std::string("episodes")));
  CHECK_THAT(fields, Catch::VectorContains(std::string("data.preset")));
  CHECK_THAT(fields, Catch::VectorContains(std::string("data.compression")));
  CHECK_THAT(fields, Catch::VectorContains(std::string("data.training")));

  // Nothing was stored for any of them.
  CHECK(host.get("/state/orchestrator/jobs").json()["total"] == 0);
}

TEST_CASE("start_training_resolves_knobs_top_level_first", "[integration][training]") {
  TestHost host(with_env({{"ARW_TRAINING_STAGE_DELAY_MS", "60000"}}));
  const std::string hints_before = host.get("/admin/governor/hints").body;
  HttpResult r = start(
      host,
      R"({"goal":"g","diversity":0.2,"mode":"quick","persona_id":"p1","id":"x","data":{"diversity":0.5,"preset":"performance","training":{"diversity":0.9}}})");
  INFO(r.body);
  REQUIRE(r.status == 202);
  const Json reply = r.json();
  CHECK(reply["status"] == "queued");
  CHECK(reply["job_id"] == reply["id"]);
  CHECK(reply["ignored"] == Json::array({"id"}));
  const Json item = job(host, reply["id"]);
  CHECK(item["hints"]["diversity"] == 0.2);
  CHECK(item["hints"]["mode"] == "quick");
  CHECK(item["hints"]["mode_source"] == "request");
  CHECK(item["hints"]["preset"] == "performance");
  CHECK(item["persona_id"] == "p1");
  CHECK(item["data"]["training"] == item["hints"]);
  CHECK(item["category"] == "agent_training");
  CHECK(item["kind"] == "agent.training");
  // Starting a job changes no live state.
  CHECK(host.get("/admin/governor/hints").body == hints_before);

  // Without mode, the preset decides; without either, balanced.
  CHECK(job(host, start_job(host, R"({"goal":"g","data":{"preset":"eco"}})"))["hints"]["mode"] ==
        "quick");
  const Json plain = job(host, start_job(host, R"({"goal":"g"})"));
  CHECK(plain["hints"]["mode"] == "balanced");
  CHECK(plain["hints"]["mode_source"] == "default");
}

TEST_CASE("a_job_on_an_empty_journal_completes_with_evidence_none", "[integration][training]") {
  TestHost host;
  const std::string id = start_job(host, R"({"goal":"tune retrieval","diversity":0.4})");
  const Json item = wait_status(host, id, {"completed", "failed"});
  INFO(item.dump());
  REQUIRE(item["status_slug"] == "completed");
  CHECK(item["progress"] == 1.0);
  CHECK(item["result"]["logic_unit_id"] == "lu-" + id);
  CHECK(item["result"]["logic_unit_id"] == item["data"]["result"]["logic_unit_id"]);

  HttpResult unit = host.get("/logic-units/lu-" + id);
  REQUIRE(unit.status == 200);
  const Json manifest = unit.json()["manifest"];
  CHECK(unit.json()["status"] == "suggested");
  CHECK(unit.json()["job_id"] == id);
  CHECK(manifest["provenance"]["evidence"] == "none");
  CHECK(manifest["provenance"]["window"]["samples"] == 0);
  CHECK(manifest["provenance"]["note"] ==
        "no context telemetry in window; suggestion derived from request knobs only");
  CHECK(manifest["provenance"]["candidate_id"] == "div");
  CHECK(manifest["patches"].back()["value"]["retrieval_div"] == 0.4);

  // Progress 0, 0.2 ... 0.8 through the five stages, then the unit, then completion.
  std::vector<Json> progress;
  for (const auto& e : events(host, "orchestrator.job.progress"))
    if (e["payload"]["id"] == id) progress.push_back(e["payload"]);
  REQUIRE(progress.size() == 5);
  const char* stages[] = {"collect", "analyse", "generate", "evaluate", "suggest"};
  for (size_t i = 0; i < 5; ++i) {
    CHECK(progress[i]["stage"] == stages[i]);
    CHECK(progress[i]["stage_index"] == i + 1);
    CHECK(progress[i]["progress"].get<double>() == Approx(0.2 * static_cast<double>(i)));
  }
  int64_t suggested_id = 0, completed_id = 0;
  for (const auto& e : events(host, "logic.unit.suggested"))
    if (e["payload"]["job_id"] == id) suggested_id = e["id"];
  for (const auto& e : events(host, "orchestrator.job.completed"))
    if (e["payload"]["id"] == id) completed_id = e["id"];
  CHECK(suggested_id > 0);
  CHECK(completed_id > suggested_id);

  // The unit lists, by status too.
  CHECK(host.get("/state/logic_units").json()["total"] == 1);
  CHECK(host.get("/logic-units?status=suggested").json()["items"][0]["id"] == "lu-" + id);
  CHECK(host.get("/logic-units?limit=0").status == 400);
  CHECK(host.get("/logic-units/lu-missing").status == 404);
}

TEST_CASE("a_job_over_the_worked_example_reports_baseline_0_75_deterministically",
          "[integration][training]") {
  TestHost host;
  REQUIRE(host.post("/events/ingest", kWorkedExample).status == 200);
  const std::string first = start_job(host, R"({"goal":"g"})");
  REQUIRE(wait_status(host, first, {"completed", "failed"})["status_slug"] == "completed");
  const std::string second = start_job(host, R"({"goal":"g"})");
  REQUIRE(wait_status(host, second, {"completed", "failed"})["status_slug"] == "completed");
  const Json a = host.get("/logic-units/lu-" + first).json()["manifest"];
  const Json b = host.get("/logic-units/lu-" + second).json()["manifest"];
  CHECK(a["provenance"]["baseline"]["mean_recall_risk"] == 0.75);
  CHECK(a["provenance"]["evidence"] == "journal");
  CHECK(a["provenance"]["window"]["samples"] == 1);
  CHECK(a["patches"] == b["patches"]);
  CHECK(a["provenance"]["candidates"] == b["provenance"]["candidates"]);
  // The second job reused the first one's computation.
  CHECK(b["provenance"]["cached_from"] == first);
  CHECK_FALSE(a["provenance"].contains("cached_from"));
  const std::string metrics = host.get_public("/metrics").body;
  CHECK_THAT(metrics, Catch::Contains("arw_training_cache_hits_total 1"));
}

TEST_CASE("cancelling_a_running_job_stores_no_unit", "[integration][training]") {
  TestHost host(with_env({{"ARW_TRAINING_STAGE_DELAY_MS", "2000"}}));
  const std::string id = start_job(host, R"({"goal":"g"})");
  wait_status(host, id, {"running"});
  HttpResult r = host.post("/orchestrator/jobs/" + id + "/cancel", R"({"reason":"enough"})", kJson);
  INFO(r.body);
  REQUIRE(r.status == 200);
  CHECK(r.json()["status"] == "cancelled");
  CHECK(r.json()["status_slug"] == "cancelled");
  CHECK(r.json()["status_label"] == "Cancelled");
  // Well past the point where the five delayed stages would have finished.
  std::this_thread::sleep_for(std::chrono::seconds(12));
  const Json item = job(host, id);
  CHECK(item["status"] == "cancelled");
  CHECK(item["cancel_reason"] == "enough");
  CHECK(host.get("/logic-units/lu-" + id).status == 404);
  bool journaled = false;
  for (const auto& e : events(host, "orchestrator.job.cancelled"))
    journaled = journaled || (e["payload"]["id"] == id && e["payload"]["reason"] == "enough");
  CHECK(journaled);
  HttpResult again = host.post("/orchestrator/jobs/" + id + "/cancel", "{}", kJson);
  CHECK(again.status == 409);
  CHECK(again.json()["state"] == "cancelled");
  CHECK(host.post("/orchestrator/jobs/nope/cancel", "{}", kJson).status == 404);
}

TEST_CASE("a_job_without_progress_fails_after_the_timeout", "[integration][training]") {
  TestHost host(
      with_env({{"ARW_TRAINING_JOB_TIMEOUT_SECS", "1"}, {"ARW_TRAINING_STAGE_DELAY_MS", "3000"}}));
  const std::string id = start_job(host, R"({"goal":"g"})");
  const Json item = wait_status(host, id, {"completed", "failed", "cancelled"});
  CHECK(item["status_slug"] == "failed");
  CHECK_FALSE(item["error"].get<std::string>().empty());
  CHECK(item["data"]["error"] == item["error"]);
  bool journaled = false;
  for (const auto& e : events(host, "orchestrator.job.failed"))
    journaled = journaled || (e["payload"]["id"] == id && e["payload"]["ok"] == false);
  CHECK(journaled);
  CHECK(host.get("/logic-units/lu-" + id).status == 404);
}

TEST_CASE("a_running_job_is_requeued_after_kill_9_with_one_more_attempt",
          "[integration][training][crash]") {
  TestHost host(with_env({{"ARW_TRAINING_STAGE_DELAY_MS", "1000"}}));
  const std::string id = start_job(host, R"({"goal":"g"})");
  REQUIRE(wait_status(host, id, {"running"})["attempts"] == 1);
  host.process().kill9();
  host.set_env("ARW_TRAINING_STAGE_DELAY_MS", "0");
  host.start();
  const Json item = wait_status(host, id, {"completed", "failed"});
  CHECK(item["status_slug"] == "completed");
  CHECK(item["attempts"] == 2);
  CHECK(host.get("/logic-units/lu-" + id).json()["status"] == "suggested");
}

TEST_CASE("job_lists_page_filter_and_validate", "[integration][training]") {
  TestHost host;
  const std::string id = start_job(host, R"({"goal":"g"})");
  wait_status(host, id, {"completed"});
  Json page = host.get("/state/orchestrator/jobs?status=completed&limit=5").json();
  CHECK(page["total"] == 1);
  CHECK(page["limit"] == 5);
  CHECK(page["offset"] == 0);
  CHECK(page["items"][0]["id"] == id);
  CHECK(host.get("/state/orchestrator/jobs?status=queued").json()["total"] == 0);
  HttpResult bad = host.get("/state/orchestrator/jobs?limit=1001&status=done");
  CHECK(bad.status == 400);
  CHECK_THAT(error_fields(bad), Catch::VectorContains(std::string("limit")));
  CHECK_THAT(error_fields(bad), Catch::VectorContains(std::string("status")));
  CHECK(host.get("/state/orchestrator/jobs/nope").status == 404);

  const Json catalog = host.get("/orchestrator/mini_agents").json();
  CHECK(catalog["version"] == 1);
  CHECK(catalog["items"].size() == 4);
}

TEST_CASE("kill_9_while_20_jobs_run_leaves_every_job_legal_and_no_unit_orphaned",
          "[integration][training][crash]") {
  TestHost host(
      with_env({{"ARW_TRAINING_CONCURRENCY", "4"}, {"ARW_TRAINING_STAGE_DELAY_MS", "100"}}));
  REQUIRE(host.post("/events/ingest", kWorkedExample).status == 200);
  std::vector<std::string> ids;
  for (int i = 0; i < 20; ++i)
    ids.push_back(start_job(host, R"({"goal":"g)" + std::to_string(i) + R"("})"));
  // Let some complete and some run, then crash.
  wait_status(host, ids[3], {"completed"});
  host.process().kill9();
  host.set_env("ARW_TRAINING_STAGE_DELAY_MS", "0");
  host.start();
  for (const auto& id : ids) {
    const Json item = wait_status(host, id, {"completed", "failed", "cancelled"});
    INFO(item.dump());
    CHECK(item["status_slug"] == "completed");
    CHECK(host.get("/logic-units/lu-" + id).json()["job_id"] == id);
  }
  // Exactly one unit per completed job, and one completion event each.
  CHECK(host.get("/state/logic_units").json()["total"] == 20);
  std::map<std::string, int> completions;
  for (const auto& e : events(host, "orchestrator.job.completed"))
    ++completions[e["payload"]["id"]];
  CHECK(completions.size() == 20);
  for (const auto& [id, count] : completions) CHECK(count == 1);
  // And no history row is missing: one logic.unit.suggested row per job.
  std::map<std::string, int> suggested_rows;
  const Json rows = host.get("/state/training/actions?kind=suggested&limit=100").json();
  CHECK(rows["total"] == 20);
  for (const auto& row : rows["items"]) ++suggested_rows[row["payload"]["job_id"]];
  for (const auto& id : ids) CHECK(suggested_rows[id] == 1);
}

TEST_CASE("training_history_pages_exports_and_keeps_the_newest_rows", "[integration][training]") {
  TestHost host(with_env({{"ARW_TRAINING_HISTORY_MAX", "100"}, {"ARW_TRAINING_CONCURRENCY", "4"}}));
  std::vector<std::string> ids;
  for (int i = 0; i < 120; ++i) ids.push_back(start_job(host, R"({"goal":"g"})"));
  for (const auto& id : ids)
    REQUIRE(wait_status(host, id, {"completed"})["status_slug"] == "completed");

  Json page = host.get("/state/training/actions?limit=10").json();
  CHECK(page["total"] == 100);
  CHECK(page["items"].size() == 10);
  CHECK(page["next_offset"] == 10);
  CHECK(page["latest_seq"] == 120);
  CHECK(page["items"][0]["seq"] == 120);
  CHECK(page["items"][0]["kind"] == "logic.unit.suggested");
  CHECK(page["items"][0]["payload"]["via"] == "training");
  // The oldest 20 seq values are gone.
  Json oldest = host.get("/state/training/actions?limit=1&offset=99").json();
  CHECK(oldest["items"][0]["seq"] == 21);
  CHECK(oldest["next_offset"].is_null());
  CHECK(host.get("/state/training/actions?since=110&kind=suggested").json()["total"] == 10);
  CHECK(host.get("/state/training/actions?kind=dry_run,logic.unit.applied").json()["total"] == 0);

  HttpResult bad = host.get("/state/training/actions?limit=1001&kind=x&format=xml");
  CHECK(bad.status == 400);
  CHECK_THAT(error_fields(bad), Catch::VectorContains(std::string("limit")));
  CHECK_THAT(error_fields(bad), Catch::VectorContains(std::string("kind")));
  CHECK_THAT(error_fields(bad), Catch::VectorContains(std::string("format")));

  HttpResult csv = host.get("/state/training/actions?format=csv&download=1");
  REQUIRE(csv.status == 200);
  CHECK(csv.header("content-type") == "text/csv; charset=utf-8");
  CHECK_THAT(
      *csv.header("content-disposition"),
      Catch::StartsWith("attachment; filename=\"training_actions_") && Catch::EndsWith(".csv\""));
  CHECK_THAT(csv.body, Catch::StartsWith("seq,time,kind,id,job_id,action_id,snapshot_id,via,"
                                         "changed,payload\r\n120,"));
  size_t rows = 0;
  for (size_t at = csv.body.find("\r\n"); at != std::string::npos;
       at = csv.body.find("\r\n", at + 2))
    ++rows;
  CHECK(rows == 101);  // the header and every kept row

  HttpResult ndjson = host.get("/state/training/actions?format=ndjson&limit=5");
  CHECK(ndjson.header("content-type") == "application/x-ndjson");
  CHECK(std::count(ndjson.body.begin(), ndjson.body.end(), '\n') == 5);
}

TEST_CASE("a_cancel_racing_completion_leaves_exactly_one_outcome", "[integration][training]") {
  TestHost host(with_env({{"ARW_TRAINING_CONCURRENCY", "4"}}));
  REQUIRE(host.post("/events/ingest", kWorkedExample).status == 200);
  std::map<std::string, int> cancel_status;
  for (int i = 0; i < 20; ++i) {
    const std::string id = start_job(host, R"({"goal":"g"})");
    // Cancel at once: some are still queued, some running, some done.
    cancel_status[id] = host.post("/orchestrator/jobs/" + id + "/cancel", "{}", kJson).status;
  }
  for (const auto& [id, status] : cancel_status) {
    const Json item = wait_status(host, id, {"completed", "cancelled", "failed"});
    const int unit = host.get("/logic-units/lu-" + id).status;
    INFO(id << " cancel answered " << status);
    if (status == 200) {
      CHECK(item["status_slug"] == "cancelled");
      CHECK(unit == 404);
    } else {
      CHECK(status == 409);
      CHECK(item["status_slug"] == "completed");
      CHECK(unit == 200);
    }
  }
}

TEST_CASE("the_result_cache_survives_a_restart_and_counts_the_hit_after_it",
          "[integration][training][crash]") {
  TestHost host;
  REQUIRE(host.post("/events/ingest", kWorkedExample).status == 200);
  const std::string first = start_job(host, R"({"goal":"g","diversity":0.3})");
  REQUIRE(wait_status(host, first, {"completed", "failed"})["status_slug"] == "completed");
  const Json a = host.get("/logic-units/lu-" + first).json()["manifest"];

  host.process().kill9();
  host.start();
  // A fresh process: no hit counted yet (the counter has no sample before its first).
  CHECK_THAT(host.get_public("/metrics").body,
             !Catch::Contains("\narw_training_cache_hits_total "));
  // Another journal row of another kind: the window grows, the samples do not.
  REQUIRE(host.post("/events/ingest", R"({"kind":"tool.result","payload":{"ok":true}})").status ==
          200);
  const std::string second = start_job(host, R"({"goal":"g","diversity":0.3})");
  REQUIRE(wait_status(host, second, {"completed", "failed"})["status_slug"] == "completed");
  const Json b = host.get("/logic-units/lu-" + second).json()["manifest"];
  CHECK(b["provenance"]["cached_from"] == first);
  CHECK(a["patches"] == b["patches"]);
  CHECK(a["provenance"]["candidates"] == b["provenance"]["candidates"]);
  CHECK(a["provenance"]["baseline"] == b["provenance"]["baseline"]);
  CHECK(a["provenance"]["predicted"] == b["provenance"]["predicted"]);
  CHECK_THAT(host.get_public("/metrics").body, Catch::Contains("arw_training_cache_hits_total 1"));

  // Other knobs are another computation: no hit.
  const std::string third = start_job(host, R"({"goal":"g","diversity":0.9})");
  REQUIRE(wait_status(host, third, {"completed", "failed"})["status_slug"] == "completed");
  CHECK_FALSE(host.get("/logic-units/lu-" + third)
                  .json()["manifest"]["provenance"]
                  .contains("cached_from"));
  CHECK_THAT(host.get_public("/metrics").body, Catch::Contains("arw_training_cache_hits_total 1"));
}
