// The `memory` and `tool_invocations` sections against the real host
// (telemetry.md §2.3, §11 check 1): null when empty with ok:true, the shapes
// after a few upserts and expiries, and the window rebuilt after a restart.
#include <catch2/catch.hpp>

#include <string>

#include "integration/test_host.h"

using namespace tpark::test;
using tpark::Json;

namespace {

std::string upsert(const std::string& item) {
  return R"({"kind":"memory.item.upserted","payload":)" + item + "}\n";
}

std::string expire(const std::string& id) {
  return R"({"kind":"memory.item.expired","payload":{"id":")" + id + "\"}}\n";
}

std::string tool_call(const std::string& id, const std::string& tool, const std::string& status,
                      int created_ms) {
  return upsert(R"({"id":")" + id +
                R"(","lane":"episodic","value":{"payload_kind":)"
                R"("tool_invocation","created_ms":)" +
                std::to_string(created_ms) + R"(,"turn_id":"t-)" + id +
                R"(","agent_id":"agent-1","intent":"act",)"
                R"("confidence":0.75,"payload_summary":"ran )" +
                tool +
                R"(",)"
                R"("payload":{"invocation_id":"inv-)" +
                id + R"(","tool_id":")" + tool +
                R"(","requested_by":"planner","result":{"status":")" + status + R"("}}}})");
}

Json snapshot(TestHost& host) {
  HttpResult r = host.snapshot();
  REQUIRE(r.status == 200);
  return r.json();
}

void ingest(TestHost& host, const std::string& ndjson) {
  HttpResult r = host.post("/events/ingest", ndjson);
  REQUIRE(r.status == 200);
}

}  // namespace

TEST_CASE("memory_and_tool_invocations_summarise_the_window", "[integration][memory]") {
  TestHost host;
  ingest(host, upsert(R"({"id":"n1","lane":"semantic","value":{"text":"plain note"}})") +
                   upsert(R"({"id":"n2","lane":"semantic","value":{"payload_kind":"plan",)"
                          R"("created_ms":500,"lifecycle":{"stage":"pending_human_review"}}})") +
                   tool_call("c1", "fs.read", "ok", 100) +
                   tool_call("c2", "fs.read", "error", 300) +
                   tool_call("c3", "web.get", "Completed", 200) + expire("n1") + expire("missing"));
  const Json snap = snapshot(host);
  CHECK(snap["sections"]["memory"]["ok"] == true);
  CHECK(snap["sections"]["tool_invocations"]["ok"] == true);

  const Json memory = snap["memory"];
  CHECK(memory["lanes"].dump() == R"({"episodic":3,"semantic":1})");
  CHECK(memory["total_recent"] == 4);
  CHECK(memory["modular"]["pending_human_review"] == 1);
  CHECK(memory["modular"]["blocked"] == 0);
  const Json recent = memory["modular"]["recent"];
  REQUIRE(recent.size() == 4);
  CHECK(recent[0]["id"] == "n2");
  CHECK(recent[1].dump() ==
        R"({"id":"c2","lane":"episodic","turn_id":"t-c2","agent_id":"agent-1","intent":"act",)"
        R"("payload_kind":"tool_invocation","lifecycle_stage":"accepted",)"
        R"("validation_gate":"skipped","confidence":0.75,"created_ms":300,)"
        R"("payload_summary":"ran fs.read","invocation_id":"inv-c2","tool_id":"fs.read",)"
        R"("requested_by":"planner","result_status":"error"})");
  CHECK(recent[2]["id"] == "c3");
  CHECK(recent[3]["id"] == "c1");

  CHECK(snap["tool_invocations"].dump() ==
        R"({"summary":[)"
        R"({"tool_id":"fs.read","total":2,"success":1,"failed":1,"success_rate":0.5,)"
        R"("last_ms":300,"last_status":"error","last_summary":"ran fs.read",)"
        R"("last_invocation_id":"inv-c2"},)"
        R"({"tool_id":"web.get","total":1,"success":1,"failed":0,"success_rate":1.0,)"
        R"("last_ms":200,"last_status":"Completed","last_summary":"ran web.get",)"
        R"("last_invocation_id":"inv-c3"}],)"
        R"("overall":{"total":3,"success":2,"failed":1,"success_rate":0.6666666666666666}})");

  // A restart rebuilds the same window from the journal.
  REQUIRE(host.process().stop() == 0);
  host.start();
  const Json primed = snapshot(host);
  INFO(primed["sections"].dump());
  CHECK(primed["memory"].dump() == memory.dump());
  CHECK(primed["tool_invocations"].dump() == snap["tool_invocations"].dump());
}

TEST_CASE("latest_upsert_wins_and_expiring_everything_nulls_both", "[integration][memory]") {
  TestHost host;
  ingest(host, tool_call("c1", "fs.read", "failed", 100) + tool_call("c1", "fs.read", "ok", 150));
  Json snap = snapshot(host);
  CHECK(snap["memory"]["total_recent"] == 1);
  CHECK(snap["tool_invocations"]["overall"].dump() ==
        R"({"total":1,"success":1,"failed":0,"success_rate":1.0})");

  ingest(host, upsert(R"({"id":"n1","lane":"semantic"})"));
  snap = snapshot(host);
  CHECK(snap["memory"]["lanes"].dump() == R"({"episodic":1,"semantic":1})");

  ingest(host, expire("c1"));
  snap = snapshot(host);
  CHECK(snap["tool_invocations"].is_null());
  CHECK(snap["sections"]["tool_invocations"]["ok"] == true);
  CHECK(snap["memory"].dump() ==
        R"({"lanes":{"semantic":1},"total_recent":1,)"
        R"("modular":{"recent":[],"pending_human_review":0,"blocked":0}})");

  ingest(host, expire("n1"));
  snap = snapshot(host);
  CHECK(snap["memory"].is_null());
  CHECK(snap["sections"]["memory"]["ok"] == true);
}
