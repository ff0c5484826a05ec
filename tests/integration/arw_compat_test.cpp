// ARW's own clients against the real host (docs/arw-compat.md): the
// `/state/actions` filters, limit and version the reference's client sends and
// reads, the `actions` read model primed from that route and followed by its
// patches, the legacy X-ARW-Gate header refused on every route, /about's
// perf_preset as ARW reports it, and an SSE client driven the way ARW's
// `arw-events` drives one (prefix CSV, --replay, a stored last id, reconnects
// with Last-Event-ID, events.lagged then reconnect).
#include <catch2/catch.hpp>

#include <fstream>
#include <functional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "integration/test_host.h"
#include "support/sse_client.h"
#include "util/time.h"

using namespace tpark::test;
using namespace std::chrono_literals;
using tpark::Json;

namespace {

const HeaderList kJson = {{"Content-Type", "application/json"}};
const HeaderList kNdjson = {{"Content-Type", "application/x-ndjson"}};

// Submits a journal.note action (no lease needed under the standard posture)
// and returns its id.
std::string note(TestHost& host, const std::string& text) {
  Json body = {{"kind", "journal.note"}, {"input", {{"text", text}}}};
  HttpResult r = host.post("/actions", body.dump(), kJson);
  REQUIRE(r.status == 202);
  return r.json()["id"];
}

// Waits until no action is queued or running.
void wait_settled(TestHost& host) {
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  for (;;) {
    REQUIRE(std::chrono::steady_clock::now() < deadline);
    const Json queued = host.get("/state/actions?state=queued&limit=1").json();
    const Json running = host.get("/state/actions?state=running&limit=1").json();
    if (queued["total"] == 0 && running["total"] == 0) return;
    std::this_thread::sleep_for(20ms);
  }
}

std::string field_of(const HttpResult& r) {
  const Json body = r.json();
  return body["errors"][0]["field"].get<std::string>();
}

}  // namespace

TEST_CASE("state_actions_filters_by_kind_prefix_and_updated_since_with_limit_2000",
          "[integration][arw][actions]") {
  TestHost host;
  REQUIRE(host.post("/leases", R"({"capability":"context:tune"})", kJson).status == 201);
  HttpResult context = host.post(
      "/actions", R"({"kind":"context.set","input":{"vars":{"ARW_CONTEXT_K":24}}})", kJson);
  REQUIRE(context.status == 202);
  note(host, "first");
  wait_settled(host);
  const Json everything = host.get("/state/actions").json();
  REQUIRE(everything["total"] == 2);
  const std::string first_updated = everything["items"][0]["updated"];
  // The next action is updated in a later millisecond than every row so far.
  const int64_t first_updated_ms = *tpark::parse_rfc3339_ms(first_updated);
  while (tpark::now_ms() <= first_updated_ms) std::this_thread::yield();
  const std::string later_note = note(host, "second");
  wait_settled(host);

  // kind_prefix: journal. leaves context.set out (it was ignored before).
  HttpResult journal = host.get("/state/actions?kind_prefix=journal.");
  REQUIRE(journal.status == 200);
  const Json journal_body = journal.json();  // json() returns a temporary: keep it alive
  CHECK(journal_body["total"] == 2);
  for (const auto& item : journal_body["items"]) CHECK(item["kind"] == "journal.note");
  CHECK(host.get("/state/actions?kind_prefix=context").json()["total"] == 1);
  CHECK(host.get("/state/actions?kind_prefix=journal_").json()["total"] == 0);  // no wildcard

  // updated_since is exclusive.
  HttpResult since = host.get("/state/actions?updated_since=" + first_updated);
  REQUIRE(since.status == 200);
  REQUIRE(since.json()["total"] == 1);
  CHECK(since.json()["items"][0]["id"] == later_note);
  CHECK(host.get("/state/actions?updated_since=2000-01-01T00:00:00Z&kind_prefix=journal.")
            .json()["total"] == 2);

  // limit 1..2000; the reply carries the actions read model's version.
  HttpResult max = host.get("/state/actions?limit=2000");
  REQUIRE(max.status == 200);
  CHECK(max.json()["limit"] == 2000);
  CHECK(max.json()["version"].is_number_unsigned());
  CHECK(max.json()["version"] == host.get("/state/read_models/actions").json()["version"]);
  HttpResult over = host.get("/state/actions?limit=2001");
  CHECK(over.status == 400);
  CHECK(field_of(over) == "limit");

  HttpResult bad_prefix = host.get("/state/actions?kind_prefix=Journal.");
  CHECK(bad_prefix.status == 400);
  CHECK(bad_prefix.header("content-type") == "application/problem+json");
  CHECK(field_of(bad_prefix) == "kind_prefix");
  HttpResult bad_since = host.get("/state/actions?updated_since=yesterday");
  CHECK(bad_since.status == 400);
  CHECK(field_of(bad_since) == "updated_since");
}

