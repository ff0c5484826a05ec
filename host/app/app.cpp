#include "app/app.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <set>
#include <thread>

#include <sodium.h>
#include <spdlog/spdlog.h>

#include "config/config_kinds.h"
#include "config/config_state.h"
#include "config/presets.h"
#include "control/actions.h"
#include "control/capsules.h"
#include "control/journal_note_kind.h"
#include "control/leases.h"
#include "control/policy.h"
#include "http/problem.h"
#include "http/server.h"
#include "kernel/action_kinds.h"
#include "kernel/bus.h"
#include "kernel/journal.h"
#include "live/event_stream.h"
#include "live/read_model_hub.h"
#include "live/read_models.h"
#include "metrics/metric_registry.h"
#include "plugins/plugin_manager.h"
#include "routes/app_context.h"
#include "routes/routes.h"
#include "telemetry/host_telemetry.h"
#include "telemetry/route_stats.h"
#include "telemetry/training_snapshot.h"
#include "training/logic_units.h"
#include "training/training_service.h"
#include "util/text.h"
#include "util/time.h"

namespace tpark {

namespace {

std::string random_instance_id() {
  unsigned char bytes[8];
  randombytes_buf(bytes, sizeof bytes);
  char hex[2 * sizeof bytes + 1];
  return sodium_bin2hex(hex, sizeof hex, bytes, sizeof bytes);
}

// Holds an exclusive lock on <state_dir>/tpark.lock for the process's life, so
// a second host on the same state dir is refused.
class StateDirLock {
 public:
  explicit StateDirLock(const std::filesystem::path& dir) {
    path_ = dir / "tpark.lock";
    fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0) throw std::runtime_error("cannot open " + path_.string());
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
      char pid[32] = {0};
      ssize_t n = ::pread(fd_, pid, sizeof pid - 1, 0);
      const std::string owner(n > 0 ? trim(std::string_view(pid, static_cast<size_t>(n))) : "unknown");
      ::close(fd_);
      fd_ = -1;
      throw std::runtime_error("state dir " + dir.string() +
                               " is in use by another tpark-host (pid " + owner + ")");
    }
    std::string me = std::to_string(::getpid()) + "\n";
    if (::ftruncate(fd_, 0) == 0 && ::pwrite(fd_, me.data(), me.size(), 0) < 0)
      spdlog::warn("cannot record pid in {}", path_.string());
  }
  ~StateDirLock() {
    if (fd_ >= 0) ::close(fd_);
  }

 private:
  std::filesystem::path path_;
  int fd_ = -1;
};

// Route statistics and event counter settings (telemetry.md 4, 9), read once.
HostTelemetryOptions telemetry_options(const Settings& settings, int64_t started_ms) {
  HostTelemetryOptions options;
  options.started_ms = started_ms;
  if (auto hist = env_string("ARW_ROUTE_HIST_MS")) {
    RouteBoundsParse parsed = parse_route_bounds_ms(*hist);
    if (!parsed.invalid.empty())
      spdlog::warn("ARW_ROUTE_HIST_MS='{}': dropped {} entries that are not positive integers{}",
                   *hist, parsed.invalid.size(), parsed.fell_back ? "; using the default" : "");
    options.route_bounds_ms = std::move(parsed.bounds_ms);
  }
  options.route_stats_max = env_u64("ARW_ROUTE_STATS_MAX", kDefaultRouteStatsMax, 1, 1000000);
  if (settings.events_kinds_max) options.kinds_max = *settings.events_kinds_max;
  return options;
}

// Periodic retention, every ARW_EVENTS_PRUNE_SEC: the journal's
// ARW_EVENTS_MAX_ROWS / ARW_EVENTS_RETENTION_DAYS (when set) and the lease
// retention (control/leases.h), so dead leases do not pile up.
class Pruner {
 public:
  Pruner(Journal& journal, control::LeaseStore& leases, const Settings& s)
      : journal_(journal), leases_(leases), settings_(s) {
    thread_ = std::thread([this] { loop(); });
  }
  ~Pruner() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

