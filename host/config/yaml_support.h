// Shared pieces for every YAML file the host reads (host.yaml, plugin.yaml,
// presets): 1-based positions, error collection, a map walk that catches the
// duplicate keys yaml-cpp keeps silently, and typed reads of scalars that
// tell a plain 24 from a quoted "24".
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "config/errors.h"

namespace tpark {

// A 1-based line and column; {0, 0} when unknown.
struct YamlPosition {
  int line = 0;
  int column = 0;
};

// yaml-cpp marks are 0-based and -1 when unknown (undefined or built nodes).
YamlPosition yaml_position(const YAML::Mark& mark);
YamlPosition yaml_position(const YAML::Node& node);

// Collects every error of one file, so a reader reports them all at once.
class ConfigErrors {
 public:
  explicit ConfigErrors(std::string file) : file_(std::move(file)) {}

  void add(YamlPosition at, std::string field, std::string message);
  void add(const YAML::Node& at, std::string field, std::string message) {
    add(yaml_position(at), std::move(field), std::move(message));
  }

  const std::string& file() const { return file_; }
  bool empty() const { return errors_.empty(); }
  size_t size() const { return errors_.size(); }
  // The errors in document order (by line, then column; unknown positions first).
  std::vector<ConfigError> take();

 private:
  std::string file_;
  std::vector<ConfigError> errors_;
};

// Parses one YAML document. A syntax error becomes one ConfigError at the
// parser's mark. Nodes share the document's memory, so they stay valid as
// long as any node of it is held (and keep their marks, which a clone loses).
std::variant<YAML::Node, ConfigError> parse_yaml(const std::string& text, const std::string& file);

// "parent.key", or "key" at the top.
std::string yaml_field(std::string_view parent, std::string_view key);
// "parent[index]".
std::string yaml_field(std::string_view parent, size_t index);

// One key/value pair of a map, in document order.
struct YamlEntry {
  std::string key;
  YAML::Node key_node;
  YAML::Node value;
  std::string field;  // the dotted path of this key
  // Where errors about the value point. yaml-cpp marks an empty value at the
  // next token (often the next line), so a null value points at its key.
  YamlPosition value_position;
};

// The entries of a map, each key once (the first). Reports "duplicate key" at
// every repeat and "unknown key" for keys outside `allowed` (every key is
// allowed when it is null); neither kind of entry is returned. Keys must be
// scalars. `map` must be a map.
std::vector<YamlEntry> yaml_map_entries(const YAML::Node& map, std::string_view field,
                                        ConfigErrors& errors,
                                        const std::vector<std::string_view>* allowed = nullptr);

// The entry named `key`, or null.
const YamlEntry* find_entry(const std::vector<YamlEntry>& entries, std::string_view key);

// Absent or YAML null (empty, ~, null).
inline bool yaml_is_null(const YAML::Node& node) {
  return !node.IsDefined() || node.IsNull();
}
// An untagged, unquoted scalar: the only kind that can be an int, float or bool.
bool yaml_is_plain_scalar(const YAML::Node& node);

// YAML 1.2 core schema, plain scalars only: [-+]?[0-9]+, 0o[0-7]+, 0x[0-9a-fA-F]+
// within int64. A quoted "24" is a string, not an int.
std::optional<int64_t> yaml_int(const YAML::Node& node);
// Ints and [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?; finite only.
std::optional<double> yaml_float(const YAML::Node& node);
// true/false/yes/no/on/off, any case.
std::optional<bool> yaml_bool(const YAML::Node& node);

// How a value reads in "got ..." messages: null, a list, a map, a plain
// number as written, anything else as a quoted string.
std::string describe_yaml_value(const YAML::Node& node);
// Shortest form of a bound: 1, 0.5, 1e+300.
std::string format_number(double value);

// Typed reads of a map entry. Each reports a wrong type or range at the
// value ("expected int in [1,1000000], got \"abc\"") and returns nullopt.
std::optional<int64_t> read_int(const YamlEntry& entry, ConfigErrors& errors, int64_t min,
                                int64_t max = std::numeric_limits<int64_t>::max());
std::optional<bool> read_bool(const YamlEntry& entry, ConfigErrors& errors);
// Any non-null scalar, quoted or plain; empty strings are refused when !allow_empty.
std::optional<std::string> read_string(const YamlEntry& entry, ConfigErrors& errors,
                                       bool allow_empty = false);
// A string scalar that is one of `choices`.
std::optional<std::string> read_choice(const YamlEntry& entry, ConfigErrors& errors,
                                       const std::vector<std::string_view>& choices);
// A list of non-empty strings; bad elements are reported one by one and skipped.
std::optional<std::vector<std::string>> read_string_list(const YamlEntry& entry,
                                                         ConfigErrors& errors);
// The entry's value must be a map ("expected a map, got ...").
bool expect_map(const YamlEntry& entry, ConfigErrors& errors);

}  // namespace tpark
