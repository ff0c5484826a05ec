// The held telemetry snapshot (host/telemetry/snapshot_cache.h): served only
// for the generation it was rendered at and for less than its maximum age.
#include <catch2/catch.hpp>

#include <chrono>
#include <memory>

#include "telemetry/snapshot_cache.h"

using namespace tpark;
using namespace std::chrono_literals;

namespace {

std::shared_ptr<const CachedSnapshot> held(const char* text) {
  auto value = std::make_shared<CachedSnapshot>();
  value->text = text;
  return value;
}

}  // namespace

TEST_CASE("snapshot_cache_serves_the_held_value_for_its_generation_until_max_age", "[unit][telemetry]") {
  SnapshotCache cache(1000ms);
  const auto t0 = SnapshotCache::Clock::time_point{} + 5s;
  CHECK(cache.find(0, t0) == nullptr);  // nothing held yet

  cache.store(7, t0, held(",\"events\":{}}"));
  REQUIRE(cache.find(7, t0) != nullptr);
  CHECK(cache.find(7, t0 + 999ms)->text == ",\"events\":{}}");
  CHECK(cache.find(7, t0 + 1000ms) == nullptr);  // M old: render again
  CHECK(cache.find(8, t0 + 1ms) == nullptr);     // something changed since

  cache.store(8, t0 + 2s, held(",\"events\":null}"));
  CHECK(cache.find(7, t0 + 2s) == nullptr);
  CHECK(cache.find(8, t0 + 2s)->text == ",\"events\":null}");
}
