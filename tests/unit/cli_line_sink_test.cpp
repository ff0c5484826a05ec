// The CLI's line sinks: sizes with K/M, rotation to FILE.1 at the size, and
// the daily files of --output-dir rolling at midnight UTC.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "src/cli_error.h"
#include "src/line_sink.h"
#include "support/host_process.h"

using namespace tpark::cli;
namespace fs = std::filesystem;

namespace {

std::string contents(const fs::path& path) {
  std::ifstream in(path);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::time_t fake_now = 0;
std::time_t fake_clock() {
  return fake_now;
}

}  // namespace

TEST_CASE("cli_sizes_take_1024_based_k_and_m_suffixes", "[unit][cli]") {
  CHECK(parse_size("65536", "--x") == 65536);
  CHECK(parse_size("64K", "--x") == 65536);
  CHECK(parse_size("1M", "--x") == 1048576);
  CHECK(parse_size("3k", "--x") == 3072);
  for (const char* bad : {"", "K", "64KB", "-1", "1.5M", "64 K"}) {
    INFO(bad);
    try {
      parse_size(bad, "--output-rotate");
      FAIL("accepted");
    } catch (const CliError& e) {
      CHECK(e.exit_code() == kExitUsage);
      CHECK(std::string(e.what()).find("--output-rotate") != std::string::npos);
    }
  }
}

TEST_CASE("cli_file_sink_rotates_to_file_1_before_a_line_would_pass_the_size", "[unit][cli]") {
  tpark::test::TempDir dir;
  const std::string path = dir.file("out.log");
  auto sink = file_sink(path, 100);
  const std::string line(39, 'a');  // 40 bytes with its newline
  sink->write_line(line);
  sink->write_line(line);
  CHECK(fs::file_size(path) == 80);
  sink->write_line("b" + line.substr(1));  // 120 > 100: rotates first
  CHECK(fs::file_size(path + ".1") == 80);
  CHECK(contents(path) == "b" + line.substr(1) + "\n");
  sink->write_line(line);
  sink->write_line("c" + line.substr(1));  // rotates again, replacing FILE.1
  CHECK(contents(path + ".1").front() == 'b');
  CHECK_FALSE(fs::exists(path + ".2"));
  // Reopening appends to what is there.
  sink.reset();
  file_sink(path, 100)->write_line("d");
  CHECK(contents(path) == "c" + line.substr(1) + "\nd\n");
}

TEST_CASE("cli_daily_sink_rolls_to_the_next_date_directory_at_midnight_utc", "[unit][cli]") {
  tpark::test::TempDir dir;
  fake_now = 1796601599;  // 2026-12-06T23:59:59Z
  auto sink = daily_sink(dir.path().string(), "context.log", fake_clock);
  sink->write_line("late");
  fake_now += 1;  // 2026-12-07T00:00:00Z
  sink->write_line("early");
  sink->write_line("later");
  CHECK(contents(dir.path() / "2026-12-06" / "context.log") == "late\n");
  CHECK(contents(dir.path() / "2026-12-07" / "context.log") == "early\nlater\n");
}
