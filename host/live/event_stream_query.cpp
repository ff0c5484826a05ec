#include "live/event_stream_query.h"

#include <charconv>

#include "kernel/kinds.h"
#include "util/text.h"

namespace tpark::live {

namespace {

std::vector<std::string> query_all(const http::QueryPairs& query, std::string_view name) {
  std::vector<std::string> out;
  for (const auto& [key, value] : query)
    if (key == name) out.push_back(value);
  return out;
}

const std::string* query_one(const http::QueryPairs& query, std::string_view name) {
  for (const auto& [key, value] : query)
    if (key == name) return &value;
  return nullptr;
}

// read_models=<csv>: trimmed ids, empty entries dropped.
std::vector<std::string> parse_id_list(const std::vector<std::string>& values) {
  std::vector<std::string> out;
  for (const auto& value : values) {
    size_t start = 0;
    while (start <= value.size()) {
      size_t comma = value.find(',', start);
      if (comma == std::string::npos) comma = value.size();
      std::string_view item = trim(std::string_view(value.data() + start, comma - start));
      if (!item.empty()) out.emplace_back(item);
      start = comma + 1;
    }
  }
  return out;
}

}  // namespace

std::optional<int64_t> parse_resume_id(std::string_view text) {
  text = trim(text);
  if (text.empty() || text.size() > 19) return std::nullopt;
  int64_t value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size() || value < 0) return std::nullopt;
  return value;
}

std::optional<EventStreamQueryError> parse_event_stream_query(
    const http::QueryPairs& query, std::optional<std::string_view> last_event_id,
    uint64_t replay_max, EventStreamRequest& out) {
  using Kind = EventStreamQueryError::Kind;
  out.prefixes = parse_prefix_filter(query_all(query, "prefix"));
  out.read_models = parse_id_list(query_all(query, "read_models"));
  out.mode = EventStreamRequest::Mode::Live;
  if (last_event_id) {
    auto id = parse_resume_id(*last_event_id);
    if (!id)
      return EventStreamQueryError{Kind::InvalidResumeId, "Last-Event-ID",
                                   "Last-Event-ID must be a non-negative integer"};
    out.mode = EventStreamRequest::Mode::After;
    out.after = *id;
    out.resume_from = std::to_string(*id);
  } else if (const std::string* after = query_one(query, "after")) {
    auto id = parse_resume_id(*after);
    if (!id)
      return EventStreamQueryError{Kind::InvalidResumeId, "after",
                                   "after must be a non-negative integer"};
    out.mode = EventStreamRequest::Mode::After;
    out.after = *id;
    out.resume_from = std::to_string(*id);
  } else if (const std::string* replay = query_one(query, "replay")) {
    auto n = parse_resume_id(*replay);
    if (!n || static_cast<uint64_t>(*n) > replay_max)
      return EventStreamQueryError{Kind::ValidationFailed, "replay",
                                   "expected an integer in [0," + std::to_string(replay_max) + "]"};
    out.mode = EventStreamRequest::Mode::Recent;
    out.replay_count = static_cast<size_t>(*n);
  }
  return std::nullopt;
}

}  // namespace tpark::live
