#include "kernel/statement_cache.h"

#include <algorithm>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace tpark {
namespace {

// Bounds what one connection keeps: SQL built from values (not placeholders)
// would otherwise grow it without end. Past it, statements are prepared
// and finalized per use, as without the cache.
constexpr size_t kMaxKeptPerConnection = 256;

struct Kept {
  sqlite3_stmt* statement = nullptr;
  bool in_use = false;
};

struct KeyHash {
  using is_transparent = void;
  size_t operator()(std::string_view key) const { return std::hash<std::string_view>{}(key); }
};

struct ConnectionCache {
  std::unordered_map<std::string, std::vector<Kept>, KeyHash, std::equal_to<>> by_sql;
  size_t kept = 0;
};

std::mutex& caches_mutex() {
  static std::mutex mutex;
  return mutex;
}

std::unordered_map<sqlite3*, ConnectionCache>& caches() {
  static auto* map = new std::unordered_map<sqlite3*, ConnectionCache>();
  return *map;
}

sqlite3_stmt* prepare(sqlite3* db, std::string_view sql, bool persistent) {
  sqlite3_stmt* statement = nullptr;
  if (sqlite3_prepare_v3(db, sql.data(), static_cast<int>(sql.size()),
                         persistent ? SQLITE_PREPARE_PERSISTENT : 0, &statement,
                         nullptr) != SQLITE_OK) {
    sqlite3_finalize(statement);
    return nullptr;
  }
  return statement;
}

}  // namespace

void enable_statement_cache(sqlite3* db) {
  std::lock_guard lock(caches_mutex());
  caches().try_emplace(db);
}

void drop_statement_cache(sqlite3* db) {
  ConnectionCache dropped;
  {
    std::lock_guard lock(caches_mutex());
    auto it = caches().find(db);
    if (it == caches().end()) return;
    dropped = std::move(it->second);
    caches().erase(it);
  }
  for (auto& [sql, kept] : dropped.by_sql)
    for (Kept& entry : kept) sqlite3_finalize(entry.statement);
}

sqlite3_stmt* acquire_statement(sqlite3* db, std::string_view sql) {
  {
    std::lock_guard lock(caches_mutex());
    auto cache = caches().find(db);
    if (cache != caches().end()) {
      auto it = cache->second.by_sql.find(sql);
      if (it != cache->second.by_sql.end()) {
        for (Kept& entry : it->second) {
          if (!entry.in_use) {
            entry.in_use = true;
            return entry.statement;
          }
        }
      }
      if (cache->second.kept < kMaxKeptPerConnection) {
        sqlite3_stmt* statement = prepare(db, sql, true);
        if (statement == nullptr) return nullptr;
        auto& kept = it != cache->second.by_sql.end()
                         ? it->second
                         : cache->second.by_sql.try_emplace(std::string(sql)).first->second;
        kept.push_back({statement, true});
        ++cache->second.kept;
        return statement;
      }
    }
  }
  return prepare(db, sql, false);
}

void release_statement(sqlite3* db, std::string_view sql, sqlite3_stmt* statement) {
  if (statement == nullptr) return;
  {
    std::lock_guard lock(caches_mutex());
    auto cache = caches().find(db);
    if (cache != caches().end()) {
      auto it = cache->second.by_sql.find(sql);
      if (it != cache->second.by_sql.end()) {
        auto kept = std::find_if(it->second.begin(), it->second.end(),
                                 [&](const Kept& entry) { return entry.statement == statement; });
        if (kept != it->second.end()) {
          sqlite3_reset(statement);
          sqlite3_clear_bindings(statement);
          kept->in_use = false;
          return;
        }
      }
    }
  }
  sqlite3_finalize(statement);
}

}  // namespace tpark
