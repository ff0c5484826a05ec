#include "support/host_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <map>
#include <stdexcept>

namespace tpark::test {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

TempDir::TempDir() {
  char pattern[] = "/tmp/tpark-test-XXXXXX";
  if (!mkdtemp(pattern)) throw std::runtime_error(std::string("mkdtemp failed: ") + std::strerror(errno));
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

namespace {

// Parses the port of the first "listening on <addr>:<port>" line.
std::optional<uint16_t> listening_port(const std::string& log) {
  static constexpr std::string_view kMarker = "listening on ";
  const size_t at = log.find(kMarker);
  if (at == std::string::npos) return std::nullopt;
  const size_t start = at + kMarker.size();
  size_t end = start;
  while (end < log.size() && log[end] != ' ' && log[end] != '\n' && log[end] != '\r' &&
         log[end] != '\t')
    ++end;
  if (end == log.size()) return std::nullopt;  // the line is not complete yet
  const std::string_view address(log.data() + start, end - start);
  const size_t colon = address.rfind(':');
  if (colon == std::string_view::npos || colon + 1 == address.size()) return std::nullopt;
  unsigned long port = 0;
  for (char c : address.substr(colon + 1)) {
    if (c < '0' || c > '9') return std::nullopt;
    port = port * 10 + static_cast<unsigned long>(c - '0');
    if (port > 65535) return std::nullopt;
  }
  if (port == 0) return std::nullopt;
  return static_cast<uint16_t>(port);
}

int decode_status(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

}  // namespace

std::vector<std::string> HostProcess::standard_args(const std::string& state_dir,
                                                    const std::string& config_file,
                                                    const std::string& plugin_dir) {
  return {"--listen", "127.0.0.1:0", "--state-dir", state_dir, "--config", config_file,
          "--plugin-dir", plugin_dir};
}

HostProcess::HostProcess(Options options) : options_(std::move(options)) {
  if (options_.log_path.empty()) throw std::invalid_argument("HostProcess needs a log_path");

  // Everything the child needs is built before fork: only async-signal-safe
  // calls happen between fork and exec.
  std::map<std::string, std::string> env;
  for (const char* kept : {"PATH", "ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS", "TSAN_OPTIONS"})
    if (const char* value = std::getenv(kept)) env[kept] = value;
  for (const auto& [name, value] : options_.env) env[name] = value;
  std::vector<std::string> env_strings;
  for (const auto& [name, value] : env) env_strings.push_back(name + "=" + value);
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);

  std::vector<std::string> arg_strings{options_.binary};
  arg_strings.insert(arg_strings.end(), options_.args.begin(), options_.args.end());
  std::vector<char*> argv;
  for (auto& s : arg_strings) argv.push_back(s.data());
  argv.push_back(nullptr);

  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0)
    throw std::runtime_error(std::string("pipe2 failed: ") + std::strerror(errno));

  pid_ = fork();
  if (pid_ < 0) {
    close(pipe_fds[0]);
    close(pipe_fds[1]);
    throw std::runtime_error(std::string("fork failed: ") + std::strerror(errno));
  }
  if (pid_ == 0) {
    setpgid(0, 0);
    dup2(pipe_fds[1], STDOUT_FILENO);
    dup2(pipe_fds[1], STDERR_FILENO);
    const int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) dup2(devnull, STDIN_FILENO);
    execve(argv[0], argv.data(), envp.data());
    static constexpr char kMessage[] = "exec of the host binary failed\n";
    [[maybe_unused]] const auto written = write(STDERR_FILENO, kMessage, sizeof kMessage - 1);
    _exit(127);
  }
  close(pipe_fds[1]);
  pidfd_ = static_cast<int>(syscall(SYS_pidfd_open, pid_, 0));
  reader_ = std::thread([this, fd = pipe_fds[0]] { reader_loop(fd); });

  if (options_.wait_for_listening && !wait_listening(options_.start_timeout)) {
    bool output_closed;
    {
      std::lock_guard lock(log_mutex_);
      output_closed = output_closed_;
    }
    // Closed output usually means an exit that waitpid may not report yet.
    const bool exited = output_closed ? wait_exit(milliseconds(2000)).has_value() : !running();
    std::string text = log();
    kill9();
    // The destructor does not run for a constructor that throws.
    finish_reader();
    if (pidfd_ >= 0) close(pidfd_);
    throw std::runtime_error(std::string("host ") + (exited ? "exited" : "did not report listening") +
                             " (" + options_.binary + "); log:\n" + text);
  }
}

