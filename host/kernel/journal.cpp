#include "kernel/journal.h"

#include <sqlite3.h>

#include <algorithm>
#include <iterator>
#include <optional>
#include <string_view>
#include <unordered_map>

#include <spdlog/spdlog.h>

#include "kernel/statement_cache.h"
#include "util/time.h"

namespace tpark {
namespace {

// The schema, one migration per step from an empty file. PRAGMA user_version
// records how many have run. Append new steps; never edit a shipped one.
constexpr const char* kMigrations[] = {
    // 1: the event journal, its kind index (prefix reads, newest rows of a
    // kind) and the retention watermark.
    "CREATE TABLE events("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " time_ms INTEGER NOT NULL,"
    " kind TEXT NOT NULL,"
    " payload TEXT NOT NULL,"
    " source TEXT NOT NULL,"
    " node TEXT,"
    " corr_id TEXT);"
    "CREATE INDEX events_kind_id ON events(kind, id);"
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value);"
    "INSERT INTO meta(key, value) VALUES('pruned_through', 0);",
};

constexpr int kBusyTimeoutMs = 5000;
// WAL size (pages) at which the checkpointer copies it back into the database
// (SQLite's own default), and at which the writer stops waiting and does it.
constexpr int kCheckpointPages = 1000;
constexpr int kCheckpointInlinePages = 16 * kCheckpointPages;
constexpr size_t kMaxIdleReaders = 4;
constexpr const char* kEventColumns = "id, time_ms, kind, payload, source, node, corr_id";
// Plain appends go in with one statement per this many rows: one multi-row
// INSERT costs SQLite about two thirds of as many single-row ones (the
// statement's setup and the AUTOINCREMENT bookkeeping run once per statement).
constexpr size_t kRowsPerInsert = 32;

std::string insert_sql(size_t rows) {
  std::string sql = "INSERT INTO events(time_ms, kind, payload, source, node, corr_id) VALUES";
  for (size_t row = 0; row < rows; ++row) {
    sql += row == 0 ? "(" : ",(";
    for (int column = 1; column <= 6; ++column) {
      if (column > 1) sql += ", ";
      sql += "?" + std::to_string(row * 6 + static_cast<size_t>(column));
    }
    sql += ")";
  }
  return sql;
}

struct StatementFinalizer {
  void operator()(sqlite3_stmt* statement) const { sqlite3_finalize(statement); }
};
using Statement = std::unique_ptr<sqlite3_stmt, StatementFinalizer>;

std::string describe(sqlite3* db) {
  return db ? sqlite3_errmsg(db) : "out of memory";
}

void exec_or_throw(sqlite3* db, const std::string& sql) {
  char* message = nullptr;
  if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &message) != SQLITE_OK) {
    std::string text = message ? message : describe(db);
    sqlite3_free(message);
    throw std::runtime_error("sqlite: " + text + " (in: " + sql.substr(0, 60) + ")");
  }
}

Statement prepare(sqlite3* db, std::string_view sql, bool persistent) {
  sqlite3_stmt* statement = nullptr;
  const int rc =
      sqlite3_prepare_v3(db, sql.data(), static_cast<int>(sql.size()),
                         persistent ? SQLITE_PREPARE_PERSISTENT : 0, &statement, nullptr);
  if (rc != SQLITE_OK)
    throw std::runtime_error("sqlite: cannot prepare '" + std::string(sql) + "': " + describe(db));
  return Statement(statement);
}

// Runs a statement that returns no rows and resets it. Returns the step code.
int step_once(sqlite3_stmt* statement) {
  const int rc = sqlite3_step(statement);
  sqlite3_reset(statement);
  return rc;
}

// The first column of the first row as an integer, or `fallback` without a row.
int64_t query_int(sqlite3* db, const std::string& sql, int64_t fallback) {
  Statement statement = prepare(db, sql, false);
  const int rc = sqlite3_step(statement.get());
  if (rc == SQLITE_ROW) return sqlite3_column_int64(statement.get(), 0);
  if (rc == SQLITE_DONE) return fallback;
  throw std::runtime_error("sqlite: " + describe(db) + " (in: " + sql + ")");
}

// Every kind that starts with `prefix` sorts in [prefix, prefix + "\xff"):
// the byte 0xff never occurs in UTF-8 text. This keeps prefix reads on the index.
std::string prefix_upper_bound(const std::string& prefix) {
  return prefix + '\xff';
}

void bind_text(sqlite3_stmt* statement, int index, std::string_view text) {
  sqlite3_bind_text(statement, index, text.data(), static_cast<int>(text.size()), SQLITE_STATIC);
}

void bind_text_or_null(sqlite3_stmt* statement, int index, std::string_view text) {
  if (text.empty())
    sqlite3_bind_null(statement, index);
  else
    bind_text(statement, index, text);
}

