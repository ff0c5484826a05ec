// The `governor` section of telemetry.md §2.3 from host state: defaults, and
// hints with null, {} and [] removed recursively.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "governor_model.h"

using namespace tpark::sections::governor;
using nlohmann::ordered_json;

TEST_CASE("governor_without_state_is_the_default", "[unit][governor]") {
  CHECK(governor_section(std::nullopt).dump() ==
        R"({"profile":"balance","memory_limit":null,"hints":{}})");
  CHECK(governor_section(std::string_view("not json")).dump() ==
        R"({"profile":"balance","memory_limit":null,"hints":{}})");
}

TEST_CASE("governor_renders_profile_limit_and_set_hints_only", "[unit][governor]") {
  const std::string state = R"({"profile":"performance","memory_limit":1073741824,"hints":{
      "max_concurrency":8,"event_buffer":null,"mode":"deep","retrieval_div":0.5,
      "include_provenance":false,"context_header":"","joiner":null}})";
  CHECK(governor_section(std::string_view(state)).dump() ==
        R"({"profile":"performance","memory_limit":1073741824,"hints":{"max_concurrency":8,)"
        R"("mode":"deep","retrieval_div":0.5,"include_provenance":false,"context_header":""}})");
}

TEST_CASE("governor_hints_drop_empty_values_recursively", "[unit][governor]") {
  const auto hints = ordered_json::parse(
      R"({"a":{"b":null,"c":{}},"d":[null,[],{"e":[]}],"f":[1,null,{"g":0}],"h":0,"i":""})");
  CHECK(without_empty_values(hints).dump() == R"({"f":[1,{"g":0}],"h":0,"i":""})");
  CHECK(without_empty_values(ordered_json::object()).dump() == "{}");
}
