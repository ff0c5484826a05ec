// GET /events (telemetry.md 7) and GET /state/read_models/{id} (§6).
#include <charconv>

#include <spdlog/spdlog.h>

#include "http/problem.h"
#include "kernel/kinds.h"
#include "live/event_stream.h"
#include "live/read_model_hub.h"
#include "routes/routes.h"
#include "util/text.h"

namespace tpark {

using http::Access;
using http::Request;
using http::Response;

namespace {

// A non-negative decimal integer that fits in int64, or nullopt.
std::optional<int64_t> parse_resume_id(std::string_view text) {
  text = trim(text);
  if (text.empty() || text.size() > 19) return std::nullopt;
  int64_t value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size() || value < 0) return std::nullopt;
  return value;
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

Response open_event_stream(AppContext& app, const Request& req) {
  live::EventStreams& streams = *app.event_streams;
  live::EventStreamRequest stream;
  stream.request_id = req.request_id;
  stream.prefixes = parse_prefix_filter(req.query_all("prefix"));
  stream.read_models = parse_id_list(req.query_all("read_models"));

  auto bad_request = [&](Response r) {
    streams.count_rejected("bad_request");
    return r;
  };
  // Precedence: Last-Event-ID > after > replay.
  if (auto last = req.headers.get("last-event-id")) {
    auto id = parse_resume_id(*last);
    if (!id)
      return bad_request(http::problem(req, 400, "invalid_resume_id",
                                       "Last-Event-ID must be a non-negative integer",
                                       {{"field", "Last-Event-ID"}}));
    stream.mode = live::EventStreamRequest::Mode::After;
    stream.after = *id;
    stream.resume_from = std::to_string(*id);
  } else if (auto after = req.query_one("after")) {
    auto id = parse_resume_id(*after);
    if (!id)
      return bad_request(http::problem(req, 400, "invalid_resume_id",
                                       "after must be a non-negative integer", {{"field", "after"}}));
    stream.mode = live::EventStreamRequest::Mode::After;
    stream.after = *id;
    stream.resume_from = std::to_string(*id);
  } else if (auto replay = req.query_one("replay")) {
    auto n = parse_resume_id(*replay);
    const auto max = streams.settings().replay_max;
    if (!n || static_cast<uint64_t>(*n) > max)
      return bad_request(http::validation_failed(
          req, {{"replay", "expected an integer in [0," + std::to_string(max) + "]"}}));
    stream.mode = live::EventStreamRequest::Mode::Recent;
    stream.replay_count = static_cast<size_t>(*n);
  }

  auto source = streams.open(stream);
  if (!source) {
    streams.count_rejected("max_clients");
    Response r = http::problem(req, 503, "too_many_clients", "too many SSE clients",
                               {{"limit", streams.settings().max_clients}});
    r.set_header("Retry-After", "5");
    return r;
  }
  Response r;
  r.status = 200;
  r.content_type = "text/event-stream";
  r.set_header("Cache-Control", "no-cache");
  r.set_header("X-Accel-Buffering", "no");
  r.stream = std::move(source);
  return r;
}

Response read_model(AppContext& app, const Request& req) {
  const std::string& id = req.path_params.at("id");
  std::optional<live::ReadModelValue> value;
  try {
    value = app.read_models->materialise(id);
  } catch (const std::exception& e) {
    spdlog::warn("read model {}: {}", id, e.what());
    return http::problem(req, 503, "unavailable", "the read model cannot be computed now; retry",
                         {{"id", id}});
  }
  if (!value)
    return http::problem(req, 404, "not_found", "no read model with this id", {{"id", id}});
  Json body;
  body["id"] = value->id;
  body["instance_id"] = app.read_models->instance_id();
  body["version"] = value->version;
  body["value"] = std::move(value->value);
  Response r = http::json_response(req, 200, body);
  r.set_header("Cache-Control", "no-store");
  return r;
}

}  // namespace

void add_live_routes(http::Router& router, AppContext& app) {
  router.add({"GET", "/events", Access::Admin,
              [&app](const Request& req) { return open_event_stream(app, req); }, 0, true});
  router.add({"GET", "/state/read_models/{id}", Access::Admin,
              [&app](const Request& req) { return read_model(app, req); }, 0, true});
}

}  // namespace tpark
