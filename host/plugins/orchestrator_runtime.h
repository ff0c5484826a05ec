// Orchestrators (sdk.md "orchestrator" kind; ABI 1.2): one running instance
// per plugin. The host hands it jobs with start_job and withdraws them with
// cancel_job; the plugin works on its own threads and reports back through
// the host API's job_report. Lifecycle calls run on the control thread;
// start_job and cancel_job on any host thread, never after stop began.
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include <tpark/tp_plugin.h>

#include "plugins/section_runtime.h"  // PluginHealth

struct tp_host;

namespace tpark {

struct HostServices;

struct OrchestratorSpec {
  std::string plugin_id;
  tp_orchestrator_desc desc{};  // copied from the library; every slot non-NULL
  std::string config_json;      // validated block, compact
};

// What the host hands to start_job (tp_job_view), owned.
struct JobStart {
  std::string job_id;
  std::string request_json;
  int64_t since_id = 0;
  int64_t until_id = 0;
  uint32_t attempt = 1;
};

class OrchestratorInstance : public std::enable_shared_from_this<OrchestratorInstance> {
 public:
  OrchestratorInstance(OrchestratorSpec spec, std::shared_ptr<const HostServices> services);
  ~OrchestratorInstance();
  OrchestratorInstance(const OrchestratorInstance&) = delete;
  OrchestratorInstance& operator=(const OrchestratorInstance&) = delete;

  // Control thread: create then start. The failure message, or nullopt.
  std::optional<std::string> start();
  // Control thread: no new start_job or cancel_job; waits for those in
  // flight, then stop (bounded by stop_timeout) and destroy. False when
  // abandoned.
  bool shutdown(std::chrono::milliseconds stop_timeout);

  // Any thread. The plugin's refusal message, or nullopt when it took the job.
  std::optional<std::string> start_job(const JobStart& job);
  // Any thread; a no-op once stopping.
  void cancel_job(const std::string& job_id);

  const std::string& plugin_id() const { return spec_.plugin_id; }
  PluginHealth health() const;

 private:
  bool enter();  // false once stopping
  void leave();
  void note_error(std::string text);

  OrchestratorSpec spec_;
  std::shared_ptr<const HostServices> services_;
  std::unique_ptr<tp_host> host_;
  void* ctx_ = nullptr;
  bool created_ = false;
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  bool stopping_ = false;
  int in_flight_ = 0;
  uint64_t error_count_ = 0;
  bool last_ok_ = true;
  std::optional<std::string> last_error_;
};

}  // namespace tpark
