// What a training job computes (control.md 5.5), as pure functions: collect
// the samples from journal rows, analyse them with the context formulas of
// telemetry.md 3.1 (one copy, tp_context_formulas), generate the candidate
// rules, evaluate each with the counterfactual model, pick the winner and
// write the manifest. Deterministic: no clocks, no I/O, no global state.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace tpark::training_model {

using json = nlohmann::json;  // std::map objects: every map is written in byte order

// One journal row of a kind training reads. The payload stays text until
// collect needs it: a deep job over a long window parses only what it examines.
struct Row {
  int64_t id = 0;
  std::string kind;
  std::string payload_text;  // compact JSON
};

// The knob values a candidate sets (control.md 5.5 "Notation").
struct Knobs {
  int64_t k = 18;               // ARW_CONTEXT_K, 1..256
  int64_t expand_per_seed = 3;  // E, 0..16
  bool expand_query = false;    // Q
  int64_t top_k = 4;            // T, 1..32
  double lambda = 0.72;         // ARW_CONTEXT_DIVERSITY_LAMBDA, 0..1
  double min_score = 0.1;       // m, 0..1
  double lane_bonus = 0.05;     // b, 0..1
  std::vector<std::string> lanes = {"semantic", "procedural", "episodic", "story_thread"};
};

// The job's inputs as the host hands them over (tp_job_view.request_json).
struct JobInput {
  std::string job_id;
  std::string goal;
  std::string created;  // RFC 3339
  std::string mode = "balanced";
  json request = json::object();  // the job's meta (control.md 5.1)
  Knobs base;
  int64_t since_id = 0;
  int64_t until_id = 0;
};

// Reads request_json; throws std::invalid_argument on a malformed document.
JobInput parse_job_input(const std::string& request_json);
// base {env, hints} -> Knobs; missing keys take their 3.1 defaults.
Knobs knobs_from_base(const json& base);

// One sample's recorded values (control.md 5.5 "Recorded values").
struct Sample {
  int64_t id = 0;
  int64_t target_limit = 0;  // L0
  int64_t selected = 0;      // raw selected (s0 = min(selected, L0))
  int64_t total_candidates = 0;
  int64_t lanes_requested = 0;
  double avg_cscore = 0, max_cscore = 0, min_cscore = 0;
  double min_score = 0;  // m0
  int64_t expand_per_seed = 0;
  bool expand_query = false;
  int64_t top_k = 0;
  double lambda = 0, lane_bonus = 0;
  std::map<std::string, int64_t> lane_counts;
  std::map<std::string, int64_t> slot_counts;
  std::map<std::string, int64_t> budgets;  // budget > 0 only
  std::string payload_text;                // for the cache key
};

struct Collected {
  std::vector<Sample> samples;  // ascending id
  int64_t followups = 0, invalid = 0, duplicates = 0;
};

// Sample cap of a mode (5.4), `episodes` overriding it.
size_t sample_cap(const std::string& mode, const json& request);

// What pairing needs to know of the whole window (exact reading 3): whether
// a first-pass summary exists after the project filter, and their corr_ids.
struct Pairing {
  bool summaries_exist = false;
  std::set<std::string> summary_keys;
  // One row of the window, any order; only first-pass summaries count.
  void add(const Row& row, const std::optional<std::string>& project);
};

// Stage 1 fed newest first (strictly descending ids), so a long window is
// read in chunks and reading stops once the cap is reached. `pairing` is
// called at most once, at the first coverage event that needs it, and
// answers for the whole window.
class Collector {
 public:
  Collector(std::optional<std::string> project, size_t cap, Knobs base,
            std::function<Pairing()> pairing);
  // One row (other kinds are ignored). False once `cap` samples exist: stop reading.
  bool add(const Row& row);
  bool full() const { return out_.samples.size() >= cap_; }
  // The samples by ascending id, and the skipped counts.
  Collected finish() &&;

 private:
  std::optional<std::string> project_;
  size_t cap_;
  Knobs base_;
  std::function<Pairing()> pairing_source_;
  std::optional<Pairing> pairing_;
  Collected out_;
};

// Stage 1 over rows of the window held in memory (any order).
Collected collect(const std::vector<Row>& rows, const std::optional<std::string>& project,
                  size_t cap, const Knobs& base);

// Aggregates of one candidate over the samples (5.5 "Analyse", step 7).
struct Aggregate {
  double mean_recall_risk = 0, at_risk_ratio = 0, needs_more_ratio = 0;
  double coverage_shortfall = 0, lane_gap = 0, quality_gap = 0;
  std::optional<double> slot_gap;
  std::map<std::string, double> reason_freq;
};

struct Candidate {
  std::string id;
  std::vector<std::string> rules;
  Knobs knobs;
  Aggregate aggregate;
};

// The computation of stages 2-4 and the winner (what the result cache keeps).
struct Computation {
  bool evidence = false;
  std::vector<Candidate> candidates;  // evaluated, in rule order
  std::string winner_id = "c0";
  Knobs winner;
  std::optional<Aggregate> baseline, predicted;
};

// The counterfactual model for one sample under `cand` (step 1-7), returning
// the risk figures of the predicted summary. At cand == base it reproduces
// the recorded counts (the baseline).
struct Prediction {
  double score = 0;
  bool at_risk = false, needs_more = false;
  std::vector<std::string> reasons;
  double coverage_shortfall = 0, lane_gap = 0, quality_gap = 0;
  std::optional<double> slot_gap;
  int64_t selected = 0;  // s1
};
Prediction predict(const Sample& sample, const Knobs& base, const Knobs& cand);

// Stages 2-4 and the winner.
Computation compute(const std::vector<Sample>& samples, const JobInput& job);

// The manifest of 5.5 "Suggest" and the job result ({candidate_id, baseline,
// predicted, evidence_window, changes}).
struct Suggestion {
  json manifest;
  json result;
};
Suggestion suggest(const JobInput& job, const Collected& collected, const Computation& computation,
                   const std::optional<std::string>& cached_from);

// The result cache key: mode, knobs, base, and the collected samples' ids
// and payloads (not the window bounds).
std::string cache_key(const JobInput& job, const Collected& collected);

// Half away from zero to n decimals.
double round_to(double value, int decimals);

}  // namespace tpark::training_model
