// host.yaml (README "Host configuration"): one pass over the document that
// fills HostConfig and collects every error with its file:line:column.
#include "config/host_config.h"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <sstream>

#include <spdlog/spdlog.h>

#include "config/settings.h"
#include "config/yaml_support.h"
#include "kernel/kinds.h"

namespace tpark {

namespace {

constexpr std::string_view kHostSchema = "tpark.host/v1";
const std::vector<std::string_view> kTopKeys = {"schema",  "listen",   "state_dir", "plugin_paths",
                                                "plugins", "training", "limits",    "retention"};
const std::vector<std::string_view> kPluginKeys = {"enabled", "config"};
const std::vector<std::string_view> kTrainingKeys = {"dispatch"};
const std::vector<std::string_view> kDispatchModes = {"local", "nats"};
const std::vector<std::string_view> kLimitKeys = {"http_body_bytes", "ingest_max_bytes",
                                                  "sse_max_clients"};
const std::vector<std::string_view> kRetentionKeys = {"events_max_rows", "training_history_max"};
constexpr int64_t kTrainingHistoryMin = 100;
constexpr int64_t kTrainingHistoryMax = 1000000;

void read_plugin_entry(const YamlEntry& entry, HostConfig& config, ConfigErrors& errors) {
  if (!plugin_id_is_valid(entry.key)) {
    errors.add(entry.key_node, entry.field,
               "expected a plugin id (lowercase dot-separated segments of a-z, 0-9, '_', '-'), "
               "got " +
                   describe_yaml_value(entry.key_node));
    return;
  }
  YamlPosition at = yaml_position(entry.key_node);
  PluginSetting setting;
  setting.line = at.line;
  setting.column = at.column;
  if (!yaml_is_null(entry.value)) {
    if (!expect_map(entry, errors)) return;
    for (const YamlEntry& key : yaml_map_entries(entry.value, entry.field, errors, &kPluginKeys)) {
      if (key.key == "enabled") {
        if (yaml_is_null(key.value)) continue;
        setting.enabled = read_bool(key, errors);
      } else if (key.key == "config") {
        // The block itself is checked against the plugin's schema later; only
        // its shape is known here.
        if (!yaml_is_null(key.value) && !expect_map(key, errors)) continue;
        setting.config = key.value;
      }
    }
  }
  config.plugins[entry.key] = std::move(setting);
}

void read_top_entry(const YamlEntry& entry, HostConfig& config, ConfigErrors& errors) {
  const std::string& key = entry.key;
  if (key == "schema") {
    if (entry.value.IsScalar() && entry.value.Scalar() == kHostSchema) return;
    errors.add(
        entry.value_position, entry.field,
        "expected \"" + std::string(kHostSchema) + "\", got " + describe_yaml_value(entry.value));
  } else if (key == "listen") {
    auto text = read_string(entry, errors);
    if (!text) return;
    if (parse_listen_address(*text)) {
      config.listen = *text;
    } else {
      errors.add(entry.value_position, entry.field,
                 "expected ADDR:PORT with port in [0,65535] (IPv6 as [::1]:PORT), got " +
                     describe_yaml_value(entry.value));
    }
  } else if (key == "state_dir") {
    config.state_dir = read_string(entry, errors);
  } else if (key == "plugin_paths") {
    if (auto paths = read_string_list(entry, errors)) config.plugin_paths = std::move(*paths);
  } else if (key == "plugins") {
    if (!expect_map(entry, errors)) return;
    for (const YamlEntry& plugin : yaml_map_entries(entry.value, entry.field, errors))
      read_plugin_entry(plugin, config, errors);
  } else if (key == "training") {
    if (!expect_map(entry, errors)) return;
    for (const YamlEntry& item : yaml_map_entries(entry.value, entry.field, errors, &kTrainingKeys))
      if (!yaml_is_null(item.value))
        config.training_dispatch = read_choice(item, errors, kDispatchModes);
  } else if (key == "limits") {
    if (!expect_map(entry, errors)) return;
    for (const YamlEntry& item : yaml_map_entries(entry.value, entry.field, errors, &kLimitKeys)) {
      if (yaml_is_null(item.value)) continue;
      auto value = read_int(item, errors, 1);
      if (!value) continue;
      uint64_t bytes_or_count = static_cast<uint64_t>(*value);
      if (item.key == "http_body_bytes") config.http_body_bytes = bytes_or_count;
      if (item.key == "ingest_max_bytes") config.ingest_max_bytes = bytes_or_count;
      if (item.key == "sse_max_clients") config.sse_max_clients = bytes_or_count;
    }
  } else if (key == "retention") {
    if (!expect_map(entry, errors)) return;
    for (const YamlEntry& item :
         yaml_map_entries(entry.value, entry.field, errors, &kRetentionKeys)) {
      // events_max_rows: null is meaningful (no row cap), as is leaving it out.
      if (yaml_is_null(item.value)) continue;
      if (item.key == "events_max_rows") {
        if (auto rows = read_int(item, errors, 1))
          config.events_max_rows = static_cast<uint64_t>(*rows);
      } else if (auto rows = read_int(item, errors, kTrainingHistoryMin, kTrainingHistoryMax)) {
        config.training_history_max = static_cast<uint64_t>(*rows);
      }
    }
  }
}

}  // namespace

std::optional<ListenAddress> parse_listen_address(std::string_view text) {
  size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) return std::nullopt;
  std::string_view host = text.substr(0, colon);
  std::string_view port = text.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
    if (host.find(':') == std::string_view::npos) return std::nullopt;
  } else if (host.find_first_of(":[]") != std::string_view::npos) {
    return std::nullopt;  // an IPv6 address needs its brackets
  }
  if (host.empty()) return std::nullopt;
  for (char c : host)
    if (std::isspace(static_cast<unsigned char>(c)) || std::iscntrl(static_cast<unsigned char>(c)))
      return std::nullopt;
  if (port.empty() || port.size() > 5) return std::nullopt;
  uint32_t number = 0;
  for (char c : port) {
    if (c < '0' || c > '9') return std::nullopt;
    number = number * 10 + static_cast<uint32_t>(c - '0');
  }
  if (number > 65535) return std::nullopt;
  return ListenAddress{std::string(host), static_cast<uint16_t>(number)};
}