TEST_CASE("actions_read_model_primed_from_the_route_and_patched_equals_a_fresh_get",
          "[integration][arw][actions][read_models]") {
  TestHost host;
  // 195 actions first, so the series below pushes the oldest out of the
  // newest-200 window and the patches remove items as well as add them.
  for (int i = 0; i < 195; ++i) note(host, "before " + std::to_string(i));
  wait_settled(host);

  SseClient stream(host.port(), "/events?prefix=state.read.model.patch&read_models=actions");
  REQUIRE(stream.status() == 200);
  auto hello = stream.next(20s);
  REQUIRE(hello);
  REQUIRE(hello->event == "service.connected");
  HttpResult primed_reply = host.get("/state/actions?limit=200");
  REQUIRE(primed_reply.status == 200);
  Json held = primed_reply.json();
  REQUIRE(held["items"].size() == 195);
  uint64_t version = held["version"];

  // A series of actions: notes, a config change under a lease, a staged
  // preset that is then denied.
  REQUIRE(host.post("/leases", R"({"capability":"context:tune"})", kJson).status == 201);
  for (int i = 0; i < 6; ++i) note(host, "during " + std::to_string(i));
  REQUIRE(host.post("/actions", R"({"kind":"context.set","input":{"vars":{"ARW_CONTEXT_K":20}}})",
                    kJson)
              .status == 202);
  HttpResult staged =
      host.post("/actions", R"({"kind":"preset.apply","input":{"preset":"turbo"}})", kJson);
  REQUIRE(staged.status == 202);
  REQUIRE(staged.json()["staged"] == true);
  wait_settled(host);
  REQUIRE(host.post("/staging/actions/" + staged.json()["id"].get<std::string>() + "/deny",
                    R"({"reason":"not now"})", kJson)
              .status == 200);
  for (int i = 0; i < 3; ++i) note(host, "after " + std::to_string(i));
  wait_settled(host);

  // The route's next body; its GET publishes the last transition.
  const Json fresh = host.get("/state/actions?limit=200").json();
  const uint64_t target = fresh["version"];
  REQUIRE(target > version);
  size_t patches = 0;
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  while (version < target) {
    REQUIRE(std::chrono::steady_clock::now() < deadline);
    auto frame = stream.next(5s);
    if (!frame || frame->event != "state.read.model.patch") continue;
    const Json& payload = frame->data["payload"];
    REQUIRE(payload["id"] == "actions");
    REQUIRE(payload["instance_id"] == hello->data["payload"]["instance_id"]);
    if (payload["version"].get<uint64_t>() <= version) continue;
    REQUIRE(payload["base_version"] == version);
    for (const auto& op : payload["patch"]) {
      const std::string path = op["path"];
      INFO(op.dump());
      CHECK((path == "/version" || path.rfind("/items", 0) == 0));
      CHECK((op["op"] == "add" || op["op"] == "remove" || op["op"] == "replace"));
    }
    held = held.patch(payload["patch"]);
    version = payload["version"];
    ++patches;
  }
  CHECK(patches >= 1);
  CHECK(held["version"] == fresh["version"]);
  CHECK(held["items"].size() == 200);
  CHECK(held["items"] == fresh["items"]);
  CHECK(held["limit"] == fresh["limit"]);
  CHECK(held["offset"] == fresh["offset"]);
  // The model itself is {version, items}.
  const Json model = host.get("/state/read_models/actions").json();
  CHECK(model["value"]["version"] == model["version"]);
  CHECK(model["value"]["items"] == fresh["items"]);
}

