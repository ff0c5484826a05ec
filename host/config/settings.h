// Host settings resolved once at start: flag > env > host.yaml > built-in
// default (README "Running the host"). The host reads its environment only
// through env_string/env_u64 below (no other getenv in host/); the values a
// lower layer needs are passed in. Env vars are read once; a malformed
// value falls back to its default with one warning, except the security and
// selector variables, which stop startup (exit 78, control.md 1.1).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "config/host_config.h"
#include "http/pipeline.h"

namespace tpark {

struct CommandLine {
  std::optional<std::string> config_file;
  std::optional<std::string> listen;
  std::optional<std::string> state_dir;
  std::vector<std::string> plugin_dirs;
  bool check_presets = false;
  bool list_routes = false;  // print "METHOD TEMPLATE" per served route and exit
  bool help = false;
  bool version = false;
};

// Parses argv; on error returns nullopt and fills *error.
std::optional<CommandLine> parse_command_line(int argc, char** argv, std::string* error);
std::string usage_text();

// A fatal startup problem with its exit code (78 = configuration error).
struct StartupError {
  int exit_code = 1;
  std::string message;
};

struct Settings {
  CommandLine command_line;
  HostConfig host_config;
  std::string config_path;  // empty: the embedded default
  std::string bind_address = "127.0.0.1";
  uint16_t port = 8091;
  std::filesystem::path state_dir = "./state";
  std::vector<std::filesystem::path> builtin_plugin_dirs;
  std::vector<std::filesystem::path> extra_plugin_dirs;
  http::AuthSettings auth;
  http::RateSettings rate;
  uint64_t http_body_limit = 1048576;
  uint64_t ingest_max_bytes = 4194304;
  uint64_t ingest_max_line_bytes = 262144;
  uint64_t plugin_inbox = 65536;
  uint64_t section_timeout_ms = 200;
  uint64_t exporter_queue_items = 1024;  // ARW_EXPORTER_QUEUE_ITEMS: per exporter
  uint64_t exporter_stall_ms = 5000;     // ARW_EXPORTER_STALL_MS: export_batch longer = unhealthy
  uint64_t plugin_stop_timeout_ms = 2000;
  std::optional<uint64_t> events_max_rows;
  std::optional<uint64_t> events_retention_days;
  uint64_t events_prune_sec = 60;
  unsigned http_threads = 2;
  // The HTTP server's limits (docs/ops.md "Connection limits"). The total
  // connection cap is the effective ARW_HTTP_MAX_CONC, read in app/setup.cpp once
  // the presets are loaded; unset per-address cap = all but an eighth of it.
  uint64_t http_workers = 8;                     // ARW_HTTP_WORKERS
  uint64_t http_queue_max = 512;                 // ARW_HTTP_QUEUE_MAX
  std::optional<uint64_t> http_max_conc_per_ip;  // ARW_HTTP_MAX_CONC_PER_IP
  uint64_t http_header_timeout_ms = 10000;       // ARW_HTTP_HEADER_TIMEOUT_MS
  uint64_t http_idle_timeout_ms = 60000;         // ARW_HTTP_IDLE_TIMEOUT_MS
  uint64_t http_body_timeout_ms = 60000;         // ARW_HTTP_BODY_TIMEOUT_MS
  uint64_t public_rate_limit = 60000;            // ARW_PUBLIC_RATE_LIMIT, 0 disables
  uint64_t public_rate_window_secs = 60;         // ARW_PUBLIC_RATE_WINDOW_SECS
  // ARW_HTTP_STREAM_WRITE_TIMEOUT_MS: a stream write the client does not take closes it.
  uint64_t http_stream_write_timeout_ms = 60000;
  // Read models (telemetry.md 6): C and M, and route_stats' own pair as read
  // at start (the live config takes these over; see route_stats_coalescing).
  uint64_t read_model_coalesce_ms = 250;
  uint64_t read_model_max_delay_ms = 1000;
  uint64_t route_stats_coalesce_ms = 250;
  uint64_t route_stats_publish_ms = 2000;
  // SSE (telemetry.md 7).
  uint64_t sse_max_clients = 2048;  // env > host.yaml limits.sse_max_clients
  uint64_t sse_queue = 1024;
  uint64_t sse_keepalive_secs = 10;
  uint64_t sse_replay_max = 1000;
  // ARW_EVENTS_KINDS_MAX (telemetry.md 2.1), when set and valid.
  std::optional<uint64_t> events_kinds_max;
  std::optional<std::string> presets_dir;  // ARW_PRESETS_DIR
  bool api_envelope = false;               // ARW_API_ENVELOPE=1 (control.md 1.3)
  // The web page's files (docs/ui.md): TPARK_UI_DIR, else the source tree's
  // ui/ compiled in. Its node_modules/ holds uPlot and fast-json-patch.
  std::filesystem::path ui_dir;
};

// Reads an unsigned env var in [min,max]; unset/blank → fallback; malformed or
// out of range → fallback plus one warning naming the variable.
uint64_t env_u64(const char* name, uint64_t fallback, uint64_t min, uint64_t max);
std::optional<std::string> env_string(const char* name);  // unset or blank → nullopt
// The same without a fallback or a warning: nullopt when unset, malformed or
// out of range.
std::optional<uint64_t> env_u64_in_range(const char* name, uint64_t min, uint64_t max);

// Resolves everything. `builtin_plugin_dir` is where the built-in plugins are.
// Returns the settings or a StartupError (bad config file, bad selector env).
std::variant<Settings, StartupError> resolve_settings(
    const CommandLine& command_line, const std::filesystem::path& builtin_plugin_dir);

// Reloads host.yaml from the same source as at start (SIGHUP, POST reload).
HostConfigResult reload_host_config(const Settings& settings);

}  // namespace tpark
