#include "context_model.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <deque>
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

// The finite numeric members of an object, in the object's order.
NamedValues numeric_members(const std::optional<NumberFields>& object) {
  NamedValues out;
  if (!object) return out;
  for (const auto& [key, number] : *object)
    if (number.finite) out.emplace_back(key, *number.finite);
  return out;
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
// entry is built from the raw payload when a render first shows it.
struct RecentEvent {
  int64_t id = 0;
  std::string time;
  std::string node;
  std::string payload;
  mutable std::optional<Json> entry;

  static RecentEvent of(const EventInput& event) {
    RecentEvent recent;
    recent.assign(event);
    return recent;
  }
  // Reuses the strings' buffers of an event leaving the window.
  void assign(const EventInput& event) {
    id = event.id;
    time.assign(event.time);
    node.assign(event.node);
    payload.assign(event.payload);
    entry.reset();
  }
  EventInput input() const { return EventInput{id, time, node, {}, payload}; }
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
    Json payload = full_payload(event.payload);
    if (payload.empty()) input.payload = "{}";
    event.entry = build(input, payload);
  }
  return *event.entry;
}

// The newest `capacity` samples of one kind (oldest first), and the newest
// min(5, capacity) events (newest first).
template <class Sample>
class Ring {
 public:
  Ring(std::size_t capacity, EntryBuilder build) : capacity_(capacity), build_(build) {}

  // Returns the sample pushed out of a full ring.
  std::optional<Sample> push(Sample sample, const EventInput& event) {
    samples_.push_back(std::move(sample));
    if (recent_.size() >= std::min(kRecentMax, capacity_)) {
      RecentEvent oldest = std::move(recent_.back());
      recent_.pop_back();
      oldest.assign(event);
      recent_.push_front(std::move(oldest));
    } else {
      recent_.push_front(RecentEvent::of(event));
    }
    if (samples_.size() <= capacity_) return std::nullopt;
    std::optional<Sample> evicted(std::move(samples_.front()));
    samples_.pop_front();
    return evicted;
  }
  void clear() {
    samples_.clear();
    recent_.clear();
  }
  bool empty() const { return samples_.empty(); }
  uint64_t size() const { return samples_.size(); }
  const std::deque<Sample>& oldest_to_newest() const { return samples_; }

  // A sub-section's first keys: latest, recent.
  Json head() const {
    Json out = Json::object();
    out["latest"] = entry_of(recent_.front(), build_);
    Json recent = Json::array();
    for (const RecentEvent& event : recent_) recent.push_back(entry_of(event, build_));
    out["recent"] = std::move(recent);
    return out;
  }

 private:
  std::size_t capacity_;
  EntryBuilder build_;
  std::deque<Sample> samples_;
  std::deque<RecentEvent> recent_;
};

// --- coverage ---------------------------------------------------------------

struct CoverageSample {
  bool needs_more = false;
  std::vector<std::string> reasons;
};

class CoverageWindow {
 public:
  CoverageWindow(std::size_t capacity, EntryBuilder build) : ring_(capacity, build) {}