 private:
  void loop() {
    std::unique_lock lock(mutex_);
    while (!stopping_) {
      lock.unlock();
      if (settings_.events_max_rows || settings_.events_retention_days) {
        int64_t min_time = settings_.events_retention_days
                               ? now_ms() - static_cast<int64_t>(*settings_.events_retention_days) *
                                                86400000
                               : 0;
        try {
          uint64_t removed = journal_.prune(settings_.events_max_rows.value_or(0), min_time);
          if (removed) spdlog::info("retention removed {} journal rows", removed);
        } catch (const std::exception& e) {
          spdlog::warn("retention pass failed: {}", e.what());
        }
      }
      try {
        if (const int64_t removed = leases_.prune())
          spdlog::info("retention removed {} inactive leases", removed);
      } catch (const std::exception& e) {
        spdlog::warn("lease retention pass failed: {}", e.what());
      }
      lock.lock();
      cv_.wait_for(lock, std::chrono::seconds(settings_.events_prune_sec),
                   [this] { return stopping_; });
    }
  }
  Journal& journal_;
  control::LeaseStore& leases_;
  const Settings& settings_;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace

std::filesystem::path builtin_plugin_dir() {
  if (auto dir = env_string("TPARK_BUILTIN_PLUGIN_DIR")) return *dir;
  std::error_code ec;
  auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    auto bin = exe.parent_path();
    if (std::filesystem::is_directory(bin.parent_path() / "plugins"))
      return bin.parent_path() / "plugins";
    return bin.parent_path() / "lib" / "tpark" / "plugins";
  }
  return "plugins";
}

