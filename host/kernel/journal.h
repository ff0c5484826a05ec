// The journal: one SQLite database (WAL, synchronous=FULL) with a single writer
// thread that group-commits events and the state rows that go with them
// (control.md section 1.5). Readers use their own connections.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "kernel/event.h"

struct sqlite3;

namespace tpark {

// The commit failed (disk full, I/O error): nothing of the work was stored.
// Routes answer 503 `unavailable`.
class JournalUnavailable : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// What a unit of work sees on the writer thread, inside the group transaction
// (its own SAVEPOINT). Statements and appended events commit together.
class WriteTx {
 public:
  virtual ~WriteTx() = default;
  virtual sqlite3* db() = 0;
  // Journals one event in this transaction; its id is known at once.
  virtual EventPtr append(NewEvent event) = 0;
  // Runs `hook` on the writer thread once this transaction has committed and
  // before its events reach the commit sink (bus, SSE), so in-memory state a
  // subscriber reads is already current when it hears of the change. Dropped
  // if the work or the commit fails. Must not block or use this journal.
  virtual void after_commit(std::function<void()> hook) = 0;
};

struct JournalOptions {
  // Upper bound on work items merged into one transaction.
  size_t max_group_items = 4096;
  // Retention deletes at most this many rows per transaction, so the writer
  // (and every append queued behind it) never waits on one huge delete.
  uint64_t prune_batch_rows = 10000;
};

class Journal {
 public:
  // Opens or creates the database at db_path and runs the migrations.
  // Throws std::runtime_error with a clear message on failure.
  explicit Journal(const std::filesystem::path& db_path, JournalOptions options = {});
  ~Journal();  // drains pending work, then closes
  Journal(const Journal&) = delete;
  Journal& operator=(const Journal&) = delete;

  // Called on the writer thread with each commit's events, in id order, after
  // the commit and before the callers are released. Must not block for long.
  void set_commit_sink(std::function<void(std::vector<EventPtr>&&)> sink);

  // Journals events in one transaction (group-committed with concurrent
  // callers); returns them with ids once durable. Throws JournalUnavailable.
  std::vector<EventPtr> append(std::vector<NewEvent> events);

  // Runs `work` on the writer thread inside the group transaction; its rows
  // and the events it appends commit together. If `work` throws, only its own
  // savepoint is rolled back and the exception reaches the caller.
  // Throws JournalUnavailable if the commit failed. `work` must not call back
  // into this journal's append/transact/prune (it would wait on itself).
  std::vector<EventPtr> transact(std::function<void(WriteTx&)> work);

  struct Page {
    std::vector<EventPtr> items;  // ascending ids
    bool truncated = false;       // retention removed rows with id > after
  };
  // Rows with id > after whose kind starts with one of prefixes (empty = all),
  // at most limit. Any thread.
  Page read_after(int64_t after, const std::vector<std::string>& prefixes, size_t limit) const;
  struct PageInfo {
    size_t count = 0;          // rows visited
    int64_t last_id = 0;       // the last one's id (0 without rows)
    bool truncated = false;    // as Page::truncated
  };
  // The rows read_after would return, handed to on_row in order as views of
  // the database row (valid during the call only), without building events:
  // for readers that only render them.
  PageInfo visit_after(int64_t after, const std::vector<std::string>& prefixes, size_t limit,
                       const std::function<void(const EventView&)>& on_row) const;
  // The newest n rows whose kind starts with prefix and id <= max_id, ascending.
  std::vector<EventPtr> newest(const std::string& prefix, size_t n, int64_t max_id) const;

  int64_t head_id() const { return head_id_.load(std::memory_order_acquire); }
  // Readiness (/readyz): the database file is still at its path, a reader can
  // query it, and the last group commit did not fail. A cheap query; any thread.
  bool usable() const;
  // Work items queued and not yet taken by the writer (a gauge for metrics).
  size_t pending_items() const;
  uint64_t schema_version() const;
  const std::filesystem::path& path() const { return path_; }
  // Retention: deletes the oldest rows beyond max_rows (0 = no cap) and rows
  // older than min_time_ms (0 = no cap). Returns rows deleted.
  // Oldest means lowest id: the age cap removes the leading rows whose time_ms
  // is below min_time_ms and stops at the first younger one, so the rows left
  // are always one contiguous id range and `truncated` is exact.
  // The rows go oldest first in transactions of at most
  // options.prune_batch_rows, each its own writer work item, so appends
  // interleave; pruned_through advances with each. `transactions` (if not
  // null) receives how many deleting transactions ran.
  uint64_t prune(uint64_t max_rows, int64_t min_time_ms, uint64_t* transactions = nullptr);
  // Every row with id <= this was removed by retention (0 = none).
  int64_t pruned_through() const { return pruned_through_.load(std::memory_order_acquire); }

 private:
  struct Item;
  class Tx;
  struct WriterStatements;
  struct Reader;
  class Checkpointer;
  void writer_loop();
  void migrate();
  void run_group(std::vector<std::shared_ptr<Item>>& group);
  std::vector<EventPtr> submit(std::shared_ptr<Item> item);

  std::filesystem::path path_;
  JournalOptions options_;
  sqlite3* writer_db_ = nullptr;
  std::unique_ptr<WriterStatements> writer_statements_;
  std::unique_ptr<Checkpointer> checkpointer_;
  uint64_t schema_version_ = 0;
  mutable std::mutex read_mutex_;
  mutable std::vector<std::unique_ptr<Reader>> read_pool_;
  std::function<void(std::vector<EventPtr>&&)> sink_;
  std::atomic<int64_t> head_id_{0};
  std::atomic<int64_t> pruned_through_{0};
  std::atomic<bool> last_commit_failed_{false};
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<std::shared_ptr<Item>> queue_;
  bool stopping_ = false;
  std::thread writer_;

  std::unique_ptr<Reader> acquire_reader() const;
  void release_reader(std::unique_ptr<Reader> reader) const;
};

}  // namespace tpark
