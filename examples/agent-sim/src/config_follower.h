// --follow-config: reads BASE/state/config (control.md §3.2) and turns its
// live ARW_CONTEXT_* values into knobs. While the route is unavailable the
// knobs stay as they were (the built-in defaults at first); one line on stderr
// says so, and the caller keeps polling.
#pragma once

#include <optional>
#include <string>

#include "context_knobs.h"
#include "http_client.h"

namespace tpark::sim {

class ConfigFollower {
 public:
  static constexpr int kPollSeconds = 2;

  ConfigFollower(BaseUrl base, std::optional<std::string> admin_token);

  // One GET; returns the knobs to use from now on. Prints a line when the
  // route becomes unavailable, becomes available, or its values change.
  const ContextKnobs& poll();
  const ContextKnobs& knobs() const { return knobs_; }

 private:
  BaseUrl base_;
  std::optional<std::string> admin_token_;
  ContextKnobs knobs_;
  bool available_ = false;
  bool unavailable_reported_ = false;
};

}  // namespace tpark::sim
