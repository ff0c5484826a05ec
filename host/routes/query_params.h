// Query-parameter readers shared by the route files.
#pragma once

#include <charconv>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "http/http_types.h"
#include "http/problem.h"

namespace tpark {

// An integer query parameter in [min, max], `fallback` when absent; nullopt
// (with a field error naming the parameter) when malformed or out of range.
inline std::optional<int64_t> query_integer(const http::Request& req, const char* name, int64_t min,
                                            int64_t max, int64_t fallback,
                                            std::vector<http::FieldError>& errors) {
  auto value = req.query_one(name);
  if (!value) return fallback;
  int64_t n = 0;
  auto [ptr, ec] = std::from_chars(value->data(), value->data() + value->size(), n);
  if (ec != std::errc() || ptr != value->data() + value->size() || n < min || n > max) {
    errors.push_back({name, "expected an integer in [" + std::to_string(min) + "," +
                                (max == INT64_MAX ? std::string("inf") : std::to_string(max)) +
                                "]"});
    return std::nullopt;
  }
  return n;
}

}  // namespace tpark
