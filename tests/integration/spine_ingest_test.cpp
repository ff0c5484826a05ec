// The event path against the real host: ingest, the journal read, durability
// across kill -9 (telemetry.md 11 checks 2, 18, 19; the spine's acceptance).
#include <catch2/catch.hpp>

#include "integration/test_host.h"

using namespace tpark::test;
using tpark::Json;

namespace {

int64_t events_total(TestHost& host) {
  HttpResult snap = host.snapshot();
  REQUIRE(snap.status == 200);
  return snap.json()["events"]["total"].get<int64_t>();
}

}  // namespace

TEST_CASE("ingest_reports_each_bad_line_and_keeps_the_good_one", "[integration][ingest]") {
  TestHost host;
  const std::string body =
      "{\"kind\":\"working._set.completed\"}\n"
      "\n"
      "{bad\n"
      "{\"kind\":\"Bad.Kind\"}\n"
      "{\"kind\":\"events.lagged\"}\n"
      "{\"kind\":\"a.b\",\"time\":\"x\"}\n";
  HttpResult r = host.post("/events/ingest", body, {{"Content-Type", "application/x-ndjson"}});
  REQUIRE(r.status == 200);
  Json j = r.json();
  CHECK(j["accepted"] == 1);
  CHECK(j["rejected_total"] == 4);
  CHECK(j["rejected"].dump() ==
        R"([{"line":3,"error":"invalid_json"},{"line":4,"error":"invalid_kind"},)"
        R"({"line":5,"error":"reserved_kind"},{"line":6,"error":"invalid_time"}])");
  REQUIRE(j["first_id"].is_number_integer());
  CHECK(j["first_id"] == j["last_id"]);

  HttpResult events = host.get("/state/events?after=0");
  REQUIRE(events.status == 200);
  Json items = events.json()["items"];
  REQUIRE(items.size() == 1);
  CHECK(items[0]["kind"] == "working_set.completed");
  CHECK(items[0]["source"] == "ingest");
  CHECK(items[0]["payload"] == Json::object());
  CHECK(items[0]["id"] == j["first_id"]);

  // The stored kind is also the counted one.
  HttpResult snap = host.snapshot();
  REQUIRE(snap.status == 200);
  CHECK(snap.json()["events"]["kinds"].dump() == R"([["working_set.completed",1]])");
}

TEST_CASE("ingest_body_over_the_limit_is_413_and_accepts_nothing", "[integration][ingest]") {
  TestHost host;
  int64_t before = events_total(host);
  std::string line = "{\"kind\":\"big.line\",\"payload\":{\"pad\":\"";
  std::string body;
  while (body.size() < 4194305) body += line + std::string(1000, 'x') + "\"}}\n";
  body.resize(4194305);
  HttpResult r = host.post("/events/ingest", body);
  CHECK(r.status == 413);
  CHECK(r.header("content-type").value_or("") == "application/problem+json");
  Json p = r.json();
  CHECK(p["code"] == "payload_too_large");
  CHECK(p["limit"] == 4194304);
  CHECK(events_total(host) == before);
  CHECK(host.get("/state/events?after=0").json()["items"].empty());
}

TEST_CASE("ingest_refuses_other_content_types_with_415", "[integration][ingest]") {
  TestHost host;
  HttpResult r = host.post("/events/ingest", "{\"kind\":\"a.b\"}\n", {{"Content-Type", "text/csv"}});
  CHECK(r.status == 415);
  CHECK(r.json()["code"] == "unsupported_media_type");
  for (const char* ok : {"application/x-ndjson", "application/jsonl", "application/json",
                         "text/plain; charset=utf-8"}) {
    HttpResult accepted = host.post("/events/ingest", "{\"kind\":\"a.b\"}\n", {{"Content-Type", ok}});
    CHECK(accepted.status == 200);
  }
}

TEST_CASE("empty_ingest_body_answers_zero_counts", "[integration][ingest]") {
  TestHost host;
  HttpResult r = host.post("/events/ingest", "");
  REQUIRE(r.status == 200);
  CHECK(r.body ==
        R"({"accepted":0,"rejected":[],"rejected_total":0,"first_id":null,"last_id":null})");
}

