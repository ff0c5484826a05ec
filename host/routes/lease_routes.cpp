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
  std::vector<http::FieldError> errors;
  std::string capability;
  auto cap = body.find("capability");
  if (cap == body.end())
    errors.push_back({"capability", "required"});
  else if (!cap->is_string() || !control::valid_capability(cap->get_ref<const std::string&>()))
    errors.push_back({"capability", "expected [a-z0-9_.:-]{1,64}"});
  else
    capability = cap->get<std::string>();
  std::string scope;
  if (auto it = body.find("scope"); it != body.end() && !it->is_null()) {
    if (!it->is_string())
      errors.push_back({"scope", "expected a comma-separated string of patterns"});
    else
      scope = it->get<std::string>();
  }
  int64_t ttl_secs = 3600;
  if (auto it = body.find("ttl_secs"); it != body.end() && !it->is_null()) {
    if (auto n = control::integral_in_range(*it, 1, 86400))
      ttl_secs = *n;
    else
      errors.push_back({"ttl_secs", "expected an integer in [1,86400]"});
  }
  std::optional<int64_t> budget;
  if (auto it = body.find("budget"); it != body.end() && !it->is_null()) {
    if (auto n = control::integral_in_range(*it, 1, 1000000))
      budget = *n;
    else
      errors.push_back({"budget", "expected an integer in [1,1000000] or null"});
  }
  if (!errors.empty()) return http::validation_failed(req, errors);
  try {
    return http::json_response(
        req, 201, app.leases->create(capability, scope, ttl_secs * 1000, budget, req.request_id));
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
  router.add(json_route("POST", "/leases",
              [&app](const Request& r) { return create_lease(app, r); }));
  router.add({"GET", "/state/leases", Access::Admin,
              [&app](const Request& r) { return list_leases(app, r); }, 0, true});
  router.add({"DELETE", "/leases/{id}", Access::Admin,
              [&app](const Request& r) { return revoke_lease(app, r); }});
}

}  // namespace tpark
