// plugin.yaml manifests (sdk.md rule 11): read without running plugin code,
// and the small schema language that validates each plugin's config block.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "config/errors.h"
#include "config/host_config.h"
#include "util/json.h"

namespace tpark {

// One key of a plugin's config schema.
struct SchemaField {
  enum class Type { Int, Float, Bool, String, Enum, List, Map };
  std::string name;
  Type type = Type::String;
  std::optional<Type> of;              // element type for list / map
  std::vector<std::string> values;     // enum values
  std::optional<double> min, max;      // int / float bounds
  bool required = false;
  Json default_value;                  // null when none
};

struct Manifest {
  std::filesystem::path file;          // the plugin.yaml path
  std::string id;                      // tp.section.events
  std::string version;                 // the plugin's SemVer
  std::string library;                 // file name beside plugin.yaml
  uint32_t abi_major = 0;
  uint32_t min_host_minor = 0;
  std::vector<std::string> kinds;      // section, orchestrator, applier, exporter, source
  std::optional<std::string> section;  // provides.section
  std::optional<std::string> exporter;  // provides.exporter: the exporter descriptor's name
  std::vector<std::string> subscribes;  // kind prefixes (folded), or kEveryKind
  std::vector<SchemaField> config;
  std::vector<std::string> capabilities;
  std::string description;             // empty when none

  std::filesystem::path library_path() const { return file.parent_path() / library; }
};

// `subscribes: ["*"]`: every kind the host journals.
inline constexpr std::string_view kEveryKind = "*";

// "int", "float", "bool", "string", "enum", "list", "map".
const char* schema_type_name(SchemaField::Type type);

using ManifestResult = std::variant<Manifest, std::vector<ConfigError>>;

// Reads and checks one plugin.yaml. Required: manifest (tpark.plugin/v1), id,
// version (SemVer 2.0), library (a file name), abi.major, kinds; provides.section
// iff kinds has section. Each field's default is checked against the field.
// All errors are collected and name the file, line and column.
ManifestResult read_manifest(const std::filesystem::path& plugin_yaml);

// The prefixes a section's subscription filters on; nullopt = every kind.
// "*" is every kind, and so is a set of one-character prefixes covering every
// character a kind may start with ([a-z0-9]). Empty `subscribes`: nothing.
std::optional<std::vector<std::string>> subscription_prefixes(const Manifest& manifest);

// "invalid manifest: <file>:<line>:<column>: <field>: <message>; ...": the
// reason the host refuses a manifest with, and the runner's FAIL line.
std::string manifest_errors_text(const std::vector<ConfigError>& errors);

// Finds every plugin.yaml directly in each dir or one level below it, in
// order (directories first as given, entries sorted by path).
std::vector<std::filesystem::path> find_manifests(const std::vector<std::filesystem::path>& dirs);

// Validates a plugin's block from host.yaml (undefined/null = empty) against
// its schema: unknown keys, types, ranges, enum values, required keys; fills
// defaults. `file` names host.yaml in errors; fields are "plugins.<id>.config.<key>".
std::variant<Json, std::vector<ConfigError>> validate_plugin_config(const Manifest& manifest,
                                                                    const YAML::Node& block,
                                                                    const std::string& file);
// The same, for a plugin's entry in host.yaml: a missing required key is
// reported at the entry when the entry has no config block to point at.
std::variant<Json, std::vector<ConfigError>> validate_plugin_config(const Manifest& manifest,
                                                                    const PluginSetting& setting,
                                                                    const std::string& file);

}  // namespace tpark
