// Compact JSON text for the event path, written with string appends instead of
// building a document. The bytes match what tpark::Json::dump() writes for the
// same values (escaping, integers, doubles), so text from either writer can be
// compared and spliced freely.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace tpark {

// Appends `text` as a quoted JSON string: ", \ and control characters are
// escaped (\b \f \n \r \t, else \u00xx); every other byte is copied, so valid
// UTF-8 stays UTF-8.
void append_json_string(std::string& out, std::string_view text);

void append_json_int(std::string& out, int64_t value);
void append_json_uint(std::string& out, uint64_t value);

// Shortest round-trip form with ".0" for integral values (nlohmann's writer);
// a non-finite value is written as null.
void append_json_double(std::string& out, double value);

}  // namespace tpark
