#include "app/state_dir_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <stdexcept>
#include <string>

#include <spdlog/spdlog.h>

#include "util/text.h"

namespace tpark {

StateDirLock::StateDirLock(const std::filesystem::path& dir) {
  path_ = dir / "tpark.lock";
  fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) throw std::runtime_error("cannot open " + path_.string());
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    char pid[32] = {0};
    ssize_t n = ::pread(fd_, pid, sizeof pid - 1, 0);
    const std::string owner(n > 0 ? trim(std::string_view(pid, static_cast<size_t>(n)))
                                  : "unknown");
    ::close(fd_);
    fd_ = -1;
    throw std::runtime_error("state dir " + dir.string() +
                             " is in use by another tpark-host (pid " + owner + ")");
  }
  std::string me = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd_, 0) == 0 && ::pwrite(fd_, me.data(), me.size(), 0) < 0)
    spdlog::warn("cannot record pid in {}", path_.string());
}

StateDirLock::~StateDirLock() {
  if (fd_ >= 0) ::close(fd_);
}

}  // namespace tpark
