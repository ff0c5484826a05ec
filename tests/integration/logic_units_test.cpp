// Logic units against the real host (control.md 6, checks 29-34): install,
// dry run, lease-gated apply through the action pipeline, jsonpatch, revert
// after a crash, and the safety scan under warn and enforce.
#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
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

const char* kUnit =
    R"({"id":"k-hints","name":"Hints","version":"1.0.0","category":"retrieval",
        "patches":[{"target":"governor.hints","op":"merge","value":{"retrieval_k":12}}],"extra":1})";

void lease(TestHost& host) {
  HttpResult r = host.post("/leases", R"({"capability":"logic:apply","ttl_secs":600})", kJson);
  REQUIRE(r.status == 201);
}

std::vector<Json> history(TestHost& host, const std::string& kind) {
  return host.get("/state/training/actions?kind=" + kind).json()["items"].get<std::vector<Json>>();
}

}  // namespace

TEST_CASE("install_validates_every_field_and_replaces_by_id", "[integration][logic_units]") {
  TestHost host;
  HttpResult bad = host.post(
      "/logic-units/install",
      R"({"id":"Bad Id","name":"","version":"1.0","category":"x","patches":[{"op":"nope"}]})",
      kJson);
  CHECK(bad.status == 400);
  std::set<std::string> fields;
  const Json body = bad.json();
  for (const auto& e : body["errors"]) fields.insert(e["field"].get<std::string>());
  CHECK(fields == std::set<std::string>{"id", "name", "version", "category", "patches.0.target",
                                        "patches.0.op", "patches.0.value"});
  CHECK(host.get("/state/logic_units").json()["total"] == 0);

  HttpResult created = host.post("/logic-units/install", kUnit, kJson);
  REQUIRE(created.status == 201);
  CHECK(created.json()["created"] == true);
  CHECK(created.json()["warnings"] == Json::array({"extra"}));
  HttpResult same = host.post("/logic-units/install", kUnit, kJson);
  CHECK(same.status == 200);
  CHECK(same.json()["changed"] == false);
  CHECK(host.get("/logic-units/k-hints").json()["status"] == "installed");
  CHECK(history(host, "installed").size() == 1);
}

TEST_CASE("apply_needs_a_lease_dry_run_does_not_and_changes_nothing",
          "[integration][logic_units]") {
  TestHost host;
  REQUIRE(host.post("/logic-units/install", kUnit, kJson).status == 201);
  HttpResult denied = host.post("/logic-units/apply", R"({"id":"k-hints"})", kJson);
  CHECK(denied.status == 403);
  CHECK(denied.json()["require_capability"] == "logic:apply");

  const std::string hints_before = host.get("/admin/governor/hints").body;
  HttpResult dry =
      host.post("/logic-units/apply", R"({"id":"k-hints","dry_run":true,"via":"cli"})", kJson);
  INFO(dry.body);
  REQUIRE(dry.status == 200);
  CHECK(dry.json()["dry_run"] == true);
  CHECK(dry.json()["changed"] == true);
  CHECK(dry.json()["config"]["governor"]["hints"]["retrieval_k"] == 12);
  CHECK(host.get("/admin/governor/hints").body == hints_before);
  const auto rows = history(host, "dry_run");
  REQUIRE(rows.size() == 1);
  CHECK(rows[0]["payload"]["via"] == "cli");
  CHECK(host.get("/logic-units/k-hints").json()["status"] == "installed");
}

TEST_CASE("an_applied_hints_patch_reaches_the_live_governor_and_reverts_after_kill_9",
          "[integration][logic_units][crash]") {
  TestHost host;
  REQUIRE(host.post("/logic-units/install", kUnit, kJson).status == 201);
  lease(host);
  const Json before = host.get("/admin/governor/hints").json();
  HttpResult applied = host.post("/logic-units/apply", R"({"id":"k-hints"})", kJson);
  INFO(applied.body);
  REQUIRE(applied.status == 200);
  const Json out = applied.json();
  CHECK(out["changed"] == true);
  CHECK(out["snapshot_id"].is_string());
  CHECK(out["applied_snapshot_id"].is_string());
  CHECK(host.get("/admin/governor/hints").json()["retrieval_k"] == 12);
  CHECK(host.get("/state/config").json()["governor"]["hints"]["retrieval_k"] == 12);
  CHECK(host.snapshot().json()["governor"]["hints"]["retrieval_k"] == 12);
  CHECK(host.get("/logic-units/k-hints").json()["status"] == "applied");
  CHECK(history(host, "applied").size() == 1);
  // The next job's base carries the applied hints.
  const std::string job =
      host.post("/orchestrator/mini_agents/start_training", R"({"goal":"g"})", kJson).json()["id"];
  CHECK(host.get("/state/orchestrator/jobs/" + job)
            .json()["data"]["payload"]["base"]["hints"]["retrieval_k"] == 12);

  host.process().kill9();
  host.start();
  lease(host);
  HttpResult reverted =
      host.post("/logic-units/revert", Json{{"snapshot_id", out["snapshot_id"]}}.dump(), kJson);
  INFO(reverted.body);
  REQUIRE(reverted.status == 200);
  CHECK(reverted.json()["reverted_to"] == out["snapshot_id"]);
  CHECK(host.get("/admin/governor/hints").json() == before);
  CHECK(host.get("/logic-units/k-hints").json()["status"] == "reverted");
  CHECK(history(host, "reverted").size() == 1);
  CHECK(host.post("/logic-units/revert", R"({"snapshot_id":"snap-999"})", kJson).status == 404);
}

