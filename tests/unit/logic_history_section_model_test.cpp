// The `logic_history` list of telemetry.md §2.3: the host's five logic-unit
// kinds, newest first, at most 10.
#include <catch2/catch.hpp>

#include <string>

#include "logic_history_model.h"

using namespace tpark::sections::logic_history;

TEST_CASE("logic_history_empty_is_an_empty_array", "[unit][logic_history]") {
  CHECK(LogicHistory().render().dump() == "[]");
}

TEST_CASE("logic_history_keeps_10_newest_first", "[unit][logic_history]") {
  LogicHistory history;
  const char* kinds[] = {"logic.unit.suggested", "logic.unit.installed", "logic.unit.dry_run",
                         "logic.unit.applied", "logic.unit.reverted"};
  for (int i = 0; i < 12; ++i) {
    const std::string time =
        "2024-01-01T00:00:" + std::string(i < 10 ? "0" : "") + std::to_string(i) + ".000Z";
    CHECK(history.add(kinds[i % 5], "host", time,
                      R"({"id":"u)" + std::to_string(i) + R"(","via":"api"})"));
  }
  const auto out = history.render();
  REQUIRE(out.size() == kHistoryMax);
  CHECK(
      out[0].dump() ==
      R"({"time":"2024-01-01T00:00:11.000Z","kind":"logic.unit.installed","payload":{"id":"u11","via":"api"}})");
  CHECK(out[1]["kind"] == "logic.unit.suggested");
  CHECK(out[9]["payload"]["id"] == "u2");
}

TEST_CASE("logic_history_ignores_other_sources_and_kinds", "[unit][logic_history]") {
  LogicHistory history;
  CHECK_FALSE(history.add("logic.unit.applied", "ingest", "2024-01-01T00:00:00.000Z", "{}"));
  CHECK_FALSE(history.add("logic.unit.applied", "nats", "2024-01-01T00:00:00.000Z", "{}"));
  CHECK_FALSE(history.add("logic.unit.deleted", "host", "2024-01-01T00:00:00.000Z", "{}"));
  CHECK(history.render().dump() == "[]");
}

TEST_CASE("logic_history_shows_the_persisted_rows_newest_first_without_seq",
          "[unit][logic_history]") {
  LogicHistory history;
  history.add("logic.unit.dry_run", "host", "2024-01-01T00:00:00.000Z", R"({"id":"from-event"})");
  std::string state = R"({"items":[)";
  for (int seq = 12; seq >= 1; --seq) {
    if (seq != 12) state += ",";
    state +=
        R"({"seq":)" + std::to_string(seq) +
        R"(,"time":"2024-01-01T00:00:00.000Z","kind":"logic.unit.dry_run","payload":{"id":"u)" +
        std::to_string(seq) + R"(","diff_summary":[]}})";
  }
  state += "]}";
  REQUIRE(history.load_rows(state));
  const auto out = history.render();
  REQUIRE(out.size() == kHistoryMax);
  CHECK(
      out[0].dump() ==
      R"({"time":"2024-01-01T00:00:00.000Z","kind":"logic.unit.dry_run","payload":{"id":"u12","diff_summary":[]}})");
  CHECK(out[9]["payload"]["id"] == "u3");
}

TEST_CASE("logic_history_keeps_its_list_when_the_rows_are_not_a_history_document",
          "[unit][logic_history]") {
  LogicHistory history;
  history.add("logic.unit.applied", "host", "2024-01-01T00:00:00.000Z", R"({"id":"a"})");
  CHECK_FALSE(history.load_rows("null"));
  CHECK_FALSE(history.load_rows(R"({"items":3})"));
  CHECK(history.render().size() == 1);
  CHECK(history.load_rows(R"({"items":[]})"));
  CHECK(history.render().dump() == "[]");
}
