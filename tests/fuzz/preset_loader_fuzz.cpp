// Fuzzes the preset file parser (control.md 3.3): any bytes must give either
// a preset or at least one located error, never a crash, a hang or a preset
// with values outside the registry.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "config/config_registry.h"
#include "config/presets.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  for (const char* kind : {"perf", "context"}) {
    std::vector<tpark::ConfigError> errors;
    auto preset = tpark::control::parse_preset(text, "presets/perf/fuzz.yaml", kind, errors);
    if (preset.has_value() == !errors.empty()) __builtin_trap();
    for (const auto& e : errors)
      if (e.line < 0 || e.column < 0 || e.message.empty()) __builtin_trap();
    if (!preset) continue;
    if (preset->env.empty() || preset->kind != kind) __builtin_trap();
    for (const auto& entry : preset->env) {
      const auto* key = tpark::control::find_key(entry.key);
      if (!key) __builtin_trap();
      // A value the loader accepted parses again to itself.
      auto again = tpark::control::parse_key_json(*key, entry.value);
      if (!std::holds_alternative<tpark::Json>(again) ||
          !tpark::control::config_values_equal(std::get<tpark::Json>(again), entry.value))
        __builtin_trap();
    }
  }
  return 0;
}
