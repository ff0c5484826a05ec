#include "push_target.h"

namespace tpark::pushgateway {

std::string base64url(std::string_view bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const unsigned v = (static_cast<unsigned char>(bytes[i]) << 16) |
                       (static_cast<unsigned char>(bytes[i + 1]) << 8) |
                       static_cast<unsigned char>(bytes[i + 2]);
    out += {kAlphabet[(v >> 18) & 63], kAlphabet[(v >> 12) & 63], kAlphabet[(v >> 6) & 63],
            kAlphabet[v & 63]};
  }
  if (i + 1 == bytes.size()) {
    const unsigned v = static_cast<unsigned char>(bytes[i]) << 16;
    out += {kAlphabet[(v >> 18) & 63], kAlphabet[(v >> 12) & 63], '=', '='};
  } else if (i + 2 == bytes.size()) {
    const unsigned v = (static_cast<unsigned char>(bytes[i]) << 16) |
                       (static_cast<unsigned char>(bytes[i + 1]) << 8);
    out += {kAlphabet[(v >> 18) & 63], kAlphabet[(v >> 12) & 63], kAlphabet[(v >> 6) & 63], '='};
  }
  // The Pushgateway reads an empty value as "=" (a single padding character).
  return out.empty() ? "=" : out;
}

std::optional<PushTarget> make_push_target(std::string_view url, const std::string& job,
                                           const std::map<std::string, std::string>& grouping,
                                           std::string& error) {
  constexpr std::string_view kScheme = "http://";
  if (url.substr(0, kScheme.size()) != kScheme) {
    error = "url: expected http://host[:port][/path], got \"" + std::string(url) + "\"";
    return std::nullopt;
  }
  std::string_view rest = url.substr(kScheme.size());
  const size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  std::string prefix = slash == std::string_view::npos ? "" : std::string(rest.substr(slash));
  while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
  PushTarget target;
  const size_t colon = authority.rfind(':');
  if (colon != std::string_view::npos && authority.find(']') == std::string_view::npos) {
    target.host = std::string(authority.substr(0, colon));
    target.port = std::string(authority.substr(colon + 1));
  } else {
    target.host = std::string(authority);
    target.port = "80";
  }
  if (target.host.empty() || target.port.empty() ||
      target.port.find_first_not_of("0123456789") != std::string::npos) {
    error = "url: expected http://host[:port][/path], got \"" + std::string(url) + "\"";
    return std::nullopt;
  }
  if (job.empty()) {
    error = "job: must not be empty";
    return std::nullopt;
  }
  target.path = prefix + "/metrics/job@base64/" + base64url(job);
  for (const auto& [label, value] : grouping) {
    const bool valid_name =
        !label.empty() &&
        label.find_first_not_of(
            "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") ==
            std::string::npos &&
        !(label[0] >= '0' && label[0] <= '9') && label != "job";
    if (!valid_name) {
      error = "grouping." + label + ": not a label name ([a-zA-Z_][a-zA-Z0-9_]*, not job)";
      return std::nullopt;
    }
    target.path += "/" + label + "@base64/" + base64url(value);
  }
  return target;
}

}  // namespace tpark::pushgateway
