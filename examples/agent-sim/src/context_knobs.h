// The ARW_CONTEXT_* values a runtime assembles context with (control.md §3.1),
// as the simulator follows them: the built-in defaults, and the live values
// read from a host's GET /state/config (control.md §3.2).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace tpark::sim {

struct ContextKnobs {
  int64_t k = 18;                  // ARW_CONTEXT_K: the selection limit
  int64_t expand_per_seed = 3;     // ARW_CONTEXT_EXPAND_PER_SEED
  double diversity_lambda = 0.72;  // ARW_CONTEXT_DIVERSITY_LAMBDA
  double min_score = 0.1;          // ARW_CONTEXT_MIN_SCORE
  double lane_bonus = 0.05;        // ARW_CONTEXT_LANE_BONUS
  std::vector<std::string> lanes = {"semantic", "procedural", "episodic", "story_thread"};
  // ARW_CONTEXT_SLOT_BUDGETS as set (may hold "*"); empty when unset.
  std::map<std::string, int64_t> slot_budgets;
  bool expand_query = false;       // ARW_CONTEXT_EXPAND_QUERY
  int64_t expand_query_top_k = 4;  // ARW_CONTEXT_EXPAND_QUERY_TOP_K
  int64_t coverage_max_iters = 2;  // ARW_CONTEXT_COVERAGE_MAX_ITERS
  std::string scorer = "mmrd";     // ARW_CONTEXT_SCORER

  bool operator==(const ContextKnobs&) const = default;
};

// The budgets of the simulated runtime's prompt template. A runtime fills its
// template's slots whether or not ARW_CONTEXT_SLOT_BUDGETS is set; the key only
// overrides these.
const std::map<std::string, int64_t>& template_slot_budgets();

// The slots a pass fills and their budgets: ARW_CONTEXT_SLOT_BUDGETS when set
// (a "*" entry gives its budget to every template slot the map does not name),
// else the template's budgets. Budgets <= 0 are kept: the host skips them.
std::map<std::string, int64_t> effective_slot_budgets(const ContextKnobs& knobs);

// Reads the followed keys from a GET /state/config body
// ({env: {KEY: {value, source, …}}}, or the same wrapped as {ok, data}).
// Keys that are absent, null or out of range keep their built-in default.
// Returns false, with `error` set, when the body has no `env` object.
bool knobs_from_config(const nlohmann::json& body, ContextKnobs& knobs, std::string& error);

// "K=18 E=3 lambda=0.72 m=0.1 b=0.05 lanes=semantic,procedural Q=0 T=4 iters=2 slots=…"
std::string describe(const ContextKnobs& knobs);

}  // namespace tpark::sim
