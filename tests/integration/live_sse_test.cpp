// GET /events through the real host (telemetry.md 7; 11 checks 11-13): the
// handshake, prefix unions, replay modes and precedence, bad resume ids, the
// slow client that lags and resumes, the client cap, and resuming after the
// connection is cut at random points.
#include <catch2/catch.hpp>

#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "integration/test_host.h"
#include "support/metrics_text.h"
#include "support/sse_client.h"

using namespace tpark::test;
using namespace std::chrono_literals;
using tpark::Json;

namespace {

const HeaderList kNdjson = {{"Content-Type", "application/x-ndjson"}};

// Ingests NDJSON lines and returns the ids of the accepted ones.
Json ingest(TestHost& host, const std::string& ndjson) {
  HttpResult r = host.post("/events/ingest", ndjson, kNdjson);
  REQUIRE(r.status == 200);
  return r.json();
}

int64_t ingest_one(TestHost& host, const std::string& kind, const std::string& payload = "{}") {
  Json r = ingest(host, "{\"kind\":\"" + kind + "\",\"payload\":" + payload + "}\n");
  REQUIRE(r["accepted"] == 1);
  return r["last_id"].get<int64_t>();
}

// Reads frames until `count` journal rows (frames whose event is not a stream
// kind) arrived; REQUIREs they do within a generous deadline.
std::vector<SseFrame> read_rows(SseClient& client, size_t count) {
  std::vector<SseFrame> rows;
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  while (rows.size() < count) {
    REQUIRE(std::chrono::steady_clock::now() < deadline);
    auto frame = client.next(20s);
    REQUIRE(frame);
    if (frame->event == "service.connected" || frame->event == "state.read.model.patch") continue;
    rows.push_back(std::move(*frame));
  }
  return rows;
}

SseFrame handshake(SseClient& client) {
  REQUIRE(client.status() == 200);
  auto frame = client.next(20s);
  REQUIRE(frame);
  REQUIRE(frame->event == "service.connected");
  return *frame;
}

// All journal ids GET /state/events lists for a prefix query string.
std::vector<int64_t> journal_ids(TestHost& host, const std::string& prefix_query) {
  std::vector<int64_t> ids;
  int64_t after = 0;
  for (;;) {
    HttpResult r = host.get("/state/events?limit=1000&after=" + std::to_string(after) + prefix_query);
    REQUIRE(r.status == 200);
    Json body = r.json();
    for (const auto& item : body["items"]) ids.push_back(item["id"].get<int64_t>());
    if (body["items"].size() < 1000) break;
    after = body["next_after"].get<int64_t>();
  }
  return ids;
}

}  // namespace

TEST_CASE("sse_prefix_union_and_resume_check_11", "[integration][sse]") {
  TestHost host;
  const int64_t i1 = ingest_one(host, "a.x");
  ingest_one(host, "b.y");
  const int64_t i3 = ingest_one(host, "c.z");

  for (const std::string target : {"/events?prefix=a.,c.&after=0", "/events?prefix=a.&prefix=c.&after=0",
                                   "/events?prefix=%20A.%20,,c.&after=0"}) {
    INFO(target);
    SseClient client(host.port(), target);
    CHECK(client.reader().header("content-type") == "text/event-stream");
    CHECK(client.reader().header("cache-control") == "no-cache");
    CHECK(client.reader().header("x-accel-buffering") == "no");
    SseFrame hello = handshake(client);
    CHECK(hello.id == 0);
    const Json& payload = hello.data["payload"];
    CHECK(hello.data["kind"] == "service.connected");
    CHECK(payload["replay"] == Json{{"mode", "after"}, {"count", 0}, {"truncated", false}});
    CHECK(payload["resume_from"] == "0");
    CHECK(payload["prefixes"] == Json::array({"a.", "c."}));
    CHECK(payload["kernel_replay"] == true);
    CHECK(payload["head_id"] == i3);
    CHECK(payload["instance_id"].get<std::string>().size() == 16);
    auto rows = read_rows(client, 2);
    CHECK(rows[0].event == "a.x");
    CHECK(rows[0].id == i1);
    CHECK(rows[0].data["id"] == i1);
    CHECK(rows[0].data["source"] == "ingest");
    CHECK(rows[1].event == "c.z");
    CHECK(rows[1].id == i3);
    // Nothing else matching arrives.
    CHECK_FALSE(client.next(300ms));
  }

  // Last-Event-ID wins over after.
  SseClient resumed(host.port(), "/events?prefix=a.,c.&after=0",
                    {{"Last-Event-ID", std::to_string(i1)}});
  SseFrame hello = handshake(resumed);
  CHECK(hello.id == i1);
  CHECK(hello.data["payload"]["resume_from"] == std::to_string(i1));
  auto rows = read_rows(resumed, 1);
  CHECK(rows[0].id == i3);
  CHECK_FALSE(resumed.next(300ms));
}

