// Prepared statements kept per connection, for the SQL a connection runs
// again and again (the control plane's and training's statements on the
// journal's writer connection): preparing one costs more than running it.
//
// Only connections whose owner enabled the cache use it, and the owner drops
// it before closing the connection, so a cached statement never outlives its
// connection nor is handed to a new connection at the same address. A
// statement in use is never handed out twice: a nested use of the same SQL
// gets a statement of its own.
#pragma once

#include <sqlite3.h>

#include <string_view>

namespace tpark {

// Starts keeping statements for `db`.
void enable_statement_cache(sqlite3* db);
// Finalizes the statements kept for `db` and stops keeping them. Call before
// closing `db`; none may be in use.
void drop_statement_cache(sqlite3* db);

// A statement for `sql` on `db`: a kept one when `db` has the cache and one
// is free, else a new one. Null when `sql` does not prepare (the error is
// on `db`). Give it back with release_statement and the same `sql`.
sqlite3_stmt* acquire_statement(sqlite3* db, std::string_view sql);
// Resets it and clears its bindings when kept, else finalizes it.
void release_statement(sqlite3* db, std::string_view sql, sqlite3_stmt* statement);

}  // namespace tpark
