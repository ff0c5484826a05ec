#include "plugins/plugin_library.h"

#include <dlfcn.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <mutex>
#include <type_traits>

#include <spdlog/spdlog.h>
#include <boost/dll/shared_library.hpp>

#include "plugins/host_api.h"

namespace tpark {
namespace {

namespace fs = std::filesystem;

// Every library ever opened. Never destroyed, so never unmapped (rule 10):
// an abandoned instance may still run its code at exit.
std::vector<boost::dll::shared_library>& opened_libraries() {
  static auto* libraries = new std::vector<boost::dll::shared_library>();
  return *libraries;
}

// Negotiation outcomes by path: the entry runs once per library per process.
std::map<fs::path, LibraryOutcome>& negotiated() {
  static auto* outcomes = new std::map<fs::path, LibraryOutcome>();
  return *outcomes;
}

std::mutex& library_mutex() {
  static std::mutex mutex;
  return mutex;
}

// Boost.DLL reports a failed dlopen as a bare errc and clears dlerror, so the
// loader's own text ("undefined symbol: …") is fetched by asking again.
std::string dlopen_failure_text(const fs::path& path) {
  dlerror();
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle != nullptr) {
    dlclose(handle);
    return "cannot load the library";
  }
  const char* text = dlerror();
  return text != nullptr ? text : "cannot load the library";
}

LibraryOutcome refuse(std::string reason) {
  LibraryOutcome outcome;
  outcome.refusal = std::move(reason);
  return outcome;
}

std::string read_name(const char* name) {
  if (name == nullptr) return {};
  return std::string(name, strnlen(name, 256));
}

// An ABI 1.2 descriptor (orchestrator or applier): at least its 1.2 size,
// every callback present. The refusal text, or nullopt once copied.
std::optional<std::string> copy_1_2_descriptor(const tp_descriptor* raw, uint32_t size,
                                               uint32_t kind, const std::string& name,
                                               PluginLibrary& library) {
  const size_t needed =
      kind == TP_KIND_ORCHESTRATOR ? sizeof(tp_orchestrator_desc) : sizeof(tp_applier_desc);
  if (size < needed)
    return "descriptor " + name + " struct_size " + std::to_string(size) + " smaller than 1.2 size " +
           std::to_string(needed);
  if (kind == TP_KIND_ORCHESTRATOR) {
    tp_orchestrator_desc desc{};
    std::memcpy(&desc, raw, sizeof desc);
    const char* missing = !desc.create       ? "create"
                          : !desc.start      ? "start"
                          : !desc.stop       ? "stop"
                          : !desc.destroy    ? "destroy"
                          : !desc.start_job  ? "start_job"
                          : !desc.cancel_job ? "cancel_job"
                                             : nullptr;
    if (missing != nullptr) return "descriptor " + name + " has no " + missing + " callback";
    if (desc.name == nullptr) return std::string("an orchestrator descriptor has no name");
    library.orchestrators.push_back(desc);
    return std::nullopt;
  }
  tp_applier_desc desc{};
  std::memcpy(&desc, raw, sizeof desc);
  const char* missing = !desc.create    ? "create"
                        : !desc.start   ? "start"
                        : !desc.stop    ? "stop"
                        : !desc.destroy ? "destroy"
                        : !desc.dry_run ? "dry_run"
                        : !desc.apply   ? "apply"
                        : !desc.revert  ? "revert"
                                        : nullptr;
  if (missing != nullptr) return "descriptor " + name + " has no " + missing + " callback";
  if (desc.name == nullptr) return std::string("an applier descriptor has no name");
  library.appliers.push_back(desc);
  return std::nullopt;
}

// A source descriptor (appended to ABI 1.2): at least its 1.2 size, every
// callback present. The refusal text, or nullopt once copied.
std::optional<std::string> copy_source_descriptor(const tp_descriptor* raw, uint32_t size,
                                                  const std::string& name,
                                                  PluginLibrary& library) {
  if (size < sizeof(tp_source_desc))
    return "descriptor " + name + " struct_size " + std::to_string(size) + " smaller than 1.2 size " +
           std::to_string(sizeof(tp_source_desc));
  tp_source_desc desc{};
  std::memcpy(&desc, raw, sizeof desc);
  const char* missing = !desc.create    ? "create"
                        : !desc.start   ? "start"
                        : !desc.stop    ? "stop"
                        : !desc.destroy ? "destroy"
                        : !desc.status  ? "status"
                                        : nullptr;
  if (missing != nullptr) return "descriptor " + name + " has no " + missing + " callback";
  if (desc.name == nullptr) return std::string("a source descriptor has no name");
  library.sources.push_back(desc);
  return std::nullopt;
}

// Checks the plugin's answer and copies its descriptors (rule 2).
LibraryOutcome check_answer(const fs::path& path, const tp_negotiate& answer) {
  LibraryOutcome outcome;
  outcome.abi_major = answer.plugin_abi_major;
  outcome.abi_minor = answer.plugin_abi_minor;
  if (answer.plugin_abi_major != TP_ABI_MAJOR) {
    outcome.refusal = "ABI major " + std::to_string(answer.plugin_abi_major) + ", host " +
                      std::to_string(TP_ABI_MAJOR);
    return outcome;
  }
  if (answer.plugin_min_host_minor > TP_ABI_MINOR) {
    outcome.refusal = "needs host ABI " + std::to_string(TP_ABI_MAJOR) + "." +
                      std::to_string(answer.plugin_min_host_minor) + ", host is " +
                      std::to_string(TP_ABI_MAJOR) + "." + std::to_string(TP_ABI_MINOR);
    return outcome;
  }
  if (answer.descriptor_count == 0 || answer.descriptors == nullptr) {
    outcome.refusal = "the plugin declared no descriptors";
    return outcome;
  }

  auto library = std::make_shared<PluginLibrary>();
  library->path = path;
  library->abi_major = answer.plugin_abi_major;
  library->abi_minor = answer.plugin_abi_minor;
  library->min_host_minor = answer.plugin_min_host_minor;
  for (uint32_t i = 0; i < answer.descriptor_count; ++i) {
    const tp_descriptor* raw = answer.descriptors[i];
    if (raw == nullptr) {
      outcome.refusal = "descriptor " + std::to_string(i) + " is NULL";
      return outcome;
    }
    // struct_size comes first in every descriptor; read it before the rest.
    uint32_t size = 0;
    std::memcpy(&size, raw, sizeof size);
    tp_descriptor prefix{};
    std::memcpy(&prefix, raw, std::min<size_t>(size, sizeof prefix));
    const std::string name =
        size >= sizeof prefix ? read_name(prefix.name) : "#" + std::to_string(i);
    if (size < sizeof(tp_descriptor)) {
      outcome.refusal = "descriptor " + name + " struct_size " + std::to_string(size) +
                        " smaller than 1.0 size " + std::to_string(sizeof(tp_descriptor));
      return outcome;
    }
    library->descriptors.push_back(DescriptorInfo{prefix.kind, name, size});
    if (prefix.kind == TP_KIND_EXPORTER) {
      if (size < sizeof(tp_exporter_desc)) {
        outcome.refusal = "descriptor " + name + " struct_size " + std::to_string(size) +
                          " smaller than 1.1 size " + std::to_string(sizeof(tp_exporter_desc));
        return outcome;
      }
      tp_exporter_desc exporter{};
      std::memcpy(&exporter, raw, sizeof exporter);
      const char* missing = !exporter.create         ? "create"
                            : !exporter.start        ? "start"
                            : !exporter.stop         ? "stop"
                            : !exporter.destroy      ? "destroy"
                            : !exporter.export_batch ? "export_batch"
                                                     : nullptr;
      if (missing != nullptr) {
        outcome.refusal = "descriptor " + name + " has no " + missing + " callback";
        return outcome;
      }
      if (exporter.name == nullptr) {
        outcome.refusal = "an exporter descriptor has no name";
        return outcome;
      }
      library->exporters.push_back(exporter);
      continue;
    }
    if (prefix.kind == TP_KIND_SOURCE) {
      if (auto refusal = copy_source_descriptor(raw, size, name, *library)) {
        outcome.refusal = std::move(*refusal);
        return outcome;
      }
      continue;
    }
    if (prefix.kind == TP_KIND_ORCHESTRATOR || prefix.kind == TP_KIND_LOGIC_APPLIER) {
      if (auto refusal = copy_1_2_descriptor(raw, size, prefix.kind, name, *library)) {
        outcome.refusal = std::move(*refusal);
        return outcome;
      }
      continue;
    }
    if (prefix.kind != TP_KIND_SECTION) {
      spdlog::info(
          "plugin library {}: ignoring descriptor {} of kind {} ({}): not run by ABI {}.{}",
          path.string(), name, prefix.kind, descriptor_kind_name(prefix.kind), TP_ABI_MAJOR,
          TP_ABI_MINOR);
      continue;
    }
    if (size < sizeof(tp_section_desc)) {
      outcome.refusal = "descriptor " + name + " struct_size " + std::to_string(size) +
                        " smaller than 1.0 size " + std::to_string(sizeof(tp_section_desc));
      return outcome;
    }
    // A larger descriptor comes from a newer plugin: the host reads its prefix.
    tp_section_desc section{};
    std::memcpy(&section, raw, sizeof section);
    const char* missing = !section.create     ? "create"
                          : !section.start    ? "start"
                          : !section.stop     ? "stop"
                          : !section.destroy  ? "destroy"
                          : !section.reset    ? "reset"
                          : !section.on_event ? "on_event"
                          : !section.render   ? "render"
                                              : nullptr;
    if (missing != nullptr) {
      outcome.refusal = "descriptor " + name + " has no " + missing + " callback";
      return outcome;
    }
    if (section.name == nullptr) {
      outcome.refusal = "a section descriptor has no name";
      return outcome;
    }
    library->sections.push_back(section);
  }
  outcome.descriptors = library->descriptors;
  outcome.library = std::move(library);
  return outcome;
}

}  // namespace

