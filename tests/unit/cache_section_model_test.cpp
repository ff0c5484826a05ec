// The `cache` tally of telemetry.md §2.2: counters by outcome, samples and
// their derived values, entries with TTL expiry and the capacity cap, and the
// live-config limits.
#include <catch2/catch.hpp>

#include <string>

#include <nlohmann/json.hpp>

#include "cache_model.h"

using namespace tpark::sections::cache;

namespace {

constexpr int64_t kT0 = 1700000000000;

std::string empty_cache_json() {
  return R"({"hit":0,"miss":0,"coalesced":0,"errors":0,"bypass":0,"payload_too_large":0,)"
         R"("capacity":2048,"ttl_secs":600,"entries":0,"max_payload_bytes":4194304,)"
         R"("latency_saved_ms_total":0,"latency_saved_samples":0,"avg_latency_saved_ms":0.0,)"
         R"("payload_bytes_saved_total":0,"payload_saved_samples":0,"avg_payload_bytes_saved":0.0,)"
         R"("avg_hit_age_secs":0.0,"hit_age_samples":0,"last_hit_age_secs":null,"max_hit_age_secs":null,)"
         R"("stampede_suppression_rate":0.0,"last_latency_saved_ms":null,"last_payload_bytes":null})";
}

}  // namespace

TEST_CASE("cache_empty_has_every_key_in_order", "[unit][cache]") {
  CacheTally tally;
  CHECK(tally.render(kT0, CacheLimits{}).dump() == empty_cache_json());
}

TEST_CASE("cache_counts_outcomes_and_samples", "[unit][cache]") {
  CacheTally tally;
  const CacheLimits limits;
  CHECK(
      tally
          .count(
              R"({"outcome":"hit","key":"a","latency_saved_ms":30,"payload_bytes":100,"age_secs":4})",
              kT0, limits)
          .outcome == CacheOutcome::Hit);
  const auto coalesced = tally.count(
      R"({"outcome":"coalesced","key":"a","latency_saved_ms":15,"payload_bytes":300,"age_secs":2})",
      kT0, limits);
  CHECK(coalesced.outcome == CacheOutcome::Coalesced);
  CHECK(coalesced.latency_saved_ms == 15);
  CHECK(coalesced.payload_bytes == 300);
  tally.count(R"({"outcome":"miss","key":"b"})", kT0, limits);
  tally.count(R"({"outcome":"miss","key":"c","latency_saved_ms":99})", kT0, limits);  // no sample
  tally.count(R"({"outcome":"error","key":"d"})", kT0, limits);
  tally.count(R"({"outcome":"not_cacheable","reason":"payload_too_large"})", kT0, limits);
  const auto bypass =
      tally.count(R"({"outcome":"not_cacheable","reason":"side_effects"})", kT0, limits);
  CHECK(bypass.outcome == CacheOutcome::Bypass);
  CHECK_FALSE(bypass.payload_too_large);
  CHECK(tally.count(R"({"outcome":"weird"})", kT0, limits).outcome == CacheOutcome::None);
  CHECK(tally.count(R"({"key":"x"})", kT0, limits).outcome == CacheOutcome::None);

  const auto out = tally.render(kT0, limits);
  CHECK(
      out.dump() ==
      R"({"hit":1,"miss":2,"coalesced":1,"errors":1,"bypass":2,"payload_too_large":1,)"
      R"("capacity":2048,"ttl_secs":600,"entries":0,"max_payload_bytes":4194304,)"
      R"("latency_saved_ms_total":45,"latency_saved_samples":2,"avg_latency_saved_ms":22.5,)"
      R"("payload_bytes_saved_total":400,"payload_saved_samples":2,"avg_payload_bytes_saved":200.0,)"
      R"("avg_hit_age_secs":3.0,"hit_age_samples":2,"last_hit_age_secs":2,"max_hit_age_secs":4,)"
      R"("stampede_suppression_rate":0.3333333333333333,"last_latency_saved_ms":15,"last_payload_bytes":300})");
}

TEST_CASE("cache_stampede_suppression_rate_is_coalesced_over_miss_plus_coalesced",
          "[unit][cache]") {
  CacheTally tally;
  const CacheLimits limits;
  CHECK(tally.stampede_suppression_rate() == 0.0);
  tally.count(R"({"outcome":"miss"})", kT0, limits);
  for (int i = 0; i < 3; ++i) tally.count(R"({"outcome":"coalesced"})", kT0, limits);
  CHECK(tally.stampede_suppression_rate() == 0.75);
  CHECK(tally.render(kT0, limits)["stampede_suppression_rate"].dump() == "0.75");
}

