// The memory window and the `memory` and `tool_invocations` values
// (telemetry.md §2.3): distinct ids, the latest upsert wins, expiry, the cap
// of 200, modular entries, and the tool summary's counts and order.
#include <catch2/catch.hpp>

#include <string>

#include <nlohmann/json.hpp>

#include "tpark/memory/memory_window.h"

namespace mem = tpark::memory;
using Json = nlohmann::ordered_json;

namespace {

std::string item(const std::string& id, const std::string& lane, const std::string& value = "") {
  std::string out = R"({"id":")" + id + R"(","lane":")" + lane + "\"";
  if (!value.empty()) out += ",\"value\":" + value;
  return out + "}";
}

std::string tool_call(const std::string& id, const std::string& tool, const std::string& status,
                      int64_t created_ms) {
  return item(id, "episodic",
              R"({"payload_kind":"tool_invocation","created_ms":)" + std::to_string(created_ms) +
                  R"(,"payload":{"invocation_id":"inv-)" + id + R"(","tool_id":")" + tool +
                  R"(","requested_by":"agent","result":{"status":")" + status +
                  R"("}},"payload_summary":"sum-)" + id + "\"}");
}

}  // namespace

TEST_CASE("empty_window_renders_null_for_both_sections", "[memory]") {
  mem::MemoryWindow window;
  CHECK(mem::memory_section(window).is_null());
  CHECK(mem::tool_invocations_section(window).is_null());
}

TEST_CASE("memory_counts_distinct_ids_by_lane_and_expiry_removes", "[memory]") {
  mem::MemoryWindow window;
  CHECK(window.upsert(item("a", "semantic"), 1000));
  CHECK(window.upsert(item("b", "episodic"), 1001));
  CHECK(window.upsert(item("a", "semantic"), 1002));  // same id: still one item
  CHECK(window.upsert(item("c", "semantic"), 1003));
  CHECK(mem::memory_section(window).dump() ==
        R"({"lanes":{"episodic":1,"semantic":2},"total_recent":3,)"
        R"("modular":{"recent":[],"pending_human_review":0,"blocked":0}})");
  CHECK(window.expire(R"({"id":"b"})"));
  CHECK_FALSE(window.expire(R"({"id":"zz"})"));
  CHECK_FALSE(window.upsert(R"({"lane":"x"})", 1));  // no id
  CHECK(mem::memory_section(window)["lanes"].dump() == R"({"semantic":2})");
  CHECK(window.expire(R"({"id":"a"})"));
  CHECK(window.expire(R"({"id":"c"})"));
  CHECK(mem::memory_section(window).is_null());
}

TEST_CASE("latest_upsert_wins_and_the_window_keeps_200_distinct_ids", "[memory]") {
  mem::MemoryWindow window;
  CHECK(window.upsert(item("first", "a"), 1));
  for (int i = 0; i < 199; ++i) window.upsert(item("i" + std::to_string(i), "b"), 2);
  // Re-upserting "first" replaces it (new lane) and makes it the newest...
  CHECK(window.upsert(item("first", "c"), 3));
  CHECK(window.size() == 200);
  // ...so the next new id evicts i0, the least recently upserted.
  CHECK(window.upsert(item("new", "b"), 4));
  CHECK(window.size() == 200);
  CHECK_FALSE(window.expire(R"({"id":"i0"})"));
  CHECK(mem::memory_section(window)["lanes"].dump() == R"({"b":199,"c":1})");
  CHECK(mem::memory_section(window)["total_recent"] == 200);
}

TEST_CASE("modular_recent_is_newest_created_first_with_defaults", "[memory]") {
  mem::MemoryWindow window;
  window.upsert(item("m1", "semantic",
                     R"({"payload_kind":"note","created_ms":100,"turn_id":"t1","agent_id":"g",)"
                     R"("intent":"inform","confidence":0.6,"payload_summary":"hello"})"),
                5000);
  window.upsert(item("m2", "semantic",
                     R"({"payload_kind":"plan","created_ms":300,)"
                     R"("lifecycle":{"stage":"pending_human_review","validation_gate":"human"}})"),
                5001);
  window.upsert(
      item("m3", "semantic", R"({"payload_kind":"plan","lifecycle":{"stage":"blocked"}})"),
      200);  // no created_ms: the upsert's time
  window.upsert(item("plain", "semantic", R"({"text":"not modular"})"), 5003);
  const Json memory = mem::memory_section(window);
  CHECK(memory["total_recent"] == 4);
  CHECK(memory["modular"]["pending_human_review"] == 1);
  CHECK(memory["modular"]["blocked"] == 1);
  const Json recent = memory["modular"]["recent"];
  REQUIRE(recent.size() == 3);
  CHECK(recent[0]["id"] == "m2");
  CHECK(recent[1]["id"] == "m3");
  CHECK(recent[2].dump() ==
        R"({"id":"m1","lane":"semantic","turn_id":"t1","agent_id":"g","intent":"inform",)"
        R"("payload_kind":"note","lifecycle_stage":"accepted","validation_gate":"skipped",)"
        R"("confidence":0.6,"created_ms":100,"payload_summary":"hello"})");
  CHECK(recent[0]["lifecycle_stage"] == "pending_human_review");
  CHECK(recent[0]["validation_gate"] == "human");
  CHECK(recent[1]["created_ms"] == 200);
}

