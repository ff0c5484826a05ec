// The admin gate of the request pipeline (control.md 1.1-1.2): token check and
// the two rate limiters. Pure logic, no sockets; the server calls it after
// routing and before reading the body.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
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

struct RateSettings {
  uint64_t limit = 600;          // ARW_ADMIN_RATE_LIMIT, 0 disables
  uint64_t window_secs = 60;     // ARW_ADMIN_RATE_WINDOW_SECS
  uint64_t auth_failures = 20;   // failed authentications per IP within the window
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

  // The client IP for limiting: the socket peer, or the first X-Forwarded-For
  // hop when trust_forward_headers is set.
  std::string client_ip(const Request& request) const;
  const RateSettings& settings() const { return settings_; }

 private:
  Verdict count(std::unordered_map<std::string, std::deque<int64_t>>& map, const std::string& key,
                uint64_t limit, int64_t now_ms, bool record);
  static constexpr size_t kSweepThresholdKeys = 4096;
  RateSettings settings_;
  std::mutex mutex_;
  int64_t last_sweep_ms_ = 0;
  std::unordered_map<std::string, std::deque<int64_t>> buckets_;
  std::unordered_map<std::string, std::deque<int64_t>> failures_;
};

}  // namespace tpark::http
