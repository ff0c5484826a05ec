// The state dir's lock: one host per state dir.
#pragma once

#include <filesystem>

namespace tpark {

// Holds an exclusive lock on <state_dir>/tpark.lock for the process's life, so
// a second host on the same state dir is refused. Throws std::runtime_error
// naming the holder's pid when the lock is taken.
class StateDirLock {
 public:
  explicit StateDirLock(const std::filesystem::path& dir);
  ~StateDirLock();
  StateDirLock(const StateDirLock&) = delete;
  StateDirLock& operator=(const StateDirLock&) = delete;

 private:
  std::filesystem::path path_;
  int fd_ = -1;
};

}  // namespace tpark
