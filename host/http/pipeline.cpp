#include "http/pipeline.h"

#include <sodium.h>

#include <algorithm>
#include <stdexcept>
#include <string_view>

#include "util/text.h"

namespace tpark::http {

namespace {

using Digest = std::array<unsigned char, crypto_hash_sha256_BYTES>;

Digest sha256(std::string_view text) {
  Digest out{};
  crypto_hash_sha256(out.data(), reinterpret_cast<const unsigned char*>(text.data()), text.size());
  return out;
}

bool iequals_prefix(std::string_view text, std::string_view lower_prefix) {
  if (text.size() < lower_prefix.size()) return false;
  for (size_t i = 0; i < lower_prefix.size(); ++i) {
    char c = text[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != lower_prefix[i]) return false;
  }
  return true;
}

}  // namespace

AdminAuth::AdminAuth(const AuthSettings& settings) {
  if (sodium_init() < 0) throw std::runtime_error("libsodium failed to initialise");
  if (settings.token) {
    const std::string_view token = trim(*settings.token);
    if (!token.empty()) hashes_.push_back(sha256(token));
  }
  if (settings.token_sha256) {
    const std::string_view hex = trim(*settings.token_sha256);
    if (!hex.empty()) {
      if (hex.size() != 2 * crypto_hash_sha256_BYTES)
        throw std::invalid_argument("ARW_ADMIN_TOKEN_SHA256 must be 64 hex characters");
      Digest decoded{};
      size_t decoded_length = 0;
      if (sodium_hex2bin(decoded.data(), decoded.size(), hex.data(), hex.size(), nullptr,
                         &decoded_length, nullptr) != 0 ||
          decoded_length != decoded.size())
        throw std::invalid_argument("ARW_ADMIN_TOKEN_SHA256 must be 64 hex characters");
      hashes_.push_back(decoded);
    }
  }
}

std::string AdminAuth::presented_token(const Request& request) {
  if (auto auth = request.headers.get("authorization")) {
    const std::string_view value = trim(*auth);
    if (iequals_prefix(value, "bearer ") || iequals_prefix(value, "bearer\t")) {
      const std::string_view token = trim(value.substr(7));
      if (!token.empty()) return std::string(token);
    }
  }
  if (auto header = request.headers.get("x-arw-admin")) {
    const std::string_view token = trim(*header);
    if (!token.empty()) return std::string(token);
  }
  return {};
}

bool AdminAuth::allows(const Request& request) const {
  if (hashes_.empty()) {
    // Without a token only the local machine is trusted, and a forwarding
    // header means a proxy may be relaying a remote client.
    return request.peer_loopback && !request.headers.has("forwarded") &&
           !request.headers.has("x-forwarded-for") && !request.headers.has("x-real-ip");
  }
  const std::string token = presented_token(request);
  if (token.empty()) return false;
  const Digest presented = sha256(token);
  // Compare against every configured digest so timing does not reveal which matched.
  bool match = false;
  for (const auto& expected : hashes_)
    match |= sodium_memcmp(presented.data(), expected.data(), expected.size()) == 0;
  return match;
}

std::string AdminAuth::token_bucket_prefix(const std::string& token) {
  if (token.empty()) return {};
  const Digest digest = sha256(token);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(16, '0');
  for (size_t i = 0; i < 8; ++i) {
    out[2 * i] = kHex[digest[i] >> 4];
    out[2 * i + 1] = kHex[digest[i] & 0x0f];
  }
  return out;
}

RateLimiter::Verdict RateLimiter::count(std::unordered_map<std::string, std::deque<int64_t>>& map,
                                        const std::string& key, uint64_t limit, int64_t now_ms,
                                        bool record) {
  if (limit == 0) return {};
  const int64_t window_ms = static_cast<int64_t>(settings_.window_secs) * 1000;
  std::lock_guard lock(mutex_);

  // Keys of clients that went quiet would otherwise accumulate forever; a
  // sweep at most once per window keeps the cost off the common path.
  if (map.size() > kSweepThresholdKeys && now_ms - last_sweep_ms_ >= window_ms) {
    last_sweep_ms_ = now_ms;
    for (auto* swept : {&buckets_, &failures_}) {
      for (auto it = swept->begin(); it != swept->end();) {
        if (it->second.empty() || it->second.back() + window_ms <= now_ms) it = swept->erase(it);
        else ++it;
      }
    }
  }

  auto it = map.find(key);
  if (it == map.end()) {
    if (!record) return {};
    it = map.emplace(key, std::deque<int64_t>{}).first;
  }
  auto& times = it->second;
  while (!times.empty() && times.front() + window_ms <= now_ms) times.pop_front();
  if (times.size() >= limit) {
    const int64_t wait_ms = times.front() + window_ms - now_ms;
    const uint64_t wait_s = static_cast<uint64_t>((wait_ms + 999) / 1000);
    return {false, std::max<uint64_t>(1, wait_s)};
  }
  if (record) times.push_back(now_ms);
  return {};
}

RateLimiter::Verdict RateLimiter::admit(const std::string& bucket, int64_t now_ms) {
  return count(buckets_, bucket, settings_.limit, now_ms, true);
}

RateLimiter::Verdict RateLimiter::check_failures(const std::string& ip, int64_t now_ms) {
  return count(failures_, ip, settings_.auth_failures, now_ms, false);
}

void RateLimiter::record_failure(const std::string& ip, int64_t now_ms) {
  if (settings_.auth_failures == 0) return;
  const int64_t window_ms = static_cast<int64_t>(settings_.window_secs) * 1000;
  std::lock_guard lock(mutex_);
  auto& times = failures_[ip];
  while (!times.empty() && times.front() + window_ms <= now_ms) times.pop_front();
  times.push_back(now_ms);
  // Only the newest `auth_failures` entries decide a refusal; older ones are noise.
  while (times.size() > settings_.auth_failures) times.pop_front();
}

std::string RateLimiter::client_ip(const Request& request) const {
  if (settings_.trust_forward_headers) {
    if (auto forwarded = request.headers.get("x-forwarded-for")) {
      std::string_view first = *forwarded;
      if (size_t comma = first.find(','); comma != std::string_view::npos)
        first = first.substr(0, comma);
      first = trim(first);
      if (!first.empty()) return std::string(first);
    }
  }
  return request.peer_ip;
}

}  // namespace tpark::http
