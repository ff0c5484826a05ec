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
// GET /state/route_stats (telemetry.md 4)
void add_route_stats_routes(http::Router& router, AppContext& app);
// GET /events (SSE, telemetry.md 7) and GET /state/read_models/{id} (§6)
void add_live_routes(http::Router& router, AppContext& app);

}  // namespace tpark
