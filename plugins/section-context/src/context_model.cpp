#include "context_model.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <map>

#include <nlohmann/json.hpp>

#include "context_payload.h"
#include "tpark/context/formulas.h"

namespace tpark::context_section {
namespace {

using Json = nlohmann::ordered_json;
namespace formulas = tpark::context;

// The keys a sanitised `spec` keeps, in the order it keeps them (§3).
constexpr std::array<const char*, 14> kSpecKeys = {
    "lanes",           "limit",         "expand_per_seed", "diversity_lambda",
    "min_score",       "project",       "persona",         "lane_bonus",
    "lane_priorities", "scorer",        "expand_query",    "expand_query_top_k",
    "slot_budgets",    "query_provided"};

constexpr std::array<const char*, 5> kTimingKeys = {"retrieve", "query_expand", "link_expand",
                                                    "select", "total"};

using NamedValues = std::vector<std::pair<std::string, double>>;

// ---------------------------------------------------------------------------
// Reading payloads

const Json* member(const Json* object, const char* key) {
  if (object == nullptr || !object->is_object()) return nullptr;
  auto it = object->find(key);
  return it == object->end() ? nullptr : &*it;
}

const Json* object_member(const Json* object, const char* key) {
  const Json* value = member(object, key);
  return value != nullptr && value->is_object() ? value : nullptr;
}

// Sets `out` to the finite numeric members of an object, in the object's
// order (reusing its storage).
void numeric_members(const std::optional<NumberFields>& object, NamedValues& out) {
  out.clear();
  if (!object) return;
  for (const auto& [key, number] : *object)
    if (number.finite) out.emplace_back(key, *number.finite);
}

std::optional<double> finite_member(const std::optional<NumberFields>& object,
                                    std::string_view key) {
  if (!object) return std::nullopt;
  const NumberField* number = tpark::context::find_number_field(*object, key);
  return number != nullptr ? number->finite : std::nullopt;
}

uint64_t array_length(const Json* value) {
  return value != nullptr && value->is_array() ? value->size() : 0;
}

// ---------------------------------------------------------------------------
// Building entries

Json sanitised_spec(const Json& spec) {
  Json out = Json::object();
  for (const char* key : kSpecKeys) {
    if (const Json* value = member(&spec, key)) out[key] = *value;
  }
  return out;
}

void copy_if_present(Json& entry, const Json& payload, const char* key) {
  if (const Json* value = member(&payload, key)) entry[key] = *value;
}

void copy_sanitised_spec(Json& entry, const Json& payload, const char* key) {
  if (const Json* spec = object_member(&payload, key)) entry[key] = sanitised_spec(*spec);
}

// id, time, node?: the head of every entry.
Json entry_head(const EventInput& event) {
  Json entry = Json::object();
  entry["id"] = event.id;
  entry["time"] = std::string(event.time);
  if (!event.node.empty()) entry["node"] = std::string(event.node);
  return entry;
}

Json components_json(const formulas::RecallRisk& risk) {
  Json components = Json::object();
  components["coverage_shortfall"] = risk.coverage_shortfall;
  components["lane_gap"] = risk.lane_gap;
  if (risk.slot_gap) {
    components["slot_gap"] = *risk.slot_gap;
    Json slots = Json::object();
    for (const formulas::SlotGap& slot : risk.slots) slots[slot.slot] = slot.gap;
    components["slots"] = std::move(slots);
  }
  components["quality_gap"] = risk.quality_gap;
  return components;
}

Json stats_json(const formulas::Stats& stats) {
  Json out = Json::object();
  out["avg"] = stats.avg;
  out["max"] = stats.max;
  out["samples"] = stats.samples;
  return out;
}

// [{<key_name>: key, count}] by count desc, key asc.
Json count_list(const std::map<std::string, uint64_t>& counts, std::size_t limit,
                const char* key_name) {
  Json out = Json::array();
  for (const formulas::CountEntry& entry : formulas::top_by_count(counts, limit)) {
    Json row = Json::object();
    row[key_name] = entry.key;
    row["count"] = entry.count;
    out.push_back(std::move(row));
  }
  return out;
}

// [{<key_name>: key, avg, max, samples}] by avg desc, key asc.
Json stats_list(const std::map<std::string, formulas::StatsAccumulator>& stats, std::size_t limit,
                const char* key_name) {
  Json out = Json::array();
  for (const formulas::StatsEntry& entry : formulas::top_by_avg(stats, limit)) {
    Json row = Json::object();
    row[key_name] = entry.key;
    row["avg"] = entry.stats.avg;
    row["max"] = entry.stats.max;
    row["samples"] = entry.stats.samples;
    out.push_back(std::move(row));
  }
  return out;
}

void add_count(std::map<std::string, uint64_t>& counts, const std::string& key, bool add) {
  if (add) {
    ++counts[key];
    return;
  }
  auto it = counts.find(key);
  if (it == counts.end()) return;
  if (--it->second == 0) counts.erase(it);
}

std::optional<std::string_view> underfilled_slot(std::string_view reason) {
  if (reason.substr(0, formulas::kReasonSlotUnderfilledPrefix.size()) !=
      formulas::kReasonSlotUnderfilledPrefix)
    return std::nullopt;
  return reason.substr(formulas::kReasonSlotUnderfilledPrefix.size());
}

// ---------------------------------------------------------------------------
// Rings

// An event as it came in, kept while it is among the newest of its kind: its
// entry is built from the raw payload when a render first shows it. The
// payload is kept with kPayloadPadding zero bytes after it, so that the
// event's members are read from here without another copy.
struct RecentEvent {
  int64_t id = 0;
  std::string time;
  std::string node;
  std::string padded_payload;
  std::size_t payload_size = 0;
  mutable std::optional<Json> entry;

