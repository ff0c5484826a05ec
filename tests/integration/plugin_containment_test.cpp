// A plugin cannot crash the host or speak for it (sdk.md rules 7-10,
// telemetry.md 1.1): a timer callback that throws through the C ABI is
// contained and shown in /admin/plugins; a plugin's emit of a host-owned
// kind is refused, and its own events carry the plugin as their source.
#include <catch2/catch.hpp>

#include <chrono>
#include <thread>

#include "integration/test_host.h"

using namespace tpark::test;
using tpark::Json;

namespace {

TestHostOptions with_fixture(const std::string& dir,
                             std::string host_yaml = "schema: tpark.host/v1\n") {
  TestHostOptions o;
  o.extra_args = {"--plugin-dir", std::string(TPARK_FIXTURE_DIR) + "/" + dir};
  o.host_yaml = std::move(host_yaml);
  return o;
}

// Polls plugin `id` until `done(item)` holds (at most 10 s); the last item.
template <class Done>
Json wait_for_plugin(TestHost& host, const std::string& id, Done done) {
  Json item;
  for (int attempt = 0; attempt < 100; ++attempt) {
    auto found = host.plugin_item(id);
    REQUIRE(found.has_value());
    item = *found;
    if (done(item)) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return item;
}

}  // namespace

TEST_CASE("throwing_timer_callback_is_counted_in_health_and_the_host_serves",
          "[integration][plugins]") {
  TestHost host(with_fixture("throwing-timer"));
  const Json item = wait_for_plugin(host, "tp.fixture.throwing-timer", [](const Json& item) {
    return item["health"]["error_count"].get<uint64_t>() >= 3;
  });
  CHECK(item["state"] == "loaded");
  CHECK(item["health"]["ok"] == false);
  CHECK(item["health"]["error_count"].get<uint64_t>() >= 3);
  CHECK_THAT(item["health"]["last_error"].get<std::string>(),
             Catch::StartsWith("timer: exception escaped the plugin: timer ") &&
                 Catch::EndsWith(" refuses"));
  CHECK(host.get_public("/healthz").status == 200);
  REQUIRE(host.post("/events/ingest", "{\"kind\":\"fixture.timer.tick\"}\n").status == 200);
  CHECK(host.snapshot().json()["events"]["total"] == 1);
  auto code = host.process().stop(std::chrono::seconds(20));
  REQUIRE(code.has_value());
  CHECK(*code == 0);
}

TEST_CASE("plugin_emit_of_a_host_owned_kind_is_refused_and_its_own_events_name_the_plugin",
          "[integration][plugins]") {
  TestHost host(with_fixture("forging-emitter",
                             "schema: tpark.host/v1\nplugins:\n  tp.fixture.forging-emitter:\n"
                             "    config: {emit: true}\n"));
  const Json item = wait_for_plugin(host, "tp.fixture.forging-emitter", [](const Json& item) {
    return item["health"]["error_count"].get<uint64_t>() >= 1;
  });
  CHECK(item["state"] == "loaded");
  CHECK(item["health"]["error_count"] == 1);
  CHECK(item["health"]["last_error"] ==
        "emit: kind governor.changed is host-owned; refused (TP_INVALID_ARG)");

  // What the plugin's emit answered: TP_INVALID_ARG (2) for the forgery, TP_OK for its own.
  Json rendered;
  for (int attempt = 0; attempt < 100; ++attempt) {
    rendered = host.snapshot().json()["fixture_forging_emitter"];
    if (rendered.is_object() && rendered["own_status"] != -1) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  CHECK(rendered.dump() == R"({"forged_status":2,"own_status":0})");

  HttpResult events = host.get("/state/events?after=0&limit=1000");
  REQUIRE(events.status == 200);
  const Json page = events.json();
  int own = 0;
  for (const auto& event : page["items"]) {
    CHECK(event["kind"] != "governor.changed");
    if (event["kind"] == "fixture.forged.own") {
      ++own;
      CHECK(event["source"] == "plugin:tp.fixture.forging-emitter");
    }
  }
  CHECK(own == 1);
  CHECK(host.get("/state/config").json()["governor"]["profile"] != "forged");
}
