#include <catch2/catch.hpp>

#include <stdexcept>
#include <string>

#include "http/pipeline.h"

using tpark::http::AdminAuth;
using tpark::http::AuthSettings;
using tpark::http::RateLimiter;
using tpark::http::RateSettings;
using tpark::http::Request;

namespace {

// sha256("s3cret")
constexpr const char* kSecretSha256 = "1ec1c26b50d5d3c58d9583181af8076655fe00756bf7285940ba3670f99fcba0";

Request request_from(const std::string& peer_ip, bool loopback,
                     std::vector<std::pair<std::string, std::string>> headers = {}) {
  Request r;
  r.peer_ip = peer_ip;
  r.peer_loopback = loopback;
  r.headers.items = std::move(headers);
  return r;
}

AuthSettings token_only(std::string token) {
  AuthSettings s;
  s.token = std::move(token);
  return s;
}

AuthSettings sha_only(std::string sha) {
  AuthSettings s;
  s.token_sha256 = std::move(sha);
  return s;
}

}  // namespace

TEST_CASE("presented_token_prefers_bearer_over_x_arw_admin", "[http][auth]") {
  const auto r = request_from("127.0.0.1", true,
                              {{"authorization", "Bearer first"}, {"x-arw-admin", "second"}});
  CHECK(AdminAuth::presented_token(r) == "first");
}

TEST_CASE("presented_token_trims_and_falls_back_to_x_arw_admin", "[http][auth]") {
  CHECK(AdminAuth::presented_token(request_from("", false, {{"authorization", "Bearer   tok \t"}})) == "tok");
  CHECK(AdminAuth::presented_token(request_from("", false, {{"authorization", "bearer tok"}})) == "tok");
  CHECK(AdminAuth::presented_token(request_from("", false, {{"x-arw-admin", "  tok2  "}})) == "tok2");
  // An empty bearer value counts as absent, so the other header is used.
  CHECK(AdminAuth::presented_token(
            request_from("", false, {{"authorization", "Bearer   "}, {"x-arw-admin", "tok3"}})) == "tok3");
  // Another scheme is not a bearer token.
  CHECK(AdminAuth::presented_token(request_from("", false, {{"authorization", "Basic dXNlcjpwYXNz"}})).empty());
  CHECK(AdminAuth::presented_token(request_from("", false, {{"x-arw-admin", "   "}})).empty());
  CHECK(AdminAuth::presented_token(request_from("", false)).empty());
}

TEST_CASE("admin_auth_plain_token_accepts_bearer_and_x_arw_admin", "[http][auth]") {
  const AdminAuth auth(token_only("s3cret"));
  CHECK(auth.configured());
  CHECK(auth.allows(request_from("10.1.2.3", false, {{"authorization", "Bearer s3cret"}})));
  CHECK(auth.allows(request_from("10.1.2.3", false, {{"x-arw-admin", " s3cret "}})));
  CHECK_FALSE(auth.allows(request_from("10.1.2.3", false, {{"authorization", "Bearer wrong"}})));
  CHECK_FALSE(auth.allows(request_from("10.1.2.3", false, {{"authorization", "Bearer s3cret2"}})));
  CHECK_FALSE(auth.allows(request_from("10.1.2.3", false)));
  // With a token configured, loopback is no longer enough.
  CHECK_FALSE(auth.allows(request_from("127.0.0.1", true)));
}

TEST_CASE("admin_auth_sha256_token_is_case_insensitive_hex", "[http][auth]") {
  std::string upper = kSecretSha256;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  for (const std::string& sha : {std::string(kSecretSha256), upper, "  " + upper + "\n"}) {
    const AdminAuth auth(sha_only(sha));
    CHECK(auth.configured());
    CHECK(auth.allows(request_from("10.0.0.9", false, {{"authorization", "Bearer s3cret"}})));
    CHECK_FALSE(auth.allows(request_from("10.0.0.9", false, {{"authorization", "Bearer other"}})));
  }
}

TEST_CASE("admin_auth_accepts_either_configured_token", "[http][auth]") {
  AuthSettings both;
  both.token = "plain-one";
  both.token_sha256 = kSecretSha256;
  const AdminAuth auth(both);
  CHECK(auth.allows(request_from("10.0.0.9", false, {{"x-arw-admin", "plain-one"}})));
  CHECK(auth.allows(request_from("10.0.0.9", false, {{"x-arw-admin", "s3cret"}})));
  CHECK_FALSE(auth.allows(request_from("10.0.0.9", false, {{"x-arw-admin", "neither"}})));
}

TEST_CASE("admin_auth_rejects_malformed_sha256_setting", "[http][auth]") {
  const std::string too_short = "abc";
  std::string non_hex = kSecretSha256;
  non_hex[10] = 'g';
  const std::string too_long = std::string(kSecretSha256) + "0";
  for (const auto& bad : {too_short, non_hex, too_long}) {
    try {
      AdminAuth auth(sha_only(bad));
      FAIL("accepted " << bad);
    } catch (const std::invalid_argument& e) {
      CHECK(std::string(e.what()).find("ARW_ADMIN_TOKEN_SHA256") != std::string::npos);
    }
  }
}

