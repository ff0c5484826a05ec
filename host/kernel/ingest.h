// NDJSON ingest (telemetry.md section 1.3): splitting, per-line validation in
// the spec's order, payload canonicalisation. Pure: no I/O, no journal.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kernel/event.h"

namespace tpark {

struct IngestRejection {
  uint64_t line = 0;   // 1-based physical line
  std::string error;   // line_too_large, invalid_json, not_an_object, missing_kind,
                       // invalid_kind, reserved_kind, invalid_time, invalid_node;
                       // from sources also kind_mismatch, self_node, ...
};

struct IngestBatch {
  std::vector<NewEvent> events;             // good lines, in line order
  std::vector<IngestRejection> rejected;    // every bad line, sorted by line
};

struct IngestOptions {
  size_t max_line_bytes = 262144;  // ARW_EVENTS_INGEST_MAX_LINE_BYTES
  std::string source = "ingest";
  std::string corr_id;             // request id of the ingest call
};

// Parses a whole NDJSON body. receive_ms is used for lines without `time`.
IngestBatch parse_ndjson(std::string_view body, int64_t receive_ms, const IngestOptions& options);

// Validates one already-split line as the ingest route does; on success fills
// `out`, otherwise returns the error code. Shared by NATS ingest.
std::optional<std::string> parse_event_line(std::string_view line, int64_t receive_ms,
                                            const IngestOptions& options, NewEvent& out);

// One message a source received (ABI 1.2 ingest_lines): the body as
// parse_event_line takes it, the node the transport names (it replaces any
// `node` in the body), and the transport's kind (`kind_hint`, e.g. the rest of
// a NATS subject), used only when the body has no kind. A body kind that
// differs from the hint after folding is `kind_mismatch`; a bad node is
// `invalid_node`. Same contract as parse_event_line otherwise.
std::optional<std::string> parse_source_message(std::string_view body, std::string_view node,
                                                std::string_view kind_hint, int64_t receive_ms,
                                                const IngestOptions& options, NewEvent& out);

// Re-serialises a JSON text compactly, keeping key order: numbers that overflow
// a double become null, integers beyond 64 bits become doubles. simdjson fast
// path, nlohmann fallback on number errors. nullopt if the text is not JSON
// (NaN/Infinity included) or not UTF-8.
std::optional<std::string> canonicalize_json(std::string_view text);

// The fallback path of canonicalize_json on its own (nlohmann, after writing
// numbers that overflow a double as null). canonicalize_json must give the
// same bytes for every input both paths accept; tests compare the two.
std::optional<std::string> canonicalize_json_with_nlohmann(std::string_view text);

// ^[A-Za-z0-9_-]{1,64}$
bool node_is_valid(std::string_view node);

}  // namespace tpark
