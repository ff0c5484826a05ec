// Opening a plugin library and its one negotiation (sdk.md rules 1, 2, 10):
// Boost.DLL with rtld_now | rtld_local, the tp_plugin_entry call, the version
// checks and the descriptor copies. A library, once opened, stays mapped for
// the life of the process, and its entry runs once.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <tpark/tp_plugin.h>

namespace tpark {

// One descriptor as the plugin declared it (GET /admin/plugins `descriptors`).
struct DescriptorInfo {
  uint32_t kind = 0;
  std::string name;
  uint32_t struct_size = 0;
};

// "section", "orchestrator", "logic_applier", "exporter", "source", or "unknown".
const char* descriptor_kind_name(uint32_t kind);

struct PluginLibrary {
  std::filesystem::path path;
  uint32_t abi_major = 0;  // as the plugin answered
  uint32_t abi_minor = 0;
  uint32_t min_host_minor = 0;
  std::vector<DescriptorInfo> descriptors;  // every descriptor, unknown kinds included
  std::vector<tp_section_desc> sections;    // section descriptors, copied and checked
  std::vector<tp_exporter_desc> exporters;  // exporter descriptors (ABI 1.1), copied and checked
  std::vector<tp_orchestrator_desc> orchestrators;  // ABI 1.2, copied and checked
  std::vector<tp_applier_desc> appliers;            // ABI 1.2, copied and checked
  std::vector<tp_source_desc> sources;              // ABI 1.2, copied and checked
};

struct LibraryOutcome {
  std::shared_ptr<const PluginLibrary> library;  // null when refused
  std::string refusal;                           // why, when refused
  // What the plugin answered, when its entry ran (also when refused for it).
  std::optional<uint32_t> abi_major, abi_minor;
  std::vector<DescriptorInfo> descriptors;
};

// Opens (or finds, when already opened) the library at `path` and negotiates.
// Refusal reasons: the dlerror text, "missing entry tp_plugin_entry",
// "ABI major 2, host 1", "needs host ABI 1.3, host is 1.0", "descriptor <name>
// struct_size N smaller than 1.0 size M", ... Control thread only.
LibraryOutcome open_plugin_library(const std::filesystem::path& path);

}  // namespace tpark
