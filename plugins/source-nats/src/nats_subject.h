// The pure parts of NATS ingest (telemetry.md 1.4 as docs/deploy.md states
// it): where a subject's node and kind are, and the host's own node id.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace tpark::nats_source {

// The subscription of fleet ingest: every node, every kind.
inline constexpr std::string_view kIngestSubject = "arw.events.node.>";

struct SubjectParts {
  std::string_view node;  // token 4
  std::string_view kind;  // tokens 5.. joined by '.'; empty when absent
};

// Splits `arw.events.node.<node>.<kind...>`; nullopt for any other subject
// (or an empty node token).
std::optional<SubjectParts> split_subject(std::string_view subject);

// A node id from a free-form name (a hostname): characters outside
// [A-Za-z0-9_-] become '-', cut to 64 bytes; "node" when empty.
std::string sanitise_node_id(std::string_view name);

// ARW_NODE_ID when set and non-empty, else the sanitised hostname.
std::string node_id_from_environment();

// The connection URL: `tls://` instead of `nats://` when `tls` is set.
std::string connection_url(std::string_view url, bool tls);

// Whether the URL carries credentials (user[:pass]@host).
bool url_has_credentials(std::string_view url);

}  // namespace tpark::nats_source
