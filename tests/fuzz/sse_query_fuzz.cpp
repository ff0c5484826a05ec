// libFuzzer target: the GET /events request (telemetry.md 7) from a raw query
// string and a Last-Event-ID value, as the server and the route read them
// (host/http/request_target.h, host/live/event_stream_query.h). The input is
// "<query>\n<last-event-id>" (no newline: no header). It must never crash, and
// an accepted request must be self-consistent.
// fuzz-max-len: 16384
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string_view>

#include "http/request_target.h"
#include "live/event_stream_query.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  std::optional<std::string_view> last_event_id;
  if (const size_t newline = input.find('\n'); newline != std::string_view::npos) {
    last_event_id = input.substr(newline + 1);
    input = input.substr(0, newline);
  }
  tpark::http::QueryPairs query;
  tpark::http::parse_query(input, query);
  constexpr uint64_t kReplayMax = 1000;
  tpark::live::EventStreamRequest request;
  const auto error =
      tpark::live::parse_event_stream_query(query, last_event_id, kReplayMax, request);
  if (error) {
    if (error->field.empty() || error->message.empty()) std::abort();
    return 0;
  }
  using Mode = tpark::live::EventStreamRequest::Mode;
  if (request.mode == Mode::After && (request.after < 0 || !request.resume_from)) std::abort();
  if (request.mode == Mode::Recent && request.replay_count > kReplayMax) std::abort();
  if (last_event_id && request.mode != Mode::After) std::abort();
  for (const auto& prefix : request.prefixes)
    if (prefix.empty()) std::abort();
  for (const auto& id : request.read_models)
    if (id.empty() || id.front() == ' ' || id.back() == ' ') std::abort();
  return 0;
}
