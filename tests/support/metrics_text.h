// Reading a /metrics body (the text exposition format) in tests and
// benchmarks: one parser for all of them.
#pragma once

#include <optional>
#include <sstream>
#include <string>

namespace tpark::test {

// The value of one series as the exposition writes it (`name` or
// `name{label="v",...}`), or nullopt when the body has no such line.
inline std::optional<double> metric_value(const std::string& metrics, const std::string& series) {
  std::istringstream lines(metrics);
  std::string line;
  while (std::getline(lines, line))
    if (line.rfind(series + " ", 0) == 0) return std::stod(line.substr(series.size() + 1));
  return std::nullopt;
}

}  // namespace tpark::test
