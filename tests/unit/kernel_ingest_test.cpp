// NDJSON ingest (telemetry.md 1.3): splitting, line errors in the spec's order,
// payload canonicalisation (1.2).
#include <catch2/catch.hpp>

#include <random>
#include <string>
#include <vector>

#include "kernel/ingest.h"
#include "kernel/json_text.h"
#include "util/json.h"
#include "util/time.h"

using namespace tpark;

namespace {

constexpr int64_t kReceiveMs = 1767225600000;  // 2026-01-01T00:00:00.000Z

struct Rejection {
  uint64_t line;
  std::string error;
  bool operator==(const Rejection&) const = default;
};

std::vector<Rejection> rejections(const IngestBatch& batch) {
  std::vector<Rejection> out;
  for (const auto& r : batch.rejected) out.push_back({r.line, r.error});
  return out;
}

IngestBatch ingest(std::string_view body, IngestOptions options = {}) {
  return parse_ndjson(body, kReceiveMs, options);
}

// The error for a single line, or "" when it is accepted.
std::string line_error(std::string_view line, IngestOptions options = {}) {
  NewEvent event;
  auto failure = parse_event_line(line, kReceiveMs, options, event);
  return failure ? *failure : std::string();
}

NewEvent accepted_line(std::string_view line) {
  NewEvent event;
  auto failure = parse_event_line(line, kReceiveMs, IngestOptions{}, event);
  INFO(line);
  REQUIRE_FALSE(failure);
  return event;
}

}  // namespace

TEST_CASE("ingest_check_2_six_lines_accept_one_reject_four_in_line_order", "[kernel][ingest]") {
  const std::string body =
      "{\"kind\":\"working._set.completed\"}\n"
      "\n"
      "{bad\n"
      "{\"kind\":\"Bad.Kind\"}\n"
      "{\"kind\":\"events.lagged\"}\n"
      "{\"kind\":\"a.b\",\"time\":\"x\"}";
  IngestBatch batch = ingest(body);
  REQUIRE(batch.events.size() == 1);
  CHECK(batch.events[0].kind == "working_set.completed");
  CHECK(batch.events[0].payload == "{}");
  CHECK(batch.events[0].time_ms == kReceiveMs);
  CHECK(batch.events[0].source == "ingest");
  CHECK(batch.events[0].node.empty());
  CHECK(rejections(batch) ==
        std::vector<Rejection>{
            {3, "invalid_json"}, {4, "invalid_kind"}, {5, "reserved_kind"}, {6, "invalid_time"}});
}

// Lines are parsed where they lie in the body, with the following lines as
// the parser's read-ahead: a line that the next one would complete stays
// malformed, at every distance from the end of the body.
TEST_CASE("ingest_a_line_is_never_completed_by_the_lines_after_it", "[kernel][ingest]") {
  const std::vector<std::string> cut = {
      "{\"kind\":\"a.b\",\"payload\":{\"x\":1",  // object left open
      "{\"kind\":\"a.b\",\"payload\":\"open",    // string left open
      "{\"kind\":\"a.b\",\"payload\":tru",       // literal cut short
      "{\"kind\":\"a.b\",\"payload\":12",        // number, then the next line's digits
  };
  const std::vector<std::string> rest = {"}}", "\"}", "e}", "34}"};
  const std::string good = "{\"kind\":\"a.b\",\"payload\":{\"n\":1}}";
  for (size_t pad = 0; pad <= 80; pad += 8) {
    std::string body;
    for (size_t i = 0; i < cut.size(); ++i) body += cut[i] + "\n" + rest[i] + "\n";
    body += good + "\n" + std::string(pad, ' ');
    IngestBatch batch = ingest(body);
    REQUIRE(batch.events.size() == 1);
    CHECK(batch.events[0].payload == "{\"n\":1}");
    CHECK(rejections(batch) == std::vector<Rejection>{{1, "invalid_json"},
                                                      {2, "invalid_json"},
                                                      {3, "invalid_json"},
                                                      {4, "invalid_json"},
                                                      {5, "invalid_json"},
                                                      {6, "invalid_json"},
                                                      {7, "invalid_json"},
                                                      {8, "invalid_json"}});
  }
}

