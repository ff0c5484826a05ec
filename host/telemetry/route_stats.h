// Route statistics (telemetry.md §4): hits, errors and latency per route
// template, from the host's own requests and from ingested
// `http.route.sample` events. The JSON (`GET /state/route_stats`, the
// `routes` section) merges both sources per path; /metrics keeps them apart
// by the label source=host|ingest (§8), so every key also keeps one
// aggregate per source.
//
// The arithmetic is pure and lives in RouteAggregate and the free functions
// below, so it is tested with exact numbers.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/json.h"

namespace tpark {

// The key shared by unmatched paths and by every key past the cap.
inline constexpr std::string_view kOtherRouteKey = "other";
// The route's own template: left out of its ETag, so a poll does not change it.
inline constexpr std::string_view kRouteStatsPath = "/state/route_stats";
// ARW_ROUTE_STATS_MAX default: distinct keys before "other" takes the rest.
inline constexpr size_t kDefaultRouteStatsMax = 128;
// A key longer than this (an ingested sample's path) is recorded as "other":
// the map and the `path` label stay bounded in bytes, not only in count.
inline constexpr size_t kRouteKeyBytesMax = 256;

// 5,10,25,50,100,200,500,1000,2000,5000,10000 (ms).
const std::vector<uint64_t>& default_route_bounds_ms();

struct RouteBoundsParse {
  std::vector<uint64_t> bounds_ms;   // ascending, unique, never empty
  std::vector<std::string> invalid;  // entries dropped, as written
  bool fell_back = false;            // nothing valid: the default bounds
};
// ARW_ROUTE_HIST_MS: a CSV of positive integer ms values. Entries are
// trimmed of spaces; anything else that is not a positive integer (at most
// 10^12, so the bound is exact as a double) is dropped. The rest are sorted
// and de-duplicated; an empty result is the default.
RouteBoundsParse parse_route_bounds_ms(std::string_view csv);

// One aggregate of samples: a key, or a key from one source.
struct RouteAggregate {
  uint64_t hits = 0;
  uint64_t errors = 0;      // statuses >= 400
  double ewma_ms = 0.0;     // unrounded; seeded by the first sample
  double largest_ms = 0.0;
  double sum_ms = 0.0;
  // Samples per bucket, not cumulative: one per bound, then the overflow.
  std::vector<uint64_t> bucket_counts;

  // A sample goes into the first bucket with ms <= bound, else the overflow.
  void record(double ms, int64_t status, const std::vector<uint64_t>& bounds_ms);
  // ⌈largest ms⌉.
  uint64_t max_ms() const;
  // rank = max(1, ⌈0.95·hits⌉); the bound of the first bucket whose
  // cumulative count reaches rank (max_ms for the overflow), then at most
  // max_ms. 0 without hits.
  uint64_t p95_ms(const std::vector<uint64_t>& bounds_ms) const;
  // What the JSON shows: round(ewma·10)/10.
  double ewma_display_ms() const;
};

// {hits, errors, ewma_ms, p95_ms, max_ms, latency_histogram: {sum_ms, count,
// buckets: [{le_ms, count (cumulative)}, ..., {le_ms: null, count}]}}
Json route_json(const RouteAggregate& aggregate, const std::vector<uint64_t>& bounds_ms);

enum class RouteSource { Host = 0, Ingest = 1 };
// "host" or "ingest": the /metrics label.
const char* route_source_label(RouteSource source);

// A valid `http.route.sample` payload: {path: string, status: integer,
// ms: finite >= 0}; `method` and other keys are ignored.
struct RouteSample {
  std::string path;
  int64_t status = 0;
  double ms = 0.0;
};
// nullopt for anything else (such samples are journaled but not recorded).
std::optional<RouteSample> parse_route_sample(std::string_view payload_json);

// Thread-safe: recorded from the HTTP threads and the journal's commit sink,
// read by routes, state reads and the /metrics scrape.
class RouteStats {
 public:
  RouteStats(std::vector<uint64_t> bounds_ms, size_t max_keys);

  // Records one sample under `path`, or under "other" when the path is
  // "other", longer than kRouteKeyBytesMax, or `max_keys` other keys exist
  // already. Returns the key used.
  std::string record(std::string_view path, RouteSource source, int64_t status, double ms);

  // {path: route_json} for every key, ascending (the merged sources).
  Json by_path_json() const;

  struct Series {
    std::string key;
    RouteSource source = RouteSource::Host;
    RouteAggregate aggregate;
  };
  // One entry per (key, source) that has samples; keys ascending, host first.
  std::vector<Series> series() const;
  // The same, for the entries recorded into since record number `after`
  // (0: all); *through gets the number of the last record, for the next call.
  std::vector<Series> series_recorded_since(uint64_t after, uint64_t* through) const;

  const std::vector<uint64_t>& bounds_ms() const { return bounds_ms_; }

 private:
  struct Entry {
    RouteAggregate merged;
    std::array<std::optional<RouteAggregate>, 2> by_source;
    std::array<uint64_t, 2> last_record{};  // by source: the number of its latest record
  };
  const std::vector<uint64_t> bounds_ms_;
  const size_t max_keys_;
  mutable std::mutex mutex_;
  std::map<std::string, Entry, std::less<>> entries_;
  size_t named_keys_ = 0;  // keys other than "other"
  uint64_t records_ = 0;   // samples recorded so far; numbers each record
};

// 64-bit FNV-1a.
uint64_t fnv1a_64(std::string_view bytes);
// W/"rs-<16 lowercase hex>": FNV-1a of the compact body with
// routes.by_path["/state/route_stats"] removed.
std::string route_stats_etag(const Json& body);
// If-None-Match with weak comparison: `*`, or any entity tag in the
// comma-separated list whose opaque part equals the ETag's (W/ ignored).
bool if_none_match_matches(std::string_view header_value, std::string_view etag);

}  // namespace tpark
