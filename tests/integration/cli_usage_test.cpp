// The CLI's surface without a host: --help with an example on every
// command, --version, bash completion, and --output rotation sizes.
#include <catch2/catch.hpp>

#include <filesystem>
#include <functional>
#include <sstream>

#include "integration/cli_runner.h"
#include "integration/test_host.h"

using namespace tpark::test;
using tpark::Json;

namespace {

// The names listed under "Subcommands:" in a --help text.
std::vector<std::string> subcommands_in(const std::string& help) {
  std::vector<std::string> names;
  std::istringstream in(help);
  bool inside = false;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("Subcommands:", 0) == 0) {
      inside = true;
      continue;
    }
    if (!inside) continue;
    if (line.empty() || line[0] != ' ') break;
    std::istringstream words(line);
    std::string name;
    words >> name;
    names.push_back(name);
  }
  return names;
}

std::string complete(const std::vector<std::string>& words) {
  std::string script = "source '" + std::string(TPARK_SOURCE_DIR) +
                       "/cli/completion/tpark.bash'; COMP_WORDS=('" +
                       std::string(TPARK_CLI_BINARY) + "'";
  for (const auto& w : words) script += " '" + w + "'";
  script += "); COMP_CWORD=" + std::to_string(words.size()) +
            "; _tpark; printf '%s\\n' \"${COMPREPLY[@]}\"";
  TempDir dir;
  const std::string out = dir.file("out");
  const std::string command = "bash -c \"$(cat " + dir.file("script") + ")\" > " + out;
  std::ofstream(dir.file("script")) << script;
  REQUIRE(std::system(command.c_str()) == 0);
  return read_text_file(out);
}

}  // namespace

TEST_CASE("cli_every_command_help_runs_and_shows_an_example", "[integration][cli]") {
  int commands = 0;
  std::function<void(std::vector<std::string>)> visit = [&](std::vector<std::string> path) {
    std::vector<std::string> args = path;
    args.push_back("--help");
    CliRun run = run_cli(args);
    INFO("tpark " << (path.empty() ? "" : path.back()) << " --help: " << run.err);
    CHECK(run.exit_code == 0);
    CHECK(run.out.find("Example:\n  tpark") != std::string::npos);
    ++commands;
    for (const auto& name : subcommands_in(run.out)) {
      auto next = path;
      next.push_back(name);
      visit(next);
    }
  };
  visit({});
  CHECK(commands >= 33);  // the top level, 11 groups or commands and their subcommands
}

TEST_CASE("cli_version_prints_the_cli_and_sdk_versions", "[integration][cli]") {
  CliRun run = run_cli({"--version"});
  CHECK(run.exit_code == 0);
  CHECK(run.out.find("tpark 0.") != std::string::npos);
  CHECK(run.out.find("sdk 1.") != std::string::npos);
}

TEST_CASE("cli_bash_completion_completes_commands_and_flags", "[integration][cli]") {
  CHECK(complete({"jo"}) == "jobs\n");
  CHECK(complete({"jobs", "st"}) == "start\n");
  CHECK(complete({"context", "telemetry", "--output-r"}) == "--output-rotate\n");
  CHECK(complete({"logic-units", ""}).find("dry-run\n") != std::string::npos);
}

TEST_CASE("cli_output_rotate_keeps_one_rotated_file_at_the_size", "[integration][cli]") {
  TestHost host;
  std::string body;
  for (int i = 0; i < 40; ++i)
    body += "{\"kind\":\"context.coverage\",\"payload\":{\"reasons\":[\"slot_underfilled:s" +
            std::to_string(i) +
            "\"],\"summary\":{\"target_limit\":8,\"selected\":" + std::to_string(i % 8) + "}}}\n";
  REQUIRE(host.post("/events/ingest", body, {{"Content-Type", "application/x-ndjson"}}).status ==
          200);
  TempDir dir;
  const std::string file = dir.file("context.log");
  const auto args =
      cli_args(host.port(), {"context", "telemetry", "--output", file, "--output-rotate", "64K"});
  uint64_t line_bytes = 0;
  int runs = 0;
  while (!std::filesystem::exists(file + ".1") && runs < 500) {
    REQUIRE(run_cli(args, cli_env_with_token()).exit_code == 0);
    if (++runs == 1) line_bytes = std::filesystem::file_size(file);
  }
  REQUIRE(std::filesystem::exists(file + ".1"));
  const uint64_t rotated = std::filesystem::file_size(file + ".1");
  CHECK(rotated <= 65536);
  CHECK(rotated > 65536 - 2 * line_bytes);
  CHECK(std::filesystem::file_size(file) ==
        line_bytes);  // the new file has the line that did not fit
  // Keep going past a second rotation: still only FILE.1.
  for (int i = 0; i < runs; ++i) REQUIRE(run_cli(args, cli_env_with_token()).exit_code == 0);
  CHECK_FALSE(std::filesystem::exists(file + ".2"));
  CHECK(std::filesystem::file_size(file + ".1") <= 65536);
  std::istringstream lines(read_text_file(file + ".1"));
  for (std::string line; std::getline(lines, line);) CHECK(Json::parse(line).contains("context"));
}
