// fuzz-max-len: 1048576
// libFuzzer target: the POST /actions body validator (control.md 1.3, 4.2
// step 1) on arbitrary bytes. It must never crash, and its verdict must be
// self-consistent: a body it accepts has a valid kind, an object input and a
// valid idem_key.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "control/validation.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  const tpark::control::ActionBody checked = tpark::control::validate_action_body(body);
  if (!checked.malformed && checked.errors.empty()) {
    if (!tpark::control::valid_kind(checked.kind)) std::abort();
    if (!checked.input.is_object()) std::abort();
    if (checked.idem_key && !tpark::control::valid_idem_key(*checked.idem_key)) std::abort();
  }
  if (checked.malformed && !checked.errors.empty()) std::abort();
  return 0;
}
