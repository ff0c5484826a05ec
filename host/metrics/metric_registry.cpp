#include "metrics/metric_registry.h"

#include <algorithm>
#include <bit>
#include <charconv>
#include <cmath>
#include <limits>
#include <optional>
#include <set>
#include <shared_mutex>
#include <unordered_map>
#include <utility>

#include <prometheus/detail/utils.h>
#include <prometheus/labels.h>
#include <prometheus/metric_family.h>

namespace tpark {

namespace {

// One label set's values and its rendered lines.
struct Series {
  double value = 0;                   // counter, gauge
  std::vector<double> bucket_counts;  // histogram: per bound, then +Inf; not cumulative
  double sum = 0;                     // histogram
  std::string labels_text;            // `a="x",b="y"`, escaped, by label name
  std::string text;                   // its exposition lines while !stale
  bool stale = true;
};

// Bit equality: -0 and 0 print differently, and a NaN stays a NaN.
bool same_bits(double a, double b) {
  return std::bit_cast<uint64_t>(a) == std::bit_cast<uint64_t>(b);
}

}  // namespace

using LabelValues = MetricRegistry::LabelValues;

struct MetricRegistry::Family {
  MetricType type = MetricType::Counter;
  std::string name;
  std::string help;
  std::vector<std::string> label_names;
  std::vector<double> buckets;
  std::string header;                   // the HELP and TYPE lines
  std::vector<std::string> bound_text;  // each bucket's le value, then "+Inf"
  // prometheus-cpp's own container and hash for a family's series, so they
  // come out in the order its Collect() gave them.
  std::unordered_map<prometheus::Labels, Series, prometheus::detail::LabelHasher> series;

  // The series of each label set resolved so far, keyed by series_key(), so
  // that a repeated add/set/observe neither builds a label map nor hashes it.
  struct KeyHash {
    using is_transparent = void;
    size_t operator()(std::string_view key) const { return std::hash<std::string_view>{}(key); }
  };
  std::unordered_map<std::string, Series*, KeyHash, std::equal_to<>> resolved;

  // Each value with its length in front: no two label sets share a key.
  static std::string_view series_key(LabelValues values) {
    thread_local std::string key;
    key.clear();
    for (std::string_view value : values) {
      const auto size = static_cast<uint32_t>(value.size());
      key.append(reinterpret_cast<const char*>(&size), sizeof size);
      key.append(value);
    }
    return key;
  }

  // prometheus-cpp's label set: names to values, ordered by name.
  prometheus::Labels label_map(LabelValues values) const {
    prometheus::Labels labels;
    for (size_t i = 0; i < values.size(); ++i)
      labels.emplace(label_names[i], std::string(values[i]));
    return labels;
  }
  // The series of these label values, created (empty) when new; nullptr for
  // a wrong label count.
  Series* find_or_add(LabelValues values);
  // Removes the series of these label values; false when there is none.
  bool erase(LabelValues values);
  // Writes the series' lines into its text.
  void render(Series& entry) const;
};

namespace {

bool name_char(char c, bool first, bool colon_ok) {
  const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
  const bool digit = c >= '0' && c <= '9';
  return alpha || (colon_ok && c == ':') || (!first && digit);
}

bool valid_name(std::string_view name, bool colon_ok) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i)
    if (!name_char(name[i], i == 0, colon_ok)) return false;
  return true;
}

// telemetry.md 8: units are seconds and bytes, so no family carries a _ms unit.
bool has_ms_unit(std::string_view name) {
  for (size_t pos = name.find("_ms"); pos != std::string_view::npos;
       pos = name.find("_ms", pos + 1)) {
    const size_t end = pos + 3;
    if (end == name.size() || name[end] == '_') return true;
  }
  return false;
}

bool ends_with(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

const char* type_name(MetricType type) {
  switch (type) {
    case MetricType::Counter:
      return "counter";
    case MetricType::Gauge:
      return "gauge";
    case MetricType::Histogram:
      return "histogram";
  }
  return "untyped";
}

// The text exposition format 0.0.4: HELP text escapes backslash and
// newline, label values also the double quote.
void append_escaped(std::string& out, std::string_view text, bool quote) {
  for (char c : text) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '\n')
      out += "\\n";
    else if (quote && c == '"')
      out += "\\\"";
    else
      out.push_back(c);
  }
}

