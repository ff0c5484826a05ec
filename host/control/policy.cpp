#include "control/policy.h"

#include <sodium.h>

#include <fstream>
#include <sstream>
#include <thread>

#include "config/settings.h"
#include "control/validation.h"
#include "util/text.h"

namespace tpark::control {

namespace {

const std::vector<LeaseRule> kStandardRules = {
    {"net.http.", "net:http"},
    {"net.tcp.", "net:tcp"},
    {"fs.", "fs"},
    {"context.rehydrate", "context:rehydrate:file"},
    {"context.", "context:tune"},
    {"preset.", "context:tune"},
    {"governor.", "governor:write"},
    {"logic_unit.apply", "logic:apply"},
    {"logic_unit.revert", "logic:apply"},
    {"models.download", "models:download"},
    {"tools.browser.", "browser"},
    {"app.", "app"},
    {"shell.", "shell"},
    {"runtime.", "runtime:manage"},
};

const std::vector<LeaseRule> kStrictRules = {
    {"net.", "net"},
    {"fs.", "fs"},
    {"context.rehydrate", "context"},
    {"context.", "context:tune"},
    {"preset.", "context:tune"},
    {"governor.", "governor:write"},
    {"logic_unit.", "logic:apply"},
    {"models.", "models"},
    {"tools.", "tools"},
    {"app.", "app"},
    {"shell.", "shell"},
    {"system.", "system"},
    {"runtime.", "runtime:manage"},
};

std::string read_file(const std::string& path, bool* ok) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    *ok = false;
    return {};
  }
  std::ostringstream text;
  text << in.rdbuf();
  *ok = true;
  return text.str();
}

std::variant<std::vector<CapsuleIssuer>, std::string> load_trust_store(const std::string& path) {
  const std::string prefix = "ARW_TRUST_CAPSULES=" + path + ": ";
  bool ok = false;
  std::string text = read_file(path, &ok);
  if (!ok) return prefix + "cannot read the file";
  Json document = Json::parse(text, nullptr, false);
  if (document.is_discarded() || !document.is_object() || !document.contains("issuers") ||
      !document["issuers"].is_array())
    return prefix + "expected a JSON object {issuers:[{id,alg:\"ed25519\",key_b64}]}";
  std::vector<CapsuleIssuer> issuers;
  for (const auto& entry : document["issuers"]) {
    if (!entry.is_object() || !entry.contains("id") || !entry["id"].is_string() ||
        !entry.contains("key_b64") || !entry["key_b64"].is_string())
      return prefix + "every issuer needs string id and key_b64";
    if (entry.contains("alg") && entry["alg"] != "ed25519")
      return prefix + "issuer " + entry["id"].get<std::string>() + ": alg must be ed25519";
    std::string key = decode_base64(entry["key_b64"].get<std::string>());
    if (key.size() != crypto_sign_PUBLICKEYBYTES)
      return prefix + "issuer " + entry["id"].get<std::string>() +
             ": key_b64 is not a base64 ed25519 public key";
    issuers.push_back({entry["id"].get<std::string>(), std::move(key)});
  }
  return issuers;
}

}  // namespace

const LeaseRule* Policy::match(std::string_view kind) const {
  const LeaseRule* best = nullptr;
  for (const auto& rule : lease_rules) {
    if (kind.substr(0, rule.kind_prefix.size()) != rule.kind_prefix) continue;
    if (!best || rule.kind_prefix.size() > best->kind_prefix.size()) best = &rule;
  }
  return best;
}

std::optional<Policy> policy_for_posture(std::string_view posture) {
  Policy policy;
  policy.posture = std::string(posture);
  if (posture == "relaxed") {
    policy.allow_all = true;
  } else if (posture == "standard") {
    policy.lease_rules = kStandardRules;
  } else if (posture == "strict") {
    policy.lease_rules = kStrictRules;
  } else {
    return std::nullopt;
  }
  return policy;
}

std::optional<Policy> policy_from_json(const Json& document, std::string* error) {
  if (!document.is_object()) {
    *error = "expected a JSON object {allow_all?,lease_rules:[{kind_prefix,capability}]}";
    return std::nullopt;
  }
  Policy policy;
  policy.source = "file";
  if (auto it = document.find("allow_all"); it != document.end()) {
    if (!it->is_boolean()) {
      *error = "allow_all must be a boolean";
      return std::nullopt;
    }
    policy.allow_all = it->get<bool>();
  }
  auto rules = document.find("lease_rules");
  if (rules == document.end() || !rules->is_array()) {
    *error = "lease_rules must be an array";
    return std::nullopt;
  }
  for (size_t i = 0; i < rules->size(); ++i) {
    const Json& rule = (*rules)[i];
    const std::string at = "lease_rules." + std::to_string(i);
    if (!rule.is_object() || !rule.contains("kind_prefix") || !rule["kind_prefix"].is_string() ||
        !rule.contains("capability") || !rule["capability"].is_string()) {
      *error = at + ": expected {kind_prefix,capability} strings";
      return std::nullopt;
    }
    std::string capability = rule["capability"].get<std::string>();
    if (!valid_capability(capability)) {
      *error = at + ".capability: expected [a-z0-9_.:-]{1,64}";
      return std::nullopt;
    }
    policy.lease_rules.push_back({rule["kind_prefix"].get<std::string>(), std::move(capability)});
  }
  return policy;
}

