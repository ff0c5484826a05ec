// The control plane against the real host (control.md 10 checks 4-8, 11-14,
// 17, 37 and the pipeline parts of 9, 10, 15, 16, 18, 20). Checks that need
// the config kinds (context.set, preset.apply, governor.*) are tagged
// [needs-config-kinds]; the same pipeline behaviour is also pinned with the
// host's own `journal.note` kind under a policy file that requires a lease.
#include <catch2/catch.hpp>

#include <chrono>
#include <fstream>
#include <string>
#include <thread>

#include "integration/test_host.h"

using namespace tpark::test;
using tpark::Json;

namespace {

const HeaderList kAdmin = {{"X-ARW-Admin", kToken}};

// Starts a host with ARW_POLICY_FILE requiring notes:write for journal.*.
struct NotesHost {
  TempDir policy_dir;
  std::unique_ptr<TestHost> host;
  explicit NotesHost(EnvList extra = {}) {
    const std::string path = policy_dir.file("policy.json");
    std::ofstream(path)
        << R"({"lease_rules":[{"kind_prefix":"journal.","capability":"notes:write"}]})";
    TestHostOptions options;
    options.env = std::move(extra);
    options.env.emplace_back("ARW_POLICY_FILE", path);
    host = std::make_unique<TestHost>(options);
  }
  TestHost& operator*() { return *host; }
  TestHost* operator->() { return host.get(); }
};

std::string note(const std::string& text, const std::string& idem_key = "") {
  Json body = {{"kind", "journal.note"}, {"input", {{"text", text}}}};
  if (!idem_key.empty()) body["idem_key"] = idem_key;
  return body.dump();
}

Json lease(TestHost& host, Json body) {
  HttpResult r = host.post("/leases", body.dump());
  REQUIRE(r.status == 201);
  return r.json();
}

HttpResult del(TestHost& host, const std::string& target) {
  return request("DELETE", "127.0.0.1", host.port(), target, kAdmin);
}

// Polls the action until it leaves queued/running (generous deadline).
Json settled(TestHost& host, const std::string& id) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  for (;;) {
    HttpResult r = host.get("/actions/" + id);
    REQUIRE(r.status == 200);
    Json action = r.json();
    const std::string state = action["state"];
    if ((state != "queued" && state != "running") || std::chrono::steady_clock::now() > deadline)
      return action;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

size_t count_events(TestHost& host, const std::string& prefix) {
  HttpResult r = host.get("/state/events?limit=1000&prefix=" + prefix);
  REQUIRE(r.status == 200);
  return r.json()["items"].size();
}

// The config kinds (context.set, preset.apply, governor.*) are registered at
// boot: a 400 on `kind` means they are missing, and the test fails saying so.
void require_config_kinds(const HttpResult& r) {
  if (r.status != 400) return;
  Json p = r.json();
  if (p["code"] == "validation_failed" && !p["errors"].empty() && p["errors"][0]["field"] == "kind")
    FAIL("config action kinds are not registered: " << r.body);
}

}  // namespace

TEST_CASE("check_4_malformed_and_mistyped_action_bodies_are_400_problems",
          "[integration][actions]") {
  TestHost host;
  HttpResult malformed = host.post("/actions", R"({"kind":)", {{"x-request-id", "abc-123"}});
  CHECK(malformed.status == 400);
  CHECK(malformed.header("content-type").value_or("") == "application/problem+json");
  CHECK(malformed.header("x-request-id").value_or("") == "abc-123");
  Json p = malformed.json();
  CHECK(p["code"] == "malformed_json");
  CHECK(p["request_id"] == "abc-123");
  CHECK(p["errors"][0]["pointer"] == "");
  HttpResult huge = host.post("/actions", R"({"kind":"journal.note","input":{"n":1E999}})");
  CHECK(huge.status == 400);
  CHECK(huge.json()["code"] == "malformed_json");
  HttpResult typed = host.post("/actions", R"({"kind":5})");
  CHECK(typed.status == 400);
  Json t = typed.json();
  CHECK(t["code"] == "validation_failed");
  CHECK(t["errors"][0]["field"] == "kind");
  CHECK(t["errors"][0]["pointer"] == "/kind");
  HttpResult unknown = host.post("/actions", R"({"kind":"no.such.kind","input":{}})");
  CHECK(unknown.status == 400);
  CHECK(unknown.json()["errors"][0]["field"] == "kind");
  HttpResult input = host.post("/actions", R"({"kind":"journal.note","input":{"text":7}})");
  CHECK(input.status == 400);
  CHECK(input.json()["errors"][0]["field"] == "input.text");
  CHECK(input.json()["errors"][0]["pointer"] == "/input/text");
}

TEST_CASE("check_6_a_body_over_the_limit_is_413", "[integration][actions]") {
  TestHostOptions options;
  options.env = {{"ARW_HTTP_BODY_LIMIT", "1024"}};
  TestHost host(options);
  HttpResult r = host.post("/actions", note(std::string(2048, 'x')));
  CHECK(r.status == 413);
  CHECK(r.json()["code"] == "payload_too_large");
  CHECK(host.get("/state/actions").json()["total"] == 0);
}

TEST_CASE("check_7_8_a_lease_is_required_and_created_by_admins_only", "[integration][leases]") {
  NotesHost host;
  HttpResult denied = host->post("/actions", note("hello"));
  REQUIRE(denied.status == 403);
  Json p = denied.json();
  CHECK(p["code"] == "lease_required");
  CHECK(p["detail"] == "Denied (lease required)");
  CHECK(p["require_capability"] == "notes:write");
  CHECK(p["explain"]["reason"] == "lease_required");
  CHECK(p["explain"]["required_capability"] == "notes:write");
  CHECK(p["explain"]["rule"]["kind_prefix"] == "journal.");
  CHECK(count_events(*host, "policy.decision") == 1);

  HttpResult anonymous =
      request("POST", "127.0.0.1", host->port(), "/leases", {}, R"({"capability":"notes:write"})");
  CHECK(anonymous.status == 401);
  Json created = lease(*host, {{"capability", "notes:write"}, {"ttl_secs", 600}, {"budget", 2}});
  CHECK(created["budget_remaining"] == 2);
  CHECK(created["status"] == "active");
  CHECK(created["subject"] == "local");
  CHECK(created["ttl_until_ms"].get<int64_t>() > 0);
  CHECK(count_events(*host, "leases.created") == 1);

  HttpResult bad = host->post("/leases", R"({"capability":"Bad Cap","ttl_secs":86401,"budget":0})");
  REQUIRE(bad.status == 400);
  Json errors = bad.json()["errors"];
  REQUIRE(errors.size() == 3);
  CHECK(errors[0]["field"] == "capability");
  CHECK(errors[1]["field"] == "ttl_secs");
  CHECK(errors[2]["field"] == "budget");
}

TEST_CASE("check_9_10_a_leased_action_completes_and_exhausts_the_budget", "[integration][leases]") {
  NotesHost host;
  Json l = lease(*host, {{"capability", "notes:write"}, {"ttl_secs", 600}, {"budget", 2}});
  HttpResult first = host->post("/actions", note("one"));
  REQUIRE(first.status == 202);
  Json body = first.json();
  CHECK(body["state"] == "queued");
  CHECK(body["staged"] == false);
  CHECK(body["reused"] == false);
  Json action = settled(*host, body["id"]);
  CHECK(action["state"] == "completed");
  CHECK(action["guard"]["lease_id"] == l["id"]);
  CHECK(action["output"]["event_id"].get<int64_t>() > 0);
  CHECK(count_events(*host, "journal.note") == 1);
  Json leases = host->get("/state/leases").json();
  REQUIRE(leases["count"] == 1);
  CHECK(leases["items"][0]["budget_remaining"] == 1);
  CHECK(host->post("/actions", note("two")).status == 202);
  HttpResult third = host->post("/actions", note("three"));
  REQUIRE(third.status == 403);
  CHECK(third.json()["explain"]["reason"] == "lease_budget_exhausted");
  CHECK(host->get("/state/leases").json()["count"] == 0);
  CHECK(host->get("/state/leases?include_inactive=1").json()["items"][0]["status"] == "exhausted");
}

TEST_CASE("check_11_a_scoped_lease_rejects_other_targets", "[integration][leases]") {
  NotesHost host;
  lease(*host, {{"capability", "notes:write"}, {"scope", "env/ARW_CONTEXT_K"}});
  HttpResult r = host->post("/actions", note("x"));
  REQUIRE(r.status == 403);
  CHECK(r.json()["explain"]["reason"] == "lease_scope_mismatch");
  lease(*host, {{"capability", "notes:write"}, {"scope", "journal.*"}});
  CHECK(host->post("/actions", note("y")).status == 202);
}

TEST_CASE("check_12_expired_and_revoked_leases_are_not_usable", "[integration][leases]") {
  NotesHost host;
  lease(*host, {{"capability", "notes:write"}, {"ttl_secs", 1}});
  std::this_thread::sleep_for(std::chrono::milliseconds(2000));
  HttpResult expired = host->post("/actions", note("late"));
  REQUIRE(expired.status == 403);
  CHECK(expired.json()["explain"]["reason"] == "lease_expired");

  Json l = lease(*host, {{"capability", "notes:write"}});
  HttpResult revoked = del(*host, "/leases/" + l["id"].get<std::string>());
  REQUIRE(revoked.status == 200);
  CHECK(revoked.json()["revoked"] == true);
  HttpResult again = del(*host, "/leases/" + l["id"].get<std::string>());
  CHECK(again.status == 200);
  CHECK(again.json()["revoked_at"] == revoked.json()["revoked_at"]);
  CHECK(del(*host, "/leases/no-such-lease").status == 404);
  HttpResult use = host->post("/actions", note("revoked"));
  REQUIRE(use.status == 403);
  CHECK(use.json()["explain"]["reason"] == "lease_revoked");
  CHECK(count_events(*host, "leases.revoked") == 1);
}

TEST_CASE("check_13_idempotency_is_per_kind_and_input", "[integration][actions]") {
  NotesHost host;
  lease(*host, {{"capability", "notes:write"}, {"budget", 10}});
  HttpResult first = host->post("/actions", note("same", "key-1"));
  REQUIRE(first.status == 202);
  HttpResult second = host->post("/actions", note("same", "key-1"));
  REQUIRE(second.status == 200);
  CHECK(second.json()["id"] == first.json()["id"]);
  CHECK(second.json()["reused"] == true);
  HttpResult changed = host->post("/actions", note("different", "key-1"));
  CHECK(changed.status == 409);
  CHECK(changed.json()["code"] == "conflict");
  CHECK(count_events(*host, "actions.submitted") == 1);
  CHECK(host->get("/state/leases").json()["items"][0]["budget_remaining"] == 9);
}

TEST_CASE("check_13_the_same_key_with_context_set", "[integration][actions][needs-config-kinds]") {
  TestHost host;
  lease(host, {{"capability", "context:tune"}});
  const std::string a =
      R"({"kind":"context.set","input":{"vars":{"ARW_CONTEXT_K":24}},"idem_key":"k"})";
  HttpResult first = host.post("/actions", a);
  require_config_kinds(first);
  REQUIRE(first.status == 202);
  HttpResult second = host.post("/actions", a);
  CHECK(second.status == 200);
  CHECK(second.json()["id"] == first.json()["id"]);
  CHECK(second.json()["reused"] == true);
  HttpResult other = host.post(
      "/actions", R"({"kind":"preset.apply","input":{"preset":"balanced"},"idem_key":"k"})");
  CHECK(other.status == 202);
  CHECK(other.json()["id"] != first.json()["id"]);
  HttpResult conflict = host.post(
      "/actions", R"({"kind":"context.set","input":{"vars":{"ARW_CONTEXT_K":25}},"idem_key":"k"})");
  CHECK(conflict.status == 409);
}

TEST_CASE("check_14_the_queue_limit_answers_429_queue_full", "[integration][actions]") {
  NotesHost host({{"ARW_WORKERS", "0"}, {"ARW_ACTIONS_QUEUE_MAX", "2"}});
  lease(*host, {{"capability", "notes:write"}});
  CHECK(host->post("/actions", note("1")).status == 202);
  CHECK(host->post("/actions", note("2")).status == 202);
  HttpResult full = host->post("/actions", note("3"));
  REQUIRE(full.status == 429);
  CHECK(full.header("retry-after").value_or("") == "1");
  Json p = full.json();
  CHECK(p["code"] == "queue_full");
  CHECK(p["limit"] == 2);
  CHECK(p["queued"] == 2);
  Json queued = host->get("/state/actions?state=queued").json();
  CHECK(queued["total"] == 2);
  CHECK(host->get("/state/actions?limit=0").status == 400);
  CHECK(host->get("/state/actions?limit=2001").json()["errors"][0]["field"] == "limit");
  CHECK(host->get("/state/actions?state=bogus").status == 400);
}

TEST_CASE("check_17_staged_actions_are_approved_or_denied", "[integration][staging]") {
  TestHostOptions options;
  options.env = {{"ARW_ACTION_STAGING_MODE", "always"}, {"ARW_ACTION_STAGING_ACTOR", "ops"}};
  TestHost host(options);
  HttpResult a =
      host.post("/actions", R"({"kind":"journal.note","input":{"text":"a","project":"p1"}})");
  REQUIRE(a.status == 202);
  Json staged = a.json();
  CHECK(staged["staged"] == true);
  CHECK(staged["state"] == "staged");
  CHECK(staged["mode"] == "always");
  CHECK(staged["evidence"]["diff_summary"] == Json::array());
  const std::string id = staged["id"];
  Json pending = host.get("/state/staging/actions?status=pending").json();
  REQUIRE(pending["items"].size() == 1);
  CHECK(pending["items"][0]["id"] == id);
  CHECK(pending["items"][0]["project"] == "p1");
  CHECK(pending["items"][0]["requested_by"] == "ops");

  HttpResult denied = host.post("/staging/actions/" + id + "/deny", R"({"reason":"no"})");
  REQUIRE(denied.status == 200);
  CHECK(denied.json()["state"] == "denied");
  CHECK(host.get("/actions/" + id).json()["state"] == "denied");
  Json entry = host.get("/state/staging/actions?status=denied").json()["items"][0];
  CHECK(entry["decision"] == "denied");
  CHECK(entry["reason"] == "no");
  CHECK(host.post("/staging/actions/" + id + "/deny", "{}").status == 409);
  CHECK(host.post("/staging/actions/unknown/deny", "{}").status == 404);
  CHECK(host.post("/staging/actions/unknown/approve", "{}").status == 404);

  HttpResult b = host.post("/actions", note("b"));
  const std::string id_b = b.json()["id"];
  HttpResult approved =
      host.post("/staging/actions/" + id_b + "/approve", R"({"decided_by":"alice"})");
  REQUIRE(approved.status == 200);
  CHECK(approved.json()["action_id"] == id_b);
  CHECK(settled(host, id_b)["state"] == "completed");
  HttpResult twice = host.post("/staging/actions/" + id_b + "/approve", "{}");
  CHECK(twice.status == 409);
  CHECK(twice.json()["state"] == "approved");
  CHECK(count_events(host, "staging.pending") == 2);
  CHECK(count_events(host, "staging.decided") == 2);
  CHECK(count_events(host, "actions.denied") == 1);
  CHECK(host.get("/state/staging/actions?limit=501").status == 400);
}

TEST_CASE("external_state_changes_are_refused_for_host_kinds", "[integration][actions]") {
  TestHostOptions options;
  options.env = {{"ARW_WORKERS", "0"}};
  TestHost host(options);
  HttpResult a = host.post("/actions", note("x"));
  REQUIRE(a.status == 202);
  const std::string id = a.json()["id"];
  HttpResult r = host.post("/actions/" + id + "/state", R"({"state":"completed"})");
  CHECK(r.status == 409);
  CHECK(host.post("/actions/" + id + "/state", R"({"state":"nope"})").status == 400);
  CHECK(host.post("/actions/missing/state", R"({"state":"running"})").status == 404);
  CHECK(host.get("/actions/missing").status == 404);
}

TEST_CASE("check_37_a_kill_9_after_202_keeps_the_action_and_it_completes",
          "[integration][durability]") {
  TestHostOptions options;
  options.env = {{"ARW_WORKERS", "0"}};
  TestHost host(options);
  HttpResult a = host.post("/actions", note("survive"));
  REQUIRE(a.status == 202);
  const std::string id = a.json()["id"];
  host.process().kill9();
  host.set_env("ARW_WORKERS", "2");
  host.start();
  Json action = settled(host, id);
  CHECK(action["state"] == "completed");
  CHECK(count_events(host, "actions.submitted") == 1);
  CHECK(count_events(host, "actions.completed") == 1);
  CHECK(count_events(host, "journal.note") == 1);
}

TEST_CASE("get_state_policy_reports_posture_rules_and_staging", "[integration][policy]") {
  TestHostOptions options;
  options.env = {{"ARW_SECURITY_POSTURE", "strict"},
                 {"ARW_ACTION_STAGING_MODE", "ask"},
                 {"ARW_ACTION_STAGING_ALLOW", "journal.*,context.set"}};
  TestHost host(options);
  Json p = host.get("/state/policy").json();
  CHECK(p["posture"] == "strict");
  CHECK(p["allow_all"] == false);
  CHECK(p["lease_rules"][0] == Json({{"kind_prefix", "net."}, {"capability", "net"}}));
  CHECK(p["staging"]["mode"] == "ask");
  CHECK(p["staging"]["allow"] == Json::array({"journal.*", "context.set"}));
  CHECK(p["patch_safety"] == "warn");
}

TEST_CASE("bad_policy_settings_stop_startup_with_78", "[integration][policy]") {
  for (const auto& [name, value] : EnvList{{"ARW_SECURITY_POSTURE", "lax"},
                                           {"ARW_POLICY_FILE", "/nonexistent/policy.json"},
                                           {"ARW_ACTION_STAGING_MODE", "sometimes"}}) {
    TempDir dir;
    HostProcess::Options o;
    o.args = {"--listen", "127.0.0.1:0", "--state-dir", dir.file("state")};
    o.env = {{"ARW_ADMIN_TOKEN", "t"}, {name, value}};
    o.log_path = dir.file("host.log");
    o.wait_for_listening = false;
    HostProcess process(o);
    auto code = process.wait_exit(std::chrono::seconds(20));
    REQUIRE(code.has_value());
    CHECK(*code == 78);
    CHECK_THAT(process.log(), Catch::Contains(name));
  }
}

// ---- checks that need the config kinds (context.set, preset.apply, governor.*) ----

TEST_CASE("check_7_9_10_context_set_under_a_lease", "[integration][leases][needs-config-kinds]") {
  TestHost host;
  const std::string k24 = R"({"kind":"context.set","input":{"vars":{"ARW_CONTEXT_K":24}}})";
  HttpResult denied = host.post("/actions", k24);
  require_config_kinds(denied);
  REQUIRE(denied.status == 403);
  CHECK(denied.json()["require_capability"] == "context:tune");
  CHECK(denied.json()["explain"]["reason"] == "lease_required");
  lease(host, {{"capability", "context:tune"}, {"ttl_secs", 600}, {"budget", 2}});
  HttpResult ok = host.post("/actions", k24);
  REQUIRE(ok.status == 202);
  CHECK(ok.json()["state"] == "queued");
  Json action = settled(host, ok.json()["id"]);
  CHECK(action["state"] == "completed");
  CHECK(action["output"]["changed"] == true);
  bool found = false;
  for (const auto& d : action["output"]["diff_summary"])
    if (d.dump().find("ARW_CONTEXT_K") != std::string::npos) {
      found = true;
      CHECK(d["before"] == 18);
      CHECK(d["after"] == 24);
    }
  CHECK(found);
  Json config = host.get("/state/config").json();
  CHECK(config["env"]["ARW_CONTEXT_K"]["value"] == 24);
  CHECK(config["env"]["ARW_CONTEXT_K"]["source"] == "applied");
  CHECK(host.get("/state/leases").json()["items"][0]["budget_remaining"] == 1);
  const size_t patches = count_events(host, "config.patch.applied");
  HttpResult same = host.post(
      "/actions",
      R"({"kind":"context.set","input":{"vars":{"ARW_CONTEXT_K":24}},"idem_key":"again"})");
  REQUIRE(same.status == 202);
  Json second = settled(host, same.json()["id"]);
  CHECK(second["state"] == "completed");
  CHECK(second["output"]["changed"] == false);
  CHECK(count_events(host, "config.patch.applied") == patches);
  HttpResult third = host.post("/actions", k24);
  REQUIRE(third.status == 403);
  CHECK(third.json()["explain"]["reason"] == "lease_budget_exhausted");
}

TEST_CASE("check_11_12_context_set_scope_and_expiry", "[integration][leases][needs-config-kinds]") {
  TestHost host;
  lease(host, {{"capability", "context:tune"}, {"scope", "env/ARW_CONTEXT_K"}});
  HttpResult r = host.post(
      "/actions", R"({"kind":"context.set","input":{"vars":{"ARW_CONTEXT_MIN_SCORE":0.5}}})");
  require_config_kinds(r);
  REQUIRE(r.status == 403);
  CHECK(r.json()["explain"]["reason"] == "lease_scope_mismatch");
}

TEST_CASE("check_14_context_set_queue_full", "[integration][actions][needs-config-kinds]") {
  TestHostOptions options;
  options.env = {{"ARW_WORKERS", "0"}, {"ARW_ACTIONS_QUEUE_MAX", "2"}};
  TestHost host(options);
  lease(host, {{"capability", "context:tune"}});
  std::vector<int> statuses;
  for (int k : {20, 21, 22}) {
    HttpResult r =
        host.post("/actions", "{\"kind\":\"context.set\",\"input\":{\"vars\":{\"ARW_CONTEXT_K\":" +
                                  std::to_string(k) + "}}}");
    require_config_kinds(r);
    statuses.push_back(r.status);
    if (r.status == 429) {
      CHECK(r.json()["limit"] == 2);
      CHECK(r.json()["queued"] == 2);
    }
  }
  CHECK(statuses == std::vector<int>{202, 202, 429});
}

TEST_CASE("check_15_16_turbo_is_staged_then_approved",
          "[integration][staging][needs-config-kinds]") {
  TestHost host;
  lease(host, {{"capability", "context:tune"}});
  HttpResult r = host.post("/actions", R"({"kind":"preset.apply","input":{"preset":"turbo"}})");
  require_config_kinds(r);
  REQUIRE(r.status == 202);
  Json staged = r.json();
  CHECK(staged["staged"] == true);
  bool k = false;
  for (const auto& d : staged["evidence"]["diff_summary"])
    if (d.dump().find("ARW_CONTEXT_K") != std::string::npos) {
      k = true;
      CHECK(d["before"] == 18);
      CHECK(d["after"] == 32);
    }
  CHECK(k);
  bool preset_risky = false;
  for (const auto& reason : staged["evidence"]["risk"]["reasons"])
    preset_risky = preset_risky || reason["code"] == "preset_risky";
  CHECK(preset_risky);
  const std::string id = staged["id"];
  CHECK(host.get("/state/staging/actions?status=pending").json()["items"][0]["id"] == id);
  HttpResult approved = host.post("/staging/actions/" + id + "/approve", "{}");
  REQUIRE(approved.status == 200);
  CHECK(approved.json()["action_id"] == id);
  CHECK(settled(host, id)["state"] == "completed");
  Json snap = host.snapshot().json();
  CHECK(snap["config"]["context"]["ARW_CONTEXT_K"] == 32);
  CHECK(host.post("/staging/actions/" + id + "/approve", "{}").status == 409);
}

TEST_CASE("check_18_balanced_on_a_balanced_host_changes_nothing",
          "[integration][actions][needs-config-kinds]") {
  TestHostOptions options;
  options.env = {{"ARW_PERF_PRESET", "balanced"}};
  TestHost host(options);
  lease(host, {{"capability", "context:tune"}});
  HttpResult r = host.post("/actions", R"({"kind":"preset.apply","input":{"preset":"balanced"}})");
  require_config_kinds(r);
  REQUIRE(r.status == 202);
  Json action = settled(host, r.json()["id"]);
  CHECK(action["state"] == "completed");
  CHECK(action["output"]["changed"] == false);
  CHECK(count_events(host, "config.patch.applied") == 0);
}

TEST_CASE("check_20_governor_hints_validate_apply_and_stage",
          "[integration][governor][needs-config-kinds]") {
  TestHost host;
  lease(host, {{"capability", "governor:write"}});
  HttpResult bad = host.post("/admin/governor/hints", R"({"retrieval_k":0,"mmr_lambda":1.5})");
  require_config_kinds(bad);
  REQUIRE(bad.status == 400);
  std::vector<std::string> fields;
  const Json bad_body = bad.json();  // ranged-for over a temporary's member would dangle
  for (const auto& e : bad_body["errors"]) fields.push_back(e["field"]);
  CHECK(std::find(fields.begin(), fields.end(), "retrieval_k") != fields.end());
  CHECK(std::find(fields.begin(), fields.end(), "mmr_lambda") != fields.end());
  HttpResult ten = host.post("/admin/governor/hints", R"({"retrieval_k":10,"unknown_knob":1})");
  REQUIRE(ten.status == 200);
  CHECK(ten.json()["ok"] == true);
  CHECK(ten.json()["ignored"] == Json::array({"unknown_knob"}));
  HttpResult jump = host.post("/governor/hints", R"({"retrieval_k":25})");
  REQUIRE(jump.status == 202);
  CHECK(jump.json()["staged"] == true);
  bool hint_jump = false;
  const Json jump_body = jump.json();
  for (const auto& reason : jump_body["evidence"]["risk"]["reasons"])
    hint_jump = hint_jump || reason["code"] == "hint_jump";
  CHECK(hint_jump);
  HttpResult profile = host.post("/admin/governor/profile", R"({"name":"perf"})");
  REQUIRE(profile.status == 200);
  CHECK(profile.json()["profile"] == "performance");
  CHECK(host.post("/admin/governor/profile", R"({"name":"turbo"})").json()["errors"][0]["field"] ==
        "name");
}

TEST_CASE("an_approved_preset_after_a_config_change_reports_stale_evidence",
          "[integration][staging][needs-config-kinds]") {
  TestHost host;
  lease(host, {{"capability", "context:tune"}});
  HttpResult turbo = host.post("/actions", R"({"kind":"preset.apply","input":{"preset":"turbo"}})");
  require_config_kinds(turbo);
  REQUIRE(turbo.status == 202);
  HttpResult k =
      host.post("/actions", R"({"kind":"context.set","input":{"vars":{"ARW_CONTEXT_K":20}}})");
  REQUIRE(k.status == 202);
  REQUIRE(settled(host, k.json()["id"])["state"] == "completed");
  const std::string id = turbo.json()["id"];
  REQUIRE(host.post("/staging/actions/" + id + "/approve", "{}").status == 200);
  Json action = settled(host, id);
  CHECK(action["state"] == "completed");
  CHECK(action["output"]["evidence_stale"] == true);
}
