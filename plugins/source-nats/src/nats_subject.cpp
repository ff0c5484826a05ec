#include "nats_subject.h"

#include <unistd.h>

#include <climits>
#include <cstdlib>

namespace tpark::nats_source {

std::optional<SubjectParts> split_subject(std::string_view subject) {
  constexpr std::string_view prefix = "arw.events.node.";
  if (subject.substr(0, prefix.size()) != prefix) return std::nullopt;
  std::string_view rest = subject.substr(prefix.size());
  const size_t dot = rest.find('.');
  SubjectParts parts;
  parts.node = rest.substr(0, dot);
  if (parts.node.empty()) return std::nullopt;
  if (dot != std::string_view::npos) parts.kind = rest.substr(dot + 1);
  return parts;
}

std::string sanitise_node_id(std::string_view name) {
  std::string id;
  for (char c : name.substr(0, 64)) {
    const bool allowed = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                         (c >= '0' && c <= '9') || c == '_' || c == '-';
    id += allowed ? c : '-';
  }
  return id.empty() ? std::string("node") : id;
}

std::string node_id_from_environment() {
  if (const char* id = std::getenv("ARW_NODE_ID"); id != nullptr && *id != '\0')
    return sanitise_node_id(id);
  char host[HOST_NAME_MAX + 1] = {};
  if (gethostname(host, sizeof host - 1) != 0) return "node";
  return sanitise_node_id(host);
}

std::string connection_url(std::string_view url, bool tls) {
  constexpr std::string_view plain = "nats://";
  if (tls && url.substr(0, plain.size()) == plain)
    return "tls://" + std::string(url.substr(plain.size()));
  return std::string(url);
}

bool url_has_credentials(std::string_view url) {
  const size_t scheme = url.find("://");
  const std::string_view authority = url.substr(scheme == std::string_view::npos ? 0 : scheme + 3);
  const size_t at = authority.find('@');
  return at != std::string_view::npos && at < authority.find('/');
}

}  // namespace tpark::nats_source