TEST_CASE("modular_recent_keeps_at_most_50", "[memory]") {
  mem::MemoryWindow window;
  for (int i = 0; i < 60; ++i)
    window.upsert(item("m" + std::to_string(i), "l",
                       R"({"payload_kind":"note","created_ms":)" + std::to_string(i) + "}"),
                  1);
  const Json recent = mem::memory_section(window)["modular"]["recent"];
  REQUIRE(recent.size() == 50);
  CHECK(recent[0]["id"] == "m59");
  CHECK(recent[49]["id"] == "m10");
}

TEST_CASE("tool_invocations_summarise_by_tool_with_last_by_created_ms", "[memory]") {
  mem::MemoryWindow window;
  window.upsert(tool_call("1", "fs.read", "OK", 100), 1);
  window.upsert(tool_call("2", "fs.read", "failed", 300), 2);
  window.upsert(tool_call("3", "fs.read", "Succeeded", 200), 3);
  window.upsert(tool_call("4", "web.get", "completed", 400), 4);
  window.upsert(item("5", "episodic", R"({"payload_kind":"tool_invocation","created_ms":50})"), 5);
  window.upsert(item("6", "episodic", R"({"payload_kind":"note"})"), 6);
  const Json tools = mem::tool_invocations_section(window);
  CHECK(
      tools.dump() ==
      R"({"summary":[)"
      R"({"tool_id":"fs.read","total":3,"success":2,"failed":1,"success_rate":0.6666666666666666,)"
      R"("last_ms":300,"last_status":"failed","last_summary":"sum-2","last_invocation_id":"inv-2"},)"
      R"({"tool_id":"web.get","total":1,"success":1,"failed":0,"success_rate":1.0,)"
      R"("last_ms":400,"last_status":"completed","last_summary":"sum-4","last_invocation_id":"inv-4"},)"
      R"({"tool_id":"unknown","total":1,"success":0,"failed":1,"success_rate":0.0,)"
      R"("last_ms":50,"last_status":"unknown","last_summary":null,"last_invocation_id":null}],)"
      R"("overall":{"total":5,"success":3,"failed":2,"success_rate":0.6}})");
  // The memory section lists them as modular items with the tool fields.
  const Json entry = mem::memory_section(window)["modular"]["recent"][1];
  CHECK(entry["id"] == "2");
  CHECK(entry["invocation_id"] == "inv-2");
  CHECK(entry["tool_id"] == "fs.read");
  CHECK(entry["requested_by"] == "agent");
  CHECK(entry["result_status"] == "failed");
}

TEST_CASE("tool_summary_keeps_12_by_total_then_last_ms_then_id", "[memory]") {
  mem::MemoryWindow window;
  int id = 0;
  // t00..t13 with one call each, created at 1000 + index: all tie on total.
  for (int t = 0; t < 14; ++t) {
    const std::string tool = (t < 10 ? "t0" : "t") + std::to_string(t);
    ++id;
    window.upsert(tool_call(std::to_string(id), tool, "ok", 1000 + (t % 7)), id);
  }
  ++id;
  window.upsert(tool_call(std::to_string(id), "t05", "ok", 10), id);  // t05: total 2
  const Json summary = mem::tool_invocations_section(window)["summary"];
  REQUIRE(summary.size() == 12);
  CHECK(summary[0]["tool_id"] == "t05");
  // Then by last_ms desc (1006: t06 and t13, id ascending), ...
  CHECK(summary[1]["tool_id"] == "t06");
  CHECK(summary[2]["tool_id"] == "t13");
  CHECK(summary[3]["tool_id"] == "t12");
  CHECK(mem::tool_invocations_section(window)["overall"]["total"] == 15);
}

TEST_CASE("success_statuses_are_four_words_in_any_case", "[memory]") {
  for (const char* status : {"ok", "OK", "success", "Succeeded", "COMPLETED"})
    CHECK(mem::is_success_status(status));
  for (const char* status : {"", "done", "failed", "unknown", "oks"})
    CHECK_FALSE(mem::is_success_status(status));
}

TEST_CASE("tool_invocations_is_null_without_tool_items", "[memory]") {
  mem::MemoryWindow window;
  window.upsert(item("a", "l", R"({"payload_kind":"note"})"), 1);
  CHECK(mem::tool_invocations_section(window).is_null());
  CHECK_FALSE(mem::memory_section(window).is_null());
}
