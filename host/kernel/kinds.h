// Event kinds: the grammar, alias folding, and which kinds the host owns
// (telemetry.md section 1.1). One place decides these for every source.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace tpark {

// Every "._" becomes "_" in one left-to-right pass: working._set.x -> working_set.x
std::string fold_kind_alias(std::string_view kind);

// 1-128 bytes, ^[a-z0-9][a-z0-9_-]*(\.[a-z0-9][a-z0-9_-]*)+$ (checked after folding).
bool kind_is_valid(std::string_view kind);

// service.connected, events.lagged, state.read.model.patch
bool kind_is_stream(std::string_view kind);

// logic.unit.*, orchestrator.job.*, config.*, governor.*, staging.*, leases.*,
// policy.decision*, policy.capsule.*, feedback.updated*, actions.hint.*
bool kind_is_host_owned(std::string_view kind);

// A prefix filter as SSE and GET /state/events take it: CSV and/or repeated
// values, trimmed, lowercased, alias-folded, empty entries dropped. An empty
// result means "every kind".
std::vector<std::string> parse_prefix_filter(const std::vector<std::string>& raw_values);

inline bool kind_matches(std::string_view kind, const std::vector<std::string>& prefixes) {
  if (prefixes.empty()) return true;
  for (const auto& p : prefixes)
    if (kind.substr(0, p.size()) == p) return true;
  return false;
}

// 1-128 bytes of dot-separated segments, each [a-z0-9][a-z0-9_-]*:
// tp.section.context, acme.exporter-s3. The plugins' ids in host.yaml and in
// each plugin.yaml.
bool plugin_id_is_valid(std::string_view id);

}  // namespace tpark