  // Reuses the strings' buffers of the event it replaces.
  void assign(const EventInput& event) {
    id = event.id;
    time.assign(event.time);
    node.assign(event.node);
    payload_size = event.payload.size();
    padded_payload.resize(payload_size + kPayloadPadding);
    std::copy(event.payload.begin(), event.payload.end(), padded_payload.begin());
    std::fill(padded_payload.begin() + static_cast<std::ptrdiff_t>(payload_size),
              padded_payload.end(), '\0');
    entry.reset();
  }
  std::string_view payload() const { return {padded_payload.data(), payload_size}; }
  std::size_t padded_size() const { return padded_payload.size(); }
  EventInput input() const { return EventInput{id, time, node, {}, payload()}; }
};

// Builds the entry of one recent event (render time only).
using EntryBuilder = Json (*)(const EventInput& event, const Json& payload);

// The full payload; {} when it is not a JSON object.
Json full_payload(std::string_view text) {
  Json payload = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!payload.is_object()) payload = Json::object();
  return payload;
}

// A builder reads the payload both ways (the members it copies from the full
// payload, the effective values through the same readers as the samples); a
// payload the full parse rejects (e.g. a number beyond double) is read as {}
// both ways.
const Json& entry_of(const RecentEvent& event, EntryBuilder build) {
  if (!event.entry) {
    EventInput input = event.input();
    Json payload = full_payload(input.payload);
    if (payload.empty()) input.payload = "{}";
    event.entry = build(input, payload);
  }
  return *event.entry;
}

// The newest `capacity` samples of one kind (oldest first), and the newest
// min(5, capacity) events (newest first), each in storage reused as the
// window slides: a sample pushed out hands its vectors to the next one.
template <class Sample>
class Ring {
 public:
  Ring(std::size_t capacity, EntryBuilder build)
      : capacity_(capacity), recent_(std::min(kRecentMax, capacity)), build_(build) {}

  // Keeps the event as the newest of the recent ones and returns it there.
  const RecentEvent& keep(const EventInput& event) {
    newest_ = (newest_ + recent_.size() - 1) % recent_.size();
    if (recent_count_ < recent_.size()) ++recent_count_;
    recent_[newest_].assign(event);
    return recent_[newest_];
  }
  // Takes `sample` as the newest. When the ring was full, `sample` comes back
  // holding the sample pushed out (returns true).
  bool push(Sample& sample) {
    if (samples_.size() < capacity_) {
      samples_.emplace_back();
      std::swap(samples_.back(), sample);
      return false;
    }
    std::swap(samples_[oldest_], sample);
    oldest_ = (oldest_ + 1) % capacity_;
    return true;
  }
  void clear() {
    samples_.clear();
    oldest_ = 0;
    recent_count_ = 0;
  }
  bool empty() const { return samples_.empty(); }
  uint64_t size() const { return samples_.size(); }
  template <class OnSample>
  void for_each_oldest_to_newest(OnSample&& on_sample) const {
    for (std::size_t i = 0; i < samples_.size(); ++i)
      on_sample(samples_[(oldest_ + i) % samples_.size()]);
  }

  // A sub-section's first keys: latest, recent.
  Json head() const {
    Json out = Json::object();
    out["latest"] = entry_of(recent(0), build_);
    Json recent_entries = Json::array();
    for (std::size_t i = 0; i < recent_count_; ++i)
      recent_entries.push_back(entry_of(recent(i), build_));
    out["recent"] = std::move(recent_entries);
    return out;
  }

