// What a GET /events client asks for (telemetry.md 7), and the pure parser
// that reads it from the query string and Last-Event-ID. No sockets, no
// journal: the fuzz build compiles it on its own.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "http/request_target.h"

namespace tpark::live {

// One client's request, validated by parse_event_stream_query.
struct EventStreamRequest {
  enum class Mode { Live, Recent, After };
  std::string request_id;
  std::vector<std::string> prefixes;  // folded; empty = every kind
  Mode mode = Mode::Live;
  int64_t after = 0;        // Mode::After
  size_t replay_count = 0;  // Mode::Recent
  std::optional<std::string> resume_from;
  std::vector<std::string> read_models;  // ids; empty = every model
};

// Why a query was refused; the route turns it into a 400 problem.
struct EventStreamQueryError {
  enum class Kind { InvalidResumeId, ValidationFailed } kind = Kind::InvalidResumeId;
  std::string field;  // "Last-Event-ID", "after" or "replay"
  std::string message;
};

// Reads `prefix` (CSV and/or repeated), `read_models` (CSV and/or repeated),
// then the start: Last-Event-ID > after > replay. Resume ids are non-negative
// decimal integers that fit int64 (spaces around them allowed); replay is such
// an integer in [0, replay_max]. Fills `out` (request_id untouched) or returns
// the error.
std::optional<EventStreamQueryError> parse_event_stream_query(
    const http::QueryPairs& query, std::optional<std::string_view> last_event_id,
    uint64_t replay_max, EventStreamRequest& out);

// A non-negative decimal integer that fits in int64, spaces trimmed, or nullopt.
std::optional<int64_t> parse_resume_id(std::string_view text);

}  // namespace tpark::live
