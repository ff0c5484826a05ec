// A daily append-only log: <dir>/<YYYY-MM-DD>/context.log (UTC dates), a new
// dated file at midnight UTC, size rotation within a day and a retention in
// days. The seed's daily trial logs, written by the host instead of a shell
// loop. Not thread-safe: the exporter's worker is its only caller.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

namespace tpark::jsonl {

struct DailyLogOptions {
  std::filesystem::path dir;
  uint64_t max_file_bytes = 100ull << 20;  // a day's file rolls to context.log.<n> past this
  int retention_days = 14;                 // dated folders older than this go; 0 keeps all
  bool fsync = true;                       // fdatasync after every append (else: write(2) only)
};

// "YYYY-MM-DD" of an epoch-ms time, UTC.
std::string utc_date(int64_t epoch_ms);

class DailyLog {
 public:
  explicit DailyLog(DailyLogOptions options);
  ~DailyLog();
  DailyLog(const DailyLog&) = delete;
  DailyLog& operator=(const DailyLog&) = delete;

  // Appends `lines` (whole lines, each ending in '\n') to the file of
  // now_ms's day, rotating first if the day's file would pass
  // max_file_bytes. The bytes are written (and synced when fsync is on)
  // before it returns. Returns an empty string, or what failed (the caller
  // retries the same bytes; a failed append leaves no partial line, as the
  // file is truncated back to its previous size).
  std::string append(int64_t now_ms, std::string_view lines);

  // The file the next append of `now_ms` goes to (for tests and logs).
  std::filesystem::path current_path(int64_t now_ms) const;

 private:
  std::string open_for(const std::string& date);
  std::string rotate();
  void remove_expired(const std::string& today);
  void close();

  DailyLogOptions options_;
  std::string date_;  // the open file's day
  int fd_ = -1;
  uint64_t size_ = 0;
};

}  // namespace tpark::jsonl
