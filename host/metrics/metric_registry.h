// The host's one Prometheus registry, and the integer-handle view of it that
// plugins get through the SDK (sdk.md "Host API services": metrics).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace prometheus {
struct MetricFamily;
}

namespace tpark {

enum class MetricType { Counter = 1, Gauge = 2, Histogram = 3 };

class MetricRegistry {
 public:
  MetricRegistry();
  ~MetricRegistry();

  // Registers a family, or returns the existing handle when the same name is
  // registered again with the same type, labels and buckets. Returns 0 and
  // fills *error for an invalid name, a counter without _total, or a shape
  // mismatch.
  uint64_t register_family(MetricType type, std::string_view name, std::string_view help,
                           const std::vector<std::string>& label_names,
                           const std::vector<double>& buckets, std::string* error);
  // false when the handle, type or label count is wrong. A series once
  // resolved is found again without building its label set.
  using LabelValues = std::span<const std::string_view>;
  bool add_values(uint64_t handle, LabelValues labels, double value);
  bool set_values(uint64_t handle, LabelValues labels, double value);
  bool observe_values(uint64_t handle, LabelValues labels, double value);
  bool remove_values(uint64_t handle, LabelValues labels);
  bool add(uint64_t handle, const std::vector<std::string>& labels, double value);
  bool set(uint64_t handle, const std::vector<std::string>& labels, double value);
  bool observe(uint64_t handle, const std::vector<std::string>& labels, double value);
  bool remove(uint64_t handle, const std::vector<std::string>& labels);
  // Adds counts to a histogram series bucket by bucket: `bucket_increments`
  // has one entry per bound plus the +Inf bucket (not cumulative), and
  // `sum` is added to _sum. For values mirrored from an aggregate kept
  // elsewhere. false for a wrong handle, type, label count or length.
  bool observe_buckets(uint64_t handle, const std::vector<std::string>& labels,
                       const std::vector<double>& bucket_increments, double sum);

  // Runs `hook` at the start of every render_text(), outside the registry's
  // lock, so families mirrored from counters kept elsewhere (bus, route
  // statistics) are brought up to date at scrape time. Hooks may run
  // concurrently (concurrent scrapes) and must not call render_text().
  // Returns an id for remove_render_hook.
  uint64_t add_render_hook(std::function<void()> hook);
  // After this returns, the hook is not running and never runs again.
  void remove_render_hook(uint64_t hook_id);

  // The text exposition format (version 0.0.4) of everything registered:
  // families in registration order, each with HELP and TYPE even before its
  // first series. Each series keeps its rendered lines until it changes, so
  // a scrape formats only what changed since the last one.
  std::string render_text() const;
  // The same, as prometheus-cpp's families (to serve them with its Exposer),
  // series in the order render_text() writes them.
  std::vector<prometheus::MetricFamily> collect() const;

 private:
  struct Family;
  mutable std::mutex mutex_;
  std::vector<std::unique_ptr<Family>> families_;  // handle = index + 1
  mutable std::atomic<size_t> last_size_{0};       // the last exposition's size, to reserve
  // Render hooks run under a shared lock so removal can wait them out.
  struct Hooks;
  std::unique_ptr<Hooks> hooks_;
};

}  // namespace tpark
