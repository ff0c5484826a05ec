// The `feedback` state of telemetry.md §2.3: the signals window, the latest
// suggestions and auto_apply, which only the host may change.
#include <catch2/catch.hpp>

#include <string>

#include "feedback_model.h"

using namespace tpark::sections::feedback;

TEST_CASE("feedback_empty_shape", "[unit][feedback]") {
  FeedbackState state(false);
  CHECK(
      state.render().dump() ==
      R"({"auto_apply":false,"signals":{"count":0,"recent":[]},"suggestions":{"count":0,"sample":[]}})");
  CHECK(FeedbackState(true).render()["auto_apply"] == true);
}

TEST_CASE("feedback_signals_window_keeps_200_and_shows_5_newest_first", "[unit][feedback]") {
  FeedbackState state(false);
  for (int i = 1; i <= 205; ++i)
    CHECK(state.apply(
        "feedback.signal", "ingest",
        R"({"id":"s)" + std::to_string(i) +
            R"(","ts":"2024-01-01T00:00:00.000Z","kind":"latency","target":"route","confidence":1,"severity":2})"));
  const auto out = state.render();
  CHECK(out["signals"]["count"] == 200);
  REQUIRE(out["signals"]["recent"].size() == 5);
  CHECK(
      out["signals"]["recent"][0].dump() ==
      R"({"id":"s205","ts":"2024-01-01T00:00:00.000Z","kind":"latency","target":"route","confidence":1.0,"severity":2})");
  CHECK(out["signals"]["recent"][4]["id"] == "s201");
}

TEST_CASE("feedback_signal_fields_missing_or_mistyped_are_null", "[unit][feedback]") {
  FeedbackState state(false);
  state.apply("feedback.signal", "ingest", R"({"confidence":"high","severity":-1,"extra":1})");
  CHECK(state.render()["signals"]["recent"][0].dump() ==
        R"({"id":null,"ts":null,"kind":null,"target":null,"confidence":null,"severity":null})");
}

TEST_CASE("feedback_suggestions_come_from_the_latest_event", "[unit][feedback]") {
  FeedbackState state(false);
  state.apply("feedback.suggested", "ingest",
              R"({"version":1,"suggestions":[{"id":"old","action":"x"}]})");
  state.apply("feedback.suggested", "ingest", R"({"version":2,"suggestions":[
      {"id":"a","action":"hint","confidence":0.5,"rationale":"r1","params":{"z":1,"a":2},"other":0},
      {"id":"b","action":"hint"},
      {"id":"c","action":"preset","confidence":1},
      {"id":"d","action":"hint"}]})");
  const auto out = state.render();
  CHECK(out["suggestions"].dump() ==
        R"({"count":4,"sample":[)"
        R"({"id":"a","action":"hint","confidence":0.5,"rationale":"r1","params":{"z":1,"a":2}},)"
        R"({"id":"b","action":"hint","confidence":null,"rationale":null,"params":null},)"
        R"({"id":"c","action":"preset","confidence":1.0,"rationale":null,"params":null}]})");
}

TEST_CASE("feedback_auto_apply_follows_only_host_updates", "[unit][feedback]") {
  FeedbackState state(false);
  CHECK_FALSE(state.apply("feedback.updated", "ingest", R"({"auto_apply":true})"));
  CHECK(state.render()["auto_apply"] == false);
  CHECK(state.apply("feedback.updated", "host", R"({"auto_apply":true})"));
  CHECK(state.render()["auto_apply"] == true);
  CHECK_FALSE(state.apply("feedback.updated", "host", R"({"auto_apply":"no"})"));
  CHECK(state.render()["auto_apply"] == true);
  state.clear();
  CHECK(state.render()["auto_apply"] == false);  // back to the env default
}
