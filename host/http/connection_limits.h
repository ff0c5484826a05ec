// Admission limits of the HTTP server that sit before any handler: how many
// connections may be open (in total and per client address), and the per-IP
// rate limit of public routes. Pure bookkeeping, no sockets; the server asks
// and obeys (docs/ops.md "Connection limits").
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

namespace tpark::http {

// Open connections, in total and per address. Thread-safe.
class ConnectionCounter {
 public:
  // 0 disables a cap.
  ConnectionCounter(size_t max_total, size_t max_per_address)
      : max_total_(max_total), max_per_address_(max_per_address) {}

  enum class Verdict { Admitted, TotalFull, AddressFull };
  // Counts the connection when admitted; an admitted one must be release()d.
  Verdict admit(const std::string& address);
  void release(const std::string& address);

  size_t open() const;
  size_t max_total() const { return max_total_; }
  size_t max_per_address() const { return max_per_address_; }

 private:
  const size_t max_total_;
  const size_t max_per_address_;
  mutable std::mutex mutex_;
  size_t open_ = 0;
  std::unordered_map<std::string, size_t> per_address_;
};

// A token bucket per client IP: `limit` requests per `window_secs`, with a
// burst of the whole window's worth, so a well-behaved client never notices
// it. Thread-safe; memory is bounded by `max_keys` (past it, buckets that are
// full again are swept; new addresses beyond twice the bound are let through
// untracked rather than grow the map).
class PublicRateLimiter {
 public:
  PublicRateLimiter(uint64_t limit, uint64_t window_secs, size_t max_keys = 65536);

  struct Verdict {
    bool allowed = true;
    uint64_t retry_after_s = 0;  // >= 1 when refused
  };
  Verdict admit(const std::string& ip, int64_t now_ms);

  bool enabled() const { return limit_ != 0; }
  uint64_t limit() const { return limit_; }
  uint64_t window_secs() const { return window_secs_; }
  size_t tracked() const;

 private:
  struct Bucket {
    double tokens = 0;
    int64_t updated_ms = 0;
  };
  void sweep(int64_t now_ms);

  const uint64_t limit_;
  const uint64_t window_secs_;
  const size_t max_keys_;
  const double tokens_per_ms_;
  mutable std::mutex mutex_;
  int64_t last_sweep_ms_ = 0;
  std::unordered_map<std::string, Bucket> buckets_;
};

}  // namespace tpark::http
