#include "telemetry/route_stats.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "util/text.h"

namespace tpark {

namespace {

// Bounds above this are refused: they stay exact as doubles (µs included).
constexpr uint64_t kMaxBoundMs = 1000000000000ULL;

std::optional<uint64_t> positive_integer(std::string_view text) {
  if (text.empty() || text.size() > 13) return std::nullopt;
  uint64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<uint64_t>(c - '0');
  }
  if (value == 0 || value > kMaxBoundMs) return std::nullopt;
  return value;
}

}  // namespace

const std::vector<uint64_t>& default_route_bounds_ms() {
  static const std::vector<uint64_t> bounds = {5,   10,   25,   50,   100,  200,
                                               500, 1000, 2000, 5000, 10000};
  return bounds;
}

RouteBoundsParse parse_route_bounds_ms(std::string_view csv) {
  RouteBoundsParse out;
  // A blank value has no entries at all (nothing to warn about).
  const bool blank = trim(csv).empty();
  for (size_t start = 0; !blank && start <= csv.size();) {
    size_t comma = csv.find(',', start);
    if (comma == std::string_view::npos) comma = csv.size();
    const std::string_view raw = csv.substr(start, comma - start);
    if (auto value = positive_integer(trim(raw)))
      out.bounds_ms.push_back(*value);
    else
      out.invalid.emplace_back(raw);
    start = comma + 1;
  }
  std::sort(out.bounds_ms.begin(), out.bounds_ms.end());
  out.bounds_ms.erase(std::unique(out.bounds_ms.begin(), out.bounds_ms.end()),
                      out.bounds_ms.end());
  if (out.bounds_ms.empty()) {
    out.bounds_ms = default_route_bounds_ms();
    out.fell_back = true;
  }
  return out;
}

void RouteAggregate::record(double ms, int64_t status, const std::vector<uint64_t>& bounds_ms) {
  if (bucket_counts.size() != bounds_ms.size() + 1) bucket_counts.assign(bounds_ms.size() + 1, 0);
  ewma_ms = hits == 0 ? ms : 0.8 * ewma_ms + 0.2 * ms;
  ++hits;
  if (status >= 400) ++errors;
  largest_ms = std::max(largest_ms, ms);
  sum_ms += ms;
  size_t bucket = 0;
  while (bucket < bounds_ms.size() && !(ms <= static_cast<double>(bounds_ms[bucket]))) ++bucket;
  ++bucket_counts[bucket];
}

uint64_t RouteAggregate::max_ms() const {
  return static_cast<uint64_t>(std::ceil(largest_ms));
}

uint64_t RouteAggregate::p95_ms(const std::vector<uint64_t>& bounds_ms) const {
  if (hits == 0) return 0;
  // ⌈0.95·hits⌉ in integers: 0.95 has no exact double.
  const uint64_t rank = std::max<uint64_t>(1, (95 * hits + 99) / 100);
  const uint64_t max = max_ms();
  uint64_t cumulative = 0;
  for (size_t i = 0; i < bucket_counts.size(); ++i) {
    cumulative += bucket_counts[i];
    if (cumulative >= rank) return std::min(i < bounds_ms.size() ? bounds_ms[i] : max, max);
  }
  return max;
}

double RouteAggregate::ewma_display_ms() const {
  return std::round(ewma_ms * 10.0) / 10.0;
}

Json route_json(const RouteAggregate& aggregate, const std::vector<uint64_t>& bounds_ms) {
  Json buckets = Json::array();
  uint64_t cumulative = 0;
  for (size_t i = 0; i <= bounds_ms.size(); ++i) {
    cumulative += i < aggregate.bucket_counts.size() ? aggregate.bucket_counts[i] : 0;
    Json bucket = Json::object();
    bucket["le_ms"] = i < bounds_ms.size() ? Json(static_cast<double>(bounds_ms[i])) : Json(nullptr);
    bucket["count"] = cumulative;
    buckets.push_back(std::move(bucket));
  }
  Json histogram = Json::object();
  histogram["sum_ms"] = aggregate.sum_ms;
  histogram["count"] = aggregate.hits;
  histogram["buckets"] = std::move(buckets);
  Json route = Json::object();
  route["hits"] = aggregate.hits;
  route["errors"] = aggregate.errors;
  route["ewma_ms"] = aggregate.ewma_display_ms();
  route["p95_ms"] = aggregate.p95_ms(bounds_ms);
  route["max_ms"] = aggregate.max_ms();
  route["latency_histogram"] = std::move(histogram);
  return route;
}

const char* route_source_label(RouteSource source) {
  return source == RouteSource::Host ? "host" : "ingest";
}