std::string column_text(sqlite3_stmt* statement, int column) {
  const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(statement, column));
  if (!text) return {};
  return std::string(text, static_cast<size_t>(sqlite3_column_bytes(statement, column)));
}

// RFC 3339 text for runs of times: the events of a batch mostly share their
// second, so only the millisecond digits are rewritten.
class TimeTextCache {
 public:
  std::string format(int64_t time_ms) { return std::string(view(time_ms)); }

  // The same text, valid until the next call.
  std::string_view view(int64_t time_ms) {
    const int64_t second = time_ms >= 0 ? time_ms / 1000 : (time_ms - 999) / 1000;
    if (text_.empty() || second != second_) {
      text_ = format_rfc3339_ms(second * 1000);
      second_ = second;
    }
    const auto ms = static_cast<int>(time_ms - second * 1000);
    char* digits = text_.data() + text_.size() - 4;  // "...ss.mmmZ"
    digits[0] = static_cast<char>('0' + ms / 100);
    digits[1] = static_cast<char>('0' + ms / 10 % 10);
    digits[2] = static_cast<char>('0' + ms % 10);
    return text_;
  }

 private:
  int64_t second_ = 0;
  std::string text_;
};

std::string_view column_view(sqlite3_stmt* statement, int column) {
  const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(statement, column));
  if (!text) return {};
  return {text, static_cast<size_t>(sqlite3_column_bytes(statement, column))};
}

// A row of kEventColumns, borrowed from the statement until it steps again.
EventView view_event_row(sqlite3_stmt* statement, TimeTextCache& times) {
  EventView event;
  event.id = sqlite3_column_int64(statement, 0);
  event.time_ms = sqlite3_column_int64(statement, 1);
  event.kind = column_view(statement, 2);
  event.payload = column_view(statement, 3);
  event.source = column_view(statement, 4);
  event.node = column_view(statement, 5);
  event.corr_id = column_view(statement, 6);
  event.time = times.view(event.time_ms);
  return event;
}

EventPtr copy_event(const EventView& row) {
  auto event = std::make_shared<Event>();
  event->id = row.id;
  event->time_ms = row.time_ms;
  event->time = row.time;
  event->kind = row.kind;
  event->payload = row.payload;
  event->source = row.source;
  event->node = row.node;
  event->corr_id = row.corr_id;
  return event;
}

EventPtr read_event_row(sqlite3_stmt* statement, TimeTextCache& times) {
  return copy_event(view_event_row(statement, times));
}

// The envelope of a new event, all but its id (set when it is inserted).
std::shared_ptr<Event> build_event(NewEvent input, TimeTextCache& times) {
  auto event = std::make_shared<Event>();
  event->time_ms = input.time_ms;
  event->time = times.format(input.time_ms);
  event->kind = std::move(input.kind);
  event->payload = input.payload.empty() ? std::string("{}") : std::move(input.payload);
  event->source = std::move(input.source);
  event->node = std::move(input.node);
  event->corr_id = std::move(input.corr_id);
  return event;
}

template <typename F>
class ScopeExit {
 public:
  explicit ScopeExit(F f) : f_(std::move(f)) {}
  ~ScopeExit() { f_(); }
  ScopeExit(const ScopeExit&) = delete;
  ScopeExit& operator=(const ScopeExit&) = delete;

 private:
  F f_;
};

}  // namespace

// ---------------------------------------------------------------------------
// Internal types

struct Journal::Item {
  // A plain append, built into events (all but the id) by the caller's
  // thread, so the writer only binds and steps; or
  std::vector<std::shared_ptr<Event>> events;
  std::function<void(WriteTx&)> work;               // a unit of work
  std::vector<EventPtr> committed;                  // what it journaled, once committed
  std::vector<std::function<void()>> after_commit;  // WriteTx::after_commit hooks
  std::exception_ptr error;
  // Set by the writer when the item is done; the caller takes the results out
  // under the mutex, so they are never shared between the two threads.
  std::mutex mutex;
  std::condition_variable finished_cv;
  bool finished = false;
};

// The writer connection's cached statements; used on the writer thread only.
struct Journal::WriterStatements {
  Statement begin, commit, rollback, savepoint, release, rollback_to, insert, insert_many;
  TimeTextCache times;

  explicit WriterStatements(sqlite3* db)
      : begin(prepare(db, "BEGIN IMMEDIATE", true)),
        commit(prepare(db, "COMMIT", true)),
        rollback(prepare(db, "ROLLBACK", true)),
        savepoint(prepare(db, "SAVEPOINT work_item", true)),
        release(prepare(db, "RELEASE work_item", true)),
        rollback_to(prepare(db, "ROLLBACK TO work_item", true)),
        insert(prepare(db, insert_sql(1), true)),
        insert_many(prepare(db, insert_sql(kRowsPerInsert), true)) {}
};

// A read-only connection with its statements, keyed by SQL text.
struct Journal::Reader {
  sqlite3* db = nullptr;
  std::unordered_map<std::string, Statement> statements;
  TimeTextCache times;

