// The request target as handlers see it (host/http/request_target.h).
#include <catch2/catch.hpp>

#include "http/request_target.h"

using tpark::http::QueryPairs;

namespace {

std::string decoded(std::string_view in, bool plus_is_space) {
  std::string out = "stale";
  tpark::http::percent_decode(in, plus_is_space, out);
  return out;
}

}  // namespace

TEST_CASE("percent_decode_keeps_malformed_and_truncated_escapes_literally", "[http][target]") {
  CHECK(decoded("a%20b", false) == "a b");
  CHECK(decoded("%41%6a", false) == "Aj");
  CHECK(decoded("%zz%4", false) == "%zz%4");
  CHECK(decoded("100%", false) == "100%");
  CHECK(decoded("a+b", false) == "a+b");
  CHECK(decoded("a+b", true) == "a b");
  CHECK(decoded("%00", false) == std::string(1, '\0'));
}

TEST_CASE("parse_query_keeps_order_and_repeats_and_skips_empty_parts", "[http][target]") {
  QueryPairs q;
  tpark::http::parse_query("a=1&&b&a=%32&c=x%3Dy=z&=v", q);
  const QueryPairs expected = {{"a", "1"}, {"b", ""}, {"a", "2"}, {"c", "x=y=z"}, {"", "v"}};
  CHECK(q == expected);
}

TEST_CASE("split_request_target_drops_scheme_and_authority_of_the_absolute_form",
          "[http][target]") {
  std::string path;
  QueryPairs q;
  tpark::http::split_request_target("http://example.org/state/events?limit=5", path, q);
  CHECK(path == "/state/events");
  CHECK(q == QueryPairs{{"limit", "5"}});
  q.clear();
  tpark::http::split_request_target("http://example.org", path, q);
  CHECK(path == "/");
  CHECK(q.empty());
  tpark::http::split_request_target("/a%2Fb?x", path, q);
  CHECK(path == "/a/b");
  CHECK(q == QueryPairs{{"x", ""}});
}
