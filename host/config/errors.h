// A configuration error located in a file: "file:line:column: field: message".
#pragma once

#include <string>

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

}  // namespace tpark
