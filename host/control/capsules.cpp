#include "control/capsules.h"

#include <sodium.h>

#include <spdlog/spdlog.h>

#include "control/validation.h"
#include "kernel/journal.h"
#include "util/text.h"
#include "util/time.h"

namespace tpark::control {

namespace {

NewEvent capsule_event(std::string kind, const Json& payload, const std::string& corr_id) {
  NewEvent event;
  event.kind = std::move(kind);
  event.payload = payload.dump();
  event.time_ms = now_ms();
  event.source = "host";
  event.corr_id = corr_id;
  return event;
}

bool optional_integer_field(const Json& capsule, const char* name, int64_t min,
                            std::vector<http::FieldError>& errors) {
  auto it = capsule.find(name);
  if (it == capsule.end() || it->is_null()) return true;
  if (!integral_in_range(*it, min, INT64_MAX / 4)) {
    errors.push_back({name, "expected an integer >= " + std::to_string(min)});
    return false;
  }
  return true;
}

std::optional<int64_t> integer_or_null(const Json& capsule, const char* name) {
  auto it = capsule.find(name);
  if (it == capsule.end() || it->is_null()) return std::nullopt;
  return integral_in_range(*it, INT64_MIN / 4, INT64_MAX / 4);
}

Json item_from_row(const std::string& capsule_text, int64_t applied_ms,
                   std::optional<int64_t> lease_until_ms, std::optional<int64_t> remaining_hops,
                   int64_t now) {
  Json capsule = Json::parse(capsule_text, nullptr, false);
  if (capsule.is_discarded()) capsule = Json::object();
  const Json denies = capsule.value("denies", Json::array());
  const Json contracts = capsule.value("contracts", Json::array());
  Json item = {
      {"id", capsule.value("id", "")},
      {"version", capsule.contains("version") ? capsule["version"] : Json(nullptr)},
      {"issuer", capsule.contains("issuer") ? capsule["issuer"] : Json(nullptr)},
      {"issued_at_ms", capsule.contains("issued_at_ms") ? capsule["issued_at_ms"] : Json(nullptr)},
      {"hop_ttl", capsule.contains("hop_ttl") ? capsule["hop_ttl"] : Json(nullptr)},
      {"remaining_hops", remaining_hops ? Json(*remaining_hops) : Json(nullptr)},
      {"propagate", capsule.contains("propagate") ? capsule["propagate"] : Json(nullptr)},
      {"lease_duration_ms",
       capsule.contains("lease_duration_ms") ? capsule["lease_duration_ms"] : Json(nullptr)},
      {"renew_within_ms",
       capsule.contains("renew_within_ms") ? capsule["renew_within_ms"] : Json(nullptr)},
      {"applied_ms", applied_ms},
      {"lease_until_ms", lease_until_ms ? Json(*lease_until_ms) : Json(nullptr)},
      {"status", lease_until_ms && *lease_until_ms <= now ? "expired" : "active"},
      {"denies", denies},
      {"contracts", contracts},
      {"denies_count", denies.size()},
      {"contracts_count", contracts.size()}};
  return item;
}

}  // namespace

std::vector<http::FieldError> capsule_errors(const Json& capsule) {
  std::vector<http::FieldError> errors;
  if (!capsule.is_object()) {
    errors.push_back({"", "expected a capsule object"});
    return errors;
  }
  auto id = capsule.find("id");
  if (id == capsule.end() || !id->is_string() || id->get_ref<const std::string&>().empty() ||
      id->get_ref<const std::string&>().size() > 256)
    errors.push_back({"id", "expected a string of 1-256 characters"});
  auto version = capsule.find("version");
  if (version == capsule.end() || !(version->is_string() || version->is_number_integer()))
    errors.push_back({"version", "expected a string or an integer"});
  auto issued = capsule.find("issued_at_ms");
  if (issued == capsule.end() || !integral_in_range(*issued, 0, INT64_MAX / 4))
    errors.push_back({"issued_at_ms", "expected an integer >= 0"});
  if (auto it = capsule.find("issuer"); it != capsule.end() && !it->is_null() && !it->is_string())
    errors.push_back({"issuer", "expected a string"});
  optional_integer_field(capsule, "hop_ttl", 1, errors);
  if (auto it = capsule.find("propagate");
      it != capsule.end() && !it->is_null() && !it->is_boolean())
    errors.push_back({"propagate", "expected a boolean"});
  for (const char* list : {"denies", "contracts"}) {
    auto it = capsule.find(list);
    if (it == capsule.end() || !it->is_array()) errors.push_back({list, "expected an array"});
  }
  optional_integer_field(capsule, "lease_duration_ms", 1, errors);
  optional_integer_field(capsule, "renew_within_ms", 0, errors);
  if (auto it = capsule.find("signature");
      it != capsule.end() && !it->is_null() && !it->is_string())
    errors.push_back({"signature", "expected a base64 string"});
  return errors;
}

std::string capsule_signing_bytes(const Json& capsule) {
  nlohmann::json sorted = nlohmann::json::parse(capsule.dump());
  sorted["signature"] = nullptr;
  return sorted.dump();
}

CapsuleStore::CapsuleStore(Journal& journal, const ControlSettings& settings)
    : journal_(journal), settings_(settings), reader_([&journal] {
        journal.transact([](WriteTx& tx) { create_control_tables(tx.db()); });
        return journal.path().string();
      }()) {}

CapsuleStore::~CapsuleStore() {
  stop();
}

void CapsuleStore::start() {
  sweeper_ = std::thread([this] { sweeper_loop(); });
}

void CapsuleStore::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (sweeper_.joinable()) sweeper_.join();
}