TEST_CASE("x_arw_gate_is_refused_with_410_on_public_and_state_routes",
          "[integration][arw][capsules]") {
  TestHost host;
  for (const char* route : {"/about", "/healthz", "/metrics"}) {
    INFO(route);
    HttpResult r = host.get_public(route, {{"X-ARW-Gate", "legacy"}});
    CHECK(r.status == 410);
    CHECK(r.header("content-type") == "application/problem+json");
    CHECK(r.json()["code"] == "capsule_header_legacy");
  }
  HttpResult state = host.get("/state/route_stats", {{"X-ARW-Gate", "legacy"}});
  CHECK(state.status == 410);
  HttpResult admin = host.get("/state/events", {{"X-ARW-Gate", "legacy"}});
  CHECK(admin.status == 410);
  // An admin route checks the token first, as before.
  CHECK(host.get_public("/state/events", {{"X-ARW-Gate", "legacy"}}).status == 401);
  CHECK(host.get_public("/about").status == 200);
  // Counted as before: every request carrying the header.
  CHECK(host.snapshot().json()["compatibility"]["legacy_capsule_headers"] == 6);
}

TEST_CASE("about_perf_preset_tier_is_the_preset_in_force_and_names_the_detected_tier",
          "[integration][arw][config]") {
  TestHost host;  // ARW_PERF_PRESET=balanced
  const Json about = host.get_public("/about").json();
  const Json& perf = about["perf_preset"];
  CHECK(perf["tier"] == "balanced");
  CHECK(perf["boot"] == "balanced");
  const Json presets = host.get("/state/presets").json();
  CHECK(perf["detected"] == presets["perf"]["detected"]["tier"]);
  CHECK(perf["http_max_conc"] == 1024);
  CHECK(perf["actions_queue_max"] == 1024);

  // The same meaning in /state/config and the snapshot's config.
  const Json config = host.get("/state/config").json();
  CHECK(config["perf_preset"]["tier"] == "balanced");
  CHECK(config["perf_preset"]["detected"] == perf["detected"]);
  const Json snapshot = host.snapshot().json();
  CHECK(snapshot["config"]["perf_preset"]["tier"] == "balanced");
  CHECK(snapshot["config"]["perf_preset"]["detected"] == perf["detected"]);

  // An applied perf preset changes the queue limit in force, not the boot tier.
  REQUIRE(host.post("/leases", R"({"capability":"context:tune"})", kJson).status == 201);
  REQUIRE(
      host.post("/actions", R"({"kind":"preset.apply","input":{"preset":"eco"}})", kJson).status ==
      202);
  wait_settled(host);
  const Json after = host.get_public("/about").json()["perf_preset"];
  CHECK(after["tier"] == "balanced");
  CHECK(after["actions_queue_max"] == 256);
  CHECK(after["http_max_conc"] == 1024);  // needs a restart
}

namespace {

// A client as ARW's `arw-events` runs: `--prefix` as one CSV, `--replay N`,
// the last event id stored in a file after every message and sent back as
// Last-Event-ID when it reconnects (an EventSource's own resume), with the
// replay parameter still on the URL.
struct ArwEventsClient {
  uint16_t port = 0;
  std::string prefixes;
  int replay = 0;
  std::string store;
  std::vector<SseFrame> rows;  // journal rows, in arrival order
  std::optional<int64_t> first_handshake_id;
  int connections = 0, lagged = 0;

  std::optional<std::string> stored_id() const {
    std::ifstream in(store);
    std::string id;
    if (!(in >> id)) return std::nullopt;
    return id;
  }
  void save(int64_t id) const { std::ofstream(store) << id << "\n"; }

