// Limits on JSON the host accepts from clients.
#pragma once

#include <cstddef>

namespace tpark {

// The deepest nesting of arrays and objects the host accepts from a client,
// in ingest lines and request bodies alike (a scalar counts as one level
// below its container, as in simdjson). Copying, dumping and comparing a
// document recurse once per level, so this bounds their stack use.
inline constexpr size_t kMaxJsonDepth = 1024;

}  // namespace tpark
