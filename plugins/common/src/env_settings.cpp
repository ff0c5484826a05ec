#include "tpark/env/env_settings.h"

#include <cctype>
#include <charconv>
#include <cstdlib>

namespace tpark::env {

namespace {

std::string_view trim(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front())))
    text.remove_prefix(1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back())))
    text.remove_suffix(1);
  return text;
}

bool equals_ignoring_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}

std::optional<int64_t> parse_decimal(std::string_view text) {
  if (!text.empty() && text.front() == '+') text.remove_prefix(1);
  int64_t value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc() || ptr != end) return std::nullopt;
  return value;
}

std::string rejected(std::string_view name, std::string_view raw, std::string_view expected,
                     std::string_view fallback) {
  return std::string(name) + "='" + std::string(raw) + "' is not " + std::string(expected) +
         "; using " + std::string(fallback);
}

std::string range_text(int64_t min, int64_t max) {
  return "an integer in " + std::to_string(min) + ".." + std::to_string(max);
}

}  // namespace

std::optional<std::string> raw_env(const char* name) {
  const char* raw = std::getenv(name);
  if (raw == nullptr || trim(raw).empty()) return std::nullopt;
  return std::string(raw);
}

Setting<int64_t> parse_int_setting(std::string_view name, const std::optional<std::string>& raw,
                                   int64_t fallback, int64_t min, int64_t max) {
  if (!raw || trim(*raw).empty()) return {fallback, std::nullopt};
  const auto value = parse_decimal(trim(*raw));
  if (!value || *value < min || *value > max)
    return {fallback, rejected(name, *raw, range_text(min, max), std::to_string(fallback))};
  return {*value, std::nullopt};
}

Setting<bool> parse_bool_setting(std::string_view name, const std::optional<std::string>& raw,
                                 bool fallback) {
  if (!raw || trim(*raw).empty()) return {fallback, std::nullopt};
  const std::string_view text = trim(*raw);
  for (std::string_view word : {"1", "true", "yes", "on"})
    if (equals_ignoring_case(text, word)) return {true, std::nullopt};
  for (std::string_view word : {"0", "false", "no", "off"})
    if (equals_ignoring_case(text, word)) return {false, std::nullopt};
  return {fallback, rejected(name, *raw, "a boolean (1/0/true/false/yes/no/on/off)",
                             fallback ? "true" : "false")};
}

Setting<std::optional<int64_t>> parse_int_or_off_setting(
    std::string_view name, const std::optional<std::string>& raw, std::optional<int64_t> fallback,
    int64_t min, int64_t max, std::initializer_list<std::string_view> off_words) {
  if (!raw || trim(*raw).empty()) return {fallback, std::nullopt};
  const std::string_view text = trim(*raw);
  for (std::string_view word : off_words)
    if (equals_ignoring_case(text, word)) return {std::nullopt, std::nullopt};
  const auto value = parse_decimal(text);
  if (!value || *value < min || *value > max) {
    std::string expected = range_text(min, max);
    for (std::string_view word : off_words) expected += " or " + std::string(word);
    return {fallback, rejected(name, *raw, expected,
                               fallback ? std::to_string(*fallback) : std::string("off"))};
  }
  return {value, std::nullopt};
}

}  // namespace tpark::env