TEST_CASE("ingest_check_19_host_owned_kinds_are_reserved_but_actions_completed_is_not",
          "[kernel][ingest]") {
  IngestBatch batch = ingest(
      "{\"kind\":\"logic.unit.applied\"}\n"
      "{\"kind\":\"orchestrator.job.completed\"}\n"
      "{\"kind\":\"config.patch.applied\"}\n"
      "{\"kind\":\"actions.completed\"}\n");
  CHECK(rejections(batch) ==
        std::vector<Rejection>{{1, "reserved_kind"}, {2, "reserved_kind"}, {3, "reserved_kind"}});
  REQUIRE(batch.events.size() == 1);
  CHECK(batch.events[0].kind == "actions.completed");
  CHECK(batch.events[0].source == "ingest");
}

TEST_CASE("ingest_stream_kinds_are_reserved", "[kernel][ingest]") {
  CHECK(line_error(R"({"kind":"service.connected"})") == "reserved_kind");
  CHECK(line_error(R"({"kind":"state.read.model.patch"})") == "reserved_kind");
  // Folding happens before the checks: valid and reserved once folded, not invalid.
  CHECK(line_error(R"({"kind":"policy.decision._made"})") == "reserved_kind");
  CHECK(line_error(R"({"kind":"logic._unit.x"})") == "");  // logic_unit.x is not host-owned
}

TEST_CASE("ingest_skips_leading_bom_strips_one_cr_and_skips_blank_lines", "[kernel][ingest]") {
  const std::string body =
      "\xEF\xBB\xBF{\"kind\":\"a.one\"}\r\n"  // 1: BOM skipped, CR stripped
      "\r\n"                                  // 2: blank after the CR
      "   \t \n"                              // 3: whitespace only
      "{\"kind\":\"a.two\"}\r\r\n"            // 4: only one CR stripped, the other is JSON space
      "{bad}\r\n"                             // 5
      "\n";                                   // 6: trailing newline, then an empty 7th line
  IngestBatch batch = ingest(body);
  REQUIRE(batch.events.size() == 2);
  CHECK(batch.events[0].kind == "a.one");
  CHECK(batch.events[1].kind == "a.two");
  CHECK(rejections(batch) == std::vector<Rejection>{{5, "invalid_json"}});
}

TEST_CASE("ingest_bom_is_only_ignored_at_the_start_of_the_body", "[kernel][ingest]") {
  IngestBatch batch = ingest("{\"kind\":\"a.one\"}\n\xEF\xBB\xBF{\"kind\":\"a.two\"}\n");
  CHECK(batch.events.size() == 1);
  CHECK(rejections(batch) == std::vector<Rejection>{{2, "invalid_json"}});
}

TEST_CASE("ingest_empty_and_blank_bodies_give_nothing", "[kernel][ingest]") {
  for (std::string_view body : {"", "\n", "\r\n\r\n", "  \n\t\n", "\xEF\xBB\xBF"}) {
    IngestBatch batch = ingest(body);
    CHECK(batch.events.empty());
    CHECK(batch.rejected.empty());
  }
}

TEST_CASE("ingest_line_too_large_is_checked_first_and_excludes_the_stripped_cr",
          "[kernel][ingest]") {
  IngestOptions options;
  options.max_line_bytes = 32;
  const std::string fits = R"({"kind":"a.b","payload":"xxxxx"})";  // 32 bytes
  REQUIRE(fits.size() == 32);
  const std::string too_large = R"({"kind":"a.b","payload":"xxxxxx"})";  // 33 bytes
  const std::string bad_json_too_large(33, '{');
  IngestBatch batch = ingest(fits + "\r\n" + too_large + "\n" + bad_json_too_large, options);
  CHECK(batch.events.size() == 1);
  CHECK(rejections(batch) == std::vector<Rejection>{{2, "line_too_large"}, {3, "line_too_large"}});
}

