// The capsules section of telemetry.md §5 (tp_capsule_status), pinned with
// the spec's exact strings: dur(x), each status row's label and hint, the
// summary rules, ordering, the sample and next_expiry, and §11 check 9.
#include <catch2/catch.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tpark/capsules/capsule_status.h"

using namespace tpark::capsules;
using nlohmann::json;

namespace {

constexpr int64_t kT0 = 1700000000000;  // an arbitrary adoption time

CapsuleRecord leased(std::string id, int64_t applied_ms, int64_t lease_ms,
                     std::optional<int64_t> renew_within_ms = std::nullopt) {
  CapsuleRecord r;
  r.id = std::move(id);
  r.version = "1";
  r.applied_ms = applied_ms;
  r.lease_until_ms = applied_ms + lease_ms;
  r.renew_within_ms = renew_within_ms;
  return r;
}

// Two capsules as the store serves them (control.md §4.7): A with a 299000 ms
// lease, then B 10 ms later with a 301000 ms lease; no renew windows.
json check9_store() {
  return json::parse(R"({"items":[
    {"id":"B","version":"1","issued_at_ms":1,"denies":[],"contracts":[],
     "lease_duration_ms":301000,"applied_ms":1700000000010,"lease_until_ms":1700000301010},
    {"id":"A","version":"1","issued_at_ms":1,"denies":[],"contracts":[],
     "lease_duration_ms":299000,"applied_ms":1700000000000,"lease_until_ms":1700000299000}],
    "count":2,"generated_ms":1700000000010,"generated":"2023-11-14T22:13:20.010Z"})");
}

}  // namespace

TEST_CASE("dur_writes_the_two_largest_nonzero_units", "[unit][capsules]") {
  CHECK(format_duration(299000) == "4 minutes 59 seconds");
  CHECK(format_duration(3601000) == "1 hour 1 second");
  CHECK(format_duration(3661000) == "1 hour 1 minute");
  CHECK(format_duration(2 * 86400000LL + 5000) == "2 days 5 seconds");
  CHECK(format_duration(86400000) == "1 day");
  CHECK(format_duration(60000) == "1 minute");
  CHECK(format_duration(1999) == "1 second");
  CHECK(format_duration(301000) == "5 minutes 1 second");
}

TEST_CASE("dur_of_zero_seconds_is_under_1_second", "[unit][capsules]") {
  CHECK(format_duration(0) == "under 1 second");
  CHECK(format_duration(999) == "under 1 second");
  CHECK(format_duration(-5000) == "under 1 second");
}

TEST_CASE("check_9_capsules_4m59s_and_5m01s_give_expiring_and_active", "[unit][capsules]") {
  const int64_t now = kT0 + 10;
  const auto section = capsules_section(capsules_from_store(check9_store()), now, 300000);
  CHECK(section["count"] == 2);
  CHECK(section["expiring_soon"] == 1);
  CHECK(section["expired"] == 0);
  CHECK(section["status_counts"].dump() == R"({"active":1,"expiring":1})");
  CHECK(section["sample"][0]["id"] == "B");
  CHECK(section["sample"][0]["status"] == "active");
  CHECK(section["sample"][0]["status_label"].get<std::string>().rfind(
            "Active \xE2\x80\x93 expires in 5 minutes", 0) == 0);
  CHECK(section["sample"][1]["id"] == "A");
  CHECK(section["sample"][1]["status"] == "expiring");
  CHECK(section["sample"][1]["status_label"].get<std::string>().rfind(
            "Expiring soon \xE2\x80\x93 4 minutes", 0) == 0);
  CHECK(section["accessible_summary"] ==
        "1 capsule healthy; 0 awaiting renewal; 1 expiring; 0 expired.");
  CHECK(section["next_expiry_id"] == "A");

  // The whole value, byte for byte: key order, optional keys, the en dash.
  CHECK(section.dump() ==
        R"({"count":2,"expiring_soon":1,"expired":0,"sample":[)"
        R"({"id":"B","version":"1","applied_ms":1700000000010,"lease_until_ms":1700000301010,)"
        R"("status":"active","status_slug":"active",)"
        R"("status_label":"Active – expires in 5 minutes 1 second",)"
        R"("aria_hint":"Capsule B. Healthy. Capsule expires in 5 minutes 1 second.",)"
        R"("expires_in_ms":301000,"renew_window_started":false},)"
        R"({"id":"A","version":"1","applied_ms":1700000000000,"lease_until_ms":1700000299000,)"
        R"("status":"expiring","status_slug":"expiring",)"
        R"("status_label":"Expiring soon – 4 minutes 58 seconds left",)"
        R"("aria_hint":"Capsule A. Capsule expires in 4 minutes 58 seconds.",)"
        R"("expires_in_ms":298990,"renew_window_started":false}],)"
        R"("status_counts":{"active":1,"expiring":1},)"
        R"("accessible_summary":"1 capsule healthy; 0 awaiting renewal; 1 expiring; 0 expired.",)"
        R"("next_expiry_ms":1700000299000,"next_expiry_in_ms":298990,"next_expiry_id":"A",)"
        R"("next_expiry_label":"Expiring soon – 4 minutes 58 seconds left"})");
}

