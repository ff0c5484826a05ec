// Read models and their patches through the real host (telemetry.md 6;
// 11 check 14 and the read-model part of 16): priming GETs, versions,
// coalescing into one patch, no patches without subscribers, none for
// volatile-only changes, the client protocol across a restart, and a
// seeded property run: prime + every patch == a fresh GET.
#include <catch2/catch.hpp>

#include <map>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <thread>

#include "integration/test_host.h"
#include "live/read_model_hub.h"
#include "support/metrics_text.h"
#include "support/sse_client.h"

using namespace tpark::test;
using namespace std::chrono_literals;
using tpark::Json;

namespace {

const HeaderList kNdjson = {{"Content-Type", "application/x-ndjson"}};

std::string coverage_line(int selected, int target) {
  return "{\"kind\":\"context.coverage\",\"payload\":{\"summary\":{\"target_limit\":" +
         std::to_string(target) + ",\"lanes_requested\":2,\"selected\":" + std::to_string(selected) +
         ",\"lane_counts\":{\"semantic\":" + std::to_string(selected) + "}}}}\n";
}

std::string recall_line(double score) {
  std::ostringstream out;
  out << "{\"kind\":\"context.recall.risk\",\"payload\":{\"score\":" << score << "}}\n";
  return out.str();
}

void ingest(TestHost& host, const std::string& body) {
  HttpResult r = host.post("/events/ingest", body, kNdjson);
  REQUIRE(r.status == 200);
}

Json prime(TestHost& host, const std::string& id) {
  HttpResult r = host.get("/state/read_models/" + id);
  REQUIRE(r.status == 200);
  return r.json();
}

// The client protocol of telemetry.md 6 for one model.
struct Follower {
  explicit Follower(std::string model_id) : id(std::move(model_id)) {}
  std::string id;
  std::string instance_id;
  uint64_t version = 0;
  Json value;
  bool needs_prime = true;
  size_t applied = 0;

  void prime_from(const Json& body) {
    instance_id = body["instance_id"];
    version = body["version"];
    value = body["value"];
    needs_prime = false;
  }
  // A patch frame's payload; sets needs_prime when the protocol says so.
  void on_patch(const Json& payload) {
    if (payload["id"] != id) return;
    if (payload["instance_id"] != instance_id) {
      needs_prime = true;
      return;
    }
    const uint64_t v = payload["version"], base = payload["base_version"];
    if (v <= version) return;
    if (base != version) {
      needs_prime = true;
      return;
    }
    for (const auto& op : payload["patch"]) {  // the wire's ops (existing clients apply no others)
      INFO(op.dump());
      const std::string name = op.at("op");
      CHECK((name == "add" || name == "remove" || name == "replace"));
    }
    value = value.patch(payload["patch"]);
    version = v;
    ++applied;
  }
};

// Reads patch frames into the followers until `done` holds.
template <typename Done>
void follow_until(SseClient& client, std::vector<Follower*> followers, Done done,
                  std::chrono::seconds limit = 60s) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    REQUIRE(std::chrono::steady_clock::now() < deadline);
    auto frame = client.next(5s);
    if (!frame || frame->event != "state.read.model.patch") continue;
    REQUIRE(frame->id);
    for (Follower* f : followers) f->on_patch(frame->data["payload"]);
  }
}

Json without_volatile(const Json& value) {
  static const std::vector<std::string> paths = {
      "/generated",
      "/generated_ms",
      "/capsules/next_expiry_in_ms",
      "/capsules/next_expiry_label",
      "/capsules/sample/*/expires_in_ms",
      "/capsules/sample/*/expired_since_ms",
      "/capsules/sample/*/renew_in_ms",
      "/capsules/sample/*/status_label",
      "/capsules/sample/*/aria_hint",
  };
  return tpark::live::strip_volatile_paths(value, paths);
}

}  // namespace

TEST_CASE("read_model_priming_get_and_unknown_id", "[integration][read_models]") {
  TestHost host;
  Json about = host.get_public("/about").json();
  Json body = prime(host, "context_metrics");
  CHECK(body["id"] == "context_metrics");
  CHECK(body["instance_id"] == about["instance_id"]);
  CHECK(body["version"] == 1);
  CHECK(body["value"]["coverage"].is_null());
  CHECK(body["value"]["window"] == 512);
  // Nothing changed: the same version.
  CHECK(prime(host, "context_metrics")["version"] == 1);
  ingest(host, coverage_line(3, 8));
  Json after = prime(host, "context_metrics");
  CHECK(after["version"] == 2);
  CHECK(after["value"]["coverage"]["samples"] == 1);

  Json plugins = prime(host, "plugins");
  CHECK(plugins["value"] == host.get("/admin/plugins").json());
  Json training = prime(host, "training_metrics");
  CHECK(training["value"].contains("context"));
  CHECK(training["value"]["context"] == prime(host, "context_metrics")["value"]);
  Json routes = prime(host, "route_stats");
  CHECK(routes["value"].contains("routes"));

  HttpResult unknown = host.get("/state/read_models/nope");
  CHECK(unknown.status == 404);
  CHECK(unknown.header("content-type") == "application/problem+json");
  CHECK(host.get_public("/state/read_models/context_metrics").status == 401);
}

