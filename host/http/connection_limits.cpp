#include "http/connection_limits.h"

#include <algorithm>
#include <cmath>

namespace tpark::http {

ConnectionCounter::Verdict ConnectionCounter::admit(const std::string& address) {
  std::lock_guard lock(mutex_);
  if (max_total_ != 0 && open_ >= max_total_) return Verdict::TotalFull;
  if (max_per_address_ != 0) {
    auto it = per_address_.find(address);
    if (it != per_address_.end() && it->second >= max_per_address_) return Verdict::AddressFull;
  }
  ++open_;
  ++per_address_[address];
  return Verdict::Admitted;
}

void ConnectionCounter::release(const std::string& address) {
  std::lock_guard lock(mutex_);
  if (open_ > 0) --open_;
  auto it = per_address_.find(address);
  if (it == per_address_.end()) return;
  if (--it->second == 0) per_address_.erase(it);
}

size_t ConnectionCounter::open() const {
  std::lock_guard lock(mutex_);
  return open_;
}

PublicRateLimiter::PublicRateLimiter(uint64_t limit, uint64_t window_secs, size_t max_keys)
    : limit_(limit),
      window_secs_(std::max<uint64_t>(1, window_secs)),
      max_keys_(std::max<size_t>(1, max_keys)),
      tokens_per_ms_(static_cast<double>(limit) / (static_cast<double>(window_secs_) * 1000.0)) {}

PublicRateLimiter::Verdict PublicRateLimiter::admit(const std::string& ip, int64_t now_ms) {
  if (limit_ == 0) return {};
  const double capacity = static_cast<double>(limit_);
  std::lock_guard lock(mutex_);
  auto it = buckets_.find(ip);
  if (it == buckets_.end()) {
    if (buckets_.size() >= max_keys_) sweep(now_ms);
    // Past twice the bound an unknown address goes untracked: a flood of
    // addresses must not grow the map, and refusing strangers would let it
    // lock everyone out.
    if (buckets_.size() >= 2 * max_keys_) return {};
    it = buckets_.emplace(ip, Bucket{capacity, now_ms}).first;
  }
  Bucket& bucket = it->second;
  if (now_ms > bucket.updated_ms) {
    bucket.tokens = std::min(
        capacity, bucket.tokens + static_cast<double>(now_ms - bucket.updated_ms) * tokens_per_ms_);
    bucket.updated_ms = now_ms;
  }
  if (bucket.tokens >= 1.0) {
    bucket.tokens -= 1.0;
    return {};
  }
  const double wait_ms = (1.0 - bucket.tokens) / tokens_per_ms_;
  const auto wait_s = static_cast<uint64_t>(std::ceil(wait_ms / 1000.0));
  return {false, std::max<uint64_t>(1, wait_s)};
}

void PublicRateLimiter::sweep(int64_t now_ms) {
  // At most once a second: a sweep walks the whole map.
  if (now_ms - last_sweep_ms_ < 1000) return;
  last_sweep_ms_ = now_ms;
  const double capacity = static_cast<double>(limit_);
  for (auto it = buckets_.begin(); it != buckets_.end();) {
    const double refilled =
        it->second.tokens + static_cast<double>(now_ms - it->second.updated_ms) * tokens_per_ms_;
    // A full bucket is the same as no bucket.
    if (refilled >= capacity)
      it = buckets_.erase(it);
    else
      ++it;
  }
}

size_t PublicRateLimiter::tracked() const {
  std::lock_guard lock(mutex_);
  return buckets_.size();
}

}  // namespace tpark::http
