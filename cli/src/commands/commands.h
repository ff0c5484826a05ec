// The command groups. Each add_* registers its subcommands on the app with
// their flags, help and example; a command's callback talks to the host
// through ctx.api() and prints through output.h. Errors are CliError.
#pragma once

#include <memory>
#include <string>

#include "api.h"
#include "globals.h"

namespace CLI {
class App;
}

namespace tpark::cli {

struct CommandContext {
  Globals globals;
  // Built on first use, after the flags are parsed.
  Api& api() {
    if (!api_) api_ = std::make_unique<Api>(globals);
    return *api_;
  }

 private:
  std::unique_ptr<Api> api_;
};

// A subcommand whose --help ends with "Example:" and `example`.
CLI::App* add_command(CLI::App& parent, const std::string& name, const std::string& description,
                      const std::string& example);

void add_context_commands(CLI::App& app, CommandContext& ctx);     // context telemetry, tools cache
void add_job_commands(CLI::App& app, CommandContext& ctx);         // jobs start|list|show|cancel
void add_logic_unit_commands(CLI::App& app, CommandContext& ctx);  // logic-units, history
void add_control_commands(CLI::App& app, CommandContext& ctx);  // presets, leases, staging, plugins
void add_event_commands(CLI::App& app, CommandContext& ctx);    // events tail, ingest

}  // namespace tpark::cli
