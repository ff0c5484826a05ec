// The rows of the host's journal a worker has read over HTTP, kept across
// jobs (docs/deploy.md "How a worker gets the journal"). Journal rows never
// change once committed and ids only grow, so a range of ids that a read
// covered stays true: consecutive jobs, whose windows mostly overlap, then
// ask the host only for the ids it has not read yet. Each prefix keeps the
// id ranges (lo, hi] of which it holds every row. A short span up to the
// window's end is read for every prefix seen so far at once, so a job that
// reads two kinds costs the host one read, not one per kind.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tpark::worker {

// One journal envelope as the host's journal_read writes it, with its id
// and kind.
struct JournalRow {
  int64_t id = 0;
  std::string kind;
  std::string envelope;  // compact JSON, one line
};

class WindowCache {
 public:
  // The host's rows whose kind starts with one of `prefixes`, id > after,
  // ascending, at most `limit`; nullopt when the host could not be read.
  using Fetch = std::function<std::optional<std::vector<JournalRow>>(
      int64_t after, const std::vector<std::string>& prefixes, uint64_t limit)>;

  // Past `max_bytes` of envelopes everything kept is dropped and read again.
  explicit WindowCache(size_t max_bytes = 32u << 20) : max_bytes_(max_bytes) {}

  // The rows of `kind_prefix` with after < id <= until_id, ascending, at
  // most `limit`, one envelope per line: what is kept where its ranges reach,
  // `fetch` for the ids between them. Rows above until_id are not returned (a
  // job reads its window only). nullopt when a fetch failed.
  std::optional<std::string> read(int64_t after, std::string_view kind_prefix, uint64_t limit,
                                  int64_t until_id, const Fetch& fetch);

  size_t bytes() const { return bytes_; }

 private:
  struct Prefix {
    std::map<int64_t, int64_t> complete;  // lo -> hi: every row with lo < id <= hi is in rows
    std::map<int64_t, std::string> rows;  // id -> envelope
  };
  // The hi of the complete range holding `at` (lo <= at < hi), or `at`.
  static int64_t complete_through(const Prefix& prefix, int64_t at);
  static void mark_complete(Prefix& prefix, int64_t lo, int64_t hi);
  // Keeps the rows of a fetch from `after` for each of `prefixes`, complete
  // through `covered`; false (nothing kept) when it would pass max_bytes.
  bool keep(const std::vector<std::string>& prefixes, std::vector<JournalRow>& rows, int64_t after,
            int64_t covered);

  const size_t max_bytes_;
  size_t bytes_ = 0;
  std::map<std::string, Prefix, std::less<>> prefixes_;
};

}  // namespace tpark::worker
