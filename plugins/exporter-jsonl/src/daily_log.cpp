#include "daily_log.h"

#include <cerrno>
#include <cstring>
#include <ctime>
#include <system_error>
#include <vector>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace tpark::jsonl {
namespace fs = std::filesystem;

namespace {

constexpr const char* kFileName = "context.log";

std::string errno_text(const std::string& what, const fs::path& path) {
  return what + " " + path.string() + ": " + std::strerror(errno);
}

// Days since 1970-01-01 of a YYYY-MM-DD string; -1 when it is not one.
int64_t days_of(const std::string& date) {
  if (date.size() != 10 || date[4] != '-' || date[7] != '-') return -1;
  std::tm tm{};
  for (size_t i : {0u, 1u, 2u, 3u, 5u, 6u, 8u, 9u})
    if (date[i] < '0' || date[i] > '9') return -1;
  tm.tm_year = std::stoi(date.substr(0, 4)) - 1900;
  tm.tm_mon = std::stoi(date.substr(5, 2)) - 1;
  tm.tm_mday = std::stoi(date.substr(8, 2));
  if (tm.tm_mon < 0 || tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_mday > 31) return -1;
  return static_cast<int64_t>(timegm(&tm)) / 86400;
}

}  // namespace

std::string utc_date(int64_t epoch_ms) {
  const time_t seconds =
      static_cast<time_t>(epoch_ms >= 0 ? epoch_ms / 1000 : (epoch_ms - 999) / 1000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char text[16];
  std::strftime(text, sizeof text, "%Y-%m-%d", &tm);
  return text;
}

DailyLog::DailyLog(DailyLogOptions options) : options_(std::move(options)) {}

DailyLog::~DailyLog() {
  close();
}

void DailyLog::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

fs::path DailyLog::current_path(int64_t now_ms) const {
  return options_.dir / utc_date(now_ms) / kFileName;
}

std::string DailyLog::open_for(const std::string& date) {
  close();
  const fs::path folder = options_.dir / date;
  std::error_code ec;
  fs::create_directories(folder, ec);
  if (ec) return "cannot create " + folder.string() + ": " + ec.message();
  const fs::path path = folder / kFileName;
  fd_ = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) return errno_text("cannot open", path);
  struct stat st {};
  if (::fstat(fd_, &st) != 0) {
    const std::string error = errno_text("cannot stat", path);
    close();
    return error;
  }
  size_ = static_cast<uint64_t>(st.st_size);
  if (date != date_) remove_expired(date);
  date_ = date;
  return {};
}

// context.log becomes context.log.<n>, n the first free number from 1, so
// the numbered files read in order before context.log.
std::string DailyLog::rotate() {
  close();
  const fs::path folder = options_.dir / date_;
  const fs::path current = folder / kFileName;
  for (int n = 1;; ++n) {
    const fs::path target = folder / (std::string(kFileName) + "." + std::to_string(n));
    std::error_code ec;
    if (fs::exists(target, ec)) continue;
    fs::rename(current, target, ec);
    if (ec) return "cannot rotate " + current.string() + ": " + ec.message();
    break;
  }
  return open_for(date_);
}

void DailyLog::remove_expired(const std::string& today) {
  if (options_.retention_days <= 0) return;
  const int64_t today_days = days_of(today);
  std::error_code ec;
  std::vector<fs::path> expired;
  for (const auto& entry : fs::directory_iterator(options_.dir, ec)) {
    const std::string name = entry.path().filename().string();
    const int64_t days = days_of(name);
    if (days >= 0 && entry.is_directory(ec) && today_days - days >= options_.retention_days)
      expired.push_back(entry.path());
  }
  for (const auto& path : expired) fs::remove_all(path, ec);
}

std::string DailyLog::append(int64_t now_ms, std::string_view lines) {
  if (lines.empty()) return {};
  const std::string date = utc_date(now_ms);
  if (fd_ < 0 || date != date_) {
    if (auto error = open_for(date); !error.empty()) return error;
  }
  if (size_ > 0 && size_ + lines.size() > options_.max_file_bytes) {
    if (auto error = rotate(); !error.empty()) return error;
  }
  const uint64_t before = size_;
  size_t written = 0;
  while (written < lines.size()) {
    const ssize_t n = ::write(fd_, lines.data() + written, lines.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const std::string error = errno_text("cannot write", current_path(now_ms));
      // No half line stays behind: the retry writes the whole batch again.
      if (::ftruncate(fd_, static_cast<off_t>(before)) != 0) close();
      return error;
    }
    written += static_cast<size_t>(n);
  }
  if (options_.fsync && ::fdatasync(fd_) != 0) {
    const std::string error = errno_text("cannot sync", current_path(now_ms));
    if (::ftruncate(fd_, static_cast<off_t>(before)) != 0) close();
    return error;
  }
  size_ += lines.size();
  return {};
}

}  // namespace tpark::jsonl