  ~Reader() {
    statements.clear();
    sqlite3_close_v2(db);
  }
  sqlite3_stmt* statement(const std::string& sql) {
    auto it = statements.find(sql);
    if (it == statements.end()) it = statements.emplace(sql, prepare(db, sql, true)).first;
    return it->second.get();
  }

  // Steps through the rows of a bound statement, then resets it.
  template <typename F>
  void each_row(sqlite3_stmt* statement, F&& on_row) {
    ScopeExit reset([&] { sqlite3_reset(statement); });
    int rc;
    while ((rc = sqlite3_step(statement)) == SQLITE_ROW) on_row(statement);
    if (rc != SQLITE_DONE) throw JournalUnavailable("journal read failed: " + describe(db));
  }

  // The distinct kinds starting with `prefix`, one index seek each.
  std::vector<std::string> kinds_with_prefix(const std::string& prefix) {
    const std::string upper_bound = prefix_upper_bound(prefix);
    sqlite3_stmt* first =
        statement("SELECT kind FROM events WHERE kind >= ?1 AND kind < ?2 ORDER BY kind LIMIT 1");
    sqlite3_stmt* next =
        statement("SELECT kind FROM events WHERE kind > ?1 AND kind < ?2 ORDER BY kind LIMIT 1");
    std::vector<std::string> kinds;
    std::string lower_bound = prefix;
    for (sqlite3_stmt* seek = first;; seek = next) {
      bind_text(seek, 1, lower_bound);
      bind_text(seek, 2, upper_bound);
      std::optional<std::string> found;
      each_row(seek, [&](sqlite3_stmt* row) { found = column_text(row, 0); });
      if (!found) return kinds;
      lower_bound = *found;
      kinds.push_back(std::move(*found));
    }
  }

  // Rows by id, in the order given; ids that do not exist are skipped.
  std::vector<EventPtr> events_by_id(const std::vector<int64_t>& ids) {
    std::vector<EventPtr> events;
    events.reserve(ids.size());
    visit_by_id(ids, [&](const EventView& row) { events.push_back(copy_event(row)); });
    return events;
  }
  template <typename F>
  void visit_by_id(const std::vector<int64_t>& ids, F&& on_row) {
    sqlite3_stmt* by_id =
        statement(std::string("SELECT ") + kEventColumns + " FROM events WHERE id = ?1");
    for (int64_t id : ids) {
      sqlite3_bind_int64(by_id, 1, id);
      each_row(by_id, [&](sqlite3_stmt* row) { on_row(view_event_row(row, times)); });
    }
  }
};

