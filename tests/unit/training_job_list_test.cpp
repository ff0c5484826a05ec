// The job list's query (training/training_service.h) reads only the rows it
// returns when a status is given: clients poll it, and a sort of every job of
// that status grew with the table (8 ms of the host's CPU per poll at 1,500
// jobs).
#include <catch2/catch.hpp>

#include <sqlite3.h>

#include <string>

#include "training/training_service.h"

namespace {

// The plan's detail lines, one per step.
std::string query_plan(sqlite3* db, const std::string& sql) {
  sqlite3_stmt* stmt = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, ("EXPLAIN QUERY PLAN " + sql).c_str(), -1, &stmt, nullptr) ==
          SQLITE_OK);
  std::string plan;
  while (sqlite3_step(stmt) == SQLITE_ROW)
    plan += std::string(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 3))) + "\n";
  sqlite3_finalize(stmt);
  return plan;
}

}  // namespace

TEST_CASE("job list by status walks an index in order, without sorting", "[training]") {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(":memory:", &db) == SQLITE_OK);
  tpark::training::create_training_tables(db);
  const std::string plan = query_plan(db, tpark::training::job_list_sql(true));
  INFO(plan);
  CHECK(plan.find("training_jobs_status_updated") != std::string::npos);
  CHECK(plan.find("TEMP B-TREE") == std::string::npos);
  sqlite3_close(db);
}
