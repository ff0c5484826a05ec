#include "config/yaml_support.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <set>
#include <utility>

#include "util/json.h"

namespace tpark {

YamlPosition yaml_position(const YAML::Mark& mark) {
  if (mark.is_null() || mark.line < 0 || mark.column < 0) return {};
  return {mark.line + 1, mark.column + 1};
}

YamlPosition yaml_position(const YAML::Node& node) {
  if (!node.IsDefined()) return {};
  return yaml_position(node.Mark());
}

void ConfigErrors::add(YamlPosition at, std::string field, std::string message) {
  errors_.push_back(ConfigError{file_, at.line, at.column, std::move(field), std::move(message)});
}

std::vector<ConfigError> ConfigErrors::take() {
  std::stable_sort(errors_.begin(), errors_.end(), [](const ConfigError& a, const ConfigError& b) {
    return std::pair(a.line, a.column) < std::pair(b.line, b.column);
  });
  return std::move(errors_);
}

std::variant<YAML::Node, ConfigError> parse_yaml(const std::string& text, const std::string& file) {
  try {
    return YAML::Load(text);
  } catch (const YAML::Exception& e) {
    YamlPosition at = yaml_position(e.mark);
    return ConfigError{file, at.line, at.column, "", e.msg};
  }
}

std::string yaml_field(std::string_view parent, std::string_view key) {
  if (parent.empty()) return std::string(key);
  std::string out(parent);
  out += '.';
  out += key;
  return out;
}

std::string yaml_field(std::string_view parent, size_t index) {
  return std::string(parent) + "[" + std::to_string(index) + "]";
}

std::vector<YamlEntry> yaml_map_entries(const YAML::Node& map, std::string_view field,
                                        ConfigErrors& errors,
                                        const std::vector<std::string_view>* allowed) {
  std::vector<YamlEntry> entries;
  std::set<std::string, std::less<>> seen;
  for (auto it = map.begin(); it != map.end(); ++it) {
    const YAML::Node key_node = it->first;
    if (!key_node.IsScalar()) {
      errors.add(key_node, std::string(field),
                 "expected a string key, got " + describe_yaml_value(key_node));
      continue;
    }
    std::string key = key_node.Scalar();
    std::string key_field = yaml_field(field, key);
    if (!seen.insert(key).second) {
      errors.add(key_node, key_field, "duplicate key");
      continue;
    }
    if (allowed != nullptr) {
      bool known = false;
      for (std::string_view name : *allowed) known = known || name == key;
      if (!known) {
        errors.add(key_node, key_field, "unknown key");
        continue;
      }
    }
    const YAML::Node value = it->second;
    YamlPosition value_at = yaml_is_null(value) ? yaml_position(key_node) : yaml_position(value);
    entries.push_back(YamlEntry{std::move(key), key_node, value, std::move(key_field), value_at});
  }
  return entries;
}

const YamlEntry* find_entry(const std::vector<YamlEntry>& entries, std::string_view key) {
  for (const auto& entry : entries)
    if (entry.key == key) return &entry;
  return nullptr;
}

bool yaml_is_plain_scalar(const YAML::Node& node) {
  return node.IsDefined() && node.IsScalar() && node.Tag() == "?";
}

namespace {

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// [-+]?[0-9]+, 0o[0-7]+ or 0x[0-9a-fA-F]+ (YAML 1.2 core schema).
std::optional<int64_t> parse_core_int(std::string_view text) {
  int base = 10;
  bool negative = false;
  std::string_view digits = text;
  if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'o')) {
    base = text[1] == 'x' ? 16 : 8;
    digits = text.substr(2);
  } else if (!text.empty() && (text[0] == '-' || text[0] == '+')) {
    negative = text[0] == '-';
    digits = text.substr(1);
  }
  if (digits.empty()) return std::nullopt;
  // from_chars would also take a sign after the prefix; the grammar does not.
  for (char c : digits) {
    bool ok = base == 16 ? std::isxdigit(static_cast<unsigned char>(c)) != 0
                         : (is_digit(c) && (base == 10 || c <= '7'));
    if (!ok) return std::nullopt;
  }
  uint64_t magnitude = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), magnitude, base);
  if (ec != std::errc() || end != digits.data() + digits.size()) return std::nullopt;
  constexpr uint64_t kMaxPositive = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  if (negative) {
    if (magnitude > kMaxPositive + 1) return std::nullopt;
    return magnitude == kMaxPositive + 1 ? std::numeric_limits<int64_t>::min()
                                         : -static_cast<int64_t>(magnitude);
  }
  if (magnitude > kMaxPositive) return std::nullopt;
  return static_cast<int64_t>(magnitude);
}

// [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?
bool matches_core_float(std::string_view text) {
  size_t i = 0;
  if (i < text.size() && (text[i] == '-' || text[i] == '+')) ++i;
  size_t int_digits = 0, frac_digits = 0;
  while (i < text.size() && is_digit(text[i])) ++i, ++int_digits;
  if (i < text.size() && text[i] == '.') {
    ++i;
    while (i < text.size() && is_digit(text[i])) ++i, ++frac_digits;
  }
  if (int_digits == 0 && frac_digits == 0) return false;
  if (i < text.size() && (text[i] == 'e' || text[i] == 'E')) {
    ++i;
    if (i < text.size() && (text[i] == '-' || text[i] == '+')) ++i;
    size_t exp_digits = 0;
    while (i < text.size() && is_digit(text[i])) ++i, ++exp_digits;
    if (exp_digits == 0) return false;
  }
  return i == text.size();
}

