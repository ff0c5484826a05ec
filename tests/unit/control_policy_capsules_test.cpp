// Policy files (control.md 4.4) and capsule documents (4.7) as pure checks.
#include <catch2/catch.hpp>

#include "control/capsules.h"
#include "control/policy.h"

using namespace tpark::control;
using tpark::Json;

TEST_CASE("a_policy_file_replaces_the_rules_and_ties_go_to_the_first_listed", "[control][policy]") {
  std::string error;
  auto policy = policy_from_json(Json::parse(R"({"lease_rules":[
      {"kind_prefix":"net.","capability":"net:first"},
      {"kind_prefix":"net.","capability":"net:second"},
      {"kind_prefix":"net.http.","capability":"net:http"}]})"),
                                 &error);
  REQUIRE(policy);
  CHECK(policy->source == "file");
  CHECK_FALSE(policy->allow_all);
  CHECK(policy->match("net.tcp.open")->capability == "net:first");
  CHECK(policy->match("net.http.get")->capability == "net:http");
  CHECK(policy->match("fs.read") == nullptr);
}

TEST_CASE("malformed_policy_files_name_the_problem", "[control][policy]") {
  std::string error;
  CHECK_FALSE(policy_from_json(Json::array(), &error));
  CHECK_FALSE(policy_from_json(Json::parse(R"({"allow_all":"yes","lease_rules":[]})"), &error));
  CHECK(error == "allow_all must be a boolean");
  CHECK_FALSE(policy_from_json(Json::parse(R"({"lease_rules":[{"kind_prefix":"a."}]})"), &error));
  CHECK(error == "lease_rules.0: expected {kind_prefix,capability} strings");
  CHECK_FALSE(policy_from_json(
      Json::parse(R"({"lease_rules":[{"kind_prefix":"a.","capability":"Bad"}]})"), &error));
  CHECK(error == "lease_rules.0.capability: expected [a-z0-9_.:-]{1,64}");
  auto open = policy_from_json(Json::parse(R"({"allow_all":true,"lease_rules":[]})"), &error);
  REQUIRE(open);
  CHECK(open->allow_all);
}

TEST_CASE("capsule_documents_are_checked_field_by_field", "[control][capsules]") {
  CHECK(capsule_errors(
            Json::parse(R"({"id":"c","version":2,"issued_at_ms":1,"denies":[],"contracts":[]})"))
            .empty());
  auto errors = capsule_errors(Json::parse(
      R"({"id":"","version":true,"issued_at_ms":-1,"hop_ttl":0,"denies":{},"lease_duration_ms":1.5,"signature":5})"));
  std::vector<std::string> fields;
  for (const auto& e : errors) fields.push_back(e.field);
  CHECK(fields == std::vector<std::string>{"id", "version", "issued_at_ms", "hop_ttl", "denies",
                                           "contracts", "lease_duration_ms", "signature"});
  CHECK(capsule_errors(Json::array())[0].field == "");
}

TEST_CASE("the_signed_bytes_are_sorted_compact_json_with_a_null_signature", "[control][capsules]") {
  Json capsule = Json::parse(R"({"version":"1","id":"c","signature":"abc","denies":[]})");
  CHECK(capsule_signing_bytes(capsule) ==
        R"({"denies":[],"id":"c","signature":null,"version":"1"})");
}
