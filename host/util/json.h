// The one JSON type for building documents: key order is insertion order, as
// the spec's tables require. Doubles print in shortest round-trip form with
// ".0" for integral values, and non-finite values print as null.
#pragma once

#include <nlohmann/json.hpp>

namespace tpark {
using Json = nlohmann::ordered_json;
}  // namespace tpark
