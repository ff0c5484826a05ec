#include "config_follower.h"

#include <cstdio>

#include <nlohmann/json.hpp>

namespace tpark::sim {

ConfigFollower::ConfigFollower(BaseUrl base, std::optional<std::string> admin_token)
    : base_(std::move(base)), admin_token_(std::move(admin_token)) {}

const ContextKnobs& ConfigFollower::poll() {
  HeaderList headers;
  if (admin_token_) headers.emplace_back("X-ARW-Admin", *admin_token_);
  std::string error;
  const auto response =
      http_request(base_, "GET", "/state/config", headers, {}, std::chrono::seconds(2), error);
  ContextKnobs live;
  if (response && response->status == 200) {
    const auto body = nlohmann::json::parse(response->body, nullptr, false);
    if (!knobs_from_config(body, live, error)) error = "GET /state/config: " + error;
  } else if (response) {
    error = "HTTP " + std::to_string(response->status);
  }
  if (!error.empty()) {
    if (!unavailable_reported_) {
      std::fprintf(stderr,
                   "agent-sim: %s/state/config is not available (%s); using %s context values, "
                   "retrying every %d s\n",
                   base_.text.c_str(), error.c_str(), available_ ? "the last" : "the built-in",
                   kPollSeconds);
      unavailable_reported_ = true;
    }
    available_ = false;
    return knobs_;
  }
  if (!available_ || !(live == knobs_)) {
    std::fprintf(stderr, "agent-sim: following %s/state/config: %s\n", base_.text.c_str(),
                 describe(live).c_str());
  }
  available_ = true;
  unavailable_reported_ = false;
  knobs_ = std::move(live);
  return knobs_;
}

}  // namespace tpark::sim
