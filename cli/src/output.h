// Everything the CLI prints on stdout: JSON (--json, --pretty) or short
// aligned human text with units. Colours only on a terminal and never with
// NO_COLOR.
#pragma once

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace tpark::cli {

using Json = nlohmann::ordered_json;

bool stdout_is_terminal();
// A terminal on stdout and NO_COLOR unset or empty.
bool colour_enabled();

// One JSON document on stdout: compact, or indented with `pretty`.
void print_json(const Json& value, bool pretty);

// Bold and dim, or nothing without colour.
std::string bold(const std::string& text);
std::string dim(const std::string& text);

// Rows of cells printed with every column padded to its widest cell.
class Table {
 public:
  explicit Table(std::vector<std::string> header = {}) : header_(std::move(header)) {}
  void add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  bool empty() const { return rows_.empty(); }
  void print(std::ostream& out) const;

 private:
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> rows_;
};

// "label   value" lines with the labels padded alike.
class Fields {
 public:
  void add(const std::string& label, const std::string& value) { rows_.push_back({label, value}); }
  void print(std::ostream& out) const;

 private:
  std::vector<std::pair<std::string, std::string>> rows_;
};

// Human renderings of JSON values: "-" for null or absent.
std::string text_of(const Json& value);
std::string text_at(const Json& object, const char* key);
// text_of, with long objects and arrays cut to "(N entries: --json shows them)".
std::string brief(const Json& value);
std::string percent(const Json& ratio);       // 0.25 -> "25.0%"
std::string milliseconds(const Json& value);  // 12.5 -> "12.5 ms"
std::string bytes(const Json& value);         // 2048 -> "2.0 KiB"

}  // namespace tpark::cli