TEST_CASE("check_9_with_a_60000_ms_window_both_capsules_are_active", "[unit][capsules]") {
  const auto section = capsules_section(capsules_from_store(check9_store()), kT0 + 10, 60000);
  CHECK(section["expiring_soon"] == 0);
  CHECK(section["status_counts"].dump() == R"({"active":2})");
  CHECK(section["sample"][0]["status"] == "active");
  CHECK(section["sample"][1]["status"] == "active");
  CHECK(section["sample"][1]["status_label"] ==
        "Active \xE2\x80\x93 expires in 4 minutes 58 seconds");
  CHECK(section["accessible_summary"] == "All policy capsules are healthy.");
}

TEST_CASE("no_capsules_is_the_empty_section_of_check_1", "[unit][capsules]") {
  const std::string empty =
      R"({"count":0,"expiring_soon":0,"expired":0,"sample":[],"status_counts":{},)"
      R"("accessible_summary":"No active policy capsules."})";
  CHECK(capsules_section({}, kT0, 300000).dump() == empty);
  CHECK(capsules_from_store(json(nullptr)).empty());
  CHECK(capsules_from_store(json::parse(R"({"items":[],"count":0})")).empty());
}

TEST_CASE("unbounded_capsule_has_no_lease_keys", "[unit][capsules]") {
  CapsuleRecord r;
  r.id = "U";
  r.issuer = "ops";
  r.applied_ms = kT0;
  const auto section = capsules_section({r}, kT0 + 1, 300000);
  CHECK(
      section["sample"][0].dump() ==
      R"({"id":"U","version":null,"issuer":"ops","applied_ms":1700000000000,)"
      R"("status":"unbounded","status_slug":"unbounded",)"
      R"("status_label":"Active – lease not set",)"
      R"("aria_hint":"Capsule U. Healthy. Capsule does not define a lease duration; renew manually when required.",)"
      R"("renew_window_started":false})");
  CHECK(section["accessible_summary"] == "All policy capsules are healthy.");
  CHECK(section["status_counts"].dump() == R"({"unbounded":1})");
  CHECK_FALSE(section.contains("next_expiry_id"));
}

