// tp.section.routes: the `routes` snapshot key (telemetry.md §2.1), one
// entry per path of the host's route statistics (§4: the host's requests and
// ingested http.route.sample events together), sorted by path, rendered from
// host state "route_stats" (the §4 body).
// The rendering is shared: plugins/common/src/host_state_sections.cpp.
#include "tpark/host_state/host_state_section.h"
#include "tpark/host_state/host_state_sections.h"

namespace {

class RoutesSection final : public tpark::sections::HostStateSection {
 public:
  RoutesSection(tpark::HostRef host, std::string_view /*config_json*/)
      : HostStateSection(host, "route_stats", tpark::sections::host_state::routes_section) {}
};

}  // namespace

TP_SECTION_PLUGIN(RoutesSection, "routes")