 private:
  // 0 is the newest.
  const RecentEvent& recent(std::size_t i) const { return recent_[(newest_ + i) % recent_.size()]; }

  std::size_t capacity_;
  std::vector<Sample> samples_;  // circular once full: oldest_ is the oldest
  std::size_t oldest_ = 0;
  std::vector<RecentEvent> recent_;  // circular: newest_ is the newest
  std::size_t newest_ = 0;
  std::size_t recent_count_ = 0;
  EntryBuilder build_;
};

// --- coverage ---------------------------------------------------------------

using Counts = std::map<std::string, uint64_t>;

// One reason of a sample: its count in the window, and its slot's count for
// slot_underfilled:<slot> (else the slot map's end()). A count held by a
// sample stays above zero, so its entry stays in the map.
struct CountedReason {
  Counts::iterator reason;
  Counts::iterator slot;
};

struct CoverageSample {
  bool needs_more = false;
  std::vector<CountedReason> reasons;
};

class CoverageWindow {
 public:
  CoverageWindow(std::size_t capacity, EntryBuilder build) : ring_(capacity, build) {}

  const RecentEvent& keep(const EventInput& event) { return ring_.keep(event); }
  // Takes the sample of the event last kept.
  template <class Reasons>
  void push(bool needs_more, const Reasons& reasons) {
    next_.needs_more = needs_more;
    next_.reasons.clear();
    if (needs_more) ++needs_more_;
    for (const auto& reason : reasons) {
      CountedReason counted{add(reasons_, reason), slots_.end()};
      if (auto slot = underfilled_slot(reason)) counted.slot = add(slots_, *slot);
      next_.reasons.push_back(counted);
    }
    if (ring_.push(next_)) remove(next_);
  }
  void clear() {
    ring_.clear();
    next_.reasons.clear();
    needs_more_ = 0;
    reasons_.clear();
    slots_.clear();
  }

  Json render() const {
    if (ring_.empty()) return nullptr;
    Json out = ring_.head();
    out["samples"] = ring_.size();
    out["needs_more_ratio"] = static_cast<double>(needs_more_) / static_cast<double>(ring_.size());
    if (!reasons_.empty())
      out["top_reasons"] = count_list(reasons_, formulas::kTopReasonsMax, "reason");
    if (!slots_.empty()) out["top_slots"] = count_list(slots_, formulas::kTopReasonsMax, "slot");
    return out;
  }

 private:
  Counts::iterator add(Counts& counts, std::string_view key) {
    key_.assign(key);
    auto it = counts.try_emplace(key_, 0).first;
    ++it->second;
    return it;
  }
  void remove(const CoverageSample& sample) {
    if (sample.needs_more) --needs_more_;
    for (const CountedReason& counted : sample.reasons) {
      if (--counted.reason->second == 0) reasons_.erase(counted.reason);
      if (counted.slot != slots_.end() && --counted.slot->second == 0) slots_.erase(counted.slot);
    }
  }

  Ring<CoverageSample> ring_;
  CoverageSample next_;  // filled per event; holds a pushed-out sample's storage
  std::string key_;      // the key looked up, in reused storage
  uint64_t needs_more_ = 0;
  Counts reasons_;
  Counts slots_;
};

// --- recall_risk --------------------------------------------------------------

struct RecallSample {
  std::optional<double> score;  // finite
  std::optional<std::string> level;
  std::optional<bool> at_risk;
  NamedValues slot_gaps;  // clamped to [0,1]
};

class RecallWindow {
 public:
  RecallWindow(std::size_t capacity, EntryBuilder build) : ring_(capacity, build) {}

  const RecentEvent& keep(const EventInput& event) { return ring_.keep(event); }
  // Takes `sample` (of the event last kept); it comes back with storage to reuse.
  void push(RecallSample& sample) {
    count(sample, true);
    if (ring_.push(sample)) count(sample, false);
  }
  void clear() {
    ring_.clear();
    at_risk_true_ = 0;
    at_risk_known_ = 0;
    levels_.clear();
  }

