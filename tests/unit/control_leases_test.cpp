// Lease admission and retention over SQLite (control.md 4.3): the usable
// lease is found through the leases_usable index, the reason and `considered`
// still come from the newest leases, and inactive leases are pruned after
// their retention while active ones stay.
#include <catch2/catch.hpp>

#include <sqlite3.h>

#include <string>

#include "control/leases.h"
#include "control/sql.h"

using namespace tpark;
using namespace tpark::control;

namespace {

constexpr int64_t kNow = 1767225600000;
constexpr int64_t kHourMs = 3600 * 1000;

struct Db {
  sqlite3* db = nullptr;
  int64_t created = 0;
  Db() {
    REQUIRE(sqlite3_open(":memory:", &db) == SQLITE_OK);
    create_control_tables(db);
  }
  ~Db() { sqlite3_close(db); }
  // A lease of capability "c", created after the previous one.
  Lease add(const std::string& id, int64_t ttl_until_ms, std::string scope = "",
            std::optional<int64_t> budget_remaining = std::nullopt,
            std::optional<int64_t> revoked_ms = std::nullopt, int64_t updated_ms = 0) {
    Lease lease;
    lease.id = id;
    lease.capability = "c";
    lease.scope = std::move(scope);
    lease.ttl_until_ms = ttl_until_ms;
    lease.budget = budget_remaining ? std::optional<int64_t>(5) : std::nullopt;
    lease.budget_remaining = budget_remaining;
    lease.revoked_ms = revoked_ms;
    lease.created_ms = kNow - 48 * kHourMs + ++created;
    lease.updated_ms = updated_ms != 0 ? updated_ms : lease.created_ms;
    insert_lease(db, lease);
    return lease;
  }
  int64_t count() {
    Sql q(db, "SELECT count(*) FROM leases");
    q.step();
    return q.integer(0);
  }
  bool has(const std::string& id) { return find_lease(db, id).has_value(); }
};

}  // namespace

TEST_CASE("lease_admission_charges_the_soonest_usable_covering_lease_through_the_index",
          "[control][leases]") {
  Db d;
  d.add("revoked", kNow + 1000, "", std::nullopt, kNow - 5);
  d.add("expired", kNow - 1);
  d.add("exhausted", kNow + 1000, "", 0);
  d.add("elsewhere", kNow + 2000, "other/*");
  d.add("later", kNow + 5000, "test/*", 3);
  d.add("sooner", kNow + 4000, "test/*");
  d.add("sooner-twin", kNow + 4000, "test/*");  // the same expiry, created later

  LeaseChoice choice = choose_lease_in(d.db, "c", {"test/setting"}, kNow);
  REQUIRE(choice.charged);
  CHECK(choice.charged->id == "sooner");
  CHECK(choice.reason.empty());
  REQUIRE(choice.considered.size() == 7);
  CHECK(choice.considered[0]["lease_id"] == "sooner-twin");
  CHECK(choice.considered[6]["rejected"] == "lease_revoked");
  CHECK(choice.considered[5]["rejected"] == "lease_expired");
  CHECK(choice.considered[4]["rejected"] == "lease_budget_exhausted");
  CHECK(choice.considered[3]["rejected"] == "lease_scope_mismatch");

  // Nothing usable: the newest lease's rejection, as before.
  LeaseChoice none = choose_lease_in(d.db, "c", {"nowhere"}, kNow);
  CHECK_FALSE(none.charged);
  CHECK(none.reason == "lease_scope_mismatch");
  CHECK(choose_lease_in(d.db, "unknown", {"x"}, kNow).reason == "lease_required");

  // The usable lease is read through the partial index, not a scan of every lease.
  Sql plan(d.db,
           "EXPLAIN QUERY PLAN SELECT id FROM leases WHERE capability = 'c' AND revoked_ms IS NULL"
           " AND ttl_until_ms > 1 AND (budget_remaining IS NULL OR budget_remaining >= 1)"
           " ORDER BY ttl_until_ms, created_ms, rowid");
  std::string detail;
  while (plan.step()) detail += plan.text(3) + "\n";
  CHECK_THAT(detail, Catch::Contains("leases_usable"));
}

TEST_CASE("lease_admission_considers_only_the_10_newest_leases", "[control][leases]") {
  Db d;
  d.add("usable-old", kNow + 1000);
  for (int i = 0; i < 12; ++i) d.add("expired-" + std::to_string(i), kNow - 1);
  LeaseChoice choice = choose_lease_in(d.db, "c", {"x"}, kNow);
  REQUIRE(choice.charged);
  CHECK(choice.charged->id == "usable-old");
  REQUIRE(choice.considered.size() == 10);
  CHECK(choice.considered[0]["lease_id"] == "expired-11");
}

TEST_CASE("lease_retention_prunes_inactive_leases_after_24_hours_and_keeps_active_ones",
          "[control][leases]") {
  Db d;
  d.add("active-old", kNow + kHourMs);  // created 48 h ago, still active
  d.add("revoked-25h", kNow + kHourMs, "", std::nullopt, kNow - 25 * kHourMs);
  d.add("revoked-1h", kNow + kHourMs, "", std::nullopt, kNow - kHourMs);
  d.add("expired-25h", kNow - 25 * kHourMs);
  d.add("expired-23h", kNow - 23 * kHourMs);
  d.add("exhausted-25h", kNow + kHourMs, "", 0, std::nullopt, kNow - 25 * kHourMs);
  d.add("exhausted-1h", kNow + kHourMs, "", 0, std::nullopt, kNow - kHourMs);
  CHECK(prune_leases(d.db, kNow) == 3);
  CHECK(d.has("active-old"));
  CHECK(d.has("revoked-1h"));
  CHECK(d.has("expired-23h"));
  CHECK(d.has("exhausted-1h"));
  CHECK_FALSE(d.has("revoked-25h"));
  CHECK_FALSE(d.has("expired-25h"));
  CHECK_FALSE(d.has("exhausted-25h"));
  CHECK(prune_leases(d.db, kNow) == 0);
}

TEST_CASE("lease_retention_keeps_at_most_1000_inactive_leases_the_newest", "[control][leases]") {
  Db d;
  d.add("active", kNow + kHourMs);
  for (int i = 0; i < 1005; ++i) d.add("expired-" + std::to_string(i), kNow - 1);
  CHECK(prune_leases(d.db, kNow) == 5);
  CHECK(d.count() == 1001);
  CHECK(d.has("active"));
  CHECK_FALSE(d.has("expired-4"));
  CHECK(d.has("expired-5"));
  // GET /state/leases?include_inactive=1 still has its 200 newest.
  CHECK(list_leases(d.db, true, kNow, 200).size() == 200);
}