CapsuleOutcome CapsuleStore::adopt(const Json& capsule, const std::string& corr_id) {
  CapsuleOutcome out;
  out.errors = capsule_errors(capsule);
  if (!out.errors.empty()) {
    out.result = CapsuleOutcome::Result::Invalid;
    out.detail = "malformed capsule";
    return out;
  }
  const std::string id = capsule["id"].get<std::string>();
  if (settings_.capsule_issuers) {
    std::string why;
    const auto issuer = capsule.find("issuer");
    const auto signature = capsule.find("signature");
    const CapsuleIssuer* trusted = nullptr;
    if (issuer != capsule.end() && issuer->is_string())
      for (const auto& candidate : *settings_.capsule_issuers)
        if (candidate.id == issuer->get<std::string>()) trusted = &candidate;
    if (signature == capsule.end() || !signature->is_string()) {
      why = "the capsule is not signed";
    } else if (!trusted) {
      why = "the issuer is not in the trust store";
    } else {
      const std::string sig = decode_base64(signature->get<std::string>());
      const std::string message = capsule_signing_bytes(capsule);
      if (sig.size() != crypto_sign_BYTES ||
          crypto_sign_verify_detached(
              reinterpret_cast<const unsigned char*>(sig.data()),
              reinterpret_cast<const unsigned char*>(message.data()), message.size(),
              reinterpret_cast<const unsigned char*>(trusted->public_key.data())) != 0)
        why = "the signature does not verify";
    }
    if (!why.empty()) {
      journal_.transact([&](WriteTx& tx) {
        tx.append(capsule_event("policy.capsule.failed", {{"id", id}, {"reason", why}}, corr_id));
      });
      out.result = CapsuleOutcome::Result::VerificationFailed;
      out.detail = why;
      return out;
    }
  }
  const int64_t applied_ms = now_ms();
  const auto duration = integer_or_null(capsule, "lease_duration_ms");
  const auto hop_ttl = integer_or_null(capsule, "hop_ttl");
  const std::optional<int64_t> lease_until =
      duration ? std::optional<int64_t>(applied_ms + *duration) : std::nullopt;
  const std::optional<int64_t> remaining_hops =
      hop_ttl ? std::optional<int64_t>(*hop_ttl - 1) : std::nullopt;
  const std::string text = capsule.dump();
  journal_.transact([&](WriteTx& tx) {
    Sql existing(tx.db(), "SELECT 1 FROM policy_capsules WHERE id = ?1");
    existing.bind(1, id);
    const bool renewed = existing.step();
    Sql upsert(
        tx.db(),
        "INSERT INTO policy_capsules(id, capsule, applied_ms, lease_until_ms, remaining_hops,"
        " expired_reported) VALUES(?1,?2,?3,?4,?5,0) ON CONFLICT(id) DO UPDATE SET"
        " capsule = excluded.capsule, applied_ms = excluded.applied_ms,"
        " lease_until_ms = excluded.lease_until_ms, remaining_hops = excluded.remaining_hops,"
        " expired_reported = 0");
    upsert.bind(1, id)
        .bind(2, text)
        .bind(3, applied_ms)
        .bind(4, lease_until)
        .bind(5, remaining_hops);
    upsert.run();
    out.item = item_from_row(text, applied_ms, lease_until, remaining_hops, applied_ms);
    tx.append(capsule_event("policy.capsule.applied",
                            {{"id", id},
                             {"version", capsule["version"]},
                             {"issuer", out.item["issuer"]},
                             {"applied_ms", applied_ms},
                             {"lease_until_ms", out.item["lease_until_ms"]},
                             {"renewed", renewed}},
                            corr_id));
  });
  {
    std::lock_guard lock(mutex_);
    changed_ = true;
  }
  wake_.notify_all();
  return out;
}

