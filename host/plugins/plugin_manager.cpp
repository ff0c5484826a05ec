#include "plugins/plugin_manager.h"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <set>

#include <spdlog/spdlog.h>
#include <yaml-cpp/yaml.h>

#include "config/settings.h"
#include "kernel/bus.h"
#include "kernel/journal.h"
#include "metrics/metric_registry.h"
#include "plugins/applier_runtime.h"
#include "plugins/exporter_runtime.h"
#include "plugins/manifest.h"
#include "plugins/orchestrator_runtime.h"
#include "plugins/plugin_library.h"
#include "plugins/section_runtime.h"
#include "plugins/source_runtime.h"

namespace tpark {

const std::vector<std::string>& builtin_section_names() {
  static const std::vector<std::string> names = {
      "events",           "routes",       "bus",      "tools",         "tasks",   "cache",
      "governor",         "capsules",     "feedback", "compatibility", "context", "memory",
      "tool_invocations", "logic_history"};
  return names;
}

namespace {

namespace fs = std::filesystem;

constexpr const char* kLoaded = "loaded";
constexpr const char* kRefused = "refused";
constexpr const char* kDisabled = "disabled";
constexpr const char* kFailed = "failed";
constexpr const char* kNotLoaded = "not_loaded";

// telemetry.md 2: the type each built-in section renders.
SectionShape section_shape(const std::string& name) {
  static const std::set<std::string> arrays = {"routes", "logic_history"};
  static const std::set<std::string> nullable = {"memory", "tool_invocations"};
  const auto& builtins = builtin_section_names();
  if (std::find(builtins.begin(), builtins.end(), name) == builtins.end()) return SectionShape::Any;
  if (arrays.count(name)) return SectionShape::Array;
  if (nullable.count(name)) return SectionShape::ObjectOrNull;
  return SectionShape::Object;
}

bool has_kind(const Manifest& manifest, const std::string& kind) {
  return std::find(manifest.kinds.begin(), manifest.kinds.end(), kind) != manifest.kinds.end();
}

// README "Host configuration": anything that sends data out or needs a server
// loads only when listed with enabled: true.
bool opt_in_only(const Manifest& manifest) {
  return has_kind(manifest, "exporter") || has_kind(manifest, "source") ||
         manifest.id == "tp.orchestrator.nats";
}

// Opt-in plugins the settings switch on, as if the host YAML enabled them (an
// explicit enabled: false still wins): NATS ingest when ARW_NATS_URL is set
// (telemetry.md 1.4), the NATS orchestrator when training dispatch is nats
// (control.md 5.6).
bool enabled_by_settings(const Manifest& manifest, const HostConfig& config) {
  if (manifest.id == "tp.source.nats") return env_string("ARW_NATS_URL").has_value();
  if (manifest.id == "tp.orchestrator.nats") return effective_training_dispatch(config) == "nats";
  return false;
}

std::string join(const std::vector<std::string>& items, const char* separator) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += separator;
    out += item;
  }
  return out;
}

std::string absolute_text(const fs::path& path) {
  std::error_code ec;
  fs::path absolute = fs::absolute(path, ec);
  return (ec ? path : absolute).lexically_normal().string();
}

// One plugin.yaml found on a plugin path.
struct Candidate {
  fs::path manifest_file;
  std::optional<Manifest> manifest;  // absent when unreadable
  std::string id;                    // the manifest's id, or its path when unreadable
  std::string manifest_error;        // first error when unreadable
  std::string first_found_at;        // set on a later duplicate of an id
};

// What the load rule decides for one candidate under one host config.
struct Decision {
  std::string state;  // loaded (= load it), refused, disabled
  std::string reason;
  Json config;  // the validated block when loading
  std::vector<ConfigError> config_errors;
};

// The manifest's id even when the rest is broken, so the refusal is listed
// under a recognisable name.
std::string best_effort_id(const fs::path& manifest_file) {
  try {
    YAML::Node root = YAML::LoadFile(manifest_file.string());
    if (root.IsMap() && root["id"] && root["id"].IsScalar()) return root["id"].as<std::string>();
  } catch (const std::exception&) {
  }
  return manifest_file.string();
}

}  // namespace

// What GET /admin/plugins lists per plugin, and the running instance if any.
struct PluginRecord {
  std::string id;
  std::vector<std::string> kinds;
  std::optional<std::string> version;
  std::optional<std::string> library;  // absolute path
  std::optional<std::string> section;  // provides.section
  std::string state = kNotLoaded;
  std::string reason;
  std::optional<uint32_t> abi_major, abi_minor;
  std::vector<DescriptorInfo> descriptors;
  std::optional<Json> config;  // the validated block it runs with
  std::shared_ptr<SectionInstance> instance;
  std::shared_ptr<ExporterInstance> exporter;
  std::shared_ptr<OrchestratorInstance> orchestrator;  // ABI 1.2
  std::shared_ptr<ApplierInstance> applier;            // ABI 1.2
  std::shared_ptr<SourceInstance> source;              // ABI 1.2
  std::optional<std::string> failure;  // create/start error of a failed plugin
  bool duplicate = false;
};

