// The `slot` label's cap and stale clock (telemetry.md §8).
#include <catch2/catch.hpp>

#include <string>

#include "context_slot_metrics.h"

namespace cs = tpark::context_section;

TEST_CASE("slot_labels_cap_at_256_names_and_the_rest_are_other", "[context][slots]") {
  cs::SlotLabelRegistry labels;
  for (int i = 0; i < 256; ++i)
    CHECK(labels.label_for("s" + std::to_string(i)) == "s" + std::to_string(i));
  CHECK(labels.label_for("s256") == "other");
  CHECK(labels.label_for("s299") == "other");
  // Known names keep their label; the registry never forgets or makes room.
  CHECK(labels.label_for("s0") == "s0");
  CHECK(labels.label_for("s255") == "s255");
  CHECK(labels.size() == 256);
  CHECK(labels.label_for("s256") == "other");
}

TEST_CASE("empty_and_over_64_byte_slot_names_are_other", "[context][slots]") {
  cs::SlotLabelRegistry labels(4);
  CHECK(labels.label_for("") == "other");
  CHECK(labels.label_for(std::string(65, 'a')) == "other");
  CHECK(labels.label_for(std::string(64, 'a')) == std::string(64, 'a'));
  CHECK(labels.size() == 1);  // the rejected names took no place
}

TEST_CASE("stale_slots_expire_ttl_after_their_last_observation", "[context][slots]") {
  cs::StaleSlotTracker stale(2000);
  CHECK(stale.enabled());
  CHECK_FALSE(stale.next_expiry_ms());
  stale.touch("a", 1000);
  stale.touch("b", 1500);
  CHECK(stale.next_expiry_ms() == 3000);
  stale.touch("a", 2000);  // seen again: its expiry moves
  CHECK(stale.next_expiry_ms() == 3500);
  CHECK(stale.take_expired(3499).empty());
  CHECK(stale.take_expired(3500) == std::vector<std::string>{"b"});
  CHECK(stale.next_expiry_ms() == 4000);
  CHECK(stale.take_expired(4000) == std::vector<std::string>{"a"});
  CHECK(stale.tracked() == 0);
  CHECK_FALSE(stale.next_expiry_ms());
}

TEST_CASE("stale_ttl_0_never_expires", "[context][slots]") {
  cs::StaleSlotTracker never(0);
  CHECK_FALSE(never.enabled());
  never.touch("a", 1);
  CHECK(never.tracked() == 0);
  CHECK_FALSE(never.next_expiry_ms());
}
