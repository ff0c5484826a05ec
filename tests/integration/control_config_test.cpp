// The live configuration against the real host (control.md 10 checks 2, 19,
// 21; 3.2, 3.3; spec README "Host routes"): governor reads, env pinning,
// presets, the config snapshot key, restarts.
#include <catch2/catch.hpp>

#include <signal.h>

#include <filesystem>
#include <fstream>

#include "integration/test_host.h"

using namespace tpark::test;
using tpark::Json;

namespace {

const std::filesystem::path kShipped = std::filesystem::path(TPARK_SOURCE_DIR) / "presets";

TestHostOptions balanced(EnvList extra = {}) {
  TestHostOptions options;
  options.env.emplace_back("ARW_PERF_PRESET", "balanced");
  for (auto& kv : extra) options.env.push_back(std::move(kv));
  return options;
}

// A copy of the shipped presets in `dir`/presets (host.yaml left out).
std::string copy_presets(const TempDir& dir) {
  std::filesystem::path presets = dir.path() / "presets";
  std::filesystem::create_directories(presets);
  std::filesystem::copy(kShipped / "perf", presets / "perf", std::filesystem::copy_options::recursive);
  std::filesystem::copy(kShipped / "context", presets / "context",
                        std::filesystem::copy_options::recursive);
  return presets.string();
}

HostProcess::Options run_once(const TempDir& dir, EnvList env, std::vector<std::string> args) {
  HostProcess::Options o;
  o.args = std::move(args);
  o.args.insert(o.args.end(), {"--state-dir", dir.file("state"), "--listen", "127.0.0.1:0"});
  o.env = std::move(env);
  o.log_path = dir.file("run.log");
  o.wait_for_listening = false;
  return o;
}

}  // namespace

TEST_CASE("governor_hints_need_admin_and_list_18_nulls", "[integration][config]") {
  TestHost host(balanced());
  HttpResult denied = host.get_public("/admin/governor/hints");
  CHECK(denied.status == 401);
  CHECK(denied.header("content-type").value_or("") == "application/problem+json");
  CHECK(denied.json()["status"] == 401);
  HttpResult hints = host.get_public("/admin/governor/hints", {{"Authorization", "Bearer t"}});
  REQUIRE(hints.status == 200);
  Json body = hints.json();
  CHECK(body.size() == 18);
  for (const auto& [key, value] : body.items()) CHECK(value.is_null());
  CHECK(body.contains("context_item_budget_tokens"));
  HttpResult profile = host.get("/admin/governor/profile");
  REQUIRE(profile.status == 200);
  CHECK(profile.json() == Json::parse(R"({"profile":"balance"})"));
}

TEST_CASE("an_exported_key_is_pinned_and_a_fresh_balanced_host_has_k_18", "[integration][config]") {
  TestHost pinned(balanced({{"ARW_CONTEXT_K", "40"}, {"ARW_CONTEXT_MIN_SCORE", "lots"}}));
  HttpResult config = pinned.get("/state/config");
  REQUIRE(config.status == 200);
  Json body = config.json();
  CHECK(body["env"]["ARW_CONTEXT_K"]["value"] == 40);
  CHECK(body["env"]["ARW_CONTEXT_K"]["source"] == "env");
  CHECK(body["env"]["ARW_CONTEXT_MIN_SCORE"]["source"] == "preset");  // invalid: not pinned
  CHECK_THAT(pinned.process().log(), Catch::Contains("ARW_CONTEXT_MIN_SCORE"));

  TestHost fresh(balanced());
  Json state = fresh.get("/state/config").json();
  CHECK(state["env"]["ARW_CONTEXT_K"] == Json::parse(R"({"value":18,"source":"preset","live":true})"));
  CHECK(state["env"]["ARW_CONTEXT_SLOT_BUDGETS"]["value"].is_null());  // no implicit context preset
  CHECK(state["version"] == 0);
  CHECK(state["snapshot_id"] == "snap-0");
  CHECK(state["perf_preset"]["tier"] == "balanced");  // the preset in force, as ARW reports it
  CHECK(state["perf_preset"]["detected"].is_string());
  CHECK(state["perf_preset"]["boot"] == "balanced");
  CHECK(state["perf_preset"]["source"] == "env");
  CHECK(state["perf_preset"]["applied"].is_null());
  CHECK(state["context_preset"].is_null());
  CHECK(state["governor"]["profile"] == "balance");
  CHECK(state["governor"]["hints"].size() == 18);
  CHECK(state["document"] == Json::object());
  CHECK(state["env"].size() == 46);
  CHECK(state["env"]["ARW_HTTP_MAX_CONC"] ==
        Json::parse(R"({"value":1024,"source":"preset","live":true,"pending_restart":false})"));
}

