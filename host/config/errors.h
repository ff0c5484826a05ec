// A configuration error located in a file: "file:line:column: field: message".
#pragma once

#include <string>
#include <vector>

#include "util/json.h"

namespace tpark {

struct ConfigError {
  std::string file;
  int line = 0;    // 1-based; 0 when unknown
  int column = 0;  // 1-based; 0 when unknown
  std::string field;    // dotted path, may be empty
  std::string message;

  std::string to_string() const {
    std::string out = file + ":" + std::to_string(line) + ":" + std::to_string(column) + ": ";
    if (!field.empty()) out += field + ": ";
    return out + message;
  }
};

// Errors as problem extras and JSON bodies: [{file,line,column,message}],
// the message prefixed with the field when there is one.
inline Json config_errors_json(const std::vector<ConfigError>& errors) {
  Json list = Json::array();
  for (const auto& e : errors)
    list.push_back({{"file", e.file},
                    {"line", e.line},
                    {"column", e.column},
                    {"message", e.field.empty() ? e.message : e.field + ": " + e.message}});
  return list;
}

}  // namespace tpark