TEST_CASE("expired_capsule_reports_time_since_expiry", "[unit][capsules]") {
  const CapsuleRecord r = leased("X", kT0, 60000);
  const CapsuleState s = classify_capsule(r, kT0 + 60000 + 125000, 300000);
  CHECK(s.status == CapsuleStatus::Expired);
  CHECK(s.status_label == "Expired \xE2\x80\x93 renew required");
  CHECK(s.aria_hint ==
        "Capsule X. Expired 2 minutes 5 seconds ago. Apply a new capsule to restore enforcement.");
  CHECK(s.expires_in_ms == 0);
  CHECK(s.expired_since_ms == 125000);
  CHECK_FALSE(s.renew_in_ms.has_value());

  // rem == 0 is expired already.
  const CapsuleState at_lease = classify_capsule(r, kT0 + 60000, 300000);
  CHECK(at_lease.status == CapsuleStatus::Expired);
  CHECK(at_lease.expired_since_ms == 0);
  CHECK(at_lease.aria_hint ==
        "Capsule X. Expired under 1 second ago. Apply a new capsule to restore enforcement.");
}

TEST_CASE("renew_window_gives_renew_due_then_active_labels", "[unit][capsules]") {
  // Lease of 1 hour, renew window of 10 minutes.
  const CapsuleRecord r = leased("R", kT0, 3600000, 600000);

  const CapsuleState active = classify_capsule(r, kT0 + 1000, 300000);
  CHECK(active.status == CapsuleStatus::Active);
  CHECK(active.status_label == "Active \xE2\x80\x93 renew in 49 minutes 59 seconds");
  CHECK(active.aria_hint == "Capsule R. Healthy. Capsule expires in 59 minutes 59 seconds.");
  CHECK(active.renew_in_ms == 2999000);
  CHECK(active.renew_window_start_ms == kT0 + 3000000);
  CHECK_FALSE(active.renew_window_started);

  // Inside the renew window, and also inside W: renew_due wins over expiring.
  const CapsuleState due = classify_capsule(r, kT0 + 3600000 - 120000, 300000);
  CHECK(due.status == CapsuleStatus::RenewDue);
  CHECK(due.status_label == "Renew now \xE2\x80\x93 expires in 2 minutes");
  CHECK(due.aria_hint == "Capsule R. Renewal window active. Capsule expires in 2 minutes.");
  CHECK(due.renew_in_ms == 0);
  CHECK(due.renew_window_started);

  // expiring_soon counts it (0 < rem <= W) whatever its status.
  const auto section = capsules_section({r}, kT0 + 3600000 - 120000, 300000);
  CHECK(section["expiring_soon"] == 1);
  CHECK(section["status_counts"].dump() == R"({"renew_due":1})");
  CHECK(section["accessible_summary"] ==
        "0 capsules healthy; 1 awaiting renewal; 0 expiring; 0 expired.");
  CHECK(section["sample"][0]["renew_in_ms"] == 0);
  CHECK(section["sample"][0]["renew_window_start_ms"] == kT0 + 3000000);
  CHECK(section["sample"][0]["renew_window_started"] == true);
}

TEST_CASE("remaining_hops_adds_a_sentence_to_the_hint", "[unit][capsules]") {
  CapsuleRecord r = leased("H", kT0, 3600000);
  r.remaining_hops = 2;
  CHECK(classify_capsule(r, kT0, 300000).aria_hint ==
        "Capsule H. Healthy. Capsule expires in 1 hour. 2 hops remaining before forced refresh.");
  r.remaining_hops = 1;
  CHECK(classify_capsule(r, kT0, 300000).aria_hint ==
        "Capsule H. Healthy. Capsule expires in 1 hour. 1 hop remaining before forced refresh.");
  r.remaining_hops = 0;
  CHECK(classify_capsule(r, kT0, 300000).aria_hint ==
        "Capsule H. Healthy. Capsule expires in 1 hour. Hop limit reached; awaiting refresh.");
}

TEST_CASE("items_sort_by_applied_desc_then_id_and_sample_keeps_5", "[unit][capsules]") {
  std::vector<CapsuleRecord> items;
  for (const char* id : {"g", "c", "a", "f", "b", "e", "d"})
    items.push_back(leased(id, kT0 + (std::string(id) < "d" ? 0 : 5), 3600000));
  const auto section = capsules_section(items, kT0 + 10, 300000);
  CHECK(section["count"] == 7);
  REQUIRE(section["sample"].size() == kSampleSize);
  std::string order;
  for (const auto& s : section["sample"]) order += s["id"].get<std::string>();
  CHECK(order == "defga");  // applied later first (d..g), then a, b, c by id
  CHECK(section["accessible_summary"] == "All policy capsules are healthy.");
}

