#include "config/presets.h"

#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>

#include "config/config_registry.h"
#include "config/governor.h"
#include "config/yaml_support.h"
#include "util/text.h"

namespace tpark::control {

namespace {

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool is_preset_name(const std::string& name) {
  static const std::regex pattern("^[a-z][a-z0-9_-]{0,31}$");
  return std::regex_match(name, pattern);
}

// A YAML node as JSON: plain scalars typed by the YAML 1.2 core schema (plus
// yes/no/on/off), quoted scalars as strings, sequences and maps recursively.
Json yaml_to_json(const YAML::Node& node) {
  if (yaml_is_null(node)) return nullptr;
  if (node.IsScalar()) {
    if (yaml_is_plain_scalar(node)) {
      if (auto i = yaml_int(node)) return *i;
      if (auto f = yaml_float(node)) return *f;
      if (auto b = yaml_bool(node)) return *b;
    }
    return node.Scalar();
  }
  if (node.IsSequence()) {
    Json out = Json::array();
    for (const auto& element : node) out.push_back(yaml_to_json(element));
    return out;
  }
  Json out = Json::object();
  for (auto it = node.begin(); it != node.end(); ++it)
    out[it->first.IsScalar() ? it->first.Scalar() : std::string("?")] = yaml_to_json(it->second);
  return out;
}

// One env entry's value (a scalar, a map for map keys, or {value, risky}).
void read_env_entry(const YamlEntry& entry, const KeySpec& key, ConfigErrors& errors,
                    Preset& preset) {
  YAML::Node value_node = entry.value;
  bool risky = false;
  bool wrapped = value_node.IsMap() && value_node["value"].IsDefined();
  YamlPosition value_at = entry.value_position;
  std::string field = entry.field;
  if (wrapped) {
    static const std::vector<std::string_view> allowed = {"value", "risky"};
    auto parts = yaml_map_entries(entry.value, entry.field, errors, &allowed);
    const YamlEntry* v = find_entry(parts, "value");
    if (const YamlEntry* r = find_entry(parts, "risky")) risky = read_bool(*r, errors).value_or(false);
    if (!v) return;
    value_node = v->value;
    value_at = v->value_position;
    field = v->field;
  }
  if (yaml_is_null(value_node)) {
    errors.add(value_at, field, "expected " + describe_key_type(key) + ", got null");
    return;
  }
  KeyParse parsed = parse_key_json(key, yaml_to_json(value_node));
  if (std::holds_alternative<std::string>(parsed)) {
    errors.add(value_at, field,
               "expected " + describe_key_type(key) + ", got " + describe_yaml_value(value_node));
    return;
  }
  preset.env.push_back(PresetEntry{key.name, std::get<Json>(parsed), risky});
}

void read_governor(const YamlEntry& entry, ConfigErrors& errors, Preset& preset) {
  if (!expect_map(entry, errors)) return;
  static const std::vector<std::string_view> allowed = {"profile", "hints"};
  auto parts = yaml_map_entries(entry.value, entry.field, errors, &allowed);
  Json governor = Json::object();
  if (const YamlEntry* p = find_entry(parts, "profile")) {
    if (auto name = read_string(*p, errors)) {
      if (auto profile = normalize_profile(*name))
        governor["profile"] = *profile;
      else
        errors.add(p->value_position, p->field,
                   "expected one of balance, performance, power-saver (or an alias), got " +
                       describe_yaml_value(p->value));
    }
  }
  if (const YamlEntry* h = find_entry(parts, "hints")) {
    if (expect_map(*h, errors)) {
      auto hint_entries = yaml_map_entries(h->value, h->field, errors);
      Json hints = Json::object();
      std::map<std::string, YamlPosition> at;
      for (const auto& he : hint_entries) {
        if (!is_hint_key(he.key)) {
          errors.add(he.key_node, he.field, "unknown key");
          continue;
        }
        hints[he.key] = yaml_to_json(he.value);
        at[he.key] = he.value_position;
      }
      HintsCheck check = validate_hints(hints, Json::object(), "");
      for (const auto& e : check.errors) errors.add(at[e.field], h->field + "." + e.field, e.message);
      if (check.errors.empty()) governor["hints"] = merge_hints(Json::object(), typed_hints(hints));
    }
  }
  preset.governor = std::move(governor);
}

// The position of the first byte that is not part of valid UTF-8 or is a
// control character YAML does not allow (only tab, LF and CR are), or nullopt.
// NUL bytes would also make the parser guess UTF-16/32.
std::optional<YamlPosition> first_invalid_utf8(const std::string& text) {
  int line = 1, column = 1;
  size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    size_t length = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (length == 1 && ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7F))
      return YamlPosition{line, column};
    if (length == 0 || i + length > text.size() || (length == 2 && c < 0xC2))
      return YamlPosition{line, column};
    for (size_t k = 1; k < length; ++k)
      if ((static_cast<unsigned char>(text[i + k]) & 0xC0) != 0x80) return YamlPosition{line, column};
    if (length == 3) {
      const auto c1 = static_cast<unsigned char>(text[i + 1]);
      if ((c == 0xE0 && c1 < 0xA0) || (c == 0xED && c1 >= 0xA0)) return YamlPosition{line, column};
    }
    if (length == 4) {
      const auto c1 = static_cast<unsigned char>(text[i + 1]);
      if ((c == 0xF0 && c1 < 0x90) || c > 0xF4 || (c == 0xF4 && c1 >= 0x90))
        return YamlPosition{line, column};
    }
    if (c == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
    i += length;
  }
  return std::nullopt;
}

struct NameMark {
  std::string name;
  YamlPosition at;
  std::string field;
};

std::optional<Preset> parse_preset_marked(const std::string& text, const std::string& file,
                                          std::string_view kind_dir,
                                          std::vector<ConfigError>& out_errors,
                                          std::vector<NameMark>* names) {
  if (auto at = first_invalid_utf8(text)) {
    out_errors.push_back(
        ConfigError{file, at->line, at->column, "", "invalid UTF-8 or a control character"});
    return std::nullopt;
  }
  auto parsed = parse_yaml(text, file);
  if (auto* error = std::get_if<ConfigError>(&parsed)) {
    out_errors.push_back(*error);
    return std::nullopt;
  }
  const YAML::Node root = std::get<YAML::Node>(parsed);
  ConfigErrors errors(file);
  if (!root.IsMap()) {
    errors.add(root.IsDefined() ? yaml_position(root) : YamlPosition{1, 1}, "",
               "expected a map, got " + describe_yaml_value(root));
    for (auto& e : errors.take()) out_errors.push_back(std::move(e));
    return std::nullopt;
  }
  static const std::vector<std::string_view> allowed = {
      "schema", "kind", "name", "aliases", "description", "risky", "env", "governor"};
  auto entries = yaml_map_entries(root, "", errors, &allowed);
  Preset preset;
  preset.file = file;
  auto missing = [&](const char* key) { errors.add(YamlPosition{1, 1}, key, "required"); };

  if (const YamlEntry* e = find_entry(entries, "schema")) {
    auto schema = read_string(*e, errors);
    if (schema && *schema != "tpark.preset/v1")
      errors.add(e->value_position, e->field,
                 "expected \"tpark.preset/v1\", got " + describe_yaml_value(e->value));
  } else {
    missing("schema");
  }
  if (const YamlEntry* e = find_entry(entries, "kind")) {
    if (auto kind = read_choice(*e, errors, {"perf", "context"})) {
      if (!kind_dir.empty() && *kind != kind_dir)
        errors.add(e->value_position, e->field,
                   "expected " + std::string(kind_dir) + " (the file is in " +
                       std::string(kind_dir) + "/), got " + describe_yaml_value(e->value));
      preset.kind = *kind;
    }
  } else {
    missing("kind");
  }
  if (const YamlEntry* e = find_entry(entries, "name")) {
    if (auto name = read_string(*e, errors)) {
      if (!is_preset_name(*name))
        errors.add(e->value_position, e->field,
                   "expected a name matching ^[a-z][a-z0-9_-]{0,31}$, got " +
                       describe_yaml_value(e->value));
      preset.name = *name;
      if (names) names->push_back({*name, e->value_position, e->field});
    }
  } else {
    missing("name");
  }
  if (const YamlEntry* e = find_entry(entries, "aliases")) {
    if (e->value.IsSequence()) {
      size_t index = 0;
      for (const auto& alias_node : e->value) {
        std::string field = yaml_field(e->field, index++);
        if (!alias_node.IsScalar() || !is_preset_name(alias_node.Scalar())) {
          errors.add(alias_node, field,
                     "expected a name matching ^[a-z][a-z0-9_-]{0,31}$, got " +
                         describe_yaml_value(alias_node));
          continue;
        }
        preset.aliases.push_back(alias_node.Scalar());
        if (names) names->push_back({alias_node.Scalar(), yaml_position(alias_node), field});
      }
    } else {
      errors.add(e->value_position, e->field, "expected a list, got " + describe_yaml_value(e->value));
    }
  }
  if (const YamlEntry* e = find_entry(entries, "description"))
    preset.description = read_string(*e, errors, true).value_or("");
  if (const YamlEntry* e = find_entry(entries, "risky")) preset.risky = read_bool(*e, errors).value_or(false);
  if (const YamlEntry* e = find_entry(entries, "env")) {
    if (expect_map(*e, errors)) {
      auto env_entries = yaml_map_entries(e->value, e->field, errors);
      if (env_entries.empty() && e->value.size() == 0)
        errors.add(e->value_position, e->field, "expected at least one registry key");
      for (const auto& entry : env_entries) {
        const KeySpec* key = find_key(entry.key);
        if (!key) {
          errors.add(entry.key_node, entry.field, "unknown key (not in the registry)");
          continue;
        }
        if (preset.kind == "context" && key->domain == KeyDomain::Perf) {
          errors.add(entry.key_node, entry.field, "perf key in a context preset");
          continue;
        }
        read_env_entry(entry, *key, errors, preset);
      }
    }
  } else {
    missing("env");
  }
  if (const YamlEntry* e = find_entry(entries, "governor")) read_governor(*e, errors, preset);
  // Strings decoded from \u escapes can still be invalid UTF-8 (lone
  // surrogates); such a preset could not be served as JSON.
  try {
    (void)preset.governor.dump();
    (void)Json(preset.description).dump();
    for (const auto& e : preset.env) (void)e.value.dump();
  } catch (const Json::exception&) {
    errors.add(YamlPosition{1, 1}, "", "a string is not valid UTF-8");
  }
  if (!errors.empty()) {
    for (auto& err : errors.take()) out_errors.push_back(std::move(err));
    return std::nullopt;
  }
  return preset;
}

std::optional<std::string> read_text_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

int perf_rank(const std::string& name) {
  for (int i = 0; i < 4; ++i)
    if (name == kPerfPresetNames[i]) return i;
  return 4;
}

}  // namespace

