#include "metrics/metric_registry.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <shared_mutex>
#include <type_traits>
#include <unordered_map>
#include <utility>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/metric_family.h>
#include <prometheus/registry.h>

namespace tpark {

struct MetricRegistry::Family {
  MetricType type = MetricType::Counter;
  std::string name;
  std::string help;
  std::vector<std::string> label_names;
  std::vector<double> buckets;
  prometheus::Family<prometheus::Counter>* counters = nullptr;
  prometheus::Family<prometheus::Gauge>* gauges = nullptr;
  prometheus::Family<prometheus::Histogram>* histograms = nullptr;

  std::optional<prometheus::Labels> labels(LabelValues values) const {
    if (values.size() != label_names.size()) return std::nullopt;
    prometheus::Labels out;
    for (size_t i = 0; i < values.size(); ++i) out.emplace(label_names[i], std::string(values[i]));
    return out;
  }

  // The series of each label set resolved so far, keyed by series_key(), so
  // that a repeated add/set/observe neither builds a label map nor hashes it
  // in prometheus-cpp. A series leaves it when it is removed (only remove()
  // removes series from these families).
  struct KeyHash {
    using is_transparent = void;
    size_t operator()(std::string_view key) const { return std::hash<std::string_view>{}(key); }
  };
  mutable std::unordered_map<std::string, void*, KeyHash, std::equal_to<>> series;

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

  // The series for `values`, created on first use; nullptr for a wrong label
  // count. T is this family's metric type.
  template <class T, class Make>
  T* series_for(LabelValues values, Make make) const {
    if (values.size() != label_names.size()) return nullptr;
    const std::string_view key = series_key(values);
    auto it = series.find(key);
    if (it != series.end()) return static_cast<T*>(it->second);
    T* metric = make(*labels(values));
    series.emplace(std::string(key), metric);
    return metric;
  }
  prometheus::Counter* counter(LabelValues values) const {
    return series_for<prometheus::Counter>(
        values, [&](const prometheus::Labels& l) { return &counters->Add(l); });
  }
  prometheus::Gauge* gauge(LabelValues values) const {
    return series_for<prometheus::Gauge>(
        values, [&](const prometheus::Labels& l) { return &gauges->Add(l); });
  }
  prometheus::Histogram* histogram(LabelValues values) const {
    return series_for<prometheus::Histogram>(values, [&](const prometheus::Labels& l) {
      return &histograms->Add(l, prometheus::Histogram::BucketBoundaries(buckets));
    });
  }
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

// HELP text escaping of the 0.0.4 text format: backslash and newline.
void append_help(std::string& out, std::string_view help) {
  for (char c : help) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '\n')
      out += "\\n";
    else
      out.push_back(c);
  }
}

// The text exposition format 0.0.4, written straight into one string: the
// lines prometheus-cpp's TextSerializer writes (same order, same number
// forms: shortest round-trip doubles, Nan, +Inf, -Inf), without an ostream.
// /metrics renders tens of thousands of series per scrape; this is its cost.
class ExpositionWriter {
 public:
  explicit ExpositionWriter(std::string& out) : out_(out) {}

  void family_header(std::string_view name, std::string_view help, const char* type) {
    if (!help.empty()) {
      out_ += "# HELP ";
      out_ += name;
      out_ += ' ';
      append_help(out_, help);
      out_ += '\n';
    }
    out_ += "# TYPE ";
    out_ += name;
    out_ += ' ';
    out_ += type;
    out_ += '\n';
  }

  void family(const prometheus::MetricFamily& family) {
    using prometheus::MetricType;
    const char* type = "untyped";
    switch (family.type) {
      case MetricType::Counter:
        type = "counter";
        break;
      case MetricType::Gauge:
        type = "gauge";
        break;
      case MetricType::Summary:
        type = "summary";
        break;
      case MetricType::Histogram:
        type = "histogram";
        break;
      default:
        break;
    }
    family_header(family.name, family.help, type);
    for (const auto& metric : family.metric) {
      switch (family.type) {
        case MetricType::Counter:
          sample(family.name, "", metric, metric.counter.value);
          break;
        case MetricType::Gauge:
          sample(family.name, "", metric, metric.gauge.value);
          break;
        case MetricType::Summary:
          count_and_sum(family.name, metric, metric.summary.sample_count,
                        metric.summary.sample_sum);
          for (const auto& q : metric.summary.quantile) {
            head(family.name, "", metric, "quantile", q.quantile);
            value(q.value);
            tail(metric);
          }
          break;
        case MetricType::Histogram: {
          const auto& histogram = metric.histogram;
          count_and_sum(family.name, metric, histogram.sample_count, histogram.sample_sum);
          double last = -std::numeric_limits<double>::infinity();
          for (const auto& bucket : histogram.bucket) {
            head(family.name, "_bucket", metric, "le", bucket.upper_bound);
            last = bucket.upper_bound;
            integer(bucket.cumulative_count);
            tail(metric);
          }
          if (last != std::numeric_limits<double>::infinity()) {
            head(family.name, "_bucket", metric, "le", std::numeric_limits<double>::infinity());
            integer(histogram.sample_count);
            tail(metric);
          }
          break;
        }
        default:
          sample(family.name, "", metric, metric.untyped.value);
          break;
      }
    }
  }

