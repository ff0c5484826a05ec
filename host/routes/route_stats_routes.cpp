// GET /state/route_stats (telemetry.md 4): public and an observation route.
// The body is {bus, events, routes: {by_path}, tasks, cache}; its weak ETag
// leaves out the route's own entry, so polling alone gets 304s.
#include "http/problem.h"
#include "routes/routes.h"
#include "telemetry/host_telemetry.h"
#include "telemetry/route_stats.h"

namespace tpark {

using http::Access;
using http::Request;
using http::Response;

namespace {

constexpr const char* kCacheControl = "private, max-age=2";

Response route_stats(AppContext& app, const Request& req) {
  const Json body = app.telemetry->route_stats_body();
  std::string etag = route_stats_etag(body);
  if (auto condition = req.headers.get("if-none-match");
      condition && if_none_match_matches(*condition, etag)) {
    Response not_modified;
    not_modified.status = 304;
    not_modified.set_header("ETag", std::move(etag));
    not_modified.set_header("Cache-Control", kCacheControl);
    return not_modified;
  }
  Response r = http::json_text_response(req, 200, body.dump());
  r.set_header("ETag", std::move(etag));
  // The same caching rule as the 304 (RFC 9110 15.4.5).
  r.set_header("Cache-Control", kCacheControl);
  return r;
}

}  // namespace

void add_route_stats_routes(http::Router& router, AppContext& app) {
  router.add({"GET", std::string(kRouteStatsPath), Access::Public,
              [&app](const Request& req) { return route_stats(app, req); }, 0, true});
}

}  // namespace tpark
