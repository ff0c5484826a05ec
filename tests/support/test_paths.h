// Where the build put what the tests run: the host binary, the plugins, the
// fixtures and the simulator. The values live in a file the build generates
// (test_paths.cpp under the build tree), so no object file carries an absolute
// path and a compiler cache can share test objects between checkouts.
#pragma once

namespace tpark::test_paths {
extern const char* const host_binary;
extern const char* const builtin_plugin_dir;
extern const char* const fixture_dir;
extern const char* const source_dir;
extern const char* const binary_dir;
extern const char* const compat_abi_1_0_dir;
extern const char* const agent_sim_binary;
extern const char* const cli_binary;
}  // namespace tpark::test_paths
