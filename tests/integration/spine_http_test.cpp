// The request pipeline and host routes against the real host (control.md 10
// checks 1, 3, 5; spec README "Host routes").
#include <catch2/catch.hpp>

#include <regex>

#include <tpark/tp_plugin.h>

#include "integration/test_host.h"

using namespace tpark::test;
using tpark::Json;

TEST_CASE("public_bind_without_a_token_exits_78", "[integration][auth]") {
  TempDir dir;
  HostProcess::Options o;
  o.args = {"--state-dir", dir.file("state")};
  o.env = {{"ARW_BIND", "0.0.0.0"}, {"ARW_PORT", "0"}};
  o.log_path = dir.file("host.log");
  o.wait_for_listening = false;
  HostProcess host(o);
  auto code = host.wait_exit(std::chrono::seconds(20));
  REQUIRE(code.has_value());
  CHECK(*code == 78);
  CHECK_THAT(host.log(), Catch::Contains("ARW_ADMIN_TOKEN"));
  CHECK_THAT(host.log(), Catch::Contains("refusing to bind 0.0.0.0:0"));
}

TEST_CASE("admin_routes_need_the_token_and_public_ones_do_not", "[integration][auth]") {
  TestHost host;
  HttpResult denied = host.get_public("/admin/plugins");
  CHECK(denied.status == 401);
  CHECK(denied.header("content-type").value_or("") == "application/problem+json");
  CHECK(denied.header("www-authenticate").value_or("") == "Bearer realm=\"tpark\"");
  Json p = denied.json();
  CHECK(p["status"] == 401);
  CHECK(p["code"] == "unauthorized");
  CHECK(p["type"] == "about:blank");

  CHECK(host.get_public("/admin/plugins", {{"Authorization", "Bearer t"}}).status == 200);
  CHECK(host.get_public("/admin/plugins", {{"X-ARW-Admin", "t"}}).status == 200);
  CHECK(host.get_public("/admin/plugins", {{"Authorization", "Bearer wrong"}}).status == 401);
  CHECK(host.get_public("/state/events").status == 401);
  CHECK(host.get_public("/state/training/telemetry").status == 401);
  CHECK(host.get_public("/healthz").status == 200);
  CHECK(host.get_public("/metrics").status == 200);
}

TEST_CASE("without_a_token_loopback_clients_are_admin_but_proxied_ones_are_not",
          "[integration][auth]") {
  TestHostOptions options;
  options.with_token = false;
  TestHost host(options);
  CHECK(host.get_public("/admin/plugins").status == 200);
  CHECK(host.get_public("/admin/plugins", {{"X-Forwarded-For", "10.0.0.1"}}).status == 401);
  CHECK(host.get_public("/admin/plugins", {{"Forwarded", "for=10.0.0.1"}}).status == 401);
  CHECK(host.get_public("/admin/plugins", {{"X-Real-IP", "10.0.0.1"}}).status == 401);
}

TEST_CASE("the_fourth_admin_request_in_the_window_is_429", "[integration][ratelimit]") {
  TestHostOptions options;
  options.rate_limit_off = false;
  options.env = {{"ARW_ADMIN_RATE_LIMIT", "3"}};
  TestHost host(options);
  for (int i = 0; i < 3; ++i) REQUIRE(host.get("/admin/plugins").status == 200);
  HttpResult r = host.get("/admin/plugins");
  CHECK(r.status == 429);
  CHECK(r.header("content-type").value_or("") == "application/problem+json");
  Json p = r.json();
  CHECK(p["code"] == "rate_limited");
  CHECK(p["limit"] == 3);
  CHECK(p["window_secs"] == 60);
  auto retry = r.header("retry-after");
  REQUIRE(retry.has_value());
  REQUIRE(std::regex_match(*retry, std::regex("[0-9]+")));
  CHECK(std::stoi(*retry) >= 1);
  CHECK(p["retry_after_s"] == std::stoi(*retry));
  // Public routes are not counted by the admin limiter.
  CHECK(host.get_public("/healthz").status == 200);
}

TEST_CASE("request_ids_are_echoed_and_carried_by_problems", "[integration][pipeline]") {
  TestHost host;
  HttpResult ok = host.get_public("/healthz", {{"x-request-id", "abc-123"}});
  CHECK(ok.header("x-request-id").value_or("") == "abc-123");
  HttpResult missing = host.get("/nope", {{"x-request-id", "abc-123"}});
  CHECK(missing.status == 404);
  CHECK(missing.header("x-request-id").value_or("") == "abc-123");
  CHECK(missing.json()["request_id"] == "abc-123");
  CHECK(missing.json()["code"] == "not_found");

  // An invalid id is replaced by a generated UUIDv4.
  HttpResult generated = host.get_public("/healthz", {{"x-request-id", "bad id with spaces"}});
  std::string id = generated.header("x-request-id").value_or("");
  CHECK(std::regex_match(
      id, std::regex("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")));
}

