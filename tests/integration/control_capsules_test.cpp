// The policy capsule store through the real host (control.md 4.7) and the
// capsules section it feeds (telemetry.md 5, section 11 check 9).
#include <catch2/catch.hpp>

#include <sodium.h>

#include <chrono>
#include <fstream>
#include <thread>

#include "control/validation.h"
#include "integration/test_host.h"
#include "util/time.h"

using namespace tpark::test;
using tpark::Json;

namespace {

Json capsule(const std::string& id, std::optional<int64_t> lease_ms = std::nullopt) {
  Json c = {{"id", id},
            {"version", "1"},
            {"issued_at_ms", tpark::now_ms()},
            {"issuer", "ops"},
            {"hop_ttl", 3},
            {"denies", Json::array({"net.*"})},
            {"contracts", Json::array()}};
  if (lease_ms) c["lease_duration_ms"] = *lease_ms;
  return c;
}

HttpResult adopt(TestHost& host, const Json& c) {
  return host.post("/admin/policy/capsules/adopt", c.dump());
}

}  // namespace

TEST_CASE("telemetry_check_9_capsules_4m59s_vs_5m01s", "[integration][capsules]") {
  TestHost host;
  REQUIRE(adopt(host, capsule("A", 299000)).status == 200);
  std::this_thread::sleep_for(std::chrono::milliseconds(10));
  REQUIRE(adopt(host, capsule("B", 301000)).status == 200);
  Json section = host.snapshot().json()["capsules"];
  CHECK(section["count"] == 2);
  CHECK(section["expiring_soon"] == 1);
  CHECK(section["expired"] == 0);
  CHECK(section["status_counts"] == Json({{"active", 1}, {"expiring", 1}}));
  REQUIRE(section["sample"].size() == 2);
  CHECK(section["sample"][0]["id"] == "B");
  CHECK(section["sample"][0]["status"] == "active");
  CHECK_THAT(section["sample"][0]["status_label"].get<std::string>(),
             Catch::StartsWith("Active \u2013 expires in 5 minutes"));
  CHECK(section["sample"][1]["id"] == "A");
  CHECK(section["sample"][1]["status"] == "expiring");
  CHECK_THAT(section["sample"][1]["status_label"].get<std::string>(),
             Catch::StartsWith("Expiring soon \u2013 4 minutes"));
  CHECK(section["accessible_summary"] ==
        "1 capsule healthy; 0 awaiting renewal; 1 expiring; 0 expired.");
  CHECK(section["next_expiry_id"] == "A");

  TestHostOptions wide;
  wide.env = {{"ARW_CAPSULE_EXPIRING_SOON_MS", "60000"}};
  TestHost other(wide);
  REQUIRE(adopt(other, capsule("A", 299000)).status == 200);
  REQUIRE(adopt(other, capsule("B", 301000)).status == 200);
  Json relaxed = other.snapshot().json()["capsules"];
  CHECK(relaxed["status_counts"] == Json({{"active", 2}}));
  CHECK(relaxed["expiring_soon"] == 0);
}

