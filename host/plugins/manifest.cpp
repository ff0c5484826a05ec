// plugin.yaml (sdk.md rule 11 and "plugin.yaml"): manifests are read as plain
// YAML, never by running plugin code, and the same value rules check a
// field's default here and a plugin's block from host.yaml later.
#include "plugins/manifest.h"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <system_error>

#include "config/yaml_support.h"
#include "kernel/kinds.h"

namespace tpark {

namespace {

constexpr std::string_view kManifestSchema = "tpark.plugin/v1";
const std::vector<std::string_view> kManifestKeys = {
    "manifest", "id",         "version", "library",      "abi",        "kinds",
    "provides", "subscribes", "config",  "capabilities", "description"};
const std::vector<std::string_view> kRequiredManifestKeys = {"manifest", "id",  "version",
                                                             "library",  "abi", "kinds"};
const std::vector<std::string_view> kAbiKeys = {"major", "min_host_minor"};
const std::vector<std::string_view> kProvidesKeys = {"section", "exporter"};
const std::vector<std::string_view> kFieldKeys = {"type",   "default", "min",     "max",
                                                  "values", "of",      "required"};
const std::vector<std::string_view> kPluginKinds = {"section", "orchestrator", "applier",
                                                    "exporter", "source"};
const std::vector<std::string_view> kTypeNames = {"int",  "float", "bool", "string",
                                                  "enum", "list",  "map"};
// A list or map holds scalars: nesting would need a schema language that is
// no longer small (sdk.md).
const std::vector<std::string_view> kElementTypeNames = {"int", "float", "bool", "string", "enum"};
constexpr int64_t kAbiNumberMax = 4294967295;  // uint32_t in the ABI

using Type = SchemaField::Type;

Type type_from_name(std::string_view name) {
  if (name == "int") return Type::Int;
  if (name == "float") return Type::Float;
  if (name == "bool") return Type::Bool;
  if (name == "enum") return Type::Enum;
  if (name == "list") return Type::List;
  if (name == "map") return Type::Map;
  return Type::String;
}

bool is_container(Type type) {
  return type == Type::List || type == Type::Map;
}
bool is_number(Type type) {
  return type == Type::Int || type == Type::Float;
}

bool is_alnum_or_hyphen(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '-';
}
bool all_digits(std::string_view text) {
  return !text.empty() &&
         std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Dot-separated identifiers; `numeric_rule` refuses leading zeros in purely
// numeric ones (SemVer 2.0 items 2 and 9; build metadata allows them).
bool dotted_identifiers_valid(std::string_view text, bool numeric_rule) {
  size_t start = 0;
  while (true) {
    size_t dot = text.find('.', start);
    std::string_view part = text.substr(start, dot == std::string_view::npos ? dot : dot - start);
    if (part.empty() || !std::all_of(part.begin(), part.end(), is_alnum_or_hyphen)) return false;
    if (numeric_rule && all_digits(part) && part.size() > 1 && part[0] == '0') return false;
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

// SemVer 2.0: MAJOR.MINOR.PATCH[-prerelease][+build].
bool semver_is_valid(std::string_view text) {
  std::string_view build, pre;
  if (size_t plus = text.find('+'); plus != std::string_view::npos) {
    build = text.substr(plus + 1);
    text = text.substr(0, plus);
    if (!dotted_identifiers_valid(build, false)) return false;
  }
  if (size_t dash = text.find('-'); dash != std::string_view::npos) {
    pre = text.substr(dash + 1);
    text = text.substr(0, dash);
    if (!dotted_identifiers_valid(pre, true)) return false;
  }
  int parts = 0;
  size_t start = 0;
  while (true) {
    size_t dot = text.find('.', start);
    std::string_view part = text.substr(start, dot == std::string_view::npos ? dot : dot - start);
    if (!all_digits(part) || (part.size() > 1 && part[0] == '0')) return false;
    ++parts;
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return parts == 3;
}

// ^[a-z][a-z0-9_]{0,63}$: the snapshot key a section renders.
bool section_name_is_valid(std::string_view name) {
  if (name.empty() || name.size() > 64 || name[0] < 'a' || name[0] > 'z') return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

// A file name beside plugin.yaml: no directory part, so a manifest cannot
// point the loader elsewhere.
bool library_name_is_valid(std::string_view name) {
  return !name.empty() && name != "." && name != ".." &&
         name.find_first_of(std::string_view("/\\\0", 3)) == std::string_view::npos;
}

// Lowercased, alias-folded; the rest of a kind's grammar is not asked of a
// prefix ("working_set." is one). "*" alone is the every-kind subscription.
std::optional<std::string> normalise_kind_prefix(std::string_view raw) {
  if (raw == kEveryKind) return std::string(kEveryKind);
  std::string lowered(raw);
  for (char& c : lowered) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::string folded = fold_kind_alias(lowered);
  if (folded.empty() || folded.size() > 128) return std::nullopt;
  for (char c : folded)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
      return std::nullopt;
  return folded;
}

// What a single value must be: the field's own type, or a container's element type.
struct ValueRule {
  Type type = Type::String;
  const std::vector<std::string>* values = nullptr;
  std::optional<double> min, max;
};

ValueRule element_rule(const SchemaField& field) {
  return ValueRule{is_container(field.type) ? field.of.value_or(Type::String) : field.type,
                   &field.values, field.min, field.max};
}

std::string expected_number(const char* type_name, const ValueRule& rule) {
  std::string out = std::string("expected ") + type_name;
  if (rule.min && rule.max)
    return out + " in [" + format_number(*rule.min) + "," + format_number(*rule.max) + "]";
  if (rule.min) return out + " >= " + format_number(*rule.min);
  if (rule.max) return out + " <= " + format_number(*rule.max);
  return out;
}

bool in_range(double value, const ValueRule& rule) {
  return (!rule.min || value >= *rule.min) && (!rule.max || value <= *rule.max);
}

std::optional<Json> convert_single(const ValueRule& rule, const YAML::Node& node, YamlPosition at,
                                   const std::string& field, ConfigErrors& errors) {
  auto fail = [&](const std::string& expected) -> std::optional<Json> {
    errors.add(at, field, expected + ", got " + describe_yaml_value(node));
    return std::nullopt;
  };
  switch (rule.type) {
    case Type::Int: {
      auto value = yaml_int(node);
      if (value && in_range(static_cast<double>(*value), rule)) return Json(*value);
      return fail(expected_number("int", rule));
    }
    case Type::Float: {
      auto value = yaml_float(node);
      if (value && in_range(*value, rule)) return Json(*value);
      return fail(expected_number("float", rule));
    }
    case Type::Bool:
      if (auto value = yaml_bool(node)) return Json(*value);
      return fail("expected bool");
    case Type::String:
      if (!yaml_is_null(node) && node.IsScalar()) return Json(node.Scalar());
      return fail("expected string");
    case Type::Enum: {
      std::string list;
      for (const auto& value : *rule.values) {
        if (!yaml_is_null(node) && node.IsScalar() && node.Scalar() == value) return Json(value);
        list += (list.empty() ? "" : ", ") + value;
      }
      return fail("expected one of [" + list + "]");
    }
    case Type::List:
    case Type::Map:
      break;
  }
  return fail("expected a value");
}

// One value of a field: a scalar, or a list / map of scalars (each element
// reported on its own).
std::optional<Json> convert_value(const SchemaField& field, const YAML::Node& node, YamlPosition at,
                                  const std::string& path, ConfigErrors& errors) {
  const ValueRule rule = element_rule(field);
  if (field.type == Type::List) {
    if (!node.IsSequence()) {
      errors.add(at, path, "expected a list, got " + describe_yaml_value(node));
      return std::nullopt;
    }
    size_t errors_before = errors.size();
    Json out = Json::array();
    for (size_t i = 0; i < node.size(); ++i) {
      const YAML::Node item = node[i];
      if (auto value = convert_single(rule, item, yaml_position(item), yaml_field(path, i), errors))
        out.push_back(std::move(*value));
    }
    if (errors.size() != errors_before) return std::nullopt;
    return out;
  }
  if (field.type == Type::Map) {
    if (!node.IsMap()) {
      errors.add(at, path, "expected a map, got " + describe_yaml_value(node));
      return std::nullopt;
    }
    size_t errors_before = errors.size();
    Json out = Json::object();
    for (const YamlEntry& entry : yaml_map_entries(node, path, errors)) {
      if (auto value = convert_single(rule, entry.value, entry.value_position, entry.field, errors))
        out[entry.key] = std::move(*value);
    }
    if (errors.size() != errors_before) return std::nullopt;
    return out;
  }
  return convert_single(rule, node, at, path, errors);
}

// A number bound (min / max) for a field whose values are `type`.
std::optional<double> read_bound(const YamlEntry& entry, Type type, ConfigErrors& errors) {
  if (type == Type::Int) {
    if (auto value = yaml_int(entry.value)) return static_cast<double>(*value);
    errors.add(entry.value_position, entry.field,
               "expected int, got " + describe_yaml_value(entry.value));
    return std::nullopt;
  }
  if (auto value = yaml_float(entry.value)) return value;
  errors.add(entry.value_position, entry.field,
             "expected float, got " + describe_yaml_value(entry.value));
  return std::nullopt;
}

std::optional<SchemaField> read_schema_field(const YamlEntry& entry, ConfigErrors& errors) {
  if (!expect_map(entry, errors)) return std::nullopt;
  size_t errors_before = errors.size();
  auto keys = yaml_map_entries(entry.value, entry.field, errors, &kFieldKeys);
  SchemaField field;
  field.name = entry.key;

  const YamlEntry* type_entry = find_entry(keys, "type");
  if (type_entry == nullptr) {
    errors.add(entry.value_position, yaml_field(entry.field, "type"), "missing required key");
    return std::nullopt;
  }
  auto type_name = read_choice(*type_entry, errors, kTypeNames);
  if (!type_name) return std::nullopt;
  field.type = type_from_name(*type_name);

  const YamlEntry* of_entry = find_entry(keys, "of");
  if (is_container(field.type)) {
    if (of_entry == nullptr) {
      errors.add(type_entry->value_position, yaml_field(entry.field, "of"),
                 "missing required key (a " + *type_name + " names its element type)");
    } else if (auto of_name = read_choice(*of_entry, errors, kElementTypeNames)) {
      field.of = type_from_name(*of_name);
    }
  } else if (of_entry != nullptr) {
    errors.add(of_entry->key_node, of_entry->field, "only a list or map has an element type");
  }
  // The type each single value has: the field's, or its elements'.
  std::optional<Type> value_type = is_container(field.type) ? field.of : field.type;

  const YamlEntry* values_entry = find_entry(keys, "values");
  if (value_type == Type::Enum) {
    if (values_entry == nullptr) {
      errors.add(type_entry->value_position, yaml_field(entry.field, "values"),
                 "missing required key (an enum lists its values)");
    } else if (auto values = read_string_list(*values_entry, errors)) {
      std::set<std::string> seen;
      for (size_t i = 0; i < values->size(); ++i)
        if (!seen.insert((*values)[i]).second)
          errors.add(values_entry->value[i], yaml_field(values_entry->field, i), "duplicate value");
      if (values->empty())
        errors.add(values_entry->value_position, values_entry->field, "expected a non-empty list");
      field.values = std::move(*values);
    }
  } else if (values_entry != nullptr) {
    errors.add(values_entry->key_node, values_entry->field, "only an enum has values");
  }

  for (std::string_view bound : {"min", "max"}) {
    const YamlEntry* bound_entry = find_entry(keys, bound);
    if (bound_entry == nullptr) continue;
    if (!value_type || !is_number(*value_type)) {
      if (value_type)
        errors.add(bound_entry->key_node, bound_entry->field, "only an int or float has bounds");
      continue;
    }
    (bound == "min" ? field.min : field.max) = read_bound(*bound_entry, *value_type, errors);
  }
  if (field.min && field.max && *field.min > *field.max) {
    const YamlEntry* max_entry = find_entry(keys, "max");
    errors.add(max_entry->value_position, max_entry->field,
               "max " + format_number(*field.max) + " is below min " + format_number(*field.min));
  }

  if (const YamlEntry* required = find_entry(keys, "required"))
    field.required = read_bool(*required, errors).value_or(false);

  // A default is checked only once the rest of the field is sound, so one
  // mistake is not reported twice.
  const YamlEntry* default_entry = find_entry(keys, "default");
  if (errors.size() != errors_before) return std::nullopt;
  if (default_entry != nullptr && !yaml_is_null(default_entry->value)) {
    auto value = convert_value(field, default_entry->value, default_entry->value_position,
                               default_entry->field, errors);
    if (!value) return std::nullopt;
    field.default_value = std::move(*value);
  }
  return field;
}

// One reader per top-level key of plugin.yaml; each records what it accepts
// in `manifest` and every problem in `errors`.
void read_schema_tag(const YamlEntry& entry, Manifest& /*manifest*/, ConfigErrors& errors) {
  if (entry.value.IsScalar() && entry.value.Scalar() == kManifestSchema) return;
  errors.add(entry.value_position, entry.field,
             "expected \"" + std::string(kManifestSchema) + "\", got " +
                 describe_yaml_value(entry.value));
}

void read_id(const YamlEntry& entry, Manifest& manifest, ConfigErrors& errors) {
  auto id = read_string(entry, errors);
  if (!id) return;
  if (plugin_id_is_valid(*id)) {
    manifest.id = *id;
  } else {
    errors.add(entry.value_position, entry.field,
               "expected a plugin id (lowercase dot-separated segments of a-z, 0-9, '_', '-'), "
               "got " +
                   describe_yaml_value(entry.value));
  }
}

void read_version(const YamlEntry& entry, Manifest& manifest, ConfigErrors& errors) {
  auto version = read_string(entry, errors);
  if (!version) return;
  if (semver_is_valid(*version)) {
    manifest.version = *version;
  } else {
    errors.add(entry.value_position, entry.field,
               "expected a SemVer 2.0 version (MAJOR.MINOR.PATCH), got " +
                   describe_yaml_value(entry.value));
  }
}

void read_library(const YamlEntry& entry, Manifest& manifest, ConfigErrors& errors) {
  auto library = read_string(entry, errors);
  if (!library) return;
  if (library_name_is_valid(*library)) {
    manifest.library = *library;
  } else {
    errors.add(entry.value_position, entry.field,
               "expected a file name beside plugin.yaml (no '/'), got " +
                   describe_yaml_value(entry.value));
  }
}

void read_abi(const YamlEntry& entry, Manifest& manifest, ConfigErrors& errors) {
  if (!expect_map(entry, errors)) return;
  auto keys = yaml_map_entries(entry.value, entry.field, errors, &kAbiKeys);
  if (const YamlEntry* major = find_entry(keys, "major")) {
    if (auto value = read_int(*major, errors, 1, kAbiNumberMax))
      manifest.abi_major = static_cast<uint32_t>(*value);
  } else {
    errors.add(entry.value_position, yaml_field(entry.field, "major"), "missing required key");
  }
  if (const YamlEntry* minor = find_entry(keys, "min_host_minor")) {
    if (auto value = read_int(*minor, errors, 0, kAbiNumberMax))
      manifest.min_host_minor = static_cast<uint32_t>(*value);
  }
}

void read_kinds(const YamlEntry& entry, Manifest& manifest, ConfigErrors& errors) {
  auto kinds = read_string_list(entry, errors);
  if (!kinds) return;
  if (kinds->empty()) {
    errors.add(entry.value_position, entry.field, "expected a non-empty list, got []");
    return;
  }
  for (size_t i = 0; i < kinds->size(); ++i) {
    const YAML::Node item = entry.value[i];
    const std::string& kind = (*kinds)[i];
    std::string item_field = yaml_field(entry.field, i);
    if (std::find(kPluginKinds.begin(), kPluginKinds.end(), kind) == kPluginKinds.end()) {
      errors.add(item, item_field,
                 "expected one of [section, orchestrator, applier, exporter, source], got " +
                     describe_yaml_value(item));
    } else if (std::find(manifest.kinds.begin(), manifest.kinds.end(), kind) !=
               manifest.kinds.end()) {
      errors.add(item, item_field, "duplicate kind");
    } else {
      manifest.kinds.push_back(kind);
    }
  }
}

void read_provides(const YamlEntry& entry, Manifest& manifest, ConfigErrors& errors) {
  if (!expect_map(entry, errors)) return;
  auto keys = yaml_map_entries(entry.value, entry.field, errors, &kProvidesKeys);
  if (const YamlEntry* section = find_entry(keys, "section")) {
    auto name = read_string(*section, errors);
    if (!name) return;
    if (section_name_is_valid(*name)) {
      manifest.section = *name;
    } else {
      errors.add(section->value_position, section->field,
                 "expected a section name ([a-z][a-z0-9_]{0,63}), got " +
                     describe_yaml_value(section->value));
    }
  }
  if (const YamlEntry* exporter = find_entry(keys, "exporter")) {
    auto name = read_string(*exporter, errors);
    if (!name) return;
    if (section_name_is_valid(*name)) {
      manifest.exporter = *name;
    } else {
      errors.add(exporter->value_position, exporter->field,
                 "expected an exporter name ([a-z][a-z0-9_]{0,63}), got " +
                     describe_yaml_value(exporter->value));
    }
  }
}

void read_subscribes(const YamlEntry& entry, Manifest& manifest, ConfigErrors& errors) {
  auto prefixes = read_string_list(entry, errors);
  if (!prefixes) return;
  for (size_t i = 0; i < prefixes->size(); ++i) {
    if (auto prefix = normalise_kind_prefix((*prefixes)[i])) {
      manifest.subscribes.push_back(std::move(*prefix));
    } else {
      errors.add(entry.value[i], yaml_field(entry.field, i),
                 "expected a kind prefix (a-z, 0-9, '.', '_', '-') or \"*\", got " +
                     describe_yaml_value(entry.value[i]));
    }
  }
}

void read_config_schema(const YamlEntry& entry, Manifest& manifest, ConfigErrors& errors) {
  if (!expect_map(entry, errors)) return;
  for (const YamlEntry& field_entry : yaml_map_entries(entry.value, entry.field, errors)) {
    if (auto field = read_schema_field(field_entry, errors))
      manifest.config.push_back(std::move(*field));
  }
}

void read_capabilities(const YamlEntry& entry, Manifest& manifest, ConfigErrors& errors) {
  if (auto capabilities = read_string_list(entry, errors))
    manifest.capabilities = std::move(*capabilities);
}

void read_description(const YamlEntry& entry, Manifest& manifest, ConfigErrors& errors) {
  if (auto description = read_string(entry, errors, true))
    manifest.description = std::move(*description);
}

void read_manifest_entry(const YamlEntry& entry, Manifest& manifest, ConfigErrors& errors) {
  using EntryReader = void (*)(const YamlEntry&, Manifest&, ConfigErrors&);
  static const std::map<std::string_view, EntryReader> readers = {
      {"manifest", read_schema_tag},
      {"id", read_id},
      {"version", read_version},
      {"library", read_library},
      {"abi", read_abi},
      {"kinds", read_kinds},
      {"provides", read_provides},
      {"subscribes", read_subscribes},
      {"config", read_config_schema},
      {"capabilities", read_capabilities},
      {"description", read_description},
  };
  if (auto it = readers.find(entry.key); it != readers.end()) it->second(entry, manifest, errors);
}

std::variant<Json, std::vector<ConfigError>> validate_block(const Manifest& manifest,
                                                            const YAML::Node& block,
                                                            YamlPosition missing_at,
                                                            const std::string& file) {
  const std::string base = "plugins." + manifest.id + ".config";
  ConfigErrors errors(file);
  std::vector<YamlEntry> entries;
  if (!yaml_is_null(block)) {
    if (!block.IsMap()) {
      errors.add(block, base, "expected a map, got " + describe_yaml_value(block));
      return errors.take();
    }
    std::vector<std::string_view> known;
    for (const auto& field : manifest.config) known.push_back(field.name);
    entries = yaml_map_entries(block, base, errors, &known);
  }
  Json out = Json::object();
  for (const SchemaField& field : manifest.config) {
    if (const YamlEntry* entry = find_entry(entries, field.name)) {
      if (auto value =
              convert_value(field, entry->value, entry->value_position, entry->field, errors))
        out[field.name] = std::move(*value);
    } else if (field.required) {
      errors.add(missing_at, yaml_field(base, field.name), "missing required key");
    } else if (!field.default_value.is_null()) {
      out[field.name] = field.default_value;
    }
  }
  if (!errors.empty()) return errors.take();
  return out;
}

}  // namespace

const char* schema_type_name(SchemaField::Type type) {
  switch (type) {
    case Type::Int:
      return "int";
    case Type::Float:
      return "float";
    case Type::Bool:
      return "bool";
    case Type::String:
      return "string";
    case Type::Enum:
      return "enum";
    case Type::List:
      return "list";
    case Type::Map:
      return "map";
  }
  return "string";
}

ManifestResult read_manifest(const std::filesystem::path& plugin_yaml) {
  const std::string file = plugin_yaml.string();
  auto fail = [&](std::string why) {
    return std::vector<ConfigError>{ConfigError{file, 0, 0, "", std::move(why)}};
  };
  std::ifstream in(plugin_yaml, std::ios::binary);
  std::error_code ec;
  if (!std::filesystem::is_regular_file(plugin_yaml, ec) || !in)
    return fail("cannot read the file");
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return fail("cannot read the file");

  auto parsed = parse_yaml(text.str(), file);
  if (auto* syntax_error = std::get_if<ConfigError>(&parsed))
    return std::vector<ConfigError>{std::move(*syntax_error)};
  const YAML::Node& root = std::get<YAML::Node>(parsed);

  ConfigErrors errors(file);
  if (!root.IsMap()) {
    YamlPosition at = yaml_position(root);
    if (at.line == 0) at = {1, 1};  // an empty file has no node to point at
    errors.add(at, "", "expected a map, got " + describe_yaml_value(root));
    return errors.take();
  }
  Manifest manifest;
  manifest.file = plugin_yaml;
  auto entries = yaml_map_entries(root, "", errors, &kManifestKeys);
  for (std::string_view required : kRequiredManifestKeys)
    if (find_entry(entries, required) == nullptr)
      errors.add(root, std::string(required), "missing required key");
  for (const YamlEntry& entry : entries) read_manifest_entry(entry, manifest, errors);

  // provides.section is there iff the plugin is a section; checked only
  // when both keys read cleanly, so a typo is not reported twice.
  bool is_section =
      std::find(manifest.kinds.begin(), manifest.kinds.end(), "section") != manifest.kinds.end();
  const YamlEntry* provides = find_entry(entries, "provides");
  if (is_section && !manifest.section &&
      (provides == nullptr || (provides->value.IsMap() && !provides->value["section"]))) {
    errors.add(provides != nullptr ? provides->value_position : yaml_position(root),
               "provides.section", "missing required key (kinds has section)");
  }
  if (!is_section && manifest.section && !manifest.kinds.empty()) {
    errors.add(provides->value_position, "provides.section",
               "only a plugin whose kinds has section provides a section");
  }
  if (!errors.empty()) return errors.take();
  return manifest;
}

std::optional<std::vector<std::string>> subscription_prefixes(const Manifest& manifest) {
  std::set<char> first_chars;
  for (const auto& prefix : manifest.subscribes) {
    if (prefix == kEveryKind) return std::nullopt;
    if (prefix.size() == 1) first_chars.insert(prefix[0]);
  }
  bool covers_all = true;
  for (char c = 'a'; c <= 'z' && covers_all; ++c) covers_all = first_chars.count(c) > 0;
  for (char c = '0'; c <= '9' && covers_all; ++c) covers_all = first_chars.count(c) > 0;
  if (covers_all) return std::nullopt;
  return manifest.subscribes;
}

std::string manifest_errors_text(const std::vector<ConfigError>& errors) {
  std::string out = "invalid manifest: ";
  for (size_t i = 0; i < errors.size(); ++i) out += (i == 0 ? "" : "; ") + errors[i].to_string();
  return out;
}

std::vector<std::filesystem::path> find_manifests(const std::vector<std::filesystem::path>& dirs) {
  namespace fs = std::filesystem;
  std::vector<fs::path> found;
  std::set<fs::path> seen;  // a directory given twice yields its manifests once
  for (const fs::path& dir : dirs) {
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) continue;
    std::vector<fs::path> in_dir;
    if (fs::is_regular_file(dir / "plugin.yaml", ec)) in_dir.push_back(dir / "plugin.yaml");
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
      std::error_code entry_ec;
      if (!it->is_directory(entry_ec)) continue;
      fs::path candidate = it->path() / "plugin.yaml";
      if (fs::is_regular_file(candidate, entry_ec)) in_dir.push_back(std::move(candidate));
    }
    std::sort(in_dir.begin(), in_dir.end());
    for (auto& path : in_dir)
      if (seen.insert(path.lexically_normal()).second) found.push_back(std::move(path));
  }
  return found;
}

std::variant<Json, std::vector<ConfigError>> validate_plugin_config(const Manifest& manifest,
                                                                    const YAML::Node& block,
                                                                    const std::string& file) {
  return validate_block(manifest, block, yaml_position(block), file);
}

std::variant<Json, std::vector<ConfigError>> validate_plugin_config(const Manifest& manifest,
                                                                    const PluginSetting& setting,
                                                                    const std::string& file) {
  YamlPosition missing_at{setting.line, setting.column};
  if (setting.config.IsDefined() && setting.config.IsMap())
    missing_at = yaml_position(setting.config);
  return validate_block(manifest, setting.config, missing_at, file);
}

}  // namespace tpark
