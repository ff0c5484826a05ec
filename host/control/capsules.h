// The policy capsule store (control.md 4.7): adoption (route or the
// X-ARW-Capsule header) with optional ed25519 verification, renewal, expiry
// with retention, teardown, and the GET body that the capsules section reads
// through the host API (telemetry.md 5). Rows live in SQLite; every change
// commits with its policy.capsule.* event.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "control/policy.h"
#include "control/sql.h"
#include "http/problem.h"
#include "util/json.h"

namespace tpark {
class Journal;
}

namespace tpark::control {

struct CapsuleOutcome {
  enum class Result { Adopted, Invalid, VerificationFailed };
  Result result = Result::Adopted;
  std::vector<http::FieldError> errors;  // Invalid
  std::string detail;                    // Invalid / VerificationFailed
  Json item;                             // Adopted: the stored item
};

// Field checks of a capsule document; empty means well-formed.
std::vector<http::FieldError> capsule_errors(const Json& capsule);
// The bytes an issuer signs: the capsule with signature:null as sorted,
// compact JSON.
std::string capsule_signing_bytes(const Json& capsule);

class CapsuleStore {
 public:
  CapsuleStore(Journal& journal, const ControlSettings& settings);
  ~CapsuleStore();
  CapsuleStore(const CapsuleStore&) = delete;
  CapsuleStore& operator=(const CapsuleStore&) = delete;

  // Starts the sweeper that reports expiries and drops expired capsules
  // after the retention.
  void start();
  void stop();

  CapsuleOutcome adopt(const Json& capsule, const std::string& corr_id);
  // The X-ARW-Capsule header value: raw JSON or base64 JSON.
  CapsuleOutcome adopt_header(const std::string& value, const std::string& corr_id);
  // {removed:[ids],dry_run}
  Json teardown(const std::vector<std::string>& ids, bool all, bool dry_run,
                const std::string& corr_id);
  // GET /state/policy/capsules: {items,count,generated_ms,generated}.
  Json list();
  // One sweep at `now_ms`: expiry events, retention. Returns when the next
  // sweep is due (0 = nothing scheduled).
  int64_t sweep(int64_t now_ms);

 private:
  void sweeper_loop();
  Journal& journal_;
  ControlSettings settings_;
  ControlReader reader_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  bool changed_ = false;
  std::thread sweeper_;
};

}  // namespace tpark::control
