#include "control/leases.h"

#include <sqlite3.h>

#include "control/sql.h"
#include "util/text.h"
#include "util/time.h"

namespace tpark::control {

namespace {

constexpr const char* kLeaseColumns =
    "id, subject, capability, scope, ttl_until_ms, budget, budget_remaining, revoked_ms, "
    "created_ms, updated_ms";

Lease read_lease(const Sql& row) {
  Lease lease;
  lease.id = row.text(0);
  lease.subject = row.text(1);
  lease.capability = row.text(2);
  lease.scope = row.text(3);
  lease.ttl_until_ms = row.integer(4);
  lease.budget = row.optional_integer(5);
  lease.budget_remaining = row.optional_integer(6);
  lease.revoked_ms = row.optional_integer(7);
  lease.created_ms = row.integer(8);
  lease.updated_ms = row.integer(9);
  return lease;
}

std::vector<std::string_view> split_patterns(std::string_view scope) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (start <= scope.size()) {
    size_t comma = scope.find(',', start);
    if (comma == std::string_view::npos) comma = scope.size();
    std::string_view part = trim(scope.substr(start, comma - start));
    if (!part.empty()) out.push_back(part);
    start = comma + 1;
  }
  return out;
}

}  // namespace

std::string Lease::status(int64_t now_ms) const {
  if (revoked_ms) return "revoked";
  if (budget_remaining && *budget_remaining < 1) return "exhausted";
  if (ttl_until_ms <= now_ms) return "expired";
  return "active";
}

Json Lease::to_json(int64_t now_ms) const {
  return {{"id", id},
          {"subject", subject},
          {"capability", capability},
          {"scope", scope},
          {"ttl_until", format_rfc3339_ms(ttl_until_ms)},
          {"ttl_until_ms", ttl_until_ms},
          {"budget", budget ? Json(*budget) : Json(nullptr)},
          {"budget_remaining", budget_remaining ? Json(*budget_remaining) : Json(nullptr)},
          {"status", status(now_ms)},
          {"revoked_at", revoked_ms ? Json(format_rfc3339_ms(*revoked_ms)) : Json(nullptr)},
          {"created", format_rfc3339_ms(created_ms)},
          {"updated", format_rfc3339_ms(updated_ms)}};
}

bool scope_covers(std::string_view scope, const std::vector<std::string>& targets) {
  const auto patterns = split_patterns(scope);
  if (patterns.empty()) return true;
  for (auto pattern : patterns)
    if (pattern == "*") return true;
  for (const auto& target : targets) {
    bool matched = false;
    for (auto pattern : patterns) {
      if (pattern.back() == '*') {
        auto prefix = pattern.substr(0, pattern.size() - 1);
        matched = std::string_view(target).substr(0, prefix.size()) == prefix;
      } else {
        matched = pattern == target;
      }
      if (matched) break;
    }
    if (!matched) return false;
  }
  return true;
}

std::string lease_rejection(const Lease& lease, const std::vector<std::string>& targets,
                            int64_t now_ms) {
  if (lease.revoked_ms) return "lease_revoked";
  if (lease.ttl_until_ms <= now_ms) return "lease_expired";
  if (lease.budget_remaining && *lease.budget_remaining < 1) return "lease_budget_exhausted";
  if (!scope_covers(lease.scope, targets)) return "lease_scope_mismatch";
  return "";
}

LeaseChoice choose_lease(const std::vector<Lease>& leases, const std::vector<std::string>& targets,
                         int64_t now_ms) {
  LeaseChoice choice;
  choice.reason = "lease_required";
  const Lease* best = nullptr;
  for (size_t i = 0; i < leases.size(); ++i) {
    const Lease& lease = leases[i];
    std::string rejected = lease_rejection(lease, targets, now_ms);
    if (i == 0 && !rejected.empty()) choice.reason = rejected;
    if (choice.considered.size() < 10)
      choice.considered.push_back(
          {{"lease_id", lease.id},
           {"rejected", rejected.empty() ? Json(nullptr) : Json(rejected)}});
    if (!rejected.empty()) continue;
    // Newest first: a later one with an equal expiry was created earlier.
    if (!best || lease.ttl_until_ms <= best->ttl_until_ms) best = &lease;
  }
  if (best) {
    choice.charged = *best;
    choice.reason.clear();
  }
  return choice;
}

