// POST /leases, GET /state/leases, DELETE /leases/{id} (control.md 4.3).
#include "control/leases.h"
#include "control/validation.h"
#include "http/problem.h"
#include "kernel/journal.h"
#include "routes/routes.h"

namespace tpark {

using http::Access;
using http::Request;
using http::Response;

namespace {

Response create_lease(AppContext& app, const Request& req) {
  http::ParsedBody parsed = http::parse_json_body(req.body);
  if (!parsed.document) return http::malformed_json(req, parsed.error_message, parsed.error_offset);
  const Json& body = *parsed.document;
  if (!body.is_object()) return http::validation_failed(req, {{"", "expected a JSON object"}});
  control::LeaseBody lease = control::validate_lease_body(body);
  if (!lease.errors.empty()) return http::validation_failed(req, lease.errors);
  try {
    return http::json_response(
        req, 201,
        app.leases->create(lease.capability, lease.scope, lease.ttl_secs * 1000, lease.budget,
                           req.request_id));
  } catch (const JournalUnavailable&) {
    return http::problem(req, 503, "unavailable",
                         "the database commit failed; nothing was acknowledged");
  }
}

Response list_leases(AppContext& app, const Request& req) {
  const auto include = req.query_one("include_inactive");
  const bool include_inactive = include && (*include == "1" || *include == "true");
  return http::json_response(req, 200, app.leases->list(include_inactive));
}

Response revoke_lease(AppContext& app, const Request& req) {
  try {
    auto out = app.leases->revoke(req.path_params.at("id"), req.request_id);
    if (!out) return http::problem(req, 404, "not_found", "no lease with this id");
    return http::json_response(req, 200, *out);
  } catch (const JournalUnavailable&) {
    return http::problem(req, 503, "unavailable",
                         "the database commit failed; nothing was acknowledged");
  }
}

}  // namespace

void add_lease_routes(http::Router& router, AppContext& app) {
  router.add(
      json_route("POST", "/leases", [&app](const Request& r) { return create_lease(app, r); }));
  router.add({"GET", "/state/leases", Access::Admin,
              [&app](const Request& r) { return list_leases(app, r); }, 0, true});
  router.add({"DELETE", "/leases/{id}", Access::Admin,
              [&app](const Request& r) { return revoke_lease(app, r); }});
}

}  // namespace tpark
