// The control plane's read models (control.md 4.7, telemetry.md 6): each one's
// value is the body of its route, minus the volatile generated fields, and a
// change through the route moves its version.
#include <catch2/catch.hpp>

#include <string>

#include "integration/test_host.h"
#include "util/time.h"

using namespace tpark::test;
using tpark::Json;

namespace {

Json read_model(TestHost& host, const std::string& id) {
  HttpResult r = host.get("/state/read_models/" + id);
  REQUIRE(r.status == 200);
  Json body = r.json();
  CHECK(body["id"] == id);
  return body;
}

Json without_generated(Json value) {
  value.erase("generated");
  value.erase("generated_ms");
  return value;
}

}  // namespace

TEST_CASE("policy_leases_model_is_the_leases_route_and_moves_with_a_new_lease",
          "[integration][read_models][leases]") {
  TestHost host;
  Json before = read_model(host, "policy_leases");
  CHECK(before["value"]["count"] == 0);

  HttpResult created =
      host.post("/leases", R"({"capability":"context:tune","ttl_secs":600,"budget":2})");
  REQUIRE(created.status == 201);

  Json after = read_model(host, "policy_leases");
  CHECK(after["version"].get<int64_t>() == before["version"].get<int64_t>() + 1);
  CHECK(after["instance_id"] == before["instance_id"]);
  REQUIRE(after["value"]["count"] == 1);
  CHECK(after["value"]["items"][0]["id"] == created.json()["id"]);
  CHECK(without_generated(after["value"]) ==
        without_generated(host.get("/state/leases").json()));
}

TEST_CASE("staging_actions_model_lists_a_staged_action_until_it_is_decided",
          "[integration][read_models][staging]") {
  TestHost host;
  REQUIRE(host.post("/leases", R"({"capability":"context:tune"})").status == 201);
  HttpResult staged = host.post("/actions", R"({"kind":"preset.apply","input":{"preset":"turbo"}})");
  REQUIRE(staged.status == 202);
  const std::string id = staged.json()["id"];

  Json pending = read_model(host, "staging_actions");
  REQUIRE(pending["value"]["items"].size() == 1);
  CHECK(pending["value"]["items"][0]["id"] == id);
  CHECK(without_generated(pending["value"]) ==
        without_generated(host.get("/state/staging/actions?status=pending").json()));

  REQUIRE(host.post("/staging/actions/" + id + "/deny", R"({"reason":"no"})").status == 200);
  Json decided = read_model(host, "staging_actions");
  CHECK(decided["value"]["items"].empty());
  CHECK(decided["version"].get<int64_t>() > pending["version"].get<int64_t>());
}

TEST_CASE("policy_capsules_model_lists_an_adopted_capsule", "[integration][read_models][capsules]") {
  TestHost host;
  Json before = read_model(host, "policy_capsules");
  CHECK(before["value"]["count"] == 0);
  Json capsule = {{"id", "cap-rm"},          {"version", "1"},
                  {"issued_at_ms", tpark::now_ms()}, {"issuer", "ops"},
                  {"denies", Json::array()}, {"contracts", Json::array()}};
  REQUIRE(host.post("/admin/policy/capsules/adopt", capsule.dump()).status == 200);
  Json after = read_model(host, "policy_capsules");
  REQUIRE(after["value"]["count"] == 1);
  CHECK(after["value"]["items"][0]["id"] == "cap-rm");
  CHECK(after["version"].get<int64_t>() > before["version"].get<int64_t>());
}