bool Preset::defines(std::string_view key) const {
  return std::any_of(env.begin(), env.end(), [&](const PresetEntry& e) { return e.key == key; });
}

std::vector<std::string> Preset::risky_keys() const {
  std::vector<std::string> out;
  for (const auto& e : env)
    if (e.risky) out.push_back(e.key);
  return out;
}

const Preset* PresetSet::find(std::string_view name_or_alias) const {
  const std::string wanted = lower(name_or_alias);
  for (const auto& preset : items) {
    if (preset.name == wanted) return &preset;
    for (const auto& alias : preset.aliases)
      if (alias == wanted) return &preset;
  }
  return nullptr;
}

Json PresetSet::errors_json() const { return config_errors_json(errors); }

std::optional<Preset> parse_preset(const std::string& text, const std::string& file,
                                   std::string_view kind_dir, std::vector<ConfigError>& errors) {
  return parse_preset_marked(text, file, kind_dir, errors, nullptr);
}

std::shared_ptr<const PresetSet> load_presets(const std::filesystem::path& dir) {
  auto set = std::make_shared<PresetSet>();
  set->dir = dir;
  const std::filesystem::path base = dir.parent_path();
  std::map<std::string, std::string> owner_by_name;  // name or alias -> preset name
  std::vector<Preset> perf, context;
  for (const char* kind : {"perf", "context"}) {
    std::vector<std::filesystem::path> files;
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(dir / kind, ec))
      if (entry.is_regular_file() && entry.path().extension() == ".yaml")
        files.push_back(entry.path());
    std::sort(files.begin(), files.end());
    for (const auto& path : files) {
      std::string label = path.lexically_relative(base).generic_string();
      if (label.empty()) label = path.generic_string();
      auto text = read_text_file(path);
      if (!text) {
        set->errors.push_back(ConfigError{label, 0, 0, "", "cannot read the file"});
        continue;
      }
      std::vector<NameMark> names;
      std::vector<ConfigError> errors;
      auto preset = parse_preset_marked(*text, label, kind, errors, &names);
      // Names and aliases are unique across every file, aliases included.
      std::map<std::string, bool> own;
      for (const auto& mark : names) {
        std::string n = lower(mark.name);
        auto clash = owner_by_name.find(n);
        if (clash != owner_by_name.end())
          errors.push_back(ConfigError{label, mark.at.line, mark.at.column, mark.field,
                                       "duplicate name or alias \"" + n + "\" (already used by " +
                                           clash->second + ")"});
        else if (own.count(n))
          errors.push_back(ConfigError{label, mark.at.line, mark.at.column, mark.field,
                                       "duplicate name or alias \"" + n + "\""});
        own[n] = true;
      }
      if (!errors.empty() || !preset) {
        for (auto& e : errors) set->errors.push_back(std::move(e));
        continue;
      }
      for (const auto& [n, unused] : own) owner_by_name[n] = label;
      (std::string_view(kind) == "perf" ? perf : context).push_back(std::move(*preset));
    }
  }
  std::stable_sort(perf.begin(), perf.end(), [](const Preset& a, const Preset& b) {
    return perf_rank(a.name) < perf_rank(b.name);
  });
  for (auto& p : perf) set->items.push_back(std::move(p));
  for (auto& p : context) set->items.push_back(std::move(p));
  return set;
}