 private:
  void sample(const std::string& name, const char* suffix, const prometheus::ClientMetric& metric,
              double v) {
    head(name, suffix, metric, nullptr, 0);
    value(v);
    tail(metric);
  }

  void count_and_sum(const std::string& name, const prometheus::ClientMetric& metric,
                     std::uint64_t count, double sum) {
    head(name, "_count", metric, nullptr, 0);
    integer(count);
    tail(metric);
    head(name, "_sum", metric, nullptr, 0);
    value(sum);
    tail(metric);
  }

  // `name<suffix>{labels[,extra="extra_value"]} `
  void head(const std::string& name, const char* suffix, const prometheus::ClientMetric& metric,
            const char* extra, double extra_value) {
    out_ += name;
    out_ += suffix;
    if (!metric.label.empty() || extra != nullptr) {
      out_ += '{';
      bool first = true;
      for (const auto& label : metric.label) {
        if (!first) out_ += ',';
        first = false;
        out_ += label.name;
        out_ += "=\"";
        label_value(label.value);
        out_ += '"';
      }
      if (extra != nullptr) {
        if (!first) out_ += ',';
        out_ += extra;
        out_ += "=\"";
        value(extra_value);
        out_ += '"';
      }
      out_ += '}';
    }
    out_ += ' ';
  }

  void tail(const prometheus::ClientMetric& metric) {
    if (metric.timestamp_ms != 0) {
      out_ += ' ';
      integer(metric.timestamp_ms);
    }
    out_ += '\n';
  }

  void label_value(const std::string& text) {
    for (char c : text) {
      if (c == '\\')
        out_ += "\\\\";
      else if (c == '"')
        out_ += "\\\"";
      else if (c == '\n')
        out_ += "\\n";
      else
        out_ += c;
    }
  }

  void value(double v) {
    if (std::isnan(v)) {
      out_ += "Nan";
    } else if (std::isinf(v)) {
      out_ += v < 0 ? "-Inf" : "+Inf";
    } else {
      char buffer[32];
      const auto result = std::to_chars(buffer, buffer + sizeof buffer, v);
      out_.append(buffer, result.ptr);
    }
  }

  template <class Integer>
  void integer(Integer v) {
    char buffer[24];
    const auto result = std::to_chars(buffer, buffer + sizeof buffer, v);
    out_.append(buffer, result.ptr);
  }

  std::string& out_;
};

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

struct MetricRegistry::Hooks {
  std::shared_mutex mutex;
  uint64_t next_id = 1;
  std::vector<std::pair<uint64_t, std::function<void()>>> items;
};

MetricRegistry::MetricRegistry()
    : registry_(std::make_shared<prometheus::Registry>()), hooks_(std::make_unique<Hooks>()) {}
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
  try {
    switch (type) {
      case MetricType::Counter:
        family->counters =
            &prometheus::BuildCounter().Name(family->name).Help(family->help).Register(*registry_);
        break;
      case MetricType::Gauge:
        family->gauges =
            &prometheus::BuildGauge().Name(family->name).Help(family->help).Register(*registry_);
        break;
      case MetricType::Histogram:
        family->histograms = &prometheus::BuildHistogram()
                                  .Name(family->name)
                                  .Help(family->help)
                                  .Register(*registry_);
        break;
    }
  } catch (const std::exception& e) {
    // A family registered on registry() directly under the same name.
    return fail("metric '" + family->name + "': " + e.what());
  }
  families_.push_back(std::move(family));
  return families_.size();
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

