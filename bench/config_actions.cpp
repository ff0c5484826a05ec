// Config action costs: preview (diff of the whole patch document) for
// context.set and preset.apply turbo, and executed context.set actions, each
// in its own transaction with its snapshot and event (WAL, synchronous=FULL).
//
//   bench_config_actions [previews=2000] [executes=300] [dir=$TMPDIR]
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "config/config_kinds.h"
#include "config/config_state.h"
#include "config/presets.h"
#include "kernel/journal.h"
#include "support/bench_support.h"

using namespace tpark;
using namespace tpark::control;
using Clock = std::chrono::steady_clock;

namespace {

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
  if (tpark::test::help_requested(
          argc, argv,
          "usage: bench_config_actions [previews=2000] [executes=300] [dir=$TMPDIR]\nConfig action "
          "costs: preview (diff of the whole patch document) for context.set and preset.apply "
          "turbo, and executed context.set actions, each in its own transaction with its snapshot "
          "and event (WAL, synchronous=FULL).\n"))
    return 0;
  const long previews = argc > 1 ? std::atol(argv[1]) : 2000;
  const long executes = argc > 2 ? std::atol(argv[2]) : 300;
  const std::filesystem::path dir =
      std::filesystem::path(argc > 3 ? argv[3] : std::filesystem::temp_directory_path().string()) /
      ("tpark-bench-config-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  {
    DetectedTier tier = detect_tier(read_machine_facts());
    auto resolved = resolve_boot_config(load_presets(default_presets_dir(std::nullopt)), tier,
                                        [](const std::string& name) -> std::optional<std::string> {
                                          if (name == "ARW_PERF_PRESET")
                                            return std::string("balanced");
                                          return std::nullopt;
                                        });
    if (auto* fatal = std::get_if<std::string>(&resolved)) {
      std::fprintf(stderr, "%s\n", fatal->c_str());
      return 1;
    }
    Journal journal(dir / "tpark.db");
    ConfigState state(std::get<BootConfig>(std::move(resolved)));
    state.open(journal);
    ActionKindRegistry kinds;
    register_config_kinds(kinds, state);
    auto context_set = kinds.find("context.set");
    auto preset_apply = kinds.find("preset.apply");

    const Json k24 = {{"vars", {{"ARW_CONTEXT_K", 24}}}};
    const Json turbo = {{"preset", "turbo"}};
    auto start = Clock::now();
    size_t ops = 0;
    for (long i = 0; i < previews; ++i) ops += context_set->preview(k24).diff_summary.size();
    double context_s = seconds_since(start);
    start = Clock::now();
    for (long i = 0; i < previews; ++i) ops += preset_apply->preview(turbo).diff_summary.size();
    double turbo_s = seconds_since(start);

    start = Clock::now();
    for (long i = 0; i < executes; ++i) {
      Json input = {{"vars", {{"ARW_CONTEXT_K", 20 + i % 2}}}};
      ActionRun run{"bench-" + std::to_string(i), "context.set", "", "api"};
      ActionOutcome outcome;
      journal.transact([&](WriteTx& tx) { outcome = context_set->execute(input, run, tx); });
      if (outcome.on_committed) outcome.on_committed();
    }
    double execute_s = seconds_since(start);
    std::printf("preview context.set (1 key):    %8.1f us/op  (%ld ops)\n",
                context_s * 1e6 / static_cast<double>(previews), previews);
    std::printf("preview preset.apply turbo:     %8.1f us/op  (%ld ops, %zu diff entries total)\n",
                turbo_s * 1e6 / static_cast<double>(previews), previews, ops);
    std::printf(
        "execute context.set + commit:   %8.2f ms/op  (%ld ops, snapshot + event each, "
        "synchronous=FULL)\n",
        execute_s * 1e3 / static_cast<double>(executes), executes);
  }
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
  return 0;
}
