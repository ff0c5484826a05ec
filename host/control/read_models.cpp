#include "control/read_models.h"

#include "control/actions.h"
#include "control/capsules.h"
#include "control/leases.h"

namespace tpark::control {

std::vector<ControlReadModel> control_read_models(LeaseStore& leases, ActionService& actions,
                                                  CapsuleStore& capsules) {
  std::vector<ControlReadModel> models;
  // Lease budgets move with admissions, so actions.* marks the leases.
  models.push_back({.id = "policy_leases",
                    .compute = [&leases] { return leases.list(false); },
                    .event_prefixes = {"leases.", "actions."},
                    .dirty_on_wakeup = true,
                    .volatile_paths = {"/generated", "/generated_ms"},
                    .list_model = false});
  models.push_back({.id = "staging_actions",
                    .compute = [&actions] { return actions.list_staging("pending", 100); },
                    .event_prefixes = {"staging.", "actions."},
                    .dirty_on_wakeup = false,
                    .volatile_paths = {"/generated", "/generated_ms"},
                    .list_model = false});
  // The reference's `actions` model: {version, items} with the newest 200
  // actions; GET /state/actions?limit=200 primes it (control.md 1.6). A staged
  // action emits staging.pending only.
  models.push_back({.id = "actions",
                    .compute =
                        [&actions] {
                          ActionFilter newest;
                          newest.limit = kActionsModelLimit;
                          return Json{{"items", actions.list_actions(newest)["items"]}};
                        },
                    .event_prefixes = {"actions.", "staging."},
                    .dirty_on_wakeup = false,
                    .volatile_paths = {},
                    .list_model = true});
  models.push_back({.id = "policy_capsules",
                    .compute = [&capsules] { return capsules.list(); },
                    .event_prefixes = {"policy.capsule."},
                    .dirty_on_wakeup = true,
                    .volatile_paths = {"/generated", "/generated_ms"},
                    .list_model = false});
  return models;
}

}  // namespace tpark::control
