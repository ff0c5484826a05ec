// GET /state/policy (control.md 4.4) and the policy capsule routes (4.7).
#include "control/actions.h"
#include "control/capsules.h"
#include "control/validation.h"
#include "http/problem.h"
#include "kernel/journal.h"
#include "routes/routes.h"

namespace tpark {

using http::Access;
using http::Request;
using http::Response;

namespace {

Response unavailable(const Request& req) {
  return http::problem(req, 503, "unavailable",
                       "the database commit failed; nothing was acknowledged");
}

Response adopt(AppContext& app, const Request& req) {
  http::ParsedBody parsed = http::parse_json_body(req.body);
  if (!parsed.document) return http::malformed_json(req, parsed.error_message, parsed.error_offset);
  try {
    return capsule_response(req, app.capsules->adopt(*parsed.document, req.request_id));
  } catch (const JournalUnavailable&) {
    return unavailable(req);
  }
}

Response teardown(AppContext& app, const Request& req) {
  http::ParsedBody parsed = http::parse_json_body(req.body);
  if (!parsed.document) return http::malformed_json(req, parsed.error_message, parsed.error_offset);
  const Json& body = *parsed.document;
  if (!body.is_object()) return http::validation_failed(req, {{"", "expected a JSON object"}});
  control::TeardownBody wanted = control::validate_teardown_body(body);
  if (!wanted.errors.empty()) return http::validation_failed(req, wanted.errors);
  try {
    return http::json_response(
        req, 200, app.capsules->teardown(wanted.ids, wanted.all, wanted.dry_run, req.request_id));
  } catch (const JournalUnavailable&) {
    return unavailable(req);
  }
}

}  // namespace

Response capsule_response(const Request& req, const control::CapsuleOutcome& out) {
  using R = control::CapsuleOutcome::Result;
  switch (out.result) {
    case R::Invalid:
      return http::problem(req, 400, "invalid_capsule", out.detail,
                           {{"errors", [&] {
                               Json list = Json::array();
                               for (const auto& e : out.errors)
                                 list.push_back({{"field", e.field},
                                                 {"pointer", http::field_to_pointer(e.field)},
                                                 {"message", e.message}});
                               return list;
                             }()}});
    case R::VerificationFailed:
      return http::problem(req, 403, "capsule_verification_failed", out.detail);
    case R::Adopted:
      break;
  }
  return http::json_response(req, 200, {{"ok", true}, {"capsule", out.item}});
}

std::optional<Response> legacy_gate_header(const Request& req) {
  // An empty X-ARW-Gate carries no capsule and is treated as absent (it is
  // still counted in compatibility.legacy_capsule_headers).
  auto gate = req.headers.get("x-arw-gate");
  if (gate && gate->find_first_not_of(" \t") != std::string_view::npos)
    return http::problem(req, 410, "capsule_header_legacy",
                         "X-ARW-Gate is no longer supported; send X-ARW-Capsule or POST "
                         "/admin/policy/capsules/adopt");
  return std::nullopt;
}

std::optional<Response> capsule_headers(AppContext& app, const Request& req) {
  if (auto refused = legacy_gate_header(req)) return refused;
  auto capsule = req.headers.get("x-arw-capsule");
  if (!capsule || !app.capsules) return std::nullopt;
  try {
    auto out = app.capsules->adopt_header(std::string(*capsule), req.request_id);
    if (out.result != control::CapsuleOutcome::Result::Adopted) return capsule_response(req, out);
  } catch (const JournalUnavailable&) {
    return unavailable(req);
  }
  return std::nullopt;
}

void add_policy_routes(http::Router& router, AppContext& app) {
  router.add({"GET", "/state/policy", Access::Admin,
              [&app](const Request& r) {
                return http::json_response(r, 200, app.actions->settings().policy_state());
              },
              0, true});
  router.add(
      {"GET", "/state/policy/capsules", Access::Admin,
       [&app](const Request& r) { return http::json_response(r, 200, app.capsules->list()); }, 0,
       true});
  router.add(json_route("POST", "/admin/policy/capsules/adopt",
                        [&app](const Request& r) { return adopt(app, r); }));
  router.add(json_route("POST", "/admin/policy/capsules/teardown",
                        [&app](const Request& r) { return teardown(app, r); }));
}

}  // namespace tpark
