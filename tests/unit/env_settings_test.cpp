// Env settings (telemetry.md §0): a bad value falls back to the default with
// one warning; empty means unset.
#include <catch2/catch.hpp>

#include "tpark/env/env_settings.h"

using namespace tpark::env;

TEST_CASE("int_setting_parses_in_range_and_falls_back_with_a_warning", "[unit][env]") {
  auto ok = parse_int_setting("X", std::string(" 60000 "), 300000, 0, 1000000);
  CHECK(ok.value == 60000);
  CHECK_FALSE(ok.warning.has_value());
  CHECK(parse_int_setting("X", std::nullopt, 7, 0, 10).value == 7);
  CHECK_FALSE(parse_int_setting("X", std::string(""), 7, 0, 10).warning.has_value());
  auto bad = parse_int_setting("X", std::string("12ms"), 7, 0, 10);
  CHECK(bad.value == 7);
  CHECK(bad.warning == "X='12ms' is not an integer in 0..10; using 7");
  CHECK(parse_int_setting("X", std::string("11"), 7, 0, 10).warning.has_value());
  CHECK(parse_int_setting("X", std::string("-1"), 7, 0, 10).value == 7);
}

TEST_CASE("bool_setting_accepts_the_registry_spellings", "[unit][env]") {
  for (const char* yes : {"1", "true", "YES", "On"})
    CHECK(parse_bool_setting("B", std::string(yes), false).value);
  for (const char* no : {"0", "False", "no", "OFF"})
    CHECK_FALSE(parse_bool_setting("B", std::string(no), true).value);
  auto bad = parse_bool_setting("B", std::string("maybe"), false);
  CHECK_FALSE(bad.value);
  CHECK(bad.warning.has_value());
}

TEST_CASE("int_or_off_setting_maps_off_words_to_null", "[unit][env]") {
  for (const char* off : {"off", "NONE", "Disabled"})
    CHECK_FALSE(parse_int_or_off_setting("M", std::string(off), 4194304, 0, INT64_MAX,
                                         {"off", "none", "disabled"})
                    .value.has_value());
  CHECK(parse_int_or_off_setting("M", std::string("1024"), 4194304, 0, INT64_MAX,
                                 {"off", "none", "disabled"})
            .value == 1024);
  auto bad = parse_int_or_off_setting("M", std::string("lots"), 4194304, 0, INT64_MAX,
                                      {"off", "none", "disabled"});
  CHECK(bad.value == 4194304);
  CHECK(bad.warning.has_value());
}
