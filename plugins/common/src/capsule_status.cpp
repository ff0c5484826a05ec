#include "tpark/capsules/capsule_status.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

#include <nlohmann/json.hpp>

namespace tpark::capsules {

namespace {

using ordered_json = nlohmann::ordered_json;

// U+2013 EN DASH, between spaces, as every label writes it.
constexpr std::string_view kDash = " \xE2\x80\x93 ";

std::string plural(int64_t n, std::string_view unit) {
  std::string text = std::to_string(n) + " " + std::string(unit);
  if (n != 1) text += 's';
  return text;
}

// An integer-valued field; a finite float is truncated. Missing, null or any
// other type gives nullopt.
std::optional<int64_t> integer_field(const nlohmann::json& item, const char* key) {
  auto it = item.find(key);
  if (it == item.end()) return std::nullopt;
  if (it->is_number_unsigned()) {
    const auto value = it->get<uint64_t>();
    if (value > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return std::nullopt;
    return static_cast<int64_t>(value);
  }
  if (it->is_number_integer()) return it->get<int64_t>();
  if (it->is_number_float()) {
    const double value = it->get<double>();
    if (!std::isfinite(value) || std::fabs(value) >= 9.2e18) return std::nullopt;
    return static_cast<int64_t>(value);
  }
  return std::nullopt;
}

std::optional<std::string> string_field(const nlohmann::json& item, const char* key) {
  auto it = item.find(key);
  if (it == item.end() || !it->is_string()) return std::nullopt;
  return it->get<std::string>();
}

// A capsule version is a string; a number is reported in its JSON spelling.
std::optional<std::string> version_field(const nlohmann::json& item) {
  auto it = item.find("version");
  if (it == item.end() || it->is_null()) return std::nullopt;
  if (it->is_string()) return it->get<std::string>();
  if (it->is_number()) return it->dump();
  return std::nullopt;
}

std::string summary_text(uint64_t count, uint64_t renew_due, uint64_t expiring, uint64_t expired) {
  if (count == 0) return "No active policy capsules.";
  if (renew_due + expiring + expired == 0) return "All policy capsules are healthy.";
  const uint64_t healthy = count - renew_due - expiring - expired;
  return std::to_string(healthy) + " capsule" + (healthy == 1 ? "" : "s") + " healthy; " +
         std::to_string(renew_due) + " awaiting renewal; " + std::to_string(expiring) +
         " expiring; " + std::to_string(expired) + " expired.";
}

size_t status_index(CapsuleStatus status) {
  for (size_t i = 0; i < kAllStatuses.size(); ++i)
    if (kAllStatuses[i] == status) return i;
  return 0;
}

}  // namespace

std::string_view status_slug(CapsuleStatus status) {
  switch (status) {
    case CapsuleStatus::Active:
      return "active";
    case CapsuleStatus::Expiring:
      return "expiring";
    case CapsuleStatus::RenewDue:
      return "renew_due";
    case CapsuleStatus::Expired:
      return "expired";
    case CapsuleStatus::Unbounded:
      return "unbounded";
  }
  return "unbounded";
}

std::string format_duration(int64_t ms) {
  int64_t seconds = ms / 1000;
  if (seconds <= 0) return "under 1 second";
  static constexpr std::pair<int64_t, std::string_view> kUnits[] = {
      {86400, "day"}, {3600, "hour"}, {60, "minute"}, {1, "second"}};
  std::string text;
  int parts = 0;
  for (const auto& [unit_seconds, name] : kUnits) {
    if (seconds < unit_seconds) continue;
    const int64_t n = seconds / unit_seconds;
    seconds %= unit_seconds;
    if (parts > 0) text += ' ';
    text += plural(n, name);
    if (++parts == 2) break;
  }
  return text;
}

CapsuleState classify_capsule(const CapsuleRecord& capsule, int64_t now_ms,
                              int64_t expiring_soon_ms) {
  CapsuleState state;
  std::string hint = "Capsule " + capsule.id + ". ";
  if (!capsule.lease_until_ms) {
    state.status = CapsuleStatus::Unbounded;
    state.status_label = "Active" + std::string(kDash) + "lease not set";
    hint += "Healthy. Capsule does not define a lease duration; renew manually when required.";
  } else {
    const int64_t lease = *capsule.lease_until_ms;
    const int64_t rem = lease - now_ms;
    state.expires_in_ms = std::max<int64_t>(rem, 0);
    if (capsule.renew_within_ms) {
      state.renew_window_start_ms = lease - *capsule.renew_within_ms;
      state.renew_window_started = now_ms >= *state.renew_window_start_ms;
      if (rem > 0) state.renew_in_ms = std::max<int64_t>(*state.renew_window_start_ms - now_ms, 0);
    }
    if (rem <= 0) {
      state.status = CapsuleStatus::Expired;
      state.expired_since_ms = -rem;
      state.status_label = "Expired" + std::string(kDash) + "renew required";
      hint +=
          "Expired " + format_duration(-rem) + " ago. Apply a new capsule to restore enforcement.";
    } else if (state.renew_window_started) {
      state.status = CapsuleStatus::RenewDue;
      state.status_label = "Renew now" + std::string(kDash) + "expires in " + format_duration(rem);
      hint += "Renewal window active. Capsule expires in " + format_duration(rem) + ".";
    } else if (rem <= expiring_soon_ms) {
      state.status = CapsuleStatus::Expiring;
      state.status_label = "Expiring soon" + std::string(kDash) + format_duration(rem) + " left";
      hint += "Capsule expires in " + format_duration(rem) + ".";
    } else {
      state.status = CapsuleStatus::Active;
      state.status_label = "Active" + std::string(kDash) +
                           (state.renew_in_ms ? "renew in " + format_duration(*state.renew_in_ms)
                                              : "expires in " + format_duration(rem));
      hint += "Healthy. Capsule expires in " + format_duration(rem) + ".";
    }
  }
  if (capsule.remaining_hops) {
    const int64_t hops = *capsule.remaining_hops;
    if (hops > 0)
      hint += " " + plural(hops, "hop") + " remaining before forced refresh.";
    else
      hint += " Hop limit reached; awaiting refresh.";
  }
  state.aria_hint = std::move(hint);
  return state;
}

std::vector<CapsuleRecord> capsules_from_store(const nlohmann::json& store) {
  const nlohmann::json* items = &store;
  if (store.is_object()) {
    auto it = store.find("items");
    if (it == store.end()) return {};
    items = &*it;
  }
  std::vector<CapsuleRecord> capsules;
  if (!items->is_array()) return capsules;
  capsules.reserve(items->size());
  for (const auto& item : *items) {
    if (!item.is_object()) continue;
    auto id = string_field(item, "id");
    if (!id) continue;
    CapsuleRecord record;
    record.id = std::move(*id);
    record.version = version_field(item);
    record.issuer = string_field(item, "issuer");
    record.applied_ms = integer_field(item, "applied_ms");
    record.hop_ttl = integer_field(item, "hop_ttl");
    record.remaining_hops = integer_field(item, "remaining_hops");
    record.lease_until_ms = integer_field(item, "lease_until_ms");
    if (!record.lease_until_ms && record.applied_ms) {
      if (auto duration = integer_field(item, "lease_duration_ms"))
        record.lease_until_ms = *record.applied_ms + *duration;
    }
    record.renew_within_ms = integer_field(item, "renew_within_ms");
    capsules.push_back(std::move(record));
  }
  return capsules;
}

std::array<uint64_t, kAllStatuses.size()> count_statuses(const std::vector<CapsuleRecord>& capsules,
                                                         int64_t now_ms, int64_t expiring_soon_ms) {
  std::array<uint64_t, kAllStatuses.size()> counts{};
  for (const auto& capsule : capsules)
    ++counts[status_index(classify_capsule(capsule, now_ms, expiring_soon_ms).status)];
  return counts;
}

std::vector<int64_t> status_boundaries_ms(const CapsuleRecord& capsule, int64_t expiring_soon_ms) {
  std::vector<int64_t> times;
  if (!capsule.lease_until_ms) return times;
  const int64_t lease = *capsule.lease_until_ms;
  if (capsule.renew_within_ms) times.push_back(lease - *capsule.renew_within_ms);
  times.push_back(lease - expiring_soon_ms);
  times.push_back(lease);
  std::sort(times.begin(), times.end());
  times.erase(std::unique(times.begin(), times.end()), times.end());
  return times;
}

nlohmann::ordered_json capsules_section(std::vector<CapsuleRecord> capsules, int64_t now_ms,
                                        int64_t expiring_soon_ms) {
  // Newest adoption first; a capsule without applied_ms sorts after the rest.
  std::stable_sort(capsules.begin(), capsules.end(),
                   [](const CapsuleRecord& a, const CapsuleRecord& b) {
                     if (a.applied_ms != b.applied_ms) {
                       if (!a.applied_ms || !b.applied_ms) return a.applied_ms.has_value();
                       return *a.applied_ms > *b.applied_ms;
                     }
                     return a.id < b.id;
                   });

  uint64_t expiring_soon = 0;
  uint64_t expired = 0;
  std::array<uint64_t, kAllStatuses.size()> counts{};
  ordered_json sample = ordered_json::array();
  const CapsuleRecord* next = nullptr;
  std::string next_label;

  for (const auto& capsule : capsules) {
    const CapsuleState state = classify_capsule(capsule, now_ms, expiring_soon_ms);
    ++counts[status_index(state.status)];
    if (capsule.lease_until_ms) {
      const int64_t rem = *capsule.lease_until_ms - now_ms;
      if (rem <= 0) ++expired;
      if (rem > 0 && rem <= expiring_soon_ms) ++expiring_soon;
      if (rem > 0 &&
          (next == nullptr || *capsule.lease_until_ms < *next->lease_until_ms ||
           (*capsule.lease_until_ms == *next->lease_until_ms && capsule.id < next->id))) {
        next = &capsule;
        next_label = state.status_label;
      }
    }
    if (sample.size() >= kSampleSize) continue;

    ordered_json entry = ordered_json::object();
    entry["id"] = capsule.id;
    entry["version"] = capsule.version ? ordered_json(*capsule.version) : ordered_json(nullptr);
    if (capsule.issuer) entry["issuer"] = *capsule.issuer;
    if (capsule.applied_ms) entry["applied_ms"] = *capsule.applied_ms;
    if (capsule.hop_ttl) entry["hop_ttl"] = *capsule.hop_ttl;
    if (capsule.remaining_hops) entry["remaining_hops"] = *capsule.remaining_hops;
    if (capsule.lease_until_ms) entry["lease_until_ms"] = *capsule.lease_until_ms;
    if (capsule.renew_within_ms) entry["renew_within_ms"] = *capsule.renew_within_ms;
    entry["status"] = status_slug(state.status);
    entry["status_slug"] = status_slug(state.status);
    entry["status_label"] = state.status_label;
    entry["aria_hint"] = state.aria_hint;
    if (state.expires_in_ms) entry["expires_in_ms"] = *state.expires_in_ms;
    if (state.expired_since_ms) entry["expired_since_ms"] = *state.expired_since_ms;
    if (state.renew_in_ms) entry["renew_in_ms"] = *state.renew_in_ms;
    entry["renew_window_started"] = state.renew_window_started;
    if (state.renew_window_start_ms) entry["renew_window_start_ms"] = *state.renew_window_start_ms;
    sample.push_back(std::move(entry));
  }

  // A map: keys in ascending byte order, non-zero counts only.
  std::map<std::string_view, uint64_t> by_slug;
  for (size_t i = 0; i < kAllStatuses.size(); ++i)
    if (counts[i] > 0) by_slug.emplace(status_slug(kAllStatuses[i]), counts[i]);
  ordered_json status_counts = ordered_json::object();
  for (const auto& [slug, n] : by_slug) status_counts[std::string(slug)] = n;

  const auto count_of = [&](CapsuleStatus s) { return counts[status_index(s)]; };
  ordered_json section = ordered_json::object();
  section["count"] = static_cast<uint64_t>(capsules.size());
  section["expiring_soon"] = expiring_soon;
  section["expired"] = expired;
  section["sample"] = std::move(sample);
  section["status_counts"] = std::move(status_counts);
  section["accessible_summary"] =
      summary_text(capsules.size(), count_of(CapsuleStatus::RenewDue),
                   count_of(CapsuleStatus::Expiring), count_of(CapsuleStatus::Expired));
  if (next != nullptr) {
    section["next_expiry_ms"] = *next->lease_until_ms;
    section["next_expiry_in_ms"] = *next->lease_until_ms - now_ms;
    section["next_expiry_id"] = next->id;
    section["next_expiry_label"] = next_label;
  }
  return section;
}

}  // namespace tpark::capsules
