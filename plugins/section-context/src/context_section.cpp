// tp.section.context: the `context` snapshot key (telemetry.md §3) and the
// arw_context_* metric families (§8).
//
// The windows and the rendered value are ContextModel's (context_model.h);
// this file is the glue to the host: settings, metric families, and the timer
// that removes the gauges of slots gone stale.
//
// Settings, read once at create (a malformed or out-of-range value logs one
// warning and falls back):
//   window   ARW_CONTEXT_TELEMETRY_WINDOW (1..65536) when set, else the
//            `window` key of this plugin's host.yaml block (default 512);
//            a bad env value falls back to that block's value.
//   slot label cap   ARW_CONTEXT_SLOT_METRIC_MAX (256)
//   stale slot TTL   ARW_CONTEXT_SLOT_METRIC_TTL_SECS (900; 0 = never)
//
// Metrics count only live events: rows replayed while priming were counted by
// an earlier process, or are history.
#include <tpark/tp_plugin.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "context_model.h"
#include "context_slot_metrics.h"
#include "tpark/env/env_settings.h"

namespace {

namespace cs = tpark::context_section;

const std::vector<double> kSlotGapBuckets = {0.1, 0.25, 0.5, 0.75, 0.9, 1.0};
const std::vector<double> kRecallScoreBuckets = {0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0};

// An env setting read once (telemetry.md §0): unset gives `fallback`; a bad
// value gives `fallback` and one warning.
int64_t env_setting(const tpark::HostRef& host, const char* name, int64_t fallback, int64_t min,
                    int64_t max) {
  const auto setting =
      tpark::env::parse_int_setting(name, tpark::env::raw_env(name), fallback, min, max);
  if (setting.warning) host.warn(*setting.warning);
  return setting.value;
}

int64_t configured_window(std::string_view config_json) {
  const auto config = nlohmann::json::parse(config_json, nullptr, /*allow_exceptions=*/false);
  if (!config.is_object()) return cs::kDefaultWindow;
  auto it = config.find("window");
  if (it == config.end() || !it->is_number_integer()) return cs::kDefaultWindow;
  // The host validated the block against plugin.yaml; this guards the range anyway.
  const int64_t window = it->get<int64_t>();
  if (window < cs::kMinWindow || window > cs::kMaxWindow) return cs::kDefaultWindow;
  return window;
}

// The slot series live in the host's one registry for the life of the
// process, while an instance lives only until the next reload. So what must
// outlive an instance is kept once per process (the library stays mapped for
// the process's life): the label registry, which only grows; the last event id
// counted, so that rows since the host's start that a re-prime or a reloaded
// instance delivers again are not counted twice; and the gauges waiting to go
// stale.
struct ProcessSlotState {
  std::mutex mutex;
  std::optional<cs::SlotLabelRegistry> labels;
  std::optional<cs::StaleSlotTracker> stale;
  int64_t counted_through_id = 0;
};

ProcessSlotState& process_slot_state() {
  static ProcessSlotState state;
  return state;
}

class ContextSection final : public tpark::Section {
 public:
  ContextSection(tpark::HostRef host, std::string_view config_json)
      : Section(host),
        model_(env_setting(host, "ARW_CONTEXT_TELEMETRY_WINDOW", configured_window(config_json),
                           cs::kMinWindow, cs::kMaxWindow)) {
    // Registered here so that every family shows HELP and TYPE before its
    // first sample (§8).
    slot_gap_ = host.register_histogram(
        "arw_context_slot_gap", "Slot gap of each budgeted slot in context recall-risk events.",
        {"slot"}, kSlotGapBuckets);
    slot_gap_latest_ = host.register_gauge("arw_context_slot_gap_latest",
                                           "The latest slot gap of each slot.", {"slot"});
    slot_fill_ratio_ = host.register_gauge(
        "arw_context_slot_fill_ratio", "The latest fill ratio of each budgeted slot.", {"slot"});
    slot_underfilled_ =
        host.register_counter("arw_context_slot_underfilled_total",
                              "Coverage events that reported the slot as underfilled.", {"slot"});
    coverage_ = host.register_counter("arw_context_coverage_total",
                                      "Context coverage events by verdict.", {"needs_more"});
    recall_score_ = host.register_histogram("arw_context_recall_risk_score",
                                            "Finite recall-risk scores of context recall events.",
                                            {}, kRecallScoreBuckets);
    recall_ = host.register_counter("arw_context_recall_risk_total",
                                    "Context recall-risk events by level.", {"level"});
    recall_flagged_ =
        host.register_counter("arw_context_recall_risk_flagged_total",
                              "Context recall-risk events flagged at risk, by level.", {"level"});

    ProcessSlotState& shared = process_slot_state();
    std::lock_guard lock(shared.mutex);
    if (!shared.labels) {
      shared.labels.emplace(static_cast<std::size_t>(
          env_setting(host, "ARW_CONTEXT_SLOT_METRIC_MAX", cs::kDefaultSlotLabelMax, 1,
                      cs::kSlotLabelMaxLimit)));
      const int64_t ttl_secs = env_setting(host, "ARW_CONTEXT_SLOT_METRIC_TTL_SECS",
                                           cs::kDefaultSlotTtlSecs, 0, cs::kSlotTtlSecsLimit);
      shared.stale.emplace(ttl_secs * 1000);
    }
  }

