// host.yaml (README "Host configuration"): which plugins load, their config
// blocks, limits and retention. Read with yaml-cpp keeping node marks, so every
// error names file:line:column and the key. Unknown keys are errors.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "config/errors.h"

namespace tpark {

struct PluginSetting {
  std::optional<bool> enabled;  // absent: the load rule decides
  // The plugin's own block (undefined/null when absent), a map otherwise. It
  // shares the parsed document (kept alive by the node) so its marks survive
  // for validate_plugin_config's messages; YAML::Clone would drop them.
  YAML::Node config;
  int line = 0, column = 0;  // where the entry is, for messages
};

struct HostConfig {
  std::string file;                   // path as given, or "presets/host.yaml (embedded)"
  std::optional<std::string> listen;  // "ADDR:PORT"
  std::optional<std::string> state_dir;
  std::vector<std::string> plugin_paths;
  std::map<std::string, PluginSetting> plugins;  // by plugin id
  std::optional<std::string> training_dispatch;  // local | nats
  uint64_t http_body_bytes = 1048576;
  uint64_t ingest_max_bytes = 4194304;
  uint64_t sse_max_clients = 2048;
  std::optional<uint64_t> events_max_rows;
  uint64_t training_history_max = 10000;
};

using HostConfigResult = std::variant<HostConfig, std::vector<ConfigError>>;

// "ADDR:PORT" split: port 0..65535, a non-empty address without blanks, and
// IPv6 in brackets ("[::1]:8091"; `host` is then "::1"). Used for the YAML
// key and the --listen flag alike.
struct ListenAddress {
  std::string host;
  uint16_t port = 0;
};
std::optional<ListenAddress> parse_listen_address(std::string_view text);

// Parses YAML text; `file` is used in error messages and HostConfig::file.
// Every key is optional and a key whose value is null counts as absent. All
// errors are collected: unknown and duplicate keys point at the key, wrong
// types and ranges at the value.
HostConfigResult parse_host_config(const std::string& yaml_text, const std::string& file);
// Reads and parses a file.
HostConfigResult load_host_config(const std::filesystem::path& path);
// The shipped presets/host.yaml, compiled into the binary.
const std::string& embedded_host_yaml();

// control.md 5.6: ARW_TRAINING_DISPATCH (local | nats) overrides
// training.dispatch; "local" when neither is set (an invalid variable is
// ignored with a warning).
std::string effective_training_dispatch(const HostConfig& config);

}  // namespace tpark
