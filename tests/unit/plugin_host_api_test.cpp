// The host API table as a plugin sees it (sdk.md "Host API services"): timers
// posted to the instance's executor with user data released exactly once,
// wake-ups that mark the plugin dirty, emit through the real journal, metric
// handles, config and state reads, and argument checks.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <functional>
#include <mutex>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "kernel/journal.h"
#include "metrics/metric_registry.h"
#include "plugins/host_api.h"
#include "plugins/plugin_manager.h"
#include "support/host_process.h"
#include "util/time.h"

using namespace tpark;
using namespace std::chrono_literals;

namespace {

tp_str str(std::string_view text) {
  return tp_str{text.data(), text.size()};
}

// A stand-in for an instance executor: one thread that runs posted tasks.
class TestExecutor {
 public:
  TestExecutor() : thread_([this] { run(); }) {}
  ~TestExecutor() { stop(); }
  bool post(std::function<void()>& task) {
    {
      std::lock_guard lock(mutex_);
      if (stopped_) return false;
      tasks_.push_back(std::move(task));
    }
    cv_.notify_all();
    return true;
  }
  void stop() {
    {
      std::lock_guard lock(mutex_);
      if (stopped_) return;
      stopped_ = true;
    }
    cv_.notify_all();
    thread_.join();
    tasks_.clear();
  }

 private:
  void run() {
    std::unique_lock lock(mutex_);
    while (true) {
      cv_.wait(lock, [&] { return stopped_ || !tasks_.empty(); });
      if (stopped_) return;
      auto task = std::move(tasks_.front());
      tasks_.pop_front();
      lock.unlock();
      task();
      task = nullptr;
      lock.lock();
    }
  }
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> tasks_;
  bool stopped_ = false;
  std::thread thread_;
};

struct TimerProbe {
  std::atomic<int> fired{0};
  std::atomic<int> freed{0};
  std::atomic<uint64_t> last_id{0};
  std::atomic<std::thread::id> thread;
};

void on_timer(void* user, uint64_t timer_id) {
  auto* probe = static_cast<TimerProbe*>(user);
  probe->last_id = timer_id;
  probe->thread = std::this_thread::get_id();
  ++probe->fired;
}
void free_probe(void* user) {
  ++static_cast<TimerProbe*>(user)->freed;
}

tp_timer_desc timer_desc(TimerProbe& probe, int64_t delay_ms, int64_t interval_ms) {
  tp_timer_desc desc{};
  desc.struct_size = sizeof desc;
  desc.delay_ms = delay_ms;
  desc.interval_ms = interval_ms;
  desc.fn = &on_timer;
  desc.user = &probe;
  desc.free_fn = &free_probe;
  return desc;
}

template <class Predicate>
bool eventually(Predicate predicate) {
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (std::chrono::steady_clock::now() < deadline) {
    if (predicate()) return true;
    std::this_thread::sleep_for(2ms);
  }
  return predicate();
}

struct ApiHost {
  std::shared_ptr<HostServices> services = std::make_shared<HostServices>();
  tp_host host;
  TestExecutor executor;
  const tp_host_api* api = host_api_table();
  ApiHost() {
    host.plugin_id = "tp.test.api";
    host.services = services;
    host.post = [this](std::function<void()>& task) { return executor.post(task); };
  }
  ~ApiHost() {
    executor.stop();
    release_host_timers(&host);
  }
};

}  // namespace

TEST_CASE("a_one_shot_timer_runs_once_on_the_executor_and_frees_its_user_once") {
  ApiHost h;
  TimerProbe probe;
  const tp_timer_desc desc = timer_desc(probe, 5, 0);
  uint64_t id = 0;
  REQUIRE(h.api->timer_start(&h.host, &desc, &id) == TP_OK);
  CHECK(id != 0);
  CHECK(eventually([&] { return probe.freed == 1; }));
  CHECK(probe.fired == 1);
  CHECK(probe.last_id == id);
  CHECK(probe.thread.load() != std::this_thread::get_id());
  // Fired one-shots are gone.
  CHECK(h.api->timer_cancel(&h.host, id) == TP_NOT_FOUND);
}

