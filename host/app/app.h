// The host process: boot sequence, serving, reload and clean stop.
#pragma once

#include <memory>

#include "config/settings.h"

namespace tpark {

// Runs the host until SIGINT/SIGTERM. Returns the process exit code.
// The caller must have blocked SIGINT, SIGTERM and SIGHUP in every thread.
int run_host(Settings settings);

// The directory of built-in plugins: TPARK_BUILTIN_PLUGIN_DIR if set, else
// ../plugins or ../lib/tpark/plugins next to the executable.
std::filesystem::path builtin_plugin_dir();

}  // namespace tpark