TEST_CASE("wrong_method_is_405_with_allow", "[integration][pipeline]") {
  TestHost host;
  HttpResult r = host.post("/healthz", "");
  CHECK(r.status == 405);
  CHECK(r.header("allow").value_or("") == "GET");
  CHECK(r.json()["code"] == "method_not_allowed");
}

TEST_CASE("health_ready_and_about_describe_the_boot", "[integration][host]") {
  TestHost host;
  HttpResult health = host.get_public("/healthz");
  CHECK(health.status == 200);
  CHECK(health.body == R"({"status":"ok"})");

  HttpResult ready = host.get_public("/readyz");
  CHECK(ready.status == 200);
  CHECK(ready.json()["ready"] == true);
  CHECK(ready.json()["checks"]["journal"] == true);
  CHECK(ready.json()["checks"]["plugins"] == true);

  Json about = host.get_public("/about").json();
  CHECK(about["name"] == "tpark");
  CHECK(about["abi"]["major"] == 1);
  CHECK(about["abi"]["minor"] == TP_ABI_MINOR);
  CHECK(std::regex_match(about["instance_id"].get<std::string>(), std::regex("[0-9a-f]{16}")));
  CHECK(about["uptime_s"].is_number_integer());
  CHECK(about["perf_preset"]["boot"] == "balanced");
  CHECK(about["perf_preset"]["tier"] == "balanced");
  CHECK(about["perf_preset"]["detected"].is_string());
  std::string started = about["started"];
  CHECK(std::regex_match(started, std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)")));

  // A new boot has a new instance id.
  std::string first = about["instance_id"];
  REQUIRE(host.process().stop() == 0);
  host.start();
  CHECK(host.get_public("/about").json()["instance_id"] != first);
}

TEST_CASE("a_second_host_on_the_same_state_dir_is_refused", "[integration][host]") {
  TestHost host;
  HostProcess::Options o;
  o.args = {"--listen", "127.0.0.1:0", "--state-dir", host.state_dir()};
  o.log_path = host.dir().file("second.log");
  o.wait_for_listening = false;
  HostProcess second(o);
  auto code = second.wait_exit(std::chrono::seconds(20));
  REQUIRE(code.has_value());
  CHECK(*code != 0);
  CHECK_THAT(second.log(), Catch::Contains("in use by another tpark-host"));
  CHECK(host.get_public("/healthz").status == 200);
}

TEST_CASE("sigterm_stops_the_host_cleanly", "[integration][host]") {
  TestHost host;
  REQUIRE(host.post("/events/ingest", "{\"kind\":\"a.b\"}\n").status == 200);
  auto start = std::chrono::steady_clock::now();
  auto code = host.process().stop(std::chrono::seconds(10));
  REQUIRE(code.has_value());
  CHECK(*code == 0);
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(5));
  CHECK_THAT(host.process().log(), Catch::Contains("stopped cleanly"));
}

TEST_CASE("embedded_defaults_start_without_a_config_file", "[integration][host]") {
  TempDir dir;
  HostProcess::Options o;
  o.args = {"--listen", "127.0.0.1:0", "--state-dir", dir.file("state")};
  o.env = {{"TPARK_BUILTIN_PLUGIN_DIR", TPARK_BUILTIN_PLUGIN_DIR}};
  o.log_path = dir.file("host.log");
  HostProcess host(o);
  CHECK(request("GET", "127.0.0.1", host.port(), "/healthz").status == 200);
  Json plugins = request("GET", "127.0.0.1", host.port(), "/admin/plugins").json();
  bool events_loaded = false;
  for (const auto& item : plugins["items"])
    if (item["id"] == "tp.section.events" && item["state"] == "loaded") events_loaded = true;
  CHECK(events_loaded);
}

TEST_CASE("an_invalid_host_yaml_stops_startup_naming_file_line_and_column", "[integration][host]") {
  TempDir dir;
  {
    std::ofstream out(dir.file("host.yaml"));
    out << "schema: tpark.host/v1\nlimits: {http_body_bytes: abc}\n";
  }
  HostProcess::Options o;
  o.args = {"--listen", "127.0.0.1:0", "--state-dir", dir.file("state"), "--config",
            dir.file("host.yaml")};
  o.log_path = dir.file("host.log");
  o.wait_for_listening = false;
  HostProcess host(o);
  auto code = host.wait_exit(std::chrono::seconds(20));
  REQUIRE(code.has_value());
  CHECK(*code == 78);
  CHECK_THAT(host.log(), Catch::Contains("host.yaml:2:"));
  CHECK_THAT(host.log(), Catch::Contains("limits.http_body_bytes"));
}
