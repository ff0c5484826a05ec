// Plugins through the real host: the broken-plugin fixtures end as sdk.md says
// and show in /admin/plugins while the host keeps serving; the events section
// renders in the snapshot with the `sections` status map; reload applies
// host.yaml changes.
#include <catch2/catch.hpp>

#include <csignal>
#include <thread>

#include "integration/test_host.h"

using namespace tpark::test;
using tpark::Json;

namespace {

Json plugin_item(TestHost& host, const std::string& id) {
  HttpResult r = host.get("/admin/plugins");
  REQUIRE(r.status == 200);
  Json body = r.json();
  for (const auto& item : body["items"])
    if (item["id"] == id) return item;
  FAIL("plugin " << id << " not listed: " << r.body);
  return {};
}

TestHostOptions with_fixtures() {
  TestHostOptions o;
  o.extra_args = {"--plugin-dir", TPARK_FIXTURE_DIR};
  return o;
}

}  // namespace

TEST_CASE("broken_plugins_are_refused_or_contained_and_the_host_serves",
          "[integration][plugins]") {
  TestHost host(with_fixtures());

  Json wrong_major = plugin_item(host, "tp.fixture.wrong-major");
  CHECK(wrong_major["state"] == "refused");
  CHECK_THAT(wrong_major["reason"].get<std::string>(), Catch::Contains("ABI major 2, host 1"));

  Json newer_minor = plugin_item(host, "tp.fixture.newer-minor");
  CHECK(newer_minor["state"] == "refused");
  CHECK_THAT(newer_minor["reason"].get<std::string>(),
             Catch::Contains("needs host ABI 1.3, host is 1.2"));

  Json missing = plugin_item(host, "tp.fixture.missing-entry");
  CHECK(missing["state"] == "refused");
  CHECK_THAT(missing["reason"].get<std::string>(), Catch::Contains("tp_plugin_entry"));

  Json unresolved = plugin_item(host, "tp.fixture.unresolved-symbol");
  CHECK(unresolved["state"] == "refused");
  CHECK_THAT(unresolved["reason"].get<std::string>(), Catch::Contains("undefined symbol"));

  Json oversized = plugin_item(host, "tp.fixture.oversized-struct");
  CHECK(oversized["state"] == "loaded");

  Json throwing = plugin_item(host, "tp.fixture.throwing-callback");
  CHECK(throwing["state"] == "loaded");

  // Events reach the throwing plugin: its errors are counted, the host keeps serving.
  REQUIRE(host.post("/events/ingest", "{\"kind\":\"fixture.boom\"}\n{\"kind\":\"fixture.boom\"}\n")
              .status == 200);
  HttpResult snap = host.snapshot();
  REQUIRE(snap.status == 200);
  Json j = snap.json();
  CHECK(j["events"]["total"] == 2);
  bool counted = false;
  for (int attempt = 0; attempt < 50 && !counted; ++attempt) {
    counted = plugin_item(host, "tp.fixture.throwing-callback")["health"]["error_count"] >= 2;
    if (!counted) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  CHECK(counted);
  CHECK(host.get_public("/healthz").status == 200);

  // The oversized-struct section renders like any other.
  Json sections = j["sections"];
  bool found_oversized = false;
  for (auto it = sections.begin(); it != sections.end(); ++it)
    if (it.value()["plugin"] == "tp.fixture.oversized-struct") {
      found_oversized = true;
      CHECK(it.value()["ok"] == true);
    }
  CHECK(found_oversized);

  // A plugin that never stops: the host abandons it within the stop timeout and exits 0.
  auto code = host.process().stop(std::chrono::seconds(20));
  REQUIRE(code.has_value());
  CHECK(*code == 0);
  CHECK_THAT(host.process().log(), Catch::Contains("did not stop"));
}

TEST_CASE("snapshot_lists_every_builtin_section_with_its_status", "[integration][plugins]") {
  TestHost host;
  HttpResult snap = host.snapshot();
  REQUIRE(snap.status == 200);
  CHECK(snap.header("cache-control").value_or("") == "no-store");
  Json j = snap.json();
  std::vector<std::string> keys;
  for (auto it = j.begin(); it != j.end(); ++it) keys.push_back(it.key());
  const std::vector<std::string> expected = {
      "generated", "generated_ms", "events",   "routes",        "bus",
      "tools",     "tasks",        "cache",    "governor",      "capsules",
      "feedback",  "compatibility", "context", "memory",        "tool_invocations",
      "logic_history", "config",   "sections"};
  CHECK(keys == expected);
  CHECK(j["sections"]["events"].dump() ==
        R"({"plugin":"tp.section.events","version":")" +
            j["sections"]["events"]["version"].get<std::string>() + R"(","ok":true})");
  CHECK(j["events"]["total"] == 0);
  CHECK(j["events"]["kinds"] == Json::array());
  CHECK(j["events"]["start"].get<std::string>().size() == 24);
  // Every section status is present in snapshot order; plugins not built yet
  // are null with not_loaded.
  std::vector<std::string> status_keys;
  for (auto it = j["sections"].begin(); it != j["sections"].end(); ++it) {
    status_keys.push_back(it.key());
    if (!it.value()["ok"].get<bool>()) {
      CHECK(j[it.key()].is_null());
      CHECK(it.value()["error"] == "not_loaded");
      CHECK(it.value()["version"].is_null());
      CHECK(it.value()["plugin"] == "tp.section." + it.key());
    }
  }
  CHECK(status_keys == std::vector<std::string>(expected.begin() + 2, expected.end() - 2));
}

