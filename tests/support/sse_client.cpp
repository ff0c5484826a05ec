#include "support/sse_client.h"

#include <charconv>


namespace tpark::test {

SseFrame parse_sse_frame(const std::string& text) {
  SseFrame frame;
  frame.raw = text;
  size_t at = 0;
  while (at < text.size()) {
    size_t end = text.find('\n', at);
    if (end == std::string::npos) end = text.size();
    std::string_view line(text.data() + at, end - at);
    at = end + 1;
    if (line.empty() || line.front() == ':') continue;
    const size_t colon = line.find(':');
    std::string_view field = line.substr(0, colon);
    std::string_view value = colon == std::string_view::npos ? std::string_view{} : line.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    auto number = [](std::string_view v) -> std::optional<int64_t> {
      int64_t n = 0;
      auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
      if (ec != std::errc() || ptr != v.data() + v.size()) return std::nullopt;
      return n;
    };
    if (field == "event") frame.event = value;
    else if (field == "id") frame.id = number(value);
    else if (field == "retry") frame.retry = number(value);
    else if (field == "data") frame.data = tpark::Json::parse(value);
  }
  return frame;
}

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
