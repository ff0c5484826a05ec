// tp.section.governor: the `governor` snapshot key (telemetry.md §2.3), the
// live governor state (control.md §2.3). It is host state, not events: the
// state is re-read on every render (a small in-process read), and the render
// reports a change only when the value differs from the previous one.
#include <tpark/tp_plugin.hpp>

#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "governor_model.h"

namespace {

class GovernorSection final : public tpark::Section {
 public:
  GovernorSection(tpark::HostRef host, std::string_view /*config_json*/) : Section(host) {}

  void reset() override {}
  void on_event(const tpark::EventView& /*event*/) override {}

  bool render(std::string& out) override {
    // nullopt until the host's control plane serves the governor.
    const std::optional<std::string> state = host().state("governor");
    out = tpark::sections::governor::governor_section(
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

TP_SECTION_PLUGIN(GovernorSection, "governor")
