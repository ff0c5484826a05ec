// The simulator's clock readings as RFC 3339 text (telemetry.md §0: UTC,
// exactly three fractional digits, Z), without the C library's time zone code.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tpark::sim {

// 2026-01-01T00:00:00.000Z
std::string format_rfc3339_ms(int64_t epoch_ms);
// Parses YYYY-MM-DDTHH:MM:SS[.fraction]Z (fraction truncated to ms); nullopt otherwise.
std::optional<int64_t> parse_rfc3339_utc_ms(std::string_view text);
// Wall-clock epoch milliseconds.
int64_t wall_clock_ms();

}  // namespace tpark::sim
