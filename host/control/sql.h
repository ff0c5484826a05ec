// Small SQLite statement helpers for the control plane's tables (actions,
// leases, staging, capsules). Errors throw std::runtime_error; inside a
// Journal::transact that rolls back the unit of work.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "kernel/statement_cache.h"

namespace tpark::control {

// A prepared statement bound by position (1-based) and stepped row by row.
// On a connection with the statement cache (the journal's writer) the
// statement is a kept one, reset and given back at the end of the scope.
class Sql {
 public:
  Sql(sqlite3* db, std::string_view text) : db_(db), text_(text) {
    stmt_ = acquire_statement(db, text);
    if (stmt_ == nullptr)
      throw std::runtime_error(std::string("sqlite prepare: ") + sqlite3_errmsg(db));
  }
  ~Sql() { release_statement(db_, text_, stmt_); }
  Sql(const Sql&) = delete;
  Sql& operator=(const Sql&) = delete;

  Sql& bind(int index, std::string_view text) {
    check(sqlite3_bind_text(stmt_, index, text.data(), static_cast<int>(text.size()),
                            SQLITE_TRANSIENT));
    return *this;
  }
  Sql& bind(int index, const std::string& text) { return bind(index, std::string_view(text)); }
  Sql& bind(int index, const char* text) { return bind(index, std::string_view(text)); }
  Sql& bind(int index, int64_t value) {
    check(sqlite3_bind_int64(stmt_, index, value));
    return *this;
  }
  Sql& bind(int index, int value) { return bind(index, static_cast<int64_t>(value)); }
  Sql& bind_null(int index) {
    check(sqlite3_bind_null(stmt_, index));
    return *this;
  }
  template <typename T>
  Sql& bind(int index, const std::optional<T>& value) {
    return value ? bind(index, *value) : bind_null(index);
  }

  // Steps once: true when a row is available, false when done.
  bool step() {
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    throw std::runtime_error(std::string("sqlite step: ") + sqlite3_errmsg(db_));
  }
  // Runs a statement that returns no rows.
  void run() {
    while (step()) {
    }
  }

  bool is_null(int column) const { return sqlite3_column_type(stmt_, column) == SQLITE_NULL; }
  int64_t integer(int column) const { return sqlite3_column_int64(stmt_, column); }
  std::optional<int64_t> optional_integer(int column) const {
    if (is_null(column)) return std::nullopt;
    return integer(column);
  }
  std::string text(int column) const {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, column));
    return p ? std::string(p, static_cast<size_t>(sqlite3_column_bytes(stmt_, column)))
             : std::string();
  }
  std::optional<std::string> optional_text(int column) const {
    if (is_null(column)) return std::nullopt;
    return text(column);
  }

 private:
  void check(int rc) {
    if (rc != SQLITE_OK)
      throw std::runtime_error(std::string("sqlite bind: ") + sqlite3_errmsg(db_));
  }
  sqlite3* db_;
  std::string text_;  // the key the statement is given back under
  sqlite3_stmt* stmt_ = nullptr;
};

// A read-only connection to the journal's database for the control plane's
// GET routes; one query at a time. Sees every committed transaction.
class ControlReader {
 public:
  explicit ControlReader(const std::string& db_path);
  ~ControlReader();
  ControlReader(const ControlReader&) = delete;
  ControlReader& operator=(const ControlReader&) = delete;

  // Runs `read` with the connection under the reader's lock.
  template <typename Fn>
  auto with(Fn&& read) {
    std::lock_guard lock(mutex_);
    return read(db_);
  }

 private:
  std::mutex mutex_;
  sqlite3* db_ = nullptr;
};

// Creates the control plane's tables if they do not exist (idempotent; runs
// on the writer connection at boot, beside the journal's own migrations).
void create_control_tables(sqlite3* db);

}  // namespace tpark::control
