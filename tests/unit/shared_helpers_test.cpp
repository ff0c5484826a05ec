// The one helper for each small job: trim (util/text.h), the status-reason
// table (http/problem.h, also the server's status line), and base64 through
// libsodium's strict decoder (control/validation.h).
#include <catch2/catch.hpp>

#include <string>

#include "control/validation.h"
#include "http/problem.h"
#include "util/text.h"

TEST_CASE("trim_drops_ascii_whitespace_at_both_ends_only", "[unit][util]") {
  CHECK(tpark::trim("  a b\t\r\n") == "a b");
  CHECK(tpark::trim("\v\fx\f") == "x");
  CHECK(tpark::trim(" \t ").empty());
  CHECK(tpark::trim("").empty());
  CHECK(tpark::trim("plain") == "plain");
}

TEST_CASE("every_status_the_host_sends_has_its_reason_431_included", "[unit][http]") {
  CHECK(tpark::http::reason_phrase(431) == "Request Header Fields Too Large");
  CHECK(tpark::http::reason_phrase(415) == "Unsupported Media Type");
  CHECK(tpark::http::reason_phrase(405) == "Method Not Allowed");
  CHECK(tpark::http::reason_phrase(204) == "No Content");
  CHECK(tpark::http::reason_phrase(299) == "Unknown");
}

TEST_CASE("base64_takes_its_padding_or_none_and_nothing_else", "[unit][control]") {
  using tpark::control::decode_base64;
  using tpark::control::encode_base64;
  CHECK(decode_base64("YWI=") == "ab");
  CHECK(decode_base64("YWI") == "ab");
  CHECK(decode_base64("YWJj") == "abc");
  CHECK(decode_base64("YWI==").empty());  // one '=' too many
  CHECK(decode_base64("YW=I").empty());   // padding inside
  CHECK(decode_base64("YWJj!").empty());  // not in the alphabet
  CHECK(encode_base64("ab") == "YWI=");
  CHECK(encode_base64(std::string("\0\xff", 2)) == "AP8=");
  CHECK(encode_base64("").empty());
}
