// The host's one Prometheus registry, and the integer-handle view of it that
// plugins get through the SDK (sdk.md "Host API services": metrics).
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace prometheus {
class Registry;
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
  // false when the handle, type or label count is wrong.
  bool add(uint64_t handle, const std::vector<std::string>& labels, double value);
  bool set(uint64_t handle, const std::vector<std::string>& labels, double value);
  bool observe(uint64_t handle, const std::vector<std::string>& labels, double value);
  bool remove(uint64_t handle, const std::vector<std::string>& labels);

  // The text exposition format (version 0.0.4) of everything registered.
  std::string render_text() const;
  std::shared_ptr<prometheus::Registry> registry() const { return registry_; }

 private:
  struct Family;
  std::shared_ptr<prometheus::Registry> registry_;
  mutable std::mutex mutex_;
  std::vector<std::unique_ptr<Family>> families_;  // handle = index + 1
};

}  // namespace tpark
