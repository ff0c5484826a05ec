#include "app/setup.h"

#include <sys/resource.h>

#include <cstdio>
#include <set>

#include <spdlog/spdlog.h>

#include "config/config_state.h"
#include "config/presets.h"
#include "control/actions.h"
#include "control/capsules.h"
#include "control/leases.h"
#include "control/policy.h"
#include "live/read_model_hub.h"
#include "routes/app_context.h"
#include "routes/routes.h"
#include "telemetry/route_stats.h"
#include "telemetry/training_snapshot.h"
#include "training/training_service.h"

namespace tpark {

std::unique_ptr<control::ConfigState> boot_config_state(const Settings& s) {
  auto resolved_config = control::resolve_boot_config(
      control::load_presets(control::default_presets_dir(s.presets_dir)),
      control::detect_tier(control::read_machine_facts()),
      [](const std::string& name) { return env_string(name.c_str()); });
  if (auto* fatal = std::get_if<std::string>(&resolved_config)) {
    std::fprintf(stderr, "%s\n", fatal->c_str());
    return nullptr;
  }
  auto config = std::make_unique<control::ConfigState>(
      std::get<control::BootConfig>(std::move(resolved_config)));
  for (const auto& error : config->presets()->errors)
    spdlog::error("preset file skipped: {}", error.to_string());
  for (const auto& warning : config->boot().warnings) spdlog::warn("{}", warning);
  spdlog::info("perf preset {} ({}; detected tier {}), context preset {}", config->boot().boot_perf,
               config->boot().perf_source, config->boot().detected.tier,
               config->boot().boot_context.value_or("none"));
  return config;
}

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

ControlPlane open_control_plane(Journal& journal, control::ActionKindRegistry& kinds,
                                const control::ControlSettings& control_settings,
                                const control::ConfigState& config) {
  ControlPlane plane;
  plane.actions = std::make_unique<control::ActionService>(journal, kinds, control_settings);
  plane.leases = std::make_unique<control::LeaseStore>(journal);
  plane.capsules = std::make_unique<control::CapsuleStore>(journal, control_settings);
  // The queue limit is the effective ARW_ACTIONS_QUEUE_MAX (control.md 4.2),
  // which presets and actions can change.
  plane.actions->set_queue_max_source([&config]() -> uint64_t {
    Json v = config.effective_value("ARW_ACTIONS_QUEUE_MAX");
    return v.is_number_unsigned() || v.is_number_integer() ? v.get<uint64_t>() : 0;
  });
  return plane;
}

HostServices plugin_host_services(AppContext& app,
                                  std::atomic<training::TrainingService*>& training) {
  HostTelemetry& telemetry = *app.telemetry;
  live::ReadModelHub& read_models = *app.read_models;
  HostServices services;
  services.journal = app.journal;
  services.bus = app.bus;
  services.metrics = app.metrics;
  services.events_start_ms = app.started_ms;
  services.events_start_id = app.started_id;
  services.job_report = [&training](const std::string& plugin_id, std::string_view job_id,
                                    uint32_t kind, std::string_view json) -> tp_status {
    auto* service = training.load();
    return service ? service->report(plugin_id, job_id, kind, json) : TP_UNAVAILABLE;
  };
  services.ingest_rejected = [&telemetry](std::string_view source,
                                          const std::vector<IngestRejection>& rejected) {
    telemetry.on_ingest_rejections(source, rejected);
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
  services.patches_wanted = [&app, &read_models,
                             patch_subscription = uint64_t{0}](bool wanted) mutable {
    if (wanted && patch_subscription == 0) {
      patch_subscription =
          read_models.subscribe_patches({}, [&app](const live::PatchPublication& patch) {
            if (app.plugins != nullptr)
              app.plugins->offer_patch(patch.id, patch.payload, patch.published_ms);
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
  return services;
}

PluginSettings plugin_settings(const Settings& s) {
  PluginSettings plugin_settings;
  plugin_settings.builtin_dirs = s.builtin_plugin_dirs;
  plugin_settings.extra_dirs = s.extra_plugin_dirs;
  plugin_settings.inbox_capacity = s.plugin_inbox;
  plugin_settings.render_timeout = std::chrono::milliseconds(s.section_timeout_ms);
  plugin_settings.stop_timeout = std::chrono::milliseconds(s.plugin_stop_timeout_ms);
  plugin_settings.exporter_queue_capacity = s.exporter_queue_items;
  plugin_settings.exporter_stall_timeout = std::chrono::milliseconds(s.exporter_stall_ms);
  return plugin_settings;
}

live::EventStreamSettings event_stream_settings(const Settings& s) {
  live::EventStreamSettings stream_settings;
  stream_settings.max_clients = s.sse_max_clients;
  stream_settings.queue_frames = s.sse_queue;
  stream_settings.keepalive = std::chrono::seconds(s.sse_keepalive_secs);
  stream_settings.replay_max = s.sse_replay_max;
  return stream_settings;
}

http::ServerOptions server_options(AppContext& app, const http::Router& router) {
  const Settings& s = app.settings;
  http::ServerOptions server_options;
  server_options.bind_address = s.bind_address;
  server_options.port = s.port;
  server_options.threads = s.http_threads;
  server_options.default_body_limit = s.http_body_limit;
  server_options.workers = static_cast<unsigned>(s.http_workers);
  server_options.worker_queue_max = s.http_queue_max;
  {
    // ARW_HTTP_MAX_CONC is a restart key (control.md 3.1): the value in force at boot.
    const Json max_conc = app.config->effective_value("ARW_HTTP_MAX_CONC");
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
  server_options.stream_write_timeout = std::chrono::milliseconds(s.http_stream_write_timeout_ms);
  server_options.public_rate_limit = s.public_rate_limit;
  server_options.public_rate_window_secs = s.public_rate_window_secs;
  // Observation requests are counted but mark no read model dirty (telemetry.md 6).
  std::set<std::string, std::less<>> observation_templates;
  for (const auto& route : router.routes())
    if (route.observation) observation_templates.insert(route.path_template);
  server_options.on_complete = [&telemetry = *app.telemetry, &read_models = *app.read_models,
                                observation_templates = std::move(observation_templates),
                                &event_streams = *app.event_streams](
                                   const http::Request& request, int status, int64_t latency_us) {
    telemetry.on_request(request, status, latency_us);
    if (status == 401 && request.route_template == "/events")
      event_streams.count_rejected("unauthorized");
    if (!observation_templates.count(request.route_template)) read_models.on_request();
  };
  server_options.admin_hook = [&app](const http::Request& request) {
    return capsule_headers(app, request);
  };
  // Without either header capsule_headers has nothing to do.
  server_options.admin_hook_wanted = [](const http::Request& request) {
    return request.headers.get("x-arw-capsule").has_value() ||
           request.headers.get("x-arw-gate").has_value();
  };
  server_options.public_hook = legacy_gate_header;
  return server_options;
}

}  // namespace tpark