// Shortest round-trip doubles, and Nan, +Inf, -Inf.
void append_value(std::string& out, double v) {
  if (std::isnan(v)) {
    out += "Nan";
  } else if (std::isinf(v)) {
    out += v < 0 ? "-Inf" : "+Inf";
  } else {
    char buffer[32];
    const auto result = std::to_chars(buffer, buffer + sizeof buffer, v);
    out.append(buffer, result.ptr);
  }
}

void append_integer(std::string& out, unsigned long long v) {
  char buffer[24];
  const auto result = std::to_chars(buffer, buffer + sizeof buffer, v);
  out.append(buffer, result.ptr);
}

// `name<suffix>{labels[,le="bound"]} `
void append_head(std::string& out, const std::string& name, std::string_view suffix,
                 const Series& series, const std::string* bound) {
  out += name;
  out += suffix;
  if (!series.labels_text.empty() || bound != nullptr) {
    out += '{';
    out += series.labels_text;
    if (bound != nullptr) {
      if (!series.labels_text.empty()) out += ',';
      out += "le=\"";
      out += *bound;
      out += '"';
    }
    out += '}';
  }
  out += ' ';
}

std::optional<std::string> check_shape(MetricType type, std::string_view name,
                                       const std::vector<std::string>& label_names,
                                       const std::vector<double>& buckets) {
  if (!valid_name(name, true)) return "invalid metric name '" + std::string(name) + "'";
  if (has_ms_unit(name)) return "metric name '" + std::string(name) + "' uses _ms; use seconds";
  if (type == MetricType::Counter && !ends_with(name, "_total"))
    return "counter '" + std::string(name) + "' must end in _total";
  if (type != MetricType::Counter && ends_with(name, "_total"))
    return "only counters end in _total ('" + std::string(name) + "')";
  std::set<std::string> seen;
  for (const auto& label : label_names) {
    if (!valid_name(label, false) || label.rfind("__", 0) == 0)
      return "invalid label name '" + label + "'";
    if (type == MetricType::Histogram && label == "le")
      return "histograms cannot use the label 'le'";
    if (!seen.insert(label).second) return "duplicate label name '" + label + "'";
  }
  if (type == MetricType::Histogram) {
    if (buckets.empty()) return "a histogram needs at least one bucket";
    for (size_t i = 0; i < buckets.size(); ++i) {
      if (!std::isfinite(buckets[i])) return "histogram buckets must be finite (+Inf is implicit)";
      if (i > 0 && !(buckets[i] > buckets[i - 1])) return "histogram buckets must be ascending";
    }
  } else if (!buckets.empty()) {
    return "only histograms have buckets";
  }
  return std::nullopt;
}

}  // namespace

Series* MetricRegistry::Family::find_or_add(LabelValues values) {
  if (values.size() != label_names.size()) return nullptr;
  const std::string_view key = series_key(values);
  if (auto it = resolved.find(key); it != resolved.end()) return it->second;
  auto [it, added] = series.try_emplace(label_map(values));
  Series& entry = it->second;
  if (added) {
    for (const auto& [label, value] : it->first) {
      if (!entry.labels_text.empty()) entry.labels_text += ',';
      entry.labels_text += label;
      entry.labels_text += "=\"";
      append_escaped(entry.labels_text, value, true);
      entry.labels_text += '"';
    }
    if (type == MetricType::Histogram) entry.bucket_counts.assign(buckets.size() + 1, 0.0);
  }
  resolved.emplace(std::string(key), &entry);  // nodes of `series` never move
  return &entry;
}

bool MetricRegistry::Family::erase(LabelValues values) {
  if (values.size() != label_names.size()) return false;
  resolved.erase(std::string(series_key(values)));
  return series.erase(label_map(values)) > 0;
}

// A series' lines in the order of prometheus-cpp's text format: the sample,
// or a histogram's _count, _sum and cumulative _bucket lines (counts summed
// as its Collect() sums them).
void MetricRegistry::Family::render(Series& entry) const {
  std::string& out = entry.text;
  out.clear();
  if (type != MetricType::Histogram) {
    append_head(out, name, "", entry, nullptr);
    append_value(out, entry.value);
    out += '\n';
    return;
  }
  unsigned long long count = 0;
  for (double bucket : entry.bucket_counts) count += bucket;
  append_head(out, name, "_count", entry, nullptr);
  append_integer(out, count);
  out += '\n';
  append_head(out, name, "_sum", entry, nullptr);
  append_value(out, entry.sum);
  out += '\n';
  unsigned long long cumulative = 0;
  for (size_t i = 0; i < entry.bucket_counts.size(); ++i) {
    cumulative += entry.bucket_counts[i];
    append_head(out, name, "_bucket", entry, &bound_text[i]);
    append_integer(out, cumulative);
    out += '\n';
  }
}

