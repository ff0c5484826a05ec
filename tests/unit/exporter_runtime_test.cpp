// The exporter runtime in process (sdk.md rules 7 and 9, "exporter" kind; ABI
// 1.1): an exporter descriptor defined here answers what each test scripts,
// and the host's side owns the queue, the retries with backoff, the drops,
// the unhealthy marking and the drain on stop.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "plugins/exporter_runtime.h"
#include "plugins/plugin_manager.h"

using namespace tpark;
using namespace std::chrono_literals;

namespace {

// What the scripted exporter saw and what it answers next. One per test.
struct Script {
  std::mutex mutex;
  std::condition_variable changed;
  std::vector<tp_status> answers;  // consumed in order; TP_OK once empty
  std::vector<std::string> bodies;  // every item body delivered with TP_OK
  std::vector<uint32_t> types;
  std::vector<std::pair<uint64_t, uint32_t>> calls;  // (sequence, attempt) per call
  bool block = false;    // export_batch waits until released
  bool released = false;
  bool stopped = false, destroyed = false;
};
Script* script = nullptr;

tp_status create(const tp_host_api*, tp_host*, tp_str, void** out_ctx, tp_error*) {
  *out_ctx = script;
  return TP_OK;
}
tp_status start(void*, tp_error*) { return TP_OK; }
tp_status stop(void* ctx, tp_error*) {
  auto* s = static_cast<Script*>(ctx);
  std::lock_guard lock(s->mutex);
  s->stopped = true;
  return TP_OK;
}
tp_status destroy(void* ctx) {
  auto* s = static_cast<Script*>(ctx);
  std::lock_guard lock(s->mutex);
  s->destroyed = true;
  return TP_OK;
}
tp_status export_batch(void* ctx, const tp_export_batch* batch, tp_error* err) {
  auto* s = static_cast<Script*>(ctx);
  std::unique_lock lock(s->mutex);
  s->calls.emplace_back(batch->sequence, batch->attempt);
  s->changed.notify_all();
  if (s->block) s->changed.wait(lock, [&] { return s->released; });
  tp_status answer = TP_OK;
  if (!s->answers.empty()) {
    answer = s->answers.front();
    s->answers.erase(s->answers.begin());
  }
  if (answer == TP_OK) {
    for (size_t i = 0; i < batch->item_count; ++i) {
      s->bodies.emplace_back(batch->items[i]->body.ptr, batch->items[i]->body.len);
      s->types.push_back(batch->items[i]->type);
    }
  } else if (answer != TP_RETRY) {
    std::snprintf(err->message, sizeof err->message, "sink refused");
  }
  s->changed.notify_all();
  return answer;
}

ExporterSpec spec_wanting(uint32_t wants, size_t capacity = 16, uint32_t max_batch = 0) {
  ExporterSpec spec;
  spec.plugin_id = "test.exporter.scripted";
  spec.desc.struct_size = sizeof spec.desc;
  spec.desc.kind = TP_KIND_EXPORTER;
  spec.desc.name = "scripted";
  spec.desc.wants = wants;
  spec.desc.max_batch_items = max_batch;
  spec.desc.create = create;
  spec.desc.start = start;
  spec.desc.stop = stop;
  spec.desc.destroy = destroy;
  spec.desc.export_batch = export_batch;
  spec.config_json = "{}";
  spec.queue_capacity = capacity;
  spec.backoff_initial = 1ms;
  spec.backoff_max = 4ms;
  spec.stall_timeout = 50ms;
  return spec;
}

std::shared_ptr<const std::string> text(std::string s) {
  return std::make_shared<const std::string>(std::move(s));
}

// Waits (generously) until `done` holds under the script's lock.
template <class Done>
bool wait_for(Script& s, Done done) {
  std::unique_lock lock(s.mutex);
  return s.changed.wait_for(lock, 30s, [&] { return done(); });
}

template <class Done>
bool eventually(Done done) {
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(2ms);
  }
  return true;
}

}  // namespace