  Json render() const {
    if (ring_.empty()) return nullptr;
    Json out = ring_.head();
    out["sampled"] = ring_.size();
    // Sums are taken oldest to newest on every render (§0 "Averages").
    formulas::StatsAccumulator scores;
    std::map<std::string, formulas::StatsAccumulator> slot_gaps;
    ring_.for_each_oldest_to_newest([&](const RecallSample& sample) {
      if (sample.score) scores.add(*sample.score);
      for (const auto& [slot, gap] : sample.slot_gaps) slot_gaps[slot].add(gap);
    });
    if (auto stats = scores.stats()) out["avg_score"] = stats->avg;
    if (at_risk_known_ > 0)
      out["at_risk_ratio"] =
          static_cast<double>(at_risk_true_) / static_cast<double>(at_risk_known_);
    if (!levels_.empty()) out["levels"] = count_list(levels_, formulas::kLevelsMax, "level");
    if (!slot_gaps.empty()) {
      Json top = Json::array();
      for (const auto& entry : formulas::top_by_avg(slot_gaps, formulas::kTopSlotGapsMax)) {
        Json row = Json::object();
        row["slot"] = entry.key;
        row["avg_gap"] = entry.stats.avg;
        row["max_gap"] = entry.stats.max;
        row["samples"] = entry.stats.samples;
        top.push_back(std::move(row));
      }
      out["top_slots"] = std::move(top);
    }
    return out;
  }

 private:
  void count(const RecallSample& sample, bool add) {
    if (sample.at_risk) {
      add ? ++at_risk_known_ : --at_risk_known_;
      if (*sample.at_risk) add ? ++at_risk_true_ : --at_risk_true_;
    }
    if (sample.level) add_count(levels_, *sample.level, add);
  }

  Ring<RecallSample> ring_;
  uint64_t at_risk_true_ = 0;
  uint64_t at_risk_known_ = 0;
  std::map<std::string, uint64_t> levels_;
};

// --- assembly -------------------------------------------------------------------

struct AssemblySample {
  bool needs_more = false;
  std::optional<double> selected;
  std::optional<double> candidates;
  std::optional<double> duration_ms;
  NamedValues lanes;
  NamedValues slots;
};

class AssemblyWindow {
 public:
  AssemblyWindow(std::size_t capacity, EntryBuilder build) : ring_(capacity, build) {}

  const RecentEvent& keep(const EventInput& event) { return ring_.keep(event); }
  // Takes `sample` (of the event last kept); it comes back with storage to reuse.
  void push(AssemblySample& sample) {
    if (sample.needs_more) ++needs_more_;
    if (ring_.push(sample) && sample.needs_more) --needs_more_;
  }
  void clear() {
    ring_.clear();
    needs_more_ = 0;
  }

  Json render() const {
    if (ring_.empty()) return nullptr;
    Json out = ring_.head();
    out["samples"] = ring_.size();
    out["needs_more_ratio"] = static_cast<double>(needs_more_) / static_cast<double>(ring_.size());
    formulas::StatsAccumulator selected, candidates, duration_ms;
    std::map<std::string, formulas::StatsAccumulator> lanes, slots;
    ring_.for_each_oldest_to_newest([&](const AssemblySample& sample) {
      if (sample.selected) selected.add(*sample.selected);
      if (sample.candidates) candidates.add(*sample.candidates);
      if (sample.duration_ms) duration_ms.add(*sample.duration_ms);
      for (const auto& [lane, value] : sample.lanes) lanes[lane].add(value);
      for (const auto& [slot, value] : sample.slots) slots[slot].add(value);
    });
    Json metrics = Json::object();
    if (auto stats = selected.stats()) metrics["selected"] = stats_json(*stats);
    if (auto stats = candidates.stats()) metrics["candidates"] = stats_json(*stats);
    if (auto stats = duration_ms.stats()) metrics["duration_ms"] = stats_json(*stats);
    out["metrics"] = std::move(metrics);
    out["lanes"] = stats_list(lanes, formulas::kLaneSlotStatsMax, "lane");
    out["slots"] = stats_list(slots, formulas::kLaneSlotStatsMax, "slot");
    return out;
  }

 private:
  Ring<AssemblySample> ring_;
  uint64_t needs_more_ = 0;
};

// --- retriever --------------------------------------------------------------------

struct RetrieverSample {
  NamedValues counts;
  std::array<std::optional<double>, kTimingKeys.size()> timings_ms;
  NamedValues lanes;
  NamedValues slots;
};

class RetrieverWindow {
 public:
  RetrieverWindow(std::size_t capacity, EntryBuilder build) : ring_(capacity, build) {}

  const RecentEvent& keep(const EventInput& event) { return ring_.keep(event); }
  // Takes `sample` (of the event last kept); it comes back with storage to reuse.
  void push(RetrieverSample& sample) { ring_.push(sample); }
  void clear() { ring_.clear(); }