struct PluginManager::Impl {
  std::shared_ptr<const HostServices> services;
  PluginSettings settings;
  std::mutex control_mutex;  // load, reload and stop_all, one at a time
  mutable std::mutex state_mutex;
  std::vector<PluginRecord> records;  // discovery order; guarded by state_mutex
  std::atomic<bool> settled{false};
  std::unique_ptr<ExporterRuntime> exporters;
  // arw_exporter_* on /metrics, mirrored from each instance's counters at
  // scrape time; per plugin id they keep counting across swaps.
  struct ExporterMetrics {
    uint64_t hook = 0;
    uint64_t queue_depth = 0, sent = 0, retried = 0, dropped = 0, healthy = 0;  // family handles
    std::mutex mutex;
    struct Seen {
      const ExporterInstance* instance = nullptr;
      ExporterCounters counters;
    };
    std::map<std::string, Seen> seen;  // by plugin id
  } exporter_metrics;

  void register_exporter_metrics() {
    MetricRegistry* metrics = services->metrics;
    if (metrics == nullptr) return;
    auto& m = exporter_metrics;
    std::string error;
    auto family = [&](MetricType type, const char* name, const char* help) {
      const uint64_t handle = metrics->register_family(type, name, help, {"plugin"}, {}, &error);
      if (handle == 0) spdlog::error("metric {}: {}", name, error);
      return handle;
    };
    m.queue_depth = family(MetricType::Gauge, "arw_exporter_queue_depth",
                           "Items waiting in the exporter's queue");
    m.sent = family(MetricType::Counter, "arw_exporter_sent_total",
                    "Items the exporter delivered (its export_batch answered OK)");
    m.retried = family(MetricType::Counter, "arw_exporter_retried_total",
                       "Batches the exporter answered RETRY (delivered again after a backoff)");
    m.dropped = family(MetricType::Counter, "arw_exporter_dropped_total",
                       "Items lost: queue full, an ERROR answer, or a retry cut short by a stop");
    m.healthy = family(MetricType::Gauge, "arw_exporter_healthy",
                       "1 while the exporter is healthy (as GET /admin/plugins health.ok), else 0");
    m.hook = metrics->add_render_hook([this] { mirror_exporter_metrics(); });
  }

  void mirror_exporter_metrics() {
    MetricRegistry* metrics = services->metrics;
    auto& m = exporter_metrics;
    std::lock_guard lock(m.mutex);
    for (const auto& record : snapshot()) {
      if (!record.exporter) continue;
      const ExporterCounters c = record.exporter->counters();
      auto& seen = m.seen[record.id];
      if (seen.instance != record.exporter.get()) seen = {record.exporter.get(), ExporterCounters{}};
      const std::vector<std::string> labels = {record.id};
      metrics->set(m.queue_depth, labels, static_cast<double>(c.queue_depth));
      metrics->set(m.healthy, labels, record.exporter->health().ok ? 1.0 : 0.0);
      metrics->add(m.sent, labels, static_cast<double>(c.sent - seen.counters.sent));
      metrics->add(m.retried, labels, static_cast<double>(c.retried - seen.counters.retried));
      metrics->add(m.dropped, labels, static_cast<double>(c.dropped - seen.counters.dropped));
      seen.counters = c;
    }
  }

  bool running(const PluginRecord& record) const {
    return record.instance || record.exporter || record.orchestrator || record.applier ||
           record.source;
  }

  std::vector<fs::path> search_dirs(const HostConfig& config) const {
    std::vector<fs::path> dirs = settings.builtin_dirs;
    dirs.insert(dirs.end(), settings.extra_dirs.begin(), settings.extra_dirs.end());
    for (const auto& path : config.plugin_paths) dirs.emplace_back(path);
    return dirs;
  }

  std::vector<Candidate> discover(const HostConfig& config) const {
    std::vector<Candidate> candidates;
    std::map<std::string, fs::path> first_by_id;
    for (const auto& file : find_manifests(search_dirs(config))) {
      Candidate candidate;
      candidate.manifest_file = file;
      auto result = read_manifest(file);
      if (auto* errors = std::get_if<std::vector<ConfigError>>(&result)) {
        candidate.id = best_effort_id(file);
        candidate.manifest_error = manifest_errors_text(*errors);
      } else {
        candidate.manifest = std::get<Manifest>(std::move(result));
        candidate.id = candidate.manifest->id;
        auto [it, first] = first_by_id.emplace(candidate.id, file);
        if (!first) candidate.first_found_at = absolute_text(it->second);
      }
      candidates.push_back(std::move(candidate));
    }
    return candidates;
  }

