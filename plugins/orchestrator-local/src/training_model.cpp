#include "training_model.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <stdexcept>

#include <tpark/context/formulas.h>

namespace tpark::training_model {
namespace {

constexpr double kTau = 0.2;
constexpr double kEpsilon = 1e-9;
constexpr const char* kSummaryKind = "working_set.iteration.summary";
constexpr const char* kCoverageKind = "context.coverage";
constexpr const char* kNote =
    "no context telemetry in window; suggestion derived from request knobs only";

// Env key names (control.md 5.5 exact reading 1).
constexpr const char* kKeyK = "ARW_CONTEXT_K";
constexpr const char* kKeyE = "ARW_CONTEXT_EXPAND_PER_SEED";
constexpr const char* kKeyQ = "ARW_CONTEXT_EXPAND_QUERY";
constexpr const char* kKeyT = "ARW_CONTEXT_EXPAND_QUERY_TOP_K";
constexpr const char* kKeyLambda = "ARW_CONTEXT_DIVERSITY_LAMBDA";
constexpr const char* kKeyM = "ARW_CONTEXT_MIN_SCORE";
constexpr const char* kKeyB = "ARW_CONTEXT_LANE_BONUS";
constexpr const char* kKeyLanes = "ARW_CONTEXT_LANES_DEFAULT";

bool equal(double a, double b) {
  return std::fabs(a - b) <= kEpsilon;
}

// A JSON number (not a bool), truncated toward zero, below 0 read as 0.
std::optional<int64_t> count_of(const json& value) {
  if (!value.is_number()) return std::nullopt;
  const double d = value.get<double>();
  if (!std::isfinite(d)) return std::nullopt;
  const double t = std::trunc(d);
  if (t <= 0) return 0;
  if (t >= 9.2e18) return INT64_MAX;
  return static_cast<int64_t>(t);
}
std::optional<double> number_of(const json& value) {
  if (!value.is_number()) return std::nullopt;
  const double d = value.get<double>();
  if (!std::isfinite(d)) return std::nullopt;
  return d;
}
const json* member(const json& object, const char* key) {
  if (!object.is_object()) return nullptr;
  auto it = object.find(key);
  return it == object.end() || it->is_null() ? nullptr : &*it;
}
std::map<std::string, int64_t> count_map(const json* object) {
  std::map<std::string, int64_t> out;
  if (object == nullptr || !object->is_object()) return out;
  for (auto it = object->begin(); it != object->end(); ++it)
    if (auto n = count_of(it.value())) out[it.key()] = *n;
  return out;
}

bool valid_lane(const std::string& lane) {
  if (lane.empty() || lane.size() > 32 || lane[0] < 'a' || lane[0] > 'z') return false;
  for (char c : lane)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
  return true;
}

std::vector<std::string> lanes_from(const json& value) {
  std::vector<std::string> lanes;
  if (value.is_string()) {
    const std::string text = value.get<std::string>();
    size_t start = 0;
    while (start <= text.size()) {
      size_t end = text.find(',', start);
      if (end == std::string::npos) end = text.size();
      std::string lane = text.substr(start, end - start);
      lane.erase(0, lane.find_first_not_of(' '));
      if (auto last = lane.find_last_not_of(' '); last != std::string::npos) lane.resize(last + 1);
      if (!lane.empty()) lanes.push_back(lane);
      start = end + 1;
    }
  } else if (value.is_array()) {
    for (const auto& lane : value)
      if (lane.is_string()) lanes.push_back(lane.get<std::string>());
  }
  return lanes;
}

std::string lanes_csv(const std::vector<std::string>& lanes) {
  std::string out;
  for (const auto& lane : lanes) out += (out.empty() ? "" : ",") + lane;
  return out;
}

// The pass of a payload (exact reading 2): nullopt = a first pass.
bool is_first_pass(const json& payload, json* pass_key) {
  const json* pass = member(payload, "iteration");
  if (pass == nullptr) pass = member(payload, "index");
  if (pass == nullptr) {
    *pass_key = 0;
    return true;
  }
  if (pass->is_number() && !pass->is_boolean() && pass->get<double>() == 0.0) {
    *pass_key = 0;
    return true;
  }
  return false;
}

std::string corr_of(const json& payload) {
  const json* corr = member(payload, "corr_id");
  return corr != nullptr && corr->is_string() ? corr->get<std::string>() : std::string();
}

int64_t clamp_int(int64_t v, int64_t lo, int64_t hi) {
  return std::min(hi, std::max(lo, v));
}
double clamp_double(double v, double lo, double hi) {
  return std::min(hi, std::max(lo, v));
}

// a(m) of step 2.
double eligibility(double hi, double lo, double m) {
  if (hi < m && !equal(hi, m)) return 0.0;
  if (equal(hi, lo) || m <= lo + kEpsilon) return 1.0;
  return (hi - m) / (hi - lo);
}

}  // namespace

double round_to(double value, int decimals) {
  const double scale = std::pow(10.0, decimals);
  return std::round(value * scale) / scale;  // std::round is half away from zero
}

Knobs knobs_from_base(const json& base) {
  Knobs k;
  const json* env = member(base, "env");
  if (env == nullptr) return k;
  auto get = [&](const char* key) { return member(*env, key); };
  if (auto* v = get(kKeyK); v && v->is_number()) k.k = v->get<int64_t>();
  if (auto* v = get(kKeyE); v && v->is_number()) k.expand_per_seed = v->get<int64_t>();
  if (auto* v = get(kKeyQ); v && v->is_boolean()) k.expand_query = v->get<bool>();
  if (auto* v = get(kKeyT); v && v->is_number()) k.top_k = v->get<int64_t>();
  if (auto* v = get(kKeyLambda); v && v->is_number()) k.lambda = v->get<double>();
  if (auto* v = get(kKeyM); v && v->is_number()) k.min_score = v->get<double>();
  if (auto* v = get(kKeyB); v && v->is_number()) k.lane_bonus = v->get<double>();
  if (auto* v = get(kKeyLanes)) {
    auto lanes = lanes_from(*v);
    if (!lanes.empty()) k.lanes = std::move(lanes);
  }
  return k;
}

JobInput parse_job_input(const std::string& request_json) {
  const json doc = json::parse(request_json, nullptr, false);
  if (doc.is_discarded() || !doc.is_object())
    throw std::invalid_argument("request_json is not a JSON object");
  JobInput job;
  job.job_id = doc.value("job_id", "");
  job.goal = doc.value("goal", "");
  job.created = doc.value("created", "");
  job.mode = doc.value("mode", "balanced");
  if (const json* request = member(doc, "request"); request && request->is_object())
    job.request = *request;
  if (const json* base = member(doc, "base")) job.base = knobs_from_base(*base);
  if (const json* window = member(doc, "window")) {
    job.since_id = window->value("since_id", int64_t{0});
    job.until_id = window->value("until_id", int64_t{0});
  }
  return job;
}

size_t sample_cap(const std::string& mode, const json& request) {
  if (const json* episodes = member(request, "episodes"); episodes && episodes->is_number())
    return static_cast<size_t>(episodes->get<int64_t>());
  if (mode == "quick") return 100;
  if (mode == "deep") return 2000;
  return 500;
}

namespace {

json parse_payload(const Row& row) {
  json value = json::parse(row.payload_text, nullptr, false);
  return value.is_discarded() ? json::object() : value;
}

// The project filter (counted nowhere) comes right after the kind filter.
bool in_project(const json& payload, const std::optional<std::string>& project) {
  if (!project) return true;
  const json* p = member(payload, "project");
  return p != nullptr && p->is_string() && p->get<std::string>() == *project;
}

// The payload's top-level members pairing reads (project, pass, corr_id);
// the others (summary, spec) are read past but not built, which makes a
// whole-window pairing scan far cheaper than parsing every payload.
json pairing_members(const Row& row) {
  json value = json::parse(
      row.payload_text,
      [](int depth, json::parse_event_t event, json& parsed) {
        if (event != json::parse_event_t::key || depth != 1) return true;
        const auto& key = parsed.get_ref<const std::string&>();
        return key == "project" || key == "iteration" || key == "index" || key == "corr_id";
      },
      false);
  return value.is_discarded() ? json::object() : value;
}

}  // namespace

void Pairing::add(const Row& row, const std::optional<std::string>& project) {
  if (row.kind != kSummaryKind) return;
  const json payload = pairing_members(row);
  json pass;
  if (!in_project(payload, project) || !is_first_pass(payload, &pass)) return;
  summaries_exist = true;
  const std::string corr = corr_of(payload);
  if (!corr.empty()) summary_keys.insert(corr);
}

Collector::Collector(std::optional<std::string> project, size_t cap, Knobs base,
                     std::function<Pairing()> pairing)
    : project_(std::move(project)),
      cap_(cap),
      base_(std::move(base)),
      pairing_source_(std::move(pairing)) {}

bool Collector::add(const Row& row) {
  if (full()) return false;
  if (row.kind != kSummaryKind && row.kind != kCoverageKind) return true;
  const json payload = parse_payload(row);
  if (!in_project(payload, project_)) return true;
  json pass;
  if (!is_first_pass(payload, &pass)) {
    ++out_.followups;
    return true;
  }
  if (row.kind == kCoverageKind) {
    // Pairing is decided over the whole window (exact reading 3); asked for
    // only once a coverage event needs it.
    if (!pairing_) pairing_ = pairing_source_();
    const std::string corr = corr_of(payload);
    if (corr.empty()) {
      if (pairing_->summaries_exist) {
        ++out_.duplicates;
        return true;
      }
    } else if (pairing_->summary_keys.count(corr)) {
      return true;  // its summary is the sample
    }
  }
  const json* summary = member(payload, "summary");
  const json* limit = summary && summary->is_object() ? member(*summary, "target_limit") : nullptr;
  const json* selected = summary && summary->is_object() ? member(*summary, "selected") : nullptr;
  if (limit == nullptr || selected == nullptr || !limit->is_number() || !selected->is_number() ||
      limit->is_boolean() || selected->is_boolean() || std::trunc(limit->get<double>()) <= 0 ||
      std::trunc(selected->get<double>()) < 0) {
    ++out_.invalid;
    return true;
  }
  const json* spec = member(payload, "spec");
  if (spec != nullptr && !spec->is_object()) spec = nullptr;
  auto spec_value = [&](const char* key) { return spec ? member(*spec, key) : nullptr; };
  const Knobs& base = base_;

  Sample s;
  s.id = row.id;
  s.payload_text = row.payload_text;
  s.target_limit = *count_of(*limit);
  s.selected = *count_of(*selected);
  s.total_candidates = s.selected;
  if (auto v = count_of(summary->value("total_candidates", json()))) s.total_candidates = *v;
  s.lane_counts = count_map(member(*summary, "lane_counts"));
  const json* slots = member(*summary, "slots");
  s.slot_counts = count_map(slots ? member(*slots, "counts") : nullptr);
  const json* budgets = spec_value("slot_budgets");
  if (budgets == nullptr || !budgets->is_object())
    budgets = slots ? member(*slots, "budgets") : nullptr;
  for (const auto& [slot, budget] : count_map(budgets))
    if (budget > 0) s.budgets[slot] = budget;
  s.avg_cscore = number_of(summary->value("avg_cscore", json())).value_or(0.0);
  s.max_cscore = number_of(summary->value("max_cscore", json())).value_or(0.0);
  s.min_cscore = number_of(summary->value("min_cscore", json())).value_or(0.0);
  if (auto v = count_of(summary->value("lanes_requested", json())))
    s.lanes_requested = *v;
  else if (const json* lanes = spec_value("lanes"); lanes && lanes->is_array())
    s.lanes_requested = static_cast<int64_t>(lanes->size());
  else
    s.lanes_requested = static_cast<int64_t>(base.lanes.size());
  if (auto v = number_of(summary->value("min_score", json())))
    s.min_score = *v;
  else if (const json* v2 = spec_value("min_score"); v2 && number_of(*v2))
    s.min_score = *number_of(*v2);
  const json* e = spec_value("expand_per_seed");
  s.expand_per_seed = e && number_of(*e) ? static_cast<int64_t>(std::trunc(e->get<double>()))
                                         : base.expand_per_seed;
  const json* q = spec_value("expand_query");
  s.expand_query = q && q->is_boolean() ? q->get<bool>() : base.expand_query;
  const json* t = spec_value("expand_query_top_k");
  s.top_k = t && number_of(*t) ? static_cast<int64_t>(std::trunc(t->get<double>())) : base.top_k;
  const json* l = spec_value("diversity_lambda");
  s.lambda = l && number_of(*l) ? *number_of(*l) : base.lambda;
  const json* b = spec_value("lane_bonus");
  s.lane_bonus = b && number_of(*b) ? *number_of(*b) : base.lane_bonus;
  out_.samples.push_back(std::move(s));
  return !full();
}

Collected Collector::finish() && {
  std::sort(out_.samples.begin(), out_.samples.end(),
            [](const Sample& a, const Sample& b) { return a.id < b.id; });
  return std::move(out_);
}

Collected collect(const std::vector<Row>& input, const std::optional<std::string>& project,
                  size_t cap, const Knobs& base) {
  std::vector<const Row*> rows;
  for (const auto& row : input)
    if (row.kind == kSummaryKind || row.kind == kCoverageKind) rows.push_back(&row);
  std::sort(rows.begin(), rows.end(), [](const Row* a, const Row* b) { return a->id > b->id; });
  Collector collector(project, cap, base, [&] {
    Pairing pairing;
    for (const Row* row : rows) pairing.add(*row, project);
    return pairing;
  });
  for (const Row* row : rows)
    if (!collector.add(*row)) break;
  return std::move(collector).finish();
}

Prediction predict(const Sample& s, const Knobs& base, const Knobs& cand) {
  // Exact reading 7: d = cand - base first, then clamp to the key's range;
  // a key the candidate does not change keeps its recorded value.
  const int64_t L0 = s.target_limit;
  const int64_t L1 = cand.k != base.k ? clamp_int(L0 + (cand.k - base.k), 1, 256) : L0;
  const int64_t E0 = s.expand_per_seed;
  const int64_t E1 = cand.expand_per_seed != base.expand_per_seed
                         ? clamp_int(E0 + (cand.expand_per_seed - base.expand_per_seed), 0, 16)
                         : E0;
  const bool Q0 = s.expand_query;
  const bool Q1 = cand.expand_query != base.expand_query ? cand.expand_query : Q0;
  const int64_t T0 = s.top_k;
  const int64_t T1 =
      cand.top_k != base.top_k ? clamp_int(T0 + (cand.top_k - base.top_k), 1, 32) : T0;
  const double lambda0 = s.lambda;
  const double lambda1 = !equal(cand.lambda, base.lambda)
                             ? clamp_double(lambda0 + (cand.lambda - base.lambda), 0, 1)
                             : lambda0;
  const double b0 = s.lane_bonus;
  const double b1 = !equal(cand.lane_bonus, base.lane_bonus)
                        ? clamp_double(b0 + (cand.lane_bonus - base.lane_bonus), 0, 1)
                        : b0;
  const double m0 = s.min_score;
  const double m1 = !equal(cand.min_score, base.min_score)
                        ? clamp_double(m0 + (cand.min_score - base.min_score), 0, 1)
                        : m0;
  std::vector<std::string> added, removed;
  for (const auto& lane : cand.lanes)
    if (std::find(base.lanes.begin(), base.lanes.end(), lane) == base.lanes.end())
      added.push_back(lane);
  for (const auto& lane : base.lanes)
    if (std::find(cand.lanes.begin(), cand.lanes.end(), lane) == cand.lanes.end())
      removed.push_back(lane);
  const int64_t lanes1 =
      std::max<int64_t>(1, s.lanes_requested + static_cast<int64_t>(added.size()) -
                               static_cast<int64_t>(removed.size()));

  const int64_t s0 = std::min(s.selected, L0);
  const int64_t P0 = std::max(s.total_candidates, s0);
  const double hi = s.max_cscore, lo = s.min_cscore, avg0 = s.avg_cscore;

  // 1 Supply growth.
  auto world = [](int64_t L) { return static_cast<double>(std::max<int64_t>(2 * L, 64)); };
  const double w = static_cast<double>(P0) >= 0.9 * world(L0) ? world(L1) / world(L0) : 1.0;
  const double g = w * (1.0 + E1) / (1.0 + E0) * (1.0 + (Q1 ? 1.0 : 0.0) * (0.1 + 0.01 * T1)) /
                   (1.0 + (Q0 ? 1.0 : 0.0) * (0.1 + 0.01 * T0));
  // 2 Eligibility.
  const double a0 = eligibility(hi, lo, m0), a1 = eligibility(hi, lo, m1);
  const double r = equal(a1, a0) ? 1.0 : clamp_double(a1 / std::max(a0, 0.05), 0.5, 2.0);
  // 3 Selected.
  const double pool = s0 == L0 ? std::max(static_cast<double>(s0), P0 * a0) * g * r : s0 * g * r;
  const int64_t s1 = std::min(L1, static_cast<int64_t>(std::floor(pool + 1e-9)));
  // 4 Scores.
  double avg1 = avg0, lo1 = lo;
  if (s1 > s0) {
    const double x = clamp_double(lo - (avg0 - lo) / 2.0, 0.0, 1.0);
    avg1 = (s0 * avg0 + (s1 - s0) * x) / static_cast<double>(s1);
    lo1 = std::min(lo, x);
  }
  (void)lo1;  // max_cscore stays hi; min_cscore does not enter the formulas
  int64_t threshold_hits = 0;
  if (s1 > 0 && !(hi < m1 && !equal(hi, m1)))
    threshold_hits = std::max<int64_t>(1, static_cast<int64_t>(std::floor(s1 * a1)));
  // 5 Lanes.
  int64_t n = 0;
  for (const auto& [lane, count] : s.lane_counts)
    if (count > 0 && std::find(removed.begin(), removed.end(), lane) == removed.end()) ++n;
  n += std::min<int64_t>(static_cast<int64_t>(added.size()), std::max<int64_t>(0, s1 - s0));
  if ((lambda1 - lambda0 >= 0.03 - kEpsilon || b1 - b0 >= 0.015 - kEpsilon) && n < lanes1) ++n;
  if (lambda1 - lambda0 <= -0.03 + kEpsilon && n > 1) --n;
  n = std::min({n, lanes1, s1});
  if (s1 > 0) n = std::max<int64_t>(n, 1);
  // 6 Slots.
  std::map<std::string, int64_t> have;
  for (const auto& [slot, budget] : s.budgets) {
    auto it = s.slot_counts.find(slot);
    have[slot] = it != s.slot_counts.end() ? it->second : 0;
  }
  if (s1 < s0) {
    for (auto& [slot, h] : have) h = std::min(h, s1);
  } else {
    for (int64_t item = 0; item < (s1 - s0) / 2; ++item) {
      std::string best;
      int64_t best_need = 0;
      for (const auto& [slot, budget] : s.budgets) {
        const int64_t need = std::min(budget, std::max<int64_t>(s1, 1)) - have[slot];
        if (need > best_need) {
          best_need = need;
          best = slot;
        }
      }
      if (best_need <= 0) break;
      ++have[best];
    }
  }
  // 7 Re-score with the telemetry formulas.
  context::CoverageInputs inputs;
  inputs.target_limit = L1;
  inputs.lanes_requested = lanes1;
  inputs.selected = s1;
  inputs.avg_cscore = avg1;
  inputs.max_cscore = hi;
  inputs.threshold_hits = threshold_hits;
  inputs.min_score = m1;
  inputs.lanes_present = n;
  for (const auto& [slot, budget] : s.budgets) inputs.slots.push_back({slot, budget, have[slot]});
  const auto verdict = context::coverage_verdict(inputs);
  const auto risk = context::recall_risk(inputs, verdict.needs_more);
  Prediction p;
  p.score = risk.score;
  p.at_risk = risk.at_risk;
  p.needs_more = verdict.needs_more;
  p.reasons = verdict.reasons;
  p.coverage_shortfall = risk.coverage_shortfall;
  p.lane_gap = risk.lane_gap;
  p.quality_gap = risk.quality_gap;
  p.slot_gap = risk.slot_gap;
  p.selected = s1;
  return p;
}

namespace {

Aggregate aggregate(const std::vector<Sample>& samples, const Knobs& base, const Knobs& cand,
                    std::vector<Prediction>* keep = nullptr) {
  Aggregate a;
  if (samples.empty()) return a;
  double slot_sum = 0;
  int64_t slot_samples = 0;
  for (const auto& sample : samples) {
    Prediction p = predict(sample, base, cand);
    a.mean_recall_risk += p.score;
    a.at_risk_ratio += p.at_risk ? 1 : 0;
    a.needs_more_ratio += p.needs_more ? 1 : 0;
    a.coverage_shortfall += p.coverage_shortfall;
    a.lane_gap += p.lane_gap;
    a.quality_gap += p.quality_gap;
    if (p.slot_gap) {
      slot_sum += *p.slot_gap;
      ++slot_samples;
    }
    for (const auto& reason : p.reasons) a.reason_freq[reason] += 1;
    if (keep) keep->push_back(std::move(p));
  }
  const double count = static_cast<double>(samples.size());
  a.mean_recall_risk /= count;
  a.at_risk_ratio /= count;
  a.needs_more_ratio /= count;
  a.coverage_shortfall /= count;
  a.lane_gap /= count;
  a.quality_gap /= count;
  if (slot_samples > 0) a.slot_gap = slot_sum / static_cast<double>(slot_samples);
  for (auto& [reason, share] : a.reason_freq) share /= count;
  return a;
}

double freq(const Aggregate& a, const std::vector<std::string>& any_of,
            const std::vector<Prediction>& baseline) {
  if (baseline.empty()) return 0;
  double hits = 0;
  for (const auto& p : baseline) {
    bool hit = false;
    for (const auto& reason : p.reasons)
      hit = hit || std::find(any_of.begin(), any_of.end(), reason) != any_of.end();
    hits += hit ? 1 : 0;
  }
  (void)a;
  return hits / static_cast<double>(baseline.size());
}

int64_t ceil_div(int64_t a, int64_t b) {
  return (a + b - 1) / b;
}

bool same_knobs(const Knobs& a, const Knobs& b) {
  return a.k == b.k && a.expand_per_seed == b.expand_per_seed && a.expand_query == b.expand_query &&
         a.top_k == b.top_k && equal(a.lambda, b.lambda) && equal(a.min_score, b.min_score) &&
         equal(a.lane_bonus, b.lane_bonus) && a.lanes == b.lanes;
}

// The env keys whose value differs from base, typed (exact reading 12).
json changes_of(const Knobs& c, const Knobs& base) {
  json out = json::object();
  if (c.k != base.k) out[kKeyK] = c.k;
  if (c.expand_per_seed != base.expand_per_seed) out[kKeyE] = c.expand_per_seed;
  if (c.expand_query != base.expand_query) out[kKeyQ] = c.expand_query;
  if (c.top_k != base.top_k) out[kKeyT] = c.top_k;
  if (!equal(c.lambda, base.lambda)) out[kKeyLambda] = c.lambda;
  if (!equal(c.min_score, base.min_score)) out[kKeyM] = c.min_score;
  if (!equal(c.lane_bonus, base.lane_bonus)) out[kKeyB] = c.lane_bonus;
  if (c.lanes != base.lanes) out[kKeyLanes] = lanes_csv(c.lanes);
  return out;
}

json base_of_changes(const json& changes, const Knobs& base) {
  json out = json::object();
  for (auto it = changes.begin(); it != changes.end(); ++it) {
    const std::string& key = it.key();
    if (key == kKeyK) out[key] = base.k;
    if (key == kKeyE) out[key] = base.expand_per_seed;
    if (key == kKeyQ) out[key] = base.expand_query;
    if (key == kKeyT) out[key] = base.top_k;
    if (key == kKeyLambda) out[key] = base.lambda;
    if (key == kKeyM) out[key] = base.min_score;
    if (key == kKeyB) out[key] = base.lane_bonus;
    if (key == kKeyLanes) out[key] = lanes_csv(base.lanes);
  }
  return out;
}

// Σ|cand − base|/range; a bool change counts 1, lanes 1 per lane added or removed.
double distance(const Knobs& c, const Knobs& base) {
  double d = std::fabs(static_cast<double>(c.k - base.k)) / 255.0 +
             std::fabs(static_cast<double>(c.expand_per_seed - base.expand_per_seed)) / 16.0 +
             (c.expand_query != base.expand_query ? 1.0 : 0.0) +
             std::fabs(static_cast<double>(c.top_k - base.top_k)) / 31.0 +
             std::fabs(c.lambda - base.lambda) + std::fabs(c.min_score - base.min_score) +
             std::fabs(c.lane_bonus - base.lane_bonus);
  for (const auto& lane : c.lanes)
    if (std::find(base.lanes.begin(), base.lanes.end(), lane) == base.lanes.end()) d += 1;
  for (const auto& lane : base.lanes)
    if (std::find(c.lanes.begin(), c.lanes.end(), lane) == c.lanes.end()) d += 1;
  return d;
}

std::optional<double> diversity_of(const json& request) {
  const json* d = member(request, "diversity");
  return d && d->is_number() ? std::optional<double>(d->get<double>()) : std::nullopt;
}

json aggregate_json(const Aggregate& a) {
  json reason_freq = json::object();
  for (const auto& [reason, share] : a.reason_freq) reason_freq[reason] = round_to(share, 6);
  return {{"mean_recall_risk", round_to(a.mean_recall_risk, 6)},
          {"at_risk_ratio", round_to(a.at_risk_ratio, 6)},
          {"needs_more_ratio", round_to(a.needs_more_ratio, 6)},
          {"mean_components",
           {{"coverage_shortfall", round_to(a.coverage_shortfall, 6)},
            {"lane_gap", round_to(a.lane_gap, 6)},
            {"slot_gap", a.slot_gap ? json(round_to(*a.slot_gap, 6)) : json(nullptr)},
            {"quality_gap", round_to(a.quality_gap, 6)}}},
          {"reason_freq", reason_freq}};
}

std::string metric_text(double value) {
  return json(round_to(value, 6)).dump();
}

}  // namespace

Computation compute(const std::vector<Sample>& samples, const JobInput& job) {
  Computation out;
  const Knobs& base = job.base;
  const auto diversity = diversity_of(job.request);
  if (samples.empty()) {
    out.winner = base;
    if (diversity) {
      out.winner.lambda = round_to(0.5 + 0.5 * *diversity, 3);
      out.winner_id = "div";
    }
    return out;
  }
  out.evidence = true;
  std::vector<Prediction> baseline_predictions;
  const Aggregate baseline = aggregate(samples, base, base, &baseline_predictions);
  out.baseline = baseline;
  auto f = [&](std::vector<std::string> reasons) {
    return freq(baseline, reasons, baseline_predictions);
  };

  // 3 Generate.
  struct Rule {
    std::string id;
    bool triggered = false;
    Knobs knobs;
  };
  std::vector<Rule> rules;
  const bool coverage_low = f({std::string(context::kReasonBelowTargetLimit),
                               std::string(context::kReasonNoItemsSelected)}) >= kTau - kEpsilon;
  {
    Rule cov{"cov", coverage_low, base};
    cov.knobs.k = std::min<int64_t>(256, base.k + std::max<int64_t>(2, ceil_div(base.k, 4)));
    cov.knobs.expand_per_seed = std::min<int64_t>(16, base.expand_per_seed + 1);
    rules.push_back(cov);
    Rule supply{"supply", coverage_low, base};
    supply.knobs.expand_per_seed = std::min<int64_t>(16, base.expand_per_seed + 1);
    supply.knobs.expand_query = true;
    supply.knobs.top_k = std::min<int64_t>(32, base.top_k + 2);
    rules.push_back(supply);
  }
  {
    // Slots with f(slot_underfilled:X) >= τ and their mean deficits.
    std::set<std::string> slots;
    for (const auto& sample : samples)
      for (const auto& [slot, budget] : sample.budgets) slots.insert(slot);
    int64_t added_k = 0;
    bool any = false;
    for (const auto& slot : slots) {
      if (f({std::string(context::kReasonSlotUnderfilledPrefix) + slot}) < kTau - kEpsilon)
        continue;
      any = true;
      double deficit = 0;
      for (const auto& sample : samples) {
        auto b = sample.budgets.find(slot);
        const int64_t budget = b != sample.budgets.end() ? b->second : 0;
        auto h = sample.slot_counts.find(slot);
        const int64_t have = h != sample.slot_counts.end() ? h->second : 0;
        const int64_t s0 = std::min(sample.selected, sample.target_limit);
        deficit += static_cast<double>(
            std::max<int64_t>(0, std::min(budget, std::max<int64_t>(s0, 1)) - have));
      }
      deficit /= static_cast<double>(samples.size());
      added_k += static_cast<int64_t>(std::ceil(deficit - kEpsilon));
    }
    Rule slot{"slot", any, base};
    slot.knobs.k = std::min<int64_t>(256, base.k + std::max<int64_t>(1, added_k));
    slot.knobs.expand_query = true;
    slot.knobs.top_k = std::min<int64_t>(32, base.top_k + 2);
    rules.push_back(slot);
  }
  {
    Rule lane{"lane", f({std::string(context::kReasonLowLaneDiversity)}) >= kTau - kEpsilon, base};
    lane.knobs.lambda = round_to(std::min(1.0, base.lambda + 0.04), 3);
    lane.knobs.lane_bonus = round_to(std::min(1.0, base.lane_bonus + 0.02), 3);
    if (base.lanes.size() < 4) {
      std::map<std::string, int64_t> seen;
      for (const auto& sample : samples)
        for (const auto& [name, count] : sample.lane_counts)
          if (count > 0) ++seen[name];
      std::string best;
      int64_t best_count = 0;
      for (const auto& [name, count] : seen) {  // name order: ties go to the first
        if (!valid_lane(name) ||
            std::find(base.lanes.begin(), base.lanes.end(), name) != base.lanes.end())
          continue;
        if (count > best_count) {
          best_count = count;
          best = name;
        }
      }
      if (!best.empty()) lane.knobs.lanes.push_back(best);
    }
    rules.push_back(lane);
  }
  {
    Rule quality{"quality",
                 f({std::string(context::kReasonWeakAverageScore),
                    std::string(context::kReasonNoItemsAboveThreshold)}) >= kTau - kEpsilon,
                 base};
    quality.knobs.min_score = round_to(std::max(0.01, 0.85 * base.min_score), 3);
    rules.push_back(quality);
  }
  {
    Rule div{"div", false, base};
    if (diversity) {
      const double target = 0.5 + 0.5 * *diversity;
      div.triggered = std::fabs(target - base.lambda) >= 0.01 - kEpsilon;
      div.knobs.lambda = round_to(target, 3);
    }
    rules.push_back(div);
  }
  {
    Rule cov_plus{"cov+", coverage_low && job.mode == "deep", base};
    cov_plus.knobs.k = std::min<int64_t>(256, base.k + std::max<int64_t>(4, ceil_div(base.k, 2)));
    cov_plus.knobs.expand_per_seed = std::min<int64_t>(16, base.expand_per_seed + 2);
    cov_plus.knobs.expand_query = true;
    rules.push_back(cov_plus);
  }
  std::vector<const Rule*> triggered;
  for (const auto& rule : rules)
    if (rule.triggered) triggered.push_back(&rule);

  // The candidate list of the mode, then duplicates dropped by value.
  std::vector<Candidate> list;
  list.push_back(Candidate{"c0", {}, base, {}});
  if (job.mode == "quick") {
    if (!triggered.empty())
      list.push_back(
          Candidate{triggered.front()->id, {triggered.front()->id}, triggered.front()->knobs, {}});
  } else {
    for (const Rule* rule : triggered)
      if (rule->id != "cov+" || job.mode == "deep")
        list.push_back(Candidate{rule->id, {rule->id}, rule->knobs, {}});
  }
  if (triggered.size() >= 2) {
    Candidate combined{"combined", {}, base, {}};
    bool first_m = true;
    for (const Rule* rule : triggered) {
      combined.rules.push_back(rule->id);
      const Knobs& k = rule->knobs;
      combined.knobs.k = std::max(combined.knobs.k, k.k);
      combined.knobs.expand_per_seed = std::max(combined.knobs.expand_per_seed, k.expand_per_seed);
      combined.knobs.expand_query = combined.knobs.expand_query || k.expand_query;
      combined.knobs.top_k = std::max(combined.knobs.top_k, k.top_k);
      if (!equal(k.lambda, base.lambda))
        combined.knobs.lambda = equal(combined.knobs.lambda, base.lambda)
                                    ? k.lambda
                                    : std::max(combined.knobs.lambda, k.lambda);
      if (!equal(k.lane_bonus, base.lane_bonus))
        combined.knobs.lane_bonus = std::max(combined.knobs.lane_bonus, k.lane_bonus);
      if (!equal(k.min_score, base.min_score)) {
        combined.knobs.min_score =
            first_m ? k.min_score : std::min(combined.knobs.min_score, k.min_score);
        first_m = false;
      }
      for (const auto& lane : k.lanes)
        if (std::find(combined.knobs.lanes.begin(), combined.knobs.lanes.end(), lane) ==
            combined.knobs.lanes.end())
          combined.knobs.lanes.push_back(lane);
    }
    list.push_back(std::move(combined));
  }
  for (auto& candidate : list) {
    bool duplicate = false;
    for (const auto& kept : out.candidates)
      duplicate = duplicate || same_knobs(kept.knobs, candidate.knobs);
    if (duplicate) continue;
    candidate.aggregate = aggregate(samples, base, candidate.knobs);
    out.candidates.push_back(std::move(candidate));
  }

  // 5 Suggest: the winner.
  const double c0_risk = out.candidates.front().aggregate.mean_recall_risk;
  std::vector<const Candidate*> competing;
  for (const auto& candidate : out.candidates)
    if (job.mode != "verified" || candidate.id == "c0" ||
        c0_risk - candidate.aggregate.mean_recall_risk >= 0.02 - kEpsilon)
      competing.push_back(&candidate);
  double lowest = competing.front()->aggregate.mean_recall_risk;
  for (const Candidate* c : competing) lowest = std::min(lowest, c->aggregate.mean_recall_risk);
  const Candidate* winner = nullptr;
  for (const Candidate* c : competing) {
    if (c->aggregate.mean_recall_risk - lowest > 1e-6) continue;
    if (winner == nullptr) {
      winner = c;
      continue;
    }
    const size_t keys_c = changes_of(c->knobs, base).size(),
                 keys_w = changes_of(winner->knobs, base).size();
    if (keys_c != keys_w) {
      if (keys_c < keys_w) winner = c;
      continue;
    }
    const double dc = distance(c->knobs, base), dw = distance(winner->knobs, base);
    if (dc < dw - kEpsilon) winner = c;  // else the earlier in rule order stays
  }
  out.winner_id = winner->id;
  out.winner = winner->knobs;
  out.predicted = winner->aggregate;
  return out;
}

Suggestion suggest(const JobInput& job, const Collected& collected, const Computation& c,
                   const std::optional<std::string>& cached_from) {
  const Knobs& base = job.base;
  const json changes = changes_of(c.winner, base);
  // H: the request's knobs as governor hints.
  json hints = json::object();
  hints["mode"] = job.mode;
  if (const json* v = member(job.request, "diversity")) hints["retrieval_div"] = *v;
  if (const json* v = member(job.request, "recency")) hints["mmr_lambda"] = *v;
  if (const json* v = member(job.request, "compression")) hints["compression_aggr"] = *v;
  if (const json* v = member(job.request, "budget_tokens")) hints["context_budget_tokens"] = *v;

  json patches = json::array();
  if (!changes.empty()) patches.push_back({{"target", "env"}, {"op", "merge"}, {"value", changes}});
  patches.push_back({{"target", "governor.hints"}, {"op", "merge"}, {"value", hints}});

  json knobs = json::object();
  for (const char* key :
       {"preset", "mode", "diversity", "recency", "compression", "budget_tokens", "episodes"})
    if (const json* v = member(job.request, key)) knobs[key] = *v;
  knobs["mode"] = job.mode;

  json candidates = json::array();
  for (const auto& candidate : c.candidates)
    candidates.push_back({{"id", candidate.id},
                          {"rules", candidate.rules},
                          {"changes", changes_of(candidate.knobs, base)},
                          {"mean_recall_risk", round_to(candidate.aggregate.mean_recall_risk, 6)},
                          {"at_risk_ratio", round_to(candidate.aggregate.at_risk_ratio, 6)},
                          {"needs_more_ratio", round_to(candidate.aggregate.needs_more_ratio, 6)}});
  const json baseline = c.baseline ? aggregate_json(*c.baseline) : json(nullptr);
  const json predicted = c.predicted ? aggregate_json(*c.predicted) : json(nullptr);
  const auto& samples = collected.samples;
  const json first_id = samples.empty() ? json(nullptr) : json(samples.front().id);
  const json last_id = samples.empty() ? json(nullptr) : json(samples.back().id);

  json provenance = {{"generator", "tpark.training/1"},
                     {"job_id", job.job_id},
                     {"goal", job.goal},
                     {"created", job.created},
                     {"mode", job.mode},
                     {"knobs", knobs},
                     {"base", base_of_changes(changes, base)},
                     {"window",
                      {{"since_id", job.since_id},
                       {"until_id", job.until_id},
                       {"first_event_id", first_id},
                       {"last_event_id", last_id},
                       {"samples", samples.size()},
                       {"skipped",
                        {{"followups", collected.followups},
                         {"invalid", collected.invalid},
                         {"duplicates", collected.duplicates}}},
                       {"truncated", 0}}},
                     {"evidence", c.evidence ? "journal" : "none"},
                     {"candidate_id", c.winner_id},
                     {"candidates", candidates},
                     {"baseline", baseline},
                     {"predicted", predicted}};
  if (const json* v = member(job.request, "persona_id")) provenance["persona_id"] = *v;
  if (const json* v = member(job.request, "project")) provenance["project"] = *v;
  if (!c.evidence) provenance["note"] = kNote;
  if (cached_from) provenance["cached_from"] = *cached_from;

  const std::string goal_head = job.goal.substr(0, 60);  // bytes; goals are trimmed UTF-8
  json manifest = {
      {"id", "lu-" + job.job_id},
      {"name", "Training suggestion: " + goal_head},
      {"version", "1.0.0"},
      {"category", "retrieval"},
      {"kind", "config"},
      {"patches", patches},
      {"metrics",
       {{"expected_effect",
         c.evidence && c.baseline && c.predicted
             ? json("mean recall risk " + metric_text(c.baseline->mean_recall_risk) + " \u2192 " +
                    metric_text(c.predicted->mean_recall_risk) + " (predicted)")
             : json(nullptr)}}},
      {"provenance", provenance}};
  json result = {
      {"candidate_id", c.winner_id},
      {"baseline", baseline},
      {"predicted", predicted},
      {"changes", changes},
      {"evidence_window",
       {{"samples", samples.size()}, {"first_event_id", first_id}, {"last_event_id", last_id}}}};
  return {std::move(manifest), std::move(result)};
}

std::string cache_key(const JobInput& job, const Collected& collected) {
  json knobs = json::object();
  for (const char* name :
       {"preset", "diversity", "recency", "compression", "budget_tokens", "episodes"})
    if (const json* v = member(job.request, name)) knobs[name] = *v;
  json key = {{"mode", job.mode},
              {"knobs", knobs},
              {"base",
               {{"k", job.base.k},
                {"e", job.base.expand_per_seed},
                {"q", job.base.expand_query},
                {"t", job.base.top_k},
                {"lambda", job.base.lambda},
                {"m", job.base.min_score},
                {"b", job.base.lane_bonus},
                {"lanes", job.base.lanes}}}};
  std::string text = key.dump();
  for (const auto& sample : collected.samples) {
    text += '\n';
    text += std::to_string(sample.id);
    text += ' ';
    text += sample.payload_text;
  }
  text += "\nskipped " + std::to_string(collected.followups) + " " +
          std::to_string(collected.invalid) + " " + std::to_string(collected.duplicates);
  return text;
}

}  // namespace tpark::training_model
