#include "ingest_sender.h"

#include <algorithm>
#include <thread>

#include <nlohmann/json.hpp>

namespace tpark::sim {

namespace {

using Clock = std::chrono::steady_clock;

// Sleeps up to `duration` in short slices so a stop request is seen quickly.
bool wait_unless_stopped(std::chrono::milliseconds duration,
                         const std::function<bool()>& stopping) {
  const auto until = Clock::now() + duration;
  while (Clock::now() < until) {
    if (stopping()) return false;
    std::this_thread::sleep_for(
        std::min<Clock::duration>(std::chrono::milliseconds(100), until - Clock::now()));
  }
  return !stopping();
}

std::string truncated(const std::string& text, std::size_t max_bytes) {
  return text.size() <= max_bytes ? text : text.substr(0, max_bytes) + "...";
}

}  // namespace

IngestSender::IngestSender(BaseUrl base, std::optional<std::string> admin_token,
                           std::function<bool()> stopping)
    : base_(std::move(base)),
      admin_token_(std::move(admin_token)),
      stopping_(std::move(stopping)) {}

SendOutcome IngestSender::add(std::string line) {
  if (!lines_.empty() &&
      (lines_.size() >= kMaxBatchLines || batch_bytes_ + line.size() + 1 > kMaxBatchBytes)) {
    if (const SendOutcome outcome = flush(); outcome != SendOutcome::ok) return outcome;
  }
  if (lines_.empty()) oldest_ = Clock::now();
  batch_bytes_ += line.size() + 1;
  lines_.push_back(std::move(line));
  return SendOutcome::ok;
}

SendOutcome IngestSender::flush_if_due() {
  if (lines_.empty() || Clock::now() - oldest_ < kMaxBatchAge) return SendOutcome::ok;
  return flush();
}

SendOutcome IngestSender::flush() {
  if (lines_.empty()) return SendOutcome::ok;
  std::string body;
  body.reserve(batch_bytes_);
  for (const std::string& line : lines_) {
    body += line;
    body += '\n';
  }
  HeaderList headers = {{"Content-Type", "application/x-ndjson"}};
  if (admin_token_) headers.emplace_back("X-ARW-Admin", *admin_token_);

  const auto give_up_at = Clock::now() + kRetryFor;
  while (true) {
    std::string transport_error;
    const auto response = http_request(base_, "POST", "/events/ingest", headers, body,
                                       std::chrono::seconds(10), transport_error);
    std::chrono::milliseconds retry_in(1000);
    if (!response) {
      error_ = transport_error;
    } else if (response->status == 200) {
      const auto result = nlohmann::json::parse(response->body, nullptr, false);
      if (!result.is_object() || !result.contains("accepted") ||
          !result.contains("rejected_total")) {
        error_ = "unexpected ingest response: " + truncated(response->body, 200);
        return SendOutcome::failed;
      }
      const uint64_t accepted = result.value("accepted", uint64_t{0});
      const uint64_t rejected = result.value("rejected_total", uint64_t{0});
      totals_.sent += lines_.size();
      totals_.accepted += accepted;
      totals_.rejected += rejected;
      if (rejected > 0) {
        error_ = "the host rejected " + std::to_string(rejected) + " of " +
                 std::to_string(lines_.size()) + " lines";
        const auto& first = result.value("rejected", nlohmann::json::array());
        if (!first.empty() && first[0].is_object()) {
          const uint64_t line_number = first[0].value("line", uint64_t{0});
          error_ += "; first: line " + std::to_string(line_number) + " (" +
                    first[0].value("error", std::string("?")) + ")";
          if (line_number >= 1 && line_number <= lines_.size())
            error_ += ": " + truncated(lines_[line_number - 1], 300);
        }
      }
      lines_.clear();
      batch_bytes_ = 0;
      return rejected > 0 ? SendOutcome::lines_rejected : SendOutcome::ok;
    } else if (response->status == 429 || response->status == 503) {
      // Rate limited or the journal is busy: the same batch, later.
      error_ =
          "HTTP " + std::to_string(response->status) + " from " + base_.text + "/events/ingest";
      if (response->retry_after) {
        try {
          retry_in = std::chrono::seconds(std::clamp(std::stoi(*response->retry_after), 1, 10));
        } catch (const std::exception&) {
        }
      }
    } else {
      error_ = "HTTP " + std::to_string(response->status) + " from " + base_.text +
               "/events/ingest: " + truncated(response->body, 300);
      if (response->status == 401) error_ += " (set ARW_ADMIN_TOKEN to the host's admin token)";
      return SendOutcome::failed;
    }
    if (Clock::now() + retry_in > give_up_at) return SendOutcome::failed;
    if (!wait_unless_stopped(retry_in, stopping_)) return SendOutcome::stopped;
  }
}

}  // namespace tpark::sim
