// The simulated agent runtime: turns of a context-assembly loop and what
// happens around them, as the events a runtime sends a tpark host
// (telemetry.md §1.3 lines). For a given seed and knobs the stream is the
// same bytes on every platform (portable_random.h).
//
// One turn is one POST /context/assemble of the runtime:
//   - per pass of the coverage loop: working_set.iteration.summary, then
//     context.coverage and context.recall.risk carrying summary and spec (the
//     host derives the verdict and the risk from them); a pass that needs more
//     is followed by a wider pass while ARW_CONTEXT_COVERAGE_MAX_ITERS allows;
//   - working_set.completed (with diagnostics), context.assembled, and the
//     route's http.route.sample (about 3 turns in 100 fail, 1 with a 5xx and
//     2 with a 4xx, and produce only the sample);
//   - 0–3 tool calls: modular.tool.accepted, tool.cache (hit, coalesced,
//     miss, not_cacheable, error from a simulated cache with a 600 s TTL),
//     actions.completed or actions.failed, a /actions route sample, and often a
//     memory.item.upserted tool_invocation record;
//   - now and then: other route samples, memory.item.upserted/expired,
//     feedback.signal, and every 40th turn feedback.suggested.
//
// How the knobs shape it: supply per pass is seeds·(1+E)·(1+Q·(0.1+0.01·T)),
// capped at the world max(2K,64); a pass selects min(K, supply), so a higher K
// selects more when supply allows. A lane beyond the first joins a pass when
// the turn's draw for it is below a probability that grows with λ and the lane
// bonus, so more lanes and more diversity raise lane_counts' spread. The slot
// budgets decide the slots: each budgeted slot gets the part of the turn's
// slot-relevant items that made the selection, up to its budget.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "context_knobs.h"
#include "portable_random.h"

namespace tpark::sim {

using Json = nlohmann::ordered_json;

struct EventGeneratorOptions {
  uint64_t seed = 1;
  int64_t start_ms = 0;  // the simulated clock's reading at the first event
  double gap_ms = 20.0;  // simulated time between consecutive events
  std::string node;      // the lines' `node`; empty: no node field
};

class EventGenerator {
 public:
  explicit EventGenerator(EventGeneratorOptions options);

  // Knobs for the turns planned from now on.
  void set_knobs(const ContextKnobs& knobs) { knobs_ = knobs; }
  const ContextKnobs& knobs() const { return knobs_; }

  // The next event as one NDJSON line, without the newline.
  std::string next_line();

 private:
  struct Planned {
    std::string kind;
    int64_t time_ms;
    Json payload;
  };
  // The spec one pass runs with (the sanitised spec keys, in their order).
  struct PassSpec {
    std::vector<std::string> lanes;
    int64_t limit = 0;
    int64_t expand_per_seed = 0;
    double diversity_lambda = 0.0;
    double min_score = 0.0;
    std::string project;
    double lane_bonus = 0.0;
    std::string scorer;
    bool expand_query = false;
    int64_t expand_query_top_k = 0;
    std::map<std::string, int64_t> slot_budgets;
  };
  // What the world offers one turn, drawn once so every pass sees the same.
  struct TurnWorld {
    bool hard = false;
    int64_t seeds = 0;
    double quality = 0.0;                       // typical cscore of a seed
    std::map<std::string, double> lane_draw;    // a lane joins when draw < p(λ, b)
    std::map<std::string, int64_t> slot_items;  // slot-relevant items in the world
  };
  struct Pass {
    Json spec;
    Json summary;
    int64_t seeds = 0, expanded = 0, candidates = 0, selected = 0, threshold_hits = 0;
    std::map<std::string, int64_t> lane_counts, slot_counts;
    int64_t retrieve_ms = 0, query_expand_ms = 0, link_expand_ms = 0, select_ms = 0, total_ms = 0;
    bool needs_more = false;
    std::vector<std::string> reasons;
  };
  struct CachedResult {
    int64_t cached_at_ms = 0;
    int64_t latency_ms = 0;
    int64_t payload_bytes = 0;
  };

  // The simulated time plan() gives the next event: the n-th event planned
  // is stamped start + n·gap.
  int64_t upcoming_time_ms() const;
  void plan(std::string kind, Json payload);
  void plan_turn();
  TurnWorld draw_world(const PassSpec& spec);
  Pass run_pass(const PassSpec& spec, const TurnWorld& world);
  Json spec_json(const PassSpec& spec) const;
  // Plans one tool call; returns false when the tool failed (`tool_id` says which).
  bool plan_tool_call(const std::string& corr_id, const std::string& turn_id, std::string& tool_id);
  // A status as routes answer: mostly `ok_status`, about 1% 5xx and 2% 4xx.
  int draw_status(int ok_status);
  void plan_route_sample(const std::string& path, const std::string& method, int status, double ms);
  void plan_memory_note(const std::string& turn_id, const std::string& query);
  void plan_memory_expiry();
  void plan_feedback_signal(const std::string& corr_id, bool needs_more, bool tool_failed,
                            const std::string& failed_tool);
  void plan_feedback_suggested();
  // prefix + 12 random hex digits.
  std::string short_id(const char* prefix);
  std::string agent_id() const;

  EventGeneratorOptions options_;
  PortableRandom random_;
  ContextKnobs knobs_;
  std::deque<Planned> queue_;
  uint64_t planned_events_ = 0;
  uint64_t turns_ = 0;
  uint64_t suggestion_version_ = 0;
  std::map<std::string, CachedResult> cache_;  // tool cache key -> stored result
  std::deque<std::string> memory_ids_;         // ids upserted and not yet expired
  // Reason tallies since the last feedback.suggested, for its rationale.
  uint64_t passes_since_suggestion_ = 0;
  std::map<std::string, uint64_t> reasons_since_suggestion_;
};

}  // namespace tpark::sim