TEST_CASE("sse_recent_replay_live_rows_and_bad_parameters", "[integration][sse]") {
  TestHost host;
  std::vector<int64_t> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(ingest_one(host, i % 2 ? "skip.me" : "keep.me"));
  // keep.me ids: ids[0], ids[2], ids[4]

  SseClient recent(host.port(), "/events?prefix=keep.&replay=2");
  SseFrame hello = handshake(recent);
  CHECK(hello.data["payload"]["replay"] == Json{{"mode", "recent"}, {"count", 2}, {"truncated", false}});
  CHECK(hello.id == ids[2] - 1);
  CHECK(hello.data["payload"]["resume_from"].is_null());
  auto rows = read_rows(recent, 2);
  CHECK(rows[0].id == ids[2]);
  CHECK(rows[1].id == ids[4]);

  // Live rows follow the replay with no gap and no duplicate.
  const int64_t live = ingest_one(host, "keep.me");
  ingest_one(host, "skip.me");
  auto more = read_rows(recent, 1);
  CHECK(more[0].id == live);

  // Live mode: the handshake's id is the head.
  SseClient live_only(host.port(), "/events?prefix=keep.");
  SseFrame live_hello = handshake(live_only);
  CHECK(live_hello.data["payload"]["replay"]["mode"] == "live");
  CHECK(live_hello.id == live_hello.data["payload"]["head_id"]);
  CHECK(live_hello.data["payload"]["resume_from"].is_null());
  const int64_t next = ingest_one(host, "keep.me");
  CHECK(read_rows(live_only, 1)[0].id == next);

  HttpResult bad_resume = host.get("/events", {{"Last-Event-ID", "abc"}});
  CHECK(bad_resume.status == 400);
  CHECK(bad_resume.header("content-type") == "application/problem+json");
  CHECK(bad_resume.json()["code"] == "invalid_resume_id");
  HttpResult bad_after = host.get("/events?after=-1");
  CHECK(bad_after.status == 400);
  CHECK(bad_after.json()["code"] == "invalid_resume_id");
  HttpResult bad_replay = host.get("/events?replay=1001");
  CHECK(bad_replay.status == 400);
  CHECK(bad_replay.json()["code"] == "validation_failed");
  CHECK(bad_replay.body.find("replay") != std::string::npos);
  HttpResult unauthorized = host.get_public("/events");
  CHECK(unauthorized.status == 401);
}

TEST_CASE("sse_client_limit_check_13", "[integration][sse]") {
  TestHostOptions options;
  options.env = {{"ARW_EVENTS_SSE_MAX_CLIENTS", "2"}};
  TestHost host(options);
  SseClient first(host.port(), "/events");
  handshake(first);
  {
    SseClient second(host.port(), "/events");
    handshake(second);
    HttpResult third = host.get("/events");
    CHECK(third.status == 503);
    CHECK(third.header("retry-after") == "5");
    Json body = third.json();
    CHECK(body["code"] == "too_many_clients");
    CHECK(body["title"] == "Service Unavailable");
    CHECK(body["detail"] == "too many SSE clients");
    CHECK(body["limit"] == 2);
  }
  // A slot frees when a client leaves (waits for the host to notice).
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  for (;;) {
    SseClient again(host.port(), "/events");
    if (again.status() == 200) break;
    REQUIRE(std::chrono::steady_clock::now() < deadline);
    std::this_thread::sleep_for(50ms);
  }
}