TEST_CASE("events_section_counts_kinds_by_count_then_name", "[integration][plugins]") {
  TestHost host;
  REQUIRE(host.post("/events/ingest",
                    "{\"kind\":\"b.y\"}\n{\"kind\":\"a.x\"}\n{\"kind\":\"c.z\"}\n{\"kind\":\"c.z\"}\n")
              .status == 200);
  Json events = host.snapshot().json()["events"];
  CHECK(events["total"] == 4);
  CHECK(events["kinds"].dump() == R"([["c.z",2],["a.x",1],["b.y",1]])");

  // Lifetime counters start at 0 at each start: after a restart the old rows are history.
  REQUIRE(host.process().stop() == 0);
  host.start();
  Json fresh = host.snapshot().json()["events"];
  CHECK(fresh["total"] == 0);
  CHECK(fresh["kinds"] == Json::array());
}

TEST_CASE("disabling_a_section_in_host_yaml_and_reloading_nulls_it", "[integration][plugins]") {
  TestHost host;
  REQUIRE(host.post("/events/ingest", "{\"kind\":\"a.x\"}\n").status == 200);
  host.write_config(
      "schema: tpark.host/v1\nplugins:\n  tp.section.events:\n    enabled: false\n");
  HttpResult reload = host.post("/admin/plugins/reload", "");
  REQUIRE(reload.status == 200);
  CHECK(reload.json()["applied"]["removed"].dump() == R"(["tp.section.events"])");
  Json j = host.snapshot().json();
  CHECK(j["events"].is_null());
  CHECK(j["sections"]["events"]["ok"] == false);
  CHECK(j["sections"]["events"]["error"] == "disabled");
  CHECK(plugin_item(host, "tp.section.events")["state"] == "disabled");

  // A broken host.yaml keeps the old set.
  host.write_config("schema: tpark.host/v1\nplugins:\n  tp.section.events:\n    enabled: maybe\n");
  HttpResult bad = host.post("/admin/plugins/reload", "");
  CHECK(bad.status == 400);
  CHECK(bad.json()["code"] == "config_invalid");
  REQUIRE(bad.json()["errors"].size() >= 1);
  CHECK(bad.json()["errors"][0]["line"] == 4);
  CHECK(plugin_item(host, "tp.section.events")["state"] == "disabled");

  // SIGHUP re-reads the file the same way.
  host.write_config("schema: tpark.host/v1\n");
  host.process().signal(SIGHUP);
  REQUIRE(host.process().wait_for_log("SIGHUP: host configuration reloaded", std::chrono::seconds(10)));
  CHECK(plugin_item(host, "tp.section.events")["state"] == "loaded");
  CHECK(host.snapshot().json()["sections"]["events"]["ok"] == true);
}
