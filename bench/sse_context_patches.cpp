// training_metrics patch bytes for one SSE client while context events arrive
// from a generator that is not the agent simulator: a seeded generator posts
// the four windowed context kinds (coverage, recall risk, assembly iteration,
// retriever) through POST /events/ingest at a fixed rate, with its own
// queries, projects, lanes and slots. The client primes from the GET and
// applies every patch as a client does, so it holds each published version
// and prints, side by side:
//   - the patch bytes, the snapshot bytes of the same versions (target <= 5%);
//   - the lower bound: the bytes of values genuinely new in each version
//     (subtrees found nowhere in the previous version, and changed scalars),
//     which no patch can avoid carrying;
//   - where the patch bytes go: per path (indexes written as *), op kinds;
// and the host's peak RSS.
//
// Usage: bench_sse_context_patches [seconds=30] [events/s=100]
//   env: BENCH_HOST_BINARY (another tpark-host build to measure, e.g. an older one)
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <unordered_set>

#include "support/bench_support.h"
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

// Every subtree of `value`, as compact text.
void collect_subtrees(const Json& value, std::unordered_set<std::string>& out) {
  out.insert(value.dump());
  if (value.is_structured())
    for (const auto& child : value) collect_subtrees(child, out);
}

// The bytes of `next` that no patch from `previous` can avoid carrying: a
// subtree present anywhere in the previous version could be copied or moved,
// an unchanged value left alone; what remains is new scalars (and the keys
// of new members). `before` is the value at the same place in `previous`.
size_t new_bytes(const Json& next, const Json* before,
                 const std::unordered_set<std::string>& previous) {
  if (before != nullptr && *before == next) return 0;
  if (!next.is_structured()) {
    if (next.is_string() && next.get_ref<const std::string&>().size() > 48 &&
        previous.count(next.dump()))
      return 0;  // a long string could be copied
    return next.dump().size();
  }
  if (previous.count(next.dump())) return 0;
  size_t bytes = 0;
  if (next.is_object()) {
    for (auto it = next.begin(); it != next.end(); ++it) {
      const Json* was = before != nullptr && before->is_object() && before->contains(it.key())
                            ? &(*before)[it.key()]
                            : nullptr;
      if (was == nullptr) bytes += it.key().size() + 3;
      bytes += new_bytes(*it, was, previous);
    }
  } else {
    for (size_t i = 0; i < next.size(); ++i) {
      const Json* was =
          before != nullptr && before->is_array() && i < before->size() ? &(*before)[i] : nullptr;
      bytes += new_bytes(next[i], was, previous);
    }
  }
  return bytes;
}

// The bytes of `next` in entries found nowhere in `previous`: array elements
// that are new count whole (once, however often they appear), other changed
// values as in new_bytes.
size_t new_entry_bytes(const Json& next, const Json* before,
                       const std::unordered_set<std::string>& previous,
                       std::unordered_set<std::string>& counted) {
  if (before != nullptr && *before == next) return 0;
  if (next.is_object()) {
    size_t bytes = 0;
    for (auto it = next.begin(); it != next.end(); ++it) {
      const Json* was = before != nullptr && before->is_object() && before->contains(it.key())
                            ? &(*before)[it.key()]
                            : nullptr;
      if (was == nullptr) bytes += it.key().size() + 3;
      bytes += new_entry_bytes(*it, was, previous, counted);
    }
    return bytes;
  }
  if (!next.is_array()) return new_bytes(next, before, previous);
  size_t bytes = 0;
  for (const auto& element : next) {
    const std::string text = element.dump();
    if (previous.count(text) || !counted.insert(text).second) continue;
    bytes += text.size() + 1;
  }
  return bytes;
}