int run_host(Settings settings) {
  AppContext app;
  app.settings = std::move(settings);
  const Settings& s = app.settings;
  app.started_ms = now_ms();
  app.instance_id = random_instance_id();
  http::set_envelope_by_default(s.api_envelope);

  // The environment snapshot and the presets come first (control.md 3.2).
  auto resolved_config = control::resolve_boot_config(
      control::load_presets(control::default_presets_dir(s.presets_dir)),
      control::detect_tier(control::read_machine_facts()),
      [](const std::string& name) { return env_string(name.c_str()); });
  if (auto* fatal = std::get_if<std::string>(&resolved_config)) {
    std::fprintf(stderr, "%s\n", fatal->c_str());
    return 78;
  }
  control::ConfigState config(std::get<control::BootConfig>(std::move(resolved_config)));
  for (const auto& error : config.presets()->errors)
    spdlog::error("preset file skipped: {}", error.to_string());
  for (const auto& warning : config.boot().warnings) spdlog::warn("{}", warning);
  spdlog::info("perf preset {} ({}; detected tier {}), context preset {}", config.boot().boot_perf,
               config.boot().perf_source, config.boot().detected.tier,
               config.boot().boot_context.value_or("none"));

  http::AdminAuth auth(s.auth);  // throws on a malformed ARW_ADMIN_TOKEN_SHA256
  if (!auth.configured() && !http::is_loopback_address(s.bind_address)) {
    std::fprintf(stderr,
                 "refusing to bind %s:%u without ARW_ADMIN_TOKEN or ARW_ADMIN_TOKEN_SHA256\n",
                 s.bind_address.c_str(), static_cast<unsigned>(s.port));
    return 78;
  }

  // Control-plane selectors (policy, staging mode, trust store) stop startup.
  auto control_settings = control::load_control_settings();
  if (auto* error = std::get_if<std::string>(&control_settings)) {
    std::fprintf(stderr, "%s\n", error->c_str());
    return 78;
  }

  std::error_code ec;
  std::filesystem::create_directories(s.state_dir, ec);
  if (ec) {
    spdlog::error("cannot create state dir {}: {}", s.state_dir.string(), ec.message());
    return 1;
  }
  std::unique_ptr<StateDirLock> lock;
  try {
    lock = std::make_unique<StateDirLock>(s.state_dir);
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
    return 1;
  }

  MetricRegistry metrics;
  Bus bus;
  // Before the journal: its commit sink feeds the core counters until the
  // journal is gone.
  HostTelemetry telemetry(metrics, bus, telemetry_options(s, app.started_ms));
  telemetry.tasks().started("events.dispatcher");
  // Before the journal: the commit sink marks read models dirty.
  live::ReadModelHub read_models(
      app.instance_id,
      live::Coalescing{std::chrono::milliseconds(s.read_model_coalesce_ms),
                       std::chrono::milliseconds(s.read_model_max_delay_ms)},
      &metrics);
  app.read_models = &read_models;
  telemetry.tasks().started("read_models.hub");
  std::unique_ptr<Journal> journal;
  try {
    journal = std::make_unique<Journal>(s.state_dir / "tpark.db");
  } catch (const std::exception& e) {
    spdlog::error("cannot open the journal: {}", e.what());
    return 1;
  }
  journal->set_commit_sink([&bus, &telemetry, &read_models](std::vector<EventPtr>&& events) {
    telemetry.on_commit(events);
    read_models.on_events(events);
    bus.publish(std::move(events));
  });
  app.journal = journal.get();
  app.bus = &bus;
  app.metrics = &metrics;
  app.telemetry = &telemetry;
  try {
    config.open(*journal);
  } catch (const std::exception& e) {
    spdlog::error("cannot load the configuration state: {}", e.what());
    return 1;
  }
  app.config = &config;
  control::ActionKindRegistry action_kinds;
  app.action_kinds = &action_kinds;
  control::register_config_kinds(action_kinds, config);
  action_kinds.add("journal.note", std::make_shared<control::JournalNoteKind>());
  std::unique_ptr<control::ActionService> actions;
  std::unique_ptr<control::LeaseStore> leases;
  std::unique_ptr<control::CapsuleStore> capsules;
  try {
    const auto& cs = std::get<control::ControlSettings>(control_settings);
    actions = std::make_unique<control::ActionService>(*journal, action_kinds, cs);
    leases = std::make_unique<control::LeaseStore>(*journal);
    capsules = std::make_unique<control::CapsuleStore>(*journal, cs);
  } catch (const std::exception& e) {
    spdlog::error("cannot open the control plane's tables: {}", e.what());
    return 1;
  }
  app.actions = actions.get();
  // The queue limit is the effective ARW_ACTIONS_QUEUE_MAX (control.md 4.2),
  // which presets and actions can change.
  actions->set_queue_max_source([&config]() -> uint64_t {
    Json v = config.effective_value("ARW_ACTIONS_QUEUE_MAX");
    return v.is_number_unsigned() || v.is_number_integer() ? v.get<uint64_t>() : 0;
  });
  app.leases = leases.get();
  app.capsules = capsules.get();
  app.started_id = journal->head_id();
  telemetry.set_journal_head(app.started_id);

  HostServices services;
  services.journal = journal.get();
  services.bus = &bus;
  services.metrics = &metrics;
  services.events_start_ms = app.started_ms;
  services.events_start_id = app.started_id;
  PluginManager* manager_ptr = nullptr;
  // Declared before the plugins so that it outlives them: an orchestrator
  // may report until the plugins are stopped.
  std::unique_ptr<training::TrainingService> training_service;
  std::atomic<training::TrainingService*> training_ptr{nullptr};
  services.job_report = [&training_ptr](const std::string& plugin_id, std::string_view job_id,
                                        uint32_t kind, std::string_view json) -> tp_status {
    auto* service = training_ptr.load();
    return service ? service->report(plugin_id, job_id, kind, json) : TP_UNAVAILABLE;
  };
  services.state_read = [&app, &telemetry, &config,
                         &manager_ptr](const std::string& name) -> std::optional<Json> {
    if (name == "config") return config.state_config_body();
    if (name == "governor") return config.governor_state();
    if (name == "bus") return telemetry.bus_json();
    if (name == "route_stats") return telemetry.route_stats_body();
    if (name == "tasks") return telemetry.tasks().to_json();
    // Host-internal: when each restart counted in restarts_window leaves the
    // window, so tp.section.tasks can wake up then (telemetry.md 2.1).
    if (name == "task_restarts") return telemetry.tasks().restarts_json();
    if (name == "compatibility") return telemetry.compatibility_json();
    if (name == "events_start")
      return Json{{"start", format_rfc3339_ms(app.started_ms)},
                  {"start_ms", app.started_ms},
                  {"start_id", app.started_id}};
    if (name == "plugins") return manager_ptr ? manager_ptr->describe() : Json(nullptr);
    if (name == "capsules") return app.capsules ? app.capsules->list() : Json(nullptr);
    return std::nullopt;
  };
  services.telemetry_snapshot = [&app]() -> std::optional<std::string> {
    // Not while the plugins load: a snapshot then would show every section
    // as not_loaded (and count it so in the section metrics).
    if (app.plugins == nullptr || !app.plugins->settled()) return std::nullopt;
    return render_training_snapshot(*app.plugins, app.telemetry);
  };
  // Read-model patches reach exporters that want them (ABI 1.1 TP_EXPORT_PATCH)
  // through a hub subscription held only while such an exporter runs: with no
  // subscriber the hub schedules nothing.
  services.patches_wanted = [&read_models, &manager_ptr, patch_subscription = uint64_t{0}](
                                bool wanted) mutable {
    if (wanted && patch_subscription == 0) {
      patch_subscription =
          read_models.subscribe_patches({}, [&manager_ptr](const live::PatchPublication& patch) {
            if (manager_ptr != nullptr)
              manager_ptr->offer_patch(patch.id, patch.payload, patch.published_ms);
          });
    } else if (!wanted && patch_subscription != 0) {
      read_models.unsubscribe_patches(patch_subscription);
      patch_subscription = 0;
    }
  };
  // A plugin's wake-up (a time boundary) marks the models that hold such
  // values, and the held snapshot stale.
  services.mark_dirty = [&telemetry, &read_models](const std::string&) {
    telemetry.note_change();
    read_models.on_wakeup();
  };
  services.plugin_task = [&telemetry, &read_models](const std::string& plugin_id,
                                                    PluginTaskEvent event) {
    telemetry.note_change();
    read_models.on_wakeup();
    read_models.mark_dirty("plugins");
    const std::string task = "plugin." + plugin_id;
    switch (event) {
      case PluginTaskEvent::Started:
        telemetry.tasks().started(task);
        break;
      case PluginTaskEvent::Completed:
        telemetry.tasks().completed(task);
        break;
      case PluginTaskEvent::Aborted:
        telemetry.tasks().aborted(task);
        break;
    }
  };

  PluginSettings plugin_settings;
  plugin_settings.builtin_dirs = s.builtin_plugin_dirs;
  plugin_settings.extra_dirs = s.extra_plugin_dirs;
  plugin_settings.inbox_capacity = s.plugin_inbox;
  plugin_settings.render_timeout = std::chrono::milliseconds(s.section_timeout_ms);
  plugin_settings.stop_timeout = std::chrono::milliseconds(s.plugin_stop_timeout_ms);
  plugin_settings.exporter_queue_capacity = s.exporter_queue_items;
  plugin_settings.exporter_stall_timeout = std::chrono::milliseconds(s.exporter_stall_ms);
  PluginManager plugins(services, plugin_settings);
  manager_ptr = &plugins;
  app.plugins = &plugins;
  telemetry.set_plugins(&plugins);
  plugins.load(s.host_config);
  live::define_builtin_read_models(read_models, app.settings, plugins, telemetry,
                                   [&config] { return config.telemetry_config().dump(); });
  // The control plane's read models (control.md 4.7): each is the body of its
  // route. Lease budgets move with admissions, so actions.* marks the leases.
  read_models.define({.id = "policy_leases",
                      .compute = [&leases] { return leases->list(false); },
                      .event_prefixes = {"leases.", "actions."},
                      .dirty_on_wakeup = true,
                      .volatile_paths = {"/generated", "/generated_ms"},
                      .coalescing = {}});
  read_models.define({.id = "staging_actions",
                      .compute = [&actions] { return actions->list_staging("pending", 100); },
                      .event_prefixes = {"staging.", "actions."},
                      .volatile_paths = {"/generated", "/generated_ms"},
                      .coalescing = {}});
  // The reference's `actions` model: {version, items} with the newest 200
  // actions; GET /state/actions?limit=200 primes it (control.md 1.6). A staged
  // action emits staging.pending only.
  read_models.define({.id = "actions",
                      .compute =
                          [&actions] {
                            control::ActionFilter newest;
                            newest.limit = control::kActionsModelLimit;
                            return Json{{"items", actions->list_actions(newest)["items"]}};
                          },
                      .event_prefixes = {"actions.", "staging."},
                      .volatile_paths = {},
                      .coalescing = {},
                      .list_model = true});
  read_models.define({.id = "policy_capsules",
                      .compute = [&capsules] { return capsules->list(); },
                      .event_prefixes = {"policy.capsule."},
                      .dirty_on_wakeup = true,
                      .volatile_paths = {"/generated", "/generated_ms"},
                      .coalescing = {}});

  try {
    training_service = std::make_unique<training::TrainingService>(*journal, config, plugins,
                                                           training::training_settings_from_env());
  } catch (const std::exception& e) {
    spdlog::error("cannot open the training tables: {}", e.what());
    return 1;
  }
  training_ptr = training_service.get();
  app.training = training_service.get();
  training::LogicUnits logic_units(
      *journal, config, plugins,
      {std::get<control::ControlSettings>(control_settings).patch_safety,
       training_service->history_max(), "tp.applier.logic-units"});
  action_kinds.add("logic_unit.apply", logic_units.apply_kind());
  action_kinds.add("logic_unit.revert", logic_units.revert_kind());
  app.logic_units = &logic_units;

  std::mutex reload_mutex;
  app.reload_plugins = [&app, &plugins, &reload_mutex](bool* ok) -> Json {
    std::lock_guard guard(reload_mutex);
    HostConfigResult loaded = reload_host_config(app.settings);
    if (auto* errors = std::get_if<std::vector<ConfigError>>(&loaded)) {
      *ok = false;
      return config_errors_json(*errors);
    }
    const HostConfig& next = std::get<HostConfig>(loaded);
    auto applied = plugins.reload(next);
    if (auto* errors = std::get_if<std::vector<ConfigError>>(&applied)) {
      *ok = false;
      return config_errors_json(*errors);
    }
    const ReloadResult& r = std::get<ReloadResult>(applied);
    app.read_models->mark_dirty("plugins");
    if (app.telemetry) app.telemetry->note_change();
    Json restart = Json::array();
    if (next.listen != app.settings.host_config.listen) restart.push_back("listen");
    if (next.state_dir != app.settings.host_config.state_dir) restart.push_back("state_dir");
    *ok = true;
    return {{"ok", true},
            {"applied", {{"added", r.added}, {"removed", r.removed}, {"reconfigured", r.reconfigured}}},
            {"restart_required", restart}};
  };

  std::mutex presets_reload_mutex;
  app.reload_presets = [&config, &journal, &presets_reload_mutex](bool* ok) -> Json {
    std::lock_guard guard(presets_reload_mutex);
    auto next = control::load_presets(config.presets()->dir);
    Json loaded = Json::array();
    for (const auto& preset : next->items) loaded.push_back(preset.name);
    Json errors = next->errors_json();
    *ok = config.replace_presets(next);
    NewEvent event;
    event.kind = "presets.reloaded";
    event.payload = Json{{"loaded", *ok ? loaded : Json::array()}, {"errors", errors}}.dump();
    event.time_ms = now_ms();
    event.source = "host";
    try {
      journal->append({std::move(event)});
    } catch (const std::exception& e) {
      spdlog::warn("presets.reloaded not journaled: {}", e.what());
    }
    if (!*ok) return errors;
    return {{"ok", true}, {"loaded", loaded}, {"errors", Json::array()}};
  };

  http::Router router;
  add_all_routes(router, app);

  live::EventStreamSettings stream_settings;
  stream_settings.max_clients = s.sse_max_clients;
  stream_settings.queue_frames = s.sse_queue;
  stream_settings.keepalive = std::chrono::seconds(s.sse_keepalive_secs);
  stream_settings.replay_max = s.sse_replay_max;
  live::EventStreams event_streams(*journal, bus, read_models, app.instance_id, stream_settings,
                                   &metrics);
  app.event_streams = &event_streams;

  // Observation requests are counted but mark no read model dirty (telemetry.md 6).
  std::set<std::string, std::less<>> observation_templates;
  for (const auto& route : router.routes())
    if (route.observation) observation_templates.insert(route.path_template);

  http::RateLimiter limiter(s.rate);
  http::ServerOptions server_options;
  server_options.bind_address = s.bind_address;
  server_options.port = s.port;
  server_options.threads = s.http_threads;
  server_options.default_body_limit = s.http_body_limit;
  server_options.workers = static_cast<unsigned>(s.http_workers);
  server_options.worker_queue_max = s.http_queue_max;
  {
    // ARW_HTTP_MAX_CONC is a restart key (control.md 3.1): the value in force at boot.
    const Json max_conc = config.effective_value("ARW_HTTP_MAX_CONC");
    if (max_conc.is_number_unsigned() || max_conc.is_number_integer())
      server_options.max_connections = max_conc.get<uint64_t>();
  }
  // One address may take all but an eighth of the connections, so another
  // (an operator's probe, a monitor) always finds room.
  server_options.max_connections_per_address = s.http_max_conc_per_ip.value_or(
      std::max<size_t>(1, server_options.max_connections - server_options.max_connections / 8));
  {
    // Every admitted connection is a descriptor: take what the hard limit
    // allows, and say so when the cap cannot be reached.
    rlimit files{};
    if (::getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
      files.rlim_cur = files.rlim_max;
      ::setrlimit(RLIMIT_NOFILE, &files);
      ::getrlimit(RLIMIT_NOFILE, &files);
    }
    if (files.rlim_cur != RLIM_INFINITY && files.rlim_cur < server_options.max_connections + 256)
      spdlog::warn("open-file limit {} is low for ARW_HTTP_MAX_CONC={}; connections past it fail",
                   static_cast<uint64_t>(files.rlim_cur), server_options.max_connections);
  }
  server_options.header_timeout = std::chrono::milliseconds(s.http_header_timeout_ms);
  server_options.idle_timeout = std::chrono::milliseconds(s.http_idle_timeout_ms);
  server_options.body_timeout = std::chrono::milliseconds(s.http_body_timeout_ms);
  server_options.public_rate_limit = s.public_rate_limit;
  server_options.public_rate_window_secs = s.public_rate_window_secs;
  server_options.on_complete = [&telemetry, &read_models, &observation_templates, &event_streams](
                                   const http::Request& request, int status, int64_t latency_us) {
    telemetry.on_request(request, status, latency_us);
    if (status == 401 && request.route_template == "/events") event_streams.count_rejected("unauthorized");
    if (!observation_templates.count(request.route_template)) read_models.on_request();
  };
  server_options.admin_hook = [&app](const http::Request& request) {
    return capsule_headers(app, request);
  };
  server_options.public_hook = legacy_gate_header;
  http::HttpServer server(router, auth, limiter, server_options);
  uint16_t port = 0;
  try {
    port = server.listen();
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
    read_models.stop();
    plugins.stop_all();
    return 1;
  }
  try {
    actions->start();
    capsules->start();
    training_service->start();
  } catch (const std::exception& e) {
    spdlog::error("cannot start the action executor: {}", e.what());
    server.stop();
    plugins.stop_all();
    return 1;
  }
  server.start();
  Pruner pruner(*journal, *leases, s);
  app.ready = true;
  std::string shown = s.bind_address.find(':') != std::string::npos ? "[" + s.bind_address + "]"
                                                                      : s.bind_address;
  spdlog::info("listening on {}:{}", shown, port);

  // Signals: SIGHUP reloads host.yaml; SIGINT/SIGTERM stop.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  while (true) {
    int sig = 0;
    if (sigwait(&set, &sig) != 0) continue;
    if (sig == SIGHUP) {
      bool ok = false;
      Json result = app.reload_plugins(&ok);
      if (ok) spdlog::info("SIGHUP: host configuration reloaded: {}", result.dump());
      else spdlog::error("SIGHUP: host configuration has errors, old set kept: {}", result.dump());
      // The presets reload on their own: an error in one keeps the other's result.
      bool presets_ok = false;
      Json presets_result = app.reload_presets(&presets_ok);
      if (presets_ok) spdlog::info("SIGHUP: presets reloaded: {}", presets_result.dump());
      else spdlog::error("SIGHUP: presets have errors, old set kept: {}", presets_result.dump());
      continue;
    }
    spdlog::info("received {}, stopping", sig == SIGINT ? "SIGINT" : "SIGTERM");
    break;
  }
  app.ready = false;
  server.stop();
  read_models.stop();
  actions->stop();
  capsules->stop();
  training_service->stop();
  plugins.stop_all();
  bus.flush();
  journal.reset();
  spdlog::info("stopped cleanly");
  return 0;
}

}  // namespace tpark