TEST_CASE("a_cancelled_interval_timer_stops_and_frees_its_user_once") {
  ApiHost h;
  TimerProbe probe;
  const tp_timer_desc desc = timer_desc(probe, 0, 1);
  uint64_t id = 0;
  REQUIRE(h.api->timer_start(&h.host, &desc, &id) == TP_OK);
  CHECK(eventually([&] { return probe.fired >= 3; }));
  REQUIRE(h.api->timer_cancel(&h.host, id) == TP_OK);
  CHECK(eventually([&] { return probe.freed == 1; }));
  const int fired = probe.fired;
  std::this_thread::sleep_for(20ms);  // a cancelled timer must not fire again
  CHECK(probe.fired == fired);
  CHECK(h.api->timer_cancel(&h.host, id) == TP_NOT_FOUND);
  CHECK(probe.freed == 1);
}

TEST_CASE("releasing_an_instance_frees_its_pending_timers") {
  TimerProbe probe;
  {
    ApiHost h;
    const tp_timer_desc desc = timer_desc(probe, 60000, 0);
    uint64_t id = 0;
    REQUIRE(h.api->timer_start(&h.host, &desc, &id) == TP_OK);
    CHECK(probe.freed == 0);
  }
  CHECK(probe.fired == 0);
  CHECK(probe.freed == 1);
}

TEST_CASE("timer_arguments_are_checked") {
  ApiHost h;
  TimerProbe probe;
  uint64_t id = 0;
  tp_timer_desc desc = timer_desc(probe, -1, 0);
  CHECK(h.api->timer_start(&h.host, &desc, &id) == TP_INVALID_ARG);
  desc = timer_desc(probe, 0, 0);
  desc.fn = nullptr;
  CHECK(h.api->timer_start(&h.host, &desc, &id) == TP_INVALID_ARG);
  desc = timer_desc(probe, 0, 0);
  desc.struct_size = 16;  // smaller than the 1.0 size
  CHECK(h.api->timer_start(&h.host, &desc, &id) == TP_INVALID_ARG);
  CHECK(h.api->timer_start(&h.host, nullptr, &id) == TP_INVALID_ARG);
  CHECK(probe.freed == 0);  // refused: ownership stayed with the caller
}

TEST_CASE("wake_at_marks_the_plugin_dirty_once_per_time") {
  ApiHost h;
  std::mutex mutex;
  std::vector<std::string> marked;
  h.services->mark_dirty = [&](const std::string& plugin_id) {
    std::lock_guard lock(mutex);
    marked.push_back(plugin_id);
  };
  const int64_t at_ms = tpark::now_ms() + 20;
  CHECK(h.api->wake_at(&h.host, at_ms) == TP_OK);
  CHECK(h.api->wake_at(&h.host, at_ms) == TP_OK);          // idempotent
  CHECK(h.api->wake_at(&h.host, at_ms - 60000) == TP_OK);  // in the past: at once
  CHECK(eventually([&] {
    std::lock_guard lock(mutex);
    return marked.size() == 2;
  }));
  std::this_thread::sleep_for(40ms);
  std::lock_guard lock(mutex);
  CHECK(marked == std::vector<std::string>{"tp.test.api", "tp.test.api"});
}

TEST_CASE("emit_journals_an_event_from_the_plugin_after_checking_kind_and_payload") {
  std::random_device random;
  const auto dir =
      std::filesystem::temp_directory_path() /
      ("tpark-host-api-test-" + std::to_string(::getpid()) + "-" + std::to_string(random()));
  std::filesystem::create_directories(dir);
  {
    Journal journal(dir / "tpark.db");
    ApiHost h;
    h.services->journal = &journal;
    int64_t id = 0;
    CHECK(h.api->emit(&h.host, str("Bad.Kind"), str("{}"), &id) == TP_INVALID_ARG);
    CHECK(h.api->emit(&h.host, str("events.lagged"), str("{}"), &id) == TP_INVALID_ARG);
    CHECK(h.api->emit(&h.host, str("plugin.said"), str("NaN"), &id) == TP_INVALID_ARG);
    REQUIRE(h.api->emit(&h.host, str("plugin.said"), str("{ \"n\" : 1 }"), &id) == TP_OK);
    REQUIRE(h.api->emit(&h.host, str("plugin.said"), tp_str{nullptr, 0}, nullptr) == TP_OK);
    const auto rows = journal.read_after(0, {}, 10).items;
    REQUIRE(rows.size() == 2);
    CHECK(rows[0]->id == id);
    CHECK(rows[0]->kind == "plugin.said");
    CHECK(rows[0]->payload == "{\"n\":1}");
    CHECK(rows[0]->source == "plugin:tp.test.api");
    CHECK(rows[1]->payload == "{}");
  }
  std::filesystem::remove_all(dir);
}

