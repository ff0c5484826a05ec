#include "training/job_status.h"

#include <array>
#include <cctype>

namespace tpark::training {
namespace {

struct Entry {
  const char* slug;
  const char* label;
  std::array<const char*, 6> exact;  // nullptr-padded
  std::array<const char*, 2> prefixes;
};

// control.md 5.2, in table order (prefixes are tried in this order too).
constexpr Entry kStatuses[] = {
    {"queued", "Queued", {"queued", "pending", "waiting"}, {"queue", "wait"}},
    {"running", "Running", {"running", "in_progress", "started", "active"}, {"running"}},
    {"completed",
     "Completed",
     {"completed", "complete", "finished", "done", "success", "succeeded"},
     {"complete"}},
    {"failed", "Failed", {"failed", "error", "errored", "fail", "failure"}, {"fail"}},
    {"cancelled", "Cancelled", {"cancelled", "canceled", "aborted", "stopped"}, {"cancel"}},
};

std::string canonical_text(std::string_view raw) {
  size_t first = 0, last = raw.size();
  while (first < last && std::isspace(static_cast<unsigned char>(raw[first]))) ++first;
  while (last > first && std::isspace(static_cast<unsigned char>(raw[last - 1]))) --last;
  std::string out;
  bool in_run = false;
  for (size_t i = first; i < last; ++i) {
    const char c = raw[i];
    if (c == ' ' || c == '-') {
      if (!in_run) out += '_';
      in_run = true;
      continue;
    }
    in_run = false;
    out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

}  // namespace

JobStatus normalize_job_status(std::string_view raw) {
  const std::string text = canonical_text(raw);
  for (const auto& entry : kStatuses)
    for (const char* exact : entry.exact)
      if (exact != nullptr && text == exact) return {entry.slug, entry.label};
  if (!text.empty())
    for (const auto& entry : kStatuses)
      for (const char* prefix : entry.prefixes)
        if (prefix != nullptr &&
            std::string_view(text).substr(0, std::string_view(prefix).size()) == prefix)
          return {entry.slug, entry.label};
  return {"unknown", "Unknown"};
}

bool is_terminal_status(std::string_view slug) {
  return slug == "completed" || slug == "failed" || slug == "cancelled";
}

}  // namespace tpark::training
