#include "app/settings.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include <spdlog/spdlog.h>

namespace tpark {

namespace {

std::string trim(std::string s) {
  auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  while (!s.empty() && blank(s.back())) s.pop_back();
  size_t i = 0;
  while (i < s.size() && blank(s[i])) ++i;
  return s.substr(i);
}

// "ADDR:PORT", "[v6]:PORT". Returns false for anything else.
bool split_listen(const std::string& text, std::string& address, uint16_t& port) {
  size_t colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 >= text.size()) return false;
  std::string host = text.substr(0, colon);
  if (host.front() == '[') {
    if (host.back() != ']') return false;
    host = host.substr(1, host.size() - 2);
  }
  std::string port_text = text.substr(colon + 1);
  if (port_text.size() > 5) return false;
  for (char c : port_text)
    if (c < '0' || c > '9') return false;
  unsigned long value = std::strtoul(port_text.c_str(), nullptr, 10);
  if (value > 65535 || host.empty()) return false;
  address = host;
  port = static_cast<uint16_t>(value);
  return true;
}

bool looks_like_ip(const std::string& address) {
  if (address.empty()) return false;
  bool v6 = address.find(':') != std::string::npos;
  if (v6) {
    for (char c : address)
      if (!(std::isxdigit(static_cast<unsigned char>(c)) || c == ':' || c == '.')) return false;
    return true;
  }
  int dots = 0;
  size_t start = 0;
  for (size_t i = 0; i <= address.size(); ++i) {
    if (i == address.size() || address[i] == '.') {
      if (i == start || i - start > 3) return false;
      int octet = std::atoi(address.substr(start, i - start).c_str());
      if (octet > 255) return false;
      if (i < address.size()) ++dots;
      start = i + 1;
    } else if (address[i] < '0' || address[i] > '9') {
      return false;
    }
  }
  return dots == 3;
}

}  // namespace

std::optional<std::string> env_string(const char* name) {
  const char* value = std::getenv(name);
  if (!value) return std::nullopt;
  std::string text = trim(value);
  if (text.empty()) return std::nullopt;
  return text;
}

uint64_t env_u64(const char* name, uint64_t fallback, uint64_t min, uint64_t max) {
  auto text = env_string(name);
  if (!text) return fallback;
  bool digits = !text->empty() && text->size() <= 19;
  for (char c : *text)
    if (c < '0' || c > '9') digits = false;
  if (digits) {
    uint64_t value = std::strtoull(text->c_str(), nullptr, 10);
    if (value >= min && value <= max) return value;
  }
  spdlog::warn("{}={} is not an integer in [{},{}]; using {}", name, *text, min, max, fallback);
  return fallback;
}

std::string usage_text() {
  return "usage: tpark-host [--config FILE] [--listen ADDR:PORT] [--state-dir DIR]\n"
         "                  [--plugin-dir DIR]... [--check-presets] [--list-routes]\n"
         "                  [--version] [--help]\n";
}

std::optional<CommandLine> parse_command_line(int argc, char** argv, std::string* error) {
  CommandLine cl;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    std::string value;
    bool has_inline = false;
    if (auto eq = arg.find('='); arg.rfind("--", 0) == 0 && eq != std::string::npos) {
      value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
      has_inline = true;
    }
    auto take = [&](std::string& out) {
      if (has_inline) {
        out = value;
        return true;
      }
      if (i + 1 >= argc) {
        *error = arg + " needs a value";
        return false;
      }
      out = argv[++i];
      return true;
    };
    std::string v;
    if (arg == "--config") {
      if (!take(v)) return std::nullopt;
      cl.config_file = v;
    } else if (arg == "--listen") {
      if (!take(v)) return std::nullopt;
      cl.listen = v;
    } else if (arg == "--state-dir") {
      if (!take(v)) return std::nullopt;
      cl.state_dir = v;
    } else if (arg == "--plugin-dir") {
      if (!take(v)) return std::nullopt;
      cl.plugin_dirs.push_back(v);
    } else if (arg == "--check-presets") {
      cl.check_presets = true;
    } else if (arg == "--list-routes") {
      cl.list_routes = true;
    } else if (arg == "--help" || arg == "-h") {
      cl.help = true;
    } else if (arg == "--version") {
      cl.version = true;
    } else {
      *error = "unknown argument: " + arg;
      return std::nullopt;
    }
  }
  return cl;
}

