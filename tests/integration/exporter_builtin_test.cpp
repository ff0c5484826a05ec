// The built-in exporters in the real host, against real sinks on loopback:
// tp.exporter.jsonl (daily files, a lossless live swap under ingest, the day
// boundary), tp.exporter.nats (a nats-server stopped and restarted under
// ingest), tp.exporter.pushgateway (Debian's prometheus-pushgateway stopped
// and restarted), and all of them next to an exporter that blocks forever.

#include <nats/nats.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "integration/test_host.h"
#include "support/free_port.h"
#include "support/nats_server.h"
#include "support/sse_client.h"

using namespace tpark::test;
using tpark::Json;
namespace fs = std::filesystem;

namespace {

constexpr const char* kJsonl = "tp.exporter.jsonl";
constexpr const char* kNats = "tp.exporter.nats";
constexpr const char* kPushgateway = "tp.exporter.pushgateway";

Json plugin_item(TestHost& host, const std::string& id) {
  std::optional<Json> item = host.plugin_item(id);
  if (!item) FAIL("plugin " << id << " not listed in /admin/plugins");
  return *item;
}

// Polls `done` every 50 ms for up to `timeout`.
template <class Done>
bool eventually(Done done, std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < until) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return done();
}

// Posts one event at a time until stopped, so read models keep changing.
class Ingest {
 public:
  explicit Ingest(TestHost& host) : host_(host), thread_([this] { run(); }) {}
  ~Ingest() { stop(); }
  void stop() {
    running_ = false;
    if (thread_.joinable()) thread_.join();
  }
  int posted() const { return posted_; }
  int failed() const { return failed_; }

