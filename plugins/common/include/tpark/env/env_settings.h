// Env settings for plugins (telemetry.md §0 "Env vars"): read once at start;
// a malformed or out-of-range value falls back to the default and logs one
// warning. The parsers are pure: they take the raw text (nullopt = unset) and
// return the value to use plus the warning the caller logs, so tests need no
// process environment.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

namespace tpark::env {

// The value to use and, when the raw text was rejected, the one warning line.
template <class T>
struct Setting {
  T value;
  std::optional<std::string> warning;
};

// The variable's text, or nullopt when it is unset. An empty (or all blank)
// value counts as unset, as for registry keys (control.md §3.2).
std::optional<std::string> raw_env(const char* name);

// A decimal integer in [min, max]; surrounding blanks are ignored.
Setting<int64_t> parse_int_setting(std::string_view name, const std::optional<std::string>& raw,
                                   int64_t fallback, int64_t min, int64_t max);

// 1/0/true/false/yes/no/on/off, case-insensitive (control.md §3.1).
Setting<bool> parse_bool_setting(std::string_view name, const std::optional<std::string>& raw,
                                 bool fallback);

// A decimal integer in [min, max], or nullopt for one of `off_words`
// (case-insensitive), e.g. ARW_TOOLS_CACHE_MAX_PAYLOAD_BYTES=off.
Setting<std::optional<int64_t>> parse_int_or_off_setting(
    std::string_view name, const std::optional<std::string>& raw, std::optional<int64_t> fallback,
    int64_t min, int64_t max, std::initializer_list<std::string_view> off_words);

}  // namespace tpark::env