TEST_CASE("a_bad_preset_file_fails_the_reload_with_its_position", "[integration][config]") {
  TempDir presets_dir;
  std::string presets = copy_presets(presets_dir);
  TestHost host(balanced({{"ARW_PRESETS_DIR", presets}}));
  HttpResult listed = host.get("/state/presets");
  REQUIRE(listed.status == 200);
  CHECK(listed.json()["items"].size() == 5);
  CHECK(listed.json()["errors"] == Json::array());
  CHECK(listed.json()["perf"]["boot"] == "balanced");

  std::ofstream(presets + "/context/bad.yaml") << "schema: tpark.preset/v1\n"
                                                  "kind: context\n"
                                                  "name: bad\n"
                                                  "env:\n"
                                                  "  ARW_CONTEXT_K: abc\n";
  HttpResult reload = host.post("/admin/presets/reload", "");
  REQUIRE(reload.status == 400);
  CHECK(reload.header("content-type").value_or("") == "application/problem+json");
  Json problem = reload.json();
  CHECK(problem["code"] == "preset_invalid");
  REQUIRE(problem["errors"].size() == 1);
  CHECK_THAT(problem["errors"][0]["file"].get<std::string>(), Catch::EndsWith("bad.yaml"));
  CHECK(problem["errors"][0]["line"] == 5);
  CHECK(problem["errors"][0]["column"] == 18);
  CHECK(problem["errors"][0]["message"] == "env.ARW_CONTEXT_K: expected int in [1,256], got \"abc\"");
  // The old set is kept.
  CHECK(host.get("/state/presets").json()["items"].size() == 5);

  // A fixed file loads, by route and by SIGHUP alike.
  std::ofstream(presets + "/context/bad.yaml") << "schema: tpark.preset/v1\n"
                                                  "kind: context\n"
                                                  "name: wide\n"
                                                  "env:\n"
                                                  "  ARW_CONTEXT_K: 64\n";
  HttpResult fixed = host.post("/admin/presets/reload", "");
  REQUIRE(fixed.status == 200);
  CHECK(fixed.json()["ok"] == true);
  CHECK(fixed.json()["loaded"].size() == 6);
  std::ofstream(presets + "/context/more.yaml") << "schema: tpark.preset/v1\n"
                                                   "kind: context\n"
                                                   "name: narrow\n"
                                                   "env: {ARW_CONTEXT_K: 4}\n";
  host.process().signal(SIGHUP);
  REQUIRE(host.process().wait_for_log("SIGHUP: presets reloaded", std::chrono::seconds(30)));
  CHECK(host.get("/state/presets").json()["items"].size() == 7);
  HttpResult events = host.get("/state/events?prefix=presets.");
  REQUIRE(events.status == 200);
  CHECK(events.json()["items"].size() == 3);
}

TEST_CASE("check_presets_exits_0_or_1_and_prints_every_error", "[integration][config]") {
  TempDir dir;
  std::string presets = copy_presets(dir);
  {
    HostProcess ok(run_once(dir, {{"ARW_PRESETS_DIR", presets}}, {"--check-presets"}));
    CHECK(ok.wait_exit(std::chrono::seconds(20)) == 0);
  }
  std::ofstream(presets + "/perf/eco.yaml", std::ios::app) << "bogus: 1\n";
  HostProcess bad(run_once(dir, {{"ARW_PRESETS_DIR", presets}}, {"--check-presets"}));
  CHECK(bad.wait_exit(std::chrono::seconds(20)) == 1);
  CHECK_THAT(bad.log(), Catch::Contains("presets/perf/eco.yaml:") && Catch::Contains("bogus: unknown key"));
}

TEST_CASE("unknown_boot_presets_exit_78_naming_the_variable", "[integration][config]") {
  TempDir dir;
  HostProcess perf(run_once(dir, {{"ARW_PERF_PRESET", "warp"}, {"ARW_ADMIN_TOKEN", "t"}}, {}));
  CHECK(perf.wait_exit(std::chrono::seconds(20)) == 78);
  CHECK_THAT(perf.log(), Catch::Contains("ARW_PERF_PRESET") && Catch::Contains("warp"));
  TempDir dir2;
  HostProcess context(run_once(dir2, {{"ARW_CONTEXT_PRESET", "huge"}, {"ARW_ADMIN_TOKEN", "t"}}, {}));
  CHECK(context.wait_exit(std::chrono::seconds(20)) == 78);
  CHECK_THAT(context.log(), Catch::Contains("ARW_CONTEXT_PRESET") && Catch::Contains("huge"));
}