TEST_CASE("exporter_retry_redelivers_the_same_batch_then_counts_it_sent", "[exporter]") {
  Script s;
  script = &s;
  s.answers = {TP_RETRY, TP_RETRY, TP_OK};
  auto services = std::make_shared<const HostServices>();
  auto exporter = std::make_shared<ExporterInstance>(spec_wanting(TP_EXPORT_WANTS_SNAPSHOTS), services);
  REQUIRE_FALSE(exporter->start());
  exporter->offer(TP_EXPORT_SNAPSHOT, text(R"({"n":1})"), 1);
  REQUIRE(wait_for(s, [&] { return s.bodies.size() == 1; }));
  {
    std::lock_guard lock(s.mutex);
    REQUIRE(s.calls.size() == 3);
    CHECK(s.calls[0] == std::make_pair(uint64_t{1}, uint32_t{0}));
    CHECK(s.calls[1] == std::make_pair(uint64_t{1}, uint32_t{1}));
    CHECK(s.calls[2] == std::make_pair(uint64_t{1}, uint32_t{2}));
    CHECK(s.bodies[0] == R"({"n":1})");
  }
  REQUIRE(eventually([&] { return exporter->counters().sent == 1; }));
  const ExporterCounters c = exporter->counters();
  CHECK(c.retried == 2);
  CHECK(c.dropped == 0);
  CHECK(exporter->health().ok);
  CHECK(exporter->shutdown(5s));
  CHECK(s.stopped);
  CHECK(s.destroyed);
}

TEST_CASE("exporter_error_drops_the_batch_and_reports_the_message", "[exporter]") {
  Script s;
  script = &s;
  s.answers = {TP_INTERNAL};
  auto exporter = std::make_shared<ExporterInstance>(spec_wanting(TP_EXPORT_WANTS_METRICS),
                                                     std::make_shared<const HostServices>());
  REQUIRE_FALSE(exporter->start());
  exporter->offer(TP_EXPORT_METRICS, text("m 1\n"), 1);
  REQUIRE(eventually([&] { return exporter->counters().dropped == 1; }));
  CHECK(exporter->counters().sent == 0);
  const PluginHealth health = exporter->health();
  CHECK_FALSE(health.ok);
  CHECK(health.error_count == 1);
  CHECK(health.last_error.value_or("") == "export_batch: sink refused");
  // The next good batch makes it healthy again.
  exporter->offer(TP_EXPORT_METRICS, text("m 2\n"), 2);
  REQUIRE(eventually([&] { return exporter->counters().sent == 1; }));
  CHECK(exporter->health().ok);
  CHECK(exporter->shutdown(5s));
}

TEST_CASE("exporter_gets_only_the_item_types_it_wants", "[exporter]") {
  Script s;
  script = &s;
  auto exporter = std::make_shared<ExporterInstance>(spec_wanting(TP_EXPORT_WANTS_PATCHES),
                                                     std::make_shared<const HostServices>());
  REQUIRE_FALSE(exporter->start());
  exporter->offer(TP_EXPORT_SNAPSHOT, text("{}"), 1);
  exporter->offer(TP_EXPORT_METRICS, text("m 1\n"), 1);
  exporter->offer(TP_EXPORT_PATCH, text(R"({"id":"a"})"), 1);
  REQUIRE(wait_for(s, [&] { return s.bodies.size() == 1; }));
  CHECK(exporter->shutdown(5s));
  CHECK(s.types == std::vector<uint32_t>{TP_EXPORT_PATCH});
  CHECK(exporter->counters().sent == 1);
}

