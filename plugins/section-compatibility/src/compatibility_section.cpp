// tp.section.compatibility: the `compatibility` snapshot key (telemetry.md
// §2.1), the requests carrying the legacy X-ARW-Gate header as the HTTP layer
// counted them, rendered from host state "compatibility".
// The rendering is shared: plugins/common/src/host_state_sections.cpp.
#include "tpark/host_state/host_state_section.h"
#include "tpark/host_state/host_state_sections.h"

namespace {

class CompatibilitySection final : public tpark::sections::HostStateSection {
 public:
  CompatibilitySection(tpark::HostRef host, std::string_view /*config_json*/)
      : HostStateSection(host, "compatibility",
                         tpark::sections::host_state::compatibility_section) {}
};

}  // namespace

TP_SECTION_PLUGIN(CompatibilitySection, "compatibility")
