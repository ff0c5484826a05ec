// Exporters in the real host (sdk.md "Fixtures": an exporter that blocks
// forever): its queue stays bounded, drops are counted, /admin/plugins marks
// it unhealthy, the rest of the host serves on, and the host still stops
// cleanly. Exporters load only when enabled (README "Host configuration").
#include <catch2/catch.hpp>

#include <thread>

#include <tpark/tp_plugin.h>

#include "integration/test_host.h"

using namespace tpark::test;
using tpark::Json;

namespace {

// Plugin `id`'s /admin/plugins item; fails the test when it is not listed.
Json plugin_item(TestHost& host, const std::string& id) {
  std::optional<Json> item = host.plugin_item(id);
  if (!item) FAIL("plugin " << id << " not listed in /admin/plugins");
  return *item;
}

}  // namespace

TEST_CASE("exporter_loads_only_when_enabled", "[integration][exporter]") {
  TestHostOptions options;
  options.extra_args = {"--plugin-dir", TPARK_FIXTURE_DIR};
  TestHost host(options);
  Json item = plugin_item(host, "tp.fixture.blocking-exporter");
  CHECK(item["state"] == "disabled");
  CHECK(item["reason"] == "not enabled in host.yaml");
  CHECK_FALSE(item.contains("exporter"));
}

TEST_CASE("blocking_exporter_is_bounded_counted_unhealthy_and_the_host_stops_cleanly",
          "[integration][exporter]") {
  TestHostOptions options;
  options.extra_args = {"--plugin-dir", TPARK_FIXTURE_DIR};
  options.env = {{"ARW_EXPORTER_QUEUE_ITEMS", "8"}, {"ARW_EXPORTER_STALL_MS", "200"}};
  options.host_yaml = "schema: tpark.host/v1\n"
                      "plugins:\n"
                      "  tp.fixture.blocking-exporter: {enabled: true}\n";
  TestHost host(options);

  Json item;
  for (int attempt = 0; attempt < 300; ++attempt) {
    item = plugin_item(host, "tp.fixture.blocking-exporter");
    if (item.contains("exporter") && item["exporter"]["dropped"] >= 4 && item["health"]["ok"] == false)
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  INFO(item.dump());
  REQUIRE(item["state"] == "loaded");
  CHECK(item["abi"]["minor"] == TP_ABI_MINOR);  // the header it was built with
  CHECK(item["exporter"]["queue_capacity"] == 8);
  CHECK(item["exporter"]["queue_depth"] <= 8);
  CHECK(item["exporter"]["dropped"] >= 4);
  CHECK(item["exporter"]["sent"] == 0);
  CHECK(item["health"]["ok"] == false);

  // One stuck sink stalls nothing else.
  CHECK(host.get_public("/healthz").status == 200);
  CHECK(host.post("/events/ingest", "{\"kind\":\"a.b\"}\n").status == 200);
  HttpResult snap = host.snapshot();
  REQUIRE(snap.status == 200);
  CHECK(snap.json()["events"]["total"] == 1);

  auto code = host.process().stop(std::chrono::seconds(30));
  REQUIRE(code.has_value());
  CHECK(*code == 0);
  CHECK_THAT(host.process().log(),
             Catch::Contains("plugin tp.fixture.blocking-exporter did not stop within"));
}

TEST_CASE("exporter_is_added_and_removed_by_a_reload_without_a_restart", "[integration][exporter]") {
  TestHostOptions options;
  options.extra_args = {"--plugin-dir", TPARK_FIXTURE_DIR};
  TestHost host(options);
  REQUIRE(plugin_item(host, "tp.fixture.blocking-exporter")["state"] == "disabled");

  host.write_config("schema: tpark.host/v1\n"
                    "plugins:\n"
                    "  tp.fixture.blocking-exporter: {enabled: true}\n");
  HttpResult added = host.post("/admin/plugins/reload", "");
  REQUIRE(added.status == 200);
  CHECK(added.json()["applied"]["added"] == Json::array({"tp.fixture.blocking-exporter"}));
  Json item = plugin_item(host, "tp.fixture.blocking-exporter");
  CHECK(item["state"] == "loaded");
  CHECK(item.contains("exporter"));

  // Removing it stops it: a sink stuck forever is abandoned within the stop
  // timeout, and the reload still answers.
  host.write_config("schema: tpark.host/v1\n");
  HttpResult removed = host.post("/admin/plugins/reload", "");
  REQUIRE(removed.status == 200);
  CHECK(removed.json()["applied"]["removed"] == Json::array({"tp.fixture.blocking-exporter"}));
  item = plugin_item(host, "tp.fixture.blocking-exporter");
  CHECK(item["state"] == "disabled");
  CHECK_FALSE(item.contains("exporter"));
  CHECK(host.get_public("/healthz").status == 200);
}
