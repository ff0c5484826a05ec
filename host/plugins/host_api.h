// The host side of tp_host_api (sdk.md "Host API services"): one process-wide
// table whose slots serve the calling instance through its tp_host. Private
// to host/plugins: the rest of the host talks to PluginManager.
#pragma once

#include <array>
#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include <tpark/tp_plugin.h>

namespace tpark {
struct HostServices;
}

// One per plugin instance, owned by the host (the instance's runtime). The
// plugin sees only the opaque pointer; every slot of the table identifies its
// caller by it. Lives until the instance is destroyed, or forever when the
// instance was abandoned.
struct tp_host {
  std::string plugin_id;
  std::shared_ptr<const tpark::HostServices> services;
  std::string config_json;  // the validated config block, compact
  // Posts a callback onto the instance's executor. Moves from `task` only on
  // success; false once the executor stopped (the task is then untouched, so
  // the caller can destroy it outside its own locks).
  std::function<bool(std::function<void()>& task)> post;
  // Counts one failed plugin call in the instance's health (/admin/plugins)
  // and logs it: a timer callback that threw, an emit the host refused.
  // Any thread; empty before the runtime wires it.
  std::function<void(const std::string& message)> report_failure;
  // Sources only (ABI 1.2): the descriptor's name, the `source` of the events
  // it ingests; empty for every other kind (ingest_lines is then refused).
  std::string event_source;
  // Set once the instance is destroyed or abandoned: slots that reach host
  // services then answer TP_UNAVAILABLE instead of touching them.
  std::atomic<bool> revoked{false};
};

namespace tpark {

// The table handed to every plugin: struct_size = sizeof, abi_minor =
// TP_ABI_MINOR. Valid for the life of the process.
const tp_host_api* host_api_table();

// Cancels every timer and pending wake-up of `host` and releases their user
// data (free_fn runs on the calling thread, before this returns, for timers
// no queued callback still holds). Call it after the instance's executor has
// stopped and before destroy.
void release_host_timers(tp_host* host);

// The `source` of an event a plugin emits: "plugin:<id>", so no plugin's
// event passes for the host's own ("host") or for ingest.
std::string plugin_event_source(std::string_view plugin_id);

// The host state a plugin may read (tp_host_api.state_read), the one list:
// tp_plugin.h documents these names (a unit test compares the two) and the app
// answers each (app/state_reads.cpp, which checks it at boot).
inline constexpr std::array<std::string_view, 12> kStateReadNames = {
    "governor",     "config",  "capsules",         "route_stats",
    "bus",          "tasks",   "task_restarts",    "compatibility",
    "events_start", "plugins", "training_history", "training_cache"};

// Whether `name` is in kStateReadNames: a known name the app cannot serve yet
// answers TP_UNAVAILABLE, an unknown one TP_NOT_FOUND.
bool is_known_state_name(const std::string& name);

}  // namespace tpark
