// The payload reader the context, memory and tool_invocations sections share
// (tpark/json/kept_members.h): only the named members, typed as nlohmann's
// own parser types them, and a payload that is not an object read as {}.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "tpark/json/kept_members.h"

using nlohmann::ordered_json;
using tpark::json::Keep;
using tpark::json::KeptReader;
using tpark::json::kWhole;

TEST_CASE("kept_members_reads_only_the_named_members_as_nlohmann_types_them", "[kept_members]") {
  const std::string payload =
      R"({"id":7,"big":{"a":[1,2,3]},"value":{"n":-3,"x":1.5,"u":18446744073709551615,)"
      R"("s":"t\u00e9","skip":"no","o":{"k":[true,null]}},"lane":"semantic"})";
  const Keep keep{
      {{"id", kWhole},
       {"lane", kWhole},
       {"value",
        Keep{{{"n", kWhole}, {"x", kWhole}, {"u", kWhole}, {"s", kWhole}, {"o", kWhole}}}}}};
  KeptReader reader;
  const ordered_json kept = reader.read(payload, keep);
  CHECK(
      kept.dump() ==
      R"({"id":7,"value":{"n":-3,"x":1.5,"u":18446744073709551615,"s":"té","o":{"k":[true,null]}},"lane":"semantic"})");
  // The same types as a full parse gives (an unsigned id, a signed n).
  const ordered_json full = ordered_json::parse(payload);
  CHECK(kept["id"].type() == full["id"].type());
  CHECK(kept["value"]["n"].type() == full["value"]["n"].type());
  CHECK(kept["value"]["u"] == full["value"]["u"]);
}

TEST_CASE("kept_members_keeps_a_repeated_key_at_its_first_place_with_its_last_value",
          "[kept_members]") {
  KeptReader reader;
  const ordered_json kept = reader.read(R"({"a":1,"b":2,"a":3})", Keep{});
  CHECK(kept == ordered_json::parse(R"({"a":1,"b":2,"a":3})"));
  CHECK(kept.dump() == R"({"a":3,"b":2})");
}

TEST_CASE("kept_members_reads_a_payload_that_is_not_an_object_as_empty", "[kept_members]") {
  KeptReader reader;
  ordered_json out;
  CHECK_FALSE(reader.read_object("[1,2]", Keep{}, out));
  CHECK(out == ordered_json::object());
  CHECK_FALSE(reader.read_object("{\"a\":", Keep{}, out));
  CHECK(out == ordered_json::object());
  CHECK(reader.read("42", Keep{}) == ordered_json::object());
}
