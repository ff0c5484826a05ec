#include "context_knobs.h"

#include <cmath>
#include <optional>
#include <sstream>

namespace tpark::sim {

namespace {

using nlohmann::json;

const json* value_of(const json& env, const char* key) {
  auto it = env.find(key);
  if (it == env.end() || !it->is_object()) return nullptr;
  auto value = it->find("value");
  if (value == it->end() || value->is_null()) return nullptr;
  return &*value;
}

std::optional<int64_t> integer_in(const json* value, int64_t low, int64_t high) {
  if (!value || !value->is_number()) return std::nullopt;
  const double d = value->get<double>();
  if (!std::isfinite(d) || d != std::floor(d) || d < static_cast<double>(low) ||
      d > static_cast<double>(high))
    return std::nullopt;
  return static_cast<int64_t>(d);
}

std::optional<double> fraction_in(const json* value, double low, double high) {
  if (!value || !value->is_number()) return std::nullopt;
  const double d = value->get<double>();
  if (!std::isfinite(d) || d < low || d > high) return std::nullopt;
  return d;
}

std::optional<bool> boolean(const json* value) {
  if (!value) return std::nullopt;
  if (value->is_boolean()) return value->get<bool>();
  if (value->is_number()) return value->get<double>() != 0.0;
  return std::nullopt;
}

std::vector<std::string> split_csv(const std::string& text) {
  std::vector<std::string> out;
  std::string item;
  std::istringstream in(text);
  while (std::getline(in, item, ',')) {
    const auto first = item.find_first_not_of(' ');
    const auto last = item.find_last_not_of(' ');
    if (first != std::string::npos) out.push_back(item.substr(first, last - first + 1));
  }
  return out;
}

// A CSV string or an array of strings (the JSON body carries typed values).
std::optional<std::vector<std::string>> lane_list(const json* value) {
  if (!value) return std::nullopt;
  std::vector<std::string> lanes;
  if (value->is_string()) {
    lanes = split_csv(value->get<std::string>());
  } else if (value->is_array()) {
    for (const auto& lane : *value)
      if (lane.is_string()) lanes.push_back(lane.get<std::string>());
  }
  if (lanes.empty() || lanes.size() > 8) return std::nullopt;
  return lanes;
}

// An object of slot -> int, or the "k=v,k=v" / JSON-text forms.
std::optional<std::map<std::string, int64_t>> budget_map(const json* value) {
  if (!value) return std::nullopt;
  json object;
  if (value->is_object()) {
    object = *value;
  } else if (value->is_string()) {
    const std::string text = value->get<std::string>();
    object = json::parse(text, nullptr, false);
    if (!object.is_object()) {
      object = json::object();
      for (const std::string& pair : split_csv(text)) {
        const auto eq = pair.find('=');
        if (eq == std::string::npos) return std::nullopt;
        try {
          object[pair.substr(0, eq)] = std::stoll(pair.substr(eq + 1));
        } catch (const std::exception&) {
          return std::nullopt;
        }
      }
    }
  } else {
    return std::nullopt;
  }
  std::map<std::string, int64_t> budgets;
  for (const auto& [slot, budget] : object.items()) {
    const auto b = integer_in(&budget, 0, 256);
    if (!b || slot.empty()) return std::nullopt;
    budgets[slot] = *b;
  }
  return budgets;
}

}  // namespace

const std::map<std::string, int64_t>& template_slot_budgets() {
  static const std::map<std::string, int64_t> budgets = {
      {"evidence", 4}, {"instructions", 2}, {"plan", 1}, {"policy", 1}};
  return budgets;
}

std::map<std::string, int64_t> effective_slot_budgets(const ContextKnobs& knobs) {
  if (knobs.slot_budgets.empty()) return template_slot_budgets();
  std::map<std::string, int64_t> budgets;
  const auto wildcard = knobs.slot_budgets.find("*");
  if (wildcard != knobs.slot_budgets.end())
    for (const auto& [slot, unused] : template_slot_budgets()) budgets[slot] = wildcard->second;
  for (const auto& [slot, budget] : knobs.slot_budgets)
    if (slot != "*") budgets[slot] = budget;
  return budgets;
}

bool knobs_from_config(const json& body, ContextKnobs& knobs, std::string& error) {
  const json* root = &body;
  if (body.is_object() && body.contains("data") && body.value("ok", false)) root = &body["data"];
  if (!root->is_object() || !root->contains("env") || !(*root)["env"].is_object()) {
    error = "the body has no env object";
    return false;
  }
  const json& env = (*root)["env"];
  ContextKnobs out;  // built-in defaults for anything unset
  if (auto v = integer_in(value_of(env, "ARW_CONTEXT_K"), 1, 256)) out.k = *v;
  if (auto v = integer_in(value_of(env, "ARW_CONTEXT_EXPAND_PER_SEED"), 0, 16))
    out.expand_per_seed = *v;
  if (auto v = fraction_in(value_of(env, "ARW_CONTEXT_DIVERSITY_LAMBDA"), 0, 1))
    out.diversity_lambda = *v;
  if (auto v = fraction_in(value_of(env, "ARW_CONTEXT_MIN_SCORE"), 0, 1)) out.min_score = *v;
  if (auto v = fraction_in(value_of(env, "ARW_CONTEXT_LANE_BONUS"), 0, 1)) out.lane_bonus = *v;
  if (auto v = lane_list(value_of(env, "ARW_CONTEXT_LANES_DEFAULT"))) out.lanes = *v;
  if (auto v = budget_map(value_of(env, "ARW_CONTEXT_SLOT_BUDGETS"))) out.slot_budgets = *v;
  if (auto v = boolean(value_of(env, "ARW_CONTEXT_EXPAND_QUERY"))) out.expand_query = *v;
  if (auto v = integer_in(value_of(env, "ARW_CONTEXT_EXPAND_QUERY_TOP_K"), 1, 32))
    out.expand_query_top_k = *v;
  if (auto v = integer_in(value_of(env, "ARW_CONTEXT_COVERAGE_MAX_ITERS"), 1, 6))
    out.coverage_max_iters = *v;
  if (const json* v = value_of(env, "ARW_CONTEXT_SCORER");
      v && v->is_string() && (*v == "mmrd" || *v == "confidence"))
    out.scorer = v->get<std::string>();
  knobs = std::move(out);
  return true;
}

std::string describe(const ContextKnobs& knobs) {
  std::ostringstream out;
  out << "K=" << knobs.k << " E=" << knobs.expand_per_seed << " lambda=" << knobs.diversity_lambda
      << " m=" << knobs.min_score << " b=" << knobs.lane_bonus << " lanes=";
  for (std::size_t i = 0; i < knobs.lanes.size(); ++i) out << (i ? "," : "") << knobs.lanes[i];
  out << " Q=" << (knobs.expand_query ? 1 : 0) << " T=" << knobs.expand_query_top_k
      << " iters=" << knobs.coverage_max_iters << " slots=";
  bool first = true;
  for (const auto& [slot, budget] : effective_slot_budgets(knobs)) {
    out << (first ? "" : ",") << slot << ":" << budget;
    first = false;
  }
  return out.str();
}

}  // namespace tpark::sim
