#include "http/pipeline.h"

#include <sodium.h>

#include <algorithm>
#include <stdexcept>
#include <string_view>

#include <boost/asio/ip/address.hpp>

#include "http/problem.h"
#include "http/server.h"
#include "util/text.h"
#include "util/time.h"

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

std::string lowercase(std::string_view text) {
  std::string out(text);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

// host[:port] or [v6][:port], split; nullopt when it is not of that shape.
// The port is "" when absent.
struct Authority {
  std::string host;  // lowercased, brackets removed
  std::string port;
};
std::optional<Authority> split_authority(std::string_view text) {
  Authority out;
  std::string_view rest;
  if (!text.empty() && text.front() == '[') {
    const size_t close = text.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    out.host = lowercase(text.substr(1, close - 1));
    rest = text.substr(close + 1);
  } else {
    const size_t colon = text.find(':');
    out.host = lowercase(text.substr(0, colon));
    rest = colon == std::string_view::npos ? std::string_view{} : text.substr(colon);
  }
  if (out.host.empty()) return std::nullopt;
  if (!rest.empty()) {
    if (rest.front() != ':' || rest.size() < 2 || rest.size() > 6) return std::nullopt;
    rest.remove_prefix(1);
    for (char c : rest)
      if (c < '0' || c > '9') return std::nullopt;
    out.port.assign(rest);
  }
  return out;
}

bool loopback_host(const std::string& host) {
  return host == "localhost" || is_loopback_address(host);
}

// The port an authority means, "80" when it names none (plain http only).
std::string effective_port(const Authority& authority) {
  if (authority.port.empty()) return "80";
  std::string_view port = authority.port;
  while (port.size() > 1 && port.front() == '0') port.remove_prefix(1);
  return std::string(port);
}

bool body_is_empty(const Request& request) {
  if (request.headers.has("transfer-encoding")) return false;
  const auto length = request.headers.get("content-length");
  return !length || trim(*length) == "0";
}

Refusal refused(int status, std::string code, std::string header, std::string detail) {
  return Refusal{status, std::move(code), std::move(header), std::move(detail)};
}

std::optional<Refusal> screen_browser(const Request& request) {
  const auto host_header = request.headers.get("host");
  const auto host = host_header ? split_authority(trim(*host_header)) : std::nullopt;
  if (!host || !loopback_host(host->host))
    return refused(403, "host_not_loopback", "Host",
                   "without an admin token the Host header must name this machine "
                   "(127.0.0.1, [::1] or localhost)");
  if (const auto origin = request.headers.get("origin")) {
    const std::string_view value = trim(*origin);
    std::optional<Authority> from;
    if (iequals_prefix(value, "http://")) from = split_authority(value.substr(7));
    if (!from || !loopback_host(from->host) || effective_port(*from) != effective_port(*host))
      return refused(403, "cross_origin", "Origin",
                     "without an admin token only the host's own origin may send requests; "
                     "Origin is " +
                         std::string(value));
  }
  if (const auto site = request.headers.get("sec-fetch-site")) {
    const std::string value = lowercase(trim(*site));
    if (value == "cross-site" || value == "same-site")
      return refused(403, "cross_site", "Sec-Fetch-Site",
                     "without an admin token a request from another site is refused "
                     "(Sec-Fetch-Site: " +
                         value + ")");
  }
  return std::nullopt;
}

}  // namespace

bool is_loopback_authority(std::string_view authority) {
  const auto parsed = split_authority(trim(authority));
  return parsed && loopback_host(parsed->host);
}

bool is_json_media_type(std::string_view content_type) {
  const std::string type = lowercase(trim(content_type.substr(0, content_type.find(';'))));
  if (type == "application/json") return true;
  static constexpr std::string_view kPrefix = "application/", kSuffix = "+json";
  return type.size() > kPrefix.size() + kSuffix.size() && type.rfind(kPrefix, 0) == 0 &&
         type.compare(type.size() - kSuffix.size(), kSuffix.size(), kSuffix) == 0 &&
         type.find('/', kPrefix.size()) == std::string::npos;
}