TEST_CASE("jsonpatch_reports_its_ops_and_a_failing_test_conflicts", "[integration][logic_units]") {
  TestHost host;
  lease(host);
  HttpResult r = host.post(
      "/logic-units/apply",
      R"({"patches":[{"target":"governor.hints","op":"jsonpatch","value":[{"op":"add","path":"/retrieval_k","value":12}]}]})",
      kJson);
  INFO(r.body);
  REQUIRE(r.status == 200);
  r = host.post(
      "/logic-units/apply",
      R"({"patches":[{"target":"governor.hints","op":"jsonpatch","value":[{"op":"replace","path":"/retrieval_k","value":14}]}]})",
      kJson);
  INFO(r.body);
  REQUIRE(r.status == 200);
  CHECK(r.json()["json_patch"][0]["path"] == "/governor/hints/retrieval_k");
  const std::string hints = host.get("/admin/governor/hints").body;
  HttpResult failed = host.post(
      "/logic-units/apply",
      R"({"patches":[{"target":"governor.hints","op":"jsonpatch","value":[{"op":"test","path":"/retrieval_k","value":99}]}]})",
      kJson);
  CHECK(failed.status == 409);
  HttpResult bad = host.post(
      "/logic-units/apply",
      R"({"patches":[{"target":"governor.hints","op":"jsonpatch","value":[{"op":"frob","path":"/x"}]}]})",
      kJson);
  CHECK(bad.status == 400);
  CHECK(bad.json()["errors"][0]["field"] == "patches.0.value.0");
  HttpResult range =
      host.post("/logic-units/apply",
                R"({"patches":[{"target":"env.ARW_CONTEXT_K","op":"set","value":999}]})", kJson);
  CHECK(range.status == 400);
  CHECK(range.json()["errors"][0]["field"] == "env.ARW_CONTEXT_K");
  CHECK(host.get("/admin/governor/hints").body == hints);
}

TEST_CASE("the_safety_scan_stages_under_warn_and_refuses_under_enforce",
          "[integration][logic_units]") {
  const char* ssrf =
      R"({"patches":[{"target":"recipes","op":"merge","value":{"url":"http://169.254.169.254/"}}]})";
  {
    TestHost host;
    lease(host);
    HttpResult dry = host.post(
        "/logic-units/apply",
        R"({"dry_run":true,"patches":[{"target":"recipes","op":"merge","value":{"url":"http://169.254.169.254/"}}]})",
        kJson);
    REQUIRE(dry.status == 200);
    CHECK(dry.json()["safety_issues"][0]["code"] == "ssrf_pattern");
    HttpResult staged = host.post("/logic-units/apply", ssrf, kJson);
    INFO(staged.body);
    CHECK(staged.status == 202);
    CHECK(staged.json()["staged"] == true);
    HttpResult permissions = host.post(
        "/logic-units/apply",
        R"({"patches":[{"target":"policy.permissions","op":"set","value":{"net":"allow"}}]})",
        kJson);
    CHECK(permissions.status == 202);
    bool reason = false;
    const Json evidence = permissions.json()["evidence"];
    for (const auto& r : evidence["risk"]["reasons"])
      reason = reason || r["code"] == "permissions_change";
    CHECK(reason);
  }
  TestHost host(with_env({{"ARW_PATCH_SAFETY", "1"}}));  // an alias of enforce
  lease(host);
  HttpResult refused = host.post("/logic-units/apply", ssrf, kJson);
  CHECK(refused.status == 400);
  CHECK(refused.json()["code"] == "patch_safety_failed");
  CHECK(host.get("/state/config").json()["document"].empty());
}

