// tpark-host's flags (config/settings.h): parsed by CLI11 from one table that
// also writes --help.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "config/settings.h"

namespace {

std::optional<tpark::CommandLine> parse(std::vector<std::string> args, std::string* error) {
  args.insert(args.begin(), "tpark-host");
  std::vector<char*> argv;
  for (auto& arg : args) argv.push_back(arg.data());
  return tpark::parse_command_line(static_cast<int>(argv.size()), argv.data(), error);
}

}  // namespace

TEST_CASE("flags_take_their_values_spaced_or_after_an_equals_sign", "[unit][settings]") {
  std::string error;
  auto cl = parse({"--config=/etc/tpark/host.yaml", "--listen", "[::1]:0", "--state-dir", "s",
                   "--plugin-dir", "a", "--plugin-dir=b", "--check-presets"},
                  &error);
  REQUIRE(cl);
  CHECK(cl->config_file == "/etc/tpark/host.yaml");
  CHECK(cl->listen == "[::1]:0");
  CHECK(cl->state_dir == "s");
  CHECK(cl->plugin_dirs == std::vector<std::string>{"a", "b"});
  CHECK(cl->check_presets);
  CHECK_FALSE(cl->list_routes);
  CHECK_FALSE(cl->help);
}

TEST_CASE("no_flags_leave_every_setting_to_env_yaml_and_defaults", "[unit][settings]") {
  std::string error;
  auto cl = parse({}, &error);
  REQUIRE(cl);
  CHECK_FALSE(cl->config_file);
  CHECK_FALSE(cl->listen);
  CHECK_FALSE(cl->state_dir);
  CHECK(cl->plugin_dirs.empty());
}

TEST_CASE("an_unknown_flag_a_missing_value_or_a_stray_word_is_an_error", "[unit][settings]") {
  std::string error;
  CHECK_FALSE(parse({"--bogus"}, &error));
  CHECK_THAT(error, Catch::Contains("--bogus"));
  error.clear();
  CHECK_FALSE(parse({"--listen"}, &error));
  CHECK_THAT(error, Catch::Contains("--listen"));
  error.clear();
  // One directory per --plugin-dir: a second word is not taken as another.
  CHECK_FALSE(parse({"--plugin-dir", "a", "b"}, &error));
  CHECK_FALSE(error.empty());
}

TEST_CASE("help_is_a_request_not_an_error", "[unit][settings]") {
  std::string error;
  auto long_form = parse({"--help"}, &error);
  REQUIRE(long_form);
  CHECK(long_form->help);
  auto short_form = parse({"-h"}, &error);
  REQUIRE(short_form);
  CHECK(short_form->help);
}

TEST_CASE("help_lists_every_flag_the_main_variables_and_where_to_read_more", "[unit][settings]") {
  const std::string help = tpark::usage_text();
  for (const char* flag : {"--config", "--listen", "--state-dir", "--plugin-dir", "--check-presets",
                           "--list-routes", "--version", "--help"})
    CHECK_THAT(help, Catch::Contains(flag));
  for (const char* variable : {"ARW_BIND", "ARW_PORT", "ARW_STATE_DIR", "TPARK_PLUGIN_PATH",
                               "ARW_ADMIN_TOKEN", "ARW_ADMIN_TOKEN_SHA256", "ARW_PERF_PRESET"})
    CHECK_THAT(help, Catch::Contains(variable));
  CHECK_THAT(help, Catch::Contains("docs/config.md"));
}
