// A running tpark-host for integration tests: a temp state dir, a host.yaml,
// the real binary on 127.0.0.1:0 with ARW_PERF_PRESET=balanced, and admin
// requests with the test token.
#pragma once

#include <strings.h>

#include <algorithm>
#include <fstream>
#include <memory>
#include <optional>
#include <string>

#include "support/host_process.h"
#include "support/http_client.h"

namespace tpark::test {

inline constexpr const char* kToken = "t";

struct TestHostOptions {
  std::string host_yaml = "schema: tpark.host/v1\n";
  EnvList env;                         // added to the defaults below
  bool with_token = true;              // ARW_ADMIN_TOKEN=t
  bool rate_limit_off = true;          // ARW_ADMIN_RATE_LIMIT=0
  std::vector<std::string> extra_args;
  std::string builtin_plugin_dir = TPARK_BUILTIN_PLUGIN_DIR;
};

class TestHost {
 public:
  explicit TestHost(TestHostOptions options = {}) : options_(std::move(options)) { start(); }

  // (Re)starts the host on the same state dir and config.
  void start() {
    {
      std::ofstream out(config_path());
      out << options_.host_yaml;
    }
    HostProcess::Options o;
    o.args = {"--listen", "127.0.0.1:0", "--state-dir", state_dir(), "--config", config_path()};
    for (const auto& a : options_.extra_args) o.args.push_back(a);
    // Tests are not about render latency: a shared, loaded machine must not
    // turn a slow first render into a `timeout` section (tested on its own).
    o.env.emplace_back("ARW_TELEMETRY_SECTION_TIMEOUT_MS", "5000");
    // The acceptance checks' setup (control.md 10): the same perf preset on
    // every machine, whatever tier it detects. Tests may override it.
    o.env.emplace_back("ARW_PERF_PRESET", "balanced");
    for (const auto& kv : options_.env) o.env.push_back(kv);
    if (options_.with_token) o.env.emplace_back("ARW_ADMIN_TOKEN", kToken);
    if (options_.rate_limit_off) o.env.emplace_back("ARW_ADMIN_RATE_LIMIT", "0");
    o.env.emplace_back("TPARK_BUILTIN_PLUGIN_DIR", options_.builtin_plugin_dir);
    o.log_path = dir_.file("host-" + std::to_string(++starts_) + ".log");
    process_.reset();
    process_ = std::make_unique<HostProcess>(std::move(o));
  }

  // Sets (or replaces) an environment variable for the next start().
  void set_env(const std::string& name, std::string value) {
    for (auto& kv : options_.env)
      if (kv.first == name) {
        kv.second = std::move(value);
        return;
      }
    options_.env.emplace_back(name, std::move(value));
  }

  HostProcess& process() { return *process_; }
  uint16_t port() const { return process_->port(); }
  std::string state_dir() const { return dir_.file("state"); }
  std::string config_path() const { return dir_.file("host.yaml"); }
  const TempDir& dir() const { return dir_; }
  void write_config(const std::string& yaml) {
    options_.host_yaml = yaml;
    std::ofstream out(config_path());
    out << yaml;
  }

  HttpResult get(const std::string& target, HeaderList headers = {}) {
    return request("GET", "127.0.0.1", port(), target, with_admin(std::move(headers)));
  }
  // A POST; the body is sent as application/json unless `headers` name a Content-Type.
  HttpResult post(const std::string& target, const std::string& body, HeaderList headers = {}) {
    const bool typed = std::any_of(headers.begin(), headers.end(), [](const auto& header) {
      return header.first.size() == 12 && strncasecmp(header.first.c_str(), "content-type", 12) == 0;
    });
    if (!typed) headers.emplace_back("Content-Type", "application/json");
    return request("POST", "127.0.0.1", port(), target, with_admin(std::move(headers)), body);
  }
  HttpResult get_public(const std::string& target, HeaderList headers = {}) {
    return request("GET", "127.0.0.1", port(), target, std::move(headers));
  }
  // The telemetry snapshot as JSON (REQUIREs a 200 in the caller).
  HttpResult snapshot() { return get("/state/training/telemetry"); }
  // Plugin `id`'s item in GET /admin/plugins; nullopt when it is not listed
  // or the request did not answer 200.
  std::optional<Json> plugin_item(const std::string& id) {
    HttpResult r = get("/admin/plugins");
    if (r.status != 200) return std::nullopt;
    const Json body = r.json();
    for (const auto& item : body["items"])
      if (item["id"] == id) return item;
    return std::nullopt;
  }

 private:
  HeaderList with_admin(HeaderList headers) const {
    if (options_.with_token) headers.emplace_back("X-ARW-Admin", kToken);
    return headers;
  }
  TestHostOptions options_;
  TempDir dir_;
  int starts_ = 0;
  std::unique_ptr<HostProcess> process_;
};

}  // namespace tpark::test