TEST_CASE("admin_auth_whitespace_only_settings_count_as_unset", "[http][auth]") {
  AuthSettings blank;
  blank.token = "   ";
  blank.token_sha256 = " \t ";
  const AdminAuth auth(blank);
  CHECK_FALSE(auth.configured());
  CHECK(auth.allows(request_from("127.0.0.1", true)));
}

TEST_CASE("admin_auth_without_token_trusts_only_direct_loopback_peers", "[http][auth]") {
  const AdminAuth auth(AuthSettings{});
  CHECK_FALSE(auth.configured());
  CHECK(auth.allows(request_from("127.0.0.1", true)));
  CHECK(auth.allows(request_from("::1", true)));
  CHECK_FALSE(auth.allows(request_from("192.168.1.20", false)));
  // A presented token does not help a remote peer when none is configured.
  CHECK_FALSE(auth.allows(request_from("192.168.1.20", false, {{"authorization", "Bearer x"}})));
  for (const char* forwarding : {"forwarded", "x-forwarded-for", "x-real-ip"})
    CHECK_FALSE(auth.allows(request_from("127.0.0.1", true, {{forwarding, "203.0.113.9"}})));
}

TEST_CASE("token_bucket_prefix_is_first_16_hex_of_sha256", "[http][auth]") {
  CHECK(AdminAuth::token_bucket_prefix("s3cret") == std::string(kSecretSha256).substr(0, 16));
  CHECK(AdminAuth::token_bucket_prefix("").empty());
}

TEST_CASE("rate_limiter_refuses_fourth_request_with_limit_3", "[http][rate]") {
  RateLimiter limiter(RateSettings{3, 60, 20, false});
  CHECK(limiter.admit("k@1.2.3.4", 0).allowed);
  CHECK(limiter.admit("k@1.2.3.4", 1000).allowed);
  CHECK(limiter.admit("k@1.2.3.4", 2000).allowed);
  const auto refused = limiter.admit("k@1.2.3.4", 3000);
  CHECK_FALSE(refused.allowed);
  // The request at 0 ms leaves the window at 60000 ms: 57 s from now.
  CHECK(refused.retry_after_s == 57);
}

TEST_CASE("rate_limiter_window_slides_and_retry_after_rounds_up_to_1", "[http][rate]") {
  RateLimiter limiter(RateSettings{3, 60, 20, false});
  for (int64_t t : {0, 1000, 2000}) REQUIRE(limiter.admit("b", t).allowed);
  CHECK_FALSE(limiter.admit("b", 59999).allowed);
  // Refused requests are not counted: at exactly 60000 the first one has left.
  CHECK(limiter.admit("b", 60000).allowed);
  const auto refused = limiter.admit("b", 60800);
  CHECK_FALSE(refused.allowed);
  CHECK(refused.retry_after_s == 1);  // 200 ms left, rounded up
  CHECK(limiter.admit("b", 61000).allowed);
}

TEST_CASE("rate_limiter_limit_0_disables", "[http][rate]") {
  RateLimiter limiter(RateSettings{0, 60, 20, false});
  for (int i = 0; i < 5000; ++i) REQUIRE(limiter.admit("b", 1000).allowed);
}

TEST_CASE("rate_limiter_buckets_are_independent", "[http][rate]") {
  RateLimiter limiter(RateSettings{2, 60, 20, false});
  CHECK(limiter.admit("aaaa@10.0.0.1", 0).allowed);
  CHECK(limiter.admit("aaaa@10.0.0.1", 0).allowed);
  CHECK_FALSE(limiter.admit("aaaa@10.0.0.1", 0).allowed);
  CHECK(limiter.admit("bbbb@10.0.0.1", 0).allowed);
  CHECK(limiter.admit("aaaa@10.0.0.2", 0).allowed);
}

TEST_CASE("auth_failure_limiter_refuses_after_20_failures", "[http][rate]") {
  RateLimiter limiter(RateSettings{600, 60, 20, false});
  for (int i = 0; i < 19; ++i) limiter.record_failure("10.0.0.5", i * 100);
  CHECK(limiter.check_failures("10.0.0.5", 2000).allowed);
  limiter.record_failure("10.0.0.5", 1900);
  const auto refused = limiter.check_failures("10.0.0.5", 2000);
  CHECK_FALSE(refused.allowed);
  CHECK(refused.retry_after_s == 58);  // the failure at 0 ms leaves at 60000 ms
  // Other IPs are unaffected; checking does not count as a failure.
  CHECK(limiter.check_failures("10.0.0.6", 2000).allowed);
  CHECK_FALSE(limiter.check_failures("10.0.0.5", 2000).allowed);
  // Once the first failure leaves the window, 19 remain.
  CHECK(limiter.check_failures("10.0.0.5", 60000).allowed);
}

TEST_CASE("client_ip_uses_forwarded_for_only_when_trusted", "[http][rate]") {
  const auto r = request_from("127.0.0.1", true, {{"x-forwarded-for", " 203.0.113.7 , 10.0.0.1"}});
  CHECK(RateLimiter(RateSettings{600, 60, 20, false}).client_ip(r) == "127.0.0.1");
  CHECK(RateLimiter(RateSettings{600, 60, 20, true}).client_ip(r) == "203.0.113.7");
  CHECK(RateLimiter(RateSettings{600, 60, 20, true}).client_ip(request_from("10.9.9.9", false)) ==
        "10.9.9.9");
}
