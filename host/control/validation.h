// Pure validation for control-plane request bodies (control.md 1.3 steps 5-6,
// 4.2 step 1, 4.3): no state, no I/O, so a fuzzer can drive it directly.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "http/json_body.h"
#include "http/problem.h"
#include "util/json.h"

namespace tpark::control {

// `[a-z0-9_.:-]{1,128}`
bool valid_kind(std::string_view kind);
// `[a-z0-9_.:-]{1,64}`
bool valid_capability(std::string_view capability);
// 1..128 printable ASCII characters.
bool valid_idem_key(std::string_view key);

// Standard base64 (padding optional); returns "" on any invalid input.
std::string decode_base64(std::string_view text);
std::string encode_base64(std::string_view bytes);

// An integral JSON number in [min,max] (24.0 accepted, 24.5 and "24" not).
std::optional<int64_t> integral_in_range(const Json& value, int64_t min, int64_t max);

// POST /actions {kind,input,idem_key?} checked field by field; `input` is
// checked by the kind's handler afterwards. Every error is listed.
struct ActionBody {
  std::string kind;
  Json input = Json::object();
  std::optional<std::string> idem_key;
  std::vector<http::FieldError> errors;
  bool malformed = false;  // not JSON at all: 400 malformed_json
  std::string malformed_message;
  size_t malformed_offset = 0;
};
ActionBody validate_action_body(std::string_view body);

// POST /leases (4.3) on a parsed object body: capability, scope, ttl_secs
// (1..86400, default 3600), budget (1..1000000 or null). Every error listed.
struct LeaseBody {
  std::string capability;
  std::string scope;
  int64_t ttl_secs = 3600;
  std::optional<int64_t> budget;
  std::vector<http::FieldError> errors;
};
LeaseBody validate_lease_body(const Json& body);

// POST /admin/policy/capsules/teardown (4.7) on a parsed object body:
// {ids?:[string], all?:bool, dry_run?:bool}; ids required unless all.
struct TeardownBody {
  std::vector<std::string> ids;
  bool all = false;
  bool dry_run = false;
  std::vector<http::FieldError> errors;
};
TeardownBody validate_teardown_body(const Json& body);

}  // namespace tpark::control