TEST_CASE("read_model_patches_check_14", "[integration][read_models]") {
  TestHost host;
  // No subscriber: nothing is published.
  std::string ten;
  for (int i = 0; i < 10; ++i) ten += coverage_line(i % 4, 8);
  ingest(host, ten);
  prime(host, "context_metrics");
  std::string metrics = host.get_public("/metrics").body;
  CHECK(metric_value(metrics, "arw_read_model_patches_total{id=\"context_metrics\"}") == 0.0);

  SseClient client(host.port(), "/events");
  auto hello = client.next(20s);
  REQUIRE(hello);
  REQUIRE(hello->event == "service.connected");
  Follower context{"context_metrics"};
  context.prime_from(prime(host, "context_metrics"));
  const uint64_t v = context.version;

  std::string five;
  for (int i = 0; i < 5; ++i) five += coverage_line(i, 8);
  ingest(host, five);
  // Exactly one context_metrics patch past v: base v, version v + 1.
  std::vector<Json> patches;
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (patches.empty()) {
    REQUIRE(std::chrono::steady_clock::now() < deadline);
    auto frame = client.next(5s);
    if (!frame || frame->event != "state.read.model.patch") continue;
    CHECK(frame->data["kind"] == "state.read.model.patch");
    const Json& payload = frame->data["payload"];
    CHECK(payload["instance_id"] == context.instance_id);
    if (payload["id"] == "context_metrics" && payload["version"].get<uint64_t>() > v)
      patches.push_back(payload);
  }
  CHECK(patches[0]["base_version"] == v);
  CHECK(patches[0]["version"] == v + 1);
  context.on_patch(patches[0]);
  CHECK(context.version == v + 1);
  // Settle: nothing else for context_metrics after the burst.
  const auto settle = std::chrono::steady_clock::now() + 1500ms;
  while (std::chrono::steady_clock::now() < settle) {
    auto frame = client.next(200ms);
    if (frame && frame->event == "state.read.model.patch")
      CHECK(frame->data["payload"]["id"] != "context_metrics");
  }
  Json next = prime(host, "context_metrics");
  CHECK(next["version"] == v + 1);
  CHECK(context.value == next["value"]);

  // 3 s without traffic: no training_metrics patch, though `generated` moves.
  // (The priming GET is traffic: what it publishes settles first.)
  const Json before = prime(host, "training_metrics");
  const auto settled = std::chrono::steady_clock::now() + 1500ms;
  while (std::chrono::steady_clock::now() < settled) client.next(100ms);
  const auto quiet = std::chrono::steady_clock::now() + 3s;
  while (std::chrono::steady_clock::now() < quiet) {
    auto frame = client.next(250ms);
    if (frame && frame->event == "state.read.model.patch")
      CHECK(frame->data["payload"]["id"] != "training_metrics");
  }
  const Json later = prime(host, "training_metrics");
  CHECK(later["value"]["generated_ms"] != before["value"]["generated_ms"]);
  metrics = host.get_public("/metrics").body;
  CHECK(metric_value(metrics, "arw_read_model_patches_total{id=\"context_metrics\"}") >= 1.0);
}

TEST_CASE("read_model_is_null_without_the_context_plugin_check_16", "[integration][read_models]") {
  // A built-in plugin directory without section-context.
  TempDir plugins;
  for (const auto& entry : std::filesystem::directory_iterator(TPARK_BUILTIN_PLUGIN_DIR))
    if (entry.path().filename() != "section-context")
      std::filesystem::create_directory_symlink(entry.path(), plugins.path() / entry.path().filename());
  TestHostOptions options;
  options.builtin_plugin_dir = plugins.path().string();
  TestHost host(options);
  ingest(host, coverage_line(3, 8));
  Json body = prime(host, "context_metrics");
  CHECK(body["value"].is_null());
  Json training = prime(host, "training_metrics");
  CHECK(training["value"]["context"].is_null());
  CHECK(training["value"]["sections"]["context"]["error"] == "not_loaded");
  CHECK(training["value"]["sections"]["events"]["ok"] == true);
}

