// tp.section.cache: the `cache` snapshot key (telemetry.md §2.2) and the
// arw_tool_cache_* families (§8).
//
// Counters are lifetime counters: replayed rows are not counted, and a
// re-prime recounts the section without counting a row twice in Prometheus.
// capacity and ttl_secs come from host state "config" when the host serves
// it (re-read on the host's config.* events), else from the env read once.
// Each stored entry's expiry gets a wake-up (read models) and the entries
// gauge follows expiries on a timer, so /metrics is right without renders.
#include <tpark/tp_plugin.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "cache_model.h"
#include "tpark/env/env_settings.h"

namespace {

namespace cache = tpark::sections::cache;
using cache::CacheOutcome;

// The env fallbacks, read once at create (telemetry.md §0).
cache::CacheLimits limits_from_env(const tpark::HostRef& host) {
  namespace env = tpark::env;
  auto warn = [&](const auto& setting) {
    if (setting.warning) host.warn(*setting.warning);
    return setting.value;
  };
  cache::CacheLimits limits;
  limits.capacity = static_cast<uint64_t>(warn(env::parse_int_setting(
      "ARW_TOOLS_CACHE_CAP", env::raw_env("ARW_TOOLS_CACHE_CAP"),
      static_cast<int64_t>(cache::kDefaultCapacity), cache::kCapacityMin, cache::kCapacityMax)));
  limits.ttl_secs = static_cast<uint64_t>(warn(env::parse_int_setting(
      "ARW_TOOLS_CACHE_TTL_SECS", env::raw_env("ARW_TOOLS_CACHE_TTL_SECS"),
      static_cast<int64_t>(cache::kDefaultTtlSecs), cache::kTtlSecsMin, cache::kTtlSecsMax)));
  const auto max_payload = warn(env::parse_int_or_off_setting(
      "ARW_TOOLS_CACHE_MAX_PAYLOAD_BYTES", env::raw_env("ARW_TOOLS_CACHE_MAX_PAYLOAD_BYTES"),
      static_cast<int64_t>(cache::kDefaultMaxPayloadBytes), 0, INT64_MAX,
      {"off", "none", "disabled"}));
  limits.max_payload_bytes =
      max_payload ? std::optional<uint64_t>(static_cast<uint64_t>(*max_payload)) : std::nullopt;
  return limits;
}

class CacheSection final : public tpark::Section {
 public:
  CacheSection(tpark::HostRef host, std::string_view /*config_json*/)
      : Section(host),
        limits_(limits_from_env(host)),
        hits_(host.register_counter("arw_tool_cache_hits_total", "Tool cache hits")),
        miss_(host.register_counter("arw_tool_cache_miss_total", "Tool cache misses")),
        coalesced_(host.register_counter("arw_tool_cache_coalesced_total",
                                         "Tool cache reads coalesced onto an in-flight miss")),
        errors_(host.register_counter("arw_tool_cache_errors_total", "Tool cache errors")),
        bypass_(host.register_counter("arw_tool_cache_bypass_total",
                                      "Tool calls that bypassed the cache (not cacheable)")),
        payload_too_large_(
            host.register_counter("arw_tool_cache_payload_too_large_total",
                                  "Tool results not cached because the payload was too large")),
        latency_saved_seconds_(host.register_counter("arw_tool_cache_latency_saved_seconds_total",
                                                     "Latency saved by cache hits, in seconds")),
        payload_bytes_saved_(host.register_counter("arw_tool_cache_payload_bytes_saved_total",
                                                   "Payload bytes served from the cache")),
        entries_gauge_(host.register_gauge("arw_tool_cache_entries",
                                           "Live tool cache entries (capped at capacity)")),
        stampede_gauge_(host.register_gauge("arw_tool_cache_stampede_suppression_rate",
                                            "coalesced / (miss + coalesced)")) {
    // Label-less series exist from the start, at their true value 0.
    for (uint64_t counter : {hits_, miss_, coalesced_, errors_, bypass_, payload_too_large_,
                             latency_saved_seconds_, payload_bytes_saved_})
      host.metric_add(counter, {}, 0.0);
    host.metric_set(entries_gauge_, {}, 0.0);
    host.metric_set(stampede_gauge_, {}, 0.0);
  }

  void start() override { read_config(/*at_start=*/true); }

  void reset() override {
    tally_.clear();
    update_gauges();
  }