std::vector<Lease> leases_with_capability(sqlite3* db, std::string_view capability) {
  Sql q(db, std::string("SELECT ") + kLeaseColumns +
                " FROM leases WHERE capability = ?1 ORDER BY created_ms DESC, rowid DESC");
  q.bind(1, capability);
  std::vector<Lease> out;
  while (q.step()) out.push_back(read_lease(q));
  return out;
}

LeaseChoice choose_lease_in(sqlite3* db, std::string_view capability,
                            const std::vector<std::string>& targets, int64_t now_ms) {
  Sql newest(db, std::string("SELECT ") + kLeaseColumns +
                     " FROM leases WHERE capability = ?1 ORDER BY created_ms DESC, rowid DESC"
                     " LIMIT 10");
  newest.bind(1, capability);
  std::vector<Lease> recent;
  while (newest.step()) recent.push_back(read_lease(newest));
  LeaseChoice choice = choose_lease(recent, targets, now_ms);
  choice.charged.reset();
  Sql usable(db, std::string("SELECT ") + kLeaseColumns +
                     " FROM leases WHERE capability = ?1 AND revoked_ms IS NULL"
                     " AND ttl_until_ms > ?2 AND (budget_remaining IS NULL OR budget_remaining >= 1)"
                     " ORDER BY ttl_until_ms, created_ms, rowid");
  usable.bind(1, capability).bind(2, now_ms);
  while (usable.step()) {
    Lease lease = read_lease(usable);
    if (!scope_covers(lease.scope, targets)) continue;
    choice.charged = std::move(lease);
    choice.reason.clear();
    break;
  }
  return choice;
}

int64_t prune_leases(sqlite3* db, int64_t now_ms) {
  constexpr const char* kInactive =
      "(revoked_ms IS NOT NULL OR ttl_until_ms <= ?1 OR"
      " (budget_remaining IS NOT NULL AND budget_remaining < 1))";
  // When a lease became inactive: revoked, expired, or its last charge.
  constexpr const char* kInactiveSince =
      "coalesce(revoked_ms, CASE WHEN ttl_until_ms <= ?1 THEN ttl_until_ms END,"
      " updated_ms)";
  Sql aged(db, std::string("DELETE FROM leases WHERE rowid IN (SELECT rowid FROM leases WHERE ") +
                   kInactive + " AND " + kInactiveSince + " < ?2 LIMIT ?3)");
  aged.bind(1, now_ms).bind(2, now_ms - kLeaseRetentionMs).bind(3, kLeasePruneBatch);
  aged.run();
  int64_t deleted = static_cast<int64_t>(sqlite3_changes64(db));
  Sql surplus(db, std::string("DELETE FROM leases WHERE rowid IN (SELECT rowid FROM leases WHERE ") +
                      kInactive +
                      " ORDER BY created_ms DESC, rowid DESC LIMIT ?3 OFFSET ?2)");
  surplus.bind(1, now_ms).bind(2, kInactiveLeasesKept).bind(3, kLeasePruneBatch);
  surplus.run();
  deleted += static_cast<int64_t>(sqlite3_changes64(db));
  return deleted;
}

std::optional<Lease> find_lease(sqlite3* db, std::string_view id) {
  Sql q(db, std::string("SELECT ") + kLeaseColumns + " FROM leases WHERE id = ?1");
  q.bind(1, id);
  if (!q.step()) return std::nullopt;
  return read_lease(q);
}

std::vector<Lease> list_leases(sqlite3* db, bool include_inactive, int64_t now_ms, size_t limit) {
  std::string sql = std::string("SELECT ") + kLeaseColumns + " FROM leases";
  if (!include_inactive)
    sql +=
        " WHERE revoked_ms IS NULL AND ttl_until_ms > ?1 AND"
        " (budget_remaining IS NULL OR budget_remaining >= 1)";
  sql += " ORDER BY created_ms DESC, rowid DESC LIMIT ?2";
  Sql q(db, sql);
  if (!include_inactive) q.bind(1, now_ms);
  q.bind(2, static_cast<int64_t>(limit));
  std::vector<Lease> out;
  while (q.step()) out.push_back(read_lease(q));
  return out;
}

