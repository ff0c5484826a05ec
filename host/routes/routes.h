// Route registration, one function per area. Each handler is a plain function
// from a parsed Request to a Response (host/http/http_types.h).
#pragma once

#include "app/app_context.h"
#include "http/http_types.h"

namespace tpark {

// /healthz, /readyz, /about, /admin/plugins, /admin/plugins/reload, /metrics
void add_host_routes(http::Router& router, AppContext& app);
// POST /events/ingest, GET /state/events (telemetry.md 1.3, 1.5)
void add_event_routes(http::Router& router, AppContext& app);
// GET /state/training/telemetry (telemetry.md 2)
void add_telemetry_routes(http::Router& router, AppContext& app);
// The telemetry snapshot body that route serves; also what exporters that
// want snapshots receive (ABI 1.1 TP_EXPORT_SNAPSHOT).
std::string telemetry_snapshot_body(AppContext& app);
// GET /state/route_stats (telemetry.md 4)
void add_route_stats_routes(http::Router& router, AppContext& app);

}  // namespace tpark