Json DetectedTier::to_json() const {
  return {{"cores", cores}, {"mem_gib", mem_gib}, {"tier", tier}};
}

DetectedTier detect_tier(const MachineFacts& facts) {
  DetectedTier out;
  out.cores = std::max(1u, facts.affinity_cpus);
  if (facts.cgroup_cpu_max) {
    std::istringstream in(*facts.cgroup_cpu_max);
    std::string quota;
    double period = 0;
    if (in >> quota >> period && quota != "max" && period > 0) {
      char* end = nullptr;
      double q = std::strtod(quota.c_str(), &end);
      if (end && *end == '\0' && q > 0)
        out.cores = std::min(out.cores, static_cast<unsigned>(std::max(1.0, std::ceil(q / period))));
    }
  }
  std::optional<double> mem_bytes;
  if (facts.mem_total_bytes) mem_bytes = static_cast<double>(*facts.mem_total_bytes);
  if (facts.cgroup_memory_max) {
    const std::string limit(trim(*facts.cgroup_memory_max));
    char* end = nullptr;
    double bytes = std::strtod(limit.c_str(), &end);
    if (limit != "max" && !limit.empty() && end && *end == '\0' && bytes > 0)
      mem_bytes = mem_bytes ? std::min(*mem_bytes, bytes) : bytes;
  }
  out.mem_gib = mem_bytes ? *mem_bytes / 1073741824.0 : 0;
  const bool known = mem_bytes.has_value();
  auto within = [&](unsigned cores, double gib) {
    return out.cores <= cores || (known && out.mem_gib <= gib);
  };
  if (within(4, 8)) out.tier = "eco";
  else if (within(8, 16)) out.tier = "balanced";
  else if (within(16, 32)) out.tier = "performance";
  else out.tier = "turbo";
  return out;
}