TEST_CASE("sse_slow_client_lags_then_resumes_without_loss_check_12", "[integration][sse]") {
  TestHost host;
  // S: a tiny receive buffer so its pause reaches the host quickly.
  SseClient slow(host.port(), "/events?prefix=load.", {}, 4096);
  SseFrame slow_hello = handshake(slow);
  SseClient reader(host.port(), "/events?prefix=load.");
  handshake(reader);

  // The normal reader runs on its own thread and only picks the event and id
  // lines out of each frame, so it keeps pace with the producer.
  int64_t last = 0;
  size_t received = 0;
  bool reader_lagged = false, reader_in_order = true;
  std::thread normal([&] {
    const auto deadline = std::chrono::steady_clock::now() + 240s;
    while (received < 20000 && std::chrono::steady_clock::now() < deadline) {
      auto text = reader.reader().read_frame(60s);
      if (!text) break;
      if (text->rfind("event: events.lagged\n", 0) == 0) {
        reader_lagged = true;
        break;
      }
      if (text->rfind("event: load.item\nid: ", 0) != 0) continue;
      const int64_t id = std::stoll(text->substr(21, text->find('\n', 21) - 21));
      if (id <= last) reader_in_order = false;
      last = id;
      ++received;
    }
  });
  const std::string payload = "{\"pad\":\"" + std::string(1000, 'x') + "\"}";
  for (int request = 0; request < 200; ++request) {
    std::string body;
    for (int i = 0; i < 100; ++i) body += "{\"kind\":\"load.item\",\"payload\":" + payload + "}\n";
    HttpResult r = host.post("/events/ingest", body, kNdjson);
    REQUIRE(r.status == 200);
    REQUIRE(r.json()["accepted"] == 100);
  }
  normal.join();
  // The normal reader got all 20000 in order and never lagged.
  CHECK_FALSE(reader_lagged);
  CHECK(reader_in_order);
  REQUIRE(received == 20000);

  // S resumes: rows up to resume_after, then events.lagged, then the end.
  std::set<int64_t> seen;
  size_t duplicates = 0;
  std::optional<SseFrame> lagged;
  int64_t slow_last = 0;
  while (!lagged) {
    auto frame = slow.next(60s);
    REQUIRE(frame);
    if (frame->event == "events.lagged") {
      lagged = frame;
      break;
    }
    if (frame->event != "load.item") continue;
    REQUIRE(*frame->id > slow_last);
    slow_last = *frame->id;
    if (!seen.insert(*frame->id).second) ++duplicates;
  }
  const size_t first_connection = seen.size();
  CHECK(first_connection < 20000);
  const Json& lag = lagged->data["payload"];
  CHECK(lagged->retry == 1000);
  CHECK(lag["resume_after"] == slow_last);
  CHECK(lagged->id == slow_last);
  CHECK(lag["dropped"] == 20000 - first_connection);
  slow.reader().read_to_end(20s);
  CHECK(slow.ended());

  // Reconnecting with Last-Event-ID fills the gap from the journal.
  SseClient again(host.port(), "/events?prefix=load.", {{"Last-Event-ID", std::to_string(slow_last)}});
  handshake(again);
  while (seen.size() < 20000) {
    auto frame = again.next(60s);
    REQUIRE(frame);
    REQUIRE(frame->event != "events.lagged");
    if (frame->event != "load.item") continue;
    if (!seen.insert(*frame->id).second) ++duplicates;
  }
  CHECK(seen.size() == 20000);
  CHECK(duplicates == 0);
  CHECK(*seen.begin() == slow_hello.data["payload"]["head_id"].get<int64_t>() + 1);
}

