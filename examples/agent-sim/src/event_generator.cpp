#include "event_generator.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <utility>

#include "sim_time.h"
#include "tpark/context/formulas.h"

namespace tpark::sim {

namespace {

constexpr int64_t kToolCacheTtlMs = 600 * 1000;  // ARW_TOOLS_CACHE_TTL_SECS default
constexpr uint64_t kSuggestionEveryTurns = 40;
constexpr std::size_t kMemoryIdsKept = 400;
constexpr int64_t kArgumentsPerTool = 30;  // distinct calls per tool: repeats hit the cache

struct Tool {
  const char* id;
  double median_ms;
  double sigma;
  double fail_rate;
  bool cacheable;
  double median_payload_bytes;
  double weight;  // how often the planner picks it
};

constexpr std::array<Tool, 6> kTools = {{
    {"http.fetch", 180, 0.6, 0.08, true, 24000, 0.22},
    {"web.search", 420, 0.5, 0.04, true, 9000, 0.18},
    {"fs.read", 6, 0.5, 0.01, true, 4000, 0.20},
    {"memory.search", 22, 0.4, 0.01, true, 3000, 0.20},
    {"code.exec", 900, 0.7, 0.15, false, 2000, 0.10},
    {"docs.summarize", 1500, 0.5, 0.05, true, 6000, 0.10},
}};

struct Route {
  const char* path;
  const char* method;
  double median_ms;
  double sigma;
};

// Runtime routes besides /context/assemble and /actions, sampled now and then.
constexpr std::array<Route, 4> kBackgroundRoutes = {{
    {"/memory/search", "GET", 14, 0.5},
    {"/context/rehydrate", "POST", 38, 0.6},
    {"/state/memory/recent", "GET", 5, 0.4},
    {"/feedback/signal", "POST", 3, 0.4},
}};

const std::vector<std::string> kProjects = {"atlas", "beacon", "cobalt"};
const std::vector<std::string> kPersonas = {"analyst", "builder", "reviewer"};
const std::vector<std::string> kQueries = {
    "summarise last week's incident reports",
    "why did the deploy to eu-west fail",
    "plan the schema migration for orders",
    "draft the release notes for 2.4",
    "which customers hit the rate limiter",
    "explain the cache eviction policy",
    "find the owner of the billing service",
    "compare retrieval scorers on the eval set",
    "list open security findings",
    "reproduce the flaky checkout test",
    "outline the onboarding guide",
    "what changed in the pricing API",
};
const std::vector<std::string> kToolErrors = {"timeout", "upstream_502", "invalid_arguments",
                                              "rate_limited"};

// The share of a selection each lane gets before diversity: the first lane
// dominates, as semantic retrieval does.
double lane_prior(std::size_t position) {
  static constexpr double kPriors[] = {0.55, 0.2, 0.15, 0.1};
  return position < 4 ? kPriors[position] : 0.08;
}

// The chance that each item a slot needs exists for a query: evidence is
// nearly always there, instructions often missing (the recurring gap).
double slot_presence(const std::string& slot) {
  if (slot == "evidence") return 0.97;
  if (slot == "instructions") return 0.75;
  if (slot == "plan") return 0.95;
  if (slot == "policy") return 0.8;
  return 0.9;
}

double clamp(double value, double low, double high) {
  return std::min(std::max(value, low), high);
}

int64_t round_int(double value) {
  return static_cast<int64_t>(std::llround(value));
}

// A positive duration in whole milliseconds.
int64_t duration_ms(PortableRandom& random, double median_ms, double sigma) {
  return std::max<int64_t>(1, round_int(random.log_normal(median_ms, sigma)));
}

// splitmix64: spreads small integers into cache-key-like bits.
uint64_t mix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// Percent of `count` in `total`, in integers.
uint64_t percent(uint64_t count, uint64_t total) {
  return total == 0 ? 0 : count * 100 / total;
}

}  // namespace

EventGenerator::EventGenerator(EventGeneratorOptions options)
    : options_(std::move(options)), random_(options_.seed) {}

int64_t EventGenerator::upcoming_time_ms() const {
  return options_.start_ms + round_int(static_cast<double>(planned_events_) * options_.gap_ms);
}

void EventGenerator::plan(std::string kind, Json payload) {
  queue_.push_back({std::move(kind), upcoming_time_ms(), std::move(payload)});
  ++planned_events_;
}

std::string EventGenerator::next_line() {
  while (queue_.empty()) plan_turn();
  Planned event = std::move(queue_.front());
  queue_.pop_front();
  Json line;
  line["kind"] = std::move(event.kind);
  line["time"] = format_rfc3339_ms(event.time_ms);
  if (!options_.node.empty()) line["node"] = options_.node;
  line["payload"] = std::move(event.payload);
  return line.dump();
}

std::string EventGenerator::short_id(const char* prefix) {
  return prefix + hex64(random_.bits()).substr(0, 12);
}

std::string EventGenerator::agent_id() const {
  return options_.node.empty() ? std::string("agent-sim") : options_.node;
}

Json EventGenerator::spec_json(const PassSpec& spec) const {
  Json budgets = Json::object();
  for (const auto& [slot, budget] : spec.slot_budgets) budgets[slot] = budget;
  return Json{{"lanes", spec.lanes},
              {"limit", spec.limit},
              {"expand_per_seed", spec.expand_per_seed},
              {"diversity_lambda", spec.diversity_lambda},
              {"min_score", spec.min_score},
              {"project", spec.project},
              {"lane_bonus", spec.lane_bonus},
              {"scorer", spec.scorer},
              {"expand_query", spec.expand_query},
              {"expand_query_top_k", spec.expand_query_top_k},
              {"slot_budgets", std::move(budgets)},
              {"query_provided", true}};
}

EventGenerator::TurnWorld EventGenerator::draw_world(const PassSpec& spec) {
  TurnWorld world;
  // About one query in seven is hard: little to find, and what exists scores low.
  world.hard = random_.chance(0.15);
  if (world.hard) {
    world.seeds = std::max<int64_t>(0, round_int(random_.normal(2.5, 1.5)));
    world.quality = clamp(random_.normal(0.12, 0.05), 0.02, 0.97);
  } else {
    world.seeds = std::max<int64_t>(1, round_int(random_.normal(7.0, 2.5)));
    world.quality = clamp(random_.normal(0.55, 0.12), 0.02, 0.97);
  }
  for (std::size_t i = 1; i < spec.lanes.size(); ++i)
    world.lane_draw[spec.lanes[i]] = random_.uniform01();
  // Up to budget + 1 slot-relevant items per slot (one spare).
  for (const auto& [slot, budget] : spec.slot_budgets) {
    if (budget <= 0) continue;
    const double presence = slot_presence(slot) * (world.hard ? 0.6 : 1.0);
    int64_t items = 0;
    for (int64_t i = 0; i <= budget; ++i)
      if (random_.chance(presence)) ++items;
    world.slot_items[slot] = items;
  }
  return world;
}

EventGenerator::Pass EventGenerator::run_pass(const PassSpec& spec, const TurnWorld& world) {
  Pass pass;
  pass.spec = spec_json(spec);

  // Supply: seeds, expanded by E links each and by query expansion, capped at
  // the world size max(2K, 64) (ARW_CONTEXT_WORLD_MAX unset).
  const int64_t world_cap = std::max<int64_t>(2 * spec.limit, 64);
  const double query_growth =
      spec.expand_query ? 0.1 + 0.01 * static_cast<double>(spec.expand_query_top_k) : 0.0;
  const double growth = static_cast<double>(1 + spec.expand_per_seed) * (1.0 + query_growth);
  pass.candidates = std::min<int64_t>(
      world_cap,
      static_cast<int64_t>(std::floor(static_cast<double>(world.seeds) * growth + 1e-9)));
  pass.seeds = std::min(world.seeds, pass.candidates);
  pass.expanded = pass.candidates - pass.seeds;
  pass.selected = std::min(spec.limit, pass.candidates);

  // Scores: seeds around the world's quality, expanded items a fifth lower.
  double avg = 0.0, hi = 0.0, lo = 0.0;
  if (pass.selected > 0) {
    const double q = world.quality;
    const int64_t seeds_selected = std::min(pass.seeds, pass.selected);
    const int64_t expanded_selected = pass.selected - seeds_selected;
    avg = (static_cast<double>(seeds_selected) * q +
           static_cast<double>(expanded_selected) * 0.8 * q) /
              static_cast<double>(pass.selected) +
          random_.normal(0.0, 0.02);
    hi = std::min(0.99, q + 0.1 + random_.uniform(0.0, 0.15));
    lo = std::max(0.0, 0.8 * q - 0.1 - random_.uniform(0.0, 0.1));
    avg = round_to(clamp(avg, lo, hi), 3);
    hi = round_to(hi, 3);
    lo = round_to(lo, 3);
    if (hi < spec.min_score) {
      pass.threshold_hits = 0;
    } else if (lo >= spec.min_score) {
      pass.threshold_hits = pass.selected;
    } else {
      const double above = (hi - spec.min_score) / std::max(hi - lo, 1e-9);
      pass.threshold_hits = std::clamp<int64_t>(
          round_int(static_cast<double>(pass.selected) * above), 1, pass.selected);
    }
  }

  // Lanes: the first always contributes; another joins when the turn's draw
  // for it is under a share that diversity (λ) and the lane bonus raise.
  const double join = clamp(
      (world.hard ? 0.25 : 0.55) + 0.25 * (spec.diversity_lambda - 0.5) + 2.0 * spec.lane_bonus,
      0.05, 0.95);
  std::vector<std::string> joined;
  std::vector<double> weights;
  for (std::size_t i = 0; i < spec.lanes.size(); ++i) {
    pass.lane_counts[spec.lanes[i]] = 0;
    const auto draw = world.lane_draw.find(spec.lanes[i]);
    if (i > 0 && (draw == world.lane_draw.end() || draw->second >= join)) continue;
    joined.push_back(spec.lanes[i]);
    weights.push_back(lane_prior(i));
  }
  if (!joined.empty()) {
    const double n = static_cast<double>(joined.size());
    for (double& w : weights)
      w = (1.0 - spec.diversity_lambda) * w + spec.diversity_lambda / n + spec.lane_bonus;
    for (int64_t item = 0; item < pass.selected; ++item)
      ++pass.lane_counts[joined[random_.weighted(weights)]];
  }

  // Slots: slot-relevant items rank high, so each makes the selection with
  // probability 0.5 + selected/candidates (a larger K helps while candidates
  // are left over); a slot holds at most its budget.
  const double share = pass.candidates > 0
                           ? std::min(1.0, 0.5 + static_cast<double>(pass.selected) /
                                                     static_cast<double>(pass.candidates))
                           : 0.0;
  int64_t unslotted = pass.selected;
  for (const auto& [slot, budget] : spec.slot_budgets) {
    int64_t have = 0;
    if (budget > 0) {
      const auto items = world.slot_items.find(slot);
      const int64_t available = items == world.slot_items.end() ? 0 : items->second;
      int64_t picked = 0;
      for (int64_t i = 0; i < available; ++i)
        if (random_.chance(share)) ++picked;
      have = std::min({budget, picked, unslotted});
      unslotted -= have;
    }
    pass.slot_counts[slot] = have;
  }

  // Timings of the retriever's stages.
  const double candidates = static_cast<double>(pass.candidates);
  pass.retrieve_ms = duration_ms(random_, 8.0 + 0.3 * candidates, 0.3);
  pass.query_expand_ms =
      spec.expand_query
          ? duration_ms(random_, 20.0 + 2.0 * static_cast<double>(spec.expand_query_top_k), 0.4)
          : 0;
  pass.link_expand_ms =
      spec.expand_per_seed > 0
          ? duration_ms(random_, 3.0 + 0.5 * static_cast<double>(pass.expanded), 0.4)
          : 0;
  pass.select_ms = duration_ms(
      random_,
      1.0 + 0.08 * candidates * static_cast<double>(std::max<std::size_t>(joined.size(), 1)), 0.3);
  pass.total_ms = pass.retrieve_ms + pass.query_expand_ms + pass.link_expand_ms + pass.select_ms;

  Json lane_counts = Json::object();
  for (const auto& [lane, count] : pass.lane_counts) lane_counts[lane] = count;
  Json slot_counts = Json::object();
  for (const auto& [slot, count] : pass.slot_counts) slot_counts[slot] = count;
  pass.summary =
      Json{{"target_limit", spec.limit},
           {"lanes_requested", static_cast<int64_t>(spec.lanes.size())},
           {"selected", pass.selected},
           {"total_candidates", pass.candidates},
           {"avg_cscore", avg},
           {"max_cscore", hi},
           {"min_cscore", lo},
           {"threshold_hits", pass.threshold_hits},
           {"min_score", spec.min_score},
           {"lane_counts", std::move(lane_counts)},
           {"slots", {{"counts", std::move(slot_counts)}, {"budgets", pass.spec["slot_budgets"]}}}};

  // The runtime's own verdict decides whether the loop widens; the host
  // derives the same one from the events' summary and spec.
  const auto verdict = tpark::context::coverage_verdict(
      tpark::context::inputs_from_summary(pass.summary, &pass.spec));
  pass.needs_more = verdict.needs_more;
  pass.reasons = verdict.reasons;
  return pass;
}

int EventGenerator::draw_status(int ok_status) {
  static const std::vector<int> kServerErrors = {500, 502, 503};
  static const std::vector<int> kClientErrors = {400, 404, 409, 422};
  const double u = random_.uniform01();
  if (u < 0.01) return random_.pick(kServerErrors);
  if (u < 0.03) return random_.pick(kClientErrors);
  return ok_status;
}

void EventGenerator::plan_route_sample(const std::string& path, const std::string& method,
                                       int status, double ms) {
  plan("http.route.sample",
       Json{{"path", path}, {"method", method}, {"status", status}, {"ms", round_to(ms, 1)}});
}

void EventGenerator::plan_turn() {
  ++turns_;
  const ContextKnobs& knobs = knobs_;
  const std::string project = random_.pick(kProjects);
  const std::string query = random_.pick(kQueries);
  const std::string persona = random_.pick(kPersonas);
  const std::string corr_id = short_id("ctx-");
  const std::string turn_id = "turn-" + std::to_string(turns_);

  const int assemble_status = draw_status(200);
  if (assemble_status != 200) {
    // The request failed before assembling anything.
    plan_route_sample("/context/assemble", "POST", assemble_status,
                      random_.log_normal(assemble_status >= 500 ? 60.0 : 2.0, 0.5));
    return;
  }

  PassSpec spec;
  spec.lanes = knobs.lanes;
  spec.limit = knobs.k;
  spec.expand_per_seed = knobs.expand_per_seed;
  spec.diversity_lambda = knobs.diversity_lambda;
  spec.min_score = knobs.min_score;
  spec.project = project;
  spec.lane_bonus = knobs.lane_bonus;
  spec.scorer = knobs.scorer;
  spec.expand_query = knobs.expand_query;
  spec.expand_query_top_k = knobs.expand_query_top_k;
  spec.slot_budgets = effective_slot_budgets(knobs);
  const TurnWorld world = draw_world(spec);

  // The coverage loop: a pass that needs more is widened and run again, up to
  // ARW_CONTEXT_COVERAGE_MAX_ITERS passes; runtimes widen on most but not all
  // such passes (a caller may accept a thin context).
  std::vector<Pass> passes;
  for (int64_t iteration = 0;; ++iteration) {
    Pass pass = run_pass(spec, world);
    ++passes_since_suggestion_;
    for (const std::string& reason : pass.reasons) ++reasons_since_suggestion_[reason];
    const bool widen =
        pass.needs_more && iteration + 1 < knobs.coverage_max_iters && random_.chance(0.6);
    PassSpec next = spec;
    if (widen) {
      next.limit = std::min<int64_t>(256, spec.limit + std::max<int64_t>(2, (spec.limit + 3) / 4));
      next.expand_per_seed = std::min<int64_t>(16, spec.expand_per_seed + 1);
    }

    Json summary_event{{"iteration", iteration},
                       {"corr_id", corr_id},
                       {"project", project},
                       {"query", query},
                       {"duration_ms", pass.total_ms},
                       {"needs_more", pass.needs_more},
                       {"coverage", {{"needs_more", pass.needs_more}, {"reasons", pass.reasons}}},
                       {"summary", pass.summary},
                       {"spec", pass.spec}};
    if (widen) summary_event["next_spec"] = spec_json(next);
    plan("working_set.iteration.summary", std::move(summary_event));

    const Json verdict_inputs{
        {"corr_id", corr_id}, {"iteration", iteration},       {"project", project},
        {"query", query},     {"duration_ms", pass.total_ms}, {"summary", pass.summary},
        {"spec", pass.spec}};
    plan("context.coverage", verdict_inputs);
    plan("context.recall.risk", verdict_inputs);

    passes.push_back(std::move(pass));
    if (!widen) break;
    spec = std::move(next);
  }

  const Pass& last = passes.back();
  const int64_t iterations = static_cast<int64_t>(passes.size());
  int64_t retrieve = 0, query_expand = 0, link_expand = 0, select = 0, total = 0;
  for (const Pass& pass : passes) {
    retrieve += pass.retrieve_ms;
    query_expand += pass.query_expand_ms;
    link_expand += pass.link_expand_ms;
    select += pass.select_ms;
    total += pass.total_ms;
  }
  Json lanes = Json::object();
  for (const auto& [lane, count] : last.lane_counts) lanes[lane] = count;
  const Json counts{{"selected", last.selected},
                    {"seeds", last.seeds},
                    {"expanded", last.expanded},
                    {"candidates", last.candidates}};
  plan("working_set.completed", Json{{"iteration", iterations - 1},
                                     {"corr_id", corr_id},
                                     {"project", project},
                                     {"query", query},
                                     {"summary", last.summary},
                                     {"diagnostics",
                                      {{"counts", counts},
                                       {"lanes", std::move(lanes)},
                                       {"slots", last.summary["slots"]},
                                       {"timings_ms",
                                        {{"retrieve", retrieve},
                                         {"query_expand", query_expand},
                                         {"link_expand", link_expand},
                                         {"select", select},
                                         {"total", total}}},
                                       {"params", last.spec},
                                       {"scorer", last.spec["scorer"]},
                                       {"had_candidates_above_threshold", last.threshold_hits > 0},
                                       {"generated_at", format_rfc3339_ms(upcoming_time_ms())}}}});

  std::string preview = std::to_string(last.selected) + " items for \"" + query + "\":";
  for (const auto& [lane, count] : last.lane_counts)
    if (count > 0) preview += " " + lane + " " + std::to_string(count);
  plan("context.assembled",
       Json{{"query", query},
            {"project", project},
            {"persona", persona},
            {"lanes", last.spec["lanes"]},
            {"limit", last.spec["limit"]},
            {"expand_per_seed", last.spec["expand_per_seed"]},
            {"diversity_lambda", last.spec["diversity_lambda"]},
            {"min_score", last.spec["min_score"]},
            {"scorer", last.spec["scorer"]},
            {"expand_query", last.spec["expand_query"]},
            {"expand_query_top_k", last.spec["expand_query_top_k"]},
            {"max_iterations", knobs.coverage_max_iters},
            {"context_preview", preview},
            {"working_set",
             {{"counts", counts},
              {"summary", last.summary},
              {"coverage", {{"needs_more", last.needs_more}, {"reasons", last.reasons}}},
              {"final_spec", last.spec},
              {"iterations", iterations}}}});
  plan_route_sample("/context/assemble", "POST", 200,
                    static_cast<double>(total) + random_.log_normal(3.0, 0.4));

  // Tool calls the turn's plan makes.
  static const std::array<double, 4> kToolCallWeights = {0.3, 0.35, 0.2, 0.15};
  const std::size_t tool_calls = random_.weighted(kToolCallWeights);
  bool tool_failed = false;
  std::string failed_tool;
  for (std::size_t i = 0; i < tool_calls; ++i) {
    std::string tool_id;
    if (!plan_tool_call(corr_id, turn_id, tool_id) && !tool_failed) {
      tool_failed = true;
      failed_tool = tool_id;
    }
  }

  const int64_t background_samples = random_.between(0, 2);
  for (int64_t i = 0; i < background_samples; ++i) {
    const Route& route = kBackgroundRoutes[random_.below(kBackgroundRoutes.size())];
    const int status = draw_status(200);
    plan_route_sample(route.path, route.method, status,
                      random_.log_normal(route.median_ms, route.sigma));
  }
  if (random_.chance(0.45)) plan_memory_note(turn_id, query);
  if (random_.chance(0.12)) plan_memory_expiry();
  if (random_.chance(0.3)) plan_feedback_signal(corr_id, last.needs_more, tool_failed, failed_tool);
  if (turns_ % kSuggestionEveryTurns == 0) plan_feedback_suggested();
}

bool EventGenerator::plan_tool_call(const std::string& corr_id, const std::string& turn_id,
                                    std::string& tool_id) {
  std::array<double, kTools.size()> weights{};
  for (std::size_t i = 0; i < kTools.size(); ++i) weights[i] = kTools[i].weight;
  const std::size_t tool_index = random_.weighted(weights);
  const Tool& tool = kTools[tool_index];
  tool_id = tool.id;

  // The runtime submits the call through POST /actions first.
  const int submit_status = draw_status(202);
  plan_route_sample("/actions", "POST", submit_status, random_.log_normal(2.5, 0.5));
  if (submit_status != 202) return true;

  const std::string invocation_id = short_id("inv-");
  const int64_t call_ms = upcoming_time_ms();
  plan("modular.tool.accepted", Json{{"invocation_id", invocation_id},
                                     {"tool_id", tool_id},
                                     {"agent_id", agent_id()},
                                     {"requested_by", "planner"},
                                     {"corr_id", corr_id},
                                     {"turn_id", turn_id}});

  const uint64_t argument = random_.below(kArgumentsPerTool);
  const std::string key = "tc-" + hex64(mix64(tool_index * 1000 + argument));
  const int64_t run_ms = duration_ms(random_, tool.median_ms, tool.sigma);
  int64_t payload_bytes = duration_ms(random_, tool.median_payload_bytes, 0.8);

  Json cache{{"tool", tool_id}, {"key", key}};
  bool served_from_cache = false;
  bool ran = true;
  auto entry = cache_.find(key);
  if (entry != cache_.end() && call_ms - entry->second.cached_at_ms >= kToolCacheTtlMs) {
    cache_.erase(entry);
    entry = cache_.end();
  }
  if (!tool.cacheable) {
    cache["outcome"] = "not_cacheable";
    cache["reason"] = "side_effects";
  } else if (random_.chance(0.01)) {
    cache["outcome"] = "error";
    cache["error"] = "store_unavailable";
  } else if (random_.chance(0.02)) {
    payload_bytes = 4194304 + random_.between(1, 2000000);
    cache["outcome"] = "not_cacheable";
    cache["reason"] = "payload_too_large";
    cache["payload_bytes"] = payload_bytes;
  } else if (entry != cache_.end()) {
    served_from_cache = true;
    ran = false;
    // A concurrent identical call waits on the first one's result now and then.
    cache["outcome"] = random_.chance(0.12) ? "coalesced" : "hit";
    cache["elapsed_ms"] = random_.between(0, 2);
    cache["latency_saved_ms"] = entry->second.latency_ms;
    cache["payload_bytes"] = entry->second.payload_bytes;
    cache["age_secs"] = (call_ms - entry->second.cached_at_ms) / 1000;
  } else {
    cache["outcome"] = "miss";
  }

  const bool failed = ran && random_.chance(tool.fail_rate);
  if (ran) cache["elapsed_ms"] = run_ms;
  if (cache["outcome"] == "miss") {
    cache["cached"] = !failed;
    cache["payload_bytes"] = payload_bytes;
    if (!failed) cache_[key] = {call_ms, run_ms, payload_bytes};
  }
  if (served_from_cache) plan("tool.cache", cache);

  Json action{{"id", short_id("act-")},
              {"kind", "tool.run"},
              {"tool_id", tool_id},
              {"invocation_id", invocation_id},
              {"corr_id", corr_id},
              {"status", failed ? "failed" : "completed"},
              {"elapsed_ms", ran ? run_ms : cache["elapsed_ms"].get<int64_t>()}};
  if (failed) action["error"] = random_.pick(kToolErrors);
  plan(failed ? "actions.failed" : "actions.completed", std::move(action));
  if (!served_from_cache) plan("tool.cache", std::move(cache));

  // Most runtimes keep a memory record of each invocation.
  if (random_.chance(0.5)) {
    const std::string id = "mem-" + invocation_id.substr(4);
    memory_ids_.push_back(id);
    if (memory_ids_.size() > kMemoryIdsKept) memory_ids_.pop_front();
    const int64_t elapsed = ran ? run_ms : 1;
    plan("memory.item.upserted",
         Json{{"id", id},
              {"lane", "episodic"},
              {"value",
               {{"turn_id", turn_id},
                {"agent_id", agent_id()},
                {"intent", "tool_result"},
                {"payload_kind", "tool_invocation"},
                {"invocation_id", invocation_id},
                {"tool_id", tool_id},
                {"requested_by", "planner"},
                {"confidence", round_to(random_.uniform(0.6, 0.99), 3)},
                {"created_ms", upcoming_time_ms()},
                {"payload_summary",
                 tool_id + (failed ? " failed" : " ok") + " in " + std::to_string(elapsed) + " ms"},
                {"lifecycle", {{"stage", "accepted"}, {"validation_gate", "passed"}}},
                {"result", {{"status", failed ? "failed" : "ok"}}}}}});
  }
  return !failed;
}

void EventGenerator::plan_memory_note(const std::string& turn_id, const std::string& query) {
  std::string id;
  if (!memory_ids_.empty() && random_.chance(0.1)) {
    id = memory_ids_[random_.below(memory_ids_.size())];  // an update of a known item
  } else {
    id = short_id("mem-");
    memory_ids_.push_back(id);
    if (memory_ids_.size() > kMemoryIdsKept) memory_ids_.pop_front();
  }
  const std::string lane = knobs_.lanes.empty() ? "semantic" : random_.pick(knobs_.lanes);
  const double confidence = round_to(random_.uniform(0.4, 0.99), 3);
  Json value;
  if (random_.chance(0.35)) {
    static const std::vector<std::string> kKinds = {"summary", "plan", "observation"};
    static const std::vector<std::string> kStages = {"accepted", "pending_human_review", "blocked"};
    static const std::array<double, 3> kStageWeights = {0.8, 0.15, 0.05};
    const std::string& stage = kStages[random_.weighted(kStageWeights)];
    value =
        Json{{"turn_id", turn_id},
             {"agent_id", agent_id()},
             {"intent", "remember"},
             {"payload_kind", random_.pick(kKinds)},
             {"confidence", confidence},
             {"created_ms", upcoming_time_ms()},
             {"payload_summary", "notes on: " + query},
             {"lifecycle",
              {{"stage", stage}, {"validation_gate", stage == "accepted" ? "passed" : "review"}}}};
  } else {
    value = Json{
        {"text", "notes on: " + query}, {"source", "conversation"}, {"confidence", confidence}};
  }
  plan("memory.item.upserted", Json{{"id", id}, {"lane", lane}, {"value", std::move(value)}});
}

void EventGenerator::plan_memory_expiry() {
  if (memory_ids_.empty()) return;
  const auto at =
      memory_ids_.begin() + static_cast<std::ptrdiff_t>(random_.below(memory_ids_.size()));
  const std::string id = *at;
  memory_ids_.erase(at);
  plan("memory.item.expired", Json{{"id", id}, {"reason", "ttl"}});
}

void EventGenerator::plan_feedback_signal(const std::string& corr_id, bool needs_more,
                                          bool tool_failed, const std::string& failed_tool) {
  std::string kind, target;
  int64_t severity = 1;
  if (tool_failed) {
    kind = "tool_failure";
    target = failed_tool;
    severity = random_.between(3, 4);
  } else if (needs_more) {
    kind = "coverage";
    target = "/context/assemble";
    severity = random_.between(2, 3);
  } else {
    kind = "latency";
    target = kBackgroundRoutes[random_.below(kBackgroundRoutes.size())].path;
    severity = random_.between(1, 2);
  }
  plan("feedback.signal", Json{{"id", short_id("fs-")},
                               {"ts", format_rfc3339_ms(upcoming_time_ms())},
                               {"kind", kind},
                               {"target", target},
                               {"confidence", round_to(random_.uniform(0.5, 0.99), 3)},
                               {"severity", severity},
                               {"corr_id", corr_id}});
}

void EventGenerator::plan_feedback_suggested() {
  ++suggestion_version_;
  const uint64_t passes = passes_since_suggestion_;
  auto share = [&](std::initializer_list<const char*> reasons) {
    uint64_t count = 0;
    for (const char* reason : reasons) {
      const auto it = reasons_since_suggestion_.find(reason);
      if (it != reasons_since_suggestion_.end()) count += it->second;
    }
    return percent(count, passes);
  };
  Json suggestions = Json::array();
  auto suggest = [&](const std::string& action, uint64_t confidence_percent,
                     const std::string& rationale, Json params) {
    suggestions.push_back(Json{{"id", "sg-" + std::to_string(suggestion_version_) + "-" +
                                          std::to_string(suggestions.size() + 1)},
                               {"action", action},
                               {"confidence", static_cast<double>(confidence_percent) / 100.0},
                               {"rationale", rationale},
                               {"params", std::move(params)}});
  };
  if (const uint64_t p = share({"below_target_limit", "no_items_selected"}); p >= 20)
    suggest(
        "context.set", std::min<uint64_t>(95, 50 + p / 2),
        "below_target_limit in " + std::to_string(p) + "% of passes",
        Json{{"ARW_CONTEXT_EXPAND_PER_SEED", std::min<int64_t>(16, knobs_.expand_per_seed + 1)}});
  std::string worst_slot;
  uint64_t worst_count = 0;
  for (const auto& [reason, count] : reasons_since_suggestion_)
    if (reason.rfind("slot_underfilled:", 0) == 0 && count > worst_count) {
      worst_slot = reason.substr(17);
      worst_count = count;
    }
  if (const uint64_t p = percent(worst_count, passes); p >= 20)
    suggest("context.set", std::min<uint64_t>(95, 40 + p / 2),
            "slot " + worst_slot + " under-filled in " + std::to_string(p) + "% of passes",
            Json{{"ARW_CONTEXT_K", std::min<int64_t>(256, knobs_.k + 2)}});
  if (const uint64_t p = share({"low_lane_diversity"}); p >= 20)
    suggest("context.set", std::min<uint64_t>(95, 40 + p / 2),
            "low_lane_diversity in " + std::to_string(p) + "% of passes",
            Json{{"ARW_CONTEXT_DIVERSITY_LAMBDA",
                  round_to(std::min(1.0, knobs_.diversity_lambda + 0.04), 3)}});
  suggest("governor.hint", 50, "keep the balanced profile", Json{{"mode", "balanced"}});
  plan("feedback.suggested",
       Json{{"version", suggestion_version_}, {"suggestions", std::move(suggestions)}});
  passes_since_suggestion_ = 0;
  reasons_since_suggestion_.clear();
}

}  // namespace tpark::sim