TEST_CASE("blocked_exporter_keeps_a_bounded_queue_counts_drops_and_turns_unhealthy", "[exporter]") {
  Script s;
  script = &s;
  s.block = true;
  auto exporter = std::make_shared<ExporterInstance>(
      spec_wanting(TP_EXPORT_WANTS_SNAPSHOTS, /*capacity=*/4, /*max_batch=*/1),
      std::make_shared<const HostServices>());
  REQUIRE_FALSE(exporter->start());
  exporter->offer(TP_EXPORT_SNAPSHOT, text("0"), 0);
  REQUIRE(wait_for(s, [&] { return s.calls.size() == 1; }));  // the worker is now stuck in it
  for (int i = 1; i <= 10; ++i) exporter->offer(TP_EXPORT_SNAPSHOT, text(std::to_string(i)), i);
  ExporterCounters c = exporter->counters();
  CHECK(c.queue_depth == 4);
  CHECK(c.queue_capacity == 4);
  CHECK(c.dropped == 6);  // items 1..6 made room for 7..10
  CHECK_FALSE(exporter->health().ok);  // full
  // Past the stall time the health says why.
  CHECK(eventually([&] {
    return exporter->health().last_error.value_or("").find("export_batch has not returned") !=
           std::string::npos;
  }));

  // Released: stop drains what is queued (each batch once) before stop/destroy.
  {
    std::lock_guard lock(s.mutex);
    s.released = true;
  }
  s.changed.notify_all();
  CHECK(exporter->shutdown(10s));
  std::lock_guard lock(s.mutex);
  CHECK(s.bodies == std::vector<std::string>{"0", "7", "8", "9", "10"});
  CHECK(s.destroyed);
}

TEST_CASE("exporter_that_never_returns_is_abandoned_within_the_stop_timeout", "[exporter]") {
  // Never released: the script outlives the abandoned worker (never freed,
  // so process exit never destroys what it waits on).
  static Script& s = *new Script;
  script = &s;
  s.block = true;
  auto exporter = std::make_shared<ExporterInstance>(spec_wanting(TP_EXPORT_WANTS_SNAPSHOTS),
                                                     std::make_shared<const HostServices>());
  REQUIRE_FALSE(exporter->start());
  exporter->offer(TP_EXPORT_SNAPSHOT, text("{}"), 0);
  REQUIRE(wait_for(s, [&] { return s.calls.size() == 1; }));
  CHECK_FALSE(exporter->shutdown(100ms));
  std::lock_guard lock(s.mutex);
  CHECK_FALSE(s.destroyed);
}

TEST_CASE("runtime_feeds_snapshots_and_metrics_and_offers_patches", "[exporter]") {
  Script s;
  script = &s;
  std::atomic<int> snapshots_built{0};
  ExporterRuntime::Feeds feeds;
  feeds.snapshot = [&]() -> std::optional<std::string> {
    return "{\"snapshot\":" + std::to_string(++snapshots_built) + "}";
  };
  feeds.metrics = [] { return std::string("up 1\n"); };
  ExporterRuntime runtime(feeds);
  ExporterSpec spec = spec_wanting(TP_EXPORT_WANTS_SNAPSHOTS | TP_EXPORT_WANTS_METRICS |
                                   TP_EXPORT_WANTS_PATCHES);
  spec.desc.snapshot_interval_ms = 10;
  auto exporter = std::make_shared<ExporterInstance>(spec, std::make_shared<const HostServices>());
  REQUIRE_FALSE(exporter->start());
  runtime.add(exporter);
  runtime.offer_patch(
      "training_metrics",
      text(R"({"id":"training_metrics","instance_id":"i","version":2,"base_version":1,"patch":[]})"),
      1700000000000);
  REQUIRE(wait_for(s, [&] {
    int snapshot_items = 0, metric_items = 0, patch_items = 0;
    for (uint32_t t : s.types) {
      snapshot_items += t == TP_EXPORT_SNAPSHOT;
      metric_items += t == TP_EXPORT_METRICS;
      patch_items += t == TP_EXPORT_PATCH;
    }
    return snapshot_items >= 2 && metric_items >= 2 && patch_items == 1;
  }));
  runtime.stop_feeding();
  runtime.remove(exporter);
  CHECK(exporter->shutdown(5s));
  std::lock_guard lock(s.mutex);
  for (size_t i = 0; i < s.types.size(); ++i) {
    if (s.types[i] == TP_EXPORT_METRICS) CHECK(s.bodies[i] == "up 1\n");
    if (s.types[i] == TP_EXPORT_PATCH) CHECK_THAT(s.bodies[i], Catch::Contains("\"base_version\":1"));
    if (s.types[i] == TP_EXPORT_SNAPSHOT) CHECK_THAT(s.bodies[i], Catch::StartsWith("{\"snapshot\":"));
  }
}