  void on_event(const tpark::EventView& event) override {
    if (event.kind().rfind("config.", 0) == 0) {
      if (event.source() == "host") read_config(/*at_start=*/false);
      return;
    }
    if (event.replay() || event.kind() != "tool.cache") return;
    const cache::CacheDelta delta = tally_.count(event.payload(), event.time_ms(), limits_);
    if (delta.outcome == CacheOutcome::None) return;
    if (delta.entry_expires_ms && *delta.entry_expires_ms > host().now_ms())
      host().wake_at(*delta.entry_expires_ms);
    update_gauges();
    if (event.id() <= metrics_counted_through_id_) return;
    metrics_counted_through_id_ = event.id();
    count_in_metrics(delta);
  }

  bool render(std::string& out) override {
    const int64_t now_ms = host().now_ms();
    const auto next_expiry_ms = tally_.next_expiry_ms(limits_);
    // Between events and expiries the value cannot change: reuse the text.
    if (!dirty_ && !last_render_.empty() && !(next_expiry_ms && *next_expiry_ms <= now_ms)) {
      out = last_render_;
      return false;
    }
    dirty_ = false;
    out = tally_.render(now_ms, limits_).dump();
    const bool changed = out != last_render_;
    if (changed) last_render_ = out;
    return changed;
  }

 private:
  void count_in_metrics(const cache::CacheDelta& delta) {
    switch (delta.outcome) {
      case CacheOutcome::Hit:
        host().metric_add(hits_, {}, 1.0);
        break;
      case CacheOutcome::Miss:
        host().metric_add(miss_, {}, 1.0);
        break;
      case CacheOutcome::Coalesced:
        host().metric_add(coalesced_, {}, 1.0);
        break;
      case CacheOutcome::Error:
        host().metric_add(errors_, {}, 1.0);
        break;
      case CacheOutcome::Bypass:
        host().metric_add(bypass_, {}, 1.0);
        if (delta.payload_too_large) host().metric_add(payload_too_large_, {}, 1.0);
        break;
      case CacheOutcome::None:
        break;
    }
    if (delta.latency_saved_ms)
      host().metric_add(latency_saved_seconds_, {},
                        static_cast<double>(*delta.latency_saved_ms) / 1000.0);
    if (delta.payload_bytes)
      host().metric_add(payload_bytes_saved_, {}, static_cast<double>(*delta.payload_bytes));
  }

  // The live config wins over the env once the host serves it; a key that is
  // absent or waiting for a restart keeps the running value.
  void read_config(bool at_start) {
    const auto text = host().state("config");
    if (!text) return;
    const auto config = nlohmann::json::parse(*text, nullptr, false);
    const cache::ConfiguredLimits configured = cache::limits_from_config(config);
    if (configured.capacity) limits_.capacity = *configured.capacity;
    if (configured.ttl_secs) limits_.ttl_secs = *configured.ttl_secs;
    if (!at_start) update_gauges();
  }

  // Every caller changed the tally, the limits or the clock's view of them.
  void update_gauges() {
    dirty_ = true;
    host().metric_set(entries_gauge_, {},
                      static_cast<double>(tally_.live_entries(host().now_ms(), limits_)));
    host().metric_set(stampede_gauge_, {}, tally_.stampede_suppression_rate());
    schedule_expiry_timer();
  }

  // One one-shot timer at the earliest expiry keeps the entries gauge current.
  void schedule_expiry_timer() {
    const auto next = tally_.next_expiry_ms(limits_);
    if (next == timer_at_ms_) return;
    if (timer_id_ != 0) host().cancel_timer(timer_id_);
    timer_id_ = 0;
    timer_at_ms_ = next;
    if (!next) return;
    const int64_t delay_ms = std::max<int64_t>(*next - host().now_ms(), 0);
    timer_id_ = host().start_timer(std::chrono::milliseconds(delay_ms),
                                   std::chrono::milliseconds(0), [this](uint64_t) {
                                     timer_id_ = 0;
                                     timer_at_ms_.reset();
                                     update_gauges();
                                   });
  }

  cache::CacheLimits limits_;
  const uint64_t hits_, miss_, coalesced_, errors_, bypass_, payload_too_large_;
  const uint64_t latency_saved_seconds_, payload_bytes_saved_;
  const uint64_t entries_gauge_, stampede_gauge_;
  cache::CacheTally tally_;
  int64_t metrics_counted_through_id_ = 0;
  uint64_t timer_id_ = 0;
  std::optional<int64_t> timer_at_ms_;
  bool dirty_ = true;
  std::string last_render_;
};

}  // namespace

TP_SECTION_PLUGIN(CacheSection, "cache")
