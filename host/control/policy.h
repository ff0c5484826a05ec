// Policy (control.md 4.4) and the control plane's settings: which capability
// a kind needs, the staging mode (4.5), queue and worker limits (4.1, 4.2).
// Read once at boot; a bad posture, policy file, staging mode or trust store
// stops startup (exit 78) with a message naming the variable.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "util/json.h"

namespace tpark::control {

struct LeaseRule {
  std::string kind_prefix;
  std::string capability;
};

struct Policy {
  std::string posture = "standard";  // relaxed | standard | strict
  std::string source = "posture";    // "posture" or "file"
  bool allow_all = false;
  std::vector<LeaseRule> lease_rules;

  // The rule whose kind_prefix is the longest prefix of `kind` (ties: the
  // first listed); nullptr when no rule matches (no lease needed).
  const LeaseRule* match(std::string_view kind) const;
};

// The built-in rules of a posture; nullopt for an unknown posture.
std::optional<Policy> policy_for_posture(std::string_view posture);
// Parses an ARW_POLICY_FILE document; on error returns nullopt and sets *error.
std::optional<Policy> policy_from_json(const Json& document, std::string* error);

enum class StagingMode { Auto, Ask, Always };
std::string_view staging_mode_name(StagingMode mode);

// One trusted capsule issuer (ARW_TRUST_CAPSULES).
struct CapsuleIssuer {
  std::string id;
  std::string public_key;  // 32 raw ed25519 bytes
};

struct ControlSettings {
  Policy policy;
  StagingMode staging_mode = StagingMode::Auto;
  std::vector<std::string> staging_allow;  // exact kinds or "prefix.*"
  std::string staging_actor = "local";     // ARW_ACTION_STAGING_ACTOR
  std::string patch_safety = "warn";       // ARW_PATCH_SAFETY (reported by GET /state/policy)
  uint64_t queue_max = 1024;               // ARW_ACTIONS_QUEUE_MAX (0 = no limit)
  uint64_t workers = 2;                    // ARW_WORKERS (0 pauses execution)
  uint64_t retention_days = 30;            // ARW_ACTIONS_RETENTION_DAYS
  uint64_t action_wait_ms = 10000;         // ARW_ACTION_WAIT_MS
  // ARW_TRUST_CAPSULES: nullopt = no trust store (capsules accepted unverified).
  std::optional<std::vector<CapsuleIssuer>> capsule_issuers;
  uint64_t capsule_expired_retention_secs = 3600;  // ARW_CAPSULE_EXPIRED_RETENTION_SECS

  // Whether ARW_ACTION_STAGING_ALLOW lets `kind` run without staging in `ask` mode.
  bool staging_allows(std::string_view kind) const;
  // GET /state/policy.
  Json policy_state() const;
};

// Reads every setting above from the environment. A malformed security or
// selector variable returns the message naming it (exit 78).
std::variant<ControlSettings, std::string> load_control_settings();

}  // namespace tpark::control
