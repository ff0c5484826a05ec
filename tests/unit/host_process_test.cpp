// The integration-test launcher, checked against /bin/sh standing in for the
// host so it does not depend on the host binary.
#include <catch2/catch.hpp>

#include <signal.h>

#include <fstream>
#include <sstream>

#include "support/host_process.h"

using namespace std::chrono_literals;
using tpark::test::HostProcess;
using tpark::test::TempDir;

namespace {

HostProcess::Options shell(const TempDir& dir, const std::string& script, bool wait = true) {
  HostProcess::Options o;
  o.binary = "/bin/sh";
  o.args = {"-c", script};
  o.log_path = dir.file("host.log");
  o.wait_for_listening = wait;
  o.start_timeout = 5000ms;
  return o;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

TEST_CASE("host_process_parses_listening_port_and_stops_with_sigterm", "[support]") {
  TempDir dir;
  HostProcess host(shell(dir, "echo starting >&2; echo 'listening on 127.0.0.1:45678'; exec sleep 30"));
  CHECK(host.port() == 45678);
  CHECK(host.pid() > 0);
  CHECK(host.running());
  CHECK(host.wait_for_log("starting", 5s));
  // SIGTERM ends `sleep`: exit code 128 + 15.
  CHECK(host.stop(5s) == 143);
  CHECK(host.exit_code() == 143);
  CHECK_FALSE(host.running());
  const std::string log = read_file(dir.file("host.log"));
  CHECK(log.find("starting") != std::string::npos);
  CHECK(log.find("listening on 127.0.0.1:45678") != std::string::npos);
}

TEST_CASE("host_process_environment_is_clean_plus_given", "[support]") {
  TempDir dir;
  auto options = shell(dir, "echo \"home=[$HOME] given=[$TPARK_GIVEN] path=[${PATH:+set}]\"; exit 0", false);
  options.env = {{"TPARK_GIVEN", "yes"}};
  HostProcess host(options);
  CHECK(host.wait_exit(5s) == 0);
  CHECK(host.wait_for_log("given", 5s));
  CHECK(host.log().find("home=[] given=[yes] path=[set]") != std::string::npos);
}

TEST_CASE("host_process_reports_startup_exit_code", "[support]") {
  TempDir dir;
  HostProcess host(shell(dir, "echo 'refusing to bind 0.0.0.0:8091' >&2; exit 78", false));
  CHECK(host.wait_exit(5s) == 78);
  CHECK(host.wait_for_log("refusing to bind", 5s));
}

TEST_CASE("host_process_throws_when_the_host_exits_before_listening", "[support]") {
  TempDir dir;
  CHECK_THROWS_WITH(HostProcess(shell(dir, "echo broken config >&2; exit 78")),
                    Catch::Contains("exited") && Catch::Contains("broken config"));
}

TEST_CASE("host_process_kill9_and_temp_dir_cleanup", "[support]") {
  std::filesystem::path kept;
  {
    TempDir dir;
    kept = dir.path();
    CHECK(std::filesystem::is_directory(kept));
    std::ofstream(dir.file("state.db")) << "x";
    HostProcess host(shell(dir, "echo 'listening on [::1]:8091'; exec sleep 30"));
    CHECK(host.port() == 8091);
    host.kill9();
    CHECK(host.exit_code() == 128 + SIGKILL);
  }
  CHECK_FALSE(std::filesystem::exists(kept));
}
