// The key registry (control.md 3.1): accepted input forms, ranges, canonical
// form and float equality.
#include <catch2/catch.hpp>

#include "config/config_registry.h"

using namespace tpark;
using namespace tpark::control;

namespace {

const KeySpec& key(const char* name) {
  const KeySpec* spec = find_key(name);
  REQUIRE(spec != nullptr);
  return *spec;
}

Json ok(const KeyParse& parsed) {
  if (auto* error = std::get_if<std::string>(&parsed)) FAIL("unexpected error: " << *error);
  return std::get<Json>(parsed);
}

std::string error(const KeyParse& parsed) {
  REQUIRE(std::holds_alternative<std::string>(parsed));
  return std::get<std::string>(parsed);
}

}  // namespace

TEST_CASE("registry_lists_every_key_once_with_its_defaults_and_flags") {
  CHECK(key_registry().size() == 46);
  CHECK(key("ARW_CONTEXT_K").default_value == 18);
  CHECK(key("ARW_CONTEXT_DIVERSITY_LAMBDA").default_value == 0.72);
  CHECK(key("ARW_CONTEXT_LANES_DEFAULT").default_value == "semantic,procedural,episodic,story_thread");
  CHECK(key("ARW_CONTEXT_SLOT_BUDGETS").default_value.is_null());
  CHECK(key("ARW_CONTEXT_CASCADE_TTL_SECS").default_value == 2592000);
  CHECK(key("ARW_HTTP_MAX_CONC").restart);
  CHECK(key("ARW_HTTP_MAX_CONC").live);  // the connection cap (docs/ops.md)
  CHECK_FALSE(key("ARW_ACTIONS_QUEUE_MAX").restart);
  CHECK(key("ARW_ACTIONS_QUEUE_MAX").live);
  CHECK(key("ARW_TOOLS_CACHE_CAP").restart);
  CHECK(key("ARW_TOOLS_CACHE_CAP").live);
  CHECK(key("ARW_OTEL").default_value == false);
  CHECK(key("ARW_LOW_POWER").default_value.is_null());
  CHECK(key("ARW_REHYDRATE_FILE_HEAD_KB").domain == KeyDomain::Context);
  CHECK(key("ARW_WORKERS_MAX").domain == KeyDomain::Perf);
  CHECK(find_key("ARW_NOT_A_KEY") == nullptr);
}

TEST_CASE("ints_accept_integral_numbers_and_reject_strings_fractions_and_range") {
  const KeySpec& k = key("ARW_CONTEXT_K");
  CHECK(ok(parse_key_json(k, Json(24))) == 24);
  CHECK(ok(parse_key_json(k, Json(24.0))) == 24);
  CHECK(ok(parse_key_json(k, Json(24.0))).is_number_integer());
  CHECK(error(parse_key_json(k, Json(24.5))) == "expected int in [1,256], got 24.5");
  CHECK(error(parse_key_json(k, Json("24"))) == "expected int in [1,256], got \"24\"");
  CHECK(error(parse_key_json(k, Json(0))) == "expected int in [1,256], got 0");
  CHECK(error(parse_key_text(k, "abc")) == "expected int in [1,256], got \"abc\"");
  CHECK(ok(parse_key_text(k, " 40 ")) == 40);
  CHECK(error(parse_key_text(k, "257")) == "expected int in [1,256], got \"257\"");
}

TEST_CASE("bools_accept_every_documented_form_in_any_case") {
  const KeySpec& b = key("ARW_CONTEXT_EXPAND_QUERY");
  for (const char* yes : {"1", "true", "YES", "On", "TRUE"}) CHECK(ok(parse_key_text(b, yes)) == true);
  for (const char* no : {"0", "false", "no", "OFF"}) CHECK(ok(parse_key_text(b, no)) == false);
  CHECK(error(parse_key_text(b, "maybe")) == "expected bool, got \"maybe\"");
  CHECK(ok(parse_key_json(b, Json(1))) == true);
  CHECK(ok(parse_key_json(b, Json(false))) == false);
  CHECK(std::holds_alternative<std::string>(parse_key_json(b, Json(2))));
  CHECK(std::holds_alternative<std::string>(parse_key_json(b, Json("true"))));
}