TEST_CASE("emit_refuses_every_host_owned_kind_and_reports_it") {
  tpark::test::TempDir dir;
  {
    Journal journal(dir.path() / "tpark.db");
    ApiHost h;
    h.services->journal = &journal;
    std::vector<std::string> reported;
    h.host.report_failure = [&](const std::string& message) { reported.push_back(message); };
    const char* owned[] = {"logic.unit.applied", "orchestrator.job.completed", "config.patch.applied",
                           "governor.changed",   "staging.decided",            "leases.created",
                           "policy.decision",    "policy.capsule.adopted",     "feedback.updated",
                           "actions.hint.applied"};
    for (const char* kind : owned) {
      int64_t id = -1;
      CHECK(h.api->emit(&h.host, str(kind), str("{}"), &id) == TP_INVALID_ARG);
      CHECK(id == -1);
    }
    // Kinds beside the host-owned ones stay open (actions.completed as on ingest).
    CHECK(h.api->emit(&h.host, str("actions.completed"), str("{}"), nullptr) == TP_OK);
    CHECK(h.api->emit(&h.host, str("configs.x"), str("{}"), nullptr) == TP_OK);
    const auto rows = journal.read_after(0, {}, 20).items;
    REQUIRE(rows.size() == 2);
    CHECK(rows[0]->kind == "actions.completed");
    CHECK(rows[1]->kind == "configs.x");
    REQUIRE(reported.size() == 10);
    CHECK(reported[1] ==
          "emit: kind orchestrator.job.completed is host-owned; refused (TP_INVALID_ARG)");
  }
}

namespace {

void throwing_timer(void*, uint64_t) {
  throw std::runtime_error("tick refused");
}

}  // namespace

TEST_CASE("a_timer_callback_that_throws_is_contained_and_reported_each_time") {
  ApiHost h;
  std::mutex mutex;
  std::vector<std::string> reported;
  h.host.report_failure = [&](const std::string& message) {
    std::lock_guard lock(mutex);
    reported.push_back(message);
  };
  tp_timer_desc desc{};
  desc.struct_size = sizeof desc;
  desc.delay_ms = 0;
  desc.interval_ms = 5;
  desc.fn = &throwing_timer;
  uint64_t id = 0;
  REQUIRE(h.api->timer_start(&h.host, &desc, &id) == TP_OK);
  // The executor thread survives each throw and runs the next firing.
  CHECK(eventually([&] {
    std::lock_guard lock(mutex);
    return reported.size() >= 3;
  }));
  REQUIRE(h.api->timer_cancel(&h.host, id) == TP_OK);
  h.executor.stop();  // no firing runs past here
  std::lock_guard lock(mutex);
  CHECK(reported.front() == "timer: exception escaped the plugin: tick refused");
}

TEST_CASE("metric_slots_map_handles_to_the_registry") {
  ApiHost h;
  MetricRegistry registry;
  h.services->metrics = &registry;
  const tp_str labels[] = {str("kind")};
  tp_metric_desc desc{};
  desc.struct_size = sizeof desc;
  desc.type = TP_METRIC_COUNTER;
  desc.name = str("tp_test_plugin_events_total");
  desc.help = str("Events a plugin saw.");
  desc.label_names = labels;
  desc.label_count = 1;
  uint64_t handle = 0;
  REQUIRE(h.api->metric_register(&h.host, &desc, &handle) == TP_OK);
  const tp_str values[] = {str("a.b")};
  CHECK(h.api->metric_add(&h.host, handle, values, 1, 3) == TP_OK);
  CHECK(h.api->metric_add(&h.host, handle, values, 0, 3) == TP_INVALID_ARG);
  CHECK(h.api->metric_set(&h.host, handle, values, 1, 3) == TP_INVALID_ARG);  // not a gauge
  CHECK_THAT(registry.render_text(),
             Catch::Contains("tp_test_plugin_events_total{kind=\"a.b\"} 3\n"));
  CHECK(h.api->metric_remove(&h.host, handle, values, 1) == TP_OK);
  CHECK(h.api->metric_remove(&h.host, handle, values, 1) == TP_NOT_FOUND);

  desc.name = str("tp_test_plugin_events");  // a counter without _total
  CHECK(h.api->metric_register(&h.host, &desc, &handle) == TP_INVALID_ARG);
  desc.type = 9;
  CHECK(h.api->metric_register(&h.host, &desc, &handle) == TP_INVALID_ARG);
}

