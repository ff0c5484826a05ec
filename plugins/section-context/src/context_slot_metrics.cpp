#include "context_slot_metrics.h"

#include <algorithm>

namespace tpark::context_section {

std::optional<uint64_t> parse_bounded_uint(std::string_view text, uint64_t min, uint64_t max) {
  // 19 digits always fit in uint64; longer inputs are out of any range here.
  if (text.empty() || text.size() > 19) return std::nullopt;
  uint64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<uint64_t>(c - '0');
  }
  if (value < min || value > max) return std::nullopt;
  return value;
}

std::string SlotLabelRegistry::label_for(std::string_view slot) {
  if (slot.empty() || slot.size() > kSlotNameMaxBytes) return std::string(kOtherSlotLabel);
  if (names_.find(slot) != names_.end()) return std::string(slot);
  if (names_.size() >= max_names_) return std::string(kOtherSlotLabel);
  return *names_.emplace(slot).first;
}

void StaleSlotTracker::touch(const std::string& label, int64_t now_ms) {
  if (!enabled()) return;
  int64_t& seen = last_seen_ms_[label];
  seen = std::max(seen, now_ms);
}

std::vector<std::string> StaleSlotTracker::take_expired(int64_t now_ms) {
  std::vector<std::string> expired;
  for (auto it = last_seen_ms_.begin(); it != last_seen_ms_.end();) {
    if (now_ms - it->second >= ttl_ms_) {
      expired.push_back(it->first);
      it = last_seen_ms_.erase(it);
    } else {
      ++it;
    }
  }
  return expired;
}

std::optional<int64_t> StaleSlotTracker::next_expiry_ms() const {
  std::optional<int64_t> next;
  for (const auto& [label, seen] : last_seen_ms_) {
    const int64_t due = seen + ttl_ms_;
    if (!next || due < *next) next = due;
  }
  return next;
}

}  // namespace tpark::context_section
