#include "governor_model.h"

#include <utility>

#include <nlohmann/json.hpp>

namespace tpark::sections::governor {

namespace {

using ordered_json = nlohmann::ordered_json;

bool is_empty_value(const ordered_json& value) {
  return value.is_null() || ((value.is_object() || value.is_array()) && value.empty());
}

}  // namespace

ordered_json without_empty_values(const ordered_json& value) {
  if (value.is_object()) {
    ordered_json out = ordered_json::object();
    for (auto it = value.begin(); it != value.end(); ++it) {
      ordered_json kept = without_empty_values(it.value());
      if (!is_empty_value(kept)) out[it.key()] = std::move(kept);
    }
    return out;
  }
  if (value.is_array()) {
    ordered_json out = ordered_json::array();
    for (const auto& element : value) {
      ordered_json kept = without_empty_values(element);
      if (!is_empty_value(kept)) out.push_back(std::move(kept));
    }
    return out;
  }
  return value;
}

ordered_json governor_section(const std::optional<std::string_view>& state_json) {
  ordered_json state = ordered_json::object();
  if (state_json) {
    state = ordered_json::parse(*state_json, nullptr, false);
    if (!state.is_object()) state = ordered_json::object();
  }
  ordered_json out = ordered_json::object();
  auto profile = state.find("profile");
  out["profile"] =
      profile != state.end() && profile->is_string() ? *profile : ordered_json("balance");
  auto limit = state.find("memory_limit");
  if (limit != state.end() && limit->is_number_unsigned())
    out["memory_limit"] = *limit;
  else if (limit != state.end() && limit->is_number_integer() && limit->get<int64_t>() >= 0)
    out["memory_limit"] = limit->get<uint64_t>();
  else
    out["memory_limit"] = nullptr;
  auto hints = state.find("hints");
  out["hints"] = hints != state.end() && hints->is_object() ? without_empty_values(*hints)
                                                            : ordered_json::object();
  return out;
}

}  // namespace tpark::sections::governor