std::string lowercase(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

std::optional<int64_t> yaml_int(const YAML::Node& node) {
  if (!yaml_is_plain_scalar(node)) return std::nullopt;
  return parse_core_int(node.Scalar());
}

std::optional<double> yaml_float(const YAML::Node& node) {
  if (!yaml_is_plain_scalar(node)) return std::nullopt;
  const std::string& text = node.Scalar();
  if (auto i = parse_core_int(text)) return static_cast<double>(*i);
  if (!matches_core_float(text)) return std::nullopt;
  // from_chars takes no leading '+'.
  std::string_view digits = text;
  if (!digits.empty() && digits[0] == '+') digits.remove_prefix(1);
  double value = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (ec != std::errc() || end != digits.data() + digits.size() || !std::isfinite(value))
    return std::nullopt;
  return value;
}

std::optional<bool> yaml_bool(const YAML::Node& node) {
  if (!yaml_is_plain_scalar(node)) return std::nullopt;
  std::string text = lowercase(node.Scalar());
  if (text == "true" || text == "yes" || text == "on") return true;
  if (text == "false" || text == "no" || text == "off") return false;
  return std::nullopt;
}

std::string describe_yaml_value(const YAML::Node& node) {
  if (yaml_is_null(node)) return "null";
  if (node.IsSequence()) return "a list";
  if (node.IsMap()) return "a map";
  const std::string& text = node.Scalar();
  if (yaml_is_plain_scalar(node) && (parse_core_int(text) || matches_core_float(text))) return text;
  // A scalar decoded from \u escapes can hold bytes that are not UTF-8.
  return Json(text).dump(-1, ' ', false, Json::error_handler_t::replace);
}

std::string format_number(double value) {
  char buffer[64];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
  if (ec != std::errc()) return std::to_string(value);
  return std::string(buffer, end);
}

std::optional<int64_t> read_int(const YamlEntry& entry, ConfigErrors& errors, int64_t min,
                                int64_t max) {
  auto value = yaml_int(entry.value);
  if (value && *value >= min && *value <= max) return value;
  std::string expected =
      max == std::numeric_limits<int64_t>::max()
          ? "expected int >= " + std::to_string(min)
          : "expected int in [" + std::to_string(min) + "," + std::to_string(max) + "]";
  errors.add(entry.value_position, entry.field,
             expected + ", got " + describe_yaml_value(entry.value));
  return std::nullopt;
}

std::optional<bool> read_bool(const YamlEntry& entry, ConfigErrors& errors) {
  if (auto value = yaml_bool(entry.value)) return value;
  errors.add(entry.value_position, entry.field,
             "expected bool, got " + describe_yaml_value(entry.value));
  return std::nullopt;
}

std::optional<std::string> read_string(const YamlEntry& entry, ConfigErrors& errors,
                                       bool allow_empty) {
  if (!yaml_is_null(entry.value) && entry.value.IsScalar() &&
      (allow_empty || !entry.value.Scalar().empty()))
    return entry.value.Scalar();
  errors.add(entry.value_position, entry.field,
             std::string(allow_empty ? "expected string" : "expected non-empty string") + ", got " +
                 describe_yaml_value(entry.value));
  return std::nullopt;
}

std::optional<std::string> read_choice(const YamlEntry& entry, ConfigErrors& errors,
                                       const std::vector<std::string_view>& choices) {
  if (!yaml_is_null(entry.value) && entry.value.IsScalar()) {
    for (std::string_view choice : choices)
      if (choice == entry.value.Scalar()) return entry.value.Scalar();
  }
  std::string list;
  for (std::string_view choice : choices) list += (list.empty() ? "" : ", ") + std::string(choice);
  errors.add(entry.value_position, entry.field,
             "expected one of [" + list + "], got " + describe_yaml_value(entry.value));
  return std::nullopt;
}

std::optional<std::vector<std::string>> read_string_list(const YamlEntry& entry,
                                                         ConfigErrors& errors) {
  if (!entry.value.IsSequence()) {
    errors.add(entry.value_position, entry.field,
               "expected a list, got " + describe_yaml_value(entry.value));
    return std::nullopt;
  }
  std::vector<std::string> out;
  for (size_t i = 0; i < entry.value.size(); ++i) {
    const YAML::Node item = entry.value[i];
    if (!yaml_is_null(item) && item.IsScalar() && !item.Scalar().empty()) {
      out.push_back(item.Scalar());
    } else {
      errors.add(item, yaml_field(entry.field, i),
                 "expected non-empty string, got " + describe_yaml_value(item));
    }
  }
  return out;
}

bool expect_map(const YamlEntry& entry, ConfigErrors& errors) {
  if (entry.value.IsMap()) return true;
  errors.add(entry.value_position, entry.field,
             "expected a map, got " + describe_yaml_value(entry.value));
  return false;
}

}  // namespace tpark