bool MetricRegistry::add_values(uint64_t handle, LabelValues labels, double value) {
  std::lock_guard lock(mutex_);
  if (handle == 0 || handle > families_.size() || !std::isfinite(value)) return false;
  const Family& family = *families_[handle - 1];
  if (family.counters) {
    if (value < 0) return false;  // counters never go down
    prometheus::Counter* counter = family.counter(labels);
    if (counter == nullptr) return false;
    counter->Increment(value);
    return true;
  }
  if (family.gauges) {
    prometheus::Gauge* gauge = family.gauge(labels);
    if (gauge == nullptr) return false;
    gauge->Increment(value);
    return true;
  }
  return false;
}

bool MetricRegistry::set_values(uint64_t handle, LabelValues labels, double value) {
  std::lock_guard lock(mutex_);
  if (handle == 0 || handle > families_.size()) return false;
  const Family& family = *families_[handle - 1];
  if (!family.gauges) return false;
  prometheus::Gauge* gauge = family.gauge(labels);
  if (gauge == nullptr) return false;
  gauge->Set(value);
  return true;
}

bool MetricRegistry::observe_values(uint64_t handle, LabelValues labels, double value) {
  std::lock_guard lock(mutex_);
  if (handle == 0 || handle > families_.size() || std::isnan(value)) return false;
  const Family& family = *families_[handle - 1];
  if (!family.histograms) return false;
  prometheus::Histogram* histogram = family.histogram(labels);
  if (histogram == nullptr) return false;
  histogram->Observe(value);
  return true;
}

bool MetricRegistry::observe_buckets(uint64_t handle, const std::vector<std::string>& labels,
                                     const std::vector<double>& bucket_increments, double sum) {
  std::lock_guard lock(mutex_);
  if (handle == 0 || handle > families_.size() || !std::isfinite(sum)) return false;
  const Family& family = *families_[handle - 1];
  if (!family.histograms || bucket_increments.size() != family.buckets.size() + 1) return false;
  for (double increment : bucket_increments)
    if (!std::isfinite(increment) || increment < 0) return false;
  prometheus::Histogram* histogram = family.histogram(LabelViews(labels).views);
  if (histogram == nullptr) return false;
  histogram->ObserveMultiple(bucket_increments, sum);
  return true;
}

bool MetricRegistry::remove_values(uint64_t handle, LabelValues labels) {
  std::lock_guard lock(mutex_);
  if (handle == 0 || handle > families_.size()) return false;
  const Family& family = *families_[handle - 1];
  const auto label_map = family.labels(labels);
  if (!label_map) return false;
  auto remove_from = [&](auto* prom_family) {
    if (!prom_family || !prom_family->Has(*label_map)) return false;
    family.series.erase(std::string(Family::series_key(labels)));
    // Add returns the existing series for these labels; it is then removed.
    if constexpr (std::is_same_v<std::remove_pointer_t<decltype(prom_family)>,
                                 prometheus::Family<prometheus::Histogram>>) {
      prom_family->Remove(
          &prom_family->Add(*label_map, prometheus::Histogram::BucketBoundaries(family.buckets)));
    } else {
      prom_family->Remove(&prom_family->Add(*label_map));
    }
    return true;
  };
  return remove_from(family.counters) || remove_from(family.gauges) ||
         remove_from(family.histograms);
}

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

std::string MetricRegistry::render_text() const {
  {
    std::shared_lock hooks_lock(hooks_->mutex);
    for (const auto& [id, hook] : hooks_->items) hook();
  }
  // prometheus-cpp omits families without series; telemetry.md 8 wants
  // HELP/TYPE for every family before its first sample, so those are
  // written here, in registration order.
  std::map<std::string, prometheus::MetricFamily> collected;
  for (auto& family : registry_->Collect()) {
    std::string name = family.name;
    collected.emplace(std::move(name), std::move(family));
  }
  std::string out;
  out.reserve(last_size_.load(std::memory_order_relaxed) + 4096);
  ExpositionWriter writer(out);
  std::lock_guard lock(mutex_);
  for (const auto& family : families_) {
    auto it = collected.find(family->name);
    if (it != collected.end()) {
      writer.family(it->second);
      collected.erase(it);
    } else {
      writer.family_header(family->name, family->help, type_name(family->type));
    }
  }
  // Families registered on registry() directly, not through handles.
  for (const auto& [name, family] : collected) writer.family(family);
  last_size_.store(out.size(), std::memory_order_relaxed);
  return out;
}

}  // namespace tpark
