// POST /orchestrator/mini_agents/start_training (control.md 5.1): the body's
// validation and knob precedence as a pure function. Every error names its
// full path; nothing is clamped.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "util/json.h"

namespace tpark::training {

struct StartError {
  std::string field;  // dotted path as sent (data.training.diversity)
  std::string message;
};

struct StartRequest {
  std::string goal;  // trimmed
  std::optional<std::string> persona_id, project;
  std::string mode;  // quick | balanced | deep | verified
  // {goal,persona_id?,project?,topics?,preset?,mode,mode_source,diversity?,
  //  recency?,compression?,budget_tokens?,episodes?}
  Json meta = Json::object();
  Json submitted;  // the request's `data` verbatim, or null
  int64_t since_id = 0;
  std::vector<std::string> ignored;  // `id`, `budget` when sent
};

// The mode a preset name stands for, or nullopt for an unknown preset.
std::optional<std::string> mode_for_preset(const std::string& preset);

// Validates `body` (any JSON value). All errors come back together.
std::variant<StartRequest, std::vector<StartError>> parse_start_request(const Json& body);

}  // namespace tpark::training
