// Route registration, one function per area. Each handler is a plain function
// from a parsed Request to a Response (host/http/http_types.h).
#pragma once

#include <optional>
#include <string>
#include <utility>

#include "routes/app_context.h"
#include "http/http_types.h"

namespace tpark {
namespace control {
struct CapsuleOutcome;
}

// Every area below, in the order served (the host's route table).
void add_all_routes(http::Router& router, AppContext& app);

// An admin route whose body is JSON (http::Route::json_body).
inline http::Route json_route(std::string method, std::string path_template, http::Handler handler) {
  http::Route route{std::move(method), std::move(path_template), http::Access::Admin,
                    std::move(handler)};
  route.json_body = true;
  return route;
}

// /healthz, /readyz, /about, /admin/plugins, /admin/plugins/reload, /metrics
void add_host_routes(http::Router& router, AppContext& app);
// POST /events/ingest, GET /state/events (telemetry.md 1.3, 1.5)
void add_event_routes(http::Router& router, AppContext& app);
// GET /state/training/telemetry (telemetry.md 2)
void add_telemetry_routes(http::Router& router, AppContext& app);
// GET /state/route_stats (telemetry.md 4)
void add_route_stats_routes(http::Router& router, AppContext& app);
// GET /state/config[/snapshots], GET /state/presets, POST /admin/presets/reload,
// GET /admin/governor/profile|hints (control.md 1.6)
void add_config_routes(http::Router& router, AppContext& app);
// GET /events (SSE, telemetry.md 7) and GET /state/read_models/{id} (§6)
void add_live_routes(http::Router& router, AppContext& app);

// POST /actions, GET /actions/{id}, GET /state/actions, POST /actions/{id}/state,
// staging list/approve/deny, governor POSTs (control.md 2.3, 4.1, 4.2, 4.5)
void add_action_routes(http::Router& router, AppContext& app);
// POST /leases, GET /state/leases, DELETE /leases/{id} (control.md 4.3)
void add_lease_routes(http::Router& router, AppContext& app);
// GET /state/policy, the policy capsule routes (control.md 4.4, 4.7)
void add_policy_routes(http::Router& router, AppContext& app);
// Training jobs, the mini-agent catalog and the logic-unit reads (control.md 1.6, 5)
void add_training_routes(http::Router& router, AppContext& app);
// GET / (redirect), /ui/training (the web page), /ui/{file}, /ui/vendor/{file}
// (docs/ui.md)
void add_ui_routes(http::Router& router, AppContext& app);
// Admin requests carrying X-ARW-Capsule adopt it first; X-ARW-Gate gets 410
// (control.md 4.7). nullopt: go on to the handler.
std::optional<http::Response> capsule_headers(AppContext& app, const http::Request& request);
// Any request carrying a non-empty X-ARW-Gate gets 410 capsule_header_legacy,
// public routes included (control.md 4.7). nullopt: go on.
std::optional<http::Response> legacy_gate_header(const http::Request& request);
// The reply to a capsule adoption: 200, 400 invalid_capsule or 403.
http::Response capsule_response(const http::Request& request, const control::CapsuleOutcome& outcome);

}  // namespace tpark