std::optional<Response> admin_gate(const Request& request, const Route& route,
                                   const AdminAuth& auth, RateLimiter& limiter) {
  const std::string ip = limiter.client_ip(request);
  const int64_t now = tpark::now_ms();
  const RateSettings& settings = limiter.settings();
  if (auto v = limiter.check_failures(ip, now); !v.allowed)
    return rate_limited(request, settings.auth_failures, settings.window_secs, v.retry_after_s);
  if (!auth.allows(request)) {
    limiter.record_failure(ip, now);
    Response r = problem(request, 401, "unauthorized", "admin token required");
    r.set_header("WWW-Authenticate", "Bearer realm=\"tpark\"");
    return r;
  }
  if (auto refusal = screen_request(request, route, auth.configured()))
    return problem(request, refusal->status, refusal->code, refusal->detail,
                   Json{{"header", refusal->header}});
  if (settings.limit != 0) {
    std::string bucket = AdminAuth::token_bucket_prefix(AdminAuth::presented_token(request));
    bucket += '@';
    bucket += ip;
    if (auto v = limiter.admit(bucket, now); !v.allowed)
      return rate_limited(request, settings.limit, settings.window_secs, v.retry_after_s);
  }
  return std::nullopt;
}

Response rate_limited(const Request& request, uint64_t limit, uint64_t window_secs,
                      uint64_t retry_after_s) {
  Response r = problem(
      request, 429, "rate_limited", "too many requests",
      Json{{"limit", limit}, {"window_secs", window_secs}, {"retry_after_s", retry_after_s}});
  r.set_header("Retry-After", std::to_string(retry_after_s));
  return r;
}

std::optional<Refusal> screen_request(const Request& request, const Route& route,
                                      bool token_configured) {
  if (route.access == Access::Admin && !token_configured)
    if (auto refusal = screen_browser(request)) return refusal;
  if (route.json_body) {
    const auto content_type = request.headers.get("content-type");
    if (content_type ? !is_json_media_type(*content_type) : !body_is_empty(request))
      return refused(415, "unsupported_media_type", "Content-Type",
                     "Content-Type must be application/json (or application/*+json); got " +
                         (content_type ? std::string(trim(*content_type)) : std::string("none")));
  }
  return std::nullopt;
}

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
    make_room(map, now_ms, window_ms);
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

// Keeps a map below kMaxKeys: drops the keys whose window has passed, and if
// that is not enough, the key that was active longest ago. Many addresses
// can then only push each other out; the map never grows past the cap.
void RateLimiter::make_room(std::unordered_map<std::string, std::deque<int64_t>>& map,
                            int64_t now_ms, int64_t window_ms) {
  if (map.size() < kMaxKeys) return;
  for (auto it = map.begin(); it != map.end();) {
    if (it->second.empty() || it->second.back() + window_ms <= now_ms)
      it = map.erase(it);
    else
      ++it;
  }
  if (map.size() < kMaxKeys) return;
  auto oldest = std::min_element(map.begin(), map.end(), [](const auto& a, const auto& b) {
    return a.second.back() < b.second.back();
  });
  map.erase(oldest);
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
  if (failures_.find(ip) == failures_.end()) make_room(failures_, now_ms, window_ms);
  auto& times = failures_[ip];
  while (!times.empty() && times.front() + window_ms <= now_ms) times.pop_front();
  times.push_back(now_ms);
  // Only the newest `auth_failures` entries decide a refusal; older ones are noise.
  while (times.size() > settings_.auth_failures) times.pop_front();
}

std::string RateLimiter::client_ip(const Request& request) const {
  if (settings_.trust_forward_headers) {
    // The trusted proxy appends the address it accepted the connection from:
    // the last hop of the last X-Forwarded-For line. Earlier hops are written
    // by the client and prove nothing.
    std::optional<std::string_view> forwarded;
    for (const auto& [name, value] : request.headers.items)
      if (name == "x-forwarded-for") forwarded = value;
    if (forwarded) {
      std::string_view last = *forwarded;
      if (size_t comma = last.rfind(','); comma != std::string_view::npos)
        last = last.substr(comma + 1);
      last = trim(last);
      // Only an address keys a bucket (at most 45 characters for IPv6 with an
      // IPv4 tail); anything else falls back to the socket peer.
      boost::system::error_code ec;
      if (!last.empty() && last.size() <= 45) {
        const auto address = boost::asio::ip::make_address(std::string(last), ec);
        if (!ec) return address.to_string();
      }
    }
  }
  return request.peer_ip;
}

}  // namespace tpark::http
