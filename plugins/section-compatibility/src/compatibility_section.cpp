// tp.section.compatibility: the `compatibility` snapshot key (telemetry.md
// §2.1), the requests carrying the legacy X-ARW-Gate header as the HTTP layer
// counted them. It is host state, not events: the state is re-read on every
// render (a small in-process read), and the render reports a change only
// when the value differs from the previous one.
#include <tpark/tp_plugin.hpp>

#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "tpark/host_state/host_state_sections.h"

namespace {

class CompatibilitySection final : public tpark::Section {
 public:
  CompatibilitySection(tpark::HostRef host, std::string_view /*config_json*/) : Section(host) {}

  void reset() override {}
  void on_event(const tpark::EventView& /*event*/) override {}

  bool render(std::string& out) override {
    // nullopt when the host cannot serve the state: the empty shape.
    const std::optional<std::string> state = host().state("compatibility");
    out = tpark::sections::host_state::compatibility_section(
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

TP_SECTION_PLUGIN(CompatibilitySection, "compatibility")
