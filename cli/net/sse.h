// Server-sent events: one frame's text parsed into its fields. Shared by the
// `tpark` CLI and the tests (tests/support/sse_client.h).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace tpark::client {

struct SseFrame {
  std::string event;             // the `event:` field
  std::optional<int64_t> id;     // the `id:` field
  std::optional<int64_t> retry;  // the `retry:` field
  nlohmann::ordered_json data;   // the `data:` line parsed (null when absent)
  std::string raw;
};

// Parses one frame's text (up to and including its blank line). Comment lines
// (": keep-alive") are skipped; a frame made only of comments has event "".
// Throws nlohmann::json::parse_error when the data line is not JSON.
SseFrame parse_sse_frame(const std::string& text);

}  // namespace tpark::client
