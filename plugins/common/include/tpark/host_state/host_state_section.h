// The one shape of a section fed by host state instead of events
// (telemetry.md §2: routes, bus, tasks, governor, compatibility). It
// subscribes to nothing; every render re-reads one host state by name (a
// small in-process read, sdk.md "Host API services"), turns it into the
// section's value with a pure function (nullopt state = the host cannot serve
// it = the empty shape), and reports a change only when the value differs
// from the previous render.
//
// A plugin derives from it, names the state and the function, and may
// override on_rendered() to act on each value (tp.section.tasks schedules
// wake-ups there).
#pragma once

#include <tpark/tp_plugin.hpp>

#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace tpark::sections {

// The section's value from the state's JSON text (nullopt: unavailable).
using HostStateRenderer = nlohmann::ordered_json (*)(const std::optional<std::string_view>& state);

class HostStateSection : public tpark::Section {
 public:
  HostStateSection(tpark::HostRef host, std::string state_name, HostStateRenderer renderer)
      : Section(host), state_name_(std::move(state_name)), renderer_(renderer) {}

  void reset() override {}
  void on_event(const tpark::EventView& /*event*/) override {}

  bool render(std::string& out) final {
    const std::optional<std::string> state = host().state(state_name_);
    const nlohmann::ordered_json value =
        renderer_(state ? std::optional<std::string_view>(*state) : std::nullopt);
    on_rendered(value);
    out = value.dump();
    const bool changed = out != last_render_;
    if (changed) last_render_ = out;
    return changed;
  }

 protected:
  // Called with every rendered value, before it is returned.
  virtual void on_rendered(const nlohmann::ordered_json& /*value*/) {}

 private:
  const std::string state_name_;
  const HostStateRenderer renderer_;
  std::string last_render_;
};

}  // namespace tpark::sections
