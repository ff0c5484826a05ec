// The job status vocabulary of control.md 5.2: the host writes only canonical
// statuses; whatever it reads (workers, legacy rows) is normalised here.
#pragma once

#include <string>
#include <string_view>

namespace tpark::training {

struct JobStatus {
  std::string slug;   // queued | running | completed | failed | cancelled | unknown
  std::string label;  // Queued, Running, ...
};

// Trim, lowercase, runs of spaces and '-' to '_', then an exact match, then a
// prefix match, else unknown.
JobStatus normalize_job_status(std::string_view raw);

// completed, failed and cancelled.
bool is_terminal_status(std::string_view slug);

}  // namespace tpark::training
