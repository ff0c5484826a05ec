// The `tools` tally of telemetry.md §2.2 and the `tool` label cap of §8.
#include <catch2/catch.hpp>

#include <string>

#include <nlohmann/json.hpp>

#include "tools_model.h"

using namespace tpark::sections::tools;

TEST_CASE("tools_empty_is_the_check_1_shape", "[unit][tools]") {
  ToolsTally tally;
  CHECK(tally.render().dump() ==
        R"({"completed":0,"failed":0,"total_runs":0,"success_rate":null,"totals_by_tool":[]})");
}

TEST_CASE("tools_count_runs_not_from_the_host_check_19", "[unit][tools]") {
  ToolsTally tally;
  CHECK(tally.count("actions.completed", "ingest", "{}").event == ToolEvent::Completed);
  // The host's own config action reports actions.completed with source host: not a tool run.
  CHECK(tally.count("actions.completed", "host", R"({"kind":"preset.apply"})").event ==
        ToolEvent::None);
  CHECK(tally.count("actions.failed", "host", "{}").event == ToolEvent::None);
  CHECK(tally.count("actions.completed", "nats", "{}").event == ToolEvent::Completed);
  CHECK(tally.count("actions.failed", "ingest", "{}").event == ToolEvent::Failed);
  CHECK(tally.count("actions.submitted", "ingest", "{}").event == ToolEvent::None);
  CHECK(
      tally.render().dump() ==
      R"({"completed":2,"failed":1,"total_runs":3,"success_rate":0.6666666666666666,"totals_by_tool":[]})");
}

TEST_CASE("tools_success_rate_is_completed_over_runs", "[unit][tools]") {
  ToolsTally tally;
  tally.count("actions.completed", "ingest", "{}");
  CHECK(tally.render()["success_rate"].dump() == "1.0");
  tally.count("actions.failed", "ingest", "{}");
  CHECK(tally.render()["success_rate"].dump() == "0.5");
}

TEST_CASE("tools_totals_by_tool_keep_12_by_count_then_id", "[unit][tools]") {
  ToolsTally tally;
  auto accept = [&](const std::string& id, int times) {
    for (int i = 0; i < times; ++i)
      REQUIRE(tally.count("modular.tool.accepted", "ingest", R"({"tool_id":")" + id + R"("})")
                  .tool_id == id);
  };
  accept("web.search", 3);
  accept("fs.read", 3);
  accept("calc", 5);
  for (int i = 0; i < 12; ++i) accept("t" + std::to_string(10 + i), 1);
  // No tool id, an empty one or a non-string one names no tool.
  CHECK(tally.count("modular.tool.accepted", "ingest", "{}").event == ToolEvent::None);
  CHECK(tally.count("modular.tool.accepted", "ingest", R"({"tool_id":""})").event ==
        ToolEvent::None);
  CHECK(tally.count("modular.tool.accepted", "ingest", R"({"tool_id":7})").event ==
        ToolEvent::None);

  const auto totals = tally.render()["totals_by_tool"];
  REQUIRE(totals.size() == kTotalsByToolMax);
  CHECK(totals[0].dump() == R"({"tool_id":"calc","count":5})");
  CHECK(totals[1].dump() == R"({"tool_id":"fs.read","count":3})");
  CHECK(totals[2].dump() == R"({"tool_id":"web.search","count":3})");
  CHECK(totals[3].dump() == R"({"tool_id":"t10","count":1})");
  CHECK(totals[11].dump() == R"({"tool_id":"t18","count":1})");
  // Tool acceptances are not runs.
  CHECK(tally.render()["total_runs"] == 0);
}

TEST_CASE("tools_clear_drops_every_count", "[unit][tools]") {
  ToolsTally tally;
  tally.count("actions.completed", "ingest", "{}");
  tally.count("modular.tool.accepted", "ingest", R"({"tool_id":"x"})");
  tally.clear();
  CHECK(tally.render().dump() ==
        R"({"completed":0,"failed":0,"total_runs":0,"success_rate":null,"totals_by_tool":[]})");
}

TEST_CASE("tool_label_keeps_64_names_then_other", "[unit][tools]") {
  ToolLabelCap cap;
  for (int i = 0; i < 64; ++i)
    CHECK(cap.label_for("tool" + std::to_string(i)) == "tool" + std::to_string(i));
  CHECK(cap.label_for("tool64") == "other");
  CHECK(cap.label_for("tool0") == "tool0");  // a known name keeps its label
  CHECK(cap.label_for("tool65") == "other");
}

TEST_CASE("tools_tally_counts_256_tool_ids_by_name_then_other", "[unit][tools]") {
  ToolsTally tally;
  auto accept = [&](const std::string& id) {
    tally.count("modular.tool.accepted", "ingest", R"({"tool_id":")" + id + R"("})");
  };
  for (size_t i = 0; i < kToolsTrackedMax; ++i) accept("t" + std::to_string(1000 + i));
  // The 257th distinct id, and an id longer than 128 bytes, count under "other".
  accept("late.tool");
  accept(std::string(kToolIdBytesMax + 1, 'x'));
  accept("t1000");  // a tracked id still counts by name
  const auto totals = tally.render()["totals_by_tool"];
  REQUIRE(totals.size() == kTotalsByToolMax);
  CHECK(totals[0].dump() == R"({"tool_id":"other","count":2})");
  CHECK(totals[1].dump() == R"({"tool_id":"t1000","count":2})");
  CHECK(totals[2].dump() == R"({"tool_id":"t1001","count":1})");
}

TEST_CASE("tool_label_longer_than_64_bytes_is_other", "[unit][tools]") {
  ToolLabelCap cap;
  CHECK(cap.label_for(std::string(kToolLabelBytesMax, 'a')) == std::string(kToolLabelBytesMax, 'a'));
  CHECK(cap.label_for(std::string(kToolLabelBytesMax + 1, 'a')) == "other");
}