TEST_CASE("state_read_names_are_the_ones_the_abi_header_documents") {
  // The quoted names in tp_plugin.h's comment above state_read.
  std::ifstream in(std::string(TPARK_SOURCE_DIR) + "/sdk/include/tpark/tp_plugin.h");
  const std::string header((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const size_t slot = header.find("(*state_read)");
  REQUIRE(slot != std::string::npos);
  const size_t comment = header.rfind("/*", slot);
  REQUIRE(comment != std::string::npos);
  std::set<std::string> documented;
  for (size_t open = header.find('"', comment); open < slot; open = header.find('"', open + 1)) {
    const size_t close = header.find('"', open + 1);
    documented.insert(header.substr(open + 1, close - open - 1));
    open = close;
  }
  const std::set<std::string> known(kStateReadNames.begin(), kStateReadNames.end());
  CHECK(documented == known);
  CHECK(known.count("task_restarts") == 1);
  for (const auto& name : known) CHECK(is_known_state_name(name));
  CHECK_FALSE(is_known_state_name("no_such_state"));
}

TEST_CASE("state_read_of_task_restarts_before_the_app_serves_it_is_unavailable") {
  ApiHost h;
  h.services->state_read = [](const std::string&) -> std::optional<Json> { return std::nullopt; };
  std::string out;
  struct Sink {
    static tp_status write(void* ctx, tp_str bytes) {
      static_cast<std::string*>(ctx)->append(bytes.ptr, bytes.len);
      return TP_OK;
    }
  };
  tp_writer writer{sizeof(tp_writer), &out, &Sink::write};
  CHECK(h.api->state_read(&h.host, str("task_restarts"), &writer) == TP_UNAVAILABLE);
  CHECK(h.api->state_read(&h.host, str("no_such_state"), &writer) == TP_NOT_FOUND);
  CHECK(out.empty());
}

TEST_CASE("config_state_log_and_memory_slots") {
  ApiHost h;
  h.host.config_json = R"({"window":512})";
  h.services->state_read = [](const std::string& name) -> std::optional<Json> {
    if (name == "bus") return Json{{"published", 3}};
    if (name == "governor") return Json(nullptr);  // known, arrives later
    return std::nullopt;
  };
  std::string out;
  struct Sink {
    static tp_status write(void* ctx, tp_str bytes) {
      static_cast<std::string*>(ctx)->append(bytes.ptr, bytes.len);
      return TP_OK;
    }
  };
  tp_writer writer{sizeof(tp_writer), &out, &Sink::write};
  CHECK(h.api->config_get(&h.host, &writer) == TP_OK);
  CHECK(out == R"({"window":512})");
  out.clear();
  CHECK(h.api->state_read(&h.host, str("bus"), &writer) == TP_OK);
  CHECK(out == R"({"published":3})");
  CHECK(h.api->state_read(&h.host, str("no_such_state"), &writer) == TP_NOT_FOUND);
  CHECK(h.api->state_read(&h.host, str("capsules"), &writer) == TP_UNAVAILABLE);
  CHECK(h.api->state_read(&h.host, str("governor"), &writer) == TP_UNAVAILABLE);
  CHECK(out == R"({"published":3})");  // nothing written for either
  tp_writer small = writer;
  small.struct_size = 8;  // smaller than the 1.0 writer
  CHECK(h.api->config_get(&h.host, &small) == TP_INVALID_ARG);

  CHECK(h.api->log(&h.host, TP_LOG_INFO, str("hello from a plugin")) == TP_OK);
  CHECK(h.api->log(&h.host, 17, str("no such level")) == TP_INVALID_ARG);
  CHECK(h.api->now_ms(&h.host) > 1700000000000);
  const int64_t t1 = h.api->monotonic_ns(&h.host);
  CHECK(h.api->monotonic_ns(&h.host) >= t1);

  void* buffer = h.api->alloc(&h.host, 64);
  REQUIRE(buffer != nullptr);
  h.api->free_buf(&h.host, buffer);
  h.api->free_buf(&h.host, nullptr);
}