  // The load rule, the manifest's ABI range and the config block, in that
  // order; nothing of the plugin runs.
  Decision decide(const Candidate& candidate, const HostConfig& config) const {
    Decision decision;
    decision.state = kRefused;
    if (!candidate.manifest) {
      decision.reason = candidate.manifest_error;
      return decision;
    }
    if (!candidate.first_found_at.empty()) {
      decision.reason = "duplicate id, first found at " + candidate.first_found_at;
      return decision;
    }
    const Manifest& manifest = *candidate.manifest;
    const auto setting = config.plugins.find(manifest.id);
    // Plain bools: GCC's -Wmaybe-uninitialized misreads std::optional<bool> here.
    const bool listed = setting != config.plugins.end() && setting->second.enabled.has_value();
    const bool enabled_true =
        (listed && *setting->second.enabled) || (!listed && enabled_by_settings(manifest, config));
    const bool enabled_false = listed && !*setting->second.enabled;
    if (opt_in_only(manifest) ? !enabled_true : enabled_false) {
      decision.state = kDisabled;
      decision.reason =
          enabled_false ? "disabled in host.yaml (enabled: false)" : "not enabled in host.yaml";
      return decision;
    }
    if (manifest.abi_major != TP_ABI_MAJOR) {
      decision.reason = "ABI major " + std::to_string(manifest.abi_major) + ", host " +
                        std::to_string(TP_ABI_MAJOR);
      return decision;
    }
    if (manifest.min_host_minor > TP_ABI_MINOR) {
      decision.reason = "needs host ABI " + std::to_string(TP_ABI_MAJOR) + "." +
                        std::to_string(manifest.min_host_minor) + ", host is " +
                        std::to_string(TP_ABI_MAJOR) + "." + std::to_string(TP_ABI_MINOR);
      return decision;
    }
    auto validated = setting != config.plugins.end()
                         ? validate_plugin_config(manifest, setting->second, config.file)
                         : validate_plugin_config(manifest, YAML::Node(), config.file);
    if (auto* errors = std::get_if<std::vector<ConfigError>>(&validated)) {
      decision.reason = errors->empty() ? "invalid config" : errors->front().to_string();
      decision.config_errors = std::move(*errors);
      return decision;
    }
    decision.state = kLoaded;
    decision.config = std::get<Json>(std::move(validated));
    return decision;
  }

  // A record with the manifest's facts and the decision's state.
  static PluginRecord describe_candidate(const Candidate& candidate, const Decision& decision) {
    PluginRecord record;
    record.id = candidate.id;
    record.state = decision.state;
    record.reason = decision.reason;
    record.duplicate = !candidate.first_found_at.empty();
    if (candidate.manifest) {
      const Manifest& manifest = *candidate.manifest;
      record.kinds = manifest.kinds;
      record.version = manifest.version;
      record.library = absolute_text(manifest.library_path());
      record.section = manifest.section;
      record.abi_major = manifest.abi_major;
      record.abi_minor = manifest.min_host_minor;
    }
    return record;
  }

  // Opens, negotiates, creates and starts one plugin the load rule admits.
  // `predecessor`: a running exporter of the same id that a reload
  // reconfigures; the new instance takes its place without losing an item.
  PluginRecord load_one(const Candidate& candidate, const Decision& decision,
                        std::map<std::string, std::string>& section_owners,
                        PluginRecord* predecessor = nullptr) {
    PluginRecord record = describe_candidate(candidate, decision);
    const Manifest& manifest = *candidate.manifest;
    auto refuse = [&](std::string reason) {
      record.state = kRefused;
      record.reason = std::move(reason);
      spdlog::warn("plugin {} refused: {}", record.id, record.reason);
      return record;
    };

    LibraryOutcome outcome = open_plugin_library(manifest.library_path());
    if (outcome.abi_major) {
      record.abi_major = outcome.abi_major;
      record.abi_minor = outcome.abi_minor;
    }
    record.descriptors = outcome.descriptors;
    if (!outcome.library) {
      if (predecessor) stop_instance(*predecessor);
      return refuse(outcome.refusal);
    }

    if (!manifest.section && has_kind(manifest, "exporter"))
      return load_exporter(record, manifest, decision, *outcome.library, predecessor);
    if (!manifest.section && has_kind(manifest, "orchestrator"))
      return load_orchestrator(record, manifest, decision, *outcome.library);
    if (!manifest.section && has_kind(manifest, "applier"))
      return load_applier(record, manifest, decision, *outcome.library);
    if (!manifest.section && has_kind(manifest, "source"))
      return load_source(record, manifest, decision, *outcome.library);
    if (!manifest.section)
      return refuse("no descriptor this host runs (ABI 1.2 runs sections, exporters, orchestrators, appliers and sources)");
    const tp_section_desc* desc = nullptr;
    for (const auto& section : outcome.library->sections)
      if (section.name != nullptr && *manifest.section == section.name) desc = &section;
    if (desc == nullptr) {
      std::vector<std::string> names;
      for (const auto& section : outcome.library->sections) names.emplace_back(section.name);
      return refuse("no section descriptor named " + *manifest.section + " (provides.section)" +
                    (names.empty() ? "" : "; the library declares " + join(names, ", ")));
    }
    if (auto owner = section_owners.find(*manifest.section); owner != section_owners.end())
      return refuse("section " + *manifest.section + " is already provided by " + owner->second);

    SectionSpec spec;
    spec.plugin_id = manifest.id;
    spec.section_name = *manifest.section;
    spec.desc = *desc;
    spec.subscribes = !manifest.subscribes.empty();
    if (auto prefixes = subscription_prefixes(manifest)) spec.prefixes = std::move(*prefixes);
    spec.config_json = decision.config.dump();
    spec.inbox_capacity = std::max<size_t>(1, settings.inbox_capacity);
    spec.shape = section_shape(spec.section_name);

    auto instance = std::make_shared<SectionInstance>(std::move(spec), services);
    note_task(record.id, PluginTaskEvent::Started);
    if (auto failure = instance->start()) {
      note_task(record.id, PluginTaskEvent::Aborted);
      record.state = kFailed;
      record.reason = *failure;
      record.failure = *failure;
      spdlog::error("plugin {} failed: {}", record.id, *failure);
      return record;
    }
    record.state = kLoaded;
    record.reason.clear();
    record.config = decision.config;
    record.instance = std::move(instance);
    section_owners.emplace(*manifest.section, record.id);
    spdlog::info("plugin {} {} loaded (section {})", record.id, record.version.value_or("?"),
                 *manifest.section);
    return record;
  }

