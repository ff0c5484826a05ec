#include "app/app.h"

#include <signal.h>

#include <atomic>
#include <cstdio>

#include <sodium.h>
#include <spdlog/spdlog.h>

#include "app/pruner.h"
#include "app/reload.h"
#include "app/setup.h"
#include "app/state_dir_lock.h"
#include "app/state_reads.h"
#include "config/config_kinds.h"
#include "config/config_state.h"
#include "control/actions.h"
#include "control/capsules.h"
#include "control/journal_note_kind.h"
#include "control/leases.h"
#include "control/policy.h"
#include "control/read_models.h"
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
#include "training/logic_units.h"
#include "training/training_service.h"
#include "util/time.h"

namespace tpark {

namespace {

std::string random_instance_id() {
  unsigned char bytes[8];
  randombytes_buf(bytes, sizeof bytes);
  char hex[2 * sizeof bytes + 1];
  return sodium_bin2hex(hex, sizeof hex, bytes, sizeof bytes);
}

// Blocks until SIGINT or SIGTERM; SIGHUP reloads host.yaml and the presets.
void wait_for_stop_signal(AppContext& app) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  while (true) {
    int sig = 0;
    if (sigwait(&set, &sig) != 0) continue;
    if (sig == SIGHUP) {
      reload_on_sighup(app);
      continue;
    }
    spdlog::info("received {}, stopping", sig == SIGINT ? "SIGINT" : "SIGTERM");
    return;
  }
}

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
  std::unique_ptr<control::ConfigState> config = boot_config_state(s);
  if (!config) return 78;

  http::AdminAuth auth(s.auth);  // throws on a malformed ARW_ADMIN_TOKEN_SHA256
  if (!auth.configured() && !http::is_loopback_address(s.bind_address)) {
    std::fprintf(stderr,
                 "refusing to bind %s:%u without ARW_ADMIN_TOKEN or ARW_ADMIN_TOKEN_SHA256\n",
                 s.bind_address.c_str(), static_cast<unsigned>(s.port));
    return 78;
  }

  // Control-plane selectors (policy, staging mode, trust store) stop startup.
  auto loaded_control_settings = control::load_control_settings();
  if (auto* error = std::get_if<std::string>(&loaded_control_settings)) {
    std::fprintf(stderr, "%s\n", error->c_str());
    return 78;
  }
  const auto& control_settings = std::get<control::ControlSettings>(loaded_control_settings);

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
    config->open(*journal);
  } catch (const std::exception& e) {
    spdlog::error("cannot load the configuration state: {}", e.what());
    return 1;
  }
  app.config = config.get();

  control::ActionKindRegistry action_kinds;
  app.action_kinds = &action_kinds;
  control::register_config_kinds(action_kinds, *config);
  action_kinds.add("journal.note", std::make_shared<control::JournalNoteKind>());
  ControlPlane control;
  try {
    control = open_control_plane(*journal, action_kinds, control_settings, *config);
  } catch (const std::exception& e) {
    spdlog::error("cannot open the control plane's tables: {}", e.what());
    return 1;
  }
  app.actions = control.actions.get();
  app.leases = control.leases.get();
  app.capsules = control.capsules.get();
  app.started_id = journal->head_id();
  telemetry.set_journal_head(app.started_id);

  // Declared before the plugins so that it outlives them: an orchestrator
  // may report until the plugins are stopped.
  std::unique_ptr<training::TrainingService> training_service;
  std::atomic<training::TrainingService*> training_ptr{nullptr};
  HostServices services = plugin_host_services(app, training_ptr);
  services.state_read = host_state_reads(app);
  PluginManager plugins(services, plugin_settings(s));
  app.plugins = &plugins;
  telemetry.set_plugins(&plugins);
  plugins.load(s.host_config);
  live::define_builtin_read_models(read_models, app.settings, plugins, telemetry,
                                   [&config] { return config->telemetry_config().dump(); });
  for (auto& model :
       control::control_read_models(*control.leases, *control.actions, *control.capsules))
    read_models.define({.id = std::move(model.id),
                        .compute = std::move(model.compute),
                        .event_prefixes = std::move(model.event_prefixes),
                        .dirty_on_request = false,
                        .dirty_on_wakeup = model.dirty_on_wakeup,
                        .volatile_paths = std::move(model.volatile_paths),
                        .coalescing = {},
                        .list_model = model.list_model});

  try {
    training_service = std::make_unique<training::TrainingService>(
        *journal, *config, plugins,
        training::training_settings_from_env(effective_training_dispatch(s.host_config)), &metrics);
  } catch (const std::exception& e) {
    spdlog::error("cannot open the training tables: {}", e.what());
    return 1;
  }
  training_ptr = training_service.get();
  app.training = training_service.get();
  training::LogicUnits logic_units(
      *journal, *config, plugins,
      {control_settings.patch_safety, training_service->history_max(), "tp.applier.logic-units"});
  action_kinds.add("logic_unit.apply", logic_units.apply_kind());
  action_kinds.add("logic_unit.revert", logic_units.revert_kind());
  app.logic_units = &logic_units;

  app.reload_plugins = make_plugins_reload(app, plugins);
  app.reload_presets = make_presets_reload(*config, *journal);

  http::Router router;
  add_all_routes(router, app);
  live::EventStreams event_streams(*journal, bus, read_models, app.instance_id,
                                   event_stream_settings(s), &metrics);
  app.event_streams = &event_streams;

  http::RateLimiter limiter(s.rate);
  http::HttpServer server(router, auth, limiter, server_options(app, router));
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
    control.actions->start();
    control.capsules->start();
    training_service->start();
  } catch (const std::exception& e) {
    spdlog::error("cannot start the action executor: {}", e.what());
    server.stop();
    plugins.stop_all();
    return 1;
  }
  server.start();
  Pruner pruner(*journal, *control.leases, s);
  app.ready = true;
  std::string shown =
      s.bind_address.find(':') != std::string::npos ? "[" + s.bind_address + "]" : s.bind_address;
  spdlog::info("listening on {}:{}", shown, port);

  wait_for_stop_signal(app);
  app.ready = false;
  server.stop();
  read_models.stop();
  control.actions->stop();
  control.capsules->stop();
  training_service->stop();
  plugins.stop_all();
  bus.flush();
  journal.reset();
  spdlog::info("stopped cleanly");
  return 0;
}

}  // namespace tpark