  // Gauges a replaced instance left behind still expire.
  void start() override { schedule_stale_sweep(); }

  void stop() override {
    if (sweep_timer_) host().cancel_timer(*sweep_timer_);
    sweep_timer_.reset();
  }

  void reset() override { model_.reset(); }

  void on_event(const tpark::EventView& event) override {
    const cs::EventInput input{event.id(), event.time(), event.node(), event.kind(),
                               event.payload()};
    model_.on_event(input, observed_);
    if (observed_.source == cs::MetricObservations::Source::None || event.replay()) return;
    record(event.id(), observed_);
  }

  bool render(std::string& out) override { return model_.render(out); }

  uint64_t prime_rows() override { return model_.window(); }

 private:
  int64_t now_ms() const { return host().monotonic_ns() / 1000000; }

  void record(int64_t event_id, const cs::MetricObservations& observed) {
    const tpark::HostRef& h = host();
    ProcessSlotState& shared = process_slot_state();
    {
      std::lock_guard lock(shared.mutex);
      if (event_id <= shared.counted_through_id) return;
      shared.counted_through_id = event_id;
      const int64_t now = now_ms();
      auto slot_label = [&](const std::string& slot) {
        std::string label = shared.labels->label_for(slot);
        shared.stale->touch(label, now);
        return label;
      };
      if (observed.source == cs::MetricObservations::Source::Coverage) {
        h.metric_add(coverage_, {observed.needs_more ? "true" : "false"}, 1.0);
        for (const auto& [slot, ratio] : observed.fill_ratios)
          h.metric_set(slot_fill_ratio_, {slot_label(slot)}, ratio);
        for (const std::string& slot : observed.underfilled_slots)
          h.metric_add(slot_underfilled_, {slot_label(slot)}, 1.0);
      } else {
        if (observed.score) h.metric_observe(recall_score_, {}, *observed.score);
        h.metric_add(recall_, {observed.level_label}, 1.0);
        if (observed.flagged) h.metric_add(recall_flagged_, {observed.level_label}, 1.0);
        for (const auto& [slot, gap] : observed.slot_gaps) {
          const std::string label = slot_label(slot);
          h.metric_observe(slot_gap_, {label}, gap);
          h.metric_set(slot_gap_latest_, {label}, gap);
        }
      }
    }
    if (!sweep_timer_) schedule_stale_sweep();
  }

  // One pending one-shot timer at the earliest expiry; each sweep schedules
  // the next. Observations only move expiries later, so none is missed.
  void schedule_stale_sweep() {
    std::optional<int64_t> due;
    {
      ProcessSlotState& shared = process_slot_state();
      std::lock_guard lock(shared.mutex);
      if (shared.stale && shared.stale->enabled()) due = shared.stale->next_expiry_ms();
    }
    if (!due) return;
    const int64_t delay_ms = std::max<int64_t>(*due - now_ms(), 0);
    sweep_timer_ =
        host().start_timer(std::chrono::milliseconds(delay_ms), std::chrono::milliseconds(0),
                           [this](uint64_t) { sweep_stale_slots(); });
  }

  // Counters and histograms stay: removing them would look like resets.
  void sweep_stale_slots() {
    sweep_timer_.reset();
    {
      ProcessSlotState& shared = process_slot_state();
      std::lock_guard lock(shared.mutex);
      for (const std::string& label : shared.stale->take_expired(now_ms())) {
        host().metric_remove(slot_gap_latest_, {label});
        host().metric_remove(slot_fill_ratio_, {label});
      }
    }
    schedule_stale_sweep();
  }

  cs::ContextModel model_;
  cs::MetricObservations observed_;  // per event, in reused storage
  std::optional<uint64_t> sweep_timer_;
  uint64_t slot_gap_ = 0;
  uint64_t slot_gap_latest_ = 0;
  uint64_t slot_fill_ratio_ = 0;
  uint64_t slot_underfilled_ = 0;
  uint64_t coverage_ = 0;
  uint64_t recall_score_ = 0;
  uint64_t recall_ = 0;
  uint64_t recall_flagged_ = 0;
};

}  // namespace

TP_SECTION_PLUGIN(ContextSection, "context")
