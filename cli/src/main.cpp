// tpark: the Training Park command line. main() only wires: the global
// flags, the command groups, the completion hook, and the mapping of errors
// to exit codes (cli_error.h).
#include <cstring>
#include <iostream>

#include <CLI/CLI.hpp>

#include "cli_error.h"
#include "commands/commands.h"
#include "completion.h"

namespace tpark::cli {

CLI::App* add_command(CLI::App& parent, const std::string& name, const std::string& description,
                      const std::string& example) {
  CLI::App* command = parent.add_subcommand(name, description);
  command->footer("Example:\n  " + example);
  return command;
}

}  // namespace tpark::cli

int main(int argc, char** argv) {
  using namespace tpark::cli;
  CommandContext ctx;
  CLI::App app{"tpark: the Training Park command line", "tpark"};
  app.footer(
      "Example:\n  tpark context telemetry --watch --json --output-dir ~/tpark-logs\n\n"
      "Exit codes: 0 success; 1 request or server error (403, 409, 429, 5xx, host unreachable,\n"
      "job failed or cancelled); 2 usage error (checked before any request); 3 unauthorized "
      "(401).");
  app.set_version_flag("--version",
                       std::string("tpark ") + TPARK_CLI_VERSION + "\nsdk " + TPARK_SDK_VERSION,
                       "print the CLI and SDK versions");
  app.require_subcommand(1);
  app.fallthrough();  // global flags are accepted after any subcommand
  add_global_flags(app, ctx.globals);
  add_context_commands(app, ctx);
  add_job_commands(app, ctx);
  add_logic_unit_commands(app, ctx);
  add_control_commands(app, ctx);
  add_event_commands(app, ctx);

  if (argc >= 2 && std::strcmp(argv[1], kCompleteCommand) == 0)
    return print_completions(app, argc - 2, argv + 2);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? kExitOk : kExitUsage;
  } catch (const CliError& e) {
    if (*e.what() != '\0') std::cerr << "tpark: " << e.what() << '\n';
    return e.exit_code();
  } catch (const std::exception& e) {
    std::cerr << "tpark: " << e.what() << '\n';
    return kExitFailure;
  }
  return kExitOk;
}
