// The configuration key registry (control.md 3.1): the one table of every key
// that can be set, with its type, range, default, domain and flags, and the
// parsing of each accepted input form into a typed JSON value.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "util/json.h"

namespace tpark::control {

enum class KeyType {
  Int,
  Float,
  Bool,
  Enum,      // one of `choices`
  Lanes,     // CSV of 1..8 unique lanes [a-z][a-z0-9_]{0,31}; canonical "a,b"
  FloatMap,  // lane -> float in [min,max]; JSON object
  IntMap,    // slot (or "*") -> int in [min,max]; JSON object
};

enum class KeyDomain { Context, Perf };

struct KeySpec {
  std::string name;
  KeyType type = KeyType::Int;
  double min = 0;  // for Int/Float and the map values
  double max = 0;
  Json default_value;  // null: unset by default
  KeyDomain domain = KeyDomain::Context;
  bool restart = false;  // R: takes effect after a restart
  bool live = true;      // false: stored and reported only
  std::vector<std::string> choices;  // Enum only
};

// Every key, in the spec's table order.
const std::vector<KeySpec>& key_registry();
// The key named `name`, or nullptr.
const KeySpec* find_key(std::string_view name);

// A parse result: the typed value, or an error message such as
// `expected int in [1,256], got "abc"`.
using KeyParse = std::variant<Json, std::string>;

// A JSON input (actions, logic units): ints accept integral numbers (24.0),
// bools accept true/false/0/1, lanes accept a CSV string or an array of
// strings, maps accept an object or the "k=v,k=v" string. `value` must not be
// null (null means "unset" and is handled by the caller).
KeyParse parse_key_json(const KeySpec& key, const Json& value);
// A text input (environment, YAML scalars as written): ints as decimals,
// bools as 1/0/true/false/yes/no/on/off (any case), maps as a JSON object or
// "k=v,k=v".
KeyParse parse_key_text(const KeySpec& key, std::string_view text);

// The canonical text of a typed value (exports): plain decimals, shortest
// round-trip floats, bools as 1/0, maps as compact JSON with sorted keys, CSV
// without spaces. Null gives "".
std::string canonical_text(const KeySpec& key, const Json& value);

// Value equality for diffs: floats equal within 1e-9, maps compared per key.
bool config_values_equal(const Json& a, const Json& b);

// "int in [1,256]", "float in [0,1]", "bool", "one of mmrd, confidence", ...
std::string describe_key_type(const KeySpec& key);

}  // namespace tpark::control