TEST_CASE("ingest_line_too_large_default_is_262144_bytes", "[kernel][ingest]") {
  const std::string prefix = R"({"kind":"a.b","payload":")";
  const std::string suffix = R"("})";
  std::string fits = prefix + std::string(262144 - prefix.size() - suffix.size(), 'x') + suffix;
  REQUIRE(fits.size() == 262144);
  CHECK(line_error(fits) == "");
  std::string too_large =
      prefix + std::string(fits.size() - prefix.size() - suffix.size() + 1, 'x') + suffix;
  CHECK(line_error(too_large) == "line_too_large");
}

TEST_CASE("ingest_errors_follow_the_spec_order", "[kernel][ingest]") {
  CHECK(line_error("{bad") == "invalid_json");
  CHECK(line_error("[1,2]") == "not_an_object");
  CHECK(line_error("\"a.b\"") == "not_an_object");
  CHECK(line_error("42") == "not_an_object");
  CHECK(line_error("{}") == "missing_kind");
  CHECK(line_error(R"({"kind":5})") == "missing_kind");
  CHECK(line_error(R"({"kind":null})") == "missing_kind");
  CHECK(line_error(R"({"kind":"nodot","time":"x","node":"!"})") == "invalid_kind");
  CHECK(line_error(R"({"kind":"a._b"})") == "invalid_kind");
  CHECK(line_error(R"({"kind":"config.x","time":"x","node":"!"})") == "reserved_kind");
  CHECK(line_error(R"({"kind":"a.b","time":"x","node":"!"})") == "invalid_time");
  CHECK(line_error(R"({"kind":"a.b","time":1767225600000})") == "invalid_time");
  CHECK(line_error(R"({"kind":"a.b","time":null})") == "invalid_time");
  CHECK(line_error(R"({"kind":"a.b","node":"!"})") == "invalid_node");
}

TEST_CASE("ingest_rejects_nan_infinity_and_invalid_utf8_as_invalid_json", "[kernel][ingest]") {
  CHECK(line_error(R"({"kind":"a.b","payload":NaN})") == "invalid_json");
  CHECK(line_error(R"({"kind":"a.b","payload":Infinity})") == "invalid_json");
  CHECK(line_error(R"({"kind":"a.b","payload":-Infinity})") == "invalid_json");
  CHECK(line_error("{\"kind\":\"a.b\",\"payload\":\"\xff\"}") == "invalid_json");
  CHECK(line_error("{\"kind\":\"a.b\",\"payload\":\"\xc3\x28\"}") == "invalid_json");
  // The fallback (taken on number errors) rejects invalid UTF-8 as well.
  CHECK_FALSE(canonicalize_json_with_nlohmann("[1e999,\"\xff\"]"));
}

TEST_CASE("ingest_node_must_match_the_node_pattern", "[kernel][ingest]") {
  CHECK(accepted_line(R"({"kind":"a.b","node":"Node-A_1"})").node == "Node-A_1");
  CHECK(accepted_line(R"({"kind":"a.b","node":")" + std::string(64, 'n') + "\"}").node.size() ==
        64);
  CHECK(line_error(R"({"kind":"a.b","node":")" + std::string(65, 'n') + "\"}") == "invalid_node");
  CHECK(line_error(R"({"kind":"a.b","node":""})") == "invalid_node");
  CHECK(line_error(R"({"kind":"a.b","node":"bad node"})") == "invalid_node");
  CHECK(line_error(R"({"kind":"a.b","node":"n.1"})") == "invalid_node");
  CHECK(line_error(R"({"kind":"a.b","node":7})") == "invalid_node");
  CHECK(node_is_valid("abc_DEF-123"));
  CHECK_FALSE(node_is_valid("\xc3\xa9"));
}

