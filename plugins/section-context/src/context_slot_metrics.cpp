#include "context_slot_metrics.h"

#include <algorithm>

namespace tpark::context_section {

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
