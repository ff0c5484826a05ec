// The capsules section of telemetry.md §5 as pure functions: the status of a
// capsule at a given `now`, its label, aria hint and durations, and the whole
// section value (count, expiring_soon, expired, sample, status_counts,
// accessible_summary, next_expiry_*). No clock, no I/O: tp.section.capsules
// passes the host capsule store and the render time in.
//
// Input: the items of `GET /state/policy/capsules` (control.md §4.7), i.e.
// what the host serves as state "capsules". Each item is the adopted capsule
// plus the stored values:
//   {id: string, version: string|null, issuer?: string, applied_ms: i64,
//    hop_ttl?: u64, remaining_hops?: u64, lease_until_ms?: i64,
//    renew_within_ms?: i64, lease_duration_ms?: i64, denies, contracts, …}
// Keys this section does not report (denies, contracts, signature, the ISO
// duplicates, any status the store computed itself) are ignored; statuses are
// always recomputed here with the render time and the configured window.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace tpark::capsules {

// ARW_CAPSULE_EXPIRING_SOON_MS default: the window W of §5.
inline constexpr int64_t kDefaultExpiringSoonMs = 300000;
// `sample` lists at most this many items.
inline constexpr size_t kSampleSize = 5;

enum class CapsuleStatus { Active, Expiring, RenewDue, Expired, Unbounded };

// Every status, in the order the arw_policy_capsules gauge lists them.
inline constexpr std::array<CapsuleStatus, 5> kAllStatuses = {
    CapsuleStatus::Active, CapsuleStatus::Expiring, CapsuleStatus::RenewDue, CapsuleStatus::Expired,
    CapsuleStatus::Unbounded};

// "active", "expiring", "renew_due", "expired", "unbounded".
std::string_view status_slug(CapsuleStatus status);

// One capsule of the host store, as far as §5 needs it.
struct CapsuleRecord {
  std::string id;
  std::optional<std::string> version;  // null when the store has none
  std::optional<std::string> issuer;
  std::optional<int64_t> applied_ms;
  std::optional<int64_t> hop_ttl;
  std::optional<int64_t> remaining_hops;
  std::optional<int64_t> lease_until_ms;   // no lease when absent
  std::optional<int64_t> renew_within_ms;  // no renew window when absent
};

// dur(x) of §5: ⌊ms/1000⌋ seconds as the two largest non-zero units among
// day, hour, minute and second ("4 minutes 59 seconds", "1 hour 1 second");
// zero seconds (and anything negative) is "under 1 second".
std::string format_duration(int64_t ms);

// Where one capsule stands at `now`.
struct CapsuleState {
  CapsuleStatus status = CapsuleStatus::Unbounded;
  std::string status_label;                      // with U+2013 as the dash
  std::string aria_hint;                         // "Capsule <id>. …"
  std::optional<int64_t> expires_in_ms;          // max(rem, 0) with a lease
  std::optional<int64_t> expired_since_ms;       // −rem once expired
  std::optional<int64_t> renew_in_ms;            // with a renew window, until expired
  std::optional<int64_t> renew_window_start_ms;  // lease − renew_within
  bool renew_window_started = false;
};

// The first status of the §5 table that matches, with its label and hint.
CapsuleState classify_capsule(const CapsuleRecord& capsule, int64_t now_ms,
                              int64_t expiring_soon_ms);

// The items of the host store: the `GET /state/policy/capsules` body
// ({items: [...], ...}) or the bare items array; null gives no capsules.
// Items that are not objects or lack a string `id` are skipped.
// lease_until_ms falls back to applied_ms + lease_duration_ms when absent.
std::vector<CapsuleRecord> capsules_from_store(const nlohmann::json& store);

// The `capsules` section value of §5 at `now`.
nlohmann::ordered_json capsules_section(std::vector<CapsuleRecord> capsules, int64_t now_ms,
                                        int64_t expiring_soon_ms);

// How many capsules have each status at `now`, indexed like kAllStatuses.
std::array<uint64_t, kAllStatuses.size()> count_statuses(const std::vector<CapsuleRecord>& capsules,
                                                         int64_t now_ms, int64_t expiring_soon_ms);

// The times at which this capsule's status can change on its own:
// lease − renew_within, lease − W and lease (none without a lease),
// ascending and without duplicates.
std::vector<int64_t> status_boundaries_ms(const CapsuleRecord& capsule, int64_t expiring_soon_ms);

}  // namespace tpark::capsules