TEST_CASE("summary_counts_every_status_and_pluralises_healthy", "[unit][capsules]") {
  const int64_t now = kT0 + 100000;
  std::vector<CapsuleRecord> items = {
      leased("active1", kT0, 3600000),       // active
      leased("active2", kT0, 7200000),       // active
      leased("soon", kT0, 200000),           // expiring (rem 100 s)
      leased("gone", kT0, 50000),            // expired
      leased("due", kT0, 3600000, 3590000),  // renew_due (window opened at +10 s)
  };
  CapsuleRecord unbounded;
  unbounded.id = "free";
  items.push_back(unbounded);
  const auto section = capsules_section(items, now, 300000);
  CHECK(section["status_counts"].dump() ==
        R"({"active":2,"expired":1,"expiring":1,"renew_due":1,"unbounded":1})");
  CHECK(section["accessible_summary"] ==
        "3 capsules healthy; 1 awaiting renewal; 1 expiring; 1 expired.");
  CHECK(section["expiring_soon"] == 1);
  CHECK(section["expired"] == 1);
  // The smallest future lease: "soon" (rem 100000).
  CHECK(section["next_expiry_id"] == "soon");
  CHECK(section["next_expiry_in_ms"] == 100000);
  CHECK(section["next_expiry_label"] == "Expiring soon \xE2\x80\x93 1 minute 40 seconds left");
  const auto counts = count_statuses(items, now, 300000);
  CHECK(counts == std::array<uint64_t, 5>{2, 1, 1, 1, 1});
}

TEST_CASE("next_expiry_breaks_ties_by_id", "[unit][capsules]") {
  const json section =
      capsules_section({leased("z", kT0, 600000), leased("m", kT0, 600000)}, kT0, 300000);
  CHECK(section["next_expiry_id"] == "m");
  CHECK(section["next_expiry_ms"] == kT0 + 600000);
}

TEST_CASE("store_items_fall_back_to_applied_plus_lease_duration", "[unit][capsules]") {
  const auto items = capsules_from_store(json::parse(R"([
    {"id":"a","version":3,"applied_ms":1000,"lease_duration_ms":500,"hop_ttl":4,"remaining_hops":3},
    {"version":"1"}, 7, {"id":"b","version":"2","applied_ms":5,"renew_within_ms":100}])"));
  REQUIRE(items.size() == 2);
  CHECK(items[0].id == "a");
  CHECK(items[0].version == "3");
  CHECK(items[0].lease_until_ms == 1500);
  CHECK(items[0].hop_ttl == 4);
  CHECK(items[0].remaining_hops == 3);
  CHECK(items[1].id == "b");
  CHECK_FALSE(items[1].lease_until_ms.has_value());
  // A renew window without a lease is no lease: unbounded, no window keys.
  const CapsuleState s = classify_capsule(items[1], 10, 300000);
  CHECK(s.status == CapsuleStatus::Unbounded);
  CHECK_FALSE(s.renew_window_start_ms.has_value());
}

TEST_CASE("status_boundaries_are_renew_start_window_start_and_lease", "[unit][capsules]") {
  CHECK(status_boundaries_ms(leased("a", 1000, 600000, 120000), 300000) ==
        std::vector<int64_t>{301000, 481000, 601000});
  CHECK(status_boundaries_ms(leased("b", 1000, 600000), 300000) ==
        std::vector<int64_t>{301000, 601000});
  CapsuleRecord none;
  none.id = "c";
  CHECK(status_boundaries_ms(none, 300000).empty());
}
