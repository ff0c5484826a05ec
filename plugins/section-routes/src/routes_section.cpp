// tp.section.routes: the `routes` snapshot key (telemetry.md §2.1), one
// entry per path of the host's route statistics (§4: the host's requests and
// ingested http.route.sample events together), sorted by path. It is host
// state, not events: the state is re-read on every render (an in-process
// read of the §4 body), and the render reports a change only when the value
// differs from the previous one.
#include <tpark/tp_plugin.hpp>

#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "tpark/host_state/host_state_sections.h"

namespace {

class RoutesSection final : public tpark::Section {
 public:
  RoutesSection(tpark::HostRef host, std::string_view /*config_json*/) : Section(host) {}

  void reset() override {}
  void on_event(const tpark::EventView& /*event*/) override {}

  bool render(std::string& out) override {
    // nullopt when the host cannot serve the state: the empty shape.
    const std::optional<std::string> state = host().state("route_stats");
    out = tpark::sections::host_state::routes_section(
              state ? std::optional<std::string_view>(*state) : std::nullopt)
              .dump();
    const bool changed = out != last_render_;
    if (changed) last_render_ = out;
    return changed;
  }

 private:
  std::string last_render_;
};

}  // namespace

TP_SECTION_PLUGIN(RoutesSection, "routes")
