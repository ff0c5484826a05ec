// POST /actions and its reads, external state changes, staging decisions
// (control.md 4.1, 4.2, 4.5) and the governor POSTs that submit actions (2.3).
#include <algorithm>
#include <charconv>

#include <spdlog/spdlog.h>

#include "control/actions.h"
#include "control/validation.h"
#include "http/problem.h"
#include "kernel/journal.h"
#include "live/read_model_hub.h"
#include "routes/query_params.h"
#include "routes/routes.h"
#include "util/time.h"

namespace tpark {

using control::SubmitOutcome;
using http::Access;
using http::Request;
using http::Response;

namespace {

constexpr const char* kActionStates[] = {"staged",    "queued", "running",
                                         "completed", "failed", "denied"};

// The governor hint keys (control.md 2.2); other body keys are reported as ignored.
constexpr const char* kHintKeys[] = {"max_concurrency",
                                     "event_buffer",
                                     "http_timeout_secs",
                                     "slo_ms",
                                     "mode",
                                     "retrieval_k",
                                     "vote_k",
                                     "retrieval_div",
                                     "mmr_lambda",
                                     "compression_aggr",
                                     "context_budget_tokens",
                                     "context_item_budget_tokens",
                                     "context_format",
                                     "include_provenance",
                                     "context_item_template",
                                     "context_header",
                                     "context_footer",
                                     "joiner"};

Response unavailable(const Request& req) {
  return http::problem(req, 503, "unavailable",
                       "the database commit failed; nothing was acknowledged");
}

Response queue_full(const Request& req, uint64_t limit, uint64_t queued) {
  Response r = http::problem(req, 429, "queue_full", "the action queue is full",
                             {{"limit", limit}, {"queued", queued}});
  r.set_header("Retry-After", "1");
  return r;
}

// The problem for a submission that was not admitted; nullopt when it was.
std::optional<Response> submit_problem(const Request& req, const SubmitOutcome& out) {
  switch (out.result) {
    case SubmitOutcome::Result::UnknownKind:
    case SubmitOutcome::Result::InputInvalid:
      return http::validation_failed(req, out.errors);
    case SubmitOutcome::Result::IdemConflict:
      return http::problem(req, 409, "conflict",
                           "idem_key was already used for this kind with a different input",
                           {{"state", out.state}, {"id", out.id}});
    case SubmitOutcome::Result::Denied: {
      Response r =
          http::problem(req, 403, "lease_required", "Denied (lease required)",
                        {{"require_capability", out.require_capability}, {"explain", out.explain}});
      return r;
    }
    case SubmitOutcome::Result::QueueFull:
      return queue_full(req, out.queue_limit, out.queued);
    default:
      return std::nullopt;
  }
}

Response submit_action(AppContext& app, const Request& req) {
  control::ActionBody body = control::validate_action_body(req.body);
  if (body.malformed)
    return http::malformed_json(req, body.malformed_message, body.malformed_offset);
  if (!body.errors.empty()) return http::validation_failed(req, body.errors);
  control::SubmitRequest submit{body.kind, std::move(body.input), body.idem_key, req.request_id};
  SubmitOutcome out;
  try {
    out = app.actions->submit(submit);
  } catch (const JournalUnavailable&) {
    return unavailable(req);
  }
  if (auto problem = submit_problem(req, out)) return *problem;
  switch (out.result) {
    case SubmitOutcome::Result::Reused:
      return http::json_response(req, 200,
                                 {{"id", out.id},
                                  {"ok", true},
                                  {"staged", out.state == "staged"},
                                  {"state", out.state},
                                  {"reused", true}});
    case SubmitOutcome::Result::Staged:
      return http::json_response(
          req, 202,
          {{"id", out.id},
           {"ok", true},
           {"staged", true},
           {"state", "staged"},
           {"mode", control::staging_mode_name(app.actions->settings().staging_mode)},
           {"reused", false},
           {"evidence", out.evidence}});
    default:
      return http::json_response(req, 202,
                                 {{"id", out.id},
                                  {"ok", true},
                                  {"staged", false},
                                  {"state", "queued"},
                                  {"reused", false}});
  }
}

Response get_action(AppContext& app, const Request& req) {
  auto row = app.actions->action(req.path_params.at("id"));
  if (!row) return http::problem(req, 404, "not_found", "no action with this id");
  return http::json_response(req, 200, *row);
}

Response list_actions(AppContext& app, const Request& req) {
  std::vector<http::FieldError> errors;
  control::ActionFilter filter;
  if (auto state = req.query_one("state"); state && !state->empty()) {
    if (std::find(std::begin(kActionStates), std::end(kActionStates), *state) ==
        std::end(kActionStates))
      errors.push_back(
          {"state", "expected one of staged, queued, running, completed, failed, denied"});
    filter.state = *state;
  }
  if (auto kind = req.query_one("kind"); kind && !kind->empty()) {
    if (!control::valid_kind(*kind)) errors.push_back({"kind", "expected [a-z0-9_.:-]{1,128}"});
    filter.kind = *kind;
  }
  if (auto prefix = req.query_one("kind_prefix"); prefix && !prefix->empty()) {
    if (!control::valid_kind(*prefix))
      errors.push_back({"kind_prefix", "expected [a-z0-9_.:-]{1,128}"});
    filter.kind_prefix = *prefix;
  }
  if (auto since = req.query_one("updated_since"); since && !since->empty()) {
    filter.updated_since_ms = parse_rfc3339_ms(*since);
    if (!filter.updated_since_ms)
      errors.push_back({"updated_since", "expected an RFC 3339 date-time"});
  }
  auto limit = query_integer(req, "limit", 1, 2000, 100, errors);
  auto offset = query_integer(req, "offset", 0, INT64_MAX, 0, errors);
  if (!errors.empty()) return http::validation_failed(req, errors);
  filter.limit = *limit;
  filter.offset = *offset;
  // `version` is the actions read model's, materialised first; the model's own
  // view (no filter, the newest 200) takes its items from the same value, so
  // a client primed here can apply the model's next patch.
  auto model = app.read_models->materialise("actions");
  Json body = app.actions->list_actions(filter);
  const bool model_view = !filter.state && !filter.kind && !filter.kind_prefix &&
                          !filter.updated_since_ms && filter.limit == control::kActionsModelLimit &&
                          filter.offset == 0;
  Json reply = {{"version", model ? Json(model->version) : Json(nullptr)}};
  for (auto it = body.begin(); it != body.end(); ++it)
    reply[it.key()] =
        model_view && model && it.key() == "items" ? model->value["items"] : it.value();
  return http::json_response(req, 200, reply);
}

// A body that must be a JSON object (empty = {}); nullopt with `problem` set otherwise.
std::optional<Json> object_body(const Request& req, Response& problem) {
  http::ParsedBody parsed = http::parse_json_body(req.body);
  if (!parsed.document) {
    problem = http::malformed_json(req, parsed.error_message, parsed.error_offset);
    return std::nullopt;
  }
  if (!parsed.document->is_object()) {
    problem = http::validation_failed(req, {{"", "expected a JSON object"}});
    return std::nullopt;
  }
  return std::move(*parsed.document);
}

// An optional string field; records an error when present but not a string.
std::optional<std::string> optional_string(const Json& body, const char* name,
                                           std::vector<http::FieldError>& errors) {
  auto it = body.find(name);
  if (it == body.end() || it->is_null()) return std::nullopt;
  if (!it->is_string()) {
    errors.push_back({name, "expected a string"});
    return std::nullopt;
  }
  return it->get<std::string>();
}

Response decision_problem(const Request& req, const control::DecisionOutcome& out) {
  using R = control::DecisionOutcome::Result;
  switch (out.result) {
    case R::NotFound:
      return http::problem(req, 404, "not_found", "no such id");
    case R::Conflict:
      return http::problem(req, 409, "conflict", "not allowed in state " + out.state,
                           {{"state", out.state}});
    case R::QueueFull:
      return queue_full(req, out.queue_limit, out.queued);
    case R::InputInvalid:
      return http::validation_failed(req, out.errors);
    case R::Ok:
      break;
  }
  return http::problem(req, 500, "internal", "internal error");
}

Response set_action_state(AppContext& app, const Request& req) {
  Response problem;
  auto body = object_body(req, problem);
  if (!body) return problem;
  try {
    auto out = app.actions->set_external_state(req.path_params.at("id"), *body, req.request_id);
    if (out.result != control::DecisionOutcome::Result::Ok) return decision_problem(req, out);
    return http::json_response(req, 200, out.action);
  } catch (const JournalUnavailable&) {
    return unavailable(req);
  }
}

Response list_staging(AppContext& app, const Request& req) {
  std::vector<http::FieldError> errors;
  std::optional<std::string> status;
  if (auto value = req.query_one("status"); value && !value->empty()) {
    if (*value != "pending" && *value != "approved" && *value != "denied")
      errors.push_back({"status", "expected one of pending, approved, denied"});
    status = *value;
  }
  auto limit = query_integer(req, "limit", 1, 500, 100, errors);
  if (!errors.empty()) return http::validation_failed(req, errors);
  return http::json_response(req, 200, app.actions->list_staging(status, *limit));
}

Response decide(AppContext& app, const Request& req, bool approve) {
  Response problem;
  auto body = object_body(req, problem);
  if (!body) return problem;
  std::vector<http::FieldError> errors;
  auto decided_by = optional_string(*body, "decided_by", errors);
  auto reason = approve ? std::nullopt : optional_string(*body, "reason", errors);
  if (!errors.empty()) return http::validation_failed(req, errors);
  const std::string id = req.path_params.at("id");
  const std::string who = decided_by.value_or(app.actions->settings().staging_actor);
  try {
    auto out = approve ? app.actions->approve(id, who, req.request_id)
                       : app.actions->deny(id, reason, who, req.request_id);
    if (out.result != control::DecisionOutcome::Result::Ok) return decision_problem(req, out);
    return http::json_response(req, 200, {{"ok", true}, {"action_id", id}, {"state", out.state}});
  } catch (const JournalUnavailable&) {
    return unavailable(req);
  }
}

// A governor POST as an action (2.3): submit, then wait up to
// ARW_ACTION_WAIT_MS for the result.
Response governor_action(AppContext& app, const Request& req, const std::string& kind, Json input,
                         std::optional<std::string> idem_key, std::string via,
                         const std::function<std::string(const std::string&)>& field_of,
                         const Json& ignored) {
  control::SubmitRequest submit{kind, std::move(input), std::move(idem_key), req.request_id,
                                std::move(via)};
  SubmitOutcome out;
  try {
    out = app.actions->submit(submit);
  } catch (const JournalUnavailable&) {
    return unavailable(req);
  }
  if (out.result == SubmitOutcome::Result::InputInvalid) {
    for (auto& error : out.errors) error.field = field_of(error.field);
    return http::validation_failed(req, out.errors);
  }
  if (auto problem = submit_problem(req, out)) return *problem;
  if (out.result == SubmitOutcome::Result::Staged)
    return http::json_response(req, 202,
                               {{"ok", true},
                                {"staged", true},
                                {"action_id", out.id},
                                {"state", "staged"},
                                {"evidence", out.evidence}});
  auto row = app.actions->wait_settled(out.id, app.actions->settings().action_wait_ms);
  const std::string state = row ? (*row)["state"].get<std::string>() : out.state;
  if (row && state == "completed") {
    Json body = {{"ok", true}};
    const Json& output = (*row)["output"];
    if (output.is_object())
      for (auto it = output.begin(); it != output.end(); ++it) body[it.key()] = it.value();
    body["action_id"] = out.id;
    if (!ignored.is_null()) body["ignored"] = ignored;
    return http::json_response(req, 200, body);
  }
  if (row && state == "failed" && (*row)["error"] == control::kCommitFailedError)
    return unavailable(req);
  if (row && state == "failed")
    return http::problem(req, 409, "conflict",
                         "the action failed: " + (*row)["error"].get<std::string>(),
                         {{"state", "failed"}, {"action_id", out.id}});
  return http::json_response(req, 202, {{"ok", true}, {"action_id", out.id}, {"state", state}});
}

// Optional idem_key and via of a governor POST.
void governor_meta(const Json& body, std::optional<std::string>& idem_key, std::string& via,
                   std::vector<http::FieldError>& errors) {
  if (auto it = body.find("idem_key"); it != body.end() && !it->is_null()) {
    if (!it->is_string() || !control::valid_idem_key(it->get_ref<const std::string&>()))
      errors.push_back({"idem_key", "expected 1-128 printable ASCII characters"});
    else
      idem_key = it->get<std::string>();
  }
  if (auto v = optional_string(body, "via", errors)) via = *v;
}

Response post_governor_profile(AppContext& app, const Request& req) {
  Response problem;
  auto body = object_body(req, problem);
  if (!body) return problem;
  std::vector<http::FieldError> errors;
  std::string sent_as = body->contains("name") ? "name" : "profile";
  auto name = body->find(sent_as);
  if (name == body->end()) errors.push_back({"name", "required"});
  std::optional<std::string> idem_key;
  std::string via = "api";
  governor_meta(*body, idem_key, via, errors);
  if (!errors.empty()) return http::validation_failed(req, errors);
  return governor_action(
      app, req, "governor.profile.set", Json{{"profile", *name}}, idem_key, via,
      [&](const std::string& field) { return field == "input.profile" ? sent_as : field; },
      nullptr);
}

Response post_governor_hints(AppContext& app, const Request& req) {
  Response problem;
  auto body = object_body(req, problem);
  if (!body) return problem;
  std::vector<http::FieldError> errors;
  std::optional<std::string> idem_key;
  std::string via = "api";
  governor_meta(*body, idem_key, via, errors);
  if (!errors.empty()) return http::validation_failed(req, errors);
  Json hints = Json::object();
  Json ignored = Json::array();
  for (auto it = body->begin(); it != body->end(); ++it) {
    if (it.key() == "idem_key" || it.key() == "via") continue;
    if (std::find(std::begin(kHintKeys), std::end(kHintKeys), it.key()) != std::end(kHintKeys))
      hints[it.key()] = it.value();
    else
      ignored.push_back(it.key());
  }
  return governor_action(
      app, req, "governor.hints.set", Json{{"hints", std::move(hints)}}, idem_key, via,
      [](const std::string& field) {
        // The client sent the hints flat: input.hints.retrieval_k -> retrieval_k.
        static const std::string prefix = "input.hints.";
        return field.rfind(prefix, 0) == 0 ? field.substr(prefix.size()) : field;
      },
      ignored);
}

}  // namespace

void add_action_routes(http::Router& router, AppContext& app) {
  router.add(
      json_route("POST", "/actions", [&app](const Request& r) { return submit_action(app, r); }));
  router.add({"GET", "/actions/{id}", Access::Admin,
              [&app](const Request& r) { return get_action(app, r); }, 0, true});
  router.add(json_route("POST", "/actions/{id}/state",
                        [&app](const Request& r) { return set_action_state(app, r); }));
  router.add({"GET", "/state/actions", Access::Admin,
              [&app](const Request& r) { return list_actions(app, r); }, 0, true});
  router.add({"GET", "/state/staging/actions", Access::Admin,
              [&app](const Request& r) { return list_staging(app, r); }, 0, true});
  router.add(json_route("POST", "/staging/actions/{id}/approve",
                        [&app](const Request& r) { return decide(app, r, true); }));
  router.add(json_route("POST", "/staging/actions/{id}/deny",
                        [&app](const Request& r) { return decide(app, r, false); }));
  router.add(json_route("POST", "/admin/governor/profile",
                        [&app](const Request& r) { return post_governor_profile(app, r); }));
  router.add(json_route("POST", "/admin/governor/hints",
                        [&app](const Request& r) { return post_governor_hints(app, r); }));
  router.add(json_route("POST", "/governor/hints",
                        [&app](const Request& r) { return post_governor_hints(app, r); }));
}

}  // namespace tpark