  // The exporter path of load_one: its descriptor (provides.exporter, or the
  // library's only one), its own queue and worker, fed by the runtime.
  PluginRecord load_exporter(PluginRecord record, const Manifest& manifest, const Decision& decision,
                             const PluginLibrary& library, PluginRecord* predecessor) {
    const tp_exporter_desc* desc = nullptr;
    std::vector<std::string> names;
    for (const auto& exporter : library.exporters) {
      names.emplace_back(exporter.name);
      if (manifest.exporter ? *manifest.exporter == exporter.name : desc == nullptr)
        desc = &exporter;
    }
    if (desc == nullptr) {
      record.state = kRefused;
      record.reason = "no exporter descriptor" +
                      (manifest.exporter ? " named " + *manifest.exporter + " (provides.exporter)"
                                         : std::string()) +
                      (names.empty() ? "" : "; the library declares " + join(names, ", "));
      spdlog::warn("plugin {} refused: {}", record.id, record.reason);
      if (predecessor) stop_instance(*predecessor);
      return record;
    }
    ExporterSpec spec;
    spec.plugin_id = manifest.id;
    spec.desc = *desc;
    spec.config_json = decision.config.dump();
    spec.queue_capacity = settings.exporter_queue_capacity;
    spec.stall_timeout = settings.exporter_stall_timeout;
    auto instance = std::make_shared<ExporterInstance>(std::move(spec), services);
    const bool swap = predecessor != nullptr && predecessor->exporter != nullptr;
    if (swap) instance->hold();
    note_task(record.id, PluginTaskEvent::Started);
    if (auto failure = instance->start()) {
      note_task(record.id, PluginTaskEvent::Aborted);
      if (predecessor) stop_instance(*predecessor);
      record.state = kFailed;
      record.reason = *failure;
      record.failure = *failure;
      spdlog::error("plugin {} failed: {}", record.id, *failure);
      return record;
    }
    record.state = kLoaded;
    record.reason.clear();
    record.config = decision.config;
    if (swap) {
      // From here every item goes to the new instance; the old one delivers
      // what it holds and hands the rest over before the new one sends.
      exporters->replace(predecessor->exporter, instance);
      bool stopped = true;
      auto handed = predecessor->exporter->hand_off(settings.stop_timeout, &stopped);
      instance->release(std::move(handed));
      predecessor->exporter.reset();
      note_task(record.id, stopped ? PluginTaskEvent::Completed : PluginTaskEvent::Aborted);
      spdlog::info("plugin {}: exporter swapped for the reconfigured instance", record.id);
    } else {
      exporters->add(instance);
    }
    record.exporter = std::move(instance);
    spdlog::info("plugin {} {} loaded (exporter {})", record.id, record.version.value_or("?"),
                 desc->name);
    return record;
  }

  // The orchestrator path of load_one (ABI 1.2): the library's first
  // orchestrator descriptor; jobs reach it through PluginManager::orchestrator.
  PluginRecord load_orchestrator(PluginRecord record, const Manifest& manifest,
                                 const Decision& decision, const PluginLibrary& library) {
    if (library.orchestrators.empty()) {
      record.state = kRefused;
      record.reason = "no orchestrator descriptor";
      spdlog::warn("plugin {} refused: {}", record.id, record.reason);
      return record;
    }
    OrchestratorSpec spec;
    spec.plugin_id = manifest.id;
    spec.desc = library.orchestrators.front();
    spec.config_json = decision.config.dump();
    auto instance = std::make_shared<OrchestratorInstance>(std::move(spec), services);
    note_task(record.id, PluginTaskEvent::Started);
    if (auto failure = instance->start()) {
      note_task(record.id, PluginTaskEvent::Aborted);
      record.state = kFailed;
      record.reason = *failure;
      record.failure = *failure;
      spdlog::error("plugin {} failed: {}", record.id, *failure);
      return record;
    }
    record.state = kLoaded;
    record.reason.clear();
    record.config = decision.config;
    record.orchestrator = std::move(instance);
    spdlog::info("plugin {} {} loaded (orchestrator {})", record.id,
                 record.version.value_or("?"), library.orchestrators.front().name);
    return record;
  }

