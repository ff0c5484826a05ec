// The control plane's read models (control.md 4.7), each the body of its route,
// described here and defined in the read-model hub at boot (a lower layer does
// not include live/, so the hub takes these as they are).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "util/json.h"

namespace tpark::control {

class ActionService;
class CapsuleStore;
class LeaseStore;

struct ControlReadModel {
  std::string id;
  std::function<Json()> compute;
  std::vector<std::string> event_prefixes;  // committed kinds that mark it dirty
  bool dirty_on_wakeup = false;             // leases and capsules expire with time
  std::vector<std::string> volatile_paths;  // JSON Pointers outside change detection
  bool list_model = false;                  // {version, items}, as the reference lists
};

// policy_leases, staging_actions, actions and policy_capsules.
std::vector<ControlReadModel> control_read_models(LeaseStore& leases, ActionService& actions,
                                                  CapsuleStore& capsules);

}  // namespace tpark::control