// Copies the WAL back into the database file on its own connection and thread,
// so commits do not wait for a checkpoint's writes and fsyncs. A passive
// checkpoint never blocks the writer or the readers.
class Journal::Checkpointer {
 public:
  explicit Checkpointer(const std::filesystem::path& path) {
    if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr) !=
        SQLITE_OK) {
      std::string message = describe(db_);
      sqlite3_close_v2(db_);
      throw std::runtime_error("cannot open the checkpoint connection: " + message);
    }
    sqlite3_busy_timeout(db_, kBusyTimeoutMs);
    // A connection learns that the file is in WAL mode when it first reads it;
    // until then sqlite3_wal_checkpoint_v2 does nothing and answers SQLITE_OK.
    if (sqlite3_exec(db_, "SELECT count(*) FROM sqlite_master", nullptr, nullptr, nullptr) !=
        SQLITE_OK) {
      std::string message = describe(db_);
      sqlite3_close_v2(db_);
      throw std::runtime_error("cannot read through the checkpoint connection: " + message);
    }
    thread_ = std::thread([this] { run(); });
  }
  ~Checkpointer() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    cv_.notify_one();
    thread_.join();
    sqlite3_close_v2(db_);
  }
  Checkpointer(const Checkpointer&) = delete;
  Checkpointer& operator=(const Checkpointer&) = delete;

  // Installed as the writer connection's WAL hook (replacing its autocheckpoint):
  // runs after each commit with the WAL's size in pages.
  static int on_commit(void* self, sqlite3* writer_db, const char*, int wal_pages) {
    if (wal_pages >= kCheckpointInlinePages) {
      // The background checkpoints cannot catch up (the WAL only restarts once
      // fully copied): copy it on the writer, as SQLite would by default.
      sqlite3_wal_checkpoint_v2(writer_db, nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
    } else if (wal_pages >= kCheckpointPages) {
      static_cast<Checkpointer*>(self)->request();
    }
    return SQLITE_OK;
  }

 private:
  void request() {
    {
      std::lock_guard lock(mutex_);
      wanted_ = true;
    }
    cv_.notify_one();
  }
  void run() {
    for (;;) {
      {
        std::unique_lock lock(mutex_);
        cv_.wait(lock, [&] { return stopping_ || wanted_; });
        if (stopping_) return;
        wanted_ = false;
      }
      const int rc =
          sqlite3_wal_checkpoint_v2(db_, nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
      if (rc != SQLITE_OK && rc != SQLITE_BUSY)
        spdlog::warn("journal checkpoint failed: {}", describe(db_));
    }
  }

  sqlite3* db_ = nullptr;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool wanted_ = false, stopping_ = false;
  std::thread thread_;
};

class Journal::Tx final : public WriteTx {
 public:
  Tx(sqlite3* db, WriterStatements& statements, std::vector<EventPtr>& appended,
     std::vector<std::function<void()>>& hooks)
      : db_(db), statements_(statements), appended_(appended), hooks_(hooks) {}

  sqlite3* db() override { return db_; }

  void after_commit(std::function<void()> hook) override {
    if (hook) hooks_.push_back(std::move(hook));
  }

  EventPtr append(NewEvent input) override {
    return insert(build_event(std::move(input), statements_.times));
  }

  // Journals an event built by build_event and gives it its id.
  EventPtr insert(std::shared_ptr<Event> event) {
    sqlite3_stmt* statement = statements_.insert.get();
    bind_event(statement, 0, *event);
    step_insert(statement);
    event->id = sqlite3_last_insert_rowid(db_);
    appended_.push_back(event);
    return event;
  }

  // Journals events built by build_event, in order, kRowsPerInsert rows per
  // statement, and gives each its id.
  void insert_all(std::vector<std::shared_ptr<Event>>& events) {
    size_t next = 0;
    sqlite3_stmt* many = statements_.insert_many.get();
    for (; events.size() - next >= kRowsPerInsert; next += kRowsPerInsert) {
      for (size_t row = 0; row < kRowsPerInsert; ++row)
        bind_event(many, static_cast<int>(row * 6), *events[next + row]);
      step_insert(many);
      // One writer, AUTOINCREMENT: the rows of one statement take consecutive
      // ids after the largest ever used, so the last one names them all.
      const int64_t last = sqlite3_last_insert_rowid(db_);
      for (size_t row = 0; row < kRowsPerInsert; ++row) {
        std::shared_ptr<Event>& event = events[next + row];
        event->id = last - static_cast<int64_t>(kRowsPerInsert - 1 - row);
        appended_.push_back(std::move(event));
      }
    }
    for (; next < events.size(); ++next) insert(std::move(events[next]));
  }

 private:
  static void bind_event(sqlite3_stmt* statement, int base, const Event& event) {
    sqlite3_bind_int64(statement, base + 1, event.time_ms);
    bind_text(statement, base + 2, event.kind);
    bind_text(statement, base + 3, event.payload);
    bind_text(statement, base + 4, event.source);
    bind_text_or_null(statement, base + 5, event.node);
    bind_text_or_null(statement, base + 6, event.corr_id);
  }

  void step_insert(sqlite3_stmt* statement) {
    const int rc = sqlite3_step(statement);
    if (rc != SQLITE_DONE) {
      std::string message = describe(db_);
      sqlite3_reset(statement);
      throw JournalUnavailable("journal insert failed: " + message);
    }
    sqlite3_reset(statement);
  }

 private:
  sqlite3* db_;
  WriterStatements& statements_;
  std::vector<EventPtr>& appended_;
  std::vector<std::function<void()>>& hooks_;
};

// ---------------------------------------------------------------------------
// Open, migrate, close

Journal::Journal(const std::filesystem::path& db_path, JournalOptions options)
    : path_(db_path), options_(options) {
  if (options_.max_group_items == 0) options_.max_group_items = 1;
  std::error_code ignored;
  if (path_.has_parent_path()) std::filesystem::create_directories(path_.parent_path(), ignored);

  const int rc =
      sqlite3_open_v2(path_.c_str(), &writer_db_,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  try {
    if (rc != SQLITE_OK) throw std::runtime_error(describe(writer_db_));
    sqlite3_busy_timeout(writer_db_, kBusyTimeoutMs);
    sqlite3_extended_result_codes(writer_db_, 1);
    {
      Statement mode = prepare(writer_db_, "PRAGMA journal_mode=WAL", false);
      if (sqlite3_step(mode.get()) != SQLITE_ROW ||
          std::string_view(reinterpret_cast<const char*>(sqlite3_column_text(mode.get(), 0))) !=
              "wal")
        throw std::runtime_error("cannot switch to WAL mode");
    }
    exec_or_throw(writer_db_,
                  "PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; PRAGMA cache_size=-32768; "
                  "PRAGMA journal_size_limit=67108864;");
    migrate();
    writer_statements_ = std::make_unique<WriterStatements>(writer_db_);
    // Work items (control plane, training) run the same SQL again and again.
    enable_statement_cache(writer_db_);
    checkpointer_ = std::make_unique<Checkpointer>(path_);
    sqlite3_wal_hook(writer_db_, &Checkpointer::on_commit, checkpointer_.get());
    // sqlite_sequence holds the last id ever issued, even when pruning removed every row.
    head_id_.store(
        query_int(writer_db_, "SELECT seq FROM sqlite_sequence WHERE name = 'events'", 0));
    pruned_through_.store(
        query_int(writer_db_, "SELECT value FROM meta WHERE key = 'pruned_through'", 0));
  } catch (const std::exception& e) {
    sqlite3_wal_hook(writer_db_, nullptr, nullptr);
    checkpointer_.reset();
    writer_statements_.reset();
    drop_statement_cache(writer_db_);
    sqlite3_close_v2(writer_db_);
    writer_db_ = nullptr;
    throw std::runtime_error("cannot open the journal at " + path_.string() + ": " + e.what());
  }
  writer_ = std::thread([this] { writer_loop(); });
}

Journal::~Journal() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (writer_.joinable()) writer_.join();
  {
    std::lock_guard lock(read_mutex_);
    read_pool_.clear();
  }
  sqlite3_wal_hook(writer_db_, nullptr, nullptr);
  checkpointer_.reset();
  writer_statements_.reset();
  drop_statement_cache(writer_db_);
  sqlite3_close_v2(writer_db_);  // the last connection checkpoints the WAL
}

void Journal::migrate() {
  constexpr auto known = static_cast<int64_t>(std::size(kMigrations));
  const int64_t version = query_int(writer_db_, "PRAGMA user_version", 0);
  if (version > known)
    throw std::runtime_error("schema version " + std::to_string(version) +
                             " is newer than this host understands (" + std::to_string(known) +
                             ")");
  for (int64_t step = version; step < known; ++step) {
    exec_or_throw(writer_db_, "BEGIN IMMEDIATE");
    try {
      exec_or_throw(writer_db_, kMigrations[step]);
      exec_or_throw(writer_db_, "PRAGMA user_version = " + std::to_string(step + 1));
      exec_or_throw(writer_db_, "COMMIT");
    } catch (...) {
      sqlite3_exec(writer_db_, "ROLLBACK", nullptr, nullptr, nullptr);
      throw;
    }
  }
  schema_version_ = static_cast<uint64_t>(known);
}

uint64_t Journal::schema_version() const {
  return schema_version_;
}

size_t Journal::pending_items() const {
  std::lock_guard lock(mutex_);
  return queue_.size();
}

void Journal::set_commit_sink(std::function<void(std::vector<EventPtr>&&)> sink) {
  std::lock_guard lock(mutex_);
  sink_ = std::move(sink);
}

// ---------------------------------------------------------------------------
// Writing: callers queue items, the writer thread group-commits them

std::vector<EventPtr> Journal::append(std::vector<NewEvent> events) {
  if (events.empty()) return {};
  auto item = std::make_shared<Item>();
  item->events.reserve(events.size());
  TimeTextCache times;
  for (auto& event : events) item->events.push_back(build_event(std::move(event), times));
  events.clear();  // the moved-from strings are freed here, not on the writer
  return submit(std::move(item));
}

std::vector<EventPtr> Journal::transact(std::function<void(WriteTx&)> work) {
  auto item = std::make_shared<Item>();
  item->work = std::move(work);
  return submit(std::move(item));
}

std::vector<EventPtr> Journal::submit(std::shared_ptr<Item> item) {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) throw JournalUnavailable("the journal is closed");
    queue_.push_back(item);
  }
  cv_.notify_one();
  std::unique_lock lock(item->mutex);
  item->finished_cv.wait(lock, [&] { return item->finished; });
  if (item->error) {
    std::exception_ptr error = std::move(item->error);
    lock.unlock();
    std::rethrow_exception(error);  // the work's own exception, or JournalUnavailable
  }
  return std::move(item->committed);
}