HostConfigResult reload_host_config(const Settings& settings) {
  if (settings.config_path.empty())
    return parse_host_config(embedded_host_yaml(), "presets/host.yaml (embedded)");
  return load_host_config(settings.config_path);
}

std::variant<Settings, StartupError> resolve_settings(const CommandLine& cl,
                                                      const std::filesystem::path& builtin_plugin_dir) {
  Settings s;
  s.command_line = cl;
  if (cl.config_file) s.config_path = *cl.config_file;
  {
    HostConfigResult loaded = reload_host_config(s);
    if (auto* errors = std::get_if<std::vector<ConfigError>>(&loaded)) {
      std::string message = "invalid host configuration:";
      for (const auto& e : *errors) message += "\n  " + e.to_string();
      return StartupError{78, message};
    }
    s.host_config = std::get<HostConfig>(std::move(loaded));
  }
  const HostConfig& yaml = s.host_config;

  // listen: --listen > ARW_BIND/ARW_PORT > host.yaml > 127.0.0.1:8091
  if (yaml.listen && !split_listen(*yaml.listen, s.bind_address, s.port))
    return StartupError{78, "host.yaml listen: expected ADDR:PORT, got " + *yaml.listen};
  if (auto bind = env_string("ARW_BIND")) {
    if (!looks_like_ip(*bind))
      return StartupError{78, "ARW_BIND: expected an IP address, got \"" + *bind + "\""};
    s.bind_address = *bind;
  }
  if (env_string("ARW_PORT")) s.port = static_cast<uint16_t>(env_u64("ARW_PORT", s.port, 0, 65535));
  if (cl.listen && !split_listen(*cl.listen, s.bind_address, s.port))
    return StartupError{2, "--listen: expected ADDR:PORT, got " + *cl.listen};
  if (!looks_like_ip(s.bind_address))
    return StartupError{78, "listen address must be an IP address, got \"" + s.bind_address + "\""};

  // state dir: flag > ARW_STATE_DIR > host.yaml > ./state
  if (yaml.state_dir) s.state_dir = *yaml.state_dir;
  if (auto dir = env_string("ARW_STATE_DIR")) s.state_dir = *dir;
  if (cl.state_dir) s.state_dir = *cl.state_dir;

  // plugin paths: the built-in directory first, then flags, env, host.yaml.
  s.builtin_plugin_dirs.push_back(builtin_plugin_dir);
  for (const auto& d : cl.plugin_dirs) s.extra_plugin_dirs.emplace_back(d);
  if (auto path = env_string("TPARK_PLUGIN_PATH")) {
    size_t start = 0;
    while (start <= path->size()) {
      size_t colon = path->find(':', start);
      if (colon == std::string::npos) colon = path->size();
      if (colon > start) s.extra_plugin_dirs.emplace_back(path->substr(start, colon - start));
      start = colon + 1;
    }
  }
  for (const auto& d : yaml.plugin_paths) s.extra_plugin_dirs.emplace_back(d);

  s.auth.token = env_string("ARW_ADMIN_TOKEN");
  s.auth.token_sha256 = env_string("ARW_ADMIN_TOKEN_SHA256");
  s.rate.limit = env_u64("ARW_ADMIN_RATE_LIMIT", 600, 0, 100000000);
  s.rate.window_secs = env_u64("ARW_ADMIN_RATE_WINDOW_SECS", 60, 1, 86400);
  s.rate.trust_forward_headers = env_string("ARW_TRUST_FORWARD_HEADERS").value_or("") == "1";

  s.http_body_limit = env_u64("ARW_HTTP_BODY_LIMIT", yaml.http_body_bytes, 1, 1ull << 34);
  s.http_workers = env_u64("ARW_HTTP_WORKERS", 8, 1, 256);
  s.http_queue_max = env_u64("ARW_HTTP_QUEUE_MAX", 512, 1, 1000000);
  if (env_string("ARW_HTTP_MAX_CONC_PER_IP"))
    s.http_max_conc_per_ip = env_u64("ARW_HTTP_MAX_CONC_PER_IP", 0, 0, 65536);
  s.http_header_timeout_ms = env_u64("ARW_HTTP_HEADER_TIMEOUT_MS", 10000, 1, 3600000);
  s.http_idle_timeout_ms = env_u64("ARW_HTTP_IDLE_TIMEOUT_MS", 60000, 1, 3600000);
  s.http_body_timeout_ms = env_u64("ARW_HTTP_BODY_TIMEOUT_MS", 60000, 1, 3600000);
  s.public_rate_limit = env_u64("ARW_PUBLIC_RATE_LIMIT", 60000, 0, 100000000);
  s.public_rate_window_secs = env_u64("ARW_PUBLIC_RATE_WINDOW_SECS", 60, 1, 86400);
  s.ingest_max_bytes = env_u64("ARW_EVENTS_INGEST_MAX_BYTES", yaml.ingest_max_bytes, 1, 1ull << 34);
  s.ingest_max_line_bytes = env_u64("ARW_EVENTS_INGEST_MAX_LINE_BYTES", 262144, 1, 1ull << 34);
  s.plugin_inbox = env_u64("ARW_PLUGIN_INBOX", 65536, 1, 1ull << 26);
  s.section_timeout_ms = env_u64("ARW_TELEMETRY_SECTION_TIMEOUT_MS", 200, 1, 600000);
  s.exporter_queue_items = env_u64("ARW_EXPORTER_QUEUE_ITEMS", 1024, 1, 1ull << 20);
  s.exporter_stall_ms = env_u64("ARW_EXPORTER_STALL_MS", 5000, 1, 600000);
  s.plugin_stop_timeout_ms = env_u64("TPARK_PLUGIN_STOP_TIMEOUT_MS", 2000, 1, 600000);
  s.events_max_rows = yaml.events_max_rows;
  if (env_string("ARW_EVENTS_MAX_ROWS"))
    s.events_max_rows = env_u64("ARW_EVENTS_MAX_ROWS", 0, 1, 1ull << 62);
  if (s.events_max_rows && *s.events_max_rows == 0) s.events_max_rows.reset();
  if (env_string("ARW_EVENTS_RETENTION_DAYS")) {
    uint64_t days = env_u64("ARW_EVENTS_RETENTION_DAYS", 0, 1, 100000);
    if (days) s.events_retention_days = days;
  }
  s.events_prune_sec = env_u64("ARW_EVENTS_PRUNE_SEC", 60, 1, 86400);

  // Read models and SSE (telemetry.md 6, 7).
  s.read_model_coalesce_ms = env_u64("ARW_READ_MODEL_COALESCE_MS", 250, 0, 600000);
  s.read_model_max_delay_ms = std::max(
      s.read_model_coalesce_ms, env_u64("ARW_READ_MODEL_MAX_DELAY_MS", 1000, 0, 600000));
  s.route_stats_coalesce_ms = env_u64("ARW_ROUTE_STATS_COALESCE_MS", 250, 0, 600000);
  s.route_stats_publish_ms = env_u64("ARW_ROUTE_STATS_PUBLISH_MS", 2000, 0, 600000);
  s.sse_max_clients = env_u64("ARW_EVENTS_SSE_MAX_CLIENTS", yaml.sse_max_clients, 1, 1000000);
  s.sse_queue = env_u64("ARW_EVENTS_SSE_QUEUE", 1024, 1, 1u << 20);
  s.sse_keepalive_secs = env_u64("ARW_EVENTS_SSE_KEEPALIVE_SECS", 10, 1, 3600);
  s.sse_replay_max = env_u64("ARW_EVENTS_SSE_REPLAY_MAX", 1000, 0, 1000000);
  if (env_string("ARW_EVENTS_SSE_MODE"))
    spdlog::warn("ARW_EVENTS_SSE_MODE is ignored: GET /events has one mode (telemetry.md 7)");
  return s;
}

}  // namespace tpark
