// fuzz-max-len: 1048576
// libFuzzer target: every JSON body validator, each behind the one request
// body parser (http::parse_json_body) as its route uses it. The first byte
// picks the validator, the rest is the body; the max length is the JSON
// routes' body limit (ARW_HTTP_BODY_LIMIT, 1 MiB). Nothing may crash, and
// each verdict must be self-consistent. Validators: actions, leases, capsule
// teardown, governor hints and profile, config keys, and the training start
// body (POST /orchestrator/mini_agents/start_training).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "config/config_registry.h"
#include "config/governor.h"
#include "control/validation.h"
#include "http/json_body.h"
#include "training/start_request.h"

using tpark::Json;
namespace control = tpark::control;

namespace {

// POST /actions: the validator parses the body itself.
void action_body(std::string_view body) {
  const control::ActionBody checked = control::validate_action_body(body);
  if (!checked.malformed && checked.errors.empty()) {
    if (!control::valid_kind(checked.kind)) std::abort();
    if (!checked.input.is_object()) std::abort();
    if (checked.idem_key && !control::valid_idem_key(*checked.idem_key)) std::abort();
  }
  if (checked.malformed && !checked.errors.empty()) std::abort();
}

void lease_body(const Json& body) {
  const control::LeaseBody lease = control::validate_lease_body(body);
  if (!lease.errors.empty()) return;
  if (!control::valid_capability(lease.capability)) std::abort();
  if (lease.ttl_secs < 1 || lease.ttl_secs > 86400) std::abort();
  if (lease.budget && (*lease.budget < 1 || *lease.budget > 1000000)) std::abort();
}

void teardown_body(const Json& body) {
  const control::TeardownBody teardown = control::validate_teardown_body(body);
  if (teardown.errors.empty() && !teardown.all && !body.contains("ids")) std::abort();
}

// POST /admin/governor/hints (flat) and the governor.hints.set input.
void governor_hints(const Json& body) {
  const control::HintsCheck check = control::validate_hints(body, Json::object());
  if (check.errors.empty()) {
    const Json typed = control::typed_hints(body);
    control::hint_jumps(Json::object(), typed);
    control::full_hints(control::merge_hints(Json::object(), typed));
  }
}

// POST /admin/governor/profile {name|profile}.
void governor_profile(const Json& body) {
  for (const char* field : {"name", "profile"})
    if (auto it = body.find(field); it != body.end() && it->is_string())
      if (auto name = control::normalize_profile(it->get<std::string>()))
        if (*name != "balance" && *name != "performance" && *name != "power-saver") std::abort();
}

// context.set and preset overrides: each key of the input against the registry.
void config_input(const Json& body) {
  for (auto it = body.begin(); it != body.end(); ++it) {
    const control::KeySpec* key = control::find_key(it.key());
    if (!key || it.value().is_null()) continue;
    control::KeyParse parsed = control::parse_key_json(*key, it.value());
    if (const Json* value = std::get_if<Json>(&parsed)) control::canonical_text(*key, *value);
  }
}

// POST /orchestrator/mini_agents/start_training: knobs and their precedence.
// An accepted body has a non-empty goal and one of the four modes; a refused
// one names a field for every error (the empty path only for a body that is
// not an object: the root itself).
void start_training(const Json& body) {
  auto parsed = tpark::training::parse_start_request(body);
  if (const auto* request = std::get_if<tpark::training::StartRequest>(&parsed)) {
    if (request->goal.empty()) std::abort();
    const std::string& mode = request->mode;
    if (mode != "quick" && mode != "balanced" && mode != "deep" && mode != "verified") std::abort();
    if (request->since_id < 0) std::abort();
    request->meta.dump();
  } else {
    const auto& errors = std::get<std::vector<tpark::training::StartError>>(parsed);
    if (errors.empty()) std::abort();
    for (const auto& error : errors)
      if ((error.field.empty() && body.is_object()) || error.message.empty()) std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t selector = data[0];
  const std::string_view body(reinterpret_cast<const char*>(data + 1), size - 1);
  if (selector % 7 == 0) {
    action_body(body);
    return 0;
  }
  const tpark::http::ParsedBody parsed = tpark::http::parse_json_body(body);
  if (!parsed.document) {
    if (parsed.error_message.empty() || parsed.error_offset > body.size()) std::abort();
    return 0;
  }
  const Json& document = *parsed.document;
  // Every accepted document can be written back (the depth cap bounds the recursion).
  document.dump(-1, ' ', false, Json::error_handler_t::strict);
  if (selector % 7 == 6) {
    start_training(document);  // any JSON value: the route refuses non-objects itself
    return 0;
  }
  if (!document.is_object()) return 0;
  switch (selector % 7) {
    case 1:
      lease_body(document);
      break;
    case 2:
      teardown_body(document);
      break;
    case 3:
      governor_hints(document);
      break;
    case 4:
      governor_profile(document);
      break;
    default:
      config_input(document);
      break;
  }
  return 0;
}
