// The `cache` section of telemetry.md §2.2 as a plain tally over `tool.cache`
// events, apart from the SDK glue so its rules are unit-tested.
//
// `entries` follows the cache itself: a key is stored by a `miss` with
// `cached:true` and stays until ttl_secs after that event's time. A later
// `miss` without `cached:true`, or an `error`, means the key is not stored
// (any stored value would have been a hit). Hits and coalesced reads find the
// stored entry and leave it as is; `not_cacheable` bypasses the cache. When
// more keys are stored than `capacity`, the oldest stored ones are evicted,
// so the count is the number of live keys capped at capacity.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>

#include <nlohmann/json_fwd.hpp>

namespace tpark::sections::cache {

inline constexpr uint64_t kDefaultCapacity = 2048;            // ARW_TOOLS_CACHE_CAP
inline constexpr uint64_t kDefaultTtlSecs = 600;              // ARW_TOOLS_CACHE_TTL_SECS
inline constexpr uint64_t kDefaultMaxPayloadBytes = 4194304;  // ..._MAX_PAYLOAD_BYTES
// The registry ranges of control.md §3.1.
inline constexpr int64_t kCapacityMin = 0, kCapacityMax = 1000000;
inline constexpr int64_t kTtlSecsMin = 1, kTtlSecsMax = 86400;

struct CacheLimits {
  uint64_t capacity = kDefaultCapacity;
  uint64_t ttl_secs = kDefaultTtlSecs;
  std::optional<uint64_t> max_payload_bytes = kDefaultMaxPayloadBytes;  // null = off
};

enum class CacheOutcome { None, Hit, Miss, Coalesced, Error, Bypass };

// What one event added, for the Prometheus counters and the wake-ups.
struct CacheDelta {
  CacheOutcome outcome = CacheOutcome::None;
  bool payload_too_large = false;
  std::optional<uint64_t> latency_saved_ms;  // hit / coalesced samples
  std::optional<uint64_t> payload_bytes;
  std::optional<int64_t> entry_expires_ms;  // a key was stored until then
};

class CacheTally {
 public:
  // One `tool.cache` event: its compact payload and its time.
  CacheDelta count(std::string_view payload_json, int64_t time_ms, const CacheLimits& limits);
  void clear();

  // Live stored keys at now_ms (expired ones are dropped), capped at capacity.
  uint64_t live_entries(int64_t now_ms, const CacheLimits& limits);
  // When the earliest stored key expires; nullopt when none is stored.
  std::optional<int64_t> next_expiry_ms(const CacheLimits& limits) const;
  // coalesced / (miss + coalesced), 0.0 when both are 0.
  double stampede_suppression_rate() const;

  // The section value, keys in the order of §2.2.
  nlohmann::ordered_json render(int64_t now_ms, const CacheLimits& limits);

 private:
  // A numeric payload field: totals, sample count, last and max.
  struct Samples {
    uint64_t total = 0;
    uint64_t samples = 0;
    std::optional<uint64_t> last;
    std::optional<uint64_t> max;
    void add(uint64_t value);
    double average() const;
  };
  void store(const std::string& key, int64_t time_ms, const CacheLimits& limits);
  void forget(const std::string& key);

  uint64_t hit_ = 0, miss_ = 0, coalesced_ = 0, errors_ = 0, bypass_ = 0, payload_too_large_ = 0;
  Samples latency_saved_ms_, payload_bytes_, hit_age_secs_;
  std::map<std::string, int64_t, std::less<>> stored_ms_by_key_;
  std::set<std::pair<int64_t, std::string>> keys_by_stored_ms_;
};

// Effective capacity and ttl_secs from host state "config" (the
// `GET /state/config` body, control.md §3.2): env.<KEY>.value, as an integer
// or its decimal text. A key that is absent, out of its registry range or
// waiting for a restart (pending_restart: both keys take effect only after
// one) gives nullopt: the running value stands.
struct ConfiguredLimits {
  std::optional<uint64_t> capacity;
  std::optional<uint64_t> ttl_secs;
};
ConfiguredLimits limits_from_config(const nlohmann::json& config);

}  // namespace tpark::sections::cache