  void push(CoverageSample sample, const EventInput& event) {
    count(sample, true);
    if (auto evicted = ring_.push(std::move(sample), event)) count(*evicted, false);
  }
  void clear() {
    ring_.clear();
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
  void count(const CoverageSample& sample, bool add) {
    if (sample.needs_more) add ? ++needs_more_ : --needs_more_;
    for (const std::string& reason : sample.reasons) {
      add_count(reasons_, reason, add);
      if (auto slot = underfilled_slot(reason)) add_count(slots_, std::string(*slot), add);
    }
  }

  Ring<CoverageSample> ring_;
  uint64_t needs_more_ = 0;
  std::map<std::string, uint64_t> reasons_;
  std::map<std::string, uint64_t> slots_;
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

  void push(RecallSample sample, const EventInput& event) {
    count(sample, true);
    if (auto evicted = ring_.push(std::move(sample), event)) count(*evicted, false);
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
    for (const RecallSample& sample : ring_.oldest_to_newest()) {
      if (sample.score) scores.add(*sample.score);
      for (const auto& [slot, gap] : sample.slot_gaps) slot_gaps[slot].add(gap);
    }
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

  void push(AssemblySample sample, const EventInput& event) {
    if (sample.needs_more) ++needs_more_;
    if (auto evicted = ring_.push(std::move(sample), event))
      if (evicted->needs_more) --needs_more_;
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
    for (const AssemblySample& sample : ring_.oldest_to_newest()) {
      if (sample.selected) selected.add(*sample.selected);
      if (sample.candidates) candidates.add(*sample.candidates);
      if (sample.duration_ms) duration_ms.add(*sample.duration_ms);
      for (const auto& [lane, value] : sample.lanes) lanes[lane].add(value);
      for (const auto& [slot, value] : sample.slots) slots[slot].add(value);
    }
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

  void push(RetrieverSample sample, const EventInput& event) {
    ring_.push(std::move(sample), event);
  }
  void clear() { ring_.clear(); }

  Json render() const {
    if (ring_.empty()) return nullptr;
    Json out = ring_.head();
    out["samples"] = ring_.size();
    std::map<std::string, formulas::StatsAccumulator> counts, lanes, slots;
    std::array<formulas::StatsAccumulator, kTimingKeys.size()> timings;
    for (const RetrieverSample& sample : ring_.oldest_to_newest()) {
      for (const auto& [key, value] : sample.counts) counts[key].add(value);
      for (std::size_t i = 0; i < timings.size(); ++i)
        if (sample.timings_ms[i]) timings[i].add(*sample.timings_ms[i]);
      for (const auto& [lane, value] : sample.lanes) lanes[lane].add(value);
      for (const auto& [slot, value] : sample.slots) slots[slot].add(value);
    }
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

struct CoverageRead {
  CoverageSample sample;
  std::optional<formulas::CoverageInputs> inputs;
  bool derived = false;
};

CoverageRead read_coverage(CoveragePayload payload) {
  CoverageRead read;
  std::optional<formulas::CoverageVerdict> verdict;
  if (payload.summary) {
    read.inputs =
        formulas::inputs_from_fields(*payload.summary, payload.spec ? &*payload.spec : nullptr);
    verdict = formulas::coverage_verdict(*read.inputs);
  }
  CoverageSample& sample = read.sample;
  if (payload.reasons) {
    sample.reasons = std::move(*payload.reasons);
  } else if (verdict) {
    sample.reasons = verdict->reasons;
    read.derived = true;
  }
  if (auto given = payload.needs_more) {
    sample.needs_more = *given;
  } else if (verdict) {
    sample.needs_more = verdict->needs_more;
    read.derived = true;
  } else {
    sample.needs_more = !sample.reasons.empty();
  }
  return read;
}

Json coverage_entry(const EventInput& event, const Json& payload) {
  const CoverageRead read = read_coverage(read_coverage_payload(event.payload));
  Json entry = entry_head(event);
  entry["needs_more"] = read.sample.needs_more;
  entry["reasons"] = read.sample.reasons;
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

struct RecallRead {
  RecallSample sample;
  std::optional<formulas::RecallRisk> risk;
  bool derived = false;
};

RecallRead read_recall(RecallPayload payload) {
  RecallRead read;
  const std::optional<bool> producer_needs_more = payload.needs_more;
  if (payload.summary) {
    const formulas::CoverageInputs inputs =
        formulas::inputs_from_fields(*payload.summary, payload.spec ? &*payload.spec : nullptr);
    const bool needs_more =
        producer_needs_more ? *producer_needs_more : formulas::coverage_verdict(inputs).needs_more;
    read.risk = formulas::recall_risk(inputs, needs_more);
  }
  const std::optional<formulas::RecallRisk>& risk = read.risk;

  RecallSample& sample = read.sample;
  sample.score = payload.score.finite;
  const bool producer_score = sample.score.has_value();
  if (!sample.score && risk) {
    sample.score = risk->score;
    read.derived = true;
  }
  sample.level = std::move(payload.level);
  if (!sample.level && sample.score) {
    sample.level = std::string(formulas::risk_level(*sample.score));
    read.derived = true;
  }
  sample.at_risk = payload.at_risk;
  if (!sample.at_risk && sample.score) {
    sample.at_risk = producer_score ? producer_needs_more.value_or(false) || *sample.score >= 0.4
                                    : risk->at_risk;
    read.derived = true;
  }

  if (payload.component_slots) {
    for (const auto& [slot, gap] : numeric_members(payload.component_slots))
      if (auto effective = formulas::effective_slot_gap(gap))
        sample.slot_gaps.emplace_back(slot, *effective);
  } else if (risk) {
    for (const formulas::SlotGap& slot : risk->slots)
      if (auto effective = formulas::effective_slot_gap(slot.gap))
        sample.slot_gaps.emplace_back(slot.slot, *effective);
  }
  return read;
}

Json recall_entry(const EventInput& event, const Json& payload) {
  const RecallRead read = read_recall(read_recall_payload(event.payload));
  const RecallSample& sample = read.sample;
  bool derived = read.derived;
  Json entry = entry_head(event);
  entry["score"] = sample.score ? Json(*sample.score) : Json(nullptr);
  entry["level"] = sample.level ? Json(*sample.level) : Json(nullptr);
  entry["at_risk"] = sample.at_risk ? Json(*sample.at_risk) : Json(nullptr);
  auto producer_or_derived = [&](const char* key, auto derived_value) {
    if (const Json* value = member(&payload, key)) {
      entry[key] = *value;
    } else if (read.risk) {
      entry[key] = derived_value(*read.risk);
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

AssemblySample read_assembly(const AssemblyPayload& payload) {
  AssemblySample sample;
  sample.needs_more = assembly_needs_more(payload).value_or(false);
  sample.duration_ms = payload.duration_ms.finite;
  if (const auto& summary = payload.summary) {
    sample.selected = summary->selected.finite;
    sample.candidates = summary->total_candidates.finite;
    sample.lanes = numeric_members(summary->lane_counts);
    sample.slots = numeric_members(summary->slot_counts);
  }
  return sample;
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

RetrieverSample read_retriever(const RetrieverPayload& payload) {
  RetrieverSample sample;
  if (payload.counts) {
    sample.counts = numeric_members(payload.counts);
  } else if (const auto& summary = payload.summary) {
    if (auto selected = summary->selected.finite) sample.counts.emplace_back("selected", *selected);
    if (auto candidates = summary->total_candidates.finite)
      sample.counts.emplace_back("total_candidates", *candidates);
  }
  for (std::size_t i = 0; i < kTimingKeys.size(); ++i)
    sample.timings_ms[i] = finite_member(payload.timings_ms, kTimingKeys[i]);
  sample.lanes = numeric_members(payload.lanes);
  sample.slots = numeric_members(payload.slot_counts);
  return sample;
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

  MetricObservations take_coverage(const EventInput& event);
  MetricObservations take_recall(const EventInput& event);
};

MetricObservations ContextModel::State::take_coverage(const EventInput& event) {
  CoverageRead read = read_coverage(read_coverage_payload(event.payload));
  MetricObservations observed;
  observed.source = MetricObservations::Source::Coverage;
  observed.needs_more = read.sample.needs_more;
  if (read.inputs) {
    for (const formulas::SlotInput& slot : read.inputs->slots)
      observed.fill_ratios.emplace_back(
          slot.slot, formulas::slot_fill_ratio(slot.budget, read.inputs->selected, slot.have));
  }
  for (const std::string& reason : read.sample.reasons)
    if (auto slot = underfilled_slot(reason)) observed.underfilled_slots.emplace_back(*slot);
  coverage.push(std::move(read.sample), event);
  return observed;
}

MetricObservations ContextModel::State::take_recall(const EventInput& event) {
  RecallRead read = read_recall(read_recall_payload(event.payload));
  MetricObservations observed;
  observed.source = MetricObservations::Source::Recall;
  observed.score = read.sample.score;
  observed.level_label = std::string(level_label(read.sample.level));
  observed.flagged = read.sample.at_risk.value_or(false);
  observed.slot_gaps = read.sample.slot_gaps;
  recall.push(std::move(read.sample), event);
  return observed;
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
  const std::string_view kind = event.kind;
  const bool known = kind == kCoverageKind || kind == kRecallRiskKind || kind == kAssemblyKind ||
                     kind == kRetrieverKind || kind == kAssembledKind;
  if (!known) return {};
  // Only the members the windows keep are read now; a payload that is not an
  // object has none of them, which is how it is read.
  State& s = *state_;
  s.dirty = true;
  if (kind == kCoverageKind) return s.take_coverage(event);
  if (kind == kRecallRiskKind) return s.take_recall(event);
  if (kind == kAssemblyKind)
    s.assembly.push(read_assembly(read_assembly_payload(event.payload)), event);
  else if (kind == kRetrieverKind)
    s.retriever.push(read_retriever(read_retriever_payload(event.payload)), event);
  else
    s.assembled = RecentEvent::of(event);
  return {};
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
