// The host's own telemetry: the core event counters, route statistics
// (telemetry.md §4), the task registry, the compatibility counter
// (§2.1 `events`, `bus`, `tasks`, `compatibility`), and the host's /metrics
// families (§8) mirrored from them.
//
// Feeds: the journal's commit sink (every committed event, in id order,
// before the bus and before the committing request is answered, so an
// answered ingest is already counted), the HTTP server's per-request hook,
// the ingest route's rejections, the snapshot's section statuses and the
// plugin manager's instance lifecycle. Counters mirrored into Prometheus are
// brought up to date at scrape time by adding what changed since the last
// scrape, so they stay monotonic.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "kernel/event.h"
#include "telemetry/route_stats.h"
#include "telemetry/tasks.h"
#include "util/json.h"

namespace tpark {

class Bus;
class MetricRegistry;
class PluginManager;
struct IngestRejection;
struct SectionRender;
namespace http {
struct Request;
}

// The `kind` label of arw_events_total keeps this many kinds (§8); later
// kinds share "other".
inline constexpr size_t kEventKindLabelMax = 512;
// events.kinds counts at most this many kinds by name per kind it lists
// (kinds_max): the first seen; later new kinds count straight into "other",
// so input cannot grow the map without bound.
inline constexpr size_t kEventKindsTrackedPerListed = 4;

struct HostTelemetryOptions {
  std::vector<uint64_t> route_bounds_ms = default_route_bounds_ms();  // ARW_ROUTE_HIST_MS
  size_t route_stats_max = kDefaultRouteStatsMax;                      // ARW_ROUTE_STATS_MAX
  size_t kinds_max = 512;  // ARW_EVENTS_KINDS_MAX: kinds listed in events.kinds
  int64_t started_ms = 0;  // host start (events.start)
};

class HostTelemetry {
 public:
  // Registers the host families on `metrics` (so their HELP and TYPE show
  // from the first scrape) and its scrape hook. Throws std::logic_error if a
  // family cannot be registered (a clash is a programming error).
  HostTelemetry(MetricRegistry& metrics, Bus& bus, HostTelemetryOptions options);
  ~HostTelemetry();  // removes the scrape hook
  HostTelemetry(const HostTelemetry&) = delete;
  HostTelemetry& operator=(const HostTelemetry&) = delete;

  // The plugins, for arw_plugin_* and the `cache` value of route_stats.
  // Set once after the manager exists; null until then.
  void set_plugins(PluginManager* plugins) { plugins_.store(plugins); }
  // The journal head at start (arw_events_journal_last_id before any commit).
  void set_journal_head(int64_t id);

  // Journal commit sink (writer thread): counts every event and records
  // valid http.route.sample payloads as source "ingest". Never blocks.
  void on_commit(const std::vector<EventPtr>& events);
  // HttpServer on_complete (I/O threads): the request under its route
  // template, X-ARW-Gate, and the ingest route's response code.
  void on_request(const http::Request& request, int status, int64_t latency_us);
  // The ingest route's rejected lines (arw_events_rejected_total).
  void on_ingest_rejections(std::string_view source, const std::vector<IngestRejection>& rejected);
  // Each telemetry snapshot: arw_telemetry_section_ok / _errors_total.
  void on_sections_rendered(const std::vector<SectionRender>& sections);

  TaskRegistry& tasks() { return tasks_; }
  const RouteStats& routes() const { return routes_; }

  // A number that changes whenever something the telemetry snapshot shows
  // may have changed (SnapshotCache): every commit, every request that is
  // not an observation request (telemetry.md §6), and note_change().
  uint64_t change_generation() const { return change_generation_.load(std::memory_order_acquire); }
  // Plugin starts and stops, reloads and section wake-ups (any thread).
  void note_change() { change_generation_.fetch_add(1, std::memory_order_acq_rel); }

  // §2.1 `bus`: {published, delivered, receivers, lagged, no_receivers}.
  Json bus_json() const;
  // §4 `events`: {start, total, kinds: map kind→u64}. At most kinds_max
  // kinds (the most counted, ties by kind) are listed; the rest, and the
  // kinds past the tracked cap, are summed under "other". Built once per
  // commit at most: calls between commits share the rendering.
  Json events_json() const;
  // §2.1 `compatibility`: {legacy_capsule_headers}.
  Json compatibility_json() const;
  // The §4 body {bus, events, routes: {by_path}, tasks, cache}; `cache` is
  // the cache section rendered now, or null without one.
  Json route_stats_body() const;

  // Brings the mirrored families up to date (the scrape hook). Waits
  // briefly for the bus to dispatch what is committed, so the bus counters
  // agree with the event counters of the same scrape.
  void export_metrics();

 private:
  struct Handles;
  struct Exported;

  MetricRegistry& metrics_;
  Bus& bus_;
  const HostTelemetryOptions options_;
  std::unique_ptr<Handles> handles_;
  uint64_t hook_id_ = 0;
  std::atomic<PluginManager*> plugins_{nullptr};

  RouteStats routes_;
  TaskRegistry tasks_;
  std::atomic<uint64_t> legacy_capsule_headers_{0};
  std::atomic<int64_t> journal_head_{0};
  std::atomic<int64_t> committed_id_{0};  // last id committed by this process, 0 before any
  std::atomic<uint64_t> change_generation_{0};

  // Core event counters, since start.
  mutable std::mutex events_mutex_;
  uint64_t events_total_ = 0;
  std::map<std::string, uint64_t, std::less<>> events_by_kind_;  // ≤ 4 × kinds_max
  uint64_t events_untracked_ = 0;  // kinds past the tracked cap
  mutable uint64_t events_json_total_ = 0;  // events_total_ when events_json_ was built
  mutable std::shared_ptr<const Json> events_kinds_json_;
  std::map<std::string, uint64_t, std::less<>> events_by_kind_label_;  // ≤ 512 kinds + "other"
  std::map<std::string, uint64_t, std::less<>> events_by_source_;

  // What the last scrape mirrored, so counters get deltas.
  std::mutex export_mutex_;
  std::unique_ptr<Exported> exported_;
};

}  // namespace tpark
