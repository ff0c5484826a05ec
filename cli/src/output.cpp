#include "output.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <iostream>

namespace tpark::cli {

bool stdout_is_terminal() {
  return isatty(STDOUT_FILENO) == 1;
}

bool colour_enabled() {
  const char* no_colour = std::getenv("NO_COLOR");
  return stdout_is_terminal() && (no_colour == nullptr || *no_colour == '\0');
}

void print_json(const Json& value, bool pretty) {
  std::cout << (pretty ? value.dump(2) : value.dump()) << '\n';
}

std::string bold(const std::string& text) {
  return colour_enabled() ? "\033[1m" + text + "\033[0m" : text;
}

std::string dim(const std::string& text) {
  return colour_enabled() ? "\033[2m" + text + "\033[0m" : text;
}

void Table::print(std::ostream& out) const {
  std::vector<size_t> widths(header_.size(), 0);
  auto widen = [&](const std::vector<std::string>& row) {
    if (widths.size() < row.size()) widths.resize(row.size(), 0);
    for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  };
  widen(header_);
  for (const auto& row : rows_) widen(row);
  auto line = [&](const std::vector<std::string>& row, bool heading) {
    std::string text;
    for (size_t i = 0; i < row.size(); ++i) {
      std::string cell = row[i];
      if (i + 1 < row.size()) cell.resize(widths[i], ' ');
      text += (i ? "  " : "") + cell;
    }
    out << (heading ? bold(text) : text) << '\n';
  };
  if (!header_.empty()) line(header_, true);
  for (const auto& row : rows_) line(row, false);
}

void Fields::print(std::ostream& out) const {
  size_t width = 0;
  for (const auto& [label, value] : rows_) width = std::max(width, label.size());
  for (const auto& [label, value] : rows_) {
    std::string padded = label;
    padded.resize(width, ' ');
    out << dim(padded) << "  " << value << '\n';
  }
}

std::string text_of(const Json& value) {
  if (value.is_null()) return "-";
  if (value.is_string()) return value.get<std::string>();
  if (value.is_array() &&
      std::none_of(value.begin(), value.end(), [](const Json& v) { return v.is_structured(); })) {
    std::string out;
    for (const auto& item : value) out += (out.empty() ? "" : ",") + text_of(item);
    return out.empty() ? "-" : out;
  }
  return value.dump();
}

std::string text_at(const Json& object, const char* key) {
  if (!object.is_object() || !object.contains(key)) return "-";
  return text_of(object[key]);
}

std::string brief(const Json& value) {
  std::string text = value.is_structured() ? value.dump() : text_of(value);
  if (value.is_structured() && text.size() > 100)
    return "(" + std::to_string(value.size()) + " entries: --json shows them)";
  return text;
}

namespace {
std::string fixed(double value, int decimals) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.*f", decimals, value);
  return buffer;
}
}  // namespace

std::string percent(const Json& ratio) {
  if (!ratio.is_number()) return "-";
  return fixed(ratio.get<double>() * 100.0, 1) + "%";
}

std::string milliseconds(const Json& value) {
  if (!value.is_number()) return "-";
  return fixed(value.get<double>(), value.is_number_integer() ? 0 : 1) + " ms";
}

std::string bytes(const Json& value) {
  if (!value.is_number()) return "-";
  const double n = value.get<double>();
  if (n < 1024) return fixed(n, 0) + " B";
  if (n < 1024.0 * 1024) return fixed(n / 1024, 1) + " KiB";
  return fixed(n / (1024.0 * 1024), 1) + " MiB";
}

}  // namespace tpark::cli