  // The applier path of load_one (ABI 1.2): the library's first applier
  // descriptor; logic-unit actions reach it through PluginManager::applier.
  PluginRecord load_applier(PluginRecord record, const Manifest& manifest, const Decision& decision,
                            const PluginLibrary& library) {
    if (library.appliers.empty()) {
      record.state = kRefused;
      record.reason = "no applier descriptor";
      spdlog::warn("plugin {} refused: {}", record.id, record.reason);
      return record;
    }
    ApplierSpec spec;
    spec.plugin_id = manifest.id;
    spec.desc = library.appliers.front();
    spec.config_json = decision.config.dump();
    auto instance = std::make_shared<ApplierInstance>(std::move(spec), services);
    note_task(record.id, PluginTaskEvent::Started);
    if (auto failure = instance->start()) {
      note_task(record.id, PluginTaskEvent::Aborted);
      record.state = kFailed;
      record.reason = *failure;
      record.failure = *failure;
      spdlog::error("plugin {} failed: {}", record.id, *failure);
      return record;
    }
    record.state = kLoaded;
    record.reason.clear();
    record.config = decision.config;
    record.applier = std::move(instance);
    spdlog::info("plugin {} {} loaded (applier {})", record.id, record.version.value_or("?"),
                 library.appliers.front().name);
    return record;
  }

  // The source path of load_one (ABI 1.2): the library's first source
  // descriptor; it runs its own threads and ingests through the host API.
  PluginRecord load_source(PluginRecord record, const Manifest& manifest, const Decision& decision,
                           const PluginLibrary& library) {
    if (library.sources.empty()) {
      record.state = kRefused;
      record.reason = "no source descriptor";
      spdlog::warn("plugin {} refused: {}", record.id, record.reason);
      return record;
    }
    SourceSpec spec;
    spec.plugin_id = manifest.id;
    spec.desc = library.sources.front();
    spec.config_json = decision.config.dump();
    auto instance = std::make_shared<SourceInstance>(std::move(spec), services);
    note_task(record.id, PluginTaskEvent::Started);
    if (auto failure = instance->start()) {
      note_task(record.id, PluginTaskEvent::Aborted);
      record.state = kFailed;
      record.reason = *failure;
      record.failure = *failure;
      spdlog::error("plugin {} failed: {}", record.id, *failure);
      return record;
    }
    record.state = kLoaded;
    record.reason.clear();
    record.config = decision.config;
    record.source = std::move(instance);
    spdlog::info("plugin {} {} loaded (source {})", record.id, record.version.value_or("?"),
                 library.sources.front().name);
    return record;
  }

  // Ids listed in host.yaml that no plugin path holds.
  void add_not_found(std::vector<PluginRecord>& records, const HostConfig& config) const {
    std::set<std::string> found;
    for (const auto& record : records) found.insert(record.id);
    std::vector<std::string> searched;
    for (const auto& dir : search_dirs(config)) searched.push_back(absolute_text(dir));
    for (const auto& [id, setting] : config.plugins) {
      if (found.count(id)) continue;
      PluginRecord record;
      record.id = id;
      record.state = kNotLoaded;
      record.reason = "not found on the plugin paths: " +
                      (searched.empty() ? std::string("(none)") : join(searched, ", "));
      spdlog::warn("plugin {} is listed in {} but {}", id, config.file, record.reason);
      records.push_back(std::move(record));
    }
  }

  void stop_instance(PluginRecord& record) {
    if (record.source) {
      const bool stopped = record.source->shutdown(settings.stop_timeout);
      if (!stopped)
        record.failure = "did not stop within " + std::to_string(settings.stop_timeout.count()) +
                         " ms; abandoned";
      record.source.reset();
      note_task(record.id, stopped ? PluginTaskEvent::Completed : PluginTaskEvent::Aborted);
      return;
    }
    if (record.applier) {
      const bool stopped = record.applier->shutdown(settings.stop_timeout);
      record.applier.reset();
      note_task(record.id, stopped ? PluginTaskEvent::Completed : PluginTaskEvent::Aborted);
      return;
    }
    if (record.orchestrator) {
      const bool stopped = record.orchestrator->shutdown(settings.stop_timeout);
      if (!stopped)
        record.failure = "did not stop within " + std::to_string(settings.stop_timeout.count()) +
                         " ms; abandoned";
      record.orchestrator.reset();
      note_task(record.id, stopped ? PluginTaskEvent::Completed : PluginTaskEvent::Aborted);
      return;
    }
    if (record.exporter) {
      exporters->remove(record.exporter);
      const bool stopped = record.exporter->shutdown(settings.stop_timeout);
      if (!stopped)
        record.failure = "did not stop within " + std::to_string(settings.stop_timeout.count()) +
                         " ms; abandoned";
      record.exporter.reset();
      note_task(record.id, stopped ? PluginTaskEvent::Completed : PluginTaskEvent::Aborted);
      return;
    }
    if (!record.instance) return;
    const bool stopped = record.instance->shutdown(settings.stop_timeout);
    if (!stopped)
      record.failure =
          "did not stop within " + std::to_string(settings.stop_timeout.count()) + " ms; abandoned";
    record.instance.reset();
    note_task(record.id, stopped ? PluginTaskEvent::Completed : PluginTaskEvent::Aborted);
  }

  void note_task(const std::string& plugin_id, PluginTaskEvent event) const {
    if (services->plugin_task) services->plugin_task(plugin_id, event);
  }

  // Serve only primed sections: a snapshot right after a start or a reload
  // already holds the windows rebuilt from the journal (an instance primed
  // before is not waited for again).
  static void wait_primed(const std::vector<PluginRecord>& records) {
    const auto primed_by = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    for (const auto& record : records)
      if (record.instance && !record.instance->wait_primed(primed_by))
        spdlog::warn("plugin {} is still priming; serving anyway", record.id);
  }

