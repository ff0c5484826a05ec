#include "training/start_request.h"

#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdlib>

namespace tpark::training {
namespace {

constexpr const char* kKnobs[] = {"preset",      "mode",          "diversity", "recency",
                                  "compression", "budget_tokens", "episodes"};

std::string trim(const std::string& text) {
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return {};
  const auto last = text.find_last_not_of(" \t\r\n");
  return text.substr(first, last - first + 1);
}

// A number in [0,1], or a string that parses entirely as one.
std::optional<double> unit_fraction(const Json& value) {
  double number = 0.0;
  if (value.is_number()) {
    number = value.get<double>();
  } else if (value.is_string()) {
    const std::string& text = value.get_ref<const std::string&>();
    if (text.empty() || std::isspace(static_cast<unsigned char>(text.front()))) return std::nullopt;
    char* end = nullptr;
    errno = 0;
    number = std::strtod(text.c_str(), &end);
    if (errno != 0 || end != text.c_str() + text.size()) return std::nullopt;
  } else {
    return std::nullopt;
  }
  if (!std::isfinite(number) || number < 0.0 || number > 1.0) return std::nullopt;
  return number;
}

// An integral JSON number (24.0 accepted, 24.5 and "24" not) in [min,max].
std::optional<int64_t> integral(const Json& value, int64_t min, int64_t max) {
  if (value.is_number_integer() || value.is_number_unsigned()) {
    if (value.is_number_unsigned() && value.get<uint64_t>() > static_cast<uint64_t>(max))
      return std::nullopt;
    const int64_t n = value.get<int64_t>();
    if (n < min || n > max) return std::nullopt;
    return n;
  }
  if (value.is_number_float()) {
    const double d = value.get<double>();
    if (!std::isfinite(d) || std::floor(d) != d || d < static_cast<double>(min) ||
        d > static_cast<double>(max))
      return std::nullopt;
    return static_cast<int64_t>(d);
  }
  return std::nullopt;
}

bool is_mode(const std::string& mode) {
  return mode == "quick" || mode == "balanced" || mode == "deep" || mode == "verified";
}

struct Location {
  std::string path;  // dotted, as sent
  const Json* value;
};

}  // namespace

std::optional<std::string> mode_for_preset(const std::string& preset) {
  if (preset == "quick" || preset == "power-saver" || preset == "power_saver" || preset == "eco")
    return "quick";
  if (preset == "balanced") return "balanced";
  if (preset == "performance" || preset == "perf" || preset == "deep" || preset == "turbo")
    return "deep";
  if (preset == "verified") return "verified";
  return std::nullopt;
}

std::variant<StartRequest, std::vector<StartError>> parse_start_request(const Json& body) {
  std::vector<StartError> errors;
  if (!body.is_object()) return std::vector<StartError>{{"", "expected a JSON object"}};
  StartRequest out;

  auto find = [](const Json& object, const char* key) -> const Json* {
    if (!object.is_object()) return nullptr;
    auto it = object.find(key);
    return it == object.end() || it->is_null() ? nullptr : &*it;
  };

  // goal
  if (const Json* goal = find(body, "goal"); goal == nullptr) {
    errors.push_back({"goal", "required"});
  } else if (!goal->is_string()) {
    errors.push_back({"goal", "expected a string"});
  } else {
    out.goal = trim(goal->get<std::string>());
    if (out.goal.empty())
      errors.push_back({"goal", "must not be empty or blank"});
    else if (out.goal.size() > 4096)
      errors.push_back({"goal", "at most 4096 characters"});
  }

  const Json* data = find(body, "data");
  if (data != nullptr && !data->is_object()) {
    errors.push_back({"data", "expected an object"});
    data = nullptr;
  }
  const Json* training = data != nullptr ? find(*data, "training") : nullptr;
  if (training != nullptr && !training->is_object()) {
    errors.push_back({"data.training", "expected an object"});
    training = nullptr;
  }
  out.submitted = data != nullptr ? *data : Json(nullptr);

  // Every location present, winner first: top > data.training > data.
  auto locations = [&](const char* key) {
    std::vector<Location> found;
    if (const Json* v = find(body, key)) found.push_back({key, v});
    if (training != nullptr)
      if (const Json* v = find(*training, key))
        found.push_back({"data.training." + std::string(key), v});
    if (data != nullptr)
      if (const Json* v = find(*data, key)) found.push_back({"data." + std::string(key), v});
    return found;
  };

  // persona_id / project: string <= 128, with their data fallbacks.
  auto short_text = [&](std::vector<std::pair<std::string, const Json*>> candidates)
      -> std::optional<std::string> {
    std::optional<std::string> winner;
    for (const auto& [path, value] : candidates) {
      if (value == nullptr) continue;
      if (!value->is_string() || value->get_ref<const std::string&>().size() > 128) {
        errors.push_back({path, "expected a string of at most 128 characters"});
        continue;
      }
      if (!winner) winner = value->get<std::string>();
    }
    return winner;
  };
  out.persona_id = short_text({{"persona_id", find(body, "persona_id")},
                               {"data.persona_id", data ? find(*data, "persona_id") : nullptr},
                               {"data.persona", data ? find(*data, "persona") : nullptr}});
  out.project = short_text({{"project", find(body, "project")},
                            {"data.project", data ? find(*data, "project") : nullptr},
                            {"data.proj", data ? find(*data, "proj") : nullptr}});

  Json knobs = Json::object();
  for (const char* key : kKnobs) {
    const std::string name = key;
    for (const auto& [path, value] : locations(key)) {
      Json accepted;
      if (name == "preset") {
        if (value->is_string() && mode_for_preset(value->get<std::string>()))
          accepted = value->get<std::string>();
        else
          errors.push_back({path,
                            "expected one of quick, power-saver, power_saver, eco, balanced, "
                            "performance, perf, deep, turbo, verified"});
      } else if (name == "mode") {
        if (value->is_string() && is_mode(value->get<std::string>()))
          accepted = value->get<std::string>();
        else
          errors.push_back({path, "expected one of quick, balanced, deep, verified"});
      } else if (name == "budget_tokens" || name == "episodes") {
        const bool tokens = name == "budget_tokens";
        if (auto n = integral(*value, tokens ? 64 : 1, tokens ? 2097152 : 5000))
          accepted = *n;
        else
          errors.push_back({path, tokens ? "expected an integer in [64,2097152]"
                                         : "expected an integer in [1,5000]"});
      } else if (auto fraction = unit_fraction(*value)) {
        accepted = *fraction;
      } else {
        errors.push_back({path, "expected a number in [0,1] (or a string holding one)"});
      }
      if (!accepted.is_null() && !knobs.contains(name)) knobs[name] = std::move(accepted);
    }
  }

  if (const Json* topics = find(body, "topics")) {
    bool ok = topics->is_array() && topics->size() <= 32;
    for (size_t i = 0; ok && i < topics->size(); ++i) ok = (*topics)[i].is_string();
    if (!ok) errors.push_back({"topics", "expected up to 32 strings"});
  }
  if (const Json* window = find(body, "window")) {
    if (!window->is_object()) {
      errors.push_back({"window", "expected an object {since_id?}"});
    } else if (const Json* since = find(*window, "since_id")) {
      if (auto n = integral(*since, 0, INT64_MAX))
        out.since_id = *n;
      else
        errors.push_back({"window.since_id", "expected an integer >= 0"});
    }
  }
  for (const char* key : {"id", "budget"})
    if (body.contains(key)) out.ignored.emplace_back(key);
  if (!errors.empty()) return errors;

  std::string mode_source = "default";
  out.mode = "balanced";
  if (knobs.contains("mode")) {
    out.mode = knobs["mode"].get<std::string>();
    mode_source = "request";
  } else if (knobs.contains("preset")) {
    out.mode = *mode_for_preset(knobs["preset"].get<std::string>());
    mode_source = "preset";
  }
  Json& meta = out.meta;
  meta["goal"] = out.goal;
  if (out.persona_id) meta["persona_id"] = *out.persona_id;
  if (out.project) meta["project"] = *out.project;
  if (const Json* topics = find(body, "topics")) meta["topics"] = *topics;
  if (knobs.contains("preset")) meta["preset"] = knobs["preset"];
  meta["mode"] = out.mode;
  meta["mode_source"] = mode_source;
  for (const char* key : {"diversity", "recency", "compression", "budget_tokens", "episodes"})
    if (knobs.contains(key)) meta[key] = knobs[key];
  return out;
}

}  // namespace tpark::training
