// Hostile request bodies and browser requests against the real host: every
// route with a JSON body (taken from `tpark-host --list-routes`, so a new
// route cannot be forgotten) refuses deeply nested JSON, invalid UTF-8 and
// other content types with a 4xx problem, and a no-token host refuses
// cross-site requests. After each, /healthz answers and every acknowledged
// event is still in the journal.
#include <catch2/catch.hpp>

#include <chrono>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "integration/test_host.h"

using namespace tpark::test;
using tpark::Json;

namespace {

struct JsonRoute {
  std::string method;
  std::string path;  // {id} filled in
};

// The routes the host marks as taking a JSON body.
std::vector<JsonRoute> json_routes() {
  TempDir dir;
  HostProcess::Options o;
  o.args = {"--listen", "127.0.0.1:0", "--state-dir", dir.file("state"), "--list-routes"};
  o.env.emplace_back("TPARK_BUILTIN_PLUGIN_DIR", TPARK_BUILTIN_PLUGIN_DIR);
  o.log_path = dir.file("host.log");
  o.wait_for_listening = false;
  HostProcess host(std::move(o));
  const auto code = host.wait_exit(std::chrono::seconds(60));
  REQUIRE(code == 0);
  static const std::regex line_re(R"(^([A-Z]+) (/\S*) json$)");
  static const std::regex param_re(R"(\{[a-z_]+\})");
  std::vector<JsonRoute> routes;
  std::istringstream lines(host.log());
  for (std::string line; std::getline(lines, line);) {
    std::smatch m;
    if (std::regex_match(line, m, line_re))
      routes.push_back({m[1].str(), std::regex_replace(m[2].str(), param_re,
                                                       "00000000-0000-4000-8000-000000000000")});
  }
  return routes;
}

// Events acknowledged by ingest, and the check that they are all still there.
struct Acknowledged {
  std::vector<int64_t> ids;

  void ingest(TestHost& host, int count) {
    std::string body;
    for (int i = 0; i < count; ++i)
      body += R"({"kind":"hardening.probe","payload":{"i":)" + std::to_string(i) + "}}\n";
    HttpResult r = host.post("/events/ingest", body, {{"Content-Type", "application/x-ndjson"}});
    REQUIRE(r.status == 200);
    const Json answer = r.json();
    REQUIRE(answer["accepted"] == count);
    for (int64_t id = answer["first_id"].get<int64_t>(); id <= answer["last_id"].get<int64_t>();
         ++id)
      ids.push_back(id);
  }

  void check_present(TestHost& host) const {
    std::set<int64_t> found;
    int64_t after = 0;
    for (;;) {
      HttpResult r =
          host.get("/state/events?prefix=hardening.&limit=1000&after=" + std::to_string(after));
      REQUIRE(r.status == 200);
      const Json page = r.json();
      for (const auto& item : page["items"]) found.insert(item["id"].get<int64_t>());
      if (page["items"].empty()) break;
      after = page["next_after"].get<int64_t>();
    }
    for (int64_t id : ids) CHECK(found.count(id) == 1);
  }
};

void check_alive(TestHost& host) {
  const auto start = std::chrono::steady_clock::now();
  HttpResult r = host.get_public("/healthz");
  const auto elapsed = std::chrono::steady_clock::now() - start;
  CHECK(r.status == 200);
  CHECK(host.process().running());
  // Generous on a shared machine; the point is that the host is not stuck.
  CHECK(elapsed < std::chrono::seconds(2));
}

// The events a successful control request would journal.
size_t control_events(TestHost& host) {
  HttpResult r = host.get(
      "/state/events?limit=1000&prefix=actions.&prefix=leases.&prefix=policy."
      "&prefix=config.&prefix=governor.&prefix=staging.");
  REQUIRE(r.status == 200);
  return r.json()["items"].size();
}

std::string deeply_nested(size_t levels) {
  return R"({"kind":"journal.note","input":{"vars":)" + std::string(levels, '[') +
         std::string(levels, ']') + "}}";
}

}  // namespace

TEST_CASE("json_routes_are_listed_by_the_router", "[integration][hardening]") {
  const auto routes = json_routes();
  std::set<std::string> paths;
  for (const auto& route : routes) paths.insert(route.method + " " + route.path);
  CHECK(paths.count("POST /actions") == 1);
  CHECK(paths.count("POST /leases") == 1);
  CHECK(paths.count("POST /admin/policy/capsules/adopt") == 1);
  CHECK(paths.count("POST /events/ingest") == 0);  // NDJSON, not a JSON body
  CHECK(routes.size() >= 10);
}

TEST_CASE("deeply_nested_json_on_every_json_route_is_400_and_the_host_stays_up",
          "[integration][hardening]") {
  TestHost host;
  Acknowledged acked;
  acked.ingest(host, 20);
  // 200,000 levels: 400 KB, inside the 1 MiB body limit; it used to overflow a thread's stack.
  const std::string body = deeply_nested(200000);
  for (const auto& route : json_routes()) {
    INFO(route.method << " " << route.path);
    HttpResult r = request(route.method, "127.0.0.1", host.port(), route.path,
                           {{"X-ARW-Admin", kToken}, {"Content-Type", "application/json"}}, body);
    CHECK(r.status == 400);
    CHECK(r.header("content-type") == "application/problem+json");
    const Json problem = r.json();
    CHECK(problem["code"] == "malformed_json");
    CHECK(problem["errors"][0]["message"].get<std::string>().find("1024") != std::string::npos);
    check_alive(host);
  }
  // The X-ARW-Capsule header goes through the same parser.
  HttpResult header = host.get(
      "/state/policy", {{"X-ARW-Capsule", std::string(3000, '[') + std::string(3000, ']')}});
  CHECK(header.status == 400);
  check_alive(host);
  acked.check_present(host);
}

