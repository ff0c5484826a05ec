// GET /events (telemetry.md 7) and GET /state/read_models/{id} (§6).
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

Response open_event_stream(AppContext& app, const Request& req) {
  live::EventStreams& streams = *app.event_streams;
  live::EventStreamRequest stream;
  stream.request_id = req.request_id;
  if (auto error = live::parse_event_stream_query(req.query, req.headers.get("last-event-id"),
                                                  streams.settings().replay_max, stream)) {
    streams.count_rejected("bad_request");
    if (error->kind == live::EventStreamQueryError::Kind::ValidationFailed)
      return http::validation_failed(req, {{error->field, error->message}});
    return http::problem(req, 400, "invalid_resume_id", error->message, {{"field", error->field}});
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
