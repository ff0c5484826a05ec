#include "net/sse.h"

#include <charconv>
#include <string_view>

namespace tpark::client {

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
    std::string_view value =
        colon == std::string_view::npos ? std::string_view{} : line.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    auto number = [](std::string_view v) -> std::optional<int64_t> {
      int64_t n = 0;
      auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
      if (ec != std::errc() || ptr != v.data() + v.size()) return std::nullopt;
      return n;
    };
    if (field == "event")
      frame.event = value;
    else if (field == "id")
      frame.id = number(value);
    else if (field == "retry")
      frame.retry = number(value);
    else if (field == "data")
      frame.data = nlohmann::ordered_json::parse(value);
  }
  return frame;
}

}  // namespace tpark::client