  Json render() const {
    if (ring_.empty()) return nullptr;
    Json out = ring_.head();
    out["samples"] = ring_.size();
    std::map<std::string, formulas::StatsAccumulator> counts, lanes, slots;
    std::array<formulas::StatsAccumulator, kTimingKeys.size()> timings;
    ring_.for_each_oldest_to_newest([&](const RetrieverSample& sample) {
      for (const auto& [key, value] : sample.counts) counts[key].add(value);
      for (std::size_t i = 0; i < timings.size(); ++i)
        if (sample.timings_ms[i]) timings[i].add(*sample.timings_ms[i]);
      for (const auto& [lane, value] : sample.lanes) lanes[lane].add(value);
      for (const auto& [slot, value] : sample.slots) slots[slot].add(value);
    });
    Json counts_json = Json::object();  // a map: keys ascending (std::map order)
    for (const auto& [key, accumulator] : counts)
      if (auto stats = accumulator.stats()) counts_json[key] = stats_json(*stats);
    out["counts"] = std::move(counts_json);
    Json timings_json = Json::object();
    for (std::size_t i = 0; i < timings.size(); ++i)
      if (auto stats = timings[i].stats()) timings_json[kTimingKeys[i]] = stats_json(*stats);
    out["timings_ms"] = std::move(timings_json);
    out["lanes"] = stats_list(lanes, formulas::kLaneSlotStatsMax, "lane");
    out["slots"] = stats_list(slots, formulas::kLaneSlotStatsMax, "slot");
    return out;
  }

 private:
  Ring<RetrieverSample> ring_;
};

}  // namespace

std::string_view level_label(const std::optional<std::string>& level) {
  if (level && (*level == "low" || *level == "medium" || *level == "high")) return *level;
  return "unknown";
}

