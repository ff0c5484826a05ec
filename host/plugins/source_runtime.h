// Sources (sdk.md "source" kind; ABI 1.2): one running instance per plugin.
// A source brings events from outside (NATS) on threads of its own and hands
// them to the host API's ingest_lines; the host validates and journals them.
// Lifecycle calls run on the control thread; status on any host thread
// (GET /admin/plugins), never after stop began.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include <tpark/tp_plugin.h>

#include "plugins/section_runtime.h"  // PluginHealth

struct tp_host;

namespace tpark {

struct HostServices;

struct SourceSpec {
  std::string plugin_id;
  tp_source_desc desc{};    // copied from the library; every slot non-NULL
  std::string config_json;  // validated block, compact
};

// What status() answered: the plugin's JSON object (or null) and whether its
// upstream is reachable, with the plugin's reason when it is not.
struct SourceStatus {
  bool up = false;
  std::string json = "null";
  std::optional<std::string> why;
};

class SourceInstance : public std::enable_shared_from_this<SourceInstance> {
 public:
  SourceInstance(SourceSpec spec, std::shared_ptr<const HostServices> services);
  ~SourceInstance();
  SourceInstance(const SourceInstance&) = delete;
  SourceInstance& operator=(const SourceInstance&) = delete;

  // Control thread: create then start. The failure message, or nullopt.
  std::optional<std::string> start();
  // Control thread: stop (bounded by stop_timeout) and destroy. False when
  // abandoned.
  bool shutdown(std::chrono::milliseconds stop_timeout);

  // Any thread: asks the plugin (status callback). Not running: up false.
  SourceStatus status();
  // Health as GET /admin/plugins shows it: not ok while the upstream is down.
  PluginHealth health();

  const std::string& plugin_id() const { return spec_.plugin_id; }

 private:
  void note_error(std::string text);

  SourceSpec spec_;
  std::shared_ptr<const HostServices> services_;
  std::unique_ptr<tp_host> host_;
  void* ctx_ = nullptr;
  mutable std::mutex mutex_;  // guards running_ against status() during stop
  bool running_ = false;
  uint64_t error_count_ = 0;
  std::optional<std::string> last_error_;
};

}  // namespace tpark
