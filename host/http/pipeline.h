// The admin gate of the request pipeline (control.md 1.1-1.2): token check,
// the browser screen for the loopback rule, the JSON content type, and the two
// rate limiters. Pure logic, no sockets; the server calls it after routing and
// before reading the body.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "http/http_types.h"

namespace tpark::http {

struct AuthSettings {
  std::optional<std::string> token;         // ARW_ADMIN_TOKEN (trimmed; unset if blank)
  std::optional<std::string> token_sha256;  // ARW_ADMIN_TOKEN_SHA256, 64 hex chars
};

class AdminAuth {
 public:
  // Throws std::invalid_argument naming ARW_ADMIN_TOKEN_SHA256 if it is not 64 hex.
  explicit AdminAuth(const AuthSettings& settings);
  // True when some token is configured (then public binds are allowed).
  bool configured() const { return !hashes_.empty(); }
  // The presented token (Authorization: Bearer, else X-ARW-Admin), trimmed; empty if none.
  static std::string presented_token(const Request& request);
  // Admin check: a configured token must match (constant time on SHA-256);
  // without tokens, loopback peers pass unless a forwarding header is present.
  bool allows(const Request& request) const;
  // First 16 hex chars of sha256(token) ("" when no token), for rate buckets.
  static std::string token_bucket_prefix(const std::string& token);

 private:
  std::vector<std::array<unsigned char, 32>> hashes_;
};

// Why the screen refused a request: a problem's status, code and detail.
struct Refusal {
  int status = 403;
  std::string code;
  std::string header;  // the request header at fault, e.g. "Origin"
  std::string detail;
};

// The checks after authentication, before anything of the request is acted
// on (docs/control.md, "Browsers and content types"):
// - When admin comes from the loopback rule (no token configured), a web page
//   must not be able to drive the host: the Host header must name a loopback
//   address or localhost (any port), an Origin must be the host's own loopback
//   origin (http, a loopback name, the port Host names), and Sec-Fetch-Site
//   must not be cross-site or same-site (another loopback port is the same
//   site but another origin). 403 host_not_loopback, cross_origin or
//   cross_site.
// - A route with a JSON body (Route::json_body) needs a JSON Content-Type
//   (application/json or application/*+json, parameters allowed) unless the
//   body is empty and no Content-Type is sent: 415 unsupported_media_type.
std::optional<Refusal> screen_request(const Request& request, const Route& route,
                                      bool token_configured);

// The admin gate, in order: the per-IP failure limiter (429), the token (401
// with WWW-Authenticate; a failure is counted), screen_request above, then
// the per-token-and-IP limiter (429). The problem to answer, or nullopt when
// the request may go on to the admin hook and its body.
class RateLimiter;
std::optional<Response> admin_gate(const Request& request, const Route& route,
                                   const AdminAuth& auth, RateLimiter& limiter);

// 429 rate_limited with Retry-After and {limit, window_secs, retry_after_s}.
Response rate_limited(const Request& request, uint64_t limit, uint64_t window_secs,
                      uint64_t retry_after_s);

// Whether a Host header value (or the authority of an Origin) names this
// machine: 127.0.0.0/8, [::1] or localhost, with or without a port.
bool is_loopback_authority(std::string_view authority);
// Whether a Content-Type is JSON: application/json or application/*+json.
bool is_json_media_type(std::string_view content_type);

struct RateSettings {
  uint64_t limit = 600;                // ARW_ADMIN_RATE_LIMIT, 0 disables
  uint64_t window_secs = 60;           // ARW_ADMIN_RATE_WINDOW_SECS
  uint64_t auth_failures = 20;         // failed authentications per IP within the window
  bool trust_forward_headers = false;  // ARW_TRUST_FORWARD_HEADERS=1
};

class RateLimiter {
 public:
  explicit RateLimiter(RateSettings settings) : settings_(settings) {}

  struct Verdict {
    bool allowed = true;
    uint64_t retry_after_s = 0;  // >= 1 when refused
  };
  // Counts one authenticated admin request in bucket "<token16>@<ip>".
  Verdict admit(const std::string& bucket, int64_t now_ms);
  // Before auth: refuses an IP with too many recent failures.
  Verdict check_failures(const std::string& ip, int64_t now_ms);
  void record_failure(const std::string& ip, int64_t now_ms);

  // The client IP for limiting: the socket peer, or, when
  // trust_forward_headers is set, the last X-Forwarded-For hop (the one the
  // trusted proxy appended) if it is an IP address.
  std::string client_ip(const Request& request) const;
  const RateSettings& settings() const { return settings_; }
  // Keys (clients) each limiter map holds at most; the least recently active
  // key makes room for a new one.
  static constexpr size_t kMaxKeys = 16384;
  size_t tracked_keys() const {
    std::lock_guard lock(mutex_);
    return buckets_.size() + failures_.size();
  }

 private:
  Verdict count(std::unordered_map<std::string, std::deque<int64_t>>& map, const std::string& key,
                uint64_t limit, int64_t now_ms, bool record);
  void make_room(std::unordered_map<std::string, std::deque<int64_t>>& map, int64_t now_ms,
                 int64_t window_ms);
  static constexpr size_t kSweepThresholdKeys = 4096;
  RateSettings settings_;
  mutable std::mutex mutex_;
  int64_t last_sweep_ms_ = 0;
  std::unordered_map<std::string, std::deque<int64_t>> buckets_;
  std::unordered_map<std::string, std::deque<int64_t>> failures_;
};

}  // namespace tpark::http