namespace {

// ---------------------------------------------------------------------------
// Reading events: each kind's sample (from the kept members, per event) and
// its entry (from the full payload, when a render first shows it). Both read
// through the same functions, so an entry and its sample agree.

// --- coverage ---

// Storage reused from one event to the next.
struct CoverageRead {
  bool needs_more = false;
  // The producer's reasons, else the verdict's: views into the payload's
  // reader or into `verdict`, valid until the next read.
  std::vector<std::string_view> reasons;
  bool has_inputs = false;  // a summary came: `inputs` are its, and `verdict` when used
  formulas::CoverageInputs inputs;
  formulas::CoverageVerdict verdict;
  bool derived = false;
};

void read_coverage(const CoveragePayload& payload, CoverageRead& read) {
  read.derived = false;
  read.has_inputs = payload.summary.has_value();
  // The verdict only fills in what the producer left out.
  const bool verdict_used = !payload.reasons || !payload.needs_more;
  if (read.has_inputs) {
    formulas::inputs_from_fields(*payload.summary, payload.spec ? &*payload.spec : nullptr,
                                 read.inputs);
    if (verdict_used) formulas::coverage_verdict(read.inputs, read.verdict);
  }
  read.reasons.clear();
  if (payload.reasons) {
    read.reasons.assign(payload.reasons->begin(), payload.reasons->end());
  } else if (read.has_inputs) {
    read.reasons.assign(read.verdict.reasons.begin(), read.verdict.reasons.end());
    read.derived = true;
  }
  if (auto given = payload.needs_more) {
    read.needs_more = *given;
  } else if (read.has_inputs) {
    read.needs_more = read.verdict.needs_more;
    read.derived = true;
  } else {
    read.needs_more = !read.reasons.empty();
  }
}

Json coverage_entry(const EventInput& event, const Json& payload) {
  CoverageRead read;
  read_coverage(read_coverage_payload(event.payload), read);
  Json entry = entry_head(event);
  entry["needs_more"] = read.needs_more;
  Json reasons = Json::array();
  for (std::string_view reason : read.reasons) reasons.push_back(std::string(reason));
  entry["reasons"] = std::move(reasons);
  copy_if_present(entry, payload, "duration_ms");
  copy_if_present(entry, payload, "persona_bias");
  copy_if_present(entry, payload, "summary");
  copy_sanitised_spec(entry, payload, "spec");
  copy_if_present(entry, payload, "project");
  copy_if_present(entry, payload, "query");
  if (read.derived) entry["derived"] = true;
  return entry;
}

// --- recall_risk ---

// Storage reused from one event to the next.
struct RecallRead {
  RecallSample sample;
  bool has_risk = false;  // a summary came: `risk` is its
  formulas::RecallRisk risk;
  formulas::CoverageInputs inputs;
  formulas::CoverageVerdict verdict;
  bool derived = false;
};

void read_recall(const RecallPayload& payload, RecallRead& read) {
  read.derived = false;
  const std::optional<bool> producer_needs_more = payload.needs_more;
  read.has_risk = payload.summary.has_value();
  if (read.has_risk) {
    formulas::inputs_from_fields(*payload.summary, payload.spec ? &*payload.spec : nullptr,
                                 read.inputs);
    bool needs_more = false;
    if (producer_needs_more) {
      needs_more = *producer_needs_more;
    } else {
      formulas::coverage_verdict(read.inputs, read.verdict);
      needs_more = read.verdict.needs_more;
    }
    formulas::recall_risk(read.inputs, needs_more, read.risk);
  }
  const formulas::RecallRisk& risk = read.risk;

  RecallSample& sample = read.sample;
  sample.score = payload.score.finite;
  const bool producer_score = sample.score.has_value();
  if (!sample.score && read.has_risk) {
    sample.score = risk.score;
    read.derived = true;
  }
  if (payload.level) {
    sample.level.emplace(*payload.level);
  } else {
    sample.level.reset();
  }
  if (!sample.level && sample.score) {
    sample.level.emplace(formulas::risk_level(*sample.score));
    read.derived = true;
  }
  sample.at_risk = payload.at_risk;
  if (!sample.at_risk && sample.score) {
    sample.at_risk =
        producer_score ? producer_needs_more.value_or(false) || *sample.score >= 0.4 : risk.at_risk;
    read.derived = true;
  }

  sample.slot_gaps.clear();
  if (payload.component_slots) {
    for (const auto& [slot, gap] : *payload.component_slots)
      if (gap.finite)
        if (auto effective = formulas::effective_slot_gap(*gap.finite))
          sample.slot_gaps.emplace_back(slot, *effective);
  } else if (read.has_risk) {
    for (const formulas::SlotGap& slot : risk.slots)
      if (auto effective = formulas::effective_slot_gap(slot.gap))
        sample.slot_gaps.emplace_back(slot.slot, *effective);
  }
}

Json recall_entry(const EventInput& event, const Json& payload) {
  RecallRead read;
  read_recall(read_recall_payload(event.payload), read);
  const RecallSample& sample = read.sample;
  bool derived = read.derived;
  Json entry = entry_head(event);
  entry["score"] = sample.score ? Json(*sample.score) : Json(nullptr);
  entry["level"] = sample.level ? Json(*sample.level) : Json(nullptr);
  entry["at_risk"] = sample.at_risk ? Json(*sample.at_risk) : Json(nullptr);
  auto producer_or_derived = [&](const char* key, auto derived_value) {
    if (const Json* value = member(&payload, key)) {
      entry[key] = *value;
    } else if (read.has_risk) {
      entry[key] = derived_value(read.risk);
      derived = true;
    }
  };
  producer_or_derived("selected_ratio", [](const auto& r) { return Json(r.selected_ratio); });
  producer_or_derived("desired_lanes", [](const auto& r) { return Json(r.desired_lanes); });
  producer_or_derived("lane_count", [](const auto& r) { return Json(r.lane_count); });
  copy_if_present(entry, payload, "needs_more");
  copy_if_present(entry, payload, "duration_ms");
  producer_or_derived("components", [](const auto& r) { return components_json(r); });
  copy_if_present(entry, payload, "reasons");
  copy_if_present(entry, payload, "summary");
  copy_sanitised_spec(entry, payload, "spec");
  copy_if_present(entry, payload, "project");
  copy_if_present(entry, payload, "query");
  copy_if_present(entry, payload, "persona_bias");
  if (derived) entry["derived"] = true;
  return entry;
}

// --- assembly ---

std::optional<bool> assembly_needs_more(const AssemblyPayload& payload) {
  std::optional<bool> needs_more = payload.needs_more;
  if (!needs_more) needs_more = payload.coverage_needs_more;
  if (!needs_more) needs_more = payload.coverage_gap;
  return needs_more;
}

void read_assembly(const AssemblyPayload& payload, AssemblySample& sample) {
  sample.needs_more = assembly_needs_more(payload).value_or(false);
  sample.duration_ms = payload.duration_ms.finite;
  sample.selected.reset();
  sample.candidates.reset();
  sample.lanes.clear();
  sample.slots.clear();
  if (const auto& summary = payload.summary) {
    sample.selected = summary->selected.finite;
    sample.candidates = summary->total_candidates.finite;
    numeric_members(summary->lane_counts, sample.lanes);
    numeric_members(summary->slot_counts, sample.slots);
  }
}

Json assembly_entry(const EventInput& event, const Json& payload) {
  Json entry = entry_head(event);
  if (const Json* iteration = member(&payload, "iteration"))
    entry["iteration"] = *iteration;
  else if (const Json* index = member(&payload, "index"))
    entry["iteration"] = *index;
  for (const char* key : {"corr_id", "project", "query", "duration_ms", "coverage", "reasons",
                          "summary", "persona_bias", "spec", "next_spec"})
    copy_if_present(entry, payload, key);
  if (auto needs_more = assembly_needs_more(read_assembly_payload(event.payload)))
    entry["needs_more"] = *needs_more;
  return entry;
}

// --- retriever ---

void read_retriever(const RetrieverPayload& payload, RetrieverSample& sample) {
  sample.counts.clear();
  if (payload.counts) {
    numeric_members(payload.counts, sample.counts);
  } else if (const auto& summary = payload.summary) {
    if (auto selected = summary->selected.finite) sample.counts.emplace_back("selected", *selected);
    if (auto candidates = summary->total_candidates.finite)
      sample.counts.emplace_back("total_candidates", *candidates);
  }
  for (std::size_t i = 0; i < kTimingKeys.size(); ++i)
    sample.timings_ms[i] = finite_member(payload.timings_ms, kTimingKeys[i]);
  numeric_members(payload.lanes, sample.lanes);
  numeric_members(payload.slot_counts, sample.slots);
}

Json retriever_entry(const EventInput& event, const Json& payload) {
  Json entry = entry_head(event);
  for (const char* key : {"iteration", "corr_id", "project", "query", "summary", "persona_bias"})
    copy_if_present(entry, payload, key);
  const Json* diagnostics = object_member(&payload, "diagnostics");
  if (const Json* counts = member(diagnostics, "counts")) {
    entry["counts"] = *counts;
  } else {
    Json listed = Json::object();
    listed["selected"] = array_length(member(&payload, "items"));
    listed["seeds"] = array_length(member(&payload, "seeds"));
    listed["expanded"] = array_length(member(&payload, "expanded"));
    entry["counts"] = std::move(listed);
  }
  if (diagnostics != nullptr) {
    for (const char* key : {"lanes", "slots", "timings_ms", "params", "scorer",
                            "had_candidates_above_threshold", "generated_at"})
      copy_if_present(entry, *diagnostics, key);
  }
  return entry;
}

// --- assembled ---

Json assembled_entry(const EventInput& event, const Json& payload) {
  Json out = Json::object();
  out["id"] = event.id;
  out["time"] = std::string(event.time);
  for (const char* key :
       {"query", "project", "persona", "persona_bias", "lanes", "limit", "expand_per_seed",
        "diversity_lambda", "min_score", "scorer", "expand_query", "expand_query_top_k",
        "max_iterations", "context_preview"})
    copy_if_present(out, payload, key);
  if (const Json* working_set = object_member(&payload, "working_set")) {
    Json kept = Json::object();
    copy_if_present(kept, *working_set, "counts");
    copy_if_present(kept, *working_set, "summary");
    copy_if_present(kept, *working_set, "coverage");
    copy_sanitised_spec(kept, *working_set, "final_spec");
    copy_if_present(kept, *working_set, "iterations");
    out["working_set"] = std::move(kept);
  } else {
    copy_if_present(out, payload, "working_set");
  }
  return out;
}

}  // namespace

