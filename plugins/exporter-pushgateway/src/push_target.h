// Where a push goes: the Pushgateway's URL split into host, port and the
// grouping key path /metrics/job@base64/<job>/<label>@base64/<value>...
// (every value base64url-encoded, so any text is a valid value).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace tpark::pushgateway {

struct PushTarget {
  std::string host;
  std::string port;
  std::string path;  // the grouping key path
};

// nullopt with `error` set when `url` is not http://host[:port][/prefix].
std::optional<PushTarget> make_push_target(std::string_view url, const std::string& job,
                                           const std::map<std::string, std::string>& grouping,
                                           std::string& error);

std::string base64url(std::string_view bytes);

}  // namespace tpark::pushgateway