TEST_CASE("sse_resume_after_random_cuts_equals_the_journal", "[integration][sse]") {
  TestHost host;
  std::mt19937 random(20261128);
  std::thread producer([&] {
    for (int request = 0; request < 40; ++request) {
      std::string body;
      for (int i = 0; i < 50; ++i)
        body += std::string("{\"kind\":\"") + (i % 3 == 0 ? "cut.a" : i % 3 == 1 ? "other.b" : "cut.c") +
                "\",\"payload\":{\"n\":" + std::to_string(request * 50 + i) + "}}\n";
      REQUIRE(host.post("/events/ingest", body, kNdjson).status == 200);
    }
  });
  std::vector<int64_t> received;
  std::optional<int64_t> last_seen;
  const auto deadline = std::chrono::steady_clock::now() + 240s;
  bool producing = true;
  size_t expected = 0;
  for (int connection = 0;; ++connection) {
    REQUIRE(std::chrono::steady_clock::now() < deadline);
    if (connection == 4) {
      producer.join();
      producing = false;
      expected = journal_ids(host, "&prefix=cut.a,cut.c").size();
    }
    if (!producing && received.size() >= expected) break;
    HeaderList headers;
    if (last_seen) headers.emplace_back("Last-Event-ID", std::to_string(*last_seen));
    SseClient client(host.port(), "/events?prefix=cut.a,cut.c&after=0", headers);
    SseFrame hello = handshake(client);
    last_seen = *hello.id;
    // Cut after a random number of frames (any frame's id is a resume point).
    const int cut_after = static_cast<int>(random() % 300) + 1;
    for (int n = 0; n < cut_after; ++n) {
      auto frame = client.next(producing ? 20s : 2s);
      if (!frame) break;
      REQUIRE(frame->id);
      if (frame->event == "cut.a" || frame->event == "cut.c") received.push_back(*frame->id);
      last_seen = *frame->id;
    }
    client.close();
  }
  std::vector<int64_t> journal = journal_ids(host, "&prefix=cut.a,cut.c");
  CHECK(journal.size() == 40 * 33);  // 33 of every 50 lines match
  std::set<int64_t> unique(received.begin(), received.end());
  CHECK(unique.size() == received.size());  // no duplicates
  CHECK(std::vector<int64_t>(unique.begin(), unique.end()) == journal);
}

TEST_CASE("sse_stalled_client_is_closed_after_the_stream_write_timeout_and_released",
          "[integration][sse]") {
  TestHostOptions options;
  options.env = {{"ARW_EVENTS_SSE_QUEUE", "64"}, {"ARW_HTTP_STREAM_WRITE_TIMEOUT_MS", "1000"}};
  TestHost host(options);
  auto sse_metric = [&](const std::string& series) -> double {
    return metric_value(host.get_public("/metrics").body, series).value_or(-1);
  };
  // A client that never reads: a tiny receive buffer, so the host's writes stop at once.
  SseClient stalled(host.port(), "/events?prefix=load.", {}, 4096);
  REQUIRE(stalled.status() == 200);
  CHECK(sse_metric("arw_events_sse_clients") == 1);

  // Small batches, so its socket fills with written frames before its queue
  // does; then far more than its 64 queued frames hold: it lags while a write
  // is pending, and its events.lagged frame cannot be written either.
  const std::string payload = "{\"pad\":\"" + std::string(8000, 'x') + "\"}";
  for (int request = 0; request < 100; ++request) {
    std::string body;
    for (int i = 0; i < 8; ++i) body += "{\"kind\":\"load.item\",\"payload\":" + payload + "}\n";
    REQUIRE(host.post("/events/ingest", body, kNdjson).status == 200);
  }
  // The write that never completes ends the connection after the timeout:
  // the client is forgotten and what its queue and pending write held is released.
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (sse_metric("arw_events_sse_clients") != 0) {
    REQUIRE(std::chrono::steady_clock::now() < deadline);
    std::this_thread::sleep_for(100ms);
  }
  CHECK(sse_metric("arw_events_sse_lagged_total") == 1);

  // What it does receive is whole frames in id order, then the host's close.
  std::string body = stalled.reader().read_to_end(20s);
  CHECK(stalled.ended());
  int64_t last = 0;
  size_t frames = 0;
  for (size_t at = 0, end; (end = body.find("\n\n", at)) != std::string::npos; at = end + 2) {
    const std::string frame = body.substr(at, end - at);
    if (frame.rfind("event: load.item\nid: ", 0) != 0) continue;
    const int64_t id = std::stoll(frame.substr(21, frame.find('\n', 21) - 21));
    CHECK(id > last);
    last = id;
    CHECK(frame.find("\ndata: {") != std::string::npos);
    ++frames;
  }
  CHECK(frames > 0);
  CHECK(frames < 800);
}