TEST_CASE("the_boot_context_preset_lays_over_the_perf_preset", "[integration][config]") {
  TestHost host(balanced({{"ARW_CONTEXT_PRESET", "Never-Out-Of-Context"}}));
  Json state = host.get("/state/config").json();
  CHECK(state["env"]["ARW_CONTEXT_K"]["value"] == 20);
  CHECK(state["env"]["ARW_HTTP_MAX_CONC"]["value"] == 1024);
  CHECK(state["env"]["ARW_CONTEXT_SLOT_BUDGETS"]["value"]["evidence"] == 8);
  CHECK(state["context_preset"] == "never-out-of-context");
}

TEST_CASE("telemetry_about_readyz_and_the_governor_section_show_the_config", "[integration][config]") {
  TestHost host(balanced());
  HttpResult snapshot = host.snapshot();
  REQUIRE(snapshot.status == 200);
  Json body = snapshot.json();
  Json config = body["config"];
  CHECK(config["version"] == 0);
  CHECK(config["snapshot_id"] == "snap-0");
  CHECK(config["perf_preset"]["boot"] == "balanced");
  CHECK(config["perf_preset"]["applied"].is_null());
  CHECK(config["context_preset"].is_null());
  CHECK(config["context"].size() == 23);
  CHECK(config["context"]["ARW_CONTEXT_K"] == 18);
  CHECK(config["context"]["ARW_CONTEXT_EXPAND_QUERY"] == true);
  CHECK(config["context"]["ARW_CONTEXT_LANE_PRIORITIES"].is_null());
  CHECK(config["context"]["ARW_REHYDRATE_FILE_HEAD_KB"] == 64);
  CHECK_FALSE(config["context"].contains("ARW_HTTP_MAX_CONC"));
  CHECK(body["sections"]["governor"]["ok"] == true);
  CHECK(body["governor"] == Json::parse(R"({"profile":"balance","memory_limit":null,"hints":{}})"));

  Json about = host.get_public("/about").json();
  CHECK(about["perf_preset"]["boot"] == "balanced");
  CHECK(about["perf_preset"]["tier"] == config["perf_preset"]["tier"]);
  CHECK(about["perf_preset"]["detected"] == config["perf_preset"]["detected"]);
  HttpResult ready = host.get_public("/readyz");
  CHECK(ready.json()["checks"]["presets"] == true);

  CHECK(host.get("/state/config/snapshots?limit=0").status == 400);
  CHECK(host.get("/state/config/snapshots?limit=x").json()["errors"][0]["field"] == "limit");
  Json snaps = host.get("/state/config/snapshots?limit=5").json();
  CHECK(snaps["total"] == 1);
  CHECK(snaps["items"][0]["id"] == "snap-0");
  CHECK(snaps["items"][0]["parent_id"].is_null());
  CHECK(snaps["items"][0]["cause"] == Json::parse(R"({"kind":"bootstrap"})"));
  CHECK(snaps["items"][0]["current"] == true);
}

TEST_CASE("snapshots_survive_a_restart_and_bootstrap_happens_once", "[integration][config]") {
  TestHost host(balanced());
  Json before = host.get("/state/config/snapshots").json();
  host.process().kill9();
  host.start();
  Json after = host.get("/state/config/snapshots").json();
  CHECK(after == before);
  CHECK(host.get("/state/config").json()["snapshot_id"] == "snap-0");
}

TEST_CASE("the_first_boot_takes_the_governor_from_the_boot_preset_and_keeps_it", "[integration][config]") {
  TempDir presets_dir;
  std::string presets = copy_presets(presets_dir);
  std::ofstream(presets + "/perf/balanced.yaml", std::ios::app)
      << "governor: {profile: perf, hints: {retrieval_k: 32, mode: deep, mmr_lambda: 0.5}}\n";
  TestHost host(balanced({{"ARW_PRESETS_DIR", presets}}));
  Json hints = host.get("/admin/governor/hints").json();
  CHECK(hints["retrieval_k"] == 32);
  CHECK(hints["mode"] == "deep");
  CHECK(hints["mmr_lambda"] == 0.5);
  CHECK(hints["vote_k"].is_null());
  CHECK(host.get("/admin/governor/profile").json()["profile"] == "performance");
  // The governor section renders the host's state.
  Json snapshot = host.snapshot().json();
  CHECK(snapshot["sections"]["governor"]["ok"] == true);
  CHECK(snapshot["governor"] ==
        Json::parse(R"({"profile":"performance","memory_limit":null,"hints":{"mode":"deep","retrieval_k":32,"mmr_lambda":0.5}})"));

  // From then on the stored state is authoritative: a restart whose preset
  // has no governor block keeps it.
  host.process().stop();
  std::filesystem::remove_all(presets);
  copy_presets(presets_dir);
  host.start();
  CHECK(host.get("/admin/governor/hints").json()["retrieval_k"] == 32);
  CHECK(host.get("/admin/governor/profile").json()["profile"] == "performance");
  CHECK(host.get("/state/config").json()["governor"]["hints"]["mode"] == "deep");
}