TEST_CASE("invalid_utf8_on_every_json_route_is_400_problem_json", "[integration][hardening]") {
  TestHost host;
  Acknowledged acked;
  acked.ingest(host, 5);
  const std::vector<std::string> bodies = {
      std::string("{\"kind\":\"journal.note\",\"input\":{\"text\":\"\xff\xfe\"}}"),
      std::string("{\"capability\":\"\xc3\x28\"}"), std::string("{\"\xed\xa0\x80\":1}"),
      std::string("\x80")};
  for (const auto& route : json_routes())
    for (const auto& body : bodies) {
      INFO(route.method << " " << route.path);
      HttpResult r = request(route.method, "127.0.0.1", host.port(), route.path,
                             {{"X-ARW-Admin", kToken}, {"Content-Type", "application/json"}}, body);
      CHECK(r.status == 400);
      CHECK(r.json()["code"] == "malformed_json");  // the problem itself is valid JSON
    }
  check_alive(host);
  acked.check_present(host);
}

TEST_CASE("json_routes_refuse_other_content_types_with_415", "[integration][hardening]") {
  TestHost host;
  const std::string lease = R"({"capability":"notes:write"})";
  for (const auto& route : json_routes())
    for (const char* type :
         {"text/plain", "application/x-www-form-urlencoded", "multipart/form-data"}) {
      INFO(route.method << " " << route.path << " " << type);
      HttpResult r = request(route.method, "127.0.0.1", host.port(), route.path,
                             {{"X-ARW-Admin", kToken}, {"Content-Type", type}}, lease);
      CHECK(r.status == 415);
      const Json problem = r.json();
      CHECK(problem["code"] == "unsupported_media_type");
      CHECK(problem["header"] == "Content-Type");
    }
  // A body without a Content-Type is refused too; an empty one needs none.
  CHECK(request("POST", "127.0.0.1", host.port(), "/leases", {{"X-ARW-Admin", kToken}}, lease)
            .status == 415);
  CHECK(
      request("POST", "127.0.0.1", host.port(), "/leases", {{"X-ARW-Admin", kToken}}, "").status ==
      400);
  CHECK(control_events(host) == 0);
  CHECK(host.post("/leases", lease, {{"Content-Type", "application/json; charset=utf-8"}}).status ==
        201);
  check_alive(host);
}

TEST_CASE("no_token_host_refuses_cross_site_requests_and_changes_nothing",
          "[integration][hardening]") {
  TestHostOptions options;
  options.with_token = false;
  TestHost host(options);
  Acknowledged acked;
  acked.ingest(host, 5);
  const std::string own = "127.0.0.1:" + std::to_string(host.port());
  const HeaderList json = {{"Content-Type", "application/json"}};
  struct Attack {
    HeaderList headers;
    const char* code;
  };
  const std::vector<Attack> attacks = {
      {{{"Origin", "http://evil.example"}}, "cross_origin"},
      {{{"Origin", "null"}}, "cross_origin"},
      {{{"Origin", "http://localhost:3000"}}, "cross_origin"},
      {{{"Host", "rebound.example:" + std::to_string(host.port())}}, "host_not_loopback"},
      {{{"Sec-Fetch-Site", "cross-site"}}, "cross_site"},
      {{{"Sec-Fetch-Site", "same-site"}}, "cross_site"},
  };
  const std::string body =
      R"({"capability":"notes:write","kind":"journal.note","input":{"text":"x"}})";
  for (const auto& route : json_routes())
    for (const auto& attack : attacks) {
      INFO(route.method << " " << route.path << " " << attack.headers[0].first << ": "
                        << attack.headers[0].second);
      HeaderList headers = json;
      headers.insert(headers.end(), attack.headers.begin(), attack.headers.end());
      HttpResult r = request(route.method, "127.0.0.1", host.port(), route.path, headers, body);
      CHECK(r.status == 403);
      CHECK(r.json()["code"] == attack.code);
    }
  // DNS rebinding cannot read the journal or reload plugins either.
  for (const auto& [method, path] : std::vector<std::pair<std::string, std::string>>{
           {"GET", "/state/events"}, {"POST", "/admin/plugins/reload"}, {"DELETE", "/leases/x"}}) {
    HttpResult r = request(method, "127.0.0.1", host.port(), path, {{"Host", "rebound.example"}});
    CHECK(r.status == 403);
  }
  CHECK(control_events(host) == 0);
  CHECK(host.get("/state/leases").json()["items"].empty());
  check_alive(host);
  acked.check_present(host);

  // The host's own page (same origin) keeps working.
  HttpResult own_page = request("POST", "127.0.0.1", host.port(), "/leases",
                                {{"Content-Type", "application/json"},
                                 {"Origin", "http://" + own},
                                 {"Sec-Fetch-Site", "same-origin"}},
                                R"({"capability":"notes:write"})");
  CHECK(own_page.status == 201);
}
