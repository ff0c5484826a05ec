// The bookkeeping behind the `slot` label of the arw_context_slot_* families
// (telemetry.md §8): the label cap and the stale-gauge clock. Pure: no host
// calls, no clocks.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace tpark::context_section {

inline constexpr std::string_view kOtherSlotLabel = "other";
inline constexpr std::size_t kSlotNameMaxBytes = 64;
inline constexpr int64_t kDefaultSlotLabelMax = 256;  // ARW_CONTEXT_SLOT_METRIC_MAX
inline constexpr int64_t kDefaultSlotTtlSecs = 900;   // ARW_CONTEXT_SLOT_METRIC_TTL_SECS
inline constexpr int64_t kSlotLabelMaxLimit = 65536;
inline constexpr int64_t kSlotTtlSecsLimit = 31536000;  // one year

// Maps slot names to label values. Empty names and names longer than 64 bytes
// are "other"; the first `max_names` distinct other names keep their own
// label, every later new name is "other". Names are never forgotten, so a
// slot keeps its label for the life of the registry.
class SlotLabelRegistry {
 public:
  explicit SlotLabelRegistry(std::size_t max_names = kDefaultSlotLabelMax)
      : max_names_(max_names) {}
  std::string label_for(std::string_view slot);
  std::size_t size() const { return names_.size(); }

 private:
  std::size_t max_names_;
  std::set<std::string, std::less<>> names_;
};

// The last observation time of each slot label that has gauge series, so that
// the gauges of a slot unseen for `ttl_ms` can be removed. ttl_ms 0: never.
class StaleSlotTracker {
 public:
  explicit StaleSlotTracker(int64_t ttl_ms) : ttl_ms_(ttl_ms) {}
  bool enabled() const { return ttl_ms_ > 0; }
  void touch(const std::string& label, int64_t now_ms);
  // Labels unseen for at least ttl_ms at now_ms; they are forgotten here (a
  // later observation tracks them again).
  std::vector<std::string> take_expired(int64_t now_ms);
  // When the next label expires (its last observation + ttl), if any.
  std::optional<int64_t> next_expiry_ms() const;
  std::size_t tracked() const { return last_seen_ms_.size(); }

 private:
  int64_t ttl_ms_;
  std::map<std::string, int64_t> last_seen_ms_;
};

}  // namespace tpark::context_section
