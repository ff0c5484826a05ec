// Where streamed lines go: stdout, a file that rotates to FILE.1 at a size
// (only FILE.1 is kept), or a directory of daily files
// <DIR>/<YYYY-MM-DD>/<name> rolling at midnight UTC. Every line is flushed
// as it is written, so a killed CLI loses nothing it reported.
#pragma once

#include <cstdint>
#include <cstdio>
#include <ctime>
#include <memory>
#include <optional>
#include <string>

namespace tpark::cli {

// "64K", "1M", "65536": K and M are 1024-based. Throws CliError (usage)
// naming `flag` when the text is not a size.
uint64_t parse_size(const std::string& text, const std::string& flag);

// The smallest --output-rotate accepted: 64 KiB.
inline constexpr uint64_t kMinRotateBytes = 64 * 1024;

class LineSink {
 public:
  virtual ~LineSink() = default;
  // Writes `line` and a newline.
  virtual void write_line(const std::string& line) = 0;
};

std::unique_ptr<LineSink> stdout_sink();
// Appends to `path`; when `rotate_bytes` is set and a line would take the
// file past it, the file is renamed to `path`.1 (replacing it) first.
std::unique_ptr<LineSink> file_sink(const std::string& path, std::optional<uint64_t> rotate_bytes);
// Appends to <dir>/<UTC date>/<file_name>, opening the next day's file at
// midnight UTC. `clock` gives the time (tests of the roll pass their own).
std::unique_ptr<LineSink> daily_sink(const std::string& dir, const std::string& file_name,
                                     std::time_t (*clock)() = nullptr);

}  // namespace tpark::cli
