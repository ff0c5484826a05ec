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
constexpr const char* kSecretSha256 =
    "1ec1c26b50d5d3c58d9583181af8076655fe00756bf7285940ba3670f99fcba0";

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
  CHECK(AdminAuth::presented_token(
            request_from("", false, {{"authorization", "Bearer   tok \t"}})) == "tok");
  CHECK(AdminAuth::presented_token(request_from("", false, {{"authorization", "bearer tok"}})) ==
        "tok");
  CHECK(AdminAuth::presented_token(request_from("", false, {{"x-arw-admin", "  tok2  "}})) ==
        "tok2");
  // An empty bearer value counts as absent, so the other header is used.
  CHECK(AdminAuth::presented_token(request_from(
            "", false, {{"authorization", "Bearer   "}, {"x-arw-admin", "tok3"}})) == "tok3");
  // Another scheme is not a bearer token.
  CHECK(
      AdminAuth::presented_token(request_from("", false, {{"authorization", "Basic dXNlcjpwYXNz"}}))
          .empty());
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

TEST_CASE("client_ip_uses_the_proxy_appended_last_forwarded_hop_only_when_trusted",
          "[http][rate]") {
  const auto r = request_from("127.0.0.1", true, {{"x-forwarded-for", " 203.0.113.7 , 10.0.0.1"}});
  CHECK(RateLimiter(RateSettings{600, 60, 20, false}).client_ip(r) == "127.0.0.1");
  CHECK(RateLimiter(RateSettings{600, 60, 20, true}).client_ip(r) == "10.0.0.1");
  CHECK(RateLimiter(RateSettings{600, 60, 20, true}).client_ip(request_from("10.9.9.9", false)) ==
        "10.9.9.9");
}

TEST_CASE("client_ip_takes_the_last_forwarded_for_line_and_ignores_client_written_hops",
          "[http][rate]") {
  const RateLimiter trusting(RateSettings{600, 60, 20, true});
  // A client rotating its own first hop keeps the key the proxy gave it.
  for (const char* forged : {"1.1.1.1", "2.2.2.2", "::1"})
    CHECK(trusting.client_ip(request_from(
              "127.0.0.1", true, {{"x-forwarded-for", std::string(forged) + ", 198.51.100.4"}})) ==
          "198.51.100.4");
  CHECK(trusting.client_ip(request_from("127.0.0.1", true,
                                        {{"x-forwarded-for", "1.1.1.1"},
                                         {"x-forwarded-for", "198.51.100.9"}})) == "198.51.100.9");
  CHECK(trusting.client_ip(request_from("127.0.0.1", true,
                                        {{"x-forwarded-for", "a, 2001:db8::7"}})) == "2001:db8::7");
}

TEST_CASE("client_ip_falls_back_to_the_peer_when_the_last_hop_is_not_an_address", "[http][rate]") {
  const RateLimiter trusting(RateSettings{600, 60, 20, true});
  for (const std::string& hop : {std::string("unknown"), std::string(""), std::string(16384, 'a'),
                                std::string("10.0.0.1:80"), std::string("999.1.1.1")})
    CHECK(trusting.client_ip(request_from(
              "10.9.9.9", false, {{"x-forwarded-for", "203.0.113.7, " + hop}})) == "10.9.9.9");
}

TEST_CASE("rate_limiter_maps_stay_below_their_key_cap_evicting_the_least_recently_active",
          "[http][rate]") {
  RateLimiter limiter(RateSettings{1, 60, 1, false});
  const size_t cap = RateLimiter::kMaxKeys;
  // The first key is refused on its second request while it is tracked...
  CHECK(limiter.admit("first", 1000).allowed);
  CHECK_FALSE(limiter.admit("first", 1001).allowed);
  // ...and a flood of new keys within the window never grows the map past the cap.
  for (size_t i = 0; i < cap + 100; ++i) limiter.admit("k" + std::to_string(i), 2000 + int64_t(i));
  for (size_t i = 0; i < cap + 100; ++i)
    limiter.record_failure("f" + std::to_string(i), 2000 + int64_t(i));
  CHECK(limiter.tracked_keys() <= 2 * cap);
  // The least recently active key ("first") was the one pushed out.
  CHECK(limiter.admit("first", 2000 + int64_t(cap) + 200).allowed);
  // The newest keys are still limited.
  CHECK_FALSE(limiter.admit("k" + std::to_string(cap + 99), 2000 + int64_t(cap) + 201).allowed);
  CHECK_FALSE(
      limiter.check_failures("f" + std::to_string(cap + 99), 2000 + int64_t(cap) + 201).allowed);
}

// --- screen_request: browsers and content types ---------------------------

