// The one request-body parser (http::parse_json_body): the same nesting cap
// as ingest, and a clean refusal for everything that is not JSON.
#include <catch2/catch.hpp>

#include <string>

#include "http/json_body.h"
#include "kernel/ingest.h"

using tpark::kMaxJsonDepth;
using tpark::http::parse_json_body;

namespace {

std::string nested_arrays(size_t depth, const std::string& inner = "") {
  return std::string(depth, '[') + inner + std::string(depth, ']');
}

}  // namespace

TEST_CASE("json_body_empty_or_blank_is_an_empty_object", "[http][json_body]") {
  for (const char* blank : {"", " ", "\r\n\t "}) {
    const auto parsed = parse_json_body(blank);
    REQUIRE(parsed.document);
    CHECK(*parsed.document == tpark::Json::object());
  }
}

TEST_CASE("json_body_parses_objects_keeping_the_last_duplicate_key", "[http][json_body]") {
  const auto parsed = parse_json_body(R"({"kind":"a","n":1,"kind":"b"})");
  REQUIRE(parsed.document);
  CHECK((*parsed.document)["kind"] == "b");
  CHECK((*parsed.document)["n"] == 1);
}

TEST_CASE("json_body_accepts_1024_levels_and_refuses_1025_naming_the_limit", "[http][json_body]") {
  CHECK(parse_json_body(nested_arrays(kMaxJsonDepth)).document);
  CHECK(parse_json_body(nested_arrays(kMaxJsonDepth - 1, "1")).document);
  for (const std::string& text :
       {nested_arrays(kMaxJsonDepth + 1), nested_arrays(kMaxJsonDepth, "1"), nested_arrays(200000),
        "{\"a\":" + nested_arrays(kMaxJsonDepth) + "}"}) {
    const auto parsed = parse_json_body(text);
    CHECK_FALSE(parsed.document);
    CHECK(parsed.error_message.find("limit of 1024 levels") != std::string::npos);
  }
  // The offset points at the first byte too deep.
  CHECK(parse_json_body(nested_arrays(2000)).error_offset == kMaxJsonDepth);
  CHECK(parse_json_body("{\"a\":" + nested_arrays(2000) + "}").error_offset ==
        5 + kMaxJsonDepth - 1);
}

TEST_CASE("json_body_depth_cap_matches_ingest_on_the_same_texts", "[http][json_body]") {
  for (size_t depth : {kMaxJsonDepth - 1, kMaxJsonDepth, kMaxJsonDepth + 1})
    for (const char* inner : {"", "1", "\"s\"", "{}", "null"}) {
      const std::string text = nested_arrays(depth, inner);
      INFO("depth " << depth << " inner " << inner);
      CHECK(parse_json_body(text).document.has_value() ==
            tpark::canonicalize_json(text).has_value());
    }
}

TEST_CASE("json_body_refuses_invalid_utf8_trailing_text_and_huge_numbers", "[http][json_body]") {
  for (const std::string& text :
       {std::string("{\"a\":\"\xff\xfe\"}"), std::string("{\"a\":\"\xc3\"}"), std::string("{} {}"),
        std::string("{\"a\":1E999}"), std::string("{\"a\":"), std::string("[1,]")}) {
    const auto parsed = parse_json_body(text);
    CHECK_FALSE(parsed.document);
    CHECK_FALSE(parsed.error_message.empty());
    CHECK(parsed.error_offset <= text.size());
  }
}
