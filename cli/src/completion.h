// Shell completion: `tpark __complete CWORD WORD...` prints the candidates
// for the word at CWORD (bash's COMP_CWORD; the words follow the program
// name), one per line, from the same command tree the parser uses. The bash
// script cli/completion/tpark.bash calls it.
#pragma once

namespace CLI {
class App;
}

namespace tpark::cli {

inline constexpr const char* kCompleteCommand = "__complete";

// argv: the arguments after "__complete". Returns the exit code.
int print_completions(CLI::App& app, int argc, char** argv);

}  // namespace tpark::cli
