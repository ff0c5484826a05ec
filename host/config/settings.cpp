#include "config/settings.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include "util/text.h"

namespace tpark {

namespace {

// "ADDR:PORT", "[v6]:PORT" (config/host_config.h). Returns false for anything else.
bool split_listen(const std::string& text, std::string& address, uint16_t& port) {
  auto parsed = parse_listen_address(text);
  if (!parsed) return false;
  address = parsed->host;
  port = parsed->port;
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
  std::string text(trim(value));
  if (text.empty()) return std::nullopt;
  return text;
}

std::optional<uint64_t> env_u64_in_range(const char* name, uint64_t min, uint64_t max) {
  auto text = env_string(name);
  if (!text) return std::nullopt;
  bool digits = !text->empty() && text->size() <= 19;
  for (char c : *text)
    if (c < '0' || c > '9') digits = false;
  if (!digits) return std::nullopt;
  uint64_t value = std::strtoull(text->c_str(), nullptr, 10);
  if (value < min || value > max) return std::nullopt;
  return value;
}

uint64_t env_u64(const char* name, uint64_t fallback, uint64_t min, uint64_t max) {
  auto text = env_string(name);
  if (!text) return fallback;
  if (auto value = env_u64_in_range(name, min, max)) return *value;
  spdlog::warn("{}={} is not an integer in [{},{}]; using {}", name, *text, min, max, fallback);
  return fallback;
}

namespace {

// The flags, described once: the parser and --help come from this table.
void describe_flags(CLI::App& app, CommandLine& cl) {
  app.set_help_flag("-h,--help", "Print this help and exit");
  auto into = [](std::optional<std::string>& field) {
    return [&field](const std::string& value) { field = value; };
  };
  app.add_option_function<std::string>(
         "--config", into(cl.config_file),
         "host.yaml to load (default: the shipped presets/host.yaml, embedded)")
      ->type_name("FILE");
  app.add_option_function<std::string>("--listen", into(cl.listen),
                                       "Address and port to bind, e.g. 127.0.0.1:8091 or [::1]:0 "
                                       "(port 0 picks one; the log says which)")
      ->type_name("ADDR:PORT");
  app.add_option_function<std::string>("--state-dir", into(cl.state_dir),
                                       "Journal and lock directory (default ./state)")
      ->type_name("DIR");
  app.add_option("--plugin-dir", cl.plugin_dirs,
                 "Another directory of plugins (DIR/<name>/plugin.yaml); repeatable")
      ->type_name("DIR")
      ->allow_extra_args(false);
  app.add_flag("--check-presets", cl.check_presets,
               "Validate the preset files, print the errors on stderr, exit 0 or 1");
  app.add_flag("--list-routes", cl.list_routes,
               "Print the served routes (METHOD TEMPLATE) and exit; starts nothing");
  app.add_flag("--version", cl.version, "Print the version and exit");
  app.footer(
      "Environment (the ones that matter most; docs/config.md lists every ARW_* key):\n"
      "  ARW_BIND, ARW_PORT          listen address and port (--listen wins)\n"
      "  ARW_STATE_DIR               state directory (--state-dir wins)\n"
      "  TPARK_PLUGIN_PATH           more plugin directories, ':'-separated\n"
      "  TPARK_UI_DIR                the web page's files (default: the source tree's ui/)\n"
      "  ARW_ADMIN_TOKEN             admin token (X-ARW-Admin or Authorization: Bearer);\n"
      "  ARW_ADMIN_TOKEN_SHA256      or its SHA-256 in hex. Without either the host binds\n"
      "                              loopback only and treats loopback clients as admin\n"
      "  ARW_PERF_PRESET, ARW_CONTEXT_PRESET, ARW_PRESETS_DIR   presets (docs/config.md)\n"
      "  ARW_SECURITY_POSTURE, ARW_POLICY_FILE, ARW_ACTION_STAGING_MODE\n"
      "                              the control plane (docs/control.md)\n"
      "Precedence: flag > environment > host.yaml > built-in default.\n"
      "More: README.md, docs/ops.md (running it), docs/config.md, docs/control.md.");
}

}  // namespace

std::string usage_text() {
  CommandLine ignored;
  CLI::App app{"tpark-host: the Training Park host (journal, telemetry, plugins, control plane).",
               "tpark-host"};
  describe_flags(app, ignored);
  return app.help();
}

std::optional<CommandLine> parse_command_line(int argc, char** argv, std::string* error) {
  CommandLine cl;
  CLI::App app{"tpark-host", "tpark-host"};
  describe_flags(app, cl);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    cl.help = true;
  } catch (const CLI::ParseError& e) {
    *error = e.what();
    return std::nullopt;
  }
  return cl;
}

HostConfigResult reload_host_config(const Settings& settings) {
  if (settings.config_path.empty())
    return parse_host_config(embedded_host_yaml(), "presets/host.yaml (embedded)");
  return load_host_config(settings.config_path);
}

std::variant<Settings, StartupError> resolve_settings(
    const CommandLine& cl, const std::filesystem::path& builtin_plugin_dir) {
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
  s.http_stream_write_timeout_ms = env_u64("ARW_HTTP_STREAM_WRITE_TIMEOUT_MS", 60000, 1, 3600000);
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
  s.read_model_max_delay_ms =
      std::max(s.read_model_coalesce_ms, env_u64("ARW_READ_MODEL_MAX_DELAY_MS", 1000, 0, 600000));
  s.route_stats_coalesce_ms = env_u64("ARW_ROUTE_STATS_COALESCE_MS", 250, 0, 600000);
  s.route_stats_publish_ms = env_u64("ARW_ROUTE_STATS_PUBLISH_MS", 2000, 0, 600000);
  s.sse_max_clients = env_u64("ARW_EVENTS_SSE_MAX_CLIENTS", yaml.sse_max_clients, 1, 1000000);
  s.sse_queue = env_u64("ARW_EVENTS_SSE_QUEUE", 1024, 1, 1u << 20);
  s.sse_keepalive_secs = env_u64("ARW_EVENTS_SSE_KEEPALIVE_SECS", 10, 1, 3600);
  s.sse_replay_max = env_u64("ARW_EVENTS_SSE_REPLAY_MAX", 1000, 0, 1000000);
  // tp.section.events reads ARW_EVENTS_KINDS_MAX too and warns about a bad
  // value; the host takes the same value silently, so the warning shows once.
  s.events_kinds_max = env_u64_in_range("ARW_EVENTS_KINDS_MAX", 1, 1000000);
  s.presets_dir = env_string("ARW_PRESETS_DIR");
  s.api_envelope = env_string("ARW_API_ENVELOPE").value_or("") == "1";
  s.ui_dir = env_string("TPARK_UI_DIR").value_or(TPARK_SOURCE_UI_DIR);
  if (env_string("ARW_EVENTS_SSE_MODE"))
    spdlog::warn("ARW_EVENTS_SSE_MODE is ignored: GET /events has one mode (telemetry.md 7)");
  return s;
}

}  // namespace tpark
