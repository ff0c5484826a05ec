#include "control/sql.h"

namespace tpark::control {

namespace {

// Control-plane tables. Each statement is idempotent so the step can run at
// every boot; new columns or tables are added as new IF NOT EXISTS statements.
constexpr const char* kControlSchema =
    "CREATE TABLE IF NOT EXISTS actions("
    " id TEXT PRIMARY KEY,"
    " kind TEXT NOT NULL,"
    " input TEXT NOT NULL,"
    " idem_key TEXT,"
    " state TEXT NOT NULL,"
    " output TEXT,"
    " error TEXT,"
    " created_ms INTEGER NOT NULL,"
    " updated_ms INTEGER NOT NULL,"
    " queue_order INTEGER,"
    " risk TEXT NOT NULL,"
    " evidence TEXT,"
    " guard TEXT,"
    " posture TEXT NOT NULL,"
    " via TEXT NOT NULL,"
    " requested_by TEXT NOT NULL,"
    " corr_id TEXT);"
    "CREATE UNIQUE INDEX IF NOT EXISTS actions_idem ON actions(kind, idem_key)"
    " WHERE idem_key IS NOT NULL;"
    "CREATE INDEX IF NOT EXISTS actions_state_queue ON actions(state, queue_order);"
    "CREATE TABLE IF NOT EXISTS leases("
    " id TEXT PRIMARY KEY,"
    " subject TEXT NOT NULL,"
    " capability TEXT NOT NULL,"
    " scope TEXT NOT NULL,"
    " ttl_until_ms INTEGER NOT NULL,"
    " budget INTEGER,"
    " budget_remaining INTEGER,"
    " revoked_ms INTEGER,"
    " created_ms INTEGER NOT NULL,"
    " updated_ms INTEGER NOT NULL);"
    // Admission reads a capability's newest leases and its usable ones by
    // expiry; retention finds the inactive ones by age.
    "DROP INDEX IF EXISTS leases_capability;"
    "CREATE INDEX IF NOT EXISTS leases_newest ON leases(capability, created_ms);"
    "CREATE INDEX IF NOT EXISTS leases_usable ON leases(capability, ttl_until_ms)"
    " WHERE revoked_ms IS NULL;"
    "CREATE TABLE IF NOT EXISTS staging_entries("
    " id TEXT PRIMARY KEY,"
    " action_kind TEXT NOT NULL,"
    " action_input TEXT NOT NULL,"
    " project TEXT,"
    " requested_by TEXT NOT NULL,"
    " evidence TEXT,"
    " risk TEXT NOT NULL,"
    " status TEXT NOT NULL,"
    " reason TEXT,"
    " decided_by TEXT,"
    " decided_ms INTEGER,"
    " created_ms INTEGER NOT NULL,"
    " updated_ms INTEGER NOT NULL);"
    "CREATE INDEX IF NOT EXISTS staging_status ON staging_entries(status);"
    "CREATE TABLE IF NOT EXISTS policy_capsules("
    " id TEXT PRIMARY KEY,"
    " capsule TEXT NOT NULL,"
    " applied_ms INTEGER NOT NULL,"
    " lease_until_ms INTEGER,"
    " remaining_hops INTEGER,"
    " expired_reported INTEGER NOT NULL DEFAULT 0);";

}  // namespace

void create_control_tables(sqlite3* db) {
  char* message = nullptr;
  if (sqlite3_exec(db, kControlSchema, nullptr, nullptr, &message) != SQLITE_OK) {
    std::string text = message ? message : "unknown error";
    sqlite3_free(message);
    throw std::runtime_error("control tables: " + text);
  }
}

ControlReader::ControlReader(const std::string& db_path) {
  if (sqlite3_open_v2(db_path.c_str(), &db_, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nullptr) !=
      SQLITE_OK) {
    std::string why = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close_v2(db_);
    db_ = nullptr;
    throw std::runtime_error("cannot open " + db_path + " for reading: " + why);
  }
  sqlite3_busy_timeout(db_, 5000);
}

ControlReader::~ControlReader() {
  sqlite3_close_v2(db_);
}

}  // namespace tpark::control
