// The one parser for JSON request bodies (control.md 1.3 step 5). Every route
// that reads a JSON body goes through parse_json_body, so every route has the
// same nesting cap and the same answer to text that is not JSON. Pure: no
// state, no I/O, so the fuzz targets drive it directly.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "util/json.h"
#include "util/json_limits.h"

namespace tpark::http {

struct ParsedBody {
  std::optional<Json> document;  // nullopt: malformed (400 malformed_json)
  std::string error_message;     // why, for malformed_json; names the depth limit when too deep
  size_t error_offset = 0;       // byte offset of the error in the body
};

// Parses a request body. An empty (or all-whitespace) body becomes {} for
// routes where the body is optional; routes that require fields report them
// missing. Duplicate keys keep the last value. Refused: text that is not JSON
// (invalid UTF-8 included), numbers too large for a double, and nesting of
// arrays and objects deeper than kMaxJsonDepth (a scalar counts as one level
// below its container, as in ingest).
ParsedBody parse_json_body(std::string_view body);

}  // namespace tpark::http