TEST_CASE("promote_turns_the_current_snapshot_into_an_installed_unit",
          "[integration][logic_units]") {
  TestHost host;
  REQUIRE(host.post("/leases", R"({"capability":"context:tune","ttl_secs":600})", kJson).status ==
          201);
  HttpResult set = host.post(
      "/actions", R"({"kind":"context.set","input":{"vars":{"ARW_CONTEXT_K":24}}})", kJson);
  REQUIRE(set.status == 202);
  const std::string action = set.json()["id"];
  for (int i = 0; i < 500 && host.get("/actions/" + action).json()["state"] != "completed"; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  const Json config = host.get("/state/config").json();
  HttpResult promoted = host.post("/logic-units/promote", R"({"name":"k24"})", kJson);
  INFO(promoted.body);
  REQUIRE(promoted.status == 201);
  const Json unit = promoted.json();
  CHECK(unit["status"] == "installed");
  CHECK(unit["manifest"]["provenance"]["generator"] == "tpark.promote/1");
  CHECK(unit["manifest"]["provenance"]["snapshot_id"] == config["snapshot_id"]);
  CHECK(unit["manifest"]["patches"][0]["target"] == "env");
  CHECK(unit["manifest"]["patches"][0]["value"]["ARW_CONTEXT_K"] == 24);
  CHECK(host.get("/state/config").json()["version"] == config["version"]);
  CHECK(host.get("/logic-units/" + unit["id"].get<std::string>()).json()["status"] == "installed");
  CHECK(
      host.post("/logic-units/promote", R"({"name":"x","snapshot_id":"snap-999"})", kJson).status ==
      404);
  CHECK(host.post("/logic-units/promote", R"({"version":"1"})", kJson).status == 400);
}

TEST_CASE("history_keeps_the_newest_100_of_120_dry_runs_and_the_snapshot_shows_its_rows",
          "[integration][logic_units][history]") {
  // Checks 35 and 36: the install row (seq 1) and 120 dry runs (seq 2..121)
  // under ARW_TRAINING_HISTORY_MAX=100 leave seq 22..121.
  TestHost host(with_env({{"ARW_TRAINING_HISTORY_MAX", "100"}}));
  REQUIRE(host.post("/logic-units/install", kUnit, kJson).status == 201);
  for (int i = 0; i < 120; ++i) {
    const std::string via = "run" + std::to_string(i);
    REQUIRE(host.post("/logic-units/apply",
                      R"({"id":"k-hints","dry_run":true,"via":")" + via + R"("})", kJson)
                .status == 200);
  }

  Json page = host.get("/state/training/actions?limit=10").json();
  CHECK(page["total"] == 100);
  CHECK(page["latest_seq"] == 121);
  CHECK(page["next_offset"] == 10);
  REQUIRE(page["items"].size() == 10);
  CHECK(page["items"][0]["seq"] == 121);
  CHECK(page["items"][0]["kind"] == "logic.unit.dry_run");
  CHECK(page["items"][0]["payload"]["via"] == "run119");
  CHECK(page["items"][0]["payload"]["diff_summary"].is_array());
  // The install row and the oldest 20 dry runs are gone.
  Json oldest = host.get("/state/training/actions?limit=5&offset=95").json();
  REQUIRE(oldest["items"].size() == 5);
  CHECK(oldest["items"][4]["seq"] == 22);
  CHECK(oldest["items"][4]["payload"]["via"] == "run20");
  CHECK(oldest["next_offset"].is_null());
  CHECK(host.get("/state/training/actions?kind=installed").json()["total"] == 0);
  // since: a seq (exclusive) or an RFC 3339 time (exclusive).
  Json since = host.get("/state/training/actions?since=111&kind=dry_run").json();
  CHECK(since["total"] == 10);
  CHECK(since["items"].back()["seq"] == 112);
  const std::string time = page["items"][0]["time"];
  CHECK(host.get("/state/training/actions?since=" + time).json()["total"] == 0);
  CHECK(host.get("/state/training/actions?since=2000-01-01T00:00:00Z").json()["total"] == 100);

  HttpResult too_many = host.get("/state/training/actions?limit=1001");
  CHECK(too_many.status == 400);
  CHECK(too_many.header("content-type") == "application/problem+json");
  CHECK(too_many.json()["errors"][0]["field"] == "limit");

  HttpResult csv = host.get("/state/training/actions?format=csv&download=1");
  REQUIRE(csv.status == 200);
  CHECK(csv.header("content-type") == "text/csv; charset=utf-8");
  CHECK_THAT(*csv.header("content-disposition"), Catch::StartsWith("attachment; filename="));
  CHECK_THAT(csv.body, Catch::StartsWith("seq,time,kind,id,job_id,action_id,snapshot_id,via,"
                                         "changed,payload\r\n121,"));
  CHECK(std::count(csv.body.begin(), csv.body.end(), '\n') == 101);
  HttpResult ndjson = host.get("/state/training/actions?format=ndjson&download=1");
  REQUIRE(ndjson.status == 200);
  CHECK(ndjson.header("content-type") == "application/x-ndjson");
  CHECK(std::count(ndjson.body.begin(), ndjson.body.end(), '\n') == 100);
  CHECK(Json::parse(ndjson.body.substr(0, ndjson.body.find('\n')))["seq"] == 121);

  // The snapshot's logic_history: the 10 newest rows themselves, {time, kind,
  // payload} (the row's payload carries diff_summary, the event's does not).
  Json expected = Json::array();
  for (const auto& row : page["items"])
    expected.push_back({{"time", row["time"]}, {"kind", row["kind"]}, {"payload", row["payload"]}});
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  Json shown = host.snapshot().json()["logic_history"];
  while (shown != expected && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    shown = host.snapshot().json()["logic_history"];
  }
  CHECK(shown == expected);

  // After a restart the section starts from the same rows.
  host.process().kill9();
  host.start();
  const auto restart_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  shown = host.snapshot().json()["logic_history"];
  while (shown != expected && std::chrono::steady_clock::now() < restart_deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    shown = host.snapshot().json()["logic_history"];
  }
  CHECK(shown == expected);
}

TEST_CASE("bad_manifests_patch_ops_and_refused_payloads_write_nothing",
          "[integration][logic_units]") {
  TestHost host(with_env({{"ARW_PATCH_SAFETY", "enforce"}}));
  lease(host);
  const std::string config_before = host.get("/state/config").body;
  struct Bad {
    const char* route;
    const char* body;
    int status;
    const char* field;  // nullptr: the problem has no field (a 409, the safety refusal)
  };
  const Bad cases[] = {
      {"/logic-units/install", R"({"id":"ok","name":"n","version":"1.0.0","category":"retrieval",
        "patches":[{"target":"env","op":"merge","value":{"ARW_CONTEXT_K":24}}],"kind":7})",
       400, "kind"},
      {"/logic-units/install", R"({"id":"ok","name":"n","version":"1.0.0","category":"retrieval",
        "patches":[]})",
       400, "patches"},
      {"/logic-units/apply", R"({"patches":[{"target":"env","op":"frob","value":{}}]})", 400,
       "patches.0.op"},
      {"/logic-units/apply",
       R"({"patches":[{"target":"env","op":"jsonpatch","value":[{"op":"frob","path":"/x"}]}]})",
       400, "patches.0.value.0"},
      {"/logic-units/apply",
       R"({"patches":[{"target":"governor.hints","op":"merge","value":{"mmr_lambda":1.5}}]})", 400,
       "governor.hints.mmr_lambda"},
      {"/logic-units/apply",
       R"({"patches":[{"target":"env","op":"jsonpatch","value":[{"op":"test","path":"/ARW_CONTEXT_K","value":99}]}]})",
       409, nullptr},
      {"/logic-units/apply",
       R"({"patches":[{"target":"env","op":"jsonpatch","value":[{"op":"remove","path":"/NOPE"}]}]})",
       409, nullptr},
      {"/logic-units/apply",
       R"({"patches":[{"target":"recipes","op":"merge","value":{"u":"http://169.254.169.254/"}}]})",
       400, nullptr},
      {"/logic-units/apply",
       R"({"dry_run":true,"patches":[{"target":"recipes","op":"merge","value":{"u":"http://169.254.169.254/"}}]})",
       400, nullptr},
      {"/logic-units/apply", R"({"id":"no-such-unit","dry_run":true})", 404, nullptr},
  };
  for (const auto& c : cases) {
    HttpResult r = host.post(c.route, c.body, kJson);
    INFO(c.route << " " << c.body << " -> " << r.body);
    CHECK(r.status == c.status);
    CHECK(r.header("content-type") == "application/problem+json");
    if (c.field != nullptr) {
      const Json body = r.json();
      std::set<std::string> fields;
      for (const auto& e : body["errors"]) fields.insert(e["field"].get<std::string>());
      CHECK(fields.count(c.field) == 1);
    }
  }
  // Nothing was written: no unit, no history row, no change, no event of the loop.
  CHECK(host.get("/state/logic_units").json()["total"] == 0);
  CHECK(host.get("/state/training/actions").json()["total"] == 0);
  CHECK(host.get("/state/config").body == config_before);
  for (const char* prefix : {"logic.unit.", "config.patch.applied", "actions.completed"})
    CHECK(host.get(std::string("/state/events?limit=10&prefix=") + prefix).json()["items"].empty());
}
