// Leases (control.md 4.3): rows in SQLite, the usable rules and which lease an
// admission charges. Functions take the connection they run on: the writer's
// (inside Journal::transact) for changes, a reader's for lists.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "control/sql.h"
#include "util/json.h"

struct sqlite3;

namespace tpark::control {

struct Lease {
  std::string id;
  std::string subject = "local";
  std::string capability;
  std::string scope;  // comma-separated patterns; "" or "*" = unrestricted
  int64_t ttl_until_ms = 0;
  std::optional<int64_t> budget;            // nullopt = unlimited
  std::optional<int64_t> budget_remaining;  // nullopt = unlimited
  std::optional<int64_t> revoked_ms;
  int64_t created_ms = 0;
  int64_t updated_ms = 0;

  // active | expired | exhausted | revoked at `now_ms` (revoked wins, then
  // exhausted, then expired).
  std::string status(int64_t now_ms) const;
  // The row as the routes and events show it.
  Json to_json(int64_t now_ms) const;
};

// Whether every target matches one of the scope's patterns (a trailing `*`
// matches by prefix, others exactly; "", "*" match everything).
bool scope_covers(std::string_view scope, const std::vector<std::string>& targets);

// Why a lease cannot be used for `targets` at `now_ms`; "" when usable.
// lease_revoked, lease_expired, lease_budget_exhausted or lease_scope_mismatch.
std::string lease_rejection(const Lease& lease, const std::vector<std::string>& targets,
                            int64_t now_ms);

// The outcome of looking for a usable lease among those with a capability.
struct LeaseChoice {
  std::optional<Lease> charged;     // the usable lease expiring soonest (ties: created first)
  std::string reason;               // when none: lease_required or the newest lease's rejection
  Json considered = Json::array();  // up to 10 {lease_id,rejected}, newest first
};
// `leases` newest first, as leases_with_capability returns them.
LeaseChoice choose_lease(const std::vector<Lease>& leases, const std::vector<std::string>& targets,
                         int64_t now_ms);

std::vector<Lease> leases_with_capability(sqlite3* db, std::string_view capability);
// choose_lease over the store without reading every lease of the capability:
// the reason and `considered` come from its 10 newest leases, the charged
// lease from the usable ones (unrevoked, unexpired, budget left) through the
// leases_usable index, soonest expiry first, the first whose scope covers.
LeaseChoice choose_lease_in(sqlite3* db, std::string_view capability,
                            const std::vector<std::string>& targets, int64_t now_ms);

// Lease retention: inactive leases (revoked, expired or exhausted) are kept
// kLeaseRetentionMs after they became inactive, and at most kInactiveLeasesKept
// of them (the newest); older ones are deleted, at most kLeasePruneBatch per
// call. Active leases are never pruned. Returns the rows deleted.
inline constexpr int64_t kLeaseRetentionMs = 24LL * 3600 * 1000;
inline constexpr int64_t kInactiveLeasesKept = 1000;
inline constexpr int64_t kLeasePruneBatch = 10000;
int64_t prune_leases(sqlite3* db, int64_t now_ms);
std::optional<Lease> find_lease(sqlite3* db, std::string_view id);
// The newest `limit` leases; inactive ones only with include_inactive.
std::vector<Lease> list_leases(sqlite3* db, bool include_inactive, int64_t now_ms, size_t limit);
void insert_lease(sqlite3* db, const Lease& lease);
// Costs one budget unit (no-op for unlimited leases).
void charge_lease(sqlite3* db, const std::string& id, int64_t now_ms);
// Sets revoked_ms unless already revoked; returns the revoked_ms now stored.
int64_t revoke_lease(sqlite3* db, const std::string& id, int64_t now_ms);

}  // namespace tpark::control

namespace tpark {
class Journal;
}

namespace tpark::control {

// The lease routes' store: creation and revocation commit with their events.
class LeaseStore {
 public:
  explicit LeaseStore(Journal& journal);
  // Inserts a lease valid for ttl_ms from now and emits leases.created with
  // the row, which it returns.
  Json create(const std::string& capability, const std::string& scope, int64_t ttl_ms,
              std::optional<int64_t> budget, const std::string& corr_id);
  // {id,revoked:true,revoked_at}; nullopt for an unknown id. Emits
  // leases.revoked the first time.
  std::optional<Json> revoke(const std::string& id, const std::string& corr_id);
  // GET /state/leases: {generated,count,items}, the 200 newest.
  Json list(bool include_inactive);
  // Deletes inactive leases past their retention (prune_leases); returns
  // how many. Called by the periodic retention pass.
  int64_t prune();

 private:
  Journal& journal_;
  ControlReader reader_;
};

}  // namespace tpark::control