MachineFacts read_machine_facts() {
  MachineFacts facts;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) == 0)
    facts.affinity_cpus = static_cast<unsigned>(CPU_COUNT(&set));
  else
    facts.affinity_cpus = static_cast<unsigned>(std::max(1L, sysconf(_SC_NPROCESSORS_ONLN)));
  // cgroup v2: "0::/path" in /proc/self/cgroup.
  std::filesystem::path cgroup = "/sys/fs/cgroup";
  if (auto self = read_text_file("/proc/self/cgroup")) {
    std::istringstream lines(*self);
    std::string line;
    while (std::getline(lines, line))
      if (line.rfind("0::", 0) == 0) cgroup /= std::filesystem::path(line.substr(3)).relative_path();
  }
  for (const auto& dir : {cgroup, std::filesystem::path("/sys/fs/cgroup")}) {
    if (!facts.cgroup_cpu_max) facts.cgroup_cpu_max = read_text_file(dir / "cpu.max");
    if (!facts.cgroup_memory_max) facts.cgroup_memory_max = read_text_file(dir / "memory.max");
  }
  if (auto meminfo = read_text_file("/proc/meminfo")) {
    std::istringstream lines(*meminfo);
    std::string line;
    while (std::getline(lines, line)) {
      std::istringstream fields(line);
      std::string name;
      uint64_t kib = 0;
      if (fields >> name >> kib && name == "MemTotal:") {
        facts.mem_total_bytes = kib * 1024;
        break;
      }
    }
  }
  return facts;
}

std::filesystem::path default_presets_dir(const std::optional<std::string>& env_dir) {
  if (env_dir && !env_dir->empty()) return *env_dir;
  std::error_code ec;
  auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    auto installed = exe.parent_path().parent_path() / "share" / "tpark" / "presets";
    if (std::filesystem::is_directory(installed / "perf")) return installed;
  }
  return TPARK_SOURCE_PRESETS_DIR;
}

}  // namespace tpark::control
