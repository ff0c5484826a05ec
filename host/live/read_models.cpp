#include "live/read_models.h"

#include <memory>
#include <stdexcept>

#include "config/settings.h"
#include "plugins/plugin_manager.h"
#include "telemetry/host_telemetry.h"
#include "telemetry/training_snapshot.h"

namespace tpark::live {

const std::vector<std::string>& training_metrics_volatile_paths() {
  static const std::vector<std::string> paths = {
      "/generated",
      "/generated_ms",
      "/capsules/next_expiry_in_ms",
      "/capsules/next_expiry_label",
      "/capsules/sample/*/expires_in_ms",
      "/capsules/sample/*/expired_since_ms",
      "/capsules/sample/*/renew_in_ms",
      "/capsules/sample/*/status_label",
      "/capsules/sample/*/aria_hint",
  };
  return paths;
}

Coalescing route_stats_coalescing(const Settings& settings) {
  const auto coalesce = std::chrono::milliseconds(settings.route_stats_coalesce_ms);
  const auto publish = std::chrono::milliseconds(settings.route_stats_publish_ms);
  return Coalescing{coalesce, std::max(coalesce, publish)};
}

void define_builtin_read_models(ReadModelHub& hub, const Settings& settings, PluginManager& plugins,
                                HostTelemetry& telemetry, ConfigJsonSource config) {
  // Each section's text is parsed again only when it changed.
  auto section_values = std::make_shared<SectionValueCache>();
  hub.define({.id = "training_metrics",
              .compute = [&plugins, &telemetry, config, section_values] {
                return training_snapshot_value(plugins, &telemetry, config, *section_values);
              },
              .event_prefixes = {""},
              .dirty_on_request = true,
              .dirty_on_wakeup = true,
              .volatile_paths = training_metrics_volatile_paths(),
              .coalescing = {}});

  // The context section's value; null when no running plugin provides it.
  // A render that failed or timed out is not a value: the version stays.
  hub.define({.id = "context_metrics",
              .compute = [&plugins] {
                auto text = plugins.render_section("context");
                if (text) return Json::parse(*text);
                if (plugins.provides_section("context"))
                  throw std::runtime_error("the context section did not render");
                return Json(nullptr);
              },
              .event_prefixes = {"context.", "working_set."},
              .dirty_on_request = false,
              .dirty_on_wakeup = false,
              .volatile_paths = {},
              .coalescing = {}});

  hub.define({.id = "route_stats",
              .compute = [&telemetry] { return telemetry.route_stats_body(); },
              .event_prefixes = {""},
              .dirty_on_request = true,
              .dirty_on_wakeup = true,
              .volatile_paths = {},
              .coalescing = [&settings] { return route_stats_coalescing(settings); }});

  hub.define({.id = "plugins",
              .compute = [&plugins] { return plugins.describe(); },
              .event_prefixes = {},
              .dirty_on_request = false,
              .dirty_on_wakeup = false,
              .volatile_paths = {},
              .coalescing = {}});
}

}  // namespace tpark::live
