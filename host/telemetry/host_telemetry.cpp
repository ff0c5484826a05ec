#include "telemetry/host_telemetry.h"

#include <algorithm>
#include <chrono>
#include <set>
#include <stdexcept>
#include <utility>

#include "http/http_types.h"
#include "kernel/bus.h"
#include "kernel/ingest.h"
#include "metrics/metric_registry.h"
#include "plugins/plugin_manager.h"
#include "util/time.h"

namespace tpark {

namespace {

constexpr std::string_view kRouteSampleKind = "http.route.sample";
// Kinds past a cap share this name; it has no dot, so no real kind is it.
constexpr std::string_view kOtherKind = "other";
constexpr std::string_view kIngestRoute = "/events/ingest";
// How long a scrape waits for the bus to catch up with the journal head.
constexpr std::chrono::milliseconds kScrapeDispatchWait{200};

// arw_events_ingest_requests_total counts these answers only (§8).
bool counted_ingest_code(int status) {
  return status == 200 || status == 401 || status == 413 || status == 415 || status == 503;
}

}  // namespace

struct HostTelemetry::Handles {
  uint64_t route_latency = 0, route_hits = 0, route_errors = 0;
  uint64_t route_ewma = 0, route_p95 = 0, route_max = 0;
  uint64_t events_total = 0, events_ingested = 0, events_rejected = 0, ingest_requests = 0;
  uint64_t journal_last_id = 0;
  uint64_t bus_published = 0, bus_delivered = 0, bus_lagged = 0, bus_no_receivers = 0;
  uint64_t bus_receivers = 0;
  uint64_t task_started = 0, task_completed = 0, task_aborted = 0;
  uint64_t task_inflight = 0, task_restarts_window = 0;
  uint64_t legacy_capsule_headers = 0;
  uint64_t plugin_info = 0, plugin_up = 0;
  uint64_t section_ok = 0, section_errors = 0;
};

// What the last scrape mirrored. Guarded by export_mutex_.
struct HostTelemetry::Exported {
  uint64_t bus_published = 0, bus_delivered = 0, bus_lagged = 0, bus_no_receivers = 0;
  uint64_t legacy_capsule_headers = 0;
  std::map<std::string, uint64_t, std::less<>> events_by_kind_label, events_by_source;
  uint64_t events_total = 0;   // events_total_ when the maps above were compared
  uint64_t route_records = 0;  // RouteStats records mirrored so far
  struct Route {
    bool exported = false;  // its series exist; unchanged aggregates are skipped
    uint64_t hits = 0, errors = 0;
    std::vector<uint64_t> bucket_counts;
    double sum_ms = 0.0;
  };
  std::map<std::pair<std::string, RouteSource>, Route> routes;
  struct Task {
    uint64_t started = 0, completed = 0, aborted = 0;
  };
  std::map<std::string, Task> tasks;
  std::set<std::pair<std::string, std::string>> plugin_info;  // (plugin, version)
  std::set<std::string> plugin_up;
};

HostTelemetry::HostTelemetry(MetricRegistry& metrics, Bus& bus, HostTelemetryOptions options)
    : metrics_(metrics),
      bus_(bus),
      options_(std::move(options)),
      handles_(std::make_unique<Handles>()),
      routes_(options_.route_bounds_ms, options_.route_stats_max),
      tasks_([] { return now_ms(); }),
      exported_(std::make_unique<Exported>()) {
  auto reg = [&](MetricType type, std::string_view name, std::string_view help,
                 std::vector<std::string> labels, std::vector<double> buckets = {}) {
    std::string error;
    const uint64_t handle = metrics_.register_family(type, name, help, labels, buckets, &error);
    if (handle == 0) throw std::logic_error("cannot register " + std::string(name) + ": " + error);
    return handle;
  };
  using T = MetricType;
  Handles& h = *handles_;
  std::vector<double> latency_bounds_s;
  for (uint64_t bound_ms : options_.route_bounds_ms)
    latency_bounds_s.push_back(static_cast<double>(bound_ms) / 1000.0);
  const std::vector<std::string> route_labels = {"path", "source"};
  h.route_latency = reg(T::Histogram, "arw_route_latency_seconds",
                        "Request latency by route template and source", route_labels,
                        latency_bounds_s);
  h.route_hits = reg(T::Counter, "arw_route_hits_total", "Requests by route template and source",
                     route_labels);
  h.route_errors = reg(T::Counter, "arw_route_errors_total",
                       "Requests answered with a status >= 400 by route template and source",
                       route_labels);
  h.route_ewma = reg(T::Gauge, "arw_route_ewma_seconds",
                     "Exponentially weighted moving average latency (0.8/0.2) by route",
                     route_labels);
  h.route_p95 = reg(T::Gauge, "arw_route_p95_seconds",
                    "95th percentile latency (bucket bound, at most the max) by route",
                    route_labels);
  h.route_max = reg(T::Gauge, "arw_route_max_seconds", "Largest latency seen by route",
                    route_labels);
  h.events_total = reg(T::Counter, "arw_events_total", "Events journaled since start by kind",
                       {"kind"});
  h.events_ingested = reg(T::Counter, "arw_events_ingested_total",
                          "Events accepted into the journal by source", {"source"});
  h.events_rejected = reg(T::Counter, "arw_events_rejected_total",
                          "Ingested lines and messages rejected by source and reason",
                          {"source", "reason"});
  h.ingest_requests = reg(T::Counter, "arw_events_ingest_requests_total",
                          "POST /events/ingest requests by response code", {"code"});
  h.journal_last_id = reg(T::Gauge, "arw_events_journal_last_id", "The journal head id", {});
  h.bus_published = reg(T::Counter, "arw_bus_published_total", "Events dispatched by the bus", {});
  h.bus_delivered = reg(T::Counter, "arw_bus_delivered_total",
                        "Event deliveries accepted by bus subscribers", {});
  h.bus_lagged = reg(T::Counter, "arw_bus_lagged_total",
                     "Events dropped because a subscriber's queue was full", {});
  h.bus_no_receivers = reg(T::Counter, "arw_bus_no_receivers_total",
                           "Events no bus subscriber wanted", {});
  h.bus_receivers = reg(T::Gauge, "arw_bus_receivers", "Current bus subscribers", {});
  h.task_started = reg(T::Counter, "arw_task_started_total", "Host task starts", {"task"});
  h.task_completed = reg(T::Counter, "arw_task_completed_total", "Host task clean stops",
                         {"task"});
  h.task_aborted = reg(T::Counter, "arw_task_aborted_total",
                       "Host tasks that failed or were abandoned", {"task"});
  h.task_inflight = reg(T::Gauge, "arw_task_inflight", "Host tasks running", {"task"});
  h.task_restarts_window = reg(T::Gauge, "arw_task_restarts_window",
                               "Host task restarts within the last 30 seconds", {"task"});
  h.legacy_capsule_headers = reg(T::Counter, "arw_legacy_capsule_headers_total",
                                 "Requests carrying the legacy X-ARW-Gate header", {});
  h.plugin_info = reg(T::Gauge, "arw_plugin_info", "1 for each loaded plugin",
                      {"plugin", "version"});
  h.plugin_up = reg(T::Gauge, "arw_plugin_up", "1 while a loaded plugin is healthy, else 0",
                    {"plugin"});
  h.section_ok = reg(T::Gauge, "arw_telemetry_section_ok",
                     "1 if the section rendered in the last telemetry snapshot, else 0",
                     {"section"});
  h.section_errors = reg(T::Counter, "arw_telemetry_section_errors_total",
                         "Telemetry section failures by error code", {"section", "error"});
  hook_id_ = metrics_.add_render_hook([this] { export_metrics(); });
}

HostTelemetry::~HostTelemetry() {
  metrics_.remove_render_hook(hook_id_);
}

void HostTelemetry::set_journal_head(int64_t id) {
  int64_t current = journal_head_.load();
  while (id > current && !journal_head_.compare_exchange_weak(current, id)) {
  }
}

void HostTelemetry::on_commit(const std::vector<EventPtr>& events) {
  if (events.empty()) return;
  {
    std::lock_guard lock(events_mutex_);
    events_total_ += events.size();
    // A batch is mostly runs of one kind from one source: one lookup per run.
    for (size_t first = 0; first < events.size();) {
      const std::string& kind_text = events[first]->kind;
      size_t end = first + 1;
      while (end < events.size() && events[end]->kind == kind_text) ++end;
      const uint64_t run = end - first;
      auto kind = events_by_kind_.find(kind_text);
      if (kind == events_by_kind_.end() &&
          events_by_kind_.size() < options_.kinds_max * kEventKindsTrackedPerListed)
        kind = events_by_kind_.emplace(kind_text, 0).first;
      if (kind != events_by_kind_.end())
        kind->second += run;
      else
        events_untracked_ += run;
      // The label registry only grows: a kind keeps the label it got first.
      auto label = events_by_kind_label_.find(kind_text);
      if (label == events_by_kind_label_.end()) {
        const size_t named =
            events_by_kind_label_.size() - events_by_kind_label_.count(kOtherKind);
        const std::string_view key =
            named < kEventKindLabelMax ? std::string_view(kind_text) : kOtherKind;
        label = events_by_kind_label_.find(key);
        if (label == events_by_kind_label_.end())
          label = events_by_kind_label_.emplace(std::string(key), 0).first;
      }
      label->second += run;
      for (size_t i = first; i < end;) {
        const std::string& source_text = events[i]->source;
        size_t source_end = i + 1;
        while (source_end < end && events[source_end]->source == source_text) ++source_end;
        auto source = events_by_source_.find(source_text);
        if (source == events_by_source_.end())
          source = events_by_source_.emplace(source_text, 0).first;
        source->second += source_end - i;
        i = source_end;
      }
      first = end;
    }
  }
  set_journal_head(events.back()->id);
  committed_id_.store(events.back()->id, std::memory_order_release);
  note_change();
  for (const auto& event : events) {
    if (event->kind != kRouteSampleKind) continue;
    if (auto sample = parse_route_sample(event->payload))
      routes_.record(sample->path, RouteSource::Ingest, sample->status, sample->ms);
  }
}

void HostTelemetry::on_request(const http::Request& request, int status, int64_t latency_us) {
  const std::string_view key =
      request.route_template.empty() ? kOtherRouteKey : std::string_view(request.route_template);
  routes_.record(key, RouteSource::Host, status,
                 static_cast<double>(std::max<int64_t>(latency_us, 0)) / 1000.0);
  if (!request.observation) note_change();
  if (request.headers.has("x-arw-gate"))
    legacy_capsule_headers_.fetch_add(1, std::memory_order_relaxed);
  if (request.method == "POST" && request.route_template == kIngestRoute &&
      counted_ingest_code(status))
    metrics_.add(handles_->ingest_requests, {std::to_string(status)}, 1);
}

void HostTelemetry::on_ingest_rejections(std::string_view source,
                                         const std::vector<IngestRejection>& rejected) {
  std::map<std::string_view, uint64_t> by_reason;
  for (const auto& rejection : rejected) ++by_reason[rejection.error];
  for (const auto& [reason, count] : by_reason)
    metrics_.add(handles_->events_rejected, {std::string(source), std::string(reason)},
                 static_cast<double>(count));
}

void HostTelemetry::on_sections_rendered(const std::vector<SectionRender>& sections) {
  for (const auto& section : sections) {
    metrics_.set(handles_->section_ok, {section.name}, section.ok ? 1.0 : 0.0);
    if (!section.ok) metrics_.add(handles_->section_errors, {section.name, section.error}, 1);
  }
}

Json HostTelemetry::bus_json() const {
  const BusCounters c = bus_.counters();
  Json bus = Json::object();
  bus["published"] = c.published;
  bus["delivered"] = c.delivered;
  bus["receivers"] = c.receivers;
  bus["lagged"] = c.lagged;
  bus["no_receivers"] = c.no_receivers;
  return bus;
}

Json HostTelemetry::events_json() const {
  uint64_t total = 0;
  std::shared_ptr<const Json> kinds;
  std::vector<std::pair<std::string, uint64_t>> ranked;
  uint64_t other = 0;
  {
    std::lock_guard lock(events_mutex_);
    total = events_total_;
    if (events_kinds_json_ && events_json_total_ == total) {
      kinds = events_kinds_json_;
    } else {
      ranked.assign(events_by_kind_.begin(), events_by_kind_.end());
      other = events_untracked_;
    }
  }
  if (!kinds) {
    const size_t keep = std::min(ranked.size(), options_.kinds_max);
    std::partial_sort(ranked.begin(), ranked.begin() + static_cast<std::ptrdiff_t>(keep),
                      ranked.end(), [](const auto& a, const auto& b) {
                        return a.second != b.second ? a.second > b.second : a.first < b.first;
                      });
    for (size_t i = keep; i < ranked.size(); ++i) other += ranked[i].second;
    ranked.resize(keep);
    std::map<std::string, uint64_t> by_name(ranked.begin(), ranked.end());  // keys ascending
    if (other > 0) by_name.emplace(kOtherKind, other);
    Json listed = Json::object();
    for (auto& [kind, count] : by_name) listed[kind] = count;
    kinds = std::make_shared<const Json>(std::move(listed));
    std::lock_guard lock(events_mutex_);
    if (events_total_ == total) {
      events_kinds_json_ = kinds;
      events_json_total_ = total;
    }
  }
  Json events = Json::object();
  events["start"] = format_rfc3339_ms(options_.started_ms);
  events["total"] = total;
  events["kinds"] = *kinds;
  return events;
}

Json HostTelemetry::compatibility_json() const {
  Json compatibility = Json::object();
  compatibility["legacy_capsule_headers"] = legacy_capsule_headers_.load(std::memory_order_relaxed);
  return compatibility;
}

Json HostTelemetry::route_stats_body() const {
  // As for a scrape: the bus counters agree with the events committed before.
  if (const int64_t committed = committed_id_.load(std::memory_order_acquire); committed > 0)
    bus_.wait_offered(committed, std::chrono::steady_clock::now() + kScrapeDispatchWait);
  Json body = Json::object();
  body["bus"] = bus_json();
  body["events"] = events_json();
  Json routes = Json::object();
  routes["by_path"] = routes_.by_path_json();
  body["routes"] = std::move(routes);
  body["tasks"] = tasks_.to_json();
  Json cache = nullptr;
  if (PluginManager* plugins = plugins_.load()) {
    if (auto text = plugins->render_section("cache")) {
      cache = Json::parse(*text, nullptr, false);
      if (cache.is_discarded()) cache = nullptr;
    }
  }
  body["cache"] = std::move(cache);
  return body;
}

void HostTelemetry::export_metrics() {
  std::lock_guard lock(export_mutex_);
  const Handles& h = *handles_;
  Exported& done = *exported_;
  // Counters only ever get what grew since the last scrape; a first call
  // with 0 creates the series, so it shows before its first increment.
  auto mirror = [&](uint64_t handle, const std::vector<std::string>& labels, uint64_t now,
                    uint64_t& exported) {
    metrics_.add(handle, labels, static_cast<double>(now > exported ? now - exported : 0));
    exported = std::max(exported, now);
  };

  if (const int64_t committed = committed_id_.load(std::memory_order_acquire); committed > 0)
    bus_.wait_offered(committed, std::chrono::steady_clock::now() + kScrapeDispatchWait);
  const BusCounters bus = bus_.counters();
  mirror(h.bus_published, {}, bus.published, done.bus_published);
  mirror(h.bus_delivered, {}, bus.delivered, done.bus_delivered);
  mirror(h.bus_lagged, {}, bus.lagged, done.bus_lagged);
  mirror(h.bus_no_receivers, {}, bus.no_receivers, done.bus_no_receivers);
  metrics_.set(h.bus_receivers, {}, static_cast<double>(bus.receivers));
  metrics_.set(h.journal_last_id, {}, static_cast<double>(journal_head_.load()));
  mirror(h.legacy_capsule_headers, {}, legacy_capsule_headers_.load(), done.legacy_capsule_headers);

  // Only the series that changed since the last scrape (or are new) are
  // touched: a label lookup in the registry costs more than writing the line.
  std::vector<std::pair<std::string, uint64_t>> changed_labels, changed_sources;
  {
    std::lock_guard events_lock(events_mutex_);
    auto collect = [](const auto& now, const auto& exported, auto& changed) {
      for (const auto& [name, count] : now) {
        const auto it = exported.find(name);
        if (it == exported.end() || it->second != count) changed.emplace_back(name, count);
      }
    };
    // Both maps change only with a commit, and every commit adds to the total.
    if (events_total_ != done.events_total) {
      collect(events_by_kind_label_, done.events_by_kind_label, changed_labels);
      collect(events_by_source_, done.events_by_source, changed_sources);
      done.events_total = events_total_;
    }
  }
  for (const auto& [kind, count] : changed_labels)
    mirror(h.events_total, {kind}, count, done.events_by_kind_label[kind]);
  for (const auto& [source, count] : changed_sources)
    mirror(h.events_ingested, {source}, count, done.events_by_source[source]);

  const auto& bounds_ms = routes_.bounds_ms();
  for (const auto& series :
       routes_.series_recorded_since(done.route_records, &done.route_records)) {
    const RouteAggregate& now = series.aggregate;
    Exported::Route& route = done.routes[{series.key, series.source}];
    // Every figure of a route changes only with its samples.
    if (route.exported && route.hits == now.hits && route.errors == now.errors) continue;
    route.exported = true;
    const std::vector<std::string> labels = {series.key, route_source_label(series.source)};
    mirror(h.route_hits, labels, now.hits, route.hits);
    mirror(h.route_errors, labels, now.errors, route.errors);
    route.bucket_counts.resize(bounds_ms.size() + 1, 0);
    std::vector<double> increments(bounds_ms.size() + 1, 0.0);
    for (size_t i = 0; i < increments.size() && i < now.bucket_counts.size(); ++i)
      increments[i] = static_cast<double>(now.bucket_counts[i] - route.bucket_counts[i]);
    metrics_.observe_buckets(h.route_latency, labels, increments,
                             (now.sum_ms - route.sum_ms) / 1000.0);
    route.bucket_counts = now.bucket_counts;
    route.sum_ms = now.sum_ms;
    metrics_.set(h.route_ewma, labels, now.ewma_ms / 1000.0);
    metrics_.set(h.route_p95, labels, static_cast<double>(now.p95_ms(bounds_ms)) / 1000.0);
    metrics_.set(h.route_max, labels, static_cast<double>(now.max_ms()) / 1000.0);
  }

  for (const auto& task : tasks_.snapshot()) {
    Exported::Task& exported = done.tasks[task.name];
    mirror(h.task_started, {task.name}, task.started, exported.started);
    mirror(h.task_completed, {task.name}, task.completed, exported.completed);
    mirror(h.task_aborted, {task.name}, task.aborted, exported.aborted);
    metrics_.set(h.task_inflight, {task.name}, static_cast<double>(task.inflight));
    metrics_.set(h.task_restarts_window, {task.name}, static_cast<double>(task.restarts_ms.size()));
  }

  if (PluginManager* plugins = plugins_.load()) {
    std::set<std::pair<std::string, std::string>> info;
    std::set<std::string> up;
    for (const auto& plugin : plugins->plugins_up()) {
      metrics_.set(h.plugin_up, {plugin.id}, plugin.healthy ? 1.0 : 0.0);
      up.insert(plugin.id);
      if (plugin.loaded) {
        metrics_.set(h.plugin_info, {plugin.id, plugin.version}, 1.0);
        info.emplace(plugin.id, plugin.version);
      }
    }
    // Plugins gone since the last scrape (reload) leave no stale series.
    for (const auto& [id, version] : done.plugin_info)
      if (!info.count({id, version})) metrics_.remove(h.plugin_info, {id, version});
    for (const auto& id : done.plugin_up)
      if (!up.count(id)) metrics_.remove(h.plugin_up, {id});
    done.plugin_info = std::move(info);
    done.plugin_up = std::move(up);
  }
}

}  // namespace tpark
