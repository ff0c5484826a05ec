// tp.source.nats against a real nats-server (telemetry.md 1.4 as
// docs/deploy.md states it): node events reach the journal and the snapshot
// with their node, the host's own node is dropped by the loop guard, bad
// messages are counted by reason without stopping the subscription, and an
// outage of the server is survived and shown in /admin/plugins; with
// JetStream ingest no event the server acknowledged is lost.
#include <nats/nats.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <functional>
#include <set>
#include <sstream>
#include <string>
#include <thread>

#include "support/nats_publisher.h"
#include "support/nats_server.h"
#include "test_host.h"

using tpark::Json;
using tpark::test::HostProcess;
using tpark::test::NatsServer;
using tpark::test::Publisher;
using tpark::test::TempDir;
using tpark::test::TestHost;
using tpark::test::TestHostOptions;

namespace {

constexpr const char* kSelfNode = "hub-self";

// Polls `done` every 50 ms for up to `limit`; the last answer.
bool eventually(const std::function<bool()>& done,
                std::chrono::milliseconds limit = std::chrono::seconds(20)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return done();
}

// The value of the sample line holding every one of `parts`; 0 when absent.
double metric_sum(const std::string& metrics, const std::string& family,
                  const std::vector<std::string>& parts) {
  std::istringstream lines(metrics);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind(family + "{", 0) != 0) continue;
    bool all = true;
    for (const auto& part : parts) all = all && line.find(part) != std::string::npos;
    if (all) return std::stod(line.substr(line.rfind(' ') + 1));
  }
  return 0;
}

// Every journal row whose kind starts with `prefix`, read page by page.
std::vector<Json> journal_rows(TestHost& host, const std::string& prefix) {
  std::vector<Json> rows;
  int64_t after = 0;
  for (;;) {
    auto r =
        host.get("/state/events?limit=1000&prefix=" + prefix + "&after=" + std::to_string(after));
    if (r.status != 200) return rows;
    const Json body = r.json();
    for (const auto& item : body["items"]) rows.push_back(item);
    if (body["items"].size() < 1000) return rows;
    after = body["next_after"].get<int64_t>();
  }
}

TestHostOptions nats_host_options(const NatsServer& nats, const std::string& stream = "") {
  TestHostOptions options;
  options.env = {{"ARW_NATS_URL", nats.url()}, {"ARW_NODE_ID", kSelfNode}};
  if (!stream.empty()) options.env.emplace_back("ARW_NATS_INGEST_STREAM", stream);
  return options;
}

bool source_connected(TestHost& host, bool connected) {
  auto item = host.plugin_item("tp.source.nats");
  return item && item->contains("source") && (*item)["source"]["connected"] == connected &&
         (*item)["health"]["ok"] == connected;
}

}  // namespace

TEST_CASE("nats_events_reach_the_journal_with_their_node_and_the_own_node_is_dropped", "[nats]") {
  NatsServer nats;
  TestHost host(nats_host_options(nats));
  REQUIRE(eventually([&] { return source_connected(host, true); }));
  const auto plugin = host.plugin_item("tp.source.nats");
  CHECK((*plugin)["state"] == "loaded");
  CHECK((*plugin)["source"]["node_id"] == kSelfNode);
  CHECK((*plugin)["source"]["mode"] == "core");

  Publisher hub(nats.url());
  const std::string coverage =
      R"({"time":"2026-01-02T03:04:05.000Z","payload":{"verdict":"ok","needs_more":false,"reasons":[]}})";
  hub.publish("arw.events.node.n1.context.coverage", coverage);
  hub.publish(std::string("arw.events.node.") + kSelfNode + ".context.coverage", coverage);
  hub.publish("arw.events.node.n1.context.coverage", "{not json");
  hub.publish("arw.events.node.n1.context.coverage", R"({"kind":"tool.result","payload":{}})");
  hub.publish("arw.events.node.bad!node.context.coverage", coverage);
  hub.publish("arw.events.node.n1", R"({"payload":{}})");
  // The subscription keeps going after the bad ones.
  hub.publish("arw.events.node.n2.memory.applied",
              R"({"kind":"memory.applied","payload":{"n":2}})");
  hub.flush();

  std::vector<Json> rows;
  REQUIRE(eventually([&] {
    rows = journal_rows(host, "memory.applied");
    return rows.size() == 1;
  }));
  CHECK(rows[0]["node"] == "n2");
  CHECK(rows[0]["source"] == "nats");
  CHECK(rows[0]["payload"] == Json{{"n", 2}});

  rows = journal_rows(host, "context.coverage");
  REQUIRE(rows.size() == 1);
  CHECK(rows[0]["node"] == "n1");
  CHECK(rows[0]["source"] == "nats");
  CHECK(rows[0]["time"] == "2026-01-02T03:04:05.000Z");

  auto snapshot = host.snapshot();
  REQUIRE(snapshot.status == 200);
  CHECK(snapshot.json()["context"].dump().find(R"("node":"n1")") != std::string::npos);

  const std::string metrics = host.get_public("/metrics").body;
  const std::string family = "arw_events_rejected_total";
  CHECK(metric_sum(metrics, family, {R"(source="nats")", R"(reason="self_node")"}) == 1);
  CHECK(metric_sum(metrics, family, {R"(source="nats")", R"(reason="invalid_json")"}) == 1);
  CHECK(metric_sum(metrics, family, {R"(source="nats")", R"(reason="kind_mismatch")"}) == 1);
  CHECK(metric_sum(metrics, family, {R"(source="nats")", R"(reason="invalid_node")"}) == 1);
  CHECK(metric_sum(metrics, family, {R"(source="nats")", R"(reason="missing_kind")"}) == 1);
}