HostConfigResult parse_host_config(const std::string& yaml_text, const std::string& file) {
  HostConfig config;
  config.file = file;
  auto parsed = parse_yaml(yaml_text, file);
  if (auto* syntax_error = std::get_if<ConfigError>(&parsed))
    return std::vector<ConfigError>{std::move(*syntax_error)};
  const YAML::Node& root = std::get<YAML::Node>(parsed);

  ConfigErrors errors(file);
  if (yaml_is_null(root)) return config;  // an empty file: every default
  if (!root.IsMap()) {
    errors.add(root, "", "expected a map, got " + describe_yaml_value(root));
    return errors.take();
  }
  for (const YamlEntry& entry : yaml_map_entries(root, "", errors, &kTopKeys)) {
    if (yaml_is_null(entry.value)) continue;
    read_top_entry(entry, config, errors);
  }
  if (!errors.empty()) return errors.take();
  return config;
}

HostConfigResult load_host_config(const std::filesystem::path& path) {
  auto fail = [&](std::string why) {
    return std::vector<ConfigError>{ConfigError{path.string(), 0, 0, "", std::move(why)}};
  };
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return fail("no such file");
  if (!std::filesystem::is_regular_file(path, ec)) return fail("not a regular file");
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail("cannot open the file");
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return fail("cannot read the file");
  return parse_host_config(text.str(), path.string());
}

std::string effective_training_dispatch(const HostConfig& config) {
  if (auto mode = env_string("ARW_TRAINING_DISPATCH")) {
    if (std::find(kDispatchModes.begin(), kDispatchModes.end(), *mode) != kDispatchModes.end())
      return *mode;
    spdlog::warn("ARW_TRAINING_DISPATCH={} is not local or nats; ignored", *mode);
  }
  return config.training_dispatch.value_or("local");
}

}  // namespace tpark
