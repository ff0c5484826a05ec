#include "completion.h"

#include <charconv>
#include <iostream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace tpark::cli {

int print_completions(CLI::App& app, int argc, char** argv) {
  if (argc < 1) return 2;
  int cword = 0;
  const std::string cword_text = argv[0];
  std::from_chars(cword_text.data(), cword_text.data() + cword_text.size(), cword);
  std::vector<std::string> words(argv + 1, argv + argc);
  const size_t current = cword >= 1 ? static_cast<size_t>(cword - 1) : 0;
  const std::string prefix = current < words.size() ? words[current] : "";

  // Walk down the subcommands named before the current word.
  std::vector<CLI::App*> path{&app};
  for (size_t i = 0; i < current && i < words.size(); ++i) {
    for (CLI::App* sub : path.back()->get_subcommands([](CLI::App*) { return true; }))
      if (sub->get_name() == words[i]) {
        path.push_back(sub);
        break;
      }
  }
  std::vector<std::string> candidates;
  if (prefix.empty() || prefix[0] != '-') {
    for (CLI::App* sub : path.back()->get_subcommands([](CLI::App*) { return true; }))
      candidates.push_back(sub->get_name());
  }
  if (prefix.empty() || prefix[0] == '-') {
    for (CLI::App* level : path)
      for (const CLI::Option* option : level->get_options())
        for (const std::string& name : option->get_lnames()) candidates.push_back("--" + name);
  }
  for (const auto& candidate : candidates)
    if (candidate.rfind(prefix, 0) == 0 && candidate != "--" + std::string(kCompleteCommand))
      std::cout << candidate << '\n';
  return 0;
}

}  // namespace tpark::cli
