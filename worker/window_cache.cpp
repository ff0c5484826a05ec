#include "window_cache.h"

#include <algorithm>

namespace tpark::worker {

int64_t WindowCache::complete_through(const Prefix& prefix, int64_t at) {
  auto it = prefix.complete.upper_bound(at);  // the first range starting after `at`
  if (it == prefix.complete.begin()) return at;
  --it;
  return it->second > at ? it->second : at;
}

void WindowCache::mark_complete(Prefix& prefix, int64_t lo, int64_t hi) {
  // Ranges that overlap or touch (lo, hi] merge into one.
  auto it = prefix.complete.upper_bound(lo);
  if (it != prefix.complete.begin() && std::prev(it)->second >= lo) --it;
  while (it != prefix.complete.end() && it->first <= hi) {
    lo = std::min(lo, it->first);
    hi = std::max(hi, it->second);
    it = prefix.complete.erase(it);
  }
  prefix.complete.emplace(lo, hi);
}

bool WindowCache::keep(const std::vector<std::string>& prefixes, std::vector<JournalRow>& rows,
                       int64_t after, int64_t covered) {
  size_t fetched_bytes = 0;
  for (const auto& row : rows) fetched_bytes += row.envelope.size();
  if (bytes_ + fetched_bytes > max_bytes_) {
    // Kept too much: start again from this read.
    prefixes_.clear();
    bytes_ = 0;
    if (fetched_bytes > max_bytes_) return false;
  }
  for (const auto& name : prefixes) {
    Prefix& prefix = prefixes_[name];
    for (const auto& row : rows) {
      if (row.id <= after || row.kind.compare(0, name.size(), name) != 0) continue;
      const auto [kept, inserted] = prefix.rows.emplace(row.id, row.envelope);
      if (inserted) bytes_ += kept->second.size();
    }
    mark_complete(prefix, after, covered);
  }
  return true;
}

std::optional<std::string> WindowCache::read(int64_t after, std::string_view kind_prefix,
                                             uint64_t limit, int64_t until_id, const Fetch& fetch) {
  const std::string name(kind_prefix);
  std::string text;
  uint64_t lines = 0;
  int64_t at = after;
  while (lines < limit && at < until_id) {
    const Prefix& prefix = prefixes_[name];
    const int64_t through = std::min(complete_through(prefix, at), until_id);
    if (through > at) {
      for (auto it = prefix.rows.upper_bound(at);
           it != prefix.rows.end() && it->first <= through && lines < limit; ++it) {
        text += it->second;
        text += '\n';
        ++lines;
      }
      at = through;
      continue;
    }
    // A span up to the window's end that one page covers whole is read for
    // every prefix seen so far (the other kinds a job reads come with it);
    // a longer one for this prefix only, which may hold far fewer rows.
    uint64_t wanted = limit - lines;
    std::vector<std::string> prefixes = {name};
    if (static_cast<uint64_t>(until_id - at) <= wanted) {
      wanted = static_cast<uint64_t>(until_id - at);
      for (const auto& [other, kept] : prefixes_)
        if (other != name) prefixes.push_back(other);
    }
    std::optional<std::vector<JournalRow>> rows = fetch(at, prefixes, wanted);
    if (!rows) return std::nullopt;
    // A full page covers up to its last row; a shorter one covers all the
    // host had, which includes the whole window (it was committed before
    // the job was created).
    const int64_t last = rows->empty() ? at : rows->back().id;
    const int64_t covered = rows->size() < wanted ? std::max(last, until_id) : last;
    if (covered <= at) break;  // a full page of nothing new: the host misbehaved
    if (!keep(prefixes, *rows, at, covered)) {
      // Larger than the whole cache: served as it came, kept nowhere.
      for (const auto& row : *rows) {
        if (row.id > until_id || lines == limit) break;
        if (row.kind.compare(0, name.size(), name) != 0) continue;
        text += row.envelope;
        text += '\n';
        ++lines;
      }
      at = covered;
    }
  }
  return text;
}

}  // namespace tpark::worker
