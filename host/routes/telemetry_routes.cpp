// GET /state/training/telemetry (telemetry.md 2), built by
// telemetry/training_snapshot. Everything after generated_ms is kept between
// changes (SnapshotCache), so a poll with nothing new costs a lookup and one
// copy, answered on the I/O thread (Route::inline_attempt); a render goes to
// the worker pool. generated and generated_ms are written fresh for every
// response.
#include "config/config_state.h"
#include "http/problem.h"
#include "plugins/plugin_manager.h"
#include "routes/routes.h"
#include "telemetry/host_telemetry.h"
#include "telemetry/training_snapshot.h"
#include "util/time.h"

namespace tpark {

using http::Access;
using http::Request;
using http::Response;

namespace {

Response snapshot_response(const Request& req, const CachedSnapshot& rest) {
  Response r = http::json_text_response(req, 200, training_snapshot_text(rest, now_ms()));
  r.set_header("Cache-Control", "no-store");
  return r;
}

// On the I/O thread: the held render when it is still current, else nullopt.
std::optional<Response> cached_snapshot(AppContext& app, const SnapshotCache& cache,
                                        const Request& req) {
  if (!app.telemetry) return std::nullopt;
  std::shared_ptr<const CachedSnapshot> rest =
      cache.find(app.telemetry->change_generation(), SnapshotCache::Clock::now());
  if (!rest) return std::nullopt;
  // Each response counts its unavailable sections, as a fresh render does.
  if (!rest->unavailable.empty()) app.telemetry->on_sections_rendered(rest->unavailable);
  return snapshot_response(req, *rest);
}

// On the worker pool: renders (the sections are plugin calls).
Response telemetry_snapshot(AppContext& app, SnapshotCache& cache, const Request& req) {
  if (auto held = cached_snapshot(app, cache, req)) return std::move(*held);
  // Read before rendering: a change during the render leaves the entry stale.
  const uint64_t generation = app.telemetry ? app.telemetry->change_generation() : 0;
  const auto now = SnapshotCache::Clock::now();
  bool reusable = false;
  auto rest = std::make_shared<const CachedSnapshot>(render_training_snapshot_rest(
      *app.plugins, app.telemetry, &reusable,
      [&app] { return app.config ? app.config->telemetry_config().dump() : std::string("null"); }));
  if (reusable && app.telemetry) cache.store(generation, now, rest);
  return snapshot_response(req, *rest);
}

}  // namespace

void add_telemetry_routes(http::Router& router, AppContext& app) {
  auto cache = std::make_shared<SnapshotCache>(
      std::chrono::milliseconds(app.settings.read_model_max_delay_ms));
  http::Route route{
      "GET",
      "/state/training/telemetry",
      Access::Admin,
      [&app, cache](const Request& req) { return telemetry_snapshot(app, *cache, req); },
      0,
      true};
  route.inline_attempt = [&app, cache](const Request& req) {
    return cached_snapshot(app, *cache, req);
  };
  router.add(std::move(route));
}

}  // namespace tpark