TEST_CASE("read_model_patches_replay_to_a_fresh_get_property_on_the_host",
          "[integration][read_models][property]") {
  std::mt19937 random(7001);
  for (int run = 0; run < 4; ++run) {
    INFO("run " << run);
    TestHost host;
    SseClient client(host.port(), "/events?prefix=state.read.model.patch&read_models=context_metrics,training_metrics");
    auto hello = client.next(20s);
    REQUIRE(hello);
    REQUIRE(hello->event == "service.connected");
    Follower context{"context_metrics"}, training{"training_metrics"};
    context.prime_from(prime(host, "context_metrics"));
    training.prime_from(prime(host, "training_metrics"));
    const int steps = 5 + static_cast<int>(random() % 10);
    for (int step = 0; step < steps; ++step) {
      std::string body;
      const int lines = 1 + static_cast<int>(random() % 20);
      for (int i = 0; i < lines; ++i) {
        switch (random() % 4) {
          case 0: body += coverage_line(static_cast<int>(random() % 9), 8); break;
          case 1: body += recall_line(static_cast<double>(random() % 1000) / 1000.0); break;
          case 2: body += "{\"kind\":\"actions.completed\",\"payload\":{\"tool_id\":\"t" +
                          std::to_string(random() % 3) + "\"}}\n"; break;
          default: body += "{\"kind\":\"noise.event\"}\n"; break;
        }
      }
      ingest(host, body);
      if (random() % 3 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(random() % 400));
      // Reading patches as they come, re-priming when the protocol says so.
      for (Follower* f : {&context, &training})
        if (f->needs_prime) f->prime_from(prime(host, f->id));
      while (auto frame = client.next(10ms))
        if (frame->event == "state.read.model.patch")
          for (Follower* f : {&context, &training}) f->on_patch(frame->data["payload"]);
    }
    // A fresh GET publishes its transition; the followers reach its version.
    Json fresh_context = prime(host, "context_metrics");
    Json fresh_training = prime(host, "training_metrics");
    follow_until(client, {&context, &training}, [&] {
      return context.version >= fresh_context["version"].get<uint64_t>() &&
             training.version >= fresh_training["version"].get<uint64_t>();
    });
    CHECK_FALSE(context.needs_prime);
    CHECK_FALSE(training.needs_prime);
    CHECK(context.applied > 0);
    CHECK(context.version == fresh_context["version"]);
    CHECK(context.value == fresh_context["value"]);
    CHECK(training.version == fresh_training["version"]);
    CHECK(without_volatile(training.value) == without_volatile(fresh_training["value"]));
  }
}

TEST_CASE("read_model_client_reprimes_after_a_host_restart", "[integration][read_models]") {
  TestHost host;
  auto follow = std::make_unique<SseClient>(host.port(), "/events?prefix=state.&read_models=context_metrics");
  auto hello = follow->next(20s);
  REQUIRE(hello);
  const std::string first_instance = hello->data["payload"]["instance_id"];
  Follower context{"context_metrics"};
  context.prime_from(prime(host, "context_metrics"));
  ingest(host, coverage_line(2, 8));
  Json target = prime(host, "context_metrics");
  follow_until(*follow, {&context}, [&] { return context.version >= target["version"].get<uint64_t>(); });
  CHECK(context.value == target["value"]);

  host.start();  // the same state dir, a new process
  // The stream ends; the client reconnects with its last id.
  follow->reader().read_to_end(20s);
  CHECK(follow->ended());
  follow = std::make_unique<SseClient>(host.port(), "/events?prefix=state.&read_models=context_metrics",
                                       HeaderList{{"Last-Event-ID", "0"}});
  auto again = follow->next(20s);
  REQUIRE(again);
  REQUIRE(again->event == "service.connected");
  const std::string second_instance = again->data["payload"]["instance_id"];
  CHECK(second_instance != first_instance);
  // A patch of the new boot would ask for a re-prime; re-prime after every reconnect.
  Json reprimed = prime(host, "context_metrics");
  CHECK(reprimed["instance_id"] == second_instance);
  CHECK(reprimed["version"] == 1);
  CHECK(reprimed["value"]["coverage"]["latest"] == context.value["coverage"]["latest"]);  // primed from the journal
  context.prime_from(reprimed);
  ingest(host, coverage_line(5, 8));
  Json fresh = prime(host, "context_metrics");
  follow_until(*follow, {&context}, [&] { return context.version >= fresh["version"].get<uint64_t>(); });
  CHECK(context.value == fresh["value"]);
}

TEST_CASE("read_model_patches_for_a_paused_client_arrive_whole_and_in_version_order",
          "[integration][read_models][sse]") {
  TestHost host;
  // A tiny receive buffer: while it does not read, its patches wait in the
  // host (queue and pending write) and go out together when it reads again.
  SseClient paused(host.port(), "/events?prefix=state.read.model.patch", {}, 4096);
  auto hello = paused.next(20s);
  REQUIRE(hello);
  REQUIRE(hello->event == "service.connected");
  Follower context{"context_metrics"};
  context.prime_from(prime(host, "context_metrics"));
  const uint64_t primed = context.version;

  // Five separate publications (each past the hub's coalescing delay), none read meanwhile.
  for (int round = 0; round < 5; ++round) {
    std::string lines;
    for (int i = 0; i < 20; ++i) lines += coverage_line((round * 20 + i) % 7, 8);
    ingest(host, lines);
    const uint64_t published = primed + static_cast<uint64_t>(round) + 1;
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    while (prime(host, "context_metrics")["version"].get<uint64_t>() < published) {
      REQUIRE(std::chrono::steady_clock::now() < deadline);
      std::this_thread::sleep_for(50ms);
    }
  }
  const Json final_value = prime(host, "context_metrics");
  // Every version arrives once, whole, in order, each applying to the last.
  follow_until(paused, {&context}, [&] { return context.version >= final_value["version"]; });
  CHECK_FALSE(context.needs_prime);
  CHECK(context.applied == final_value["version"].get<uint64_t>() - primed);
  CHECK(context.value == final_value["value"]);
}
