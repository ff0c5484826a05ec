// Sends NDJSON lines to BASE/events/ingest (telemetry.md §1.3) in batches of
// at most 1000 lines and 1 MiB, and keeps the host's tally.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "http_client.h"

namespace tpark::sim {

struct IngestTotals {
  uint64_t sent = 0;      // lines posted
  uint64_t accepted = 0;  // the responses' `accepted`
  uint64_t rejected = 0;  // the responses' `rejected_total`
};

enum class SendOutcome {
  ok,
  lines_rejected,  // the host rejected lines: a bug in the simulator
  failed,          // unreachable for 30 s, or a response that retrying cannot fix
  stopped,         // `stopping` turned true while waiting to retry
};

class IngestSender {
 public:
  static constexpr std::size_t kMaxBatchLines = 1000;
  static constexpr std::size_t kMaxBatchBytes = 1024 * 1024;
  static constexpr std::chrono::seconds kMaxBatchAge{1};
  static constexpr std::chrono::seconds kRetryFor{30};

  // `admin_token` goes in X-ARW-Admin when set. `stopping` is polled while
  // waiting between retries.
  IngestSender(BaseUrl base, std::optional<std::string> admin_token,
               std::function<bool()> stopping);

  // Queues a line (no newline), posting the batch first if the line would
  // take it past a limit.
  SendOutcome add(std::string line);
  // Posts the queued lines when the oldest has waited kMaxBatchAge.
  SendOutcome flush_if_due();
  // Posts the queued lines now.
  SendOutcome flush();

  const IngestTotals& totals() const { return totals_; }
  // Why the last send was not ok.
  const std::string& error() const { return error_; }

 private:
  BaseUrl base_;
  std::optional<std::string> admin_token_;
  std::function<bool()> stopping_;
  std::vector<std::string> lines_;
  std::size_t batch_bytes_ = 0;
  std::chrono::steady_clock::time_point oldest_;
  IngestTotals totals_;
  std::string error_;
};

}  // namespace tpark::sim
