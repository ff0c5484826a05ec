#include "config/governor.h"

#include <algorithm>
#include <cctype>
#include <cmath>

#include "config/yaml_support.h"

namespace tpark::control {

namespace {

enum class HintType { Int, Float, Enum, Bool, String };

struct HintSpec {
  const char* key;
  HintType type;
  double min;
  double max;  // ints/floats: the range; strings: max chars
  std::vector<std::string> choices;
};

const std::vector<HintSpec>& hint_specs() {
  static const std::vector<HintSpec> specs = {
      {"max_concurrency", HintType::Int, 1, 4096, {}},
      {"event_buffer", HintType::Int, 16, 1048576, {}},
      {"http_timeout_secs", HintType::Int, 1, 600, {}},
      {"slo_ms", HintType::Int, 10, 600000, {}},
      {"mode", HintType::Enum, 0, 0, {"quick", "balanced", "deep", "verified"}},
      {"retrieval_k", HintType::Int, 1, 256, {}},
      {"vote_k", HintType::Int, 1, 32, {}},
      {"retrieval_div", HintType::Float, 0, 1, {}},
      {"mmr_lambda", HintType::Float, 0, 1, {}},
      {"compression_aggr", HintType::Float, 0, 1, {}},
      {"context_budget_tokens", HintType::Int, 64, 2097152, {}},
      {"context_item_budget_tokens", HintType::Int, 16, 1048576, {}},
      {"context_format", HintType::Enum, 0, 0, {"text", "markdown", "json", "jsonl", "custom"}},
      {"include_provenance", HintType::Bool, 0, 0, {}},
      {"context_item_template", HintType::String, 0, 4096, {}},
      {"context_header", HintType::String, 0, 4096, {}},
      {"context_footer", HintType::String, 0, 4096, {}},
      {"joiner", HintType::String, 0, 64, {}},
  };
  return specs;
}

const HintSpec* find_hint(std::string_view key) {
  for (const auto& spec : hint_specs())
    if (key == spec.key) return &spec;
  return nullptr;
}

size_t utf8_chars(const std::string& text) {
  size_t n = 0;
  for (unsigned char c : text)
    if ((c & 0xC0) != 0x80) ++n;
  return n;
}

// The typed value, or an error message.
std::optional<std::string> check_hint(const HintSpec& spec, const Json& value, Json* typed) {
  const std::string range = "[" + format_number(spec.min) + "," + format_number(spec.max) + "]";
  switch (spec.type) {
    case HintType::Int: {
      if (!value.is_number()) return "expected int in " + range;
      double d = value.get<double>();
      if (!std::isfinite(d) || std::floor(d) != d) return "expected int in " + range;
      if (d < spec.min || d > spec.max) return "expected int in " + range + ", got " + value.dump();
      *typed = static_cast<int64_t>(d);
      return std::nullopt;
    }
    case HintType::Float: {
      if (!value.is_number()) return "expected float in " + range;
      double d = value.get<double>();
      if (!std::isfinite(d) || d < spec.min || d > spec.max)
        return "expected float in " + range + ", got " + value.dump();
      *typed = d;
      return std::nullopt;
    }
    case HintType::Enum: {
      std::string list;
      for (const auto& c : spec.choices) list += (list.empty() ? "" : ", ") + c;
      if (value.is_string() &&
          std::find(spec.choices.begin(), spec.choices.end(), value.get<std::string>()) !=
              spec.choices.end()) {
        *typed = value;
        return std::nullopt;
      }
      return "expected one of " + list;
    }
    case HintType::Bool:
      if (!value.is_boolean()) return "expected bool";
      *typed = value;
      return std::nullopt;
    case HintType::String:
      if (!value.is_string()) return "expected string";
      if (utf8_chars(value.get<std::string>()) > static_cast<size_t>(spec.max))
        return "expected at most " + format_number(spec.max) + " characters";
      *typed = value;
      return std::nullopt;
  }
  return "invalid";
}

}  // namespace

const std::vector<std::string>& hint_keys() {
  static const std::vector<std::string> keys = [] {
    std::vector<std::string> out;
    for (const auto& spec : hint_specs()) out.emplace_back(spec.key);
    return out;
  }();
  return keys;
}

bool is_hint_key(std::string_view key) { return find_hint(key) != nullptr; }

bool is_numeric_hint(std::string_view key) {
  const HintSpec* spec = find_hint(key);
  return spec && (spec->type == HintType::Int || spec->type == HintType::Float);
}

std::optional<std::string> normalize_profile(std::string_view name) {
  std::string n(name);
  for (char& c : n) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (n == "balance" || n == "balanced") return std::string("balance");
  if (n == "performance" || n == "perf") return std::string("performance");
  if (n == "power-saver" || n == "power_saver" || n == "powersaver" || n == "eco")
    return std::string("power-saver");
  return std::nullopt;
}

HintsCheck validate_hints(const Json& hints, const Json& current, std::string_view field_prefix) {
  HintsCheck check;
  const std::string prefix(field_prefix);
  if (!hints.is_object()) {
    std::string field = prefix.empty() ? "" : prefix.substr(0, prefix.size() - 1);
    check.errors.push_back({field, "expected an object of hints"});
    return check;
  }
  Json typed_changes = Json::object();
  for (auto it = hints.begin(); it != hints.end(); ++it) {
    const HintSpec* spec = find_hint(it.key());
    if (!spec) {
      check.ignored.push_back(it.key());
      continue;
    }
    if (it.value().is_null()) {
      typed_changes[it.key()] = nullptr;
      continue;
    }
    Json typed;
    if (auto error = check_hint(*spec, it.value(), &typed))
      check.errors.push_back({prefix + it.key(), *error});
    else
      typed_changes[it.key()] = typed;
  }
  // Cross-key rules on the merged result, reported on the key being set.
  Json merged = merge_hints(current.is_object() ? current : Json::object(), typed_changes);
  auto has_error = [&](const std::string& key) {
    return std::any_of(check.errors.begin(), check.errors.end(),
                       [&](const InputError& e) { return e.field == prefix + key; });
  };
  if (merged.contains("context_item_budget_tokens") && merged.contains("context_budget_tokens") &&
      merged["context_item_budget_tokens"].get<int64_t>() >
          merged["context_budget_tokens"].get<int64_t>()) {
    std::string key = typed_changes.contains("context_item_budget_tokens")
                          ? "context_item_budget_tokens"
                          : "context_budget_tokens";
    if (!has_error(key) && hints.contains(key))
      check.errors.push_back(
          {prefix + key, "context_item_budget_tokens must be <= context_budget_tokens (" +
                             merged["context_budget_tokens"].dump() + ")"});
  }
  if (merged.contains("context_format") && merged["context_format"] == "custom" &&
      !merged.contains("context_item_template")) {
    std::string key = typed_changes.contains("context_format") ? "context_format"
                                                               : "context_item_template";
    if (!has_error(key) && hints.contains(key))
      check.errors.push_back({prefix + key, "context_format custom requires context_item_template"});
  }
  return check;
}

Json typed_hints(const Json& hints) {
  Json out = Json::object();
  for (auto it = hints.begin(); it != hints.end(); ++it) {
    const HintSpec* spec = find_hint(it.key());
    if (spec && it.value().is_number() && spec->type == HintType::Int)
      out[it.key()] = static_cast<int64_t>(it.value().get<double>());
    else if (spec && it.value().is_number() && spec->type == HintType::Float)
      out[it.key()] = it.value().get<double>();
    else
      out[it.key()] = it.value();
  }
  return out;
}

Json merge_hints(const Json& current, const Json& changes) {
  Json out = Json::object();
  for (const auto& key : hint_keys()) {
    if (changes.contains(key)) {
      if (!changes[key].is_null()) out[key] = changes[key];
    } else if (current.contains(key) && !current[key].is_null()) {
      out[key] = current[key];
    }
  }
  return out;
}

Json full_hints(const Json& set_hints) {
  Json out = Json::object();
  for (const auto& key : hint_keys()) {
    auto it = set_hints.find(key);
    out[key] = it != set_hints.end() ? *it : Json(nullptr);
  }
  return out;
}

std::vector<std::string> hint_jumps(const Json& current, const Json& changes) {
  std::vector<std::string> out;
  for (const auto& key : hint_keys()) {
    if (!is_numeric_hint(key) || !changes.contains(key)) continue;
    const Json& next = changes[key];
    auto it = current.find(key);
    if (next.is_null() || it == current.end() || it->is_null() || !next.is_number()) continue;
    double c = it->get<double>();
    double n = next.get<double>();
    bool jump = c == 0 ? n != 0 : (n > 2 * c || n < 0.5 * c);
    if (jump) out.push_back(key);
  }
  return out;
}

}  // namespace tpark::control