TEST_CASE("ingest_time_converts_offsets_to_utc_and_truncates_to_ms", "[kernel][ingest]") {
  NewEvent event = accepted_line(R"({"kind":"a.b","time":"2026-01-01T01:00:00.123456+01:00"})");
  CHECK(event.time_ms == 1767225600123);
  CHECK(format_rfc3339_ms(event.time_ms) == "2026-01-01T00:00:00.123Z");

  CHECK(accepted_line(R"({"kind":"a.b","time":"2025-12-31T19:30:00.9999-04:30"})").time_ms ==
        1767225600999);
  CHECK(accepted_line(R"({"kind":"a.b","time":"2026-01-01T00:00:00Z"})").time_ms == 1767225600000);
  // Absent time: the receive time.
  CHECK(accepted_line(R"({"kind":"a.b"})").time_ms == kReceiveMs);
  CHECK(line_error(R"({"kind":"a.b","time":"2026-01-01"})") == "invalid_time");
  CHECK(line_error(R"({"kind":"a.b","time":"2026-02-30T00:00:00Z"})") == "invalid_time");
}

TEST_CASE("ingest_payload_defaults_to_empty_object_and_is_canonicalised", "[kernel][ingest]") {
  CHECK(accepted_line(R"({"kind":"a.b"})").payload == "{}");
  CHECK(accepted_line(R"({"kind":"a.b","payload":null})").payload == "null");
  CHECK(accepted_line(R"({"payload": { "z" : 1, "a" : [ 1, 2.50, "x", true ] } , "kind":"a.b"})")
            .payload == R"({"z":1,"a":[1,2.5,"x",true]})");
  CHECK(accepted_line(R"({"kind":"a.b","payload":{"score":1e999}})").payload ==
        R"({"score":null})");
  CHECK(accepted_line(R"({"kind":"a.b","payload":123456789012345678901234567890})").payload ==
        "1.2345678901234568e+29");
}

TEST_CASE("ingest_ignores_other_keys_even_when_they_need_the_fallback", "[kernel][ingest]") {
  NewEvent event = accepted_line(
      R"({"id":99,"ce":{"specversion":"1.0"},"policy":"x","kind":"a.b","big":1e999})");
  CHECK(event.kind == "a.b");
  CHECK(event.payload == "{}");
}

TEST_CASE("ingest_fills_source_and_corr_id_from_the_options", "[kernel][ingest]") {
  IngestOptions options;
  options.source = "nats";
  options.corr_id = "req-1";
  IngestBatch batch = ingest("{\"kind\":\"a.b\"}\n{\"kind\":\"a.c\",\"x\":1e999}", options);
  REQUIRE(batch.events.size() == 2);
  for (const auto& event : batch.events) {
    CHECK(event.source == "nats");
    CHECK(event.corr_id == "req-1");
  }
}

TEST_CASE("ingest_repeated_keys_resolve_like_nlohmann_last_value_wins", "[kernel][ingest]") {
  NewEvent event = accepted_line(R"({"kind":"Bad","kind":"a.b","payload":{"x":1,"y":2,"x":3}})");
  CHECK(event.kind == "a.b");
  CHECK(event.payload == R"({"x":3,"y":2})");
}

TEST_CASE("canonicalize_turns_overflowing_numbers_into_null", "[kernel][ingest]") {
  CHECK(canonicalize_json("1e999") == "null");
  CHECK(canonicalize_json("-1e999") == "null");
  CHECK(canonicalize_json(R"({"a":[1e999, 2]})") == R"({"a":[null,2]})");
  CHECK(canonicalize_json("18446744073709551616") == "1.8446744073709552e+19");
  CHECK(canonicalize_json("-9223372036854775809") == "-9.223372036854776e+18");
  CHECK(canonicalize_json("1e-999") == "0.0");
  CHECK(canonicalize_json(R"("1e999")") == R"("1e999")");  // inside a string: untouched
}

TEST_CASE("canonicalize_rejects_what_is_not_json", "[kernel][ingest]") {
  for (std::string_view text : {"", "{", "NaN", "-Infinity", "[1,]", "01", "{\"a\":1}x", "\"\xff\"",
                                "\xEF\xBB\xBF{}", "[1e999"}) {
    INFO(text);
    CHECK_FALSE(canonicalize_json(text));
    CHECK_FALSE(canonicalize_json_with_nlohmann(text));
  }
}

