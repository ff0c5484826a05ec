// Wall-clock helpers: epoch milliseconds and RFC 3339 text with exactly three
// fractional digits and a Z suffix (telemetry.md section 0).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tpark {

int64_t now_ms();
int64_t monotonic_ns();

// 2026-11-28T14:03:10.123Z
std::string format_rfc3339_ms(int64_t epoch_ms);

// Parses any RFC 3339 date-time (offset or Z, any fraction precision; a space
// or lowercase t/z accepted) into UTC epoch milliseconds, truncating extra
// precision. Returns nullopt for anything else.
std::optional<int64_t> parse_rfc3339_ms(std::string_view text);

}  // namespace tpark
