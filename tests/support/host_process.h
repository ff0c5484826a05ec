// Runs the real tpark-host binary for integration tests, and a temporary
// directory that cleans up after itself.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace tpark::test {

// mkdtemp under /tmp; removed with its contents on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  // path() / name, as a string.
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

using EnvList = std::vector<std::pair<std::string, std::string>>;

// The host as a child process. Its environment is empty except PATH, the
// sanitizer *_OPTIONS variables and whatever the test passes. stdout and
// stderr go, interleaved, to `log_path` and are kept in memory for log().
class HostProcess {
 public:
  struct Options {
    std::vector<std::string> args;  // after the program name
    EnvList env;
    std::string log_path;           // required: usually TempDir::file("host.log")
    std::string binary = TPARK_HOST_BINARY;
    // Wait for "listening on <addr>:<port>" in the constructor. Tests of
    // startup failures set this false and use wait_exit().
    bool wait_for_listening = true;
    std::chrono::milliseconds start_timeout{20000};
  };

  // Starts the process; throws std::runtime_error (with the log so far) if it
  // cannot start or, when waiting, if it exits or times out before listening.
  explicit HostProcess(Options options);
  ~HostProcess();  // SIGKILL if still running
  HostProcess(const HostProcess&) = delete;
  HostProcess& operator=(const HostProcess&) = delete;

  // Convenience: the usual flags for a host on 127.0.0.1 port 0.
  static std::vector<std::string> standard_args(const std::string& state_dir,
                                                const std::string& config_file,
                                                const std::string& plugin_dir);

  // Waits until the log shows the listening line; false on exit or timeout.
  bool wait_listening(std::chrono::milliseconds timeout);
  uint16_t port() const { return port_; }
  pid_t pid() const { return pid_; }
  std::string log() const;
  // Waits up to `timeout` for `text` to appear in the log.
  bool wait_for_log(const std::string& text, std::chrono::milliseconds timeout);

  bool running();
  // SIGTERM, then waits up to `timeout` for the exit; returns the exit code
  // (128 + signal if killed by one). If the host does not exit in time it
  // gets SIGKILL and the result is nullopt.
  std::optional<int> stop(std::chrono::milliseconds timeout = std::chrono::milliseconds(20000));
  // SIGKILL and reap; the exit code is then 128 + 9.
  void kill9();
  // Sends any signal (e.g. SIGHUP) without waiting.
  void signal(int signo);
  // Waits for the process to exit on its own; nullopt if still running after `timeout`.
  std::optional<int> wait_exit(std::chrono::milliseconds timeout);
  // The exit code once the process has been reaped.
  std::optional<int> exit_code() const { return exit_code_; }

 private:
  void reader_loop(int fd);
  std::optional<int> wait_reaped(std::chrono::milliseconds timeout);
  void finish_reader();
  bool reap(bool block);

  Options options_;
  pid_t pid_ = -1;
  uint16_t port_ = 0;
  std::optional<int> exit_code_;
  int pidfd_ = -1;

  mutable std::mutex log_mutex_;
  std::condition_variable log_cv_;
  std::string log_;
  bool output_closed_ = false;
  std::thread reader_;
};

}  // namespace tpark::test