  // One connection: reads until `stop_after` journal rows arrived, the stream
  // ends (after events.lagged) or nothing arrives for `idle`. Returns whether
  // it ended with events.lagged.
  bool connect_once(size_t stop_after, std::chrono::milliseconds idle, int receive_buffer = 0,
                    const std::function<void()>& after_handshake = {}) {
    HeaderList headers;
    if (auto id = stored_id()) headers.emplace_back("Last-Event-ID", *id);
    SseClient client(port, "/events?prefix=" + prefixes + "&replay=" + std::to_string(replay),
                     headers, receive_buffer);
    REQUIRE(client.status() == 200);
    ++connections;
    auto hello = client.next(20s);
    REQUIRE(hello);
    REQUIRE(hello->event == "service.connected");
    REQUIRE(hello->id);
    if (!first_handshake_id) first_handshake_id = hello->id;
    save(*hello->id);
    if (after_handshake) after_handshake();
    size_t taken = 0;
    while (taken < stop_after) {
      auto frame = client.next(idle);
      if (!frame) return false;
      REQUIRE(frame->id);
      save(*frame->id);  // any frame's id is a resume point
      if (frame->event == "events.lagged") {
        ++lagged;
        return true;
      }
      if (frame->event == "service.connected" || frame->event == "state.read.model.patch") continue;
      rows.push_back(*frame);
      ++taken;
    }
    return false;
  }
};

std::string ingest_lines(const std::vector<std::string>& kinds, int count, int start) {
  std::string body;
  for (int i = 0; i < count; ++i)
    body += "{\"kind\":\"" + kinds[static_cast<size_t>(i) % kinds.size()] +
            "\",\"payload\":{\"n\":" + std::to_string(start + i) + ",\"pad\":\"" +
            std::string(200, 'p') + "\"}}\n";
  return body;
}

}  // namespace

TEST_CASE("arw_events_style_client_resumes_through_cuts_and_lag_without_gap_or_duplicate",
          "[integration][arw][sse]") {
  TestHostOptions options;
  options.env = {{"ARW_EVENTS_SSE_QUEUE", "64"}};
  TestHost host(options);
  const std::vector<std::string> kinds = {"arw.alpha", "noise.x", "arw.beta"};
  // History before the client starts: --replay 25 picks the last 25 matching rows.
  REQUIRE(host.post("/events/ingest", ingest_lines(kinds, 90, 0), kNdjson).status == 200);

  ArwEventsClient client;
  client.port = host.port();
  client.prefixes = "arw.alpha,arw.beta";
  client.replay = 25;
  client.store = host.dir().file("last-event-id");
  // 1. The replay, then the connection is cut (the process stops).
  client.connect_once(10, 5s);
  REQUIRE(client.rows.size() == 10);
  // 2. Restarted: resumes from the stored id, then is cut again.
  client.connect_once(10, 5s);
  // 3. A slow reader while a burst arrives: lagged, then reconnect.
  bool lagged = client.connect_once(1000000, 20s, 4096, [&] {
    for (int request = 0; request < 10; ++request)
      REQUIRE(host.post("/events/ingest", ingest_lines(kinds, 150, 1000 + request * 150), kNdjson)
                  .status == 200);
  });
  CHECK(lagged);
  CHECK(client.lagged == 1);
  // 4. Reconnects until it is idle (caught up).
  for (int attempt = 0; attempt < 20; ++attempt)
    if (!client.connect_once(1000000, 3s)) break;

  // The rows equal GET /state/events for the same prefixes from the first
  // handshake's resume point: no gap, no duplicate, same envelopes.
  std::vector<Json> journal;
  int64_t after = *client.first_handshake_id;
  for (;;) {
    HttpResult page = host.get("/state/events?limit=1000&prefix=arw.alpha,arw.beta&after=" +
                               std::to_string(after));
    REQUIRE(page.status == 200);
    const Json body = page.json();
    for (const auto& item : body["items"]) journal.push_back(item);
    if (body["items"].size() < 1000) break;
    after = body["next_after"];
  }
  REQUIRE(journal.size() == 25 + 1000);  // the replay plus 2/3 of 1500
  std::set<int64_t> unique;
  for (const auto& row : client.rows) unique.insert(*row.id);
  CHECK(unique.size() == client.rows.size());     // no duplicate
  REQUIRE(client.rows.size() == journal.size());  // no gap
  for (size_t i = 0; i < journal.size(); ++i) {
    INFO("row " << i);
    CHECK(*client.rows[i].id == journal[i]["id"].get<int64_t>());
    CHECK(client.rows[i].event == journal[i]["kind"]);
    CHECK(client.rows[i].data == journal[i]);
  }
  CHECK(client.connections >= 4);
}
