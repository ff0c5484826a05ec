// Training jobs and logic units (control.md 1.6, 5): start, list, view and
// cancel jobs, the mini-agent catalog, and the logic-unit reads.
#include <charconv>
#include <cstdint>

#include "config/config_state.h"
#include "control/actions.h"
#include "control/validation.h"
#include "http/json_body.h"
#include "http/problem.h"
#include "kernel/journal.h"
#include "routes/query_params.h"
#include "routes/routes.h"
#include "training/job_status.h"
#include "training/logic_units.h"
#include "training/training_service.h"
#include "util/time.h"

namespace tpark {

using http::Access;
using http::Request;
using http::Response;

namespace {

// Every JSON body of this file: the host's one request-body parser.
http::ParsedBody parse_body(const Request& req) {
  return http::parse_json_body(req.body);
}

Response unavailable(const Request& req) {
  return http::problem(req, 503, "unavailable",
                       "the database commit failed; nothing was acknowledged");
}

Response start_training(AppContext& app, const Request& req) {
  http::ParsedBody parsed = parse_body(req);
  if (!parsed.document) return http::malformed_json(req, parsed.error_message, parsed.error_offset);
  auto outcome = training::parse_start_request(*parsed.document);
  if (auto* errors = std::get_if<std::vector<training::StartError>>(&outcome)) {
    std::vector<http::FieldError> fields;
    for (const auto& error : *errors) fields.push_back({error.field, error.message});
    return http::validation_failed(req, fields);
  }
  try {
    return http::json_response(
        req, 202,
        app.training->create_job(std::get<training::StartRequest>(outcome), req.request_id));
  } catch (const JournalUnavailable&) {
    return unavailable(req);
  }
}

Response list_jobs(AppContext& app, const Request& req) {
  std::vector<http::FieldError> errors;
  auto limit = query_integer(req, "limit", 1, 1000, 200, errors);
  auto offset = query_integer(req, "offset", 0, INT64_MAX, 0, errors);
  std::optional<std::string> status;
  if (auto raw = req.query_one("status"); raw && !raw->empty()) {
    static const char* kSlugs[] = {"queued", "running",   "completed",
                                   "failed", "cancelled", "unknown"};
    if (std::find_if(std::begin(kSlugs), std::end(kSlugs),
                     [&](const char* slug) { return *raw == slug; }) == std::end(kSlugs))
      errors.push_back(
          {"status", "expected one of queued, running, completed, failed, cancelled, unknown"});
    else
      status = *raw;
  }
  if (!errors.empty()) return http::validation_failed(req, errors);
  return http::json_response(req, 200, app.training->list_jobs(*limit, *offset, status));
}

Response get_job(AppContext& app, const Request& req) {
  auto job = app.training->job(req.path_params.at("id"));
  if (!job) return http::problem(req, 404, "not_found", "no training job with this id");
  return http::json_response(req, 200, *job);
}

Response cancel_job(AppContext& app, const Request& req) {
  http::ParsedBody parsed = parse_body(req);
  if (!parsed.document) return http::malformed_json(req, parsed.error_message, parsed.error_offset);
  const Json& body = *parsed.document;
  if (!body.is_object()) return http::validation_failed(req, {{"", "expected a JSON object"}});
  std::optional<std::string> reason;
  if (auto it = body.find("reason"); it != body.end() && !it->is_null()) {
    if (!it->is_string() || it->get_ref<const std::string&>().size() > 1024)
      return http::validation_failed(req,
                                     {{"reason", "expected a string of at most 1024 characters"}});
    reason = it->get<std::string>();
  }
  const std::string id = req.path_params.at("id");
  try {
    auto outcome = app.training->cancel_job(id, reason, req.request_id);
    switch (outcome.result) {
      case training::CancelResult::NotFound:
        return http::problem(req, 404, "not_found", "no training job with this id");
      case training::CancelResult::Terminal:
        return http::problem(req, 409, "conflict", "the job is already " + outcome.state,
                             {{"state", outcome.state}});
      case training::CancelResult::Cancelled:
        break;
    }
  } catch (const JournalUnavailable&) {
    return unavailable(req);
  }
  return http::json_response(req, 200,
                             {{"id", id},
                              {"status", "cancelled"},
                              {"status_slug", "cancelled"},
                              {"status_label", "Cancelled"}});
}

Response list_units(AppContext& app, const Request& req) {
  std::vector<http::FieldError> errors;
  auto limit = query_integer(req, "limit", 1, 1000, 200, errors);
  std::optional<std::string> status;
  if (auto raw = req.query_one("status"); raw && !raw->empty()) {
    if (*raw != "suggested" && *raw != "installed" && *raw != "applied" && *raw != "reverted")
      errors.push_back({"status", "expected one of suggested, installed, applied, reverted"});
    else
      status = *raw;
  }
  if (!errors.empty()) return http::validation_failed(req, errors);
  return http::json_response(req, 200, app.training->list_logic_units(*limit, status));
}

Response get_unit(AppContext& app, const Request& req) {
  auto unit = app.training->logic_unit(req.path_params.at("id"));
  if (!unit) return http::problem(req, 404, "not_found", "no logic unit with this id");
  return http::json_response(req, 200, *unit);
}

// RFC 4180: a field with a comma, quote or line break is quoted, quotes doubled.
std::string csv_field(const std::string& text) {
  if (text.find_first_of(",\"\r\n") == std::string::npos) return text;
  std::string out = "\"";
  for (char c : text) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string csv_value(const Json& payload, const char* key) {
  auto it = payload.find(key);
  if (it == payload.end() || it->is_null()) return "";
  return csv_field(it->is_string() ? it->get<std::string>() : it->dump());
}

// GET /state/training/actions (control.md 7).
Response training_history(AppContext& app, const Request& req) {
  static const char* kKinds[] = {"suggested", "installed", "dry_run", "applied", "reverted"};
  std::vector<http::FieldError> errors;
  const auto download_param = req.query_one("download");
  const bool download = download_param && (*download_param == "1" || *download_param == "true");
  const int64_t max_limit = download ? static_cast<int64_t>(app.training->history_max()) : 1000;
  auto limit = query_integer(req, "limit", 1, max_limit, download ? max_limit : 50, errors);
  auto offset = query_integer(req, "offset", 0, INT64_MAX, 0, errors);
  training::HistoryQuery query;
  if (auto since = req.query_one("since"); since && !since->empty()) {
    int64_t seq = 0;
    auto [ptr, ec] = std::from_chars(since->data(), since->data() + since->size(), seq);
    if (ec == std::errc() && ptr == since->data() + since->size() && seq >= 0)
      query.since_seq = seq;
    else if (auto ms = parse_rfc3339_ms(*since))
      query.since_time_ms = *ms;
    else
      errors.push_back({"since", "expected a seq (integer >= 0) or an RFC 3339 time"});
  }
  if (auto kinds = req.query_one("kind"); kinds && !kinds->empty()) {
    size_t start = 0;
    while (start <= kinds->size()) {
      size_t end = kinds->find(',', start);
      if (end == std::string::npos) end = kinds->size();
      std::string kind = kinds->substr(start, end - start);
      if (kind.rfind("logic.unit.", 0) == 0) kind = kind.substr(11);
      if (std::find_if(std::begin(kKinds), std::end(kKinds),
                       [&](const char* k) { return kind == k; }) == std::end(kKinds)) {
        errors.push_back({"kind",
                          "expected a CSV of suggested, installed, dry_run, applied, "
                          "reverted (or their logic.unit. names)"});
        break;
      }
      query.kinds.push_back("logic.unit." + kind);
      start = end + 1;
    }
  }
  std::string format = req.query_one("format").value_or("json");
  if (format != "json" && format != "ndjson" && format != "csv")
    errors.push_back({"format", "expected one of json, ndjson, csv"});
  if (!errors.empty()) return http::validation_failed(req, errors);
  query.limit = *limit;
  query.offset = *offset;
  const training::HistoryPage page = app.training->history(query);

  Response response;
  if (format == "json") {
    const int64_t next = *offset + static_cast<int64_t>(page.items.size());
    response = http::json_response(
        req, 200,
        {{"items", page.items},
         {"total", page.total},
         {"limit", *limit},
         {"offset", *offset},
         {"next_offset", next < page.total ? Json(next) : Json(nullptr)},
         {"latest_seq", page.latest_seq ? Json(*page.latest_seq) : Json(nullptr)}});
  } else if (format == "ndjson") {
    response.content_type = "application/x-ndjson";
    for (const auto& item : page.items) response.body += item.dump() + "\n";
  } else {
    response.content_type = "text/csv; charset=utf-8";
    response.body = "seq,time,kind,id,job_id,action_id,snapshot_id,via,changed,payload\r\n";
    for (const auto& item : page.items) {
      const Json& payload = item["payload"];
      response.body += std::to_string(item["seq"].get<int64_t>()) + "," +
                       item["time"].get<std::string>() + "," + item["kind"].get<std::string>() +
                       "," + csv_value(payload, "id") + "," + csv_value(payload, "job_id") + "," +
                       csv_value(payload, "action_id") + "," + csv_value(payload, "snapshot_id") +
                       "," + csv_value(payload, "via") + "," + csv_value(payload, "changed") + "," +
                       csv_field(payload.dump()) + "\r\n";
    }
  }
  if (download) {
    std::string stamp = format_rfc3339_ms(now_ms());  // 2026-01-01T00:00:00.000Z
    stamp = stamp.substr(0, 4) + stamp.substr(5, 2) + stamp.substr(8, 2) + "T" +
            stamp.substr(11, 2) + stamp.substr(14, 2) + stamp.substr(17, 2) + "Z";
    response.set_header("Content-Disposition",
                        "attachment; filename=\"training_actions_" + stamp + "." + format + "\"");
  }
  return response;
}

std::vector<http::FieldError> field_errors(const std::vector<training::FieldProblem>& problems) {
  std::vector<http::FieldError> out;
  for (const auto& p : problems) out.push_back({p.field, p.message});
  return out;
}

// `via` (control.md 7): the body's, else the X-ARW-Via header, else "api".
std::optional<std::string> via_of(const Request& req, const Json& body,
                                  std::vector<http::FieldError>& errors) {
  auto valid = [](const std::string& v) {
    if (v.empty() || v.size() > 32) return false;
    for (char c : v)
      if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-')) return false;
    return true;
  };
  if (auto it = body.find("via"); it != body.end() && !it->is_null()) {
    if (it->is_string() && valid(it->get<std::string>())) return it->get<std::string>();
    errors.push_back({"via", "expected [a-z0-9_-]{1,32}"});
    return std::nullopt;
  }
  if (auto header = req.headers.get("x-arw-via"); header && valid(std::string(*header)))
    return std::string(*header);
  return std::string("api");
}

// A patch computation's refusal as its problem.
Response patch_problem(const Request& req, const training::PatchOutcome& out) {
  using R = training::PatchOutcome::Result;
  switch (out.result) {
    case R::Invalid:
      return http::validation_failed(req, field_errors(out.errors));
    case R::Conflict:
      return http::problem(req, 409, "conflict",
                           out.errors.front().field + ": " + out.errors.front().message,
                           {{"state", "conflict"}});
    case R::SafetyFailed:
      return http::problem(req, 400, "patch_safety_failed",
                           "the safety scan found issues (ARW_PATCH_SAFETY=enforce)",
                           {{"issues", out.body["issues"]}});
    case R::NotFound:
      return http::problem(req, 404, "not_found", "no logic unit with this id");
    default:
      return http::problem(
          req, 503, "unavailable",
          out.errors.empty() ? "the applier is unavailable" : out.errors.front().message);
  }
}

// An action submitted for a logic-unit route: the pipeline's answer, then
// up to ARW_ACTION_WAIT_MS for the result (control.md 6.3).
Response run_logic_action(AppContext& app, const Request& req, const std::string& kind, Json input,
                          std::optional<std::string> idem_key, const std::string& via) {
  control::SubmitRequest submit{kind, std::move(input), std::move(idem_key), req.request_id, via};
  control::SubmitOutcome out;
  try {
    out = app.actions->submit(submit);
  } catch (const JournalUnavailable&) {
    return unavailable(req);
  }
  using R = control::SubmitOutcome::Result;
  switch (out.result) {
    case R::UnknownKind:
    case R::InputInvalid: {
      auto errors = out.errors;
      for (auto& e : errors)
        if (e.field.rfind("input.", 0) == 0) e.field = e.field.substr(6);
      return http::validation_failed(req, errors);
    }
    case R::IdemConflict:
      return http::problem(req, 409, "conflict",
                           "idem_key was already used for this kind with a different input",
                           {{"state", out.state}, {"id", out.id}});
    case R::Denied:
      return http::problem(
          req, 403, "lease_required", "Denied (lease required)",
          {{"require_capability", out.require_capability}, {"explain", out.explain}});
    case R::QueueFull: {
      Response r = http::problem(req, 429, "queue_full", "the action queue is full",
                                 {{"limit", out.queue_limit}, {"queued", out.queued}});
      r.set_header("Retry-After", "1");
      return r;
    }
    case R::Staged:
      return http::json_response(req, 202,
                                 {{"ok", true},
                                  {"staged", true},
                                  {"action_id", out.id},
                                  {"state", "staged"},
                                  {"evidence", out.evidence}});
    default:
      break;
  }
  auto row = app.actions->wait_settled(out.id, app.actions->settings().action_wait_ms);
  const std::string state = row ? (*row)["state"].get<std::string>() : out.state;
  if (row && state == "completed") {
    Json body = {{"ok", true}};
    const Json& output = (*row)["output"];
    if (output.is_object())
      for (auto it = output.begin(); it != output.end(); ++it) body[it.key()] = it.value();
    body["action_id"] = out.id;
    return http::json_response(req, 200, body);
  }
  if (row && state == "failed")
    return http::problem(req, 409, "conflict",
                         "the action failed: " + (*row)["error"].get<std::string>(),
                         {{"state", "failed"}, {"action_id", out.id}});
  return http::json_response(req, 202, {{"ok", true}, {"action_id", out.id}, {"state", state}});
}

std::optional<std::string> idem_key_of(const Json& body, std::vector<http::FieldError>& errors) {
  auto it = body.find("idem_key");
  if (it == body.end() || it->is_null()) return std::nullopt;
  if (!it->is_string() || !control::valid_idem_key(it->get_ref<const std::string&>())) {
    errors.push_back({"idem_key", "expected 1-128 printable ASCII characters"});
    return std::nullopt;
  }
  return it->get<std::string>();
}

Response install_unit(AppContext& app, const Request& req) {
  http::ParsedBody parsed = parse_body(req);
  if (!parsed.document) return http::malformed_json(req, parsed.error_message, parsed.error_offset);
  const Json& manifest = *parsed.document;
  const training::ManifestCheck check = training::validate_manifest(manifest);
  if (!check.errors.empty()) return http::validation_failed(req, field_errors(check.errors));
  std::vector<http::FieldError> errors;
  const auto via = via_of(req, Json::object(), errors);
  try {
    auto out = app.logic_units->install(manifest, via.value_or("api"), req.request_id);
    Json body = {
        {"id", manifest["id"]}, {"ok", true}, {"status", "installed"}, {"created", out.created}};
    if (!out.changed) body["changed"] = false;
    if (!out.warnings.empty()) body["warnings"] = out.warnings;
    return http::json_response(req, out.created ? 201 : 200, body);
  } catch (const JournalUnavailable&) {
    return unavailable(req);
  }
}

Response apply_unit(AppContext& app, const Request& req) {
  http::ParsedBody parsed = parse_body(req);
  if (!parsed.document) return http::malformed_json(req, parsed.error_message, parsed.error_offset);
  const Json& body = *parsed.document;
  if (!body.is_object()) return http::validation_failed(req, {{"", "expected a JSON object"}});
  std::vector<http::FieldError> errors;
  std::optional<std::string> id;
  if (auto it = body.find("id"); it != body.end() && !it->is_null()) {
    if (it->is_string() && !it->get_ref<const std::string&>().empty())
      id = it->get<std::string>();
    else
      errors.push_back({"id", "expected a non-empty string"});
  }
  bool dry_run = false;
  if (auto it = body.find("dry_run"); it != body.end() && !it->is_null()) {
    if (it->is_boolean())
      dry_run = it->get<bool>();
    else
      errors.push_back({"dry_run", "expected a boolean"});
  }
  const auto via = via_of(req, body, errors);
  const auto idem_key = idem_key_of(body, errors);
  Json patches;
  if (auto it = body.find("patches"); it != body.end() && !it->is_null()) {
    patches = *it;
    for (auto& e : field_errors(training::validate_patch_shapes(patches))) errors.push_back(e);
  } else if (!id) {
    errors.push_back({"patches", "required when id is absent"});
  }
  if (!errors.empty()) return http::validation_failed(req, errors);
  if (patches.is_null()) {
    std::string kind_error;
    auto stored = app.logic_units->unit_patches(*id, &kind_error);
    if (!stored) return http::problem(req, 404, "not_found", "no logic unit with this id");
    if (!kind_error.empty()) return http::validation_failed(req, {{"kind", kind_error}});
    patches = *stored;
  }
  const std::string label = id.value_or("inline");
  try {
    if (dry_run) {
      auto out = app.logic_units->dry_run(label, patches, *via, req.request_id);
      if (out.result != training::PatchOutcome::Result::Ok) return patch_problem(req, out);
      return http::json_response(req, 200, out.body);
    }
    // Refusals come before the action, so nothing is written for them.
    auto check = app.logic_units->check(patches);
    if (check.result != training::PatchOutcome::Result::Ok) return patch_problem(req, check);
  } catch (const JournalUnavailable&) {
    return unavailable(req);
  }
  return run_logic_action(app, req, "logic_unit.apply", {{"id", label}, {"patches", patches}},
                          idem_key, *via);
}

Response revert_unit(AppContext& app, const Request& req) {
  http::ParsedBody parsed = parse_body(req);
  if (!parsed.document) return http::malformed_json(req, parsed.error_message, parsed.error_offset);
  const Json& body = *parsed.document;
  if (!body.is_object()) return http::validation_failed(req, {{"", "expected a JSON object"}});
  std::vector<http::FieldError> errors;
  std::string snapshot_id;
  if (auto it = body.find("snapshot_id"); it == body.end() || !it->is_string())
    errors.push_back({"snapshot_id", "required: the snapshot id an apply returned"});
  else
    snapshot_id = it->get<std::string>();
  const auto via = via_of(req, body, errors);
  const auto idem_key = idem_key_of(body, errors);
  if (!errors.empty()) return http::validation_failed(req, errors);
  if (!app.config->snapshot(snapshot_id))
    return http::problem(req, 404, "not_found", "no config snapshot with this id");
  return run_logic_action(app, req, "logic_unit.revert", {{"snapshot_id", snapshot_id}}, idem_key,
                          *via);
}

Response promote_unit(AppContext& app, const Request& req) {
  http::ParsedBody parsed = parse_body(req);
  if (!parsed.document) return http::malformed_json(req, parsed.error_message, parsed.error_offset);
  const Json& body = *parsed.document;
  if (!body.is_object()) return http::validation_failed(req, {{"", "expected a JSON object"}});
  std::vector<http::FieldError> errors;
  std::string snapshot_id;
  if (auto it = body.find("snapshot_id"); it != body.end() && !it->is_null()) {
    if (it->is_string())
      snapshot_id = it->get<std::string>();
    else
      errors.push_back({"snapshot_id", "expected a snapshot id"});
  }
  // name, version and category are validated as in a manifest (6.1).
  Json probe = {
      {"id", "promote"},
      {"name", body.contains("name") ? body["name"] : Json(nullptr)},
      {"version", body.value("version", Json("1.0.0"))},
      {"category", body.value("category", Json("retrieval"))},
      {"patches", Json::array({{{"target", "env"}, {"op", "merge"}, {"value", Json::object()}}})}};
  if (!body.contains("name")) probe.erase("name");
  for (const auto& e : training::validate_manifest(probe).errors)
    errors.push_back({e.field, e.message});
  if (auto it = body.find("project");
      it != body.end() && !it->is_null() &&
      (!it->is_string() || it->get_ref<const std::string&>().size() > 128))
    errors.push_back({"project", "expected a string of at most 128 characters"});
  const auto via = via_of(req, body, errors);
  if (!errors.empty()) return http::validation_failed(req, errors);
  Json request = {
      {"name", probe["name"]}, {"version", probe["version"]}, {"category", probe["category"]}};
  if (body.contains("project") && body["project"].is_string()) request["project"] = body["project"];
  try {
    auto item = app.logic_units->promote(snapshot_id, request, *via, req.request_id);
    if (!item) return http::problem(req, 404, "not_found", "no config snapshot with this id");
    return http::json_response(req, 201, *item);
  } catch (const JournalUnavailable&) {
    return unavailable(req);
  }
}

}  // namespace

void add_training_routes(http::Router& router, AppContext& app) {
  router.add(json_route("POST", "/logic-units/promote",
                        [&app](const Request& r) { return promote_unit(app, r); }));
  router.add(json_route("POST", "/logic-units/install",
                        [&app](const Request& r) { return install_unit(app, r); }));
  router.add(json_route("POST", "/logic-units/apply",
                        [&app](const Request& r) { return apply_unit(app, r); }));
  router.add(json_route("POST", "/logic-units/revert",
                        [&app](const Request& r) { return revert_unit(app, r); }));
  router.add({"GET", "/state/training/actions", Access::Admin,
              [&app](const Request& r) { return training_history(app, r); }, 0, true});
  router.add(json_route("POST", "/orchestrator/mini_agents/start_training",
                        [&app](const Request& r) { return start_training(app, r); }));
  router.add({"GET", "/orchestrator/mini_agents", Access::Admin,
              [](const Request& r) {
                return http::json_response(r, 200, training::TrainingService::catalog());
              },
              0, true});
  router.add({"GET", "/state/orchestrator/jobs", Access::Admin,
              [&app](const Request& r) { return list_jobs(app, r); }, 0, true});
  router.add({"GET", "/state/orchestrator/jobs/{id}", Access::Admin,
              [&app](const Request& r) { return get_job(app, r); }, 0, true});
  router.add(json_route("POST", "/orchestrator/jobs/{id}/cancel",
                        [&app](const Request& r) { return cancel_job(app, r); }));
  router.add({"GET", "/logic-units", Access::Admin,
              [&app](const Request& r) { return list_units(app, r); }, 0, true});
  router.add({"GET", "/state/logic_units", Access::Admin,
              [&app](const Request& r) { return list_units(app, r); }, 0, true});
  router.add({"GET", "/logic-units/{id}", Access::Admin,
              [&app](const Request& r) { return get_unit(app, r); }, 0, true});
}

}  // namespace tpark
