// Loads, runs and reloads plugins (sdk.md rules 1-11 and "What ABI 1.0
// freezes"): discovery by manifest, the load rule of host.yaml, Boost.DLL with
// rtld_now|rtld_local (libraries stay mapped for the process's life),
// negotiation, config validation before create, lifecycle with quiescence,
// section priming and re-priming, and the /admin/plugins view.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <tpark/tp_plugin.h>

#include "config/host_config.h"
#include "util/json.h"

namespace tpark {

class Journal;
class Bus;
class MetricRegistry;
class OrchestratorInstance;
class ApplierInstance;
struct IngestRejection;

// A plugin instance's lifecycle as a host task (telemetry.md 2.1 `tasks`,
// task plugin.<id>): Started when its create is attempted, then Completed
// when it stops, or Aborted when it failed to start or was abandoned.
enum class PluginTaskEvent { Started, Completed, Aborted };

// What the host API table is built over. Owned by the app; outlives plugins.
struct HostServices {
  Journal* journal = nullptr;
  Bus* bus = nullptr;
  MetricRegistry* metrics = nullptr;
  int64_t events_start_ms = 0;  // host start; lifetime counters count from here
  int64_t events_start_id = 0;  // journal head at start
  // Read-only host state by name (sdk.md "host state read"); nullopt = unknown name.
  std::function<std::optional<Json>(const std::string& name)> state_read;
  // Called when a plugin asks to be woken (section dirty marks, telemetry.md 6).
  std::function<void(const std::string& plugin_id)> mark_dirty;
  // The telemetry snapshot body (GET /state/training/telemetry), for
  // exporters that want snapshots; may be empty (then none are sent).
  std::function<std::optional<std::string>()> telemetry_snapshot;
  // Told (control thread) when the first running exporter that wants
  // read-model patches starts (true) and when the last one stops (false), so
  // patches are produced only while someone takes them; may be empty.
  std::function<void(bool wanted)> patches_wanted;
  // Told of every instance start and stop (control thread); may be empty.
  std::function<void(const std::string& plugin_id, PluginTaskEvent event)> plugin_task;
  // An orchestrator's job report (ABI 1.2 job_report, control.md 5.3): the
  // host commits it and answers the slot's status; may be empty (then
  // TP_UNAVAILABLE).
  std::function<tp_status(const std::string& plugin_id, std::string_view job_id, uint32_t kind,
                          std::string_view json)>
      job_report;
  // A source's rejected messages (ABI 1.2 ingest_lines), counted per reason
  // under its source name as the ingest route counts its lines; may be empty.
  std::function<void(std::string_view source, const std::vector<IngestRejection>& rejected)>
      ingest_rejected;
};

struct PluginSettings {
  std::vector<std::filesystem::path> builtin_dirs;  // always scanned first
  std::vector<std::filesystem::path> extra_dirs;    // --plugin-dir, TPARK_PLUGIN_PATH
  size_t inbox_capacity = 65536;                     // ARW_PLUGIN_INBOX
  std::chrono::milliseconds stop_timeout{2000};
  std::chrono::milliseconds render_timeout{200};     // ARW_TELEMETRY_SECTION_TIMEOUT_MS
  size_t exporter_queue_capacity = 1024;             // items per exporter queue
  std::chrono::milliseconds exporter_stall_timeout{5000};  // export_batch longer: unhealthy
};

// One snapshot key as the telemetry route needs it.
struct SectionRender {
  std::string name;                    // snapshot key
  std::string plugin_id;               // tp.section.<name> for built-ins
  std::optional<std::string> version;  // null when not found
  bool ok = false;
  std::string error;  // not_loaded, disabled, failed, timeout, invalid_output
  std::string json;   // the value as JSON text when ok ("null" allowed)
};

struct ReloadResult {
  std::vector<std::string> added, removed, reconfigured;
};

// The built-in sections in snapshot order (telemetry.md 2).
const std::vector<std::string>& builtin_section_names();

class PluginManager {
 public:
  PluginManager(HostServices services, PluginSettings settings);
  ~PluginManager();  // stops everything
  PluginManager(const PluginManager&) = delete;
  PluginManager& operator=(const PluginManager&) = delete;

  // Discovers and loads per the load rule. A bad plugin is refused or failed
  // with a reason; this never throws for a plugin's fault.
  void load(const HostConfig& config);
  // Applies a new host config: plugins enabled, disabled or reconfigured take
  // effect. Errors in plugin blocks (file:line:column) leave the old set.
  std::variant<ReloadResult, std::vector<ConfigError>> reload(const HostConfig& config);
  // Validates the plugin blocks of a config without applying it.
  std::vector<ConfigError> validate(const HostConfig& config) const;
  // Stops and destroys every instance (control thread), each within the stop timeout.
  void stop_all();

  // GET /admin/plugins body: {items:[...]}, sorted by id. `abi` is what the
  // plugin's entry answered, or the manifest's {major, min_host_minor} when
  // the entry never ran. health.error_count counts every failed call since
  // create; health.ok is false while the instance's most recent call failed
  // (it recovers with the next successful one) and for any plugin not loaded.
  Json describe() const;
  // What /metrics shows of each loaded or failed plugin (arw_plugin_info,
  // arw_plugin_up), sorted by id: describe()'s id, version ("" when none),
  // state and health.ok, without building its JSON.
  struct PluginUp {
    std::string id;
    std::string version;
    bool loaded = false;
    bool healthy = false;
  };
  std::vector<PluginUp> plugins_up() const;
  // Every known section (built-in names first, in order, then third-party in
  // load order), each rendered within the render timeout.
  std::vector<SectionRender> render_sections();
  // The same, reflecting every event up to `through_id` that was published
  // to the bus directly (benchmarks feed the bus without the journal).
  std::vector<SectionRender> render_sections_through(int64_t through_id);
  // One section's value rendered alone, within the render timeout (a render
  // already pending answers it too); nullopt when no running plugin provides
  // it or its render failed or timed out.
  std::optional<std::string> render_section(const std::string& name);
  // A read-model patch frame {id, instance_id, version, base_version, patch}
  // (compact JSON) for every running exporter that wants patches (ABI 1.1
  // TP_EXPORT_PATCH). Any thread; never blocks on a plugin.
  void offer_patch(const std::string& read_model_id, std::shared_ptr<const std::string> frame,
                   int64_t published_ms);
  // The running orchestrator instance of `plugin_id` (ABI 1.2), or null.
  std::shared_ptr<OrchestratorInstance> orchestrator(const std::string& plugin_id) const;
  // The running applier instance of `plugin_id` (ABI 1.2), or null.
  std::shared_ptr<ApplierInstance> applier(const std::string& plugin_id) const;
  // Whether a running plugin provides the section `name`.
  bool provides_section(const std::string& name) const;
  // All plugins that should be loaded are loaded or were refused/failed (no
  // load in progress).
  bool settled() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tpark
