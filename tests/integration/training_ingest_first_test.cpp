// Ingest first (docs/training.md): while the journal takes at least
// ARW_TRAINING_YIELD_EVENTS_PER_SEC appends per second, the host starts
// training jobs at most ARW_TRAINING_YIELD_STARTS_PER_SEC times a second.
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "integration/test_host.h"
#include "support/metrics_text.h"
#include "util/time.h"

using namespace tpark::test;
using tpark::Json;

namespace {

TestHostOptions paced_host() {
  TestHostOptions options;
  // Busy from 1,000 appends/s (a job appends a handful of events; the
  // ingest below thousands per second); then one start per 250 ms.
  options.env = {{"ARW_TRAINING_CONCURRENCY", "4"},
                 {"ARW_TRAINING_YIELD_EVENTS_PER_SEC", "1000"},
                 {"ARW_TRAINING_YIELD_STARTS_PER_SEC", "4"}};
  return options;
}

// A label-less series of /metrics; -1 when absent.
double metric(TestHost& host, const std::string& name) {
  return metric_value(host.get_public("/metrics").body, name).value_or(-1);
}

// Posts 500-event batches until destroyed.
class IngestLoad {
 public:
  explicit IngestLoad(TestHost& host) {
    std::string batch;
    for (int i = 0; i < 500; ++i)
      batch += R"({"kind":"context.coverage","payload":{"needs_more":false,"corr_id":"c-)" +
               std::to_string(i) + "\"}}\n";
    thread_ = std::thread([this, &host, batch] {
      while (!stop_) host.post("/events/ingest", batch, {{"Content-Type", "application/x-ndjson"}});
    });
  }
  ~IngestLoad() {
    stop_ = true;
    thread_.join();
  }

 private:
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

std::vector<std::string> start_quick_jobs(TestHost& host, int n) {
  std::vector<std::string> ids;
  for (int i = 0; i < n; ++i) {
    HttpResult r =
        host.post("/orchestrator/mini_agents/start_training", R"({"goal":"g","mode":"quick"})");
    REQUIRE(r.status == 202);
    ids.push_back(r.json()["id"].get<std::string>());
  }
  return ids;
}

// The jobs' `started` times (ms), once all of them completed.
std::vector<int64_t> started_when_done(TestHost& host, const std::vector<std::string>& ids) {
  std::vector<int64_t> started;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  for (const auto& id : ids) {
    Json job = host.get("/state/orchestrator/jobs/" + id).json();
    while (job["status_slug"] != "completed" && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      job = host.get("/state/orchestrator/jobs/" + id).json();
    }
    INFO(job.dump());
    REQUIRE(job["status_slug"] == "completed");
    started.push_back(*tpark::parse_rfc3339_ms(job["started"].get<std::string>()));
  }
  std::sort(started.begin(), started.end());
  return started;
}

}  // namespace

TEST_CASE("busy_ingest_paces_job_starts_a_slot_apart_and_counts_them", "[integration][training]") {
  TestHost host(paced_host());
  std::vector<int64_t> started;
  {
    IngestLoad load(host);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (metric(host, "arw_training_ingest_busy") != 1 &&
           std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    REQUIRE(metric(host, "arw_training_ingest_busy") == 1);
    // Four runners free, five jobs queued at once: without pacing all of
    // them would start within milliseconds.
    started = started_when_done(host, start_quick_jobs(host, 5));
    // Two more slots pass with ingest still busy and nothing queued: a slot
    // no job took is not a start.
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  // A slot is 250 ms. `started` is stamped when the claim commits, a little after the slot
  // was granted, and a commit may wait behind an ingest batch: so each gap is at least most of
  // a slot, and the five starts span at least four slots less that wait. Unpaced, four runners
  // would start them within milliseconds.
  for (size_t i = 1; i < started.size(); ++i) {
    INFO("start " << i << " came " << started[i] - started[i - 1] << " ms after the one before");
    CHECK(started[i] - started[i - 1] >= 150);
  }
  CHECK(started.back() - started.front() >= 4 * 250 - 100);
  CHECK(metric(host, "arw_training_starts_paced_total") == 5);
}

TEST_CASE("jobs_start_unpaced_while_ingest_is_quiet", "[integration][training]") {
  TestHost host(paced_host());
  const std::vector<int64_t> started = started_when_done(host, start_quick_jobs(host, 5));
  REQUIRE(started.size() == 5);
  CHECK(metric(host, "arw_training_ingest_busy") == 0);
  CHECK(metric(host, "arw_training_starts_paced_total") == 0);
}