struct MetricRegistry::Hooks {
  std::shared_mutex mutex;
  uint64_t next_id = 1;
  std::vector<std::pair<uint64_t, std::function<void()>>> items;
};

MetricRegistry::MetricRegistry() : hooks_(std::make_unique<Hooks>()) {}
MetricRegistry::~MetricRegistry() = default;

uint64_t MetricRegistry::add_render_hook(std::function<void()> hook) {
  std::unique_lock lock(hooks_->mutex);
  const uint64_t id = hooks_->next_id++;
  hooks_->items.emplace_back(id, std::move(hook));
  return id;
}

void MetricRegistry::remove_render_hook(uint64_t hook_id) {
  std::unique_lock lock(hooks_->mutex);
  auto& items = hooks_->items;
  items.erase(std::remove_if(items.begin(), items.end(),
                             [&](const auto& item) { return item.first == hook_id; }),
              items.end());
}

uint64_t MetricRegistry::register_family(MetricType type, std::string_view name,
                                         std::string_view help,
                                         const std::vector<std::string>& label_names,
                                         const std::vector<double>& buckets, std::string* error) {
  auto fail = [&](std::string message) -> uint64_t {
    if (error) *error = std::move(message);
    return 0;
  };
  if (auto problem = check_shape(type, name, label_names, buckets)) return fail(*problem);

  std::lock_guard lock(mutex_);
  for (size_t i = 0; i < families_.size(); ++i) {
    const Family& existing = *families_[i];
    if (existing.name != name) continue;
    if (existing.type != type || existing.label_names != label_names || existing.buckets != buckets)
      return fail("metric '" + std::string(name) + "' is already registered with another shape");
    return i + 1;
  }
  auto family = std::make_unique<Family>();
  family->type = type;
  family->name = std::string(name);
  family->help = std::string(help);
  family->label_names = label_names;
  family->buckets = buckets;
  if (!help.empty()) {
    family->header = "# HELP " + family->name + ' ';
    append_escaped(family->header, help, false);
    family->header += '\n';
  }
  family->header += "# TYPE " + family->name + ' ' + type_name(type) + '\n';
  for (double bound : buckets) append_value(family->bound_text.emplace_back(), bound);
  if (type == MetricType::Histogram) family->bound_text.emplace_back("+Inf");
  families_.push_back(std::move(family));
  return families_.size();
}

bool MetricRegistry::add_values(uint64_t handle, LabelValues labels, double value) {
  std::lock_guard lock(mutex_);
  if (handle == 0 || handle > families_.size() || !std::isfinite(value)) return false;
  Family& family = *families_[handle - 1];
  if (family.type == MetricType::Histogram) return false;
  if (family.type == MetricType::Counter && value < 0) return false;  // counters never go down
  Series* series = family.find_or_add(labels);
  if (series == nullptr) return false;
  const double next = series->value + value;
  if (!same_bits(next, series->value)) series->stale = true;
  series->value = next;
  return true;
}

bool MetricRegistry::set_values(uint64_t handle, LabelValues labels, double value) {
  std::lock_guard lock(mutex_);
  if (handle == 0 || handle > families_.size()) return false;
  Family& family = *families_[handle - 1];
  if (family.type != MetricType::Gauge) return false;
  Series* series = family.find_or_add(labels);
  if (series == nullptr) return false;
  if (!same_bits(value, series->value)) series->stale = true;
  series->value = value;
  return true;
}

bool MetricRegistry::observe_values(uint64_t handle, LabelValues labels, double value) {
  std::lock_guard lock(mutex_);
  if (handle == 0 || handle > families_.size() || std::isnan(value)) return false;
  Family& family = *families_[handle - 1];
  if (family.type != MetricType::Histogram) return false;
  Series* series = family.find_or_add(labels);
  if (series == nullptr) return false;
  // The first bound at or above the value; past the last, the +Inf bucket.
  const size_t bucket =
      static_cast<size_t>(std::lower_bound(family.buckets.begin(), family.buckets.end(), value) -
                          family.buckets.begin());
  series->bucket_counts[bucket] += 1;
  series->sum += value;
  series->stale = true;
  return true;
}

