#include "globals.h"

#include <charconv>

#include <CLI/CLI.hpp>

#include "cli_error.h"

namespace tpark::cli {

std::chrono::milliseconds Globals::timeout() const {
  return std::chrono::milliseconds(static_cast<int64_t>(timeout_secs * 1000));
}

BaseUrl parse_base_url(const std::string& text) {
  const auto bad = [&](const std::string& why) {
    return CliError(kExitUsage, "invalid base URL '" + text + "': " + why +
                                    " (set --base or ARW_BASE, e.g. " + kDefaultBase + ")");
  };
  const std::string scheme = "http://";
  if (text.rfind(scheme, 0) != 0) throw bad("only http:// is supported");
  std::string rest = text.substr(scheme.size());
  BaseUrl url;
  const size_t slash = rest.find('/');
  if (slash != std::string::npos) {
    url.prefix = rest.substr(slash);
    rest.resize(slash);
    while (!url.prefix.empty() && url.prefix.back() == '/') url.prefix.pop_back();
  }
  const size_t colon = rest.rfind(':');
  if (colon != std::string::npos && rest.find(']') == std::string::npos) {
    const std::string port = rest.substr(colon + 1);
    unsigned value = 0;
    auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc() || ptr != port.data() + port.size() || value == 0 || value > 65535)
      throw bad("the port must be 1..65535");
    url.port = static_cast<uint16_t>(value);
    rest.resize(colon);
  }
  if (rest.empty()) throw bad("no host");
  url.host = rest;
  return url;
}

void add_global_flags(CLI::App& app, Globals& globals) {
  app.add_option("--base", globals.base, "host base URL")
      ->envname("ARW_BASE")
      ->default_str(kDefaultBase);
  app.add_option("--admin-token", globals.admin_token, "admin token (sent as X-ARW-Admin)")
      ->envname("ARW_ADMIN_TOKEN");
  app.add_flag("--json", globals.json, "machine-readable JSON output");
  app.add_flag("--pretty", globals.pretty, "indented JSON output (implies --json)");
  app.add_option("--timeout", globals.timeout_secs, "seconds per request")
      ->check(CLI::PositiveNumber)
      ->default_str("10");
}

}  // namespace tpark::cli