TEST_CASE("cache_entries_expire_after_ttl_from_the_event_time", "[unit][cache]") {
  CacheTally tally;
  CacheLimits limits;
  limits.ttl_secs = 10;
  const auto stored = tally.count(R"({"outcome":"miss","key":"a","cached":true})", kT0, limits);
  CHECK(stored.entry_expires_ms == kT0 + 10000);
  tally.count(R"({"outcome":"miss","key":"b","cached":true})", kT0 + 4000, limits);
  // A miss that was not stored stores nothing.
  CHECK_FALSE(tally.count(R"({"outcome":"miss","key":"c","cached":false})", kT0, limits)
                  .entry_expires_ms.has_value());
  // Hits find the stored entry and leave its expiry alone.
  tally.count(R"({"outcome":"hit","key":"a"})", kT0 + 5000, limits);
  CHECK(tally.next_expiry_ms(limits) == kT0 + 10000);
  CHECK(tally.live_entries(kT0 + 9999, limits) == 2);
  CHECK(tally.live_entries(kT0 + 10000, limits) == 1);
  CHECK(tally.next_expiry_ms(limits) == kT0 + 14000);
  CHECK(tally.render(kT0 + 14000, limits)["entries"] == 0);
  CHECK_FALSE(tally.next_expiry_ms(limits).has_value());
}

TEST_CASE("cache_entries_follow_the_latest_store_decision_per_key", "[unit][cache]") {
  CacheTally tally;
  const CacheLimits limits;
  tally.count(R"({"outcome":"miss","key":"a","cached":true})", kT0, limits);
  tally.count(R"({"outcome":"miss","key":"a","cached":true})", kT0 + 1000, limits);
  CHECK(tally.live_entries(kT0 + 1000, limits) == 1);  // distinct keys
  CHECK(tally.next_expiry_ms(limits) == kT0 + 1000 + 600000);
  tally.count(R"({"outcome":"error","key":"a"})", kT0 + 2000, limits);
  CHECK(tally.live_entries(kT0 + 2000, limits) == 0);
  tally.count(R"({"outcome":"miss","key":"b","cached":true})", kT0, limits);
  tally.count(R"({"outcome":"miss","key":"b"})", kT0 + 1, limits);
  CHECK(tally.live_entries(kT0 + 2, limits) == 0);
  // not_cacheable bypasses the cache and does not touch it.
  tally.count(R"({"outcome":"miss","key":"c","cached":true})", kT0, limits);
  tally.count(R"({"outcome":"not_cacheable","key":"c"})", kT0 + 1, limits);
  CHECK(tally.live_entries(kT0 + 2, limits) == 1);
}

TEST_CASE("cache_entries_are_capped_at_capacity_evicting_the_oldest", "[unit][cache]") {
  CacheTally tally;
  CacheLimits limits;
  limits.capacity = 2;
  limits.ttl_secs = 10;
  tally.count(R"({"outcome":"miss","key":"a","cached":true})", kT0, limits);
  tally.count(R"({"outcome":"miss","key":"b","cached":true})", kT0 + 1000, limits);
  tally.count(R"({"outcome":"miss","key":"c","cached":true})", kT0 + 2000, limits);
  CHECK(tally.live_entries(kT0 + 2000, limits) == 2);
  CHECK(tally.next_expiry_ms(limits) == kT0 + 11000);  // a was evicted
  CHECK(tally.live_entries(kT0 + 11000, limits) == 1);

  CacheLimits none = limits;
  none.capacity = 0;
  CacheTally empty;
  CHECK_FALSE(empty.count(R"({"outcome":"miss","key":"a","cached":true})", kT0, none)
                  .entry_expires_ms.has_value());
  CHECK(empty.render(kT0, none)["entries"] == 0);
}

TEST_CASE("cache_limits_come_from_the_live_config_env_block", "[unit][cache]") {
  const auto config = nlohmann::json::parse(R"({"version":3,"env":{
      "ARW_TOOLS_CACHE_CAP":{"value":128,"source":"applied","live":true},
      "ARW_TOOLS_CACHE_TTL_SECS":{"value":"30","source":"env","live":true}}})");
  const ConfiguredLimits limits = limits_from_config(config);
  CHECK(limits.capacity == 128u);
  CHECK(limits.ttl_secs == 30u);

  // Waiting for a restart, out of range, or absent: the running value stands.
  const auto pending = limits_from_config(nlohmann::json::parse(R"({"env":{
      "ARW_TOOLS_CACHE_CAP":{"value":64,"pending_restart":true},
      "ARW_TOOLS_CACHE_TTL_SECS":{"value":0}}})"));
  CHECK_FALSE(pending.capacity.has_value());
  CHECK_FALSE(pending.ttl_secs.has_value());
  CHECK_FALSE(limits_from_config(nlohmann::json(nullptr)).capacity.has_value());
}

TEST_CASE("cache_max_payload_off_renders_null", "[unit][cache]") {
  CacheTally tally;
  CacheLimits limits;
  limits.max_payload_bytes.reset();
  CHECK(tally.render(kT0, limits)["max_payload_bytes"].is_null());
}
