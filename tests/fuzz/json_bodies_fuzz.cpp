// fuzz-max-len: 1048576
// libFuzzer target: every JSON body validator, each behind the one request
// body parser (http::parse_json_body) as its route uses it. The first byte
// picks the validator, the rest is the body; the max length is the JSON
// routes' body limit (ARW_HTTP_BODY_LIMIT, 1 MiB). Nothing may crash, and
// each verdict must be self-consistent.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "config/config_registry.h"
#include "config/governor.h"
#include "control/validation.h"
#include "http/json_body.h"

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

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t selector = data[0];
  const std::string_view body(reinterpret_cast<const char*>(data + 1), size - 1);
  if (selector % 6 == 0) {
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
  if (!document.is_object()) return 0;
  switch (selector % 6) {
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