TEST_CASE("canonicalize_fast_path_and_fallback_write_identical_bytes", "[kernel][ingest]") {
  struct Case {
    std::string_view input, expected;
  };
  const Case cases[] = {
      {R"({"b":{"d":[1,{"e":null}],"c":true},"a":false})",
       R"({"b":{"d":[1,{"e":null}],"c":true},"a":false})"},
      {R"( { "z" : 1 , "y" : [ ] , "x" : { } } )", R"({"z":1,"y":[],"x":{}})"},
      {R"("\u00e9\u2028\ud83d\ude00")", "\"\xc3\xa9\xe2\x80\xa8\xf0\x9f\x98\x80\""},
      {R"("tab\t nl\n quote\" slash\/ back\\ ctl\u0001 del\u007f")",
       "\"tab\\t nl\\n quote\\\" slash/ back\\\\ ctl\\u0001 del\x7f\""},
      {"0", "0"},
      {"-0", "0"},
      {"-0.0", "-0.0"},
      {"42", "42"},
      {"-42", "-42"},
      {"9223372036854775807", "9223372036854775807"},
      {"-9223372036854775808", "-9223372036854775808"},
      {"18446744073709551615", "18446744073709551615"},
      {"0.6", "0.6"},
      {"1.0", "1.0"},
      {"2.50", "2.5"},
      {"1E2", "100.0"},
      {"1e15", "1e+15"},
      {"1e300", "1e+300"},
      {"5e-324", "5e-324"},
      {"0.1e1", "1.0"},
      {"123.456e-7", "1.23456e-05"},
      {R"({"x":1,"x":2})", R"({"x":2})"},
      {R"([{"k":1,"j":2,"k":3}])", R"([{"k":3,"j":2}])"},
  };
  for (const auto& c : cases) {
    INFO(c.input);
    CHECK(canonicalize_json(c.input) == std::string(c.expected));
    CHECK(canonicalize_json_with_nlohmann(c.input) == std::string(c.expected));
  }
}

TEST_CASE("canonicalize_both_paths_share_the_nesting_limit", "[kernel][ingest]") {
  auto nested = [](size_t depth, std::string_view inner) {
    return std::string(depth, '[') + std::string(inner) + std::string(depth, ']');
  };
  for (size_t depth : {1023u, 1024u}) {
    for (std::string_view inner : {"", "1", "\"s\"", "null"}) {
      const std::string text = nested(depth, inner);
      INFO(depth << " " << inner);
      CHECK(canonicalize_json(text).has_value() ==
            canonicalize_json_with_nlohmann(text).has_value());
    }
  }
  CHECK(canonicalize_json(nested(1024, "")) == nested(1024, ""));
  CHECK_FALSE(canonicalize_json(nested(1025, "")));
  // A number error deep inside still resolves the same way as simdjson's limit.
  CHECK(canonicalize_json(nested(1023, "1e999")) == nested(1023, "null"));
  CHECK_FALSE(canonicalize_json(nested(1024, "1e999")));
}

TEST_CASE("append_json_string_escapes_exactly_like_the_json_writer_at_every_offset",
          "[kernel][ingest]") {
  // Strings of every length up to 40 with one special byte sequence (or none)
  // at each position, so every case of the word-at-a-time scan is met: escapes
  // at the start, middle and end of a word and in the tail shorter than a word.
  const std::vector<std::string> specials = {"\"",   "\\", "\n",       "\x01", "\x1f",
                                             "\x7f", "/",  "\xc3\xa9", "a"};
  std::mt19937 random(14);
  for (size_t length = 0; length <= 40; ++length) {
    for (size_t at = 0; at < length; ++at) {
      for (const auto& special : specials) {
        std::string text;
        for (size_t i = 0; i < length; ++i)
          text.push_back(static_cast<char>('a' + static_cast<int>(random() % 26)));
        text.replace(at, 1, special);
        std::string written;
        append_json_string(written, text);
        CHECK(written == Json(text).dump());
      }
    }
  }
}