 private:
  void run() {
    while (running_) {
      const std::string body =
          "{\"kind\":\"tool.result\",\"payload\":{\"n\":" + std::to_string(posted_.load()) + "}}\n";
      if (host_.post("/events/ingest", body).status == 200)
        ++posted_;
      else
        ++failed_;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
  TestHost& host_;
  std::atomic<bool> running_{true};
  std::atomic<int> posted_{0}, failed_{0};
  std::thread thread_;
};

std::vector<std::string> read_lines(const fs::path& file) {
  std::vector<std::string> lines;
  std::ifstream in(file);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// Every line of a day's files under `dir`, oldest file first
// (context.log.1, .2, ..., then context.log).
std::vector<std::string> day_lines(const fs::path& day_dir) {
  std::vector<std::string> lines;
  for (int n = 1; fs::exists(day_dir / ("context.log." + std::to_string(n))); ++n) {
    auto more = read_lines(day_dir / ("context.log." + std::to_string(n)));
    lines.insert(lines.end(), more.begin(), more.end());
  }
  auto more = read_lines(day_dir / "context.log");
  lines.insert(lines.end(), more.begin(), more.end());
  return lines;
}

std::vector<std::string> all_lines(const fs::path& dir) {
  std::vector<fs::path> days;
  if (fs::exists(dir))
    for (const auto& entry : fs::directory_iterator(dir)) days.push_back(entry.path());
  std::sort(days.begin(), days.end());
  std::vector<std::string> lines;
  for (const auto& day : days) {
    auto more = day_lines(day);
    lines.insert(lines.end(), more.begin(), more.end());
  }
  return lines;
}

// The versions of read model `id` in patch frames, in line order.
std::vector<int64_t> versions_of(const std::vector<std::string>& lines, const std::string& id) {
  std::vector<int64_t> versions;
  for (const auto& line : lines) {
    const Json frame = Json::parse(line);
    if (frame.value("id", "") == id) versions.push_back(frame["version"].get<int64_t>());
  }
  return versions;
}

int64_t model_version(TestHost& host, const std::string& id) {
  HttpResult r = host.get("/state/read_models/" + id);
  REQUIRE(r.status == 200);
  return r.json()["version"].get<int64_t>();
}

std::string jsonl_yaml(const std::string& dir, const std::string& extra = "") {
  return "schema: tpark.host/v1\n"
         "plugins:\n"
         "  tp.exporter.jsonl:\n"
         "    enabled: true\n"
         "    config: {dir: \"" +
         dir + "\", what: [patches]" + extra + "}\n";
}

// Debian's prometheus-pushgateway on a fixed loopback port (restartable).
class Pushgateway {
 public:
  Pushgateway() : port_(free_loopback_port()) { start(); }
  void start() {
    HostProcess::Options o;
    o.binary = "/usr/bin/prometheus-pushgateway";
    o.args = {"--web.listen-address=127.0.0.1:" + std::to_string(port_)};
    o.log_path = dir_.file("pushgateway-" + std::to_string(++starts_) + ".log");
    o.wait_for_listening = false;
    process_ = std::make_unique<HostProcess>(std::move(o));
    REQUIRE(eventually([&] {
      try {
        return request("GET", "127.0.0.1", port_, "/-/ready").status == 200;
      } catch (const std::exception&) {
        return false;  // not listening yet
      }
    }));
  }
  void stop() {
    process_->stop();
    process_.reset();
  }
  uint16_t port() const { return port_; }
  std::string metrics() { return request("GET", "127.0.0.1", port_, "/metrics").body; }

 private:
  TempDir dir_;
  uint16_t port_;
  int starts_ = 0;
  std::unique_ptr<HostProcess> process_;
};

// A plain libnats subscriber that records the versions it receives.
class NatsSubscriber {
 public:
  NatsSubscriber(const std::string& url, const std::string& subject) {
    natsOptions* options = nullptr;
    REQUIRE(natsOptions_Create(&options) == NATS_OK);
    natsOptions_SetURL(options, url.c_str());
    natsOptions_SetMaxReconnect(options, -1);
    natsOptions_SetReconnectWait(options, 50);
    REQUIRE(natsConnection_Connect(&connection_, options) == NATS_OK);
    natsOptions_Destroy(options);
    REQUIRE(natsConnection_Subscribe(&subscription_, connection_, subject.c_str(), &on_message,
                                     this) == NATS_OK);
    REQUIRE(natsConnection_Flush(connection_) == NATS_OK);
  }
  ~NatsSubscriber() {
    natsSubscription_Destroy(subscription_);
    natsConnection_Close(connection_);
    natsConnection_Destroy(connection_);
  }
  std::vector<int64_t> versions() const {
    std::lock_guard lock(mutex_);
    return versions_;
  }

 private:
  static void on_message(natsConnection*, natsSubscription*, natsMsg* msg, void* self) {
    auto* me = static_cast<NatsSubscriber*>(self);
    const Json frame = Json::parse(std::string(natsMsg_GetData(msg), natsMsg_GetDataLength(msg)));
    {
      std::lock_guard lock(me->mutex_);
      me->versions_.push_back(frame["version"].get<int64_t>());
    }
    natsMsg_Destroy(msg);
  }
  natsConnection* connection_ = nullptr;
  natsSubscription* subscription_ = nullptr;
  mutable std::mutex mutex_;
  std::vector<int64_t> versions_;
};

// Versions never go back (a batch retried after an outage may repeat some).
bool non_decreasing(const std::vector<int64_t>& v) {
  return std::is_sorted(v.begin(), v.end());
}

std::string today_utc() {
  const time_t now = time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char text[16];
  std::strftime(text, sizeof text, "%Y-%m-%d", &tm);
  return text;
}

}  // namespace

TEST_CASE("builtin_exporters_are_off_unless_enabled", "[integration][exporter]") {
  TestHost host;
  for (const char* id : {kJsonl, kNats, kPushgateway}) {
    Json item = plugin_item(host, id);
    CHECK(item["state"] == "disabled");
    CHECK(item["reason"] == "not enabled in host.yaml");
  }
  CHECK(host.get_public("/healthz").status == 200);
}

TEST_CASE("jsonl_swap_under_ingest_writes_every_patch_version_once_in_order",
          "[integration][exporter][jsonl]") {
  TempDir out;
  const fs::path old_dir = out.file("old"), new_dir = out.file("new");
  TestHostOptions options;
  options.host_yaml = jsonl_yaml(old_dir.string());
  TestHost host(options);
  REQUIRE(plugin_item(host, kJsonl)["state"] == "loaded");

  Ingest ingest(host);
  REQUIRE(
      eventually([&] { return versions_of(all_lines(old_dir), "training_metrics").size() >= 5; }));

  host.write_config(jsonl_yaml(new_dir.string()));
  HttpResult reload = host.post("/admin/plugins/reload", "");
  REQUIRE(reload.status == 200);
  CHECK(reload.json()["applied"]["reconfigured"] == Json::array({kJsonl}));

  REQUIRE(
      eventually([&] { return versions_of(all_lines(new_dir), "training_metrics").size() >= 5; }));
  ingest.stop();
  CHECK(ingest.failed() == 0);

  // The last version published reaches the new files.
  const int64_t last = model_version(host, "training_metrics");
  REQUIRE(eventually([&] {
    auto v = versions_of(all_lines(new_dir), "training_metrics");
    return !v.empty() && v.back() == last;
  }));

  std::vector<int64_t> versions = versions_of(all_lines(old_dir), "training_metrics");
  const size_t old_count = versions.size();
  auto newer = versions_of(all_lines(new_dir), "training_metrics");
  versions.insert(versions.end(), newer.begin(), newer.end());
  INFO("old file: " << old_count << " patches, new file: " << newer.size());
  REQUIRE(versions.size() > 10);
  // Every version exactly once, in order: consecutive from the first one.
  for (size_t i = 1; i < versions.size(); ++i) {
    INFO("at " << i);
    REQUIRE(versions[i] == versions[i - 1] + 1);
  }
  CHECK(versions.back() == last);

  Json item = plugin_item(host, kJsonl);
  CHECK(item["exporter"]["dropped"] == 0);
  CHECK(item["health"]["ok"] == true);
  HttpResult metrics = host.get_public("/metrics");
  CHECK_THAT(metrics.body,
             Catch::Contains("arw_exporter_sent_total{plugin=\"tp.exporter.jsonl\"}"));
  CHECK_THAT(metrics.body,
             Catch::Contains("arw_exporter_queue_depth{plugin=\"tp.exporter.jsonl\"}"));
}

TEST_CASE("jsonl_day_boundary_starts_a_new_dated_file_and_expires_old_days",
          "[integration][exporter][jsonl]") {
  TempDir out;
  const fs::path dir = out.file("logs");
  const std::string clock_file = out.file("clock");
  auto set_clock = [&](int64_t ms) { std::ofstream(clock_file) << ms; };
  constexpr int64_t kMarch1Late = 1772409599000;   // 2026-03-01T23:59:59Z
  constexpr int64_t kMarch2Early = 1772409601000;  // 2026-03-02T00:00:01Z
  set_clock(kMarch1Late);
  fs::create_directories(dir / "2026-02-20");
  std::ofstream(dir / "2026-02-20" / "context.log") << "{}\n";

  TestHostOptions options;
  options.host_yaml =
      jsonl_yaml(dir.string(), ", retention_days: 3, test_clock_file: \"" + clock_file + "\"");
  TestHost host(options);
  REQUIRE(plugin_item(host, kJsonl)["state"] == "loaded");

  CHECK(host.post("/events/ingest", "{\"kind\":\"a.b\"}\n").status == 200);
  REQUIRE(eventually([&] { return !read_lines(dir / "2026-03-01" / "context.log").empty(); }));
  CHECK_FALSE(fs::exists(dir / "2026-02-20"));  // older than retention_days

  set_clock(kMarch2Early);
  CHECK(host.post("/events/ingest", "{\"kind\":\"a.b\"}\n").status == 200);
  REQUIRE(eventually([&] { return !read_lines(dir / "2026-03-02" / "context.log").empty(); }));
  CHECK(fs::exists(dir / "2026-03-01" / "context.log"));  // within retention
  for (const auto& line : read_lines(dir / "2026-03-02" / "context.log"))
    CHECK(Json::parse(line).contains("version"));
}

TEST_CASE("jsonl_rotates_a_day_file_past_max_file_bytes", "[integration][exporter][jsonl]") {
  TempDir out;
  const fs::path dir = out.file("logs");
  TestHostOptions options;
  options.host_yaml = jsonl_yaml(dir.string(), ", max_file_bytes: 4096");
  TestHost host(options);
  Ingest ingest(host);
  REQUIRE(eventually([&] { return fs::exists(dir / today_utc() / "context.log.2"); }));
  ingest.stop();
  const int64_t last = model_version(host, "training_metrics");
  REQUIRE(eventually([&] {
    auto v = versions_of(all_lines(dir), "training_metrics");
    return !v.empty() && v.back() == last;
  }));
  auto versions = versions_of(all_lines(dir), "training_metrics");
  for (size_t i = 1; i < versions.size(); ++i) REQUIRE(versions[i] == versions[i - 1] + 1);
  CHECK(fs::exists(dir / today_utc() / "context.log.1"));
}

TEST_CASE("exporter_blocks_with_an_unknown_or_missing_key_are_refused_naming_the_field",
          "[integration][exporter]") {
  TestHostOptions options;
  options.host_yaml =
      "schema: tpark.host/v1\n"
      "plugins:\n"
      "  tp.exporter.jsonl: {enabled: true, config: {dir: /tmp/x, colour: red}}\n"
      "  tp.exporter.nats: {enabled: true, config: {node: n1}}\n"
      "  tp.exporter.pushgateway: {enabled: true, config: {url: \"ftp://x\"}}\n";
  TestHost host(options);
  Json jsonl = plugin_item(host, kJsonl);
  CHECK(jsonl["state"] == "refused");
  CHECK_THAT(jsonl["reason"].get<std::string>(),
             Catch::Contains("tp.exporter.jsonl.config.colour"));
  Json nats = plugin_item(host, kNats);
  CHECK(nats["state"] == "refused");
  CHECK_THAT(nats["reason"].get<std::string>(), Catch::Contains("tp.exporter.nats.config.url"));
  // A value the schema cannot judge is refused by the plugin's create.
  Json push = plugin_item(host, kPushgateway);
  CHECK(push["state"] == "failed");
  CHECK_THAT(push["reason"].get<std::string>(), Catch::Contains("config.url"));
  CHECK(host.get_public("/healthz").status == 200);

  // At reload: the whole reload is refused with the field, the old set stays.
  host.write_config(
      "schema: tpark.host/v1\n"
      "plugins:\n"
      "  tp.exporter.jsonl: {enabled: true, config: {colour: red}}\n");
  HttpResult reload = host.post("/admin/plugins/reload", "");
  CHECK(reload.status / 100 == 4);
  CHECK_THAT(reload.body, Catch::Contains("tp.exporter.jsonl.config"));
}

TEST_CASE("nats_exporter_publishes_patches_in_order_and_rides_out_a_server_outage",
          "[integration][exporter][nats]") {
  NatsServer nats;
  NatsSubscriber subscriber(nats.url(), "arw.training.read_model.n1.training_metrics");
  TestHostOptions options;
  options.host_yaml =
      "schema: tpark.host/v1\n"
      "plugins:\n"
      "  tp.exporter.nats:\n"
      "    enabled: true\n"
      "    config: {url: \"" +
      nats.url() +
      "\", node: n1, what: [patches], "
      "reconnect_wait_ms: 100, flush_timeout_ms: 500}\n";
  TestHost host(options);
  REQUIRE(plugin_item(host, kNats)["state"] == "loaded");

  Ingest ingest(host);
  REQUIRE(eventually([&] { return subscriber.versions().size() >= 10; }));

  nats.stop();
  const auto outage_start = std::chrono::steady_clock::now();
  Json item;
  REQUIRE(eventually(
      [&] {
        item = plugin_item(host, kNats);
        return item["health"]["ok"] == false && item["exporter"]["retried"].get<int>() > 0;
      },
      std::chrono::seconds(10)));
  CHECK_THAT(item["exporter"]["last_error"].get<std::string>(), Catch::Contains("nats"));
  // No other route slows while the sink is down.
  int64_t slowest_ms = 0;
  while (std::chrono::steady_clock::now() - outage_start < std::chrono::seconds(5)) {
    const auto t0 = std::chrono::steady_clock::now();
    REQUIRE(host.get_public("/healthz").status == 200);
    REQUIRE(host.snapshot().status == 200);
    slowest_ms = std::max<int64_t>(
        slowest_ms,
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
            .count());
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  CHECK(slowest_ms < 1000);
  nats.start();

  REQUIRE(eventually([&] { return plugin_item(host, kNats)["health"]["ok"] == true; }));
  const size_t before = subscriber.versions().size();
  REQUIRE(eventually([&] { return subscriber.versions().size() >= before + 10; }));
  ingest.stop();
  CHECK(ingest.failed() == 0);
  const int64_t last = model_version(host, "training_metrics");
  REQUIRE(eventually([&] {
    auto v = subscriber.versions();
    return !v.empty() && v.back() == last;
  }));
  const auto versions = subscriber.versions();
  CHECK(non_decreasing(versions));
  CHECK(plugin_item(host, kNats)["exporter"]["dropped"] == 0);
}

TEST_CASE("pushgateway_exporter_pushes_grouped_series_and_recovers_after_the_gateway_returns",
          "[integration][exporter][pushgateway]") {
  Pushgateway gateway;
  TestHostOptions options;
  options.host_yaml =
      "schema: tpark.host/v1\n"
      "plugins:\n"
      "  tp.exporter.pushgateway:\n"
      "    enabled: true\n"
      "    config: {url: \"http://127.0.0.1:" +
      std::to_string(gateway.port()) +
      "\", job: tpark-test, grouping: {site: lab}, interval_ms: 1000, timeout_ms: 500}\n";
  TestHost host(options);
  REQUIRE(plugin_item(host, kPushgateway)["state"] == "loaded");
  CHECK(host.post("/events/ingest", "{\"kind\":\"a.b\"}\n").status == 200);

  const std::string series = "job=\"tpark-test\",site=\"lab\"";
  std::string text;
  REQUIRE(eventually([&] {
    text = gateway.metrics();
    return text.find("arw_events_total{") != std::string::npos &&
           text.find(series) != std::string::npos;
  }));

  gateway.stop();
  REQUIRE(eventually([&] { return plugin_item(host, kPushgateway)["health"]["ok"] == false; },
                     std::chrono::seconds(10)));
  std::this_thread::sleep_for(std::chrono::seconds(5));  // the outage the acceptance asks for
  CHECK(host.get_public("/healthz").status == 200);
  Json down = plugin_item(host, kPushgateway);
  CHECK_THAT(down["exporter"]["last_error"].get<std::string>(), Catch::Contains("push to"));

  gateway.start();  // an empty gateway: the series come back only by a new push
  REQUIRE(eventually([&] { return gateway.metrics().find(series) != std::string::npos; }));
  REQUIRE(eventually([&] { return plugin_item(host, kPushgateway)["health"]["ok"] == true; }));
  CHECK(host.get_public("/healthz").status == 200);
}

TEST_CASE("an_exporter_that_blocks_forever_stalls_neither_ingest_nor_the_builtin_exporters",
          "[integration][exporter]") {
  NatsServer nats;
  NatsSubscriber subscriber(nats.url(), "arw.training.read_model.n1.training_metrics");
  Pushgateway gateway;
  TempDir out;
  const fs::path dir = out.file("logs");
  auto yaml = [&](bool with_blocking) {
    return "schema: tpark.host/v1\n"
           "plugins:\n"
           "  tp.exporter.jsonl: {enabled: true, config: {dir: \"" +
           dir.string() +
           "\"}}\n"
           "  tp.exporter.nats: {enabled: true, config: {url: \"" +
           nats.url() +
           "\", node: n1}}\n"
           "  tp.exporter.pushgateway: {enabled: true, config: {url: \"http://127.0.0.1:" +
           std::to_string(gateway.port()) + "\", interval_ms: 1000}}\n" +
           (with_blocking ? "  tp.fixture.blocking-exporter: {enabled: true}\n" : "");
  };
  TestHostOptions options;
  options.extra_args = {"--plugin-dir", TPARK_FIXTURE_DIR};
  options.env = {{"ARW_EXPORTER_QUEUE_ITEMS", "64"}, {"ARW_EXPORTER_STALL_MS", "200"}};
  options.host_yaml = yaml(false);
  TestHost host(options);

  auto ingest_for = [&](std::chrono::seconds duration) {
    Ingest ingest(host);
    std::this_thread::sleep_for(duration);
    ingest.stop();
    CHECK(ingest.failed() == 0);
    return ingest.posted();
  };
  const int alone = ingest_for(std::chrono::seconds(3));

  host.write_config(yaml(true));
  REQUIRE(host.post("/admin/plugins/reload", "").status == 200);
  REQUIRE(plugin_item(host, "tp.fixture.blocking-exporter")["state"] == "loaded");
  const auto sent_before = [&](const char* id) {
    return plugin_item(host, id)["exporter"]["sent"].get<int64_t>();
  };
  const int64_t jsonl_sent = sent_before(kJsonl), nats_sent = sent_before(kNats),
                push_sent = sent_before(kPushgateway);
  const size_t received = subscriber.versions().size();
  SseClient sse(host.port(), "/events?prefix=tool.");
  REQUIRE(sse.status() == 200);

  const int beside_blocked = ingest_for(std::chrono::seconds(3));
  // SSE delivers every event posted beside the blocked exporter.
  int streamed = 0;
  while (streamed < beside_blocked) {
    auto frame = sse.next(std::chrono::seconds(10));
    REQUIRE(frame);
    if (frame->event == "tool.result") ++streamed;
  }
  INFO("events posted in 3 s: " << alone << " alone, " << beside_blocked
                                << " beside the blocked exporter");
  CHECK(beside_blocked * 2 >= alone);

  Json blocked;
  REQUIRE(eventually([&] {
    blocked = plugin_item(host, "tp.fixture.blocking-exporter");
    return blocked["exporter"]["dropped"].get<int64_t>() > 0;
  }));
  CHECK(blocked["exporter"]["queue_depth"].get<int64_t>() <= 64);
  CHECK(blocked["health"]["ok"] == false);
  REQUIRE(eventually([&] {
    return sent_before(kJsonl) > jsonl_sent && sent_before(kNats) > nats_sent &&
           sent_before(kPushgateway) > push_sent && subscriber.versions().size() > received;
  }));
  for (const char* id : {kJsonl, kNats, kPushgateway}) {
    Json item = plugin_item(host, id);
    INFO(id << ": " << item.dump());
    CHECK(item["health"]["ok"] == true);
    CHECK(item["exporter"]["dropped"] == 0);
  }
  HttpResult metrics = host.get_public("/metrics");
  CHECK_THAT(
      metrics.body,
      Catch::Contains("arw_exporter_dropped_total{plugin=\"tp.fixture.blocking-exporter\"}"));
  CHECK(host.get_public("/healthz").status == 200);
}
