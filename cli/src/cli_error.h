// Exit codes of `tpark` and the one error type commands throw. main() prints
// the message on stderr and exits with the code.
#pragma once

#include <stdexcept>
#include <string>

namespace tpark::cli {

// 0 success; 1 request or server error (403, 409, 429, 5xx, unreachable,
// a followed job failed or was cancelled); 2 usage error, including local
// validation, before any request; 3 unauthorized (401).
enum ExitCode : int { kExitOk = 0, kExitFailure = 1, kExitUsage = 2, kExitUnauthorized = 3 };

class CliError : public std::runtime_error {
 public:
  CliError(int exit_code, const std::string& message)
      : std::runtime_error(message), exit_code_(exit_code) {}
  int exit_code() const { return exit_code_; }

 private:
  int exit_code_;
};

}  // namespace tpark::cli
