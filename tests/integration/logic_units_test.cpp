// Logic units against the real host (control.md 6, checks 29-34): install,
// dry run, lease-gated apply through the action pipeline, jsonpatch, revert
// after a crash, and the safety scan under warn and enforce.
#include <catch2/catch.hpp>

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
