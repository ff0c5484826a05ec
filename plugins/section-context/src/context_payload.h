// The members of a context payload the windows keep per event, read straight
// from the payload text with simdjson on-demand into plain values: no JSON
// document is built, and members not named here are skipped unread.
//
// Each reader reads a payload as nlohmann's parser followed by a member
// lookup would: an absent member and one of another type read the same (a
// `summary` that is not an object is no summary); a repeated member reads as
// its last occurrence; an object's members keep their first place. A payload
// that is not a JSON object, or is malformed, reads as an empty object.
//
// Names in NumberFields own their text; `reasons` and `level` are views into
// the parser's buffers, valid until the next read on the same thread. One
// parser per thread (thread_local).
//
// Per event the readers fill an object the caller hands back each time: the
// storage of the vectors it held is kept for the next read (in a per-thread
// pool while a member is absent), so that the steady state allocates nothing.
#pragma once

#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tpark/context/formulas.h"

namespace tpark::context_section {

using tpark::context::NumberField;
using tpark::context::NumberFields;
using tpark::context::SpecFields;
using tpark::context::SummaryFields;

// context.coverage
struct CoveragePayload {
  std::optional<std::vector<std::string_view>> reasons;  // when an array: its strings
  std::optional<bool> needs_more;
  std::optional<SummaryFields> summary;  // when an object
  std::optional<SpecFields> spec;        // when an object
};

// context.recall.risk
struct RecallPayload {
  std::optional<bool> needs_more;
  std::optional<SummaryFields> summary;
  std::optional<SpecFields> spec;
  NumberField score;
  std::optional<std::string_view> level;  // when a non-empty string
  std::optional<bool> at_risk;
  std::optional<NumberFields> component_slots;  // components.slots, when both are objects
};

// working_set.iteration.summary; of the summary only selected,
// total_candidates, lane_counts and slot_counts are read.
struct AssemblyPayload {
  std::optional<bool> needs_more;
  std::optional<bool> coverage_needs_more;  // coverage.needs_more
  std::optional<bool> coverage_gap;
  NumberField duration_ms;
  std::optional<SummaryFields> summary;
};

// working_set.completed; the diagnostics.* members are set only when
// diagnostics is an object. Of the summary only selected and
// total_candidates are read.
struct RetrieverPayload {
  std::optional<SummaryFields> summary;
  std::optional<NumberFields> counts;       // diagnostics.counts
  std::optional<NumberFields> timings_ms;   // diagnostics.timings_ms
  std::optional<NumberFields> lanes;        // diagnostics.lanes
  std::optional<NumberFields> slot_counts;  // diagnostics.slots.counts
};

CoveragePayload read_coverage_payload(std::string_view payload);
RecallPayload read_recall_payload(std::string_view payload);
AssemblyPayload read_assembly_payload(std::string_view payload);
RetrieverPayload read_retriever_payload(std::string_view payload);

// Bytes past the end of a payload the parser may read. A caller that owns
// that many readable bytes after the payload passes its `padded_size`
// (payload.size() + kPayloadPadding or more), sparing a copy; otherwise 0, and
// the payload is copied into a padded buffer first.
inline constexpr std::size_t kPayloadPadding = 64;

// The readers above, into `out` (its previous contents are replaced).
void read_coverage_payload(std::string_view payload, std::size_t padded_size, CoveragePayload& out);
void read_recall_payload(std::string_view payload, std::size_t padded_size, RecallPayload& out);
void read_assembly_payload(std::string_view payload, std::size_t padded_size, AssemblyPayload& out);
void read_retriever_payload(std::string_view payload, std::size_t padded_size,
                            RetrieverPayload& out);

}  // namespace tpark::context_section
