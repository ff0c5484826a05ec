#include "result_cache.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <utility>

namespace tpark::training_model {
namespace {

json knobs_to_json(const Knobs& k) {
  return {{"k", k.k},          {"e", k.expand_per_seed}, {"q", k.expand_query},
          {"t", k.top_k},      {"lambda", k.lambda},     {"m", k.min_score},
          {"b", k.lane_bonus}, {"lanes", k.lanes}};
}
Knobs knobs_from_json(const json& j) {
  Knobs k;
  k.k = j.at("k").get<int64_t>();
  k.expand_per_seed = j.at("e").get<int64_t>();
  k.expand_query = j.at("q").get<bool>();
  k.top_k = j.at("t").get<int64_t>();
  k.lambda = j.at("lambda").get<double>();
  k.min_score = j.at("m").get<double>();
  k.lane_bonus = j.at("b").get<double>();
  k.lanes = j.at("lanes").get<std::vector<std::string>>();
  return k;
}

json aggregate_to_json(const Aggregate& a) {
  return {{"mean_recall_risk", a.mean_recall_risk},
          {"at_risk_ratio", a.at_risk_ratio},
          {"needs_more_ratio", a.needs_more_ratio},
          {"coverage_shortfall", a.coverage_shortfall},
          {"lane_gap", a.lane_gap},
          {"quality_gap", a.quality_gap},
          {"slot_gap", a.slot_gap ? json(*a.slot_gap) : json(nullptr)},
          {"reason_freq", a.reason_freq}};
}
Aggregate aggregate_from_json(const json& j) {
  Aggregate a;
  a.mean_recall_risk = j.at("mean_recall_risk").get<double>();
  a.at_risk_ratio = j.at("at_risk_ratio").get<double>();
  a.needs_more_ratio = j.at("needs_more_ratio").get<double>();
  a.coverage_shortfall = j.at("coverage_shortfall").get<double>();
  a.lane_gap = j.at("lane_gap").get<double>();
  a.quality_gap = j.at("quality_gap").get<double>();
  if (!j.at("slot_gap").is_null()) a.slot_gap = j.at("slot_gap").get<double>();
  a.reason_freq = j.at("reason_freq").get<std::map<std::string, double>>();
  return a;
}

json optional_aggregate(const std::optional<Aggregate>& a) {
  return a ? aggregate_to_json(*a) : json(nullptr);
}

uint64_t fnv1a(std::string_view text, uint64_t offset) {
  uint64_t hash = offset;
  for (unsigned char c : text) {
    hash ^= c;
    hash *= 1099511628211ull;
  }
  return hash;
}

}  // namespace

json computation_to_json(const Computation& c) {
  json candidates = json::array();
  for (const auto& candidate : c.candidates)
    candidates.push_back({{"id", candidate.id},
                          {"rules", candidate.rules},
                          {"knobs", knobs_to_json(candidate.knobs)},
                          {"aggregate", aggregate_to_json(candidate.aggregate)}});
  return {{"evidence", c.evidence},
          {"candidates", std::move(candidates)},
          {"winner_id", c.winner_id},
          {"winner", knobs_to_json(c.winner)},
          {"baseline", optional_aggregate(c.baseline)},
          {"predicted", optional_aggregate(c.predicted)}};
}

Computation computation_from_json(const json& j) {
  Computation c;
  c.evidence = j.at("evidence").get<bool>();
  for (const auto& candidate : j.at("candidates")) {
    Candidate out;
    out.id = candidate.at("id").get<std::string>();
    out.rules = candidate.at("rules").get<std::vector<std::string>>();
    out.knobs = knobs_from_json(candidate.at("knobs"));
    out.aggregate = aggregate_from_json(candidate.at("aggregate"));
    c.candidates.push_back(std::move(out));
  }
  c.winner_id = j.at("winner_id").get<std::string>();
  c.winner = knobs_from_json(j.at("winner"));
  if (!j.at("baseline").is_null()) c.baseline = aggregate_from_json(j.at("baseline"));
  if (!j.at("predicted").is_null()) c.predicted = aggregate_from_json(j.at("predicted"));
  return c;
}

std::string cache_digest(std::string_view key_text) {
  char out[33];
  std::snprintf(out, sizeof out, "%016llx%016llx",
                static_cast<unsigned long long>(fnv1a(key_text, 14695981039346656037ull)),
                static_cast<unsigned long long>(fnv1a(key_text, 0x6c62272e07bb0142ull)));
  return out;
}

std::optional<ResultCache::Entry> ResultCache::find(const std::string& digest) const {
  auto it = entries_.find(digest);
  if (it == entries_.end()) return std::nullopt;
  return it->second;
}

void ResultCache::store(const std::string& digest, std::string job_id, Computation computation) {
  if (entries_.count(digest)) order_.erase(std::find(order_.begin(), order_.end(), digest));
  entries_[digest] = Entry{std::move(job_id), std::move(computation)};
  order_.push_back(digest);
  while (order_.size() > kEntries) {
    entries_.erase(order_.front());
    order_.pop_front();
  }
}

size_t ResultCache::load(const json& state) {
  size_t loaded = 0;
  if (!state.is_object() || !state.contains("entries") || !state["entries"].is_array()) return 0;
  for (const auto& entry : state["entries"]) {
    try {
      store(entry.at("key").get<std::string>(), entry.at("job_id").get<std::string>(),
            computation_from_json(entry.at("computation")));
      ++loaded;
    } catch (const json::exception&) {
      // A malformed entry is a miss, not a failure.
    }
  }
  return loaded;
}

}  // namespace tpark::training_model
