// The flags every command takes (--base, --admin-token, --json, --pretty,
// --timeout) with their environment fallbacks, and the base URL split into
// what the HTTP client needs.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace CLI {
class App;
}

namespace tpark::cli {

inline constexpr const char* kDefaultBase = "http://127.0.0.1:8091";

struct Globals {
  std::string base = kDefaultBase;  // env ARW_BASE
  std::string admin_token;          // env ARW_ADMIN_TOKEN
  bool json = false;
  bool pretty = false;  // implies json
  double timeout_secs = 10;

  std::chrono::milliseconds timeout() const;
  bool json_output() const { return json || pretty; }
};

// http://host[:port][/prefix]; only plain http.
struct BaseUrl {
  std::string host;
  uint16_t port = 80;
  std::string prefix;  // "" or "/path" without a trailing slash
};

// Throws CliError (usage) naming --base / ARW_BASE when `text` is not such a URL.
BaseUrl parse_base_url(const std::string& text);

// Registers the global flags on the top-level app; subcommands inherit them.
void add_global_flags(CLI::App& app, Globals& globals);

}  // namespace tpark::cli