// "/context/recent/3/summary" -> "/context/recent/*" (three segments, indexes as *).
std::string path_group(const std::string& path) {
  std::string out;
  size_t at = 0;
  for (int depth = 0; depth < 3 && at < path.size(); ++depth) {
    const size_t end = std::min(path.find('/', at + 1), path.size());
    std::string segment = path.substr(at + 1, end - at - 1);
    const bool index =
        !segment.empty() && segment.find_first_not_of("0123456789") == std::string::npos;
    out += "/" + (index || segment == "-" ? std::string("*") : segment);
    at = end;
  }
  return out.empty() ? "(root)" : out;
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
  if (tpark::test::help_requested(
          argc, argv,
          "usage: bench_sse_context_patches [seconds=30] [events/s=100]\ntraining_metrics patch "
          "bytes for one SSE client while context events arrive from a generator that is not the "
          "agent simulator: a seeded generator posts the four windowed context kinds (coverage, "
          "recall risk, assembly iteration, retriever) through POST /events/ingest at a fixed "
          "rate, with its own queries, projects, lanes and slots.\n"))
    return 0;
  const int seconds = argc > 1 ? std::stoi(argv[1]) : 30;
  const int rate = argc > 2 ? std::stoi(argv[2]) : 100;

  TempDir dir;
  HostProcess::Options options;
  if (const char* binary = std::getenv("BENCH_HOST_BINARY")) options.binary = binary;
  options.args = {"--listen", "127.0.0.1:0", "--state-dir", dir.file("state")};
  options.env = {{"ARW_ADMIN_TOKEN", kToken},
                 {"ARW_ADMIN_RATE_LIMIT", "0"},
                 {"ARW_PUBLIC_RATE_LIMIT", "0"},
                 {"TPARK_BUILTIN_PLUGIN_DIR", TPARK_BUILTIN_PLUGIN_DIR}};
  options.log_path = dir.file("host.log");
  HostProcess host(std::move(options));
  const uint16_t port = host.port();

  // Ten posts a second, rate/10 events each (below 10 events/s, one event per post).
  const int interval_ms = rate >= 10 ? 100 : 1000 / std::max(1, rate);
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
      next += std::chrono::milliseconds(interval_ms);
      std::this_thread::sleep_until(next);
    }
  });

  // The client protocol: connected, then prime with a GET, then apply.
  SseClient client(port, "/events?prefix=state.read.model.patch&read_models=training_metrics");
  while (auto frame = client.next(std::chrono::seconds(5)))
    if (frame->event == "service.connected") break;
  auto prime = [&] {
    Json body = request("GET", "127.0.0.1", port, "/state/read_models/training_metrics",
                        {{"X-ARW-Admin", kToken}})
                    .json();
    return std::pair<uint64_t, Json>(body["version"].get<uint64_t>(), body["value"]);
  };
  auto [version, document] = prime();
  uint64_t patches = 0, patch_bytes = 0, snapshot_bytes = 0, bound_bytes = 0, entry_bytes = 0,
           reprimes = 0;
  std::map<std::string, std::pair<uint64_t, uint64_t>> by_path;  // group -> (ops, bytes)
  std::map<std::string, uint64_t> by_op;
  const auto warm_up_end = Clock::now() + std::chrono::seconds(3);
  const auto end = warm_up_end + std::chrono::seconds(seconds);
  while (Clock::now() < end) {
    auto frame = client.next(std::chrono::milliseconds(200));
    if (!frame || frame->event != "state.read.model.patch") continue;
    const Json& payload = frame->data["payload"];
    if (payload.value("id", "") != "training_metrics") continue;
    const uint64_t base = payload["base_version"].get<uint64_t>();
    if (payload["version"].get<uint64_t>() <= version) continue;
    if (base != version) {
      std::tie(version, document) = prime();
      ++reprimes;
      continue;
    }
    const Json& patch = payload["patch"];
    Json next = document.patch(patch);
    if (Clock::now() >= warm_up_end) {
      ++patches;
      patch_bytes += patch.dump().size();
      snapshot_bytes += next.dump().size();
      std::unordered_set<std::string> previous;
      collect_subtrees(document, previous);
      bound_bytes += new_bytes(next, &document, previous);
      std::unordered_set<std::string> counted;
      entry_bytes += new_entry_bytes(next, &document, previous, counted);
      for (const auto& op : patch) {
        auto& group = by_path[path_group(op["path"].get<std::string>())];
        ++group.first;
        group.second += op.dump().size() + 1;
        ++by_op[op["op"].get<std::string>()];
      }
    }
    document = std::move(next);
    version = payload["version"].get<uint64_t>();
  }
  stop = true;
  generator.join();

  auto percent = [](uint64_t part, uint64_t whole) {
    return whole > 0 ? static_cast<double>(part) * 100.0 / static_cast<double>(whole) : 0.0;
  };
  const double ratio = percent(patch_bytes, snapshot_bytes) / 100.0;
  std::printf(
      "sse_context_patches: one client, %d context events/s from a non-simulator generator, "
      "%d s\n",
      rate, seconds);
  auto per_patch = [&](uint64_t bytes) {
    return static_cast<unsigned long long>(patches ? bytes / patches : 0);
  };
  std::printf(
      "  training_metrics: %llu patches (%llu re-primes); per patch: %llu patch bytes, "
      "%llu snapshot bytes, %llu bytes in entries new to the version (the lower bound), "
      "%llu changed scalar bytes (a looser bound: new entries diffed against old ones)\n",
      static_cast<unsigned long long>(patches), static_cast<unsigned long long>(reprimes),
      per_patch(patch_bytes), per_patch(snapshot_bytes), per_patch(entry_bytes),
      per_patch(bound_bytes));
  std::printf("  where the patch bytes go (ops, bytes per patch, share):\n");
  std::vector<std::pair<std::string, std::pair<uint64_t, uint64_t>>> groups(by_path.begin(),
                                                                            by_path.end());
  std::sort(groups.begin(), groups.end(),
            [](const auto& a, const auto& b) { return a.second.second > b.second.second; });
  for (size_t i = 0; i < groups.size() && i < 12; ++i)
    std::printf(
        "    %-40s %6.1f ops %8.0f B %5.1f%%\n", groups[i].first.c_str(),
        patches ? static_cast<double>(groups[i].second.first) / static_cast<double>(patches) : 0.0,
        patches ? static_cast<double>(groups[i].second.second) / static_cast<double>(patches) : 0.0,
        percent(groups[i].second.second, patch_bytes));
  std::printf("  ops:");
  for (const auto& [op, count] : by_op)
    std::printf(" %s %llu", op.c_str(), static_cast<unsigned long long>(count));
  std::printf("\n");
  std::printf(
      "  training_metrics: patch bytes %.2f%% of the snapshot bytes (target <= 5%%) %s; "
      "lower bound (new entries) %.2f%%; changed scalars %.2f%%\n",
      ratio * 100.0, ratio <= 0.05 ? "MET" : "MISSED", percent(entry_bytes, snapshot_bytes),
      percent(bound_bytes, snapshot_bytes));
  std::printf("  host RSS: %s (peak %s)\n", proc_status_field(host.pid(), "VmRSS").c_str(),
              proc_status_field(host.pid(), "VmHWM").c_str());
  return 0;
}
