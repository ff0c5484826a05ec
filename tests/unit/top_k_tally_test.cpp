// TopKTally (plugins/common): counts by name in bounded memory, ranked top K
// plus "other" (telemetry.md 2.1 `events.kinds`, 2.2 `totals_by_tool`).
#include <catch2/catch.hpp>

#include <string>

#include <tpark/tally/top_k_tally.h>

using tpark::tally::TopKTally;

namespace {

std::string show(const TopKTally::Ranked& ranked) {
  std::string out;
  for (const auto& [name, count] : ranked)
    out += std::string(name) + "=" + std::to_string(count) + " ";
  return out;
}

}  // namespace

TEST_CASE("top_k_tally_with_k_plus_1_names_lists_k_and_other", "[unit][tally]") {
  TopKTally tally(8, 128);
  tally.add("a.x");
  tally.add("a.x");
  tally.add("b.x");
  tally.add("c.x");
  // K = 2: the two largest, then "other" summing the third, in its rank.
  CHECK(show(tally.top(2, true)) == "a.x=2 b.x=1 other=1 ");
  CHECK(show(tally.top(3, true)) == "a.x=2 b.x=1 c.x=1 ");
  // Without folding, the list is cut at K.
  CHECK(show(tally.top(2, false)) == "a.x=2 b.x=1 ");
}

TEST_CASE("top_k_tally_tracks_at_most_its_cap_and_counts_the_rest_as_other", "[unit][tally]") {
  TopKTally tally(3, 8);
  for (const char* name : {"a.1", "b.2", "c.3", "d.4", "e.5", "a.1"}) tally.add(name);
  CHECK(tally.tracked() == 3);
  CHECK(tally.other() == 2);
  // Longer than the name cap: other, and never tracked.
  CHECK_FALSE(tally.add("toolong.name"));
  CHECK(tally.other() == 3);
  CHECK(show(tally.top(10, false)) == "other=3 a.1=2 b.2=1 c.3=1 ");
  tally.clear();
  CHECK(tally.tracked() == 0);
  CHECK(show(tally.top(10, true)).empty());
}
