// The GET /events query parser (host/live/event_stream_query.h, telemetry.md 7).
#include <catch2/catch.hpp>

#include "live/event_stream_query.h"

using tpark::live::EventStreamQueryError;
using tpark::live::EventStreamRequest;
using tpark::live::parse_event_stream_query;

TEST_CASE("event_stream_query_reads_prefixes_read_models_and_replay", "[live][query]") {
  EventStreamRequest out;
  const auto error = parse_event_stream_query({{"prefix", "Actions.,config."},
                                               {"prefix", "actions."},
                                               {"read_models", " a, ,b"},
                                               {"replay", "5"}},
                                              std::nullopt, 1000, out);
  REQUIRE_FALSE(error);
  CHECK(out.prefixes == std::vector<std::string>{"actions.", "config."});
  CHECK(out.read_models == std::vector<std::string>{"a", "b"});
  CHECK(out.mode == EventStreamRequest::Mode::Recent);
  CHECK(out.replay_count == 5);
}

TEST_CASE("event_stream_query_prefers_last_event_id_over_after_over_replay", "[live][query]") {
  EventStreamRequest out;
  REQUIRE_FALSE(parse_event_stream_query({{"after", "7"}, {"replay", "x"}}, " 9 ", 10, out));
  CHECK(out.mode == EventStreamRequest::Mode::After);
  CHECK(out.after == 9);
  CHECK(out.resume_from == "9");
  REQUIRE_FALSE(parse_event_stream_query({{"after", "7"}, {"replay", "x"}}, std::nullopt, 10, out));
  CHECK(out.after == 7);
}

TEST_CASE("event_stream_query_names_the_field_it_refuses", "[live][query]") {
  EventStreamRequest out;
  auto bad_header = parse_event_stream_query({}, "-1", 10, out);
  REQUIRE(bad_header);
  CHECK(bad_header->kind == EventStreamQueryError::Kind::InvalidResumeId);
  CHECK(bad_header->field == "Last-Event-ID");
  auto bad_after =
      parse_event_stream_query({{"after", "99999999999999999999"}}, std::nullopt, 10, out);
  REQUIRE(bad_after);
  CHECK(bad_after->field == "after");
  auto big_replay = parse_event_stream_query({{"replay", "11"}}, std::nullopt, 10, out);
  REQUIRE(big_replay);
  CHECK(big_replay->kind == EventStreamQueryError::Kind::ValidationFailed);
  CHECK(big_replay->field == "replay");
  CHECK(big_replay->message == "expected an integer in [0,10]");
}
