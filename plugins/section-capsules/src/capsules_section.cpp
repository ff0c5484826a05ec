// tp.section.capsules: the `capsules` snapshot key (telemetry.md §5) and the
// arw_policy_capsules{status} gauge (§8), from host state "capsules" (the
// `GET /state/policy/capsules` body, control.md §4.7). The statuses, labels
// and summary are computed by tp_capsule_status at the render time.
//
// Statuses change with time alone, so every future status boundary gets a
// wake-up (read models) and the next one a timer that refreshes the gauge.
// The host's policy.capsule.* events say the store changed: the gauge and
// the boundaries are refreshed then too.
#include <tpark/tp_plugin.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "tpark/capsules/capsule_status.h"
#include "tpark/env/env_settings.h"

namespace {

namespace capsules = tpark::capsules;

// ARW_CAPSULE_EXPIRING_SOON_MS, read once at create; at most a year.
constexpr int64_t kExpiringSoonMaxMs = 366LL * 24 * 3600 * 1000;

int64_t expiring_soon_from_env(const tpark::HostRef& host) {
  const auto setting = tpark::env::parse_int_setting(
      "ARW_CAPSULE_EXPIRING_SOON_MS", tpark::env::raw_env("ARW_CAPSULE_EXPIRING_SOON_MS"),
      capsules::kDefaultExpiringSoonMs, 0, kExpiringSoonMaxMs);
  if (setting.warning) host.warn(*setting.warning);
  return setting.value;
}

class CapsulesSection final : public tpark::Section {
 public:
  CapsulesSection(tpark::HostRef host, std::string_view /*config_json*/)
      : Section(host),
        expiring_soon_ms_(expiring_soon_from_env(host)),
        gauge_(host.register_gauge("arw_policy_capsules", "Current policy capsules by status",
                                   {"status"})) {}

  void start() override { refresh(host().now_ms()); }

  void reset() override {}

  void on_event(const tpark::EventView& event) override {
    if (event.source() != "host" || event.replay()) return;
    refresh(host().now_ms());
  }

  bool render(std::string& out) override {
    const int64_t now_ms = host().now_ms();
    out = capsules::capsules_section(refresh(now_ms), now_ms, expiring_soon_ms_).dump();
    const bool changed = out != last_render_;
    if (changed) last_render_ = out;
    return changed;
  }

 private:
  // Reads the store, sets the gauge and schedules the status boundaries.
  std::vector<capsules::CapsuleRecord> refresh(int64_t now_ms) {
    std::vector<capsules::CapsuleRecord> items;
    // nullopt until the host's control plane serves the store: no capsules.
    if (const auto text = host().state("capsules")) {
      const auto store = nlohmann::json::parse(*text, nullptr, false);
      if (!store.is_discarded()) items = capsules::capsules_from_store(store);
    }
    const auto counts = capsules::count_statuses(items, now_ms, expiring_soon_ms_);
    for (size_t i = 0; i < capsules::kAllStatuses.size(); ++i)
      host().metric_set(gauge_, {capsules::status_slug(capsules::kAllStatuses[i])},
                        static_cast<double>(counts[i]));
    schedule_boundaries(items, now_ms);
    return items;
  }

  void schedule_boundaries(const std::vector<capsules::CapsuleRecord>& items, int64_t now_ms) {
    requested_wakes_.erase(requested_wakes_.begin(), requested_wakes_.upper_bound(now_ms));
    std::optional<int64_t> next;
    for (const auto& item : items) {
      for (int64_t at_ms : capsules::status_boundaries_ms(item, expiring_soon_ms_)) {
        if (at_ms <= now_ms) continue;
        if (requested_wakes_.insert(at_ms).second) host().wake_at(at_ms);
        if (!next || at_ms < *next) next = at_ms;
      }
    }
    if (next == timer_at_ms_) return;
    if (timer_id_ != 0) host().cancel_timer(timer_id_);
    timer_id_ = 0;
    timer_at_ms_ = next;
    if (!next) return;
    timer_id_ = host().start_timer(std::chrono::milliseconds(*next - now_ms),
                                   std::chrono::milliseconds(0), [this](uint64_t) {
                                     timer_id_ = 0;
                                     timer_at_ms_.reset();
                                     refresh(host().now_ms());
                                   });
  }

  const int64_t expiring_soon_ms_;
  const uint64_t gauge_;
  std::set<int64_t> requested_wakes_;
  uint64_t timer_id_ = 0;
  std::optional<int64_t> timer_at_ms_;
  std::string last_render_;
};

}  // namespace

TP_SECTION_PLUGIN(CapsulesSection, "capsules")