bool MetricRegistry::remove_values(uint64_t handle, LabelValues labels) {
  std::lock_guard lock(mutex_);
  if (handle == 0 || handle > families_.size()) return false;
  return families_[handle - 1]->erase(labels);
}

namespace {

// Label values as views, without copying them.
struct LabelViews {
  explicit LabelViews(const std::vector<std::string>& labels) {
    views.reserve(labels.size());
    for (const std::string& label : labels) views.emplace_back(label);
  }
  std::vector<std::string_view> views;
};

}  // namespace

bool MetricRegistry::add(uint64_t handle, const std::vector<std::string>& labels, double value) {
  return add_values(handle, LabelViews(labels).views, value);
}
bool MetricRegistry::set(uint64_t handle, const std::vector<std::string>& labels, double value) {
  return set_values(handle, LabelViews(labels).views, value);
}
bool MetricRegistry::observe(uint64_t handle, const std::vector<std::string>& labels,
                             double value) {
  return observe_values(handle, LabelViews(labels).views, value);
}
bool MetricRegistry::remove(uint64_t handle, const std::vector<std::string>& labels) {
  return remove_values(handle, LabelViews(labels).views);
}

bool MetricRegistry::observe_buckets(uint64_t handle, const std::vector<std::string>& labels,
                                     const std::vector<double>& bucket_increments, double sum) {
  std::lock_guard lock(mutex_);
  if (handle == 0 || handle > families_.size() || !std::isfinite(sum)) return false;
  Family& family = *families_[handle - 1];
  if (family.type != MetricType::Histogram || bucket_increments.size() != family.buckets.size() + 1)
    return false;
  for (double increment : bucket_increments)
    if (!std::isfinite(increment) || increment < 0) return false;
  Series* series = family.find_or_add(LabelViews(labels).views);
  if (series == nullptr) return false;
  series->sum += sum;
  for (size_t i = 0; i < bucket_increments.size(); ++i)
    series->bucket_counts[i] += bucket_increments[i];
  series->stale = true;
  return true;
}

std::string MetricRegistry::render_text() const {
  {
    std::shared_lock hooks_lock(hooks_->mutex);
    for (const auto& [id, hook] : hooks_->items) hook();
  }
  std::string out;
  out.reserve(last_size_.load(std::memory_order_relaxed) + 4096);
  std::lock_guard lock(mutex_);
  for (const auto& family : families_) {
    out += family->header;
    for (auto& [labels, series] : family->series) {
      if (series.stale) {
        family->render(series);
        series.stale = false;
      }
      out += series.text;
    }
  }
  last_size_.store(out.size(), std::memory_order_relaxed);
  return out;
}

std::vector<prometheus::MetricFamily> MetricRegistry::collect() const {
  std::vector<prometheus::MetricFamily> out;
  std::lock_guard lock(mutex_);
  for (const auto& family : families_) {
    prometheus::MetricFamily& collected = out.emplace_back();
    collected.name = family->name;
    collected.help = family->help;
    collected.type = family->type == MetricType::Counter ? prometheus::MetricType::Counter
                     : family->type == MetricType::Gauge ? prometheus::MetricType::Gauge
                                                         : prometheus::MetricType::Histogram;
    for (const auto& [labels, series] : family->series) {
      prometheus::ClientMetric& metric = collected.metric.emplace_back();
      for (const auto& [name, value] : labels) metric.label.push_back({name, value});
      if (family->type == MetricType::Counter) metric.counter.value = series.value;
      if (family->type == MetricType::Gauge) metric.gauge.value = series.value;
      if (family->type != MetricType::Histogram) continue;
      unsigned long long cumulative = 0;
      for (size_t i = 0; i < series.bucket_counts.size(); ++i) {
        cumulative += series.bucket_counts[i];
        prometheus::ClientMetric::Bucket& bucket = metric.histogram.bucket.emplace_back();
        bucket.cumulative_count = cumulative;
        bucket.upper_bound = i < family->buckets.size() ? family->buckets[i]
                                                        : std::numeric_limits<double>::infinity();
      }
      metric.histogram.sample_count = cumulative;
      metric.histogram.sample_sum = series.sum;
    }
  }
  return out;
}

}  // namespace tpark