  std::vector<PluginRecord> snapshot() const {
    std::lock_guard lock(state_mutex);
    return records;
  }
  void publish(std::vector<PluginRecord> next) {
    std::lock_guard lock(state_mutex);
    records = std::move(next);
  }

  std::vector<ConfigError> validate(const HostConfig& config) const {
    std::vector<ConfigError> errors;
    for (const auto& candidate : discover(config)) {
      Decision decision = decide(candidate, config);
      errors.insert(errors.end(), decision.config_errors.begin(), decision.config_errors.end());
    }
    return errors;
  }
};

PluginManager::PluginManager(HostServices services, PluginSettings settings)
    : impl_(std::make_unique<Impl>()) {
  impl_->services = std::make_shared<const HostServices>(std::move(services));
  impl_->settings = std::move(settings);
  ExporterRuntime::Feeds feeds;
  auto services_ptr = impl_->services;
  feeds.snapshot = [services_ptr]() -> std::optional<std::string> {
    if (!services_ptr->telemetry_snapshot) return std::nullopt;
    return services_ptr->telemetry_snapshot();
  };
  feeds.metrics = [services_ptr]() -> std::string {
    return services_ptr->metrics != nullptr ? services_ptr->metrics->render_text() : std::string();
  };
  feeds.patches_wanted = [services_ptr](bool wanted) {
    if (services_ptr->patches_wanted) services_ptr->patches_wanted(wanted);
  };
  impl_->exporters = std::make_unique<ExporterRuntime>(std::move(feeds));
  impl_->register_exporter_metrics();
}

PluginManager::~PluginManager() {
  if (impl_->exporter_metrics.hook != 0)
    impl_->services->metrics->remove_render_hook(impl_->exporter_metrics.hook);
  stop_all();
}

void PluginManager::load(const HostConfig& config) {
  std::lock_guard control(impl_->control_mutex);
  // A second load starts from scratch: whatever runs is stopped first.
  for (auto& record : impl_->snapshot()) impl_->stop_instance(record);
  std::vector<PluginRecord> records;
  std::map<std::string, std::string> section_owners;
  for (const auto& candidate : impl_->discover(config)) {
    Decision decision = impl_->decide(candidate, config);
    if (decision.state == kLoaded) {
      records.push_back(impl_->load_one(candidate, decision, section_owners));
    } else {
      records.push_back(Impl::describe_candidate(candidate, decision));
      if (decision.state == kRefused)
        spdlog::warn("plugin {} refused: {}", candidate.id, decision.reason);
    }
  }
  impl_->add_not_found(records, config);
  impl_->wait_primed(records);
  impl_->publish(std::move(records));
  impl_->settled.store(true, std::memory_order_release);
}

std::variant<ReloadResult, std::vector<ConfigError>> PluginManager::reload(
    const HostConfig& config) {
  std::lock_guard control(impl_->control_mutex);
  if (auto errors = impl_->validate(config); !errors.empty()) return errors;

  const auto candidates = impl_->discover(config);
  std::vector<Decision> decisions;
  std::map<std::string, size_t> primary;  // id -> index of its first (non-duplicate) candidate
  for (size_t i = 0; i < candidates.size(); ++i) {
    decisions.push_back(impl_->decide(candidates[i], config));
    if (candidates[i].manifest && candidates[i].first_found_at.empty())
      primary.emplace(candidates[i].id, i);
  }

  // Stop what goes away or changes before starting anything, so a section
  // key moves from one plugin to another without a clash.
  ReloadResult result;
  std::map<std::string, PluginRecord> kept;
  std::map<std::string, PluginRecord> swapping;  // reconfigured exporters, swapped live
  std::map<std::string, std::string> section_owners;
  for (auto& record : impl_->snapshot()) {
    if (!impl_->running(record)) continue;
    auto it = primary.find(record.id);
    const Decision* decision = it != primary.end() ? &decisions[it->second] : nullptr;
    if (decision == nullptr || decision->state != kLoaded) {
      impl_->stop_instance(record);
      result.removed.push_back(record.id);
    } else if (record.config != decision->config && record.exporter) {
      result.reconfigured.push_back(record.id);
      swapping.emplace(record.id, std::move(record));
    } else if (record.config != decision->config) {
      impl_->stop_instance(record);
      result.reconfigured.push_back(record.id);
    } else {
      if (record.section) section_owners.emplace(*record.section, record.id);
      kept.emplace(record.id, std::move(record));
    }
  }

  std::vector<PluginRecord> records;
  for (size_t i = 0; i < candidates.size(); ++i) {
    const Candidate& candidate = candidates[i];
    const bool is_primary = primary.count(candidate.id) && primary.at(candidate.id) == i;
    if (is_primary && kept.count(candidate.id)) {
      records.push_back(std::move(kept.at(candidate.id)));
      continue;
    }
    if (decisions[i].state != kLoaded) {
      records.push_back(Impl::describe_candidate(candidate, decisions[i]));
      continue;
    }
    auto outgoing = is_primary ? swapping.find(candidate.id) : swapping.end();
    records.push_back(impl_->load_one(candidate, decisions[i], section_owners,
                                      outgoing != swapping.end() ? &outgoing->second : nullptr));
    if (outgoing != swapping.end()) swapping.erase(outgoing);
    const bool reconfigured = std::find(result.reconfigured.begin(), result.reconfigured.end(),
                                        candidate.id) != result.reconfigured.end();
    if (records.back().state == kLoaded && !reconfigured) result.added.push_back(candidate.id);
  }
  for (auto& [id, record] : swapping) impl_->stop_instance(record);  // not reached: decided kLoaded
  impl_->add_not_found(records, config);
  impl_->wait_primed(records);
  impl_->publish(std::move(records));
  for (auto* ids : {&result.added, &result.removed, &result.reconfigured})
    std::sort(ids->begin(), ids->end());
  return result;
}