TEST_CASE("swap_hands_what_the_outgoing_exporter_could_not_send_to_the_successor_in_order",
          "[exporter]") {
  Script outgoing_script, successor_script;
  // The outgoing sink takes "1", then answers RETRY for good (a long backoff
  // keeps its worker waiting when the swap comes).
  outgoing_script.answers = {TP_OK, TP_RETRY, TP_RETRY, TP_RETRY};
  auto services = std::make_shared<const HostServices>();
  ExporterSpec outgoing_spec = spec_wanting(TP_EXPORT_WANTS_PATCHES, 16, 1);
  outgoing_spec.backoff_initial = 10s;
  outgoing_spec.backoff_max = 10s;
  auto outgoing = std::make_shared<ExporterInstance>(outgoing_spec, services);
  script = &outgoing_script;
  REQUIRE_FALSE(outgoing->start());
  ExporterRuntime runtime(ExporterRuntime::Feeds{});
  runtime.add(outgoing);

  runtime.offer_patch("m", text("1"), 1);
  REQUIRE(wait_for(outgoing_script, [&] { return outgoing_script.bodies.size() == 1; }));
  runtime.offer_patch("m", text("2"), 2);  // answered RETRY
  REQUIRE(wait_for(outgoing_script, [&] { return outgoing_script.calls.size() == 2; }));
  runtime.offer_patch("m", text("3"), 3);
  runtime.offer_patch("m", text("4"), 4);

  auto successor = std::make_shared<ExporterInstance>(spec_wanting(TP_EXPORT_WANTS_PATCHES), services);
  successor->hold();
  script = &successor_script;
  REQUIRE_FALSE(successor->start());
  runtime.replace(outgoing, successor);
  runtime.offer_patch("m", text("5"), 5);  // to the successor, held behind what comes over

  bool stopped = false;
  auto handed = outgoing->hand_off(5s, &stopped);
  CHECK(stopped);
  CHECK(outgoing_script.stopped);
  successor->release(std::move(handed));
  REQUIRE(wait_for(successor_script, [&] { return successor_script.bodies.size() == 4; }));
  {
    std::lock_guard lock(successor_script.mutex);
    CHECK(successor_script.bodies == std::vector<std::string>{"2", "3", "4", "5"});
  }
  CHECK(outgoing_script.bodies == std::vector<std::string>{"1"});
  CHECK(outgoing->counters().dropped == 0);
  CHECK(successor->counters().dropped == 0);
  runtime.remove(successor);
  CHECK(successor->shutdown(5s));
}

TEST_CASE("an_exporter_added_while_the_feeder_waits_gets_its_first_samples_at_once", "[exporter]") {
  Script slow_script, fresh_script;
  auto services = std::make_shared<const HostServices>();
  ExporterRuntime::Feeds feeds;
  feeds.snapshot = [] { return std::optional<std::string>("{}"); };
  feeds.metrics = [] { return std::string("m 1\n"); };
  ExporterRuntime runtime(std::move(feeds));
  // The first exporter puts the feeder to sleep for an hour.
  ExporterSpec slow_spec = spec_wanting(TP_EXPORT_WANTS_SNAPSHOTS);
  slow_spec.desc.snapshot_interval_ms = 3600000;
  auto slow = std::make_shared<ExporterInstance>(slow_spec, services);
  script = &slow_script;
  REQUIRE_FALSE(slow->start());
  runtime.add(slow);
  REQUIRE(wait_for(slow_script, [&] { return slow_script.bodies.size() == 1; }));

  auto fresh = std::make_shared<ExporterInstance>(spec_wanting(TP_EXPORT_WANTS_METRICS), services);
  script = &fresh_script;
  REQUIRE_FALSE(fresh->start());
  runtime.add(fresh);
  REQUIRE(wait_for(fresh_script, [&] { return fresh_script.bodies.size() >= 1; }));
  CHECK(fresh_script.bodies.front() == "m 1\n");
  runtime.remove(slow);
  runtime.remove(fresh);
  runtime.stop_feeding();
  CHECK(slow->shutdown(5s));
  CHECK(fresh->shutdown(5s));
}
