// Counts by name in bounded memory, for tallies whose names come from input
// (event kinds, tool ids): at most `tracked_max` names get their own count,
// for the life of the tally; a name past that, or longer than
// `name_bytes_max`, counts under "other". Rendering ranks by count
// descending, then name ascending, and keeps the top K. Header only, so each
// section plugin compiles in its own copy.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tpark::tally {

// No real kind or tool id is this name in the ranked lists (a kind has a dot).
inline constexpr std::string_view kOtherName = "other";

class TopKTally {
 public:
  TopKTally(size_t tracked_max, size_t name_bytes_max)
      : tracked_max_(tracked_max), name_bytes_max_(name_bytes_max) {}

  // Counts one under `name`; false when it went to "other".
  bool add(std::string_view name) {
    auto it = counts_.find(name);
    if (it == counts_.end()) {
      if (name.size() > name_bytes_max_ || name == kOtherName || counts_.size() >= tracked_max_) {
        ++other_;
        return false;
      }
      it = counts_.emplace(std::string(name), 0).first;
    }
    ++it->second;
    return true;
  }

  void clear() {
    counts_.clear();
    other_ = 0;
  }

  size_t tracked() const { return counts_.size(); }
  uint64_t other() const { return other_; }

  using Ranked = std::vector<std::pair<std::string_view, uint64_t>>;

  // The ranked list, count descending then name ascending, with "other" in
  // its rank when it holds anything. fold_rest: the `k` largest names plus
  // "other", which also sums the names ranked past k (at most k + 1
  // entries). Otherwise "other" holds only what went there at record time and
  // the list is cut at k entries.
  Ranked top(size_t k, bool fold_rest) const {
    Ranked ranked(counts_.begin(), counts_.end());
    const size_t keep = std::min(k, ranked.size());
    std::partial_sort(ranked.begin(), ranked.begin() + static_cast<std::ptrdiff_t>(keep),
                      ranked.end(), by_rank);
    uint64_t other = other_;
    if (fold_rest)
      for (size_t i = keep; i < ranked.size(); ++i) other += ranked[i].second;
    ranked.resize(keep);
    if (other > 0) {
      const std::pair<std::string_view, uint64_t> entry(kOtherName, other);
      ranked.insert(std::upper_bound(ranked.begin(), ranked.end(), entry, by_rank), entry);
    }
    if (!fold_rest && ranked.size() > k) ranked.resize(k);
    return ranked;
  }

 private:
  static bool by_rank(const std::pair<std::string_view, uint64_t>& a,
                      const std::pair<std::string_view, uint64_t>& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  }

  const size_t tracked_max_;
  const size_t name_bytes_max_;
  std::map<std::string, uint64_t, std::less<>> counts_;
  uint64_t other_ = 0;
};

}  // namespace tpark::tally
