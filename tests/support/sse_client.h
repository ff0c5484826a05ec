// An SSE reader for tests: GET /events on the real host, parsed into frames.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "support/http_client.h"
#include "util/json.h"

namespace tpark::test {

struct SseFrame {
  std::string event;             // the `event:` field
  std::optional<int64_t> id;     // the `id:` field
  std::optional<int64_t> retry;  // the `retry:` field
  tpark::Json data;              // the `data:` line parsed (null when absent)
  std::string raw;
};

// Parses one frame's text (up to and including its blank line). Comment lines
// (": keep-alive") are skipped; a frame made only of comments has event "".
SseFrame parse_sse_frame(const std::string& text);

class SseClient {
 public:
  // Opens GET `target` on 127.0.0.1 with the admin token (and `headers`).
  // A small `receive_buffer_bytes` makes a paused reader push back quickly.
  SseClient(uint16_t port, const std::string& target, HeaderList headers = {},
            int receive_buffer_bytes = 0, const std::string& admin_token = "t");

  int status() const { return reader_->status(); }
  StreamReader& reader() { return *reader_; }

  // The next frame that is not a bare comment, or nullopt if none arrives
  // within `timeout` or the stream ended.
  std::optional<SseFrame> next(std::chrono::milliseconds timeout);
  bool ended() const { return reader_->ended(); }
  void close() { reader_->close(); }

 private:
  std::unique_ptr<StreamReader> reader_;
};

}  // namespace tpark::test
