// Pieces the benchmarks share: a realistic ingest line, driving NDJSON bodies
// into a host over several connections, a process's CPU time, the load
// average, and order statistics.
#pragma once

#include <sqlite3.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <iterator>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "support/http_client.h"

namespace tpark::test {

// True, after printing `usage` on stdout, when an argument asks for help
// (-h or --help): a benchmark's main returns 0 then, and runs nothing.
inline bool help_requested(int argc, char** argv, const char* usage) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      std::fputs(usage, stdout);
      return true;
    }
  }
  return false;
}

// A realistic context.coverage ingest line (~330 bytes, newline included);
// `i` varies the verdict, the selection and the correlation id.
inline std::string coverage_event_line(size_t i) {
  return "{\"kind\":\"context.coverage\",\"payload\":{\"needs_more\":" +
         std::string(i % 3 ? "false" : "true") +
         ",\"reasons\":[\"below_target_limit\",\"slot_underfilled:instructions\"],\"summary\":{"
         "\"target_limit\":8,\"lanes_requested\":2,\"selected\":" +
         std::to_string(i % 9) +
         ",\"avg_cscore\":0.25,\"max_cscore\":0.3,\"threshold_hits\":0,\"min_score\":0.6,"
         "\"lane_counts\":{\"semantic\":3},\"slots\":{\"counts\":{\"instructions\":0}}},"
         "\"spec\":{\"slot_budgets\":{\"instructions\":2}},\"corr_id\":\"c-" +
         std::to_string(i) + "\"}}\n";
}

// The reference for durable ingest: `rows` rows inserted into a fresh SQLite
// file at `path` with the journal's schema and pragmas (WAL,
// synchronous=FULL), one prepared statement, `batch` rows per transaction;
// rows/s. bind_row(statement, i) binds row i's time_ms, kind, payload,
// source, node and corr_id (parameters 1 to 6).
inline double raw_sqlite_insert_rate(const std::string& path, size_t rows,
                                     const std::function<void(sqlite3_stmt*, size_t)>& bind_row,
                                     size_t batch = 10000) {
  sqlite3* db = nullptr;
  sqlite3_open(path.c_str(), &db);
  sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;", nullptr, nullptr, nullptr);
  sqlite3_exec(db,
               "CREATE TABLE events(id INTEGER PRIMARY KEY AUTOINCREMENT, time_ms INTEGER NOT NULL,"
               " kind TEXT NOT NULL, payload TEXT NOT NULL, source TEXT NOT NULL, node TEXT,"
               " corr_id TEXT);"
               "CREATE INDEX events_kind_id ON events(kind, id);",
               nullptr, nullptr, nullptr);
  sqlite3_stmt* stmt = nullptr;
  sqlite3_prepare_v2(db,
                     "INSERT INTO events(time_ms,kind,payload,source,node,corr_id) "
                     "VALUES(?,?,?,?,?,?)",
                     -1, &stmt, nullptr);
  const auto start = std::chrono::steady_clock::now();
  for (size_t i = 0; i < rows; i += batch) {
    sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr);
    for (size_t j = i; j < std::min(rows, i + batch); ++j) {
      bind_row(stmt, j);
      sqlite3_step(stmt);
      sqlite3_reset(stmt);
    }
    sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr);
  }
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return static_cast<double>(rows) / secs;
}

// The same with `payloads` as context.coverage rows from source "ingest".
inline double raw_sqlite_insert_rate(const std::string& path,
                                     const std::vector<std::string>& payloads) {
  return raw_sqlite_insert_rate(path, payloads.size(), [&](sqlite3_stmt* stmt, size_t j) {
    sqlite3_bind_int64(stmt, 1, 1764338400000 + static_cast<int64_t>(j));
    sqlite3_bind_text(stmt, 2, "context.coverage", -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 3, payloads[j].data(), static_cast<int>(payloads[j].size()),
                      SQLITE_STATIC);
    sqlite3_bind_text(stmt, 4, "ingest", -1, SQLITE_STATIC);
    sqlite3_bind_null(stmt, 5);
    sqlite3_bind_text(stmt, 6, "req", -1, SQLITE_STATIC);
  });
}

// POSTs every body to /events/ingest on 127.0.0.1:`port`, `connections`
// keep-alive connections taking the next body in turn; the events accepted.
inline long post_ingest_bodies(int port, const std::vector<std::string>& bodies, int connections) {
  std::atomic<size_t> next{0};
  std::atomic<long> accepted{0};
  std::vector<std::thread> workers;
  for (int c = 0; c < connections; ++c)
    workers.emplace_back([&] {
      HttpConnection conn("127.0.0.1", port, std::chrono::seconds(120));
      for (size_t i = next++; i < bodies.size(); i = next++) {
        HttpResult r = conn.request("POST", "/events/ingest",
                                    {{"Content-Type", "application/x-ndjson"}}, bodies[i]);
        if (r.status == 200) accepted += r.json()["accepted"].get<long>();
      }
    });
  for (auto& worker : workers) worker.join();
  return accepted.load();
}

// CPU seconds (user + system) a process has used so far, from /proc; 0 when
// it is gone.
inline double cpu_seconds(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const size_t close = stat.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream fields(stat.substr(close + 2));
  std::string field;
  double ticks = 0;
  for (int i = 3; i <= 15 && fields >> field; ++i)
    if (i == 14 || i == 15) ticks += std::stod(field);  // utime, stime
  return ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// The one-minute load average, as /proc/loadavg gives it; "?" if unread.
inline std::string load_average() {
  std::ifstream in("/proc/loadavg");
  std::string one_minute;
  in >> one_minute;
  return one_minute.empty() ? "?" : one_minute;
}

// The value at fraction p (0..1) of the sorted values; 0 for none.
inline double percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  return values[std::min(values.size() - 1,
                         static_cast<size_t>(p * static_cast<double>(values.size())))];
}

// The middle value (the upper one of an even count); 0 for none.
inline double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values.empty() ? 0 : values[values.size() / 2];
}

}  // namespace tpark::test
