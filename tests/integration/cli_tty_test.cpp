// `tpark jobs start --follow` on a real terminal: the test runs it inside a
// tmux pane and reads the screen (capture-pane): the bar and the stage name
// are drawn, in colour unless NO_COLOR is set.
#include <unistd.h>

#include <catch2/catch.hpp>

#include "integration/cli_runner.h"
#include "integration/test_host.h"

using namespace tpark::test;
using namespace std::chrono_literals;

namespace {

std::string shell_output(const std::string& command) {
  TempDir dir;
  const std::string out = dir.file("out");
  if (std::system((command + " > " + out + " 2>/dev/null").c_str()) != 0) return {};
  return read_text_file(out);
}

// One tmux server on its own socket for the test, killed at the end.
struct TmuxPane {
  std::string socket = "tpark-cli-test-" + std::to_string(getpid());
  explicit TmuxPane(const std::string& command) {
    // tmux runs the command with sh -c: the exit code shows on the screen, and the pane stays.
    const std::string start = "tmux -L " + socket + " new-session -d -x 120 -y 20 -s cli '" +
                              command + "; echo EXIT=$?; sleep 600'";
    REQUIRE(std::system(start.c_str()) == 0);
  }
  ~TmuxPane() { (void)std::system(("tmux -L " + socket + " kill-server 2>/dev/null").c_str()); }
  // The screen with its escape sequences (-e).
  std::string screen() { return shell_output("tmux -L " + socket + " capture-pane -e -p -t cli"); }
  // Waits until the screen contains `text`; returns the screen.
  std::string wait_for(const std::string& text) {
    const auto deadline = std::chrono::steady_clock::now() + 60s;
    std::string shown;
    while (std::chrono::steady_clock::now() < deadline) {
      shown = screen();
      if (shown.find(text) != std::string::npos) return shown;
      std::this_thread::sleep_for(50ms);  // polling the terminal's screen
    }
    FAIL("the screen never showed '" << text << "':\n" << shown);
    return shown;
  }
};

std::string follow_command(uint16_t port, const std::string& extra_env) {
  return "env " + extra_env + " ARW_ADMIN_TOKEN=" + std::string(kToken) + " " + TPARK_CLI_BINARY +
         " --base http://127.0.0.1:" + std::to_string(port) + " jobs start tty-goal --follow";
}

}  // namespace

TEST_CASE("cli_jobs_follow_draws_a_progress_bar_with_the_stage_on_a_terminal",
          "[integration][cli][tty]") {
  TestHostOptions options;
  options.env = {{"ARW_TRAINING_STAGE_DELAY_MS", "700"}};
  TestHost host(options);
  SECTION("in colour") {
    TmuxPane pane(follow_command(host.port(), "-u NO_COLOR"));
    const std::string running = pane.wait_for("analyse");
    CHECK(running.find("[") != std::string::npos);
    CHECK(running.find("#") != std::string::npos);
    CHECK(running.find("%") != std::string::npos);
    CHECK(running.find("\033[32m") != std::string::npos);  // the bar is green
    const std::string done = pane.wait_for("EXIT=");
    CHECK(done.find("100%") != std::string::npos);
    CHECK(done.find("suggested logic unit: lu-") != std::string::npos);
    CHECK(done.find("EXIT=0") != std::string::npos);
  }
  SECTION("with NO_COLOR") {
    TmuxPane pane(follow_command(host.port(), "NO_COLOR=1"));
    const std::string running = pane.wait_for("analyse");
    CHECK(running.find("#") != std::string::npos);
    const std::string done = pane.wait_for("EXIT=");
    CHECK(done.find("100%") != std::string::npos);
    CHECK(done.find("\033[3") == std::string::npos);  // no colour escape codes
    CHECK(done.find("\033[1m") == std::string::npos);
    CHECK(done.find("EXIT=0") != std::string::npos);
  }
}
