// training_metrics patch bytes for one SSE client while context events arrive
// from a generator that is not the agent simulator: a seeded generator posts
// the four windowed context kinds (coverage, recall risk, assembly iteration,
// retriever) through POST /events/ingest at a fixed rate, with its own
// queries, projects, lanes and slots. Prints the training_metrics patch bytes
// per minute beside full snapshots at the same cadence (target <= 5%), and
// the host's peak RSS.
//
// Usage: bench_sse_context_patches [seconds=30] [events/s=100]
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <random>
#include <string>
#include <thread>

#include "support/host_process.h"
#include "support/http_client.h"
#include "support/sse_client.h"
#include "util/json.h"
#include "util/time.h"

using namespace tpark;
using namespace tpark::test;
using Clock = std::chrono::steady_clock;

namespace {

constexpr const char* kToken = "t";

// One context event of the generator's own shape, as an NDJSON line.
std::string context_line(std::mt19937& random, uint64_t n) {
  static const char* const kinds[] = {"context.coverage", "context.recall.risk",
                                      "working_set.iteration.summary", "working_set.completed"};
  static const char* const lanes[] = {"semantic", "episodic", "procedural"};
  static const char* const slots[] = {"evidence", "plan", "policy"};
  auto pick = [&](int below) { return static_cast<int>(random() % static_cast<unsigned>(below)); };
  Json lane_counts = Json::object(), counts = Json::object(), budgets = Json::object();
  for (const char* lane : lanes) lane_counts[lane] = pick(6);
  for (const char* slot : slots) {
    counts[slot] = pick(4);
    budgets[slot] = 1 + pick(3);
  }
  const int selected = pick(12);
  Json summary = {{"target_limit", 12},
                  {"lanes_requested", 3},
                  {"selected", selected},
                  {"total_candidates", selected + pick(8)},
                  {"avg_cscore", pick(100) / 100.0},
                  {"max_cscore", pick(100) / 100.0},
                  {"threshold_hits", pick(5)},
                  {"min_score", 0.3},
                  {"lane_counts", lane_counts},
                  {"slots", {{"counts", counts}, {"budgets", budgets}}}};
  Json payload = {{"corr_id", "gen-" + std::to_string(n)},
                  {"project", "project-" + std::to_string(pick(4))},
                  {"query", "question " + std::to_string(pick(1000)) + " about the deployment"},
                  {"duration_ms", pick(80)},
                  {"summary", summary},
                  {"spec",
                   {{"lanes", {"semantic", "episodic", "procedural"}},
                    {"limit", 12},
                    {"min_score", 0.3},
                    {"slot_budgets", budgets}}}};
  const char* kind = kinds[n % 4];
  if (n % 4 == 3)
    payload["diagnostics"] = {{"counts", {{"selected", selected}, {"seeds", pick(5)}}},
                              {"lanes", lane_counts},
                              {"timings_ms", {{"retrieve", pick(30)}, {"total", pick(60)}}}};
  return Json{{"time", format_rfc3339_ms(now_ms())}, {"kind", kind}, {"payload", payload}}.dump();
}

std::string proc_status_field(pid_t pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(field + ":", 0) == 0) {
      std::string value = line.substr(field.size() + 1);
      value.erase(0, value.find_first_not_of(" \t"));
      return value;
    }
  return "?";
}

}  // namespace

int main(int argc, char** argv) {
  const int seconds = argc > 1 ? std::stoi(argv[1]) : 30;
  const int rate = argc > 2 ? std::stoi(argv[2]) : 100;

  TempDir dir;
  HostProcess::Options options;
  options.args = {"--listen", "127.0.0.1:0", "--state-dir", dir.file("state")};
  options.env = {{"ARW_ADMIN_TOKEN", kToken},
                 {"ARW_ADMIN_RATE_LIMIT", "0"},
                 {"ARW_PUBLIC_RATE_LIMIT", "0"},
                 {"TPARK_BUILTIN_PLUGIN_DIR", TPARK_BUILTIN_PLUGIN_DIR}};
  options.log_path = dir.file("host.log");
  HostProcess host(std::move(options));
  const uint16_t port = host.port();

  // Ten posts a second, rate/10 events each.
  std::atomic<bool> stop{false};
  std::thread generator([&] {
    std::mt19937 random(99);
    uint64_t n = 0;
    auto next = Clock::now();
    while (!stop) {
      std::string body;
      for (int i = 0; i < std::max(1, rate / 10); ++i) body += context_line(random, n++) + "\n";
      request("POST", "127.0.0.1", port, "/events/ingest",
              {{"X-ARW-Admin", kToken}, {"Content-Type", "application/x-ndjson"}}, body);
      next += std::chrono::milliseconds(100);
      std::this_thread::sleep_until(next);
    }
  });

  SseClient client(port, "/events?prefix=state.read.model.patch");
  uint64_t patches = 0, patch_bytes = 0;
  const auto warm_up_end = Clock::now() + std::chrono::seconds(3);
  const auto end = warm_up_end + std::chrono::seconds(seconds);
  while (Clock::now() < end) {
    auto frame = client.next(std::chrono::milliseconds(200));
    if (!frame || frame->event != "state.read.model.patch") continue;
    const Json& payload = frame->data["payload"];
    if (payload.value("id", "") != "training_metrics" || Clock::now() < warm_up_end) continue;
    ++patches;
    patch_bytes += payload["patch"].dump().size();
  }
  stop = true;
  generator.join();

  HttpResult snapshot = request("GET", "127.0.0.1", port, "/state/read_models/training_metrics",
                                {{"X-ARW-Admin", kToken}});
  const size_t snapshot_bytes = snapshot.json()["value"].dump().size();
  const double per_minute = static_cast<double>(patch_bytes) * 60.0 / seconds;
  const double snapshots_per_minute =
      static_cast<double>(snapshot_bytes * patches) * 60.0 / seconds;
  const double ratio = snapshots_per_minute > 0 ? per_minute / snapshots_per_minute : 0.0;
  std::printf(
      "sse_context_patches: one client, %d context events/s from a non-simulator generator, "
      "%d s\n",
      rate, seconds);
  std::printf(
      "  training_metrics: %llu patches, %.0f patch bytes/min vs %.0f snapshot bytes/min "
      "(%zu B each): %.2f%% (target <= 5%%) %s\n",
      static_cast<unsigned long long>(patches), per_minute, snapshots_per_minute, snapshot_bytes,
      ratio * 100.0, ratio <= 0.05 ? "MET" : "MISSED");
  std::printf("  host RSS: %s (peak %s)\n", proc_status_field(host.pid(), "VmRSS").c_str(),
              proc_status_field(host.pid(), "VmHWM").c_str());
  return 0;
}
