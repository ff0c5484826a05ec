// tpark-host's answering flags (--help, --list-routes, --check-presets) only
// answer: the answer alone on stdout, exit 0, and nothing started: no state
// directory, no lock, no journal, no plugin, even beside a running host on
// the same state directory.
#include <sys/wait.h>

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>

#include "integration/test_host.h"
#include "support/host_process.h"

using namespace tpark::test;

namespace {

struct Answer {
  int exit_code = -1;
  std::string out;
  std::string err;
};

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Runs tpark-host with `args` in `cwd`, stdout and stderr apart.
Answer run_host_command(const TempDir& dir, const std::string& cwd, const std::string& args) {
  const std::string out = dir.file("stdout.txt");
  const std::string err = dir.file("stderr.txt");
  const std::string command = "cd '" + cwd +
                              "' && env -i PATH=/usr/bin:/bin TPARK_BUILTIN_PLUGIN_DIR='" +
                              std::string(TPARK_BUILTIN_PLUGIN_DIR) + "' '" + TPARK_HOST_BINARY +
                              "' " + args + " >'" + out + "' 2>'" + err + "'";
  const int status = std::system(command.c_str());
  Answer answer;
  answer.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  answer.out = slurp(out);
  answer.err = slurp(err);
  return answer;
}

}  // namespace

TEST_CASE("help_prints_the_flags_and_variables_on_stdout_and_exits_0", "[integration][cli]") {
  TempDir dir;
  Answer help = run_host_command(dir, dir.path().string(), "--help");
  CHECK(help.exit_code == 0);
  CHECK_THAT(help.out, Catch::Contains("--list-routes") && Catch::Contains("ARW_ADMIN_TOKEN") &&
                           Catch::Contains("docs/config.md"));
  CHECK(help.err.empty());
  CHECK_FALSE(std::filesystem::exists(dir.path() / "state"));
}

TEST_CASE("an_unknown_flag_exits_2_naming_it_with_the_usage", "[integration][cli]") {
  TempDir dir;
  Answer bad = run_host_command(dir, dir.path().string(), "--lisen 127.0.0.1:0");
  CHECK(bad.exit_code == 2);
  CHECK_THAT(bad.err, Catch::Contains("--lisen") && Catch::Contains("--listen"));
  CHECK(bad.out.empty());
}

TEST_CASE("list_routes_only_answers_beside_a_running_host_on_its_state_dir", "[integration][cli]") {
  TestHost host;  // holds the lock on its state directory
  TempDir dir;
  const std::string state = host.state_dir();
  Answer routes =
      run_host_command(dir, dir.path().string(), "--list-routes --state-dir '" + state + "'");
  INFO(routes.err);
  CHECK(routes.exit_code == 0);
  static const std::regex route_line(R"(^[A-Z]+ /\S*( json)?$)");
  std::istringstream lines(routes.out);
  int count = 0;
  for (std::string line; std::getline(lines, line); ++count)
    CHECK(std::regex_match(line, route_line));
  CHECK(count > 20);
  CHECK_THAT(routes.out, Catch::Contains("POST /events/ingest"));
  // Nothing started: no plugin loaded, no state dir in the working directory.
  CHECK_THAT(routes.err, !Catch::Contains("plugin"));
  CHECK_FALSE(std::filesystem::exists(dir.path() / "state"));
  CHECK(host.get("/healthz").status == 200);
}

TEST_CASE("list_routes_and_check_presets_create_no_state_dir", "[integration][cli]") {
  TempDir dir;
  const std::string state = dir.file("never-made");
  for (const char* flag : {"--list-routes", "--check-presets"}) {
    Answer answer = run_host_command(dir, dir.path().string(),
                                     std::string(flag) + " --state-dir '" + state + "'");
    INFO(flag << "\n" << answer.err);
    CHECK(answer.exit_code == 0);
    CHECK_FALSE(std::filesystem::exists(state));
    CHECK_FALSE(std::filesystem::exists(dir.path() / "state"));
  }
}

TEST_CASE("check_presets_answers_on_stderr_beside_a_running_host", "[integration][cli]") {
  TestHost host;
  TempDir dir;
  Answer presets = run_host_command(dir, dir.path().string(),
                                    "--check-presets --state-dir '" + host.state_dir() + "'");
  CHECK(presets.exit_code == 0);
  CHECK(presets.out.empty());
  CHECK_THAT(presets.err, Catch::Contains("presets valid, 0 errors"));
}