// ---------------------------------------------------------------------------
// The model

struct ContextModel::State {
  explicit State(uint64_t window)
      : window(window),
        coverage(window, coverage_entry),
        recall(window, recall_entry),
        assembly(window, assembly_entry),
        retriever(window, retriever_entry) {}

  uint64_t window;
  CoverageWindow coverage;
  RecallWindow recall;
  AssemblyWindow assembly;
  RetrieverWindow retriever;
  std::optional<RecentEvent> assembled;  // none until the first context.assembled
  bool dirty = true;
  std::string text;  // the last render

  // Per-event storage, reused.
  CoveragePayload coverage_payload;
  CoverageRead coverage_read;
  RecallPayload recall_payload;
  RecallRead recall_read;
  AssemblyPayload assembly_payload;
  AssemblySample assembly_sample;
  RetrieverPayload retriever_payload;
  RetrieverSample retriever_sample;

  void take_coverage(const EventInput& event, MetricObservations& observed);
  void take_recall(const EventInput& event, MetricObservations& observed);
  void take_assembly(const EventInput& event);
  void take_retriever(const EventInput& event);
};

// Each kind's event is kept among the recent ones first, and its members are
// read from that padded copy.

void ContextModel::State::take_coverage(const EventInput& event, MetricObservations& observed) {
  const RecentEvent& kept = coverage.keep(event);
  read_coverage_payload(kept.payload(), kept.padded_size(), coverage_payload);
  CoverageRead& read = coverage_read;
  read_coverage(coverage_payload, read);
  observed.source = MetricObservations::Source::Coverage;
  observed.needs_more = read.needs_more;
  if (read.has_inputs) {
    for (const formulas::SlotInput& slot : read.inputs.slots)
      observed.fill_ratios.emplace_back(
          slot.slot, formulas::slot_fill_ratio(slot.budget, read.inputs.selected, slot.have));
  }
  for (std::string_view reason : read.reasons)
    if (auto slot = underfilled_slot(reason)) observed.underfilled_slots.emplace_back(*slot);
  coverage.push(read.needs_more, read.reasons);
}

