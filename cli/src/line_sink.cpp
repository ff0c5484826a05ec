#include "line_sink.h"

#include <charconv>
#include <cstring>
#include <filesystem>
#include <iostream>

#include "cli_error.h"

namespace tpark::cli {

namespace fs = std::filesystem;

uint64_t parse_size(const std::string& text, const std::string& flag) {
  uint64_t value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  const std::string suffix(ptr, text.data() + text.size());
  uint64_t unit = 1;
  if (suffix == "K" || suffix == "k")
    unit = 1024;
  else if (suffix == "M" || suffix == "m")
    unit = 1024 * 1024;
  else if (!suffix.empty())
    ec = std::errc::invalid_argument;
  if (ec != std::errc() || ptr == text.data() || value > UINT64_MAX / unit)
    throw CliError(kExitUsage,
                   flag + ": '" + text + "' is not a size (bytes, or with K/M, e.g. 64K)");
  return value * unit;
}

namespace {

class StdoutSink : public LineSink {
 public:
  void write_line(const std::string& line) override {
    std::fwrite(line.data(), 1, line.size(), stdout);
    std::fputc('\n', stdout);
    std::fflush(stdout);
  }
};

// An append-mode file; reopened by path when it has to.
class AppendFile {
 public:
  ~AppendFile() { close(); }
  void open(const std::string& path) {
    close();
    std::error_code ignored;
    if (fs::path(path).has_parent_path())
      fs::create_directories(fs::path(path).parent_path(), ignored);
    file_ = std::fopen(path.c_str(), "ab");
    if (file_ == nullptr)
      throw CliError(kExitFailure, "cannot open " + path + " for writing: " + std::strerror(errno));
    std::fseek(file_, 0, SEEK_END);
    size_ = static_cast<uint64_t>(std::ftell(file_));
    path_ = path;
  }
  void close() {
    if (file_ != nullptr) std::fclose(file_);
    file_ = nullptr;
  }
  void write_line(const std::string& line) {
    if (std::fwrite(line.data(), 1, line.size(), file_) != line.size() ||
        std::fputc('\n', file_) == EOF || std::fflush(file_) != 0)
      throw CliError(kExitFailure, "cannot write " + path_ + ": " + std::strerror(errno));
    size_ += line.size() + 1;
  }
  uint64_t size() const { return size_; }
  const std::string& path() const { return path_; }

 private:
  std::FILE* file_ = nullptr;
  uint64_t size_ = 0;
  std::string path_;
};

class RotatingFileSink : public LineSink {
 public:
  RotatingFileSink(std::string path, std::optional<uint64_t> rotate_bytes)
      : path_(std::move(path)), rotate_bytes_(rotate_bytes) {
    file_.open(path_);
  }
  void write_line(const std::string& line) override {
    if (rotate_bytes_ && file_.size() > 0 && file_.size() + line.size() + 1 > *rotate_bytes_) {
      file_.close();
      std::error_code ec;
      fs::rename(path_, path_ + ".1", ec);
      if (ec) throw CliError(kExitFailure, "cannot rotate " + path_ + ": " + ec.message());
      file_.open(path_);
    }
    file_.write_line(line);
  }

 private:
  std::string path_;
  std::optional<uint64_t> rotate_bytes_;
  AppendFile file_;
};

std::string utc_date(std::time_t now) {
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buffer[16];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%d", &tm);
  return buffer;
}

std::time_t system_now() {
  return std::time(nullptr);
}

class DailySink : public LineSink {
 public:
  DailySink(std::string dir, std::string file_name, std::time_t (*clock)())
      : dir_(std::move(dir)),
        file_name_(std::move(file_name)),
        clock_(clock ? clock : system_now) {}
  void write_line(const std::string& line) override {
    const std::string date = utc_date(clock_());
    if (date != date_) {
      file_.open((fs::path(dir_) / date / file_name_).string());
      date_ = date;
    }
    file_.write_line(line);
  }

 private:
  std::string dir_, file_name_, date_;
  std::time_t (*clock_)();
  AppendFile file_;
};

}  // namespace

std::unique_ptr<LineSink> stdout_sink() {
  return std::make_unique<StdoutSink>();
}

std::unique_ptr<LineSink> file_sink(const std::string& path, std::optional<uint64_t> rotate_bytes) {
  return std::make_unique<RotatingFileSink>(path, rotate_bytes);
}

std::unique_ptr<LineSink> daily_sink(const std::string& dir, const std::string& file_name,
                                     std::time_t (*clock)()) {
  return std::make_unique<DailySink>(dir, file_name, clock);
}

}  // namespace tpark::cli