std::string_view staging_mode_name(StagingMode mode) {
  switch (mode) {
    case StagingMode::Auto:
      return "auto";
    case StagingMode::Ask:
      return "ask";
    case StagingMode::Always:
      return "always";
  }
  return "auto";
}

bool ControlSettings::staging_allows(std::string_view kind) const {
  for (const auto& entry : staging_allow) {
    if (entry.size() >= 2 && entry.compare(entry.size() - 2, 2, ".*") == 0) {
      std::string_view prefix(entry.data(), entry.size() - 1);  // keeps the dot
      if (kind.substr(0, prefix.size()) == prefix) return true;
    } else if (entry == kind) {
      return true;
    }
  }
  return false;
}

Json ControlSettings::policy_state() const {
  Json rules = Json::array();
  for (const auto& rule : policy.lease_rules)
    rules.push_back({{"kind_prefix", rule.kind_prefix}, {"capability", rule.capability}});
  Json allow = Json::array();
  for (const auto& entry : staging_allow) allow.push_back(entry);
  return {{"posture", policy.posture},
          {"source", policy.source},
          {"allow_all", policy.allow_all},
          {"lease_rules", std::move(rules)},
          {"staging", {{"mode", staging_mode_name(staging_mode)}, {"allow", std::move(allow)}}},
          {"patch_safety", patch_safety}};
}

std::variant<ControlSettings, std::string> load_control_settings() {
  ControlSettings s;
  const std::string posture = env_string("ARW_SECURITY_POSTURE").value_or("standard");
  auto policy = policy_for_posture(posture);
  if (!policy)
    return "ARW_SECURITY_POSTURE='" + posture + "' is not one of relaxed, standard, strict";
  s.policy = std::move(*policy);
  if (auto path = env_string("ARW_POLICY_FILE")) {
    bool ok = false;
    std::string text = read_file(*path, &ok);
    if (!ok) return "ARW_POLICY_FILE=" + *path + ": cannot read the file";
    Json document = Json::parse(text, nullptr, false);
    if (document.is_discarded()) return "ARW_POLICY_FILE=" + *path + ": not valid JSON";
    std::string error;
    auto from_file = policy_from_json(document, &error);
    if (!from_file) return "ARW_POLICY_FILE=" + *path + ": " + error;
    from_file->posture = posture;
    s.policy = std::move(*from_file);
  }

  const std::string mode = env_string("ARW_ACTION_STAGING_MODE").value_or("auto");
  if (mode == "auto")
    s.staging_mode = StagingMode::Auto;
  else if (mode == "ask")
    s.staging_mode = StagingMode::Ask;
  else if (mode == "always")
    s.staging_mode = StagingMode::Always;
  else
    return "ARW_ACTION_STAGING_MODE='" + mode + "' is not one of auto, ask, always";
  if (auto allow = env_string("ARW_ACTION_STAGING_ALLOW")) {
    std::stringstream list(*allow);
    std::string entry;
    while (std::getline(list, entry, ',')) {
      entry = std::string(trim(entry));
      if (!entry.empty()) s.staging_allow.push_back(entry);
    }
  }
  if (auto actor = env_string("ARW_ACTION_STAGING_ACTOR")) s.staging_actor = *actor;
  std::string safety = env_string("ARW_PATCH_SAFETY").value_or("warn");
  if (safety == "1" || safety == "true") safety = "enforce";  // control.md 6.4 aliases
  if (safety != "off" && safety != "warn" && safety != "enforce")
    return "ARW_PATCH_SAFETY='" + safety + "' is not one of off, warn, enforce (1, true)";
  s.patch_safety = safety;

  s.queue_max = env_u64("ARW_ACTIONS_QUEUE_MAX", 1024, 0, 100000000);
  const uint64_t cores = std::max(1u, std::thread::hardware_concurrency());
  s.workers = env_u64("ARW_WORKERS", std::min<uint64_t>(2 * cores, 32), 0, 32);
  s.retention_days = env_u64("ARW_ACTIONS_RETENTION_DAYS", 30, 1, 36500);
  s.action_wait_ms = env_u64("ARW_ACTION_WAIT_MS", 10000, 0, 600000);
  s.capsule_expired_retention_secs =
      env_u64("ARW_CAPSULE_EXPIRED_RETENTION_SECS", 3600, 0, 365ull * 86400);
  if (auto path = env_string("ARW_TRUST_CAPSULES")) {
    auto loaded = load_trust_store(*path);
    if (auto* error = std::get_if<std::string>(&loaded)) return *error;
    s.capsule_issuers = std::move(std::get<std::vector<CapsuleIssuer>>(loaded));
  }
  return s;
}

}  // namespace tpark::control