TEST_CASE("nats_outage_is_shown_and_survived_while_http_ingest_keeps_serving", "[nats]") {
  NatsServer nats;
  TestHost host(nats_host_options(nats));
  REQUIRE(eventually([&] { return source_connected(host, true); }));

  nats.stop();
  REQUIRE(eventually([&] { return source_connected(host, false); }));
  auto item = host.plugin_item("tp.source.nats");
  CHECK((*item)["health"]["last_error"].get<std::string>().find("disconnected") !=
        std::string::npos);
  // The outage lasts 5 s; the host's own routes keep answering meanwhile.
  const auto outage_end = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  int ingested = 0;
  while (std::chrono::steady_clock::now() < outage_end) {
    auto r = host.post("/events/ingest", R"({"kind":"demo.during_outage","payload":{}})",
                       {{"Content-Type", "application/x-ndjson"}});
    REQUIRE(r.status == 200);
    ++ingested;
    REQUIRE(host.get("/state/events?limit=1").status == 200);
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  CHECK(journal_rows(host, "demo.during_outage").size() == static_cast<size_t>(ingested));

  nats.start();
  REQUIRE(eventually([&] { return source_connected(host, true); }));
  item = host.plugin_item("tp.source.nats");
  CHECK((*item)["source"]["reconnects"].get<int>() >= 1);
  Publisher hub(nats.url());
  hub.publish("arw.events.node.n1.demo.after_outage", R"({"payload":{}})");
  hub.flush();
  REQUIRE(eventually([&] { return journal_rows(host, "demo.after_outage").size() == 1; }));
}

TEST_CASE("nats_jetstream_ingest_loses_no_acknowledged_event_across_an_outage", "[nats]") {
  NatsServer nats({.jetstream = true});
  TestHost host(nats_host_options(nats, "ARW_EVENTS"));
  REQUIRE(eventually([&] { return source_connected(host, true); }));
  auto plugin = host.plugin_item("tp.source.nats");
  CHECK((*plugin)["source"]["mode"] == "jetstream");

  Publisher hub(nats.url());
  // The host creates the stream: publish once it acknowledges.
  REQUIRE(eventually([&] {
    return hub.publish_acked("arw.events.node.n1.demo.seq", R"({"payload":{"seq":0}})");
  }));
  std::set<int> acknowledged = {0};
  auto publish_range = [&](int from, int to) {
    for (int seq = from; seq < to; ++seq)
      if (hub.publish_acked("arw.events.node.n1.demo.seq",
                            R"({"payload":{"seq":)" + std::to_string(seq) + "}}"))
        acknowledged.insert(seq);
  };
  publish_range(1, 300);
  nats.stop();
  std::this_thread::sleep_for(std::chrono::seconds(5));  // the outage itself
  nats.start();
  REQUIRE(eventually([&] { return source_connected(host, true); }));
  REQUIRE(eventually([&] {
    return hub.publish_acked("arw.events.node.n1.demo.seq", R"({"payload":{"seq":300}})");
  }));
  acknowledged.insert(300);
  publish_range(301, 600);
  CHECK(acknowledged.size() >= 590);

  std::set<int> journaled;
  REQUIRE(eventually(
      [&] {
        journaled.clear();
        for (const auto& row : journal_rows(host, "demo.seq"))
          journaled.insert(row["payload"]["seq"].get<int>());
        return std::includes(journaled.begin(), journaled.end(), acknowledged.begin(),
                             acknowledged.end());
      },
      std::chrono::seconds(60)));
  for (const auto& row : journal_rows(host, "demo.seq")) {
    CHECK(row["node"] == "n1");
    CHECK(row["source"] == "nats");
  }
}

TEST_CASE("conform_drives_the_nats_source_without_a_server", "[nats][conform]") {
  // No server on the port: the source must still start, say it is
  // unavailable in a JSON status, and stop.
  TempDir dir;
  HostProcess::Options o;
  o.binary = std::string(TPARK_BINARY_DIR) + "/sdk/conform/tpark-conform";
  o.args = {std::string(TPARK_BUILTIN_PLUGIN_DIR) + "/source-nats/libtp_source_nats.so"};
  o.env = {{"ARW_NATS_URL", "nats://127.0.0.1:1"}};
  o.log_path = dir.file("conform.log");
  o.wait_for_listening = false;
  HostProcess conform(std::move(o));
  const auto code = conform.wait_exit(std::chrono::seconds(60));
  INFO(conform.log());
  CHECK(code == 0);
  CHECK(conform.log().find("status writes a JSON object (upstream unavailable)") !=
        std::string::npos);
}
