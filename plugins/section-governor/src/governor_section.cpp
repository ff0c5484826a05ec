// tp.section.governor: the `governor` snapshot key (telemetry.md §2.3), the
// live governor state (control.md §2.3), rendered from host state "governor"
// (unavailable until the host's control plane serves it: the default shape).
// The rendering is governor_model.cpp beside this file; the plugin class is
// HostStateSection (plugins/common/src/host_state_sections.cpp).
#include "governor_model.h"
#include "tpark/host_state/host_state_section.h"

namespace {

class GovernorSection final : public tpark::sections::HostStateSection {
 public:
  GovernorSection(tpark::HostRef host, std::string_view /*config_json*/)
      : HostStateSection(host, "governor", tpark::sections::governor::governor_section) {}
};

}  // namespace

TP_SECTION_PLUGIN(GovernorSection, "governor")
