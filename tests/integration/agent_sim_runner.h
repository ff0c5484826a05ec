// Runs the agent simulator (examples/agent-sim) in --target mode against a
// test host, with the test token, and returns how it ended.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "integration/test_host.h"

namespace tpark::test {

struct SimulatorRun {
  std::optional<int> exit_code;  // nullopt: still running at the timeout (then killed)
  std::string log;               // its stdout and stderr
};

// `args` follow `--target <host base URL>`.
inline SimulatorRun run_simulator_against(TestHost& host, const std::vector<std::string>& args,
                                          std::chrono::seconds timeout) {
  TempDir dir;
  HostProcess::Options o;
  o.binary = TPARK_AGENT_SIM_BINARY;
  o.args = {"--target", "http://127.0.0.1:" + std::to_string(host.port())};
  o.args.insert(o.args.end(), args.begin(), args.end());
  o.env = {{"ARW_ADMIN_TOKEN", kToken}};
  o.log_path = dir.file("sim.log");
  o.wait_for_listening = false;
  HostProcess simulator(std::move(o));
  SimulatorRun run;
  run.exit_code = simulator.wait_exit(timeout);
  run.log = simulator.log();
  return run;
}

}  // namespace tpark::test