const char* descriptor_kind_name(uint32_t kind) {
  switch (kind) {
    case TP_KIND_SECTION:
      return "section";
    case TP_KIND_ORCHESTRATOR:
      return "orchestrator";
    case TP_KIND_LOGIC_APPLIER:
      return "logic_applier";
    case TP_KIND_EXPORTER:
      return "exporter";
    case TP_KIND_SOURCE:
      return "source";
    default:
      return "unknown";
  }
}

LibraryOutcome open_plugin_library(const fs::path& requested) {
  std::error_code fs_error;
  fs::path path = fs::weakly_canonical(fs::absolute(requested), fs_error);
  if (fs_error) path = fs::absolute(requested).lexically_normal();

  std::lock_guard lock(library_mutex());
  if (auto it = negotiated().find(path); it != negotiated().end()) return it->second;

  boost::dll::shared_library library;
  boost::dll::fs::error_code open_error;
  library.load(boost::dll::fs::path(path.string()),
               boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local, open_error);
  if (open_error || !library.is_loaded()) return refuse(dlopen_failure_text(path));

  if (!library.has(TP_PLUGIN_ENTRY_SYMBOL)) {
    opened_libraries().push_back(std::move(library));
    return negotiated()
        .emplace(path, refuse("missing entry " TP_PLUGIN_ENTRY_SYMBOL))
        .first->second;
  }
  auto& entry = library.get<std::remove_pointer_t<tp_plugin_entry_fn>>(TP_PLUGIN_ENTRY_SYMBOL);
  opened_libraries().push_back(std::move(library));

  tp_negotiate negotiate;
  std::memset(&negotiate, 0, sizeof negotiate);
  negotiate.struct_size = sizeof negotiate;
  negotiate.host_abi_major = TP_ABI_MAJOR;
  negotiate.host_abi_minor = TP_ABI_MINOR;
  negotiate.host_api = host_api_table();
  tp_error err;
  std::memset(&err, 0, sizeof err);
  err.struct_size = sizeof err;

  tp_status status = TP_INTERNAL;
  std::string escaped;
  try {
    status = entry(&negotiate, &err);
  } catch (const std::exception& e) {
    escaped = std::string("an exception escaped tp_plugin_entry: ") + e.what();
  } catch (...) {
    escaped = "an exception escaped tp_plugin_entry";
  }
  LibraryOutcome outcome;
  if (!escaped.empty()) {
    outcome = refuse(escaped);
  } else if (status != TP_OK) {
    const std::string message(err.message, strnlen(err.message, sizeof err.message));
    outcome = refuse("tp_plugin_entry failed (status " + std::to_string(status) + ")" +
                     (message.empty() ? "" : ": " + message));
  } else {
    outcome = check_answer(path, negotiate);
  }
  return negotiated().emplace(path, std::move(outcome)).first->second;
}

}  // namespace tpark