CapsuleOutcome CapsuleStore::adopt_header(const std::string& value, const std::string& corr_id) {
  const std::string_view trimmed = trim(value);
  // The request-body parser (its depth cap); an empty text is no capsule here.
  std::optional<Json> capsule;
  if (!trimmed.empty()) capsule = http::parse_json_body(trimmed).document;
  if (!capsule) {
    const std::string decoded = decode_base64(trimmed);
    if (!decoded.empty()) capsule = http::parse_json_body(decoded).document;
  }
  if (!capsule) {
    CapsuleOutcome out;
    out.result = CapsuleOutcome::Result::Invalid;
    out.detail = "X-ARW-Capsule is neither JSON nor base64 JSON";
    out.errors.push_back({"X-ARW-Capsule", "expected a capsule as JSON or base64 JSON"});
    return out;
  }
  return adopt(*capsule, corr_id);
}

Json CapsuleStore::teardown(const std::vector<std::string>& ids, bool all, bool dry_run,
                            const std::string& corr_id) {
  Json removed = Json::array();
  journal_.transact([&](WriteTx& tx) {
    std::vector<std::string> present;
    Sql q(tx.db(), "SELECT id FROM policy_capsules ORDER BY id");
    while (q.step()) present.push_back(q.text(0));
    for (const auto& id : present)
      if (all || std::find(ids.begin(), ids.end(), id) != ids.end()) removed.push_back(id);
    if (dry_run || removed.empty()) return;
    for (const auto& id : removed) {
      Sql del(tx.db(), "DELETE FROM policy_capsules WHERE id = ?1");
      del.bind(1, id.get<std::string>());
      del.run();
    }
    tx.append(capsule_event("policy.capsule.teardown", {{"removed", removed}, {"dry_run", false}},
                            corr_id));
  });
  return {{"removed", removed}, {"dry_run", dry_run}};
}

Json CapsuleStore::list() {
  const int64_t now = now_ms();
  return reader_.with([&](sqlite3* db) {
    Sql q(db,
          "SELECT capsule, applied_ms, lease_until_ms, remaining_hops FROM policy_capsules"
          " ORDER BY applied_ms DESC, id ASC");
    Json items = Json::array();
    const int64_t retention_ms =
        static_cast<int64_t>(settings_.capsule_expired_retention_secs) * 1000;
    while (q.step()) {
      const auto lease_until = q.optional_integer(2);
      // Past the retention an expired capsule is no longer listed, even
      // before the sweeper has removed it.
      if (lease_until && *lease_until + retention_ms <= now) continue;
      items.push_back(
          item_from_row(q.text(0), q.integer(1), lease_until, q.optional_integer(3), now));
    }
    const size_t count = items.size();
    return Json{{"items", std::move(items)},
                {"count", count},
                {"generated_ms", now},
                {"generated", format_rfc3339_ms(now)}};
  });
}

int64_t CapsuleStore::sweep(int64_t now) {
  const int64_t retention_ms =
      static_cast<int64_t>(settings_.capsule_expired_retention_secs) * 1000;
  int64_t next_due = 0;
  auto consider = [&](int64_t at) {
    if (at > now && (next_due == 0 || at < next_due)) next_due = at;
  };
  journal_.transact([&](WriteTx& tx) {
    Sql expired(tx.db(),
                "SELECT id, lease_until_ms FROM policy_capsules WHERE lease_until_ms IS NOT NULL"
                " AND lease_until_ms <= ?1 AND expired_reported = 0");
    expired.bind(1, now);
    std::vector<std::pair<std::string, int64_t>> newly;
    while (expired.step()) newly.emplace_back(expired.text(0), expired.integer(1));
    for (const auto& [id, lease_until] : newly) {
      Sql mark(tx.db(), "UPDATE policy_capsules SET expired_reported = 1 WHERE id = ?1");
      mark.bind(1, id);
      mark.run();
      tx.append(capsule_event("policy.capsule.expired",
                              {{"id", id}, {"lease_until_ms", lease_until}}, ""));
    }
    Sql purge(tx.db(),
              "DELETE FROM policy_capsules WHERE lease_until_ms IS NOT NULL AND lease_until_ms + "
              "?1 <= ?2");
    purge.bind(1, retention_ms).bind(2, now);
    purge.run();
    Sql upcoming(tx.db(),
                 "SELECT lease_until_ms FROM policy_capsules WHERE lease_until_ms IS NOT NULL");
    while (upcoming.step()) {
      consider(upcoming.integer(0));
      consider(upcoming.integer(0) + retention_ms);
    }
  });
  return next_due;
}

void CapsuleStore::sweeper_loop() {
  for (;;) {
    int64_t next_due = 0;
    try {
      next_due = sweep(now_ms());
    } catch (const std::exception& e) {
      spdlog::warn("capsule sweep failed: {}", e.what());
      next_due = now_ms() + 60000;
    }
    std::unique_lock lock(mutex_);
    auto ready = [&] { return stopping_ || changed_; };
    if (next_due == 0)
      wake_.wait(lock, ready);
    else
      wake_.wait_for(lock, std::chrono::milliseconds(std::max<int64_t>(next_due - now_ms(), 1)),
                     ready);
    if (stopping_) return;
    changed_ = false;
  }
}

}  // namespace tpark::control