std::vector<ConfigError> PluginManager::validate(const HostConfig& config) const {
  return impl_->validate(config);
}

void PluginManager::stop_all() {
  std::lock_guard control(impl_->control_mutex);
  auto records = impl_->snapshot();
  // Nothing new is offered to exporters; each then drains its queue on stop.
  impl_->exporters->stop_feeding();
  // Reverse load order, as destructors run.
  for (auto it = records.rbegin(); it != records.rend(); ++it) {
    if (!impl_->running(*it)) continue;
    impl_->stop_instance(*it);
    it->state = kDisabled;
    it->reason = "stopped";
  }
  impl_->publish(std::move(records));
}

namespace {

PluginHealth health_of(const PluginRecord& record) {
  PluginHealth health;
  if (record.instance) {
    health = record.instance->health();
  } else if (record.exporter) {
    health = record.exporter->health();
  } else if (record.orchestrator) {
    health = record.orchestrator->health();
  } else if (record.applier) {
    health = record.applier->health();
  } else if (record.source) {
    health = record.source->health();
  } else if (record.failure) {
    health.error_count = 1;
    health.last_error = record.failure;
  }
  return health;
}

}  // namespace

std::vector<PluginManager::PluginUp> PluginManager::plugins_up() const {
  auto records = impl_->snapshot();
  std::stable_sort(records.begin(), records.end(),
                   [](const PluginRecord& a, const PluginRecord& b) { return a.id < b.id; });
  std::vector<PluginUp> out;
  for (const auto& record : records) {
    if (record.state != kLoaded && record.state != kFailed) continue;
    const bool loaded = record.state == kLoaded;
    out.push_back({record.id, record.version.value_or(""), loaded, loaded && health_of(record).ok});
  }
  return out;
}

Json PluginManager::describe() const {
  auto records = impl_->snapshot();
  std::stable_sort(records.begin(), records.end(),
                   [](const PluginRecord& a, const PluginRecord& b) { return a.id < b.id; });
  Json items = Json::array();
  for (const auto& record : records) {
    Json item = Json::object();
    item["id"] = record.id;
    item["kind"] = record.kinds;
    item["version"] = record.version ? Json(*record.version) : Json(nullptr);
    item["library"] = record.library ? Json(*record.library) : Json(nullptr);
    item["state"] = record.state;
    if (record.state != kLoaded) item["reason"] = record.reason;
    item["abi"] = {{"major", record.abi_major ? Json(*record.abi_major) : Json(nullptr)},
                   {"minor", record.abi_minor ? Json(*record.abi_minor) : Json(nullptr)}};
    Json descriptors = Json::array();
    for (const auto& descriptor : record.descriptors)
      descriptors.push_back({{"kind", descriptor_kind_name(descriptor.kind)},
                             {"name", descriptor.name},
                             {"struct_size", descriptor.struct_size}});
    item["descriptors"] = std::move(descriptors);
    const PluginHealth health = health_of(record);
    Json health_json = {{"ok", health.ok}, {"error_count", health.error_count}};
    if (health.last_error) health_json["last_error"] = *health.last_error;
    item["health"] = std::move(health_json);
    if (record.exporter) {
      const ExporterCounters c = record.exporter->counters();
      Json exporter = {{"queue_depth", c.queue_depth}, {"queue_capacity", c.queue_capacity},
                       {"sent", c.sent},               {"retried", c.retried},
                       {"dropped", c.dropped}};
      if (c.last_error) exporter["last_error"] = *c.last_error;
      item["exporter"] = std::move(exporter);
    }
    if (record.source) item["source"] = Json::parse(record.source->status().json);
    items.push_back(std::move(item));
  }
  return Json{{"items", std::move(items)}};
}

std::vector<SectionRender> PluginManager::render_sections() {
  // Read-your-writes: everything journaled before this call is reflected.
  // Rows from before the start are never dispatched, so only a head past the
  // start id is waited for.
  int64_t head = 0;
  if (impl_->services->journal && impl_->services->bus) {
    head = impl_->services->journal->head_id();
    if (head <= impl_->services->events_start_id) head = 0;
  }
  return render_sections_through(head);
}

