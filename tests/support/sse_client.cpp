#include "support/sse_client.h"

namespace tpark::test {

SseClient::SseClient(uint16_t port, const std::string& target, HeaderList headers,
                     int receive_buffer_bytes, const std::string& admin_token) {
  StreamReader::Options options;
  options.headers = std::move(headers);
  if (!admin_token.empty()) options.headers.emplace_back("X-ARW-Admin", admin_token);
  options.receive_buffer_bytes = receive_buffer_bytes;
  reader_ = std::make_unique<StreamReader>("127.0.0.1", port, target, std::move(options));
}

std::optional<SseFrame> SseClient::next(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return std::nullopt;
    auto text = reader_->read_frame(left);
    if (!text) return std::nullopt;
    SseFrame frame = parse_sse_frame(*text);
    if (!frame.event.empty() || frame.id || !frame.data.is_null()) return frame;
  }
}

}  // namespace tpark::test
