// tp.section.bus: the `bus` snapshot key (telemetry.md §2.1), the host bus
// counters, rendered from host state "bus".
// The rendering is shared: plugins/common/src/host_state_sections.cpp.
#include "tpark/host_state/host_state_section.h"
#include "tpark/host_state/host_state_sections.h"

namespace {

class BusSection final : public tpark::sections::HostStateSection {
 public:
  BusSection(tpark::HostRef host, std::string_view /*config_json*/)
      : HostStateSection(host, "bus", tpark::sections::host_state::bus_section) {}
};

}  // namespace

TP_SECTION_PLUGIN(BusSection, "bus")