HostProcess::~HostProcess() {
  if (pid_ > 0 && !exit_code_) {
    ::kill(-pid_, SIGKILL);  // its process group: anything it started goes too
    ::kill(pid_, SIGKILL);
    reap(true);
  }
  finish_reader();
  if (pidfd_ >= 0) close(pidfd_);
}

void HostProcess::finish_reader() {
  {
    std::lock_guard lock(log_mutex_);
    output_closed_ = true;
  }
  if (reader_.joinable()) reader_.join();
}

void HostProcess::reader_loop(int fd) {
  const int log_fd = open(options_.log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  char chunk[8192];
  for (;;) {
    {
      // The destructor sets this once the child is reaped; a grandchild still
      // holding the pipe must not keep the test alive.
      std::lock_guard lock(log_mutex_);
      if (output_closed_ && exit_code_) break;
    }
    pollfd p{fd, POLLIN, 0};
    const int ready = poll(&p, 1, 100);
    if (ready < 0 && errno != EINTR) break;
    if (ready <= 0) continue;
    const ssize_t n = read(fd, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    if (log_fd >= 0) {
      [[maybe_unused]] const auto written = write(log_fd, chunk, static_cast<size_t>(n));
    }
    std::lock_guard lock(log_mutex_);
    log_.append(chunk, static_cast<size_t>(n));
    if (!port_)
      if (auto port = listening_port(log_)) port_ = *port;
    log_cv_.notify_all();
  }
  if (log_fd >= 0) close(log_fd);
  close(fd);
  std::lock_guard lock(log_mutex_);
  output_closed_ = true;
  log_cv_.notify_all();
}

bool HostProcess::wait_listening(milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  std::unique_lock lock(log_mutex_);
  while (!port_) {
    if (output_closed_) return false;
    // Wake regularly to notice an exit whose output pipe a grandchild still holds.
    if (log_cv_.wait_until(lock, std::min(deadline, Clock::now() + milliseconds(100)),
                           [&] { return port_ != 0 || output_closed_; }))
      continue;
    if (Clock::now() >= deadline) return false;
    lock.unlock();
    const bool alive = running();
    lock.lock();
    if (!alive) return port_ != 0;
  }
  return true;
}

bool HostProcess::wait_for_log(const std::string& text, milliseconds timeout) {
  std::unique_lock lock(log_mutex_);
  return log_cv_.wait_for(lock, timeout,
                          [&] { return log_.find(text) != std::string::npos || output_closed_; }) &&
         log_.find(text) != std::string::npos;
}

std::string HostProcess::log() const {
  std::lock_guard lock(log_mutex_);
  return log_;
}

bool HostProcess::reap(bool block) {
  if (exit_code_) return true;
  int status = 0;
  pid_t result;
  do {
    result = waitpid(pid_, &status, block ? 0 : WNOHANG);
  } while (result < 0 && errno == EINTR);
  if (result == pid_) {
    std::lock_guard lock(log_mutex_);
    exit_code_ = decode_status(status);
    return true;
  }
  return false;
}

bool HostProcess::running() { return pid_ > 0 && !reap(false); }

std::optional<int> HostProcess::wait_exit(milliseconds timeout) {
  auto exited = wait_reaped(timeout);
  if (exited) {
    // The child is gone; its last words may still be in the pipe.
    std::unique_lock lock(log_mutex_);
    log_cv_.wait_for(lock, milliseconds(2000), [&] { return output_closed_; });
  }
  return exited;
}

std::optional<int> HostProcess::wait_reaped(milliseconds timeout) {
  if (reap(false)) return exit_code_;
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    const auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
    if (left <= milliseconds::zero()) return std::nullopt;
    if (pidfd_ >= 0) {
      pollfd p{pidfd_, POLLIN, 0};
      poll(&p, 1, static_cast<int>(left.count()));
    } else {
      // No pidfd (old kernel): check a few times per 10 ms slice.
      std::this_thread::sleep_for(std::min(left, milliseconds(10)));
    }
    if (reap(false)) return exit_code_;
  }
}

std::optional<int> HostProcess::stop(milliseconds timeout) {
  if (exit_code_) return exit_code_;
  ::kill(pid_, SIGTERM);
  if (auto code = wait_exit(timeout)) return code;
  kill9();
  return std::nullopt;
}

void HostProcess::kill9() {
  if (pid_ <= 0 || exit_code_) return;
  ::kill(pid_, SIGKILL);
  reap(true);
}

void HostProcess::signal(int signo) {
  if (pid_ > 0 && !exit_code_) ::kill(pid_, signo);
}

}  // namespace tpark::test
