#include "kernel/kinds.h"

#include <algorithm>

#include "util/text.h"

namespace tpark {

std::string fold_kind_alias(std::string_view kind) {
  std::string out;
  out.reserve(kind.size());
  for (size_t i = 0; i < kind.size(); ++i) {
    if (kind[i] == '.' && i + 1 < kind.size() && kind[i + 1] == '_') {
      out.push_back('_');
      ++i;
    } else {
      out.push_back(kind[i]);
    }
  }
  return out;
}

bool kind_is_valid(std::string_view kind) {
  if (kind.empty() || kind.size() > 128) return false;
  auto head = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  auto body = [&](char c) { return head(c) || c == '_' || c == '-'; };
  size_t segments = 0;
  size_t i = 0;
  while (true) {
    if (i >= kind.size() || !head(kind[i])) return false;
    ++i;
    while (i < kind.size() && body(kind[i])) ++i;
    ++segments;
    if (i == kind.size()) break;
    if (kind[i] != '.') return false;
    ++i;
  }
  return segments >= 2;
}

bool kind_is_stream(std::string_view kind) {
  return kind == "service.connected" || kind == "events.lagged" || kind == "state.read.model.patch";
}

bool kind_is_host_owned(std::string_view kind) {
  static constexpr std::string_view prefixes[] = {
      "logic.unit.", "orchestrator.job.", "config.",         "governor.",        "staging.",
      "leases.",     "policy.decision",   "policy.capsule.", "feedback.updated", "actions.hint."};
  for (auto p : prefixes)
    if (kind.substr(0, p.size()) == p) return true;
  return false;
}

std::vector<std::string> parse_prefix_filter(const std::vector<std::string>& raw_values) {
  std::vector<std::string> out;
  for (const auto& raw : raw_values) {
    size_t start = 0;
    while (start <= raw.size()) {
      size_t comma = raw.find(',', start);
      if (comma == std::string::npos) comma = raw.size();
      std::string_view entry(raw.data() + start, comma - start);
      entry = trim(entry);
      if (!entry.empty()) {
        std::string lowered(entry);
        std::transform(lowered.begin(), lowered.end(), lowered.begin(),
                       [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
        std::string folded = fold_kind_alias(lowered);
        if (std::find(out.begin(), out.end(), folded) == out.end()) out.push_back(folded);
      }
      start = comma + 1;
    }
  }
  return out;
}

bool plugin_id_is_valid(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  auto head = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  bool at_segment_start = true;
  for (char c : id) {
    if (at_segment_start) {
      if (!head(c)) return false;
      at_segment_start = false;
    } else if (c == '.') {
      at_segment_start = true;
    } else if (!head(c) && c != '_' && c != '-') {
      return false;
    }
  }
  return !at_segment_start;
}

}  // namespace tpark
