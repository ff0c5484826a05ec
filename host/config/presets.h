// Preset files (control.md 3.3, 3.5, 3.6): loading and validating the perf
// and context presets of a directory, and the perf tier auto-detection.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/errors.h"
#include "util/json.h"

namespace tpark::control {

inline constexpr const char* kPerfPresetNames[] = {"eco", "balanced", "performance", "turbo"};

struct PresetEntry {
  std::string key;  // a registry key
  Json value;       // typed (control.md 3.1)
  bool risky = false;
};

struct Preset {
  std::string name;
  std::string kind;  // "perf" or "context"
  std::string file;  // relative to the presets dir's parent ("presets/perf/eco.yaml")
  std::vector<std::string> aliases;
  std::string description;
  bool risky = false;
  std::vector<PresetEntry> env;  // in file order
  // {profile?, hints?} with a normalised profile and typed hints; null if absent.
  Json governor;

  bool defines(std::string_view key) const;
  std::vector<std::string> risky_keys() const;
};

// A loaded directory: the valid presets and every error of the invalid files.
struct PresetSet {
  std::filesystem::path dir;
  std::vector<Preset> items;  // perf first (eco, balanced, performance, turbo), then context
  std::vector<ConfigError> errors;

  // A preset by name or alias, case-insensitive; nullptr if none.
  const Preset* find(std::string_view name_or_alias) const;
  // The {file,line,column,message} list used by GET /state/presets and problems.
  Json errors_json() const;
};

// Parses one preset file's text. `file` is how errors name it; `kind_dir` is
// "perf" or "context" (the directory it was found in) or empty when unknown.
// Returns the preset, or nullopt with the errors appended to `errors`.
std::optional<Preset> parse_preset(const std::string& text, const std::string& file,
                                   std::string_view kind_dir, std::vector<ConfigError>& errors);

// Reads `dir`/perf/*.yaml and `dir`/context/*.yaml. Invalid files are left out
// and their errors listed; duplicate names or aliases across files are errors
// of the later file (in name order). Never throws for file content.
std::shared_ptr<const PresetSet> load_presets(const std::filesystem::path& dir);

// What the tier detection reads (control.md 3.5); all optional but the CPUs.
struct MachineFacts {
  unsigned affinity_cpus = 1;
  std::optional<std::string> cgroup_cpu_max;     // cpu.max content, e.g. "200000 100000" or "max 100000"
  std::optional<std::string> cgroup_memory_max;  // memory.max content, e.g. "8589934592" or "max"
  std::optional<uint64_t> mem_total_bytes;       // MemTotal from /proc/meminfo
};

struct DetectedTier {
  unsigned cores = 1;
  double mem_gib = 0;  // 0 when unknown
  std::string tier;
  Json to_json() const;  // {cores, mem_gib, tier}
};

// The pure rule: eco if cores <= 4 or mem_gib <= 8; balanced if cores <= 8 or
// mem_gib <= 16; performance if cores <= 16 or mem_gib <= 32; else turbo.
// An unknown memory size counts only the cores.
DetectedTier detect_tier(const MachineFacts& facts);
// Reads the facts of this process (sched_getaffinity, its cgroup v2 files, /proc/meminfo).
MachineFacts read_machine_facts();

// The presets directory: `env_dir` (ARW_PRESETS_DIR, as the settings read it),
// else <exe>/../share/tpark/presets when installed, else the source tree's
// presets/ the binary was built from.
std::filesystem::path default_presets_dir(const std::optional<std::string>& env_dir);

}  // namespace tpark::control