TEST_CASE("journal_read_filters_by_prefix_and_pages_with_next_after", "[integration][journal]") {
  TestHost host;
  HttpResult r = host.post("/events/ingest", "{\"kind\":\"a.x\"}\n{\"kind\":\"b.y\"}\n{\"kind\":\"c.z\"}\n");
  REQUIRE(r.status == 200);
  int64_t i1 = r.json()["first_id"].get<int64_t>();
  int64_t i3 = r.json()["last_id"].get<int64_t>();
  REQUIRE(i3 == i1 + 2);

  HttpResult both = host.get("/state/events?after=0&prefix=a.,c.");
  REQUIRE(both.status == 200);
  Json j = both.json();
  REQUIRE(j["items"].size() == 2);
  CHECK(j["items"][0]["id"] == i1);
  CHECK(j["items"][0]["kind"] == "a.x");
  CHECK(j["items"][0]["source"] == "ingest");
  CHECK(j["items"][1]["id"] == i3);
  CHECK(j["items"][1]["source"] == "ingest");
  CHECK(j["next_after"] == i3);
  CHECK(j["truncated"] == false);

  // The same filter given as repeated parameters.
  CHECK(host.get("/state/events?after=0&prefix=a.&prefix=c.").json()["items"].size() == 2);

  Json one = host.get("/state/events?after=0&prefix=a.,c.&limit=1").json();
  REQUIRE(one["items"].size() == 1);
  CHECK(one["items"][0]["id"] == i1);
  CHECK(one["next_after"] == i1);

  Json rest = host.get("/state/events?after=" + std::to_string(i1) + "&prefix=a.,c.").json();
  REQUIRE(rest["items"].size() == 1);
  CHECK(rest["items"][0]["id"] == i3);

  Json empty = host.get("/state/events?after=" + std::to_string(i3)).json();
  CHECK(empty["items"].empty());
  CHECK(empty["next_after"] == i3);

  HttpResult bad = host.get("/state/events?limit=1001");
  CHECK(bad.status == 400);
  Json p = bad.json();
  CHECK(p["code"] == "validation_failed");
  REQUIRE(p["errors"].size() == 1);
  CHECK(p["errors"][0]["field"] == "limit");
  CHECK(host.get("/state/events?after=-1").json()["errors"][0]["field"] == "after");
}

TEST_CASE("host_owned_kinds_are_refused_on_ingest", "[integration][ingest]") {
  TestHost host;
  HttpResult r = host.post("/events/ingest",
                           "{\"kind\":\"logic.unit.applied\"}\n"
                           "{\"kind\":\"orchestrator.job.completed\"}\n"
                           "{\"kind\":\"config.patch.applied\"}\n"
                           "{\"kind\":\"actions.completed\"}\n");
  REQUIRE(r.status == 200);
  Json j = r.json();
  CHECK(j["accepted"] == 1);
  CHECK(j["rejected"].dump() ==
        R"([{"line":1,"error":"reserved_kind"},{"line":2,"error":"reserved_kind"},)"
        R"({"line":3,"error":"reserved_kind"}])");
  Json items = host.get("/state/events?after=0").json()["items"];
  REQUIRE(items.size() == 1);
  CHECK(items[0]["kind"] == "actions.completed");
  CHECK(items[0]["source"] == "ingest");
}

TEST_CASE("acknowledged_events_survive_kill_9_and_ids_continue", "[integration][durability]") {
  TestHost host;
  std::string body;
  for (int i = 0; i < 500; ++i) body += "{\"kind\":\"durable.item\",\"payload\":{\"n\":" + std::to_string(i) + "}}\n";
  HttpResult r = host.post("/events/ingest", body);
  REQUIRE(r.status == 200);
  REQUIRE(r.json()["accepted"] == 500);
  int64_t last = r.json()["last_id"].get<int64_t>();
  host.process().kill9();  // right after the 200: no clean shutdown

  host.start();
  // Every acknowledged event is listed.
  int64_t after = 0;
  int seen = 0;
  while (true) {
    Json page = host.get("/state/events?after=" + std::to_string(after) + "&limit=1000").json();
    for (const auto& item : page["items"]) {
      CHECK(item["payload"]["n"] == seen);
      ++seen;
    }
    if (page["items"].empty()) break;
    after = page["next_after"].get<int64_t>();
  }
  CHECK(seen == 500);
  CHECK(after == last);

  HttpResult next = host.post("/events/ingest", "{\"kind\":\"durable.after\"}\n");
  REQUIRE(next.status == 200);
  CHECK(next.json()["first_id"].get<int64_t>() > last);
}