void Journal::writer_loop() {
  std::vector<std::shared_ptr<Item>> group;
  for (;;) {
    std::function<void(std::vector<EventPtr> &&)> sink;
    {
      std::unique_lock lock(mutex_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and everything queued is done
      const size_t take = std::min(queue_.size(), options_.max_group_items);
      group.assign(std::make_move_iterator(queue_.begin()),
                   std::make_move_iterator(queue_.begin() + static_cast<ptrdiff_t>(take)));
      queue_.erase(queue_.begin(), queue_.begin() + static_cast<ptrdiff_t>(take));
      sink = sink_;
    }
    run_group(group);
    // In-memory state first, then the news of it (WriteTx::after_commit).
    for (auto& item : group) {
      for (auto& hook : item->after_commit) {
        try {
          hook();
        } catch (const std::exception& e) {
          spdlog::error("journal after-commit hook failed: {}", e.what());
        }
      }
      item->after_commit.clear();
    }
    if (sink) {
      // run_group left the committed events of successful items in place.
      std::vector<EventPtr> committed;
      for (auto& item : group)
        if (!item->error)
          committed.insert(committed.end(), item->committed.begin(), item->committed.end());
      if (!committed.empty()) {
        try {
          sink(std::move(committed));
        } catch (const std::exception& e) {
          spdlog::error("journal commit sink failed: {}", e.what());
        }
      }
    }
    for (auto& item : group) {
      {
        std::lock_guard lock(item->mutex);
        item->finished = true;
      }
      item->finished_cv.notify_one();
    }
    group.clear();
  }
}

// One transaction for the whole group, one savepoint per item. Sets each
// item's `error` or leaves its `committed` events; the caller releases them.
void Journal::run_group(std::vector<std::shared_ptr<Item>>& group) {
  WriterStatements& statements = *writer_statements_;
  auto fail_all = [&](const std::string& why) {
    spdlog::error("journal commit failed: {}", why);
    last_commit_failed_.store(true, std::memory_order_release);
    for (auto& item : group) {
      item->committed.clear();
      item->after_commit.clear();
      // One exception object per caller: callers on different threads never share one.
      item->error = std::make_exception_ptr(JournalUnavailable("journal commit failed: " + why));
    }
  };

  if (step_once(statements.begin.get()) != SQLITE_DONE) return fail_all(describe(writer_db_));

  for (auto& item : group) {
    if (step_once(statements.savepoint.get()) != SQLITE_DONE) {
      const std::string why = describe(writer_db_);
      if (!sqlite3_get_autocommit(writer_db_)) step_once(statements.rollback.get());
      return fail_all(why);
    }
    Tx tx(writer_db_, statements, item->committed, item->after_commit);
    try {
      if (item->work) {
        item->work(tx);
      } else {
        item->committed.reserve(item->events.size());
        tx.insert_all(item->events);
      }
      if (step_once(statements.release.get()) != SQLITE_DONE)
        throw JournalUnavailable("journal savepoint release failed: " + describe(writer_db_));
    } catch (...) {
      item->error = std::current_exception();
      item->committed.clear();
      item->after_commit.clear();
      if (!sqlite3_get_autocommit(writer_db_)) {
        step_once(statements.rollback_to.get());
        step_once(statements.release.get());
      }
    }
    item->events.clear();
    item->work = nullptr;
    // Some errors (disk full, I/O) make SQLite roll back the whole transaction.
    if (sqlite3_get_autocommit(writer_db_))
      return fail_all("the transaction was rolled back by an earlier error");
  }

  if (step_once(statements.commit.get()) != SQLITE_DONE) {
    const std::string why = describe(writer_db_);
    if (!sqlite3_get_autocommit(writer_db_)) step_once(statements.rollback.get());
    return fail_all(why);
  }
  last_commit_failed_.store(false, std::memory_order_release);
  for (auto it = group.rbegin(); it != group.rend(); ++it) {
    if (!(*it)->error && !(*it)->committed.empty()) {
      head_id_.store((*it)->committed.back()->id, std::memory_order_release);
      break;
    }
  }
}

uint64_t Journal::prune(uint64_t max_rows, int64_t min_time_ms, uint64_t* transactions) {
  if (transactions != nullptr) *transactions = 0;
  if (max_rows == 0 && min_time_ms <= 0) return 0;
  auto first_id = [](sqlite3* db, const char* sql, int64_t parameter) -> std::optional<int64_t> {
    Statement statement = prepare(db, sql, false);
    sqlite3_bind_int64(statement.get(), 1, parameter);
    const int rc = sqlite3_step(statement.get());
    if (rc == SQLITE_ROW && sqlite3_column_type(statement.get(), 0) != SQLITE_NULL)
      return sqlite3_column_int64(statement.get(), 0);
    if (rc == SQLITE_ROW || rc == SQLITE_DONE) return std::nullopt;
    throw JournalUnavailable("journal prune failed: " + describe(db));
  };
  // The boundary is decided once: rows with id <= boundary go. Rows appended
  // while the batches run are above it and stay.
  int64_t boundary = 0;
  transact([&](WriteTx& tx) {
    sqlite3* db = tx.db();
    if (max_rows > 0) {
      auto id = first_id(db, "SELECT id FROM events ORDER BY id DESC LIMIT 1 OFFSET ?1",
                         static_cast<int64_t>(std::min<uint64_t>(max_rows, INT64_MAX)));
      if (id) boundary = *id;
    }
    if (min_time_ms > 0) {
      // Scans from the oldest row, so the cost follows the rows that go.
      auto young = first_id(db, "SELECT id FROM events WHERE time_ms >= ?1 ORDER BY id LIMIT 1",
                            min_time_ms);
      const int64_t aged =
          young ? *young - 1
                : first_id(db, "SELECT max(id) FROM events WHERE id <= ?1", INT64_MAX).value_or(0);
      boundary = std::max(boundary, aged);
    }
  });
  if (boundary <= 0) return 0;

  const int64_t batch_rows =
      static_cast<int64_t>(std::clamp<uint64_t>(options_.prune_batch_rows, 1, INT64_MAX));
  uint64_t deleted = 0;
  while (true) {
    int64_t watermark = 0;
    uint64_t batch_deleted = 0;
    transact([&](WriteTx& tx) {
      sqlite3* db = tx.db();
      // The last id of this batch: the batch_rows-th row at or below the boundary.
      Statement last = prepare(db,
                               "SELECT max(id) FROM (SELECT id FROM events WHERE id <= ?1"
                               " ORDER BY id LIMIT ?2)",
                               false);
      sqlite3_bind_int64(last.get(), 1, boundary);
      sqlite3_bind_int64(last.get(), 2, batch_rows);
      const int rc = sqlite3_step(last.get());
      if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        throw JournalUnavailable("journal prune failed: " + describe(db));
      if (rc != SQLITE_ROW || sqlite3_column_type(last.get(), 0) == SQLITE_NULL) return;
      const int64_t last_id = sqlite3_column_int64(last.get(), 0);
      Statement remove = prepare(db, "DELETE FROM events WHERE id <= ?1", false);
      sqlite3_bind_int64(remove.get(), 1, last_id);
      if (sqlite3_step(remove.get()) != SQLITE_DONE)
        throw JournalUnavailable("journal prune failed: " + describe(db));
      batch_deleted = static_cast<uint64_t>(sqlite3_changes64(db));
      Statement mark =
          prepare(db, "UPDATE meta SET value = max(value, ?1) WHERE key = 'pruned_through'", false);
      sqlite3_bind_int64(mark.get(), 1, last_id);
      if (sqlite3_step(mark.get()) != SQLITE_DONE)
        throw JournalUnavailable("journal prune failed: " + describe(db));
      watermark = last_id;
    });
    if (watermark == 0) break;
    deleted += batch_deleted;
    if (transactions != nullptr) ++*transactions;
    if (watermark > pruned_through_.load()) pruned_through_.store(watermark);
    if (watermark >= boundary) break;
  }
  return deleted;
}

// ---------------------------------------------------------------------------
// Reading: pooled read-only connections, any thread

bool Journal::usable() const {
  if (last_commit_failed_.load(std::memory_order_acquire)) return false;
  // A deleted or replaced file still answers on open connections, but what
  // is committed there is lost at the next start.
  std::error_code ec;
  if (!std::filesystem::exists(path_, ec)) return false;
  try {
    std::unique_ptr<Reader> reader = acquire_reader();
    sqlite3_stmt* probe = reader->statement("SELECT max(id) FROM events");
    const int rc = sqlite3_step(probe);
    sqlite3_reset(probe);
    if (rc != SQLITE_ROW) return false;
    release_reader(std::move(reader));
    return true;
  } catch (const std::exception&) {
    return false;
  }
}

std::unique_ptr<Journal::Reader> Journal::acquire_reader() const {
  {
    std::lock_guard lock(read_mutex_);
    if (!read_pool_.empty()) {
      auto reader = std::move(read_pool_.back());
      read_pool_.pop_back();
      return reader;
    }
  }
  auto reader = std::make_unique<Reader>();
  if (sqlite3_open_v2(path_.c_str(), &reader->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX,
                      nullptr) != SQLITE_OK)
    throw JournalUnavailable("cannot open a journal reader: " + describe(reader->db));
  sqlite3_busy_timeout(reader->db, kBusyTimeoutMs);
  return reader;
}

void Journal::release_reader(std::unique_ptr<Reader> reader) const {
  std::lock_guard lock(read_mutex_);
  if (read_pool_.size() < kMaxIdleReaders) read_pool_.push_back(std::move(reader));
}

Journal::Page Journal::read_after(int64_t after, const std::vector<std::string>& prefixes,
                                  size_t limit) const {
  Page page;
  page.items.reserve(std::min<size_t>(limit, 4096));
  page.truncated = visit_after(after, prefixes, limit, [&](const EventView& row) {
                     page.items.push_back(copy_event(row));
                   }).truncated;
  return page;
}

Journal::PageInfo Journal::visit_after(int64_t after, const std::vector<std::string>& prefixes,
                                       size_t limit,
                                       const std::function<void(const EventView&)>& on_row) const {
  std::unique_ptr<Reader> reader = acquire_reader();
  // One read transaction: the watermark, the kinds and the rows are one snapshot.
  exec_or_throw(reader->db, "BEGIN");
  bool finished = false;
  ScopeExit end_read([&] {
    sqlite3_exec(reader->db, finished ? "COMMIT" : "ROLLBACK", nullptr, nullptr, nullptr);
    if (finished) release_reader(std::move(reader));
  });

  PageInfo page;
  auto visit = [&](const EventView& row) {
    on_row(row);
    ++page.count;
    page.last_id = row.id;
  };
  reader->each_row(
      reader->statement("SELECT value FROM meta WHERE key = 'pruned_through'"),
      [&](sqlite3_stmt* row) { page.truncated = after < sqlite3_column_int64(row, 0); });
  const auto row_limit = static_cast<int64_t>(std::min<size_t>(limit, INT64_MAX));
  if (prefixes.empty()) {
    sqlite3_stmt* rows = reader->statement(std::string("SELECT ") + kEventColumns +
                                           " FROM events WHERE id > ?1 ORDER BY id LIMIT ?2");
    sqlite3_bind_int64(rows, 1, after);
    sqlite3_bind_int64(rows, 2, row_limit);
    reader->each_row(rows, [&](sqlite3_stmt* row) { visit(view_event_row(row, reader->times)); });
  } else if (limit > 0) {
    // Per kind, the (kind, id) index yields ids in order without a sort; the
    // first `limit` of their merge are the page.
    std::vector<std::string> kinds;
    for (const auto& prefix : prefixes) {
      auto matching = reader->kinds_with_prefix(prefix);
      kinds.insert(kinds.end(), matching.begin(), matching.end());
    }
    std::sort(kinds.begin(), kinds.end());
    kinds.erase(std::unique(kinds.begin(), kinds.end()), kinds.end());
    sqlite3_stmt* by_kind = reader->statement(
        "SELECT id FROM events WHERE kind = ?1 AND id > ?2 AND id < ?3 ORDER BY id LIMIT ?4");
    std::vector<int64_t> ids;
    int64_t below = INT64_MAX;
    for (const auto& kind : kinds) {
      bind_text(by_kind, 1, kind);
      sqlite3_bind_int64(by_kind, 2, after);
      sqlite3_bind_int64(by_kind, 3, below);
      sqlite3_bind_int64(by_kind, 4, row_limit);
      const auto merged = static_cast<ptrdiff_t>(ids.size());
      reader->each_row(by_kind,
                       [&](sqlite3_stmt* row) { ids.push_back(sqlite3_column_int64(row, 0)); });
      std::inplace_merge(ids.begin(), ids.begin() + merged, ids.end());
      if (ids.size() >= limit) {
        ids.resize(limit);
        below = ids.back();
      }
    }
    reader->visit_by_id(ids, visit);
  }
  finished = true;
  return page;
}

std::vector<EventPtr> Journal::newest(const std::string& prefix, size_t n, int64_t max_id) const {
  if (n == 0) return {};
  std::unique_ptr<Reader> reader = acquire_reader();
  exec_or_throw(reader->db, "BEGIN");
  bool finished = false;
  ScopeExit end_read([&] {
    sqlite3_exec(reader->db, finished ? "COMMIT" : "ROLLBACK", nullptr, nullptr, nullptr);
    if (finished) release_reader(std::move(reader));
  });

  const auto row_limit = static_cast<int64_t>(std::min<size_t>(n, INT64_MAX));
  std::vector<EventPtr> rows;
  if (prefix.empty()) {
    sqlite3_stmt* newest_rows =
        reader->statement(std::string("SELECT ") + kEventColumns +
                          " FROM events WHERE id <= ?1 ORDER BY id DESC LIMIT ?2");
    sqlite3_bind_int64(newest_rows, 1, max_id);
    sqlite3_bind_int64(newest_rows, 2, row_limit);
    reader->each_row(newest_rows, [&](sqlite3_stmt* row) {
      rows.push_back(read_event_row(row, reader->times));
    });
    std::reverse(rows.begin(), rows.end());
  } else {
    // The newest n of each kind from the index, merged, keeping the newest n.
    sqlite3_stmt* by_kind = reader->statement(
        "SELECT id FROM events WHERE kind = ?1 AND id <= ?2 AND id > ?3 ORDER BY id DESC "
        "LIMIT ?4");
    std::vector<int64_t> ids;  // descending
    int64_t above = INT64_MIN;
    for (const auto& kind : reader->kinds_with_prefix(prefix)) {
      bind_text(by_kind, 1, kind);
      sqlite3_bind_int64(by_kind, 2, max_id);
      sqlite3_bind_int64(by_kind, 3, above);
      sqlite3_bind_int64(by_kind, 4, row_limit);
      const auto merged = static_cast<ptrdiff_t>(ids.size());
      reader->each_row(by_kind,
                       [&](sqlite3_stmt* row) { ids.push_back(sqlite3_column_int64(row, 0)); });
      std::inplace_merge(ids.begin(), ids.begin() + merged, ids.end(), std::greater<>());
      if (ids.size() >= n) {
        ids.resize(n);
        above = ids.back();
      }
    }
    std::reverse(ids.begin(), ids.end());
    rows = reader->events_by_id(ids);
  }
  finished = true;
  return rows;
}

}  // namespace tpark