std::vector<SectionRender> PluginManager::render_sections_through(int64_t through_id) {
  const auto records = impl_->snapshot();

  // One entry per snapshot key: the built-ins in order, then third-party
  // sections in load order.
  struct Entry {
    SectionRender render;
    std::shared_ptr<SectionInstance> instance;
    std::shared_ptr<RenderTicket> ticket;
  };
  auto entry_for = [](const std::string& name, const PluginRecord* record) {
    Entry entry;
    entry.render.name = name;
    entry.render.plugin_id = record ? record->id : "tp.section." + name;
    if (record) entry.render.version = record->version;
    if (!record || record->state == kNotLoaded)
      entry.render.error = "not_loaded";
    else if (record->state == kDisabled)
      entry.render.error = "disabled";
    else if (record->state != kLoaded || !record->instance)
      entry.render.error = "failed";
    else
      entry.instance = record->instance;
    if (!entry.instance) entry.render.json = "null";
    return entry;
  };
  // The plugin that stands for a key: the one running it, else the built-in
  // id, else any that claims it.
  auto owner_of = [&](const std::string& name) -> const PluginRecord* {
    const PluginRecord* fallback = nullptr;
    for (const auto& record : records) {
      if (record.duplicate || record.section != name) continue;
      if (record.instance) return &record;
      if (!fallback || record.id == "tp.section." + name) fallback = &record;
    }
    if (fallback) return fallback;
    for (const auto& record : records)
      if (record.id == "tp.section." + name && !record.duplicate) return &record;
    return nullptr;
  };

  std::vector<Entry> entries;
  const auto& builtins = builtin_section_names();
  for (const auto& name : builtins) entries.push_back(entry_for(name, owner_of(name)));
  std::set<std::string> listed(builtins.begin(), builtins.end());
  for (const auto& record : records) {
    if (!record.section || record.duplicate || listed.count(*record.section)) continue;
    listed.insert(*record.section);
    entries.push_back(entry_for(*record.section, owner_of(*record.section)));
  }

  // The bus offers every event up to through_id to the inboxes first
  // (bounded by the render timeout), then each executor delivers up to that
  // id before it renders.
  const auto deadline = std::chrono::steady_clock::now() + impl_->settings.render_timeout;
  if (through_id > 0 && impl_->services->bus)
    impl_->services->bus->wait_offered(through_id, deadline);
  // Ask every section at once, then wait against one deadline.
  for (auto& entry : entries)
    if (entry.instance) entry.ticket = entry.instance->request_render(through_id);
  std::vector<SectionRender> out;
  out.reserve(entries.size());
  for (auto& entry : entries) {
    if (entry.ticket) {
      auto outcome = entry.ticket->wait_until(deadline);
      if (!outcome) {
        entry.render.error = "timeout";
        entry.render.json = "null";
        entry.instance->record_failure("render: no answer within " +
                                       std::to_string(impl_->settings.render_timeout.count()) +
                                       " ms");
      } else if (!outcome->ok) {
        entry.render.error = outcome->error;
        entry.render.json = "null";
      } else {
        entry.render.ok = true;
        entry.render.json = std::move(outcome->json);
      }
    }
    out.push_back(std::move(entry.render));
  }
  return out;
}

std::optional<std::string> PluginManager::render_section(const std::string& name) {
  std::shared_ptr<SectionInstance> instance;
  {
    std::lock_guard lock(impl_->state_mutex);
    for (const auto& record : impl_->records)
      if (!record.duplicate && record.section == name && record.instance) {
        instance = record.instance;
        break;
      }
  }
  if (!instance) return std::nullopt;
  // Read-your-writes, as for the whole snapshot. Rows from before the start
  // are never dispatched, so only a head past the start id is waited for.
  const auto deadline = std::chrono::steady_clock::now() + impl_->settings.render_timeout;
  int64_t head = 0;
  if (impl_->services->journal && impl_->services->bus) {
    head = impl_->services->journal->head_id();
    if (head > impl_->services->events_start_id)
      impl_->services->bus->wait_offered(head, deadline);
  }
  auto outcome = instance->request_render(head)->wait_until(deadline);
  if (!outcome) {
    instance->record_failure("render: no answer within " +
                             std::to_string(impl_->settings.render_timeout.count()) + " ms");
    return std::nullopt;
  }
  if (!outcome->ok) return std::nullopt;
  return std::move(outcome->json);
}

void PluginManager::offer_patch(const std::string& read_model_id,
                                std::shared_ptr<const std::string> frame, int64_t published_ms) {
  impl_->exporters->offer_patch(read_model_id, std::move(frame), published_ms);
}

std::shared_ptr<OrchestratorInstance> PluginManager::orchestrator(
    const std::string& plugin_id) const {
  std::lock_guard lock(impl_->state_mutex);
  for (const auto& record : impl_->records)
    if (!record.duplicate && record.id == plugin_id && record.orchestrator)
      return record.orchestrator;
  return nullptr;
}

std::shared_ptr<ApplierInstance> PluginManager::applier(const std::string& plugin_id) const {
  std::lock_guard lock(impl_->state_mutex);
  for (const auto& record : impl_->records)
    if (!record.duplicate && record.id == plugin_id && record.applier) return record.applier;
  return nullptr;
}

bool PluginManager::provides_section(const std::string& name) const {
  std::lock_guard lock(impl_->state_mutex);
  for (const auto& record : impl_->records)
    if (!record.duplicate && record.section == name && record.instance) return true;
  return false;
}

bool PluginManager::settled() const {
  return impl_->settled.load(std::memory_order_acquire);
}

}  // namespace tpark