std::optional<RouteSample> parse_route_sample(std::string_view payload_json) {
  const auto payload = nlohmann::json::parse(payload_json, nullptr, false);
  if (payload.is_discarded() || !payload.is_object()) return std::nullopt;
  const auto path = payload.find("path");
  const auto status = payload.find("status");
  const auto ms = payload.find("ms");
  if (path == payload.end() || !path->is_string()) return std::nullopt;
  if (status == payload.end() || !status->is_number_integer()) return std::nullopt;
  if (ms == payload.end() || !ms->is_number()) return std::nullopt;
  RouteSample sample;
  sample.path = path->get<std::string>();
  if (status->is_number_unsigned())
    sample.status = static_cast<int64_t>(
        std::min<uint64_t>(status->get<uint64_t>(), std::numeric_limits<int64_t>::max()));
  else
    sample.status = status->get<int64_t>();
  sample.ms = ms->get<double>();
  if (!std::isfinite(sample.ms) || sample.ms < 0) return std::nullopt;
  return sample;
}

RouteStats::RouteStats(std::vector<uint64_t> bounds_ms, size_t max_keys)
    : bounds_ms_(std::move(bounds_ms)), max_keys_(max_keys) {}

std::string RouteStats::record(std::string_view path, RouteSource source, int64_t status,
                               double ms) {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(path);
  if (it == entries_.end()) {
    const bool named =
        path != kOtherRouteKey && path.size() <= kRouteKeyBytesMax && named_keys_ < max_keys_;
    const std::string_view key = named ? path : kOtherRouteKey;
    it = entries_.find(key);
    if (it == entries_.end()) {
      it = entries_.emplace(std::string(key), Entry{}).first;
      if (named) ++named_keys_;
    }
  }
  Entry& entry = it->second;
  entry.merged.record(ms, status, bounds_ms_);
  auto& by_source = entry.by_source[static_cast<size_t>(source)];
  if (!by_source) by_source.emplace();
  by_source->record(ms, status, bounds_ms_);
  entry.last_record[static_cast<size_t>(source)] = ++records_;
  return it->first;
}

Json RouteStats::by_path_json() const {
  std::lock_guard lock(mutex_);
  Json by_path = Json::object();
  for (const auto& [key, entry] : entries_) by_path[key] = route_json(entry.merged, bounds_ms_);
  return by_path;
}

std::vector<RouteStats::Series> RouteStats::series() const {
  std::lock_guard lock(mutex_);
  std::vector<Series> out;
  out.reserve(entries_.size() * 2);
  for (const auto& [key, entry] : entries_)
    for (size_t i = 0; i < entry.by_source.size(); ++i)
      if (entry.by_source[i]) out.push_back({key, static_cast<RouteSource>(i), *entry.by_source[i]});
  return out;
}

std::vector<RouteStats::Series> RouteStats::series_recorded_since(uint64_t after,
                                                                  uint64_t* through) const {
  std::lock_guard lock(mutex_);
  std::vector<Series> out;
  for (const auto& [key, entry] : entries_)
    for (size_t i = 0; i < entry.by_source.size(); ++i)
      if (entry.by_source[i] && entry.last_record[i] > after)
        out.push_back({key, static_cast<RouteSource>(i), *entry.by_source[i]});
  *through = records_;
  return out;
}

uint64_t fnv1a_64(std::string_view bytes) {
  uint64_t hash = 14695981039346656037ULL;
  for (unsigned char c : bytes) {
    hash ^= c;
    hash *= 1099511628211ULL;
  }
  return hash;
}

std::string route_stats_etag(const Json& body) {
  uint64_t hash = 0;
  const auto routes = body.find("routes");
  const bool has_own_entry = routes != body.end() && routes->is_object() &&
                             routes->contains("by_path") && routes->at("by_path").is_object() &&
                             routes->at("by_path").contains(kRouteStatsPath);
  if (has_own_entry) {
    Json without = body;
    without["routes"]["by_path"].erase(std::string(kRouteStatsPath));
    hash = fnv1a_64(without.dump());
  } else {
    hash = fnv1a_64(body.dump());
  }
  static const char* hex = "0123456789abcdef";
  std::string etag = "W/\"rs-";
  for (int shift = 60; shift >= 0; shift -= 4) etag += hex[(hash >> shift) & 15];
  etag += '"';
  return etag;
}

namespace {

// The quoted part of an entity tag, W/ dropped: "W/\"x\"" -> "\"x\"".
std::string_view opaque_tag(std::string_view tag) {
  if (tag.substr(0, 2) == "W/") tag.remove_prefix(2);
  return tag;
}

}  // namespace

bool if_none_match_matches(std::string_view header_value, std::string_view etag) {
  const std::string_view wanted = opaque_tag(etag);
  size_t i = 0;
  const size_t n = header_value.size();
  while (i < n) {
    const char c = header_value[i];
    if (c == ' ' || c == '\t' || c == ',') {
      ++i;
      continue;
    }
    if (c == '*') return true;
    if (header_value.substr(i, 2) == "W/") i += 2;
    if (i < n && header_value[i] == '"') {
      const size_t close = header_value.find('"', i + 1);
      if (close == std::string_view::npos) return false;  // unterminated: nothing more to read
      if (header_value.substr(i, close - i + 1) == wanted) return true;
      i = close + 1;
      continue;
    }
    // Not an entity tag: skip to the next list element.
    const size_t comma = header_value.find(',', i);
    if (comma == std::string_view::npos) return false;
    i = comma + 1;
  }
  return false;
}

}  // namespace tpark