TEST_CASE("maps_accept_a_json_object_or_k_eq_v_pairs_and_sort_their_keys") {
  const KeySpec& budgets = key("ARW_CONTEXT_SLOT_BUDGETS");
  Json from_pairs = ok(parse_key_text(budgets, "plan=3, evidence=8,*=1"));
  CHECK(from_pairs == Json::parse(R"({"*":1,"evidence":8,"plan":3})"));
  Json from_object = ok(parse_key_json(budgets, Json::parse(R"({"plan":3,"evidence":8,"*":1})")));
  CHECK(from_object == from_pairs);
  CHECK(ok(parse_key_text(budgets, R"({"plan": 3})")) == Json::parse(R"({"plan":3})"));
  CHECK(std::holds_alternative<std::string>(parse_key_text(budgets, "plan=257")));
  CHECK(std::holds_alternative<std::string>(parse_key_text(budgets, "plan=1.5")));
  CHECK(std::holds_alternative<std::string>(parse_key_text(budgets, "Plan=1")));
  const KeySpec& priorities = key("ARW_CONTEXT_LANE_PRIORITIES");
  CHECK(ok(parse_key_text(priorities, "semantic=-0.5,episodic=1")) ==
        Json::parse(R"({"episodic":1.0,"semantic":-0.5})"));
  CHECK(std::holds_alternative<std::string>(parse_key_text(priorities, "*=0.5")));
  CHECK(std::holds_alternative<std::string>(parse_key_text(priorities, "semantic=1.5")));
  CHECK(canonical_text(budgets, from_pairs) == R"({"*":1,"evidence":8,"plan":3})");
}

TEST_CASE("lanes_are_a_csv_of_unique_names_without_spaces_in_canonical_form") {
  const KeySpec& lanes = key("ARW_CONTEXT_LANES_DEFAULT");
  CHECK(ok(parse_key_text(lanes, "semantic, procedural")) == "semantic,procedural");
  CHECK(ok(parse_key_json(lanes, Json::array({"a", "b"}))) == "a,b");
  CHECK(std::holds_alternative<std::string>(parse_key_text(lanes, "semantic,semantic")));
  CHECK(std::holds_alternative<std::string>(parse_key_text(lanes, "Semantic")));
  CHECK(std::holds_alternative<std::string>(parse_key_text(lanes, "a,b,c,d,e,f,g,h,i")));
  CHECK(std::holds_alternative<std::string>(parse_key_text(lanes, "")));
}

TEST_CASE("enums_floats_and_canonical_text") {
  const KeySpec& scorer = key("ARW_CONTEXT_SCORER");
  CHECK(ok(parse_key_text(scorer, "confidence")) == "confidence");
  CHECK(error(parse_key_text(scorer, "best")) == "expected one of mmrd, confidence, got \"best\"");
  const KeySpec& lambda = key("ARW_CONTEXT_DIVERSITY_LAMBDA");
  CHECK(ok(parse_key_text(lambda, "0.74")) == 0.74);
  CHECK(error(parse_key_text(lambda, "1.5")) == "expected float in [0,1], got \"1.5\"");
  CHECK(std::holds_alternative<std::string>(parse_key_text(lambda, "nan")));
  CHECK(canonical_text(lambda, Json(0.7)) == "0.7");
  CHECK(canonical_text(key("ARW_CONTEXT_EXPAND_QUERY"), Json(true)) == "1");
  CHECK(canonical_text(key("ARW_CONTEXT_K"), Json(18)) == "18");
}

TEST_CASE("floats_are_equal_within_1e-9") {
  CHECK(config_values_equal(Json(0.7), Json(0.7 + 5e-10)));
  CHECK_FALSE(config_values_equal(Json(0.7), Json(0.7 + 5e-9)));
  CHECK(config_values_equal(Json(18), Json(18.0)));
  CHECK(config_values_equal(Json::parse(R"({"a":0.5})"), Json::parse(R"({"a":0.5000000001})")));
  CHECK_FALSE(config_values_equal(Json(nullptr), Json(0)));
  CHECK(config_values_equal(Json(nullptr), Json(nullptr)));
}