void ContextModel::State::take_recall(const EventInput& event, MetricObservations& observed) {
  const RecentEvent& kept = recall.keep(event);
  read_recall_payload(kept.payload(), kept.padded_size(), recall_payload);
  RecallRead& read = recall_read;
  read_recall(recall_payload, read);
  observed.source = MetricObservations::Source::Recall;
  observed.score = read.sample.score;
  observed.level_label.assign(level_label(read.sample.level));
  observed.flagged = read.sample.at_risk.value_or(false);
  observed.slot_gaps.assign(read.sample.slot_gaps.begin(), read.sample.slot_gaps.end());
  recall.push(read.sample);
}

void ContextModel::State::take_assembly(const EventInput& event) {
  const RecentEvent& kept = assembly.keep(event);
  read_assembly_payload(kept.payload(), kept.padded_size(), assembly_payload);
  read_assembly(assembly_payload, assembly_sample);
  assembly.push(assembly_sample);
}

void ContextModel::State::take_retriever(const EventInput& event) {
  const RecentEvent& kept = retriever.keep(event);
  read_retriever_payload(kept.payload(), kept.padded_size(), retriever_payload);
  read_retriever(retriever_payload, retriever_sample);
  retriever.push(retriever_sample);
}

ContextModel::ContextModel(int64_t window)
    : state_(std::make_unique<State>(
          static_cast<uint64_t>(std::clamp(window, kMinWindow, kMaxWindow)))) {}

ContextModel::~ContextModel() = default;

uint64_t ContextModel::window() const {
  return state_->window;
}

void ContextModel::reset() {
  state_->coverage.clear();
  state_->recall.clear();
  state_->assembly.clear();
  state_->retriever.clear();
  state_->assembled.reset();
  state_->dirty = true;
}

MetricObservations ContextModel::on_event(const EventInput& event) {
  MetricObservations observed;
  on_event(event, observed);
  return observed;
}

void ContextModel::on_event(const EventInput& event, MetricObservations& observed) {
  observed.source = MetricObservations::Source::None;
  observed.needs_more = false;
  observed.fill_ratios.clear();
  observed.underfilled_slots.clear();
  observed.score.reset();
  observed.level_label.clear();
  observed.flagged = false;
  observed.slot_gaps.clear();
  const std::string_view kind = event.kind;
  const bool known = kind == kCoverageKind || kind == kRecallRiskKind || kind == kAssemblyKind ||
                     kind == kRetrieverKind || kind == kAssembledKind;
  if (!known) return;
  // Only the members the windows keep are read now; a payload that is not an
  // object has none of them, which is how it is read.
  State& s = *state_;
  s.dirty = true;
  if (kind == kCoverageKind) {
    s.take_coverage(event, observed);
  } else if (kind == kRecallRiskKind) {
    s.take_recall(event, observed);
  } else if (kind == kAssemblyKind) {
    s.take_assembly(event);
  } else if (kind == kRetrieverKind) {
    s.take_retriever(event);
  } else {
    if (!s.assembled) s.assembled.emplace();
    s.assembled->assign(event);
  }
}

bool ContextModel::render(std::string& out) {
  State& s = *state_;
  const bool changed = s.dirty;
  if (s.dirty) {
    Json value = Json::object();
    value["coverage"] = s.coverage.render();
    value["recall_risk"] = s.recall.render();
    value["assembled"] = s.assembled ? entry_of(*s.assembled, assembled_entry) : Json(nullptr);
    value["assembly"] = s.assembly.render();
    value["retriever"] = s.retriever.render();
    value["window"] = s.window;
    s.text = value.dump(-1, ' ', false, Json::error_handler_t::replace);
    s.dirty = false;
  }
  out = s.text;
  return changed;
}

}  // namespace tpark::context_section