void insert_lease(sqlite3* db, const Lease& lease) {
  Sql q(db,
        "INSERT INTO leases(id, subject, capability, scope, ttl_until_ms, budget, "
        "budget_remaining, revoked_ms, created_ms, updated_ms) "
        "VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10)");
  q.bind(1, lease.id)
      .bind(2, lease.subject)
      .bind(3, lease.capability)
      .bind(4, lease.scope)
      .bind(5, lease.ttl_until_ms)
      .bind(6, lease.budget)
      .bind(7, lease.budget_remaining)
      .bind(8, lease.revoked_ms)
      .bind(9, lease.created_ms)
      .bind(10, lease.updated_ms);
  q.run();
}

void charge_lease(sqlite3* db, const std::string& id, int64_t now_ms) {
  Sql q(db,
        "UPDATE leases SET budget_remaining = budget_remaining - 1, updated_ms = ?2"
        " WHERE id = ?1 AND budget_remaining IS NOT NULL");
  q.bind(1, id).bind(2, now_ms);
  q.run();
}

int64_t revoke_lease(sqlite3* db, const std::string& id, int64_t now_ms) {
  Sql update(
      db,
      "UPDATE leases SET revoked_ms = ?2, updated_ms = ?2 WHERE id = ?1 AND revoked_ms IS NULL");
  update.bind(1, id).bind(2, now_ms);
  update.run();
  Sql read(db, "SELECT revoked_ms FROM leases WHERE id = ?1");
  read.bind(1, id);
  return read.step() ? read.integer(0) : now_ms;
}

}  // namespace tpark::control

#include "kernel/journal.h"
#include "util/uuid.h"

namespace tpark::control {

LeaseStore::LeaseStore(Journal& journal)
    : journal_(journal), reader_([&journal] {
        journal.transact([](WriteTx& tx) { create_control_tables(tx.db()); });
        return journal.path().string();
      }()) {}

Json LeaseStore::create(const std::string& capability, const std::string& scope, int64_t ttl_ms,
                        std::optional<int64_t> budget, const std::string& corr_id) {
  Lease lease;
  lease.id = random_uuid_v4();
  lease.capability = capability;
  lease.scope = scope;
  lease.budget = budget;
  lease.budget_remaining = budget;
  Json row;
  journal_.transact([&](WriteTx& tx) {
    const int64_t now = now_ms();
    lease.ttl_until_ms = now + ttl_ms;
    lease.created_ms = lease.updated_ms = now;
    insert_lease(tx.db(), lease);
    row = lease.to_json(now);
    NewEvent event;
    event.kind = "leases.created";
    event.payload = row.dump();
    event.time_ms = now;
    event.source = "host";
    event.corr_id = corr_id;
    tx.append(std::move(event));
  });
  return row;
}

std::optional<Json> LeaseStore::revoke(const std::string& id, const std::string& corr_id) {
  std::optional<Json> out;
  journal_.transact([&](WriteTx& tx) {
    auto lease = find_lease(tx.db(), id);
    if (!lease) return;
    const int64_t now = now_ms();
    const bool first = !lease->revoked_ms;
    const int64_t revoked_ms = revoke_lease(tx.db(), id, now);
    out = Json{{"id", id}, {"revoked", true}, {"revoked_at", format_rfc3339_ms(revoked_ms)}};
    if (!first) return;
    NewEvent event;
    event.kind = "leases.revoked";
    event.payload = Json{{"id", id}, {"revoked_at", format_rfc3339_ms(revoked_ms)}}.dump();
    event.time_ms = now;
    event.source = "host";
    event.corr_id = corr_id;
    tx.append(std::move(event));
  });
  return out;
}

int64_t LeaseStore::prune() {
  int64_t deleted = 0;
  journal_.transact([&](WriteTx& tx) { deleted = prune_leases(tx.db(), now_ms()); });
  return deleted;
}

Json LeaseStore::list(bool include_inactive) {
  const int64_t now = now_ms();
  return reader_.with([&](sqlite3* db) {
    Json items = Json::array();
    for (const auto& lease : list_leases(db, include_inactive, now, 200))
      items.push_back(lease.to_json(now));
    const size_t count = items.size();
    return Json{
        {"generated", format_rfc3339_ms(now)}, {"count", count}, {"items", std::move(items)}};
  });
}

}  // namespace tpark::control
