// An SSE reader for tests: GET /events on the real host, parsed into frames.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "net/sse.h"
#include "support/http_client.h"
#include "util/json.h"

namespace tpark::test {

// The frame type and parser are the CLI's (cli/net/sse.h).
using tpark::client::parse_sse_frame;
using tpark::client::SseFrame;

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
