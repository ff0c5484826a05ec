// Logic-unit appliers (sdk.md "logic_applier" kind; ABI 1.2): one running
// instance per plugin, called from the host's logic_unit.* actions. Calls are
// serialised per instance; lifecycle calls run on the control thread.
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

struct ApplierSpec {
  std::string plugin_id;
  tp_applier_desc desc{};  // copied from the library; every slot non-NULL
  std::string config_json;
};

// The answer of one applier call: the plugin's JSON output, or its refusal.
struct ApplierResult {
  tp_status status = TP_INTERNAL;
  std::string output;  // JSON text when status == TP_OK
  std::string error;   // the plugin's message otherwise
};

class ApplierInstance : public std::enable_shared_from_this<ApplierInstance> {
 public:
  enum class Call { DryRun, Apply, Revert };

  ApplierInstance(ApplierSpec spec, std::shared_ptr<const HostServices> services);
  ~ApplierInstance();
  ApplierInstance(const ApplierInstance&) = delete;
  ApplierInstance& operator=(const ApplierInstance&) = delete;

  std::optional<std::string> start();  // control thread; the failure message
  bool shutdown(std::chrono::milliseconds stop_timeout);

  // Any thread; one call at a time per instance. TP_UNAVAILABLE once stopping.
  ApplierResult call(Call call, const std::string& document_json, const std::string& input_json);

  PluginHealth health() const;

 private:
  ApplierSpec spec_;
  std::shared_ptr<const HostServices> services_;
  std::unique_ptr<tp_host> host_;
  void* ctx_ = nullptr;
  bool created_ = false;
  bool stopping_ = false;
  mutable std::mutex mutex_;  // serialises calls; guards the fields below
  uint64_t error_count_ = 0;
  std::optional<std::string> last_error_;
};

}  // namespace tpark
