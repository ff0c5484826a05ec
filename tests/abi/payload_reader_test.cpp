// tp_payload.hpp: typed look-ups of an event payload's fields, by top-level
// key or JSON pointer, that answer nullopt (never throw) for absent fields,
// other types, malformed paths and text that is not JSON.
#include <string>

#include <catch2/catch.hpp>
#include <tpark/tp_payload.hpp>

using tpark::Payload;

TEST_CASE("payload_reader_reads_top_level_fields_by_type") {
  const Payload payload(
      R"({"ok":false,"tool":"grep","tokens":42,"ratio":0.5,"big":18446744073709551615})");
  CHECK(payload.valid());
  CHECK(payload.get_bool("ok") == false);
  CHECK(payload.get_string("tool") == std::optional<std::string_view>("grep"));
  CHECK(payload.get_int("tokens") == 42);
  CHECK(payload.get_number("tokens") == 42.0);
  CHECK(payload.get_number("ratio") == 0.5);
  CHECK_FALSE(payload.get_int("ratio").has_value());  // 0.5 is not an int
  CHECK_FALSE(payload.get_int("big").has_value());    // beyond int64
  CHECK_FALSE(payload.get_bool("tool").has_value());  // a string is not a bool
  CHECK_FALSE(payload.get_bool("absent").has_value());
  CHECK(payload.has("ok"));
  CHECK_FALSE(payload.has("absent"));
}

TEST_CASE("payload_reader_follows_json_pointers") {
  const Payload payload(R"({"usage":{"tokens":7},"items":[{"name":"a"},{"name":"b"}],"a/b":1})");
  CHECK(payload.get_int("/usage/tokens") == 7);
  CHECK(payload.get_string("/items/1/name") == std::optional<std::string_view>("b"));
  CHECK(payload.get_int("/a~1b") == 1);
  CHECK_FALSE(payload.get_string("/items/2/name").has_value());  // out of range
  CHECK_FALSE(payload.get_string("/items/x/name").has_value());  // not an index
  CHECK_FALSE(payload.get_int("/usage/tokens/deeper").has_value());
  CHECK_FALSE(payload.get_int("/bad~escape").has_value());  // malformed pointer
}

TEST_CASE("payload_reader_treats_text_that_is_not_json_as_empty") {
  const Payload broken("{\"ok\":");
  CHECK_FALSE(broken.valid());
  CHECK_FALSE(broken.get_bool("ok").has_value());
  CHECK_FALSE(broken.get_bool("/ok").has_value());
  const Payload array("[1,2]");
  CHECK(array.valid());
  CHECK_FALSE(array.get_int("0").has_value());  // a key needs an object
  CHECK(array.get_int("/0") == 1);
  const tp_str absent{nullptr, 0};
  CHECK(Payload(absent).json().is_object());
}
