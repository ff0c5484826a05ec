// The /actions pipeline on a real journal (WAL, synchronous=FULL): concurrent
// submissions of journal.note under a lease (policy match, lease choice and
// charge, insert, actions.submitted, one transaction each, group-committed),
// then the FIFO executor draining them (running + completed commits). Prints
// admission throughput and latency percentiles, and the drain rate.
//
//   bench_actions_pipeline [actions=2000] [submitters=8] [dir=$TMPDIR]
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <thread>
#include <vector>

#include "control/actions.h"
#include "control/journal_note_kind.h"
#include "control/leases.h"
#include "control/validation.h"
#include "kernel/journal.h"
#include "support/bench_support.h"

using namespace tpark;
using namespace tpark::control;
using Clock = std::chrono::steady_clock;

int main(int argc, char** argv) {
  if (tpark::test::help_requested(
          argc, argv,
          "usage: bench_actions_pipeline [actions=2000] [submitters=8] [dir=$TMPDIR]\nThe /actions "
          "pipeline on a real journal (WAL, synchronous=FULL): concurrent submissions of "
          "journal.note under a lease (policy match, lease choice and charge, insert, "
          "actions.submitted, one transaction each, group-committed), then the FIFO executor "
          "draining them (running + completed commits).\n"))
    return 0;
  const int actions = argc > 1 ? std::atoi(argv[1]) : 2000;
  const int submitters = argc > 2 ? std::atoi(argv[2]) : 8;
  const std::filesystem::path base =
      argc > 3 ? std::filesystem::path(argv[3]) : std::filesystem::temp_directory_path();
  const auto dir = base / ("tpark-bench-actions-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);

  {
    Journal journal(dir / "tpark.db");
    ActionKindRegistry kinds;
    kinds.add("journal.note", std::make_shared<JournalNoteKind>());
    ControlSettings settings;
    settings.workers = 0;  // admission first, then the drain on its own
    settings.queue_max = 0;
    settings.policy.lease_rules = {{"journal.", "notes:write"}};
    auto service = std::make_unique<ActionService>(journal, kinds, settings);
    LeaseStore leases(journal);
    leases.create("notes:write", "journal.*", 3600000, std::nullopt, "bench");
    service->start();

    // The body validator alone.
    const std::string body =
        R"({"kind":"journal.note","input":{"text":"rolled out retriever v2"},"idem_key":"k-1"})";
    const int validations = 200000;
    auto v0 = Clock::now();
    size_t accepted = 0;
    for (int i = 0; i < validations; ++i) accepted += validate_action_body(body).errors.empty();
    const double validate_ns =
        std::chrono::duration<double, std::nano>(Clock::now() - v0).count() / validations;

    std::vector<std::vector<double>> latencies(static_cast<size_t>(submitters));
    std::atomic<int> next{0};
    auto start = Clock::now();
    std::vector<std::thread> threads;
    for (int t = 0; t < submitters; ++t)
      threads.emplace_back([&, t] {
        for (int n = next++; n < actions; n = next++) {
          auto s = Clock::now();
          auto out = service->submit(
              {"journal.note", {{"text", "note " + std::to_string(n)}}, std::nullopt, "bench"});
          if (out.result != SubmitOutcome::Result::Queued) std::abort();
          latencies[static_cast<size_t>(t)].push_back(
              std::chrono::duration<double, std::milli>(Clock::now() - s).count());
        }
      });
    for (auto& t : threads) t.join();
    const double admit_s = std::chrono::duration<double>(Clock::now() - start).count();
    std::vector<double> all;
    for (auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
    std::sort(all.begin(), all.end());
    auto pct = [&](double p) {
      return all[static_cast<size_t>(p * static_cast<double>(all.size() - 1))];
    };

    // Drain: a service with one executor picks the queue up from the database.
    service.reset();
    settings.workers = 1;
    auto drain_start = Clock::now();
    service = std::make_unique<ActionService>(journal, kinds, settings);
    service->start();
    ActionFilter completed;
    completed.state = "completed";
    completed.limit = 1;
    while (service->list_actions(completed)["total"].get<int>() < actions)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    const double drain_s = std::chrono::duration<double>(Clock::now() - drain_start).count();

    std::printf("validate_action_body: %.0f ns/body (%zu accepted)\n", validate_ns, accepted);
    std::printf(
        "admission: %d actions, %d submitters: %.0f actions/s, latency p50 %.2f ms, p99 %.2f ms\n",
        actions, submitters, actions / admit_s, pct(0.5), pct(0.99));
    std::printf("execution: %d actions drained by one executor in %.2f s (%.0f actions/s)\n",
                actions, drain_s, actions / drain_s);
  }
  std::filesystem::remove_all(dir);
  return 0;
}
