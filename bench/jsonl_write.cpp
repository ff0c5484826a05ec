// The JSON-lines exporter's write path (tp.exporter.jsonl's DailyLog: append
// a batch, fdatasync, acknowledge), lines/s, against dd-style sequential
// writes of the same bytes with the same flush policy (write(2) of each
// batch, then fdatasync) to a plain file: the limit of the disk. Same run,
// same directory, alternating rounds. Target: >= 0.5x.
//
// Usage: bench_jsonl_write [lines=200000] [lines_per_batch=64] [rounds=3]
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "daily_log.h"
#include "support/bench_support.h"
#include "support/host_process.h"

using Clock = std::chrono::steady_clock;

namespace {

// A read-model patch frame of the size the host publishes under ingest (~330 bytes).
std::string patch_line(int version) {
  return "{\"id\":\"training_metrics\",\"instance_id\":\"a270b4597b4d0d2d\",\"version\":" +
         std::to_string(version) + ",\"base_version\":" + std::to_string(version - 1) +
         ",\"patch\":[{\"op\":\"replace\",\"path\":\"/"
         "generated\",\"value\":\"2026-12-06T18:44:00.123Z\"},"
         "{\"op\":\"replace\",\"path\":\"/generated_ms\",\"value\":1796582640123},"
         "{\"op\":\"replace\",\"path\":\"/events/total\",\"value\":" +
         std::to_string(version * 3) +
         "},{\"op\":\"replace\",\"path\":\"/events/by_kind/tool.result\",\"value\":" +
         std::to_string(version) + "}]}\n";
}

double exporter_rate(const std::string& dir, const std::vector<std::string>& batches,
                     size_t lines) {
  tpark::jsonl::DailyLog log({dir, 1ull << 40, 0, true});
  const int64_t now_ms = 1796582640000;
  const auto start = Clock::now();
  for (const auto& batch : batches) {
    if (auto error = log.append(now_ms, batch); !error.empty()) {
      std::fprintf(stderr, "%s\n", error.c_str());
      std::exit(1);
    }
  }
  return static_cast<double>(lines) / std::chrono::duration<double>(Clock::now() - start).count();
}

double dd_rate(const std::string& path, const std::vector<std::string>& batches, size_t lines) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  const auto start = Clock::now();
  for (const auto& batch : batches) {
    if (::write(fd, batch.data(), batch.size()) != static_cast<ssize_t>(batch.size()) ||
        ::fdatasync(fd) != 0) {
      std::perror("dd-style write");
      std::exit(1);
    }
  }
  const double rate =
      static_cast<double>(lines) / std::chrono::duration<double>(Clock::now() - start).count();
  ::close(fd);
  return rate;
}

}  // namespace

int main(int argc, char** argv) {
  if (tpark::test::help_requested(
          argc, argv,
          "usage: bench_jsonl_write [lines=200000] [lines_per_batch=64] [rounds=3]\nThe JSON-lines "
          "exporter's write path (tp.exporter.jsonl's DailyLog: append a batch, fdatasync, "
          "acknowledge), lines/s, against dd-style sequential writes of the same bytes with the "
          "same flush policy (write(2) of each batch, then fdatasync) to a plain file: the limit "
          "of the disk.\n"))
    return 0;
  const int lines = argc > 1 ? std::atoi(argv[1]) : 200000;
  const int per_batch = argc > 2 ? std::atoi(argv[2]) : 64;
  const int rounds = argc > 3 ? std::atoi(argv[3]) : 3;
  std::vector<std::string> batches;
  size_t bytes = 0;
  for (int i = 0; i < lines; i += per_batch) {
    std::string batch;
    for (int j = i; j < std::min(lines, i + per_batch); ++j) batch += patch_line(j + 1);
    bytes += batch.size();
    batches.push_back(std::move(batch));
  }
  double best_exporter = 0, best_dd = 0;
  for (int round = 0; round < rounds; ++round) {
    tpark::test::TempDir dir;
    best_dd = std::max(best_dd, dd_rate(dir.file("dd.log"), batches, lines));
    best_exporter = std::max(best_exporter, exporter_rate(dir.file("logs"), batches, lines));
  }
  double load[1] = {0};
  getloadavg(load, 1);
  std::printf(
      "jsonl_write: %d lines (%.1f MB) in batches of %d, fdatasync per batch, best of %d "
      "rounds, load average %.2f\n",
      lines, static_cast<double>(bytes) / 1e6, per_batch, rounds, load[0]);
  std::printf(
      "jsonl_write: exporter %.0f lines/s; dd-style write+fdatasync %.0f lines/s; ratio "
      "%.2fx (target >= 0.5x)\n",
      best_exporter, best_dd, best_exporter / best_dd);
  return 0;
}
