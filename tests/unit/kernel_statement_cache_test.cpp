// Prepared statements kept per connection (kernel/statement_cache.h) and the
// control plane's Sql over them.
#include <catch2/catch.hpp>

#include <sqlite3.h>

#include <string>

#include "control/sql.h"
#include "kernel/statement_cache.h"

using namespace tpark;

namespace {

struct MemoryDb {
  MemoryDb() {
    REQUIRE(sqlite3_open(":memory:", &db) == SQLITE_OK);
    REQUIRE(sqlite3_exec(db, "CREATE TABLE t(x INTEGER)", nullptr, nullptr, nullptr) == SQLITE_OK);
  }
  ~MemoryDb() {
    drop_statement_cache(db);
    sqlite3_close(db);  // fails (SQLITE_BUSY) if a statement were left unfinalized
  }
  sqlite3* db = nullptr;
};

}  // namespace

TEST_CASE("a_kept_statement_comes_back_reset_and_unbound", "[kernel][statement_cache]") {
  MemoryDb m;
  enable_statement_cache(m.db);
  const std::string insert = "INSERT INTO t(x) VALUES(?1)";
  sqlite3_stmt* first = acquire_statement(m.db, insert);
  REQUIRE(first != nullptr);
  sqlite3_bind_int(first, 1, 7);
  CHECK(sqlite3_step(first) == SQLITE_DONE);
  release_statement(m.db, insert, first);

  sqlite3_stmt* again = acquire_statement(m.db, insert);
  CHECK(again == first);  // kept, not prepared again
  CHECK_FALSE(sqlite3_stmt_busy(again));
  CHECK(sqlite3_step(again) == SQLITE_DONE);  // the binding was cleared: inserts NULL
  release_statement(m.db, insert, again);

  control::Sql rows(m.db, "SELECT x FROM t ORDER BY rowid");
  REQUIRE(rows.step());
  CHECK(rows.integer(0) == 7);
  REQUIRE(rows.step());
  CHECK(rows.is_null(0));
  CHECK_FALSE(rows.step());
}

TEST_CASE("a_statement_in_use_is_not_handed_out_twice", "[kernel][statement_cache]") {
  MemoryDb m;
  enable_statement_cache(m.db);
  for (int i = 1; i <= 3; ++i) control::Sql(m.db, "INSERT INTO t(x) VALUES(?1)").bind(1, i).run();
  // The same SELECT nested in itself: each level walks its own rows.
  int pairs = 0;
  control::Sql outer(m.db, "SELECT x FROM t ORDER BY x");
  while (outer.step()) {
    control::Sql inner(m.db, "SELECT x FROM t ORDER BY x");
    while (inner.step()) ++pairs;
  }
  CHECK(pairs == 9);
}

TEST_CASE("connections_without_the_cache_prepare_per_use", "[kernel][statement_cache]") {
  MemoryDb m;  // never enabled
  sqlite3_stmt* first = acquire_statement(m.db, "SELECT 1");
  REQUIRE(first != nullptr);
  release_statement(m.db, "SELECT 1", first);  // finalized
  sqlite3_stmt* second = acquire_statement(m.db, "SELECT 1");
  REQUIRE(second != nullptr);
  CHECK(sqlite3_next_stmt(m.db, nullptr) == second);  // the only statement alive
  CHECK(sqlite3_next_stmt(m.db, second) == nullptr);
  release_statement(m.db, "SELECT 1", second);
  CHECK(sqlite3_next_stmt(m.db, nullptr) == nullptr);
}

TEST_CASE("dropping_the_cache_finalizes_what_it_kept", "[kernel][statement_cache]") {
  MemoryDb m;
  enable_statement_cache(m.db);
  for (int i = 0; i < 300; ++i)  // past the per-connection bound
    control::Sql(m.db, "SELECT " + std::to_string(i)).run();
  CHECK(sqlite3_next_stmt(m.db, nullptr) != nullptr);
  drop_statement_cache(m.db);
  CHECK(sqlite3_next_stmt(m.db, nullptr) == nullptr);
  CHECK_THROWS_WITH(control::Sql(m.db, "SELECT nonsense FROM nowhere"),
                    Catch::Contains("sqlite prepare"));
}