TEST_CASE("capsules_are_stored_renewed_listed_and_torn_down", "[integration][capsules]") {
  TestHost host;
  HttpResult first = adopt(host, capsule("c1", 60000));
  REQUIRE(first.status == 200);
  Json item = first.json()["capsule"];
  CHECK(item["remaining_hops"] == 2);
  CHECK(item["lease_until_ms"] == item["applied_ms"].get<int64_t>() + 60000);
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  Json renewed = adopt(host, capsule("c1", 60000)).json()["capsule"];
  CHECK(renewed["applied_ms"].get<int64_t>() > item["applied_ms"].get<int64_t>());
  // The header form, raw and base64.
  CHECK(host.get("/state/leases", {{"X-ARW-Capsule", capsule("c2").dump()}}).status == 200);
  const std::string b64 = tpark::control::encode_base64(capsule("c3", 1000).dump());
  CHECK(host.get("/state/leases", {{"X-ARW-Capsule", b64}}).status == 200);
  CHECK(host.get("/state/leases", {{"X-ARW-Capsule", "not a capsule"}}).status == 400);

  Json list = host.get("/state/policy/capsules").json();
  CHECK(list["count"] == 3);
  CHECK(list["items"][0]["id"] == "c3");
  CHECK(list["items"][0]["denies_count"] == 1);

  // c3's 1 s lease expires; it stays listed as expired and is reported once.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  size_t expired_events = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    expired_events = host.get("/state/events?prefix=policy.capsule.expired").json()["items"].size();
    if (expired_events) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  CHECK(expired_events == 1);
  Json after = host.get("/state/policy/capsules").json();
  CHECK(after["count"] == 3);
  CHECK(after["items"][0]["status"] == "expired");

  Json dry =
      host.post("/admin/policy/capsules/teardown", R"({"ids":["c1","zz"],"dry_run":true})").json();
  CHECK(dry["removed"] == Json::array({"c1"}));
  CHECK(dry["dry_run"] == true);
  CHECK(host.get("/state/policy/capsules").json()["count"] == 3);
  Json all = host.post("/admin/policy/capsules/teardown", R"({"all":true})").json();
  CHECK(all["removed"].size() == 3);
  CHECK(host.get("/state/policy/capsules").json()["count"] == 0);
  CHECK(host.post("/admin/policy/capsules/teardown", "{}").status == 400);
  CHECK(host.get("/state/events?prefix=policy.capsule.teardown").json()["items"].size() == 1);
}

TEST_CASE("malformed_capsules_and_the_legacy_gate_header_are_refused", "[integration][capsules]") {
  TestHost host;
  HttpResult bad = host.post("/admin/policy/capsules/adopt", R"({"id":"","denies":{}})");
  REQUIRE(bad.status == 400);
  CHECK(bad.json()["code"] == "invalid_capsule");
  CHECK(bad.json()["errors"][0]["field"] == "id");
  HttpResult gate = host.get("/state/leases", {{"X-ARW-Gate", "anything"}});
  CHECK(gate.status == 410);
  CHECK(gate.json()["code"] == "capsule_header_legacy");
  CHECK(host.get("/state/leases", {{"X-ARW-Gate", ""}}).status == 200);
  CHECK(host.snapshot().json()["compatibility"]["legacy_capsule_headers"] == 2);
}

TEST_CASE("with_a_trust_store_only_signed_capsules_of_listed_issuers_verify",
          "[integration][capsules]") {
  REQUIRE(sodium_init() >= 0);
  unsigned char pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
  crypto_sign_keypair(pk, sk);
  TempDir keys;
  const std::string trust = keys.file("trust.json");
  std::ofstream(trust) << Json{{"issuers",
                                Json::array(
                                    {{{"id", "ops"},
                                      {"alg", "ed25519"},
                                      {"key_b64", tpark::control::encode_base64(std::string(
                                                      reinterpret_cast<char*>(pk), sizeof pk))}}})}}
                              .dump();
  TestHostOptions options;
  options.env = {{"ARW_TRUST_CAPSULES", trust}};
  TestHost host(options);

  auto sign = [&](Json c) {
    // The canonical form: sorted keys, compact, signature null.
    nlohmann::json canonical = nlohmann::json::parse(c.dump());
    canonical["signature"] = nullptr;
    const std::string message = canonical.dump();
    unsigned char sig[crypto_sign_BYTES];
    crypto_sign_detached(sig, nullptr, reinterpret_cast<const unsigned char*>(message.data()),
                         message.size(), sk);
    c["signature"] =
        tpark::control::encode_base64(std::string(reinterpret_cast<char*>(sig), sizeof sig));
    return c;
  };
  CHECK(adopt(host, sign(capsule("signed", 60000))).status == 200);
  HttpResult unsigned_capsule = adopt(host, capsule("unsigned"));
  CHECK(unsigned_capsule.status == 403);
  CHECK(unsigned_capsule.json()["code"] == "capsule_verification_failed");
  Json tampered = sign(capsule("tampered"));
  tampered["hop_ttl"] = 9;
  CHECK(adopt(host, tampered).status == 403);
  Json stranger = capsule("stranger");
  stranger["issuer"] = "someone-else";
  CHECK(adopt(host, sign(stranger)).status == 403);
  CHECK(host.get("/state/policy/capsules").json()["count"] == 1);
  CHECK(host.get("/state/events?prefix=policy.capsule.failed").json()["items"].size() == 3);
}