namespace {

using tpark::http::Access;
using tpark::http::Route;
using tpark::http::screen_request;

Route admin_json_route() {
  Route route;
  route.method = "POST";
  route.path_template = "/actions";
  route.access = Access::Admin;
  route.json_body = true;
  return route;
}

Request browser_request(std::vector<std::pair<std::string, std::string>> headers) {
  Request r = request_from("127.0.0.1", true, std::move(headers));
  r.method = "POST";
  return r;
}

// The refusal code, or "" when the request passes.
std::string screened(std::vector<std::pair<std::string, std::string>> headers,
                     bool token_configured = false) {
  auto refusal =
      screen_request(browser_request(std::move(headers)), admin_json_route(), token_configured);
  return refusal ? refusal->code : std::string();
}

const std::pair<std::string, std::string> kJson{"content-type", "application/json"};

}  // namespace

TEST_CASE("screen_without_token_requires_a_loopback_host", "[http][screen]") {
  for (const char* host : {"127.0.0.1:8091", "127.0.0.1", "127.8.9.10:1", "[::1]:8091", "[::1]",
                           "localhost", "LocalHost:8091"})
    CHECK(screened({{"host", host}, kJson}) == "");
  for (const char* host :
       {"evil.example:8091", "evil.example", "192.168.1.4:8091", "[::2]:8091",
        "localhost.evil.example", "127.0.0.1.nip.io:8091", "::1", "", "127.0.0.1:80x", "[::1"})
    CHECK(screened({{"host", host}, kJson}) == "host_not_loopback");
  CHECK(screened({kJson}) == "host_not_loopback");
  const auto refusal = screen_request(browser_request({{"host", "rebound.example:8091"}, kJson}),
                                      admin_json_route(), false);
  REQUIRE(refusal);
  CHECK(refusal->status == 403);
  CHECK(refusal->header == "Host");
}

TEST_CASE("screen_without_token_accepts_only_the_hosts_own_loopback_origin", "[http][screen]") {
  const std::pair<std::string, std::string> host{"host", "127.0.0.1:8091"};
  CHECK(screened({host, {"origin", "http://127.0.0.1:8091"}, kJson}) == "");
  CHECK(screened({host, {"origin", "http://localhost:8091"}, kJson}) == "");
  CHECK(screened({host, {"origin", "http://[::1]:8091"}, kJson}) == "");
  CHECK(screened({{"host", "localhost"}, {"origin", "http://localhost"}, kJson}) == "");
  for (const char* origin :
       {"http://evil.example", "http://localhost:3000", "https://127.0.0.1:8091", "null", "",
        "http://127.0.0.1:8091.evil.example", "file://"})
    CHECK(screened({host, {"origin", origin}, kJson}) == "cross_origin");
}

TEST_CASE("screen_without_token_refuses_cross_site_and_same_site_fetches", "[http][screen]") {
  const std::pair<std::string, std::string> host{"host", "127.0.0.1:8091"};
  CHECK(screened({host, {"sec-fetch-site", "same-origin"}, kJson}) == "");
  CHECK(screened({host, {"sec-fetch-site", "none"}, kJson}) == "");
  CHECK(screened({host, {"sec-fetch-site", "cross-site"}, kJson}) == "cross_site");
  CHECK(screened({host, {"sec-fetch-site", "Same-Site"}, kJson}) == "cross_site");
}

TEST_CASE("screen_with_a_token_leaves_host_and_origin_to_the_token", "[http][screen]") {
  CHECK(screened({{"host", "tpark.example"},
                  {"origin", "https://console.example"},
                  {"sec-fetch-site", "cross-site"},
                  kJson},
                 true) == "");
}

TEST_CASE("screen_leaves_public_routes_alone", "[http][screen]") {
  Route route;
  route.access = Access::Public;
  CHECK_FALSE(screen_request(browser_request({{"host", "evil.example"}}), route, false));
}

TEST_CASE("screen_json_routes_need_a_json_content_type_unless_the_body_is_empty",
          "[http][screen]") {
  const std::pair<std::string, std::string> host{"host", "127.0.0.1:8091"};
  for (const char* type :
       {"application/json", "application/json; charset=utf-8", "Application/JSON",
        "application/merge-patch+json", "application/problem+json;charset=UTF-8"})
    CHECK(screened({host, {"content-type", type}, {"content-length", "2"}}) == "");
  for (const char* type :
       {"text/plain", "application/x-www-form-urlencoded", "multipart/form-data",
        "application/jsonx", "application/+json", "text/json", "application/x/y+json"})
    CHECK(screened({host, {"content-type", type}, {"content-length", "2"}}) ==
          "unsupported_media_type");
  // No Content-Type: only an empty body passes.
  CHECK(screened({host}) == "");
  CHECK(screened({host, {"content-length", "0"}}) == "");
  CHECK(screened({host, {"content-length", "2"}}) == "unsupported_media_type");
  CHECK(screened({host, {"transfer-encoding", "chunked"}}) == "unsupported_media_type");
  const auto refusal = screen_request(
      browser_request({host, {"content-type", "text/plain"}, {"content-length", "2"}}),
      admin_json_route(), true);
  REQUIRE(refusal);
  CHECK(refusal->status == 415);
  CHECK(refusal->header == "Content-Type");
}
