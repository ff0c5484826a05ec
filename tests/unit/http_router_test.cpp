#include <catch2/catch.hpp>

#include "http/http_types.h"

using tpark::http::Access;
using tpark::http::Request;
using tpark::http::Response;
using tpark::http::Route;
using tpark::http::Router;

namespace {

Route route(std::string method, std::string path_template) {
  Route r;
  r.method = std::move(method);
  r.path_template = std::move(path_template);
  r.access = Access::Public;
  r.handler = [](const Request&) { return Response{}; };
  return r;
}

Router sample_router() {
  Router router;
  router.add(route("GET", "/healthz"));
  router.add(route("GET", "/state/read_models/{id}"));
  router.add(route("GET", "/state/read_models/telemetry"));
  router.add(route("POST", "/actions"));
  router.add(route("GET", "/actions/{id}"));
  router.add(route("DELETE", "/actions/{id}"));
  return router;
}

}  // namespace

TEST_CASE("router_matches_literal_path", "[http][router]") {
  const Router router = sample_router();
  const auto m = router.match("GET", "/healthz");
  REQUIRE(m.route != nullptr);
  CHECK(m.route->path_template == "/healthz");
  CHECK(m.path_template == "/healthz");
  CHECK(m.path_known);
  CHECK(m.params.empty());
}

TEST_CASE("router_extracts_path_parameters", "[http][router]") {
  const Router router = sample_router();
  const auto m = router.match("GET", "/state/read_models/context_metrics");
  REQUIRE(m.route != nullptr);
  CHECK(m.path_template == "/state/read_models/{id}");
  REQUIRE(m.params.count("id") == 1);
  CHECK(m.params.at("id") == "context_metrics");
}

TEST_CASE("router_prefers_literal_segment_over_parameter", "[http][router]") {
  const Router router = sample_router();
  const auto m = router.match("GET", "/state/read_models/telemetry");
  REQUIRE(m.route != nullptr);
  CHECK(m.path_template == "/state/read_models/telemetry");
  CHECK(m.params.empty());
}

TEST_CASE("router_unknown_path_is_not_known", "[http][router]") {
  const Router router = sample_router();
  const auto m = router.match("GET", "/nope");
  CHECK(m.route == nullptr);
  CHECK_FALSE(m.path_known);
  CHECK(m.allowed.empty());
  // A different segment count is another path, not a parameter match.
  CHECK_FALSE(router.match("GET", "/state/read_models/a/b").path_known);
  CHECK_FALSE(router.match("GET", "/").path_known);
}

TEST_CASE("router_trailing_slash_is_a_different_path", "[http][router]") {
  const Router router = sample_router();
  const auto m = router.match("GET", "/healthz/");
  CHECK(m.route == nullptr);
  CHECK_FALSE(m.path_known);
}

TEST_CASE("router_wrong_method_lists_allowed_methods_sorted", "[http][router]") {
  const Router router = sample_router();
  const auto m = router.match("PUT", "/actions/abc");
  CHECK(m.route == nullptr);
  CHECK(m.path_known);
  CHECK(m.allowed == std::vector<std::string>{"DELETE", "GET"});

  const auto post_only = router.match("GET", "/actions");
  CHECK(post_only.route == nullptr);
  CHECK(post_only.allowed == std::vector<std::string>{"POST"});
}

TEST_CASE("router_head_matches_get_route", "[http][router]") {
  const Router router = sample_router();
  const auto m = router.match("HEAD", "/healthz");
  REQUIRE(m.route != nullptr);
  CHECK(m.route->method == "GET");
  // HEAD is not implied for routes without GET.
  CHECK(router.match("HEAD", "/actions").route == nullptr);
}

TEST_CASE("router_selects_by_method_on_shared_template", "[http][router]") {
  const Router router = sample_router();
  const auto del = router.match("DELETE", "/actions/x1");
  REQUIRE(del.route != nullptr);
  CHECK(del.route->method == "DELETE");
  CHECK(del.params.at("id") == "x1");
  const auto get = router.match("GET", "/actions/x1");
  REQUIRE(get.route != nullptr);
  CHECK(get.route->method == "GET");
}
