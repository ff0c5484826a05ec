// tpark-host: the Training Park host (spec README "Running the host").
#include <malloc.h>
#include <signal.h>

#include <cstdio>
#include <iostream>

#include <sodium.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "app/app.h"
#include "config/presets.h"
#include "config/settings.h"
#include "http/http_types.h"
#include "routes/routes.h"

namespace {

// --list-routes: the served route table ("METHOD TEMPLATE", then "json" for
// routes whose body is JSON), for docs/openapi.yaml's route-set test and the
// hostile-input tests. Registers the routes and starts nothing:
// no state dir, no lock, no journal, no plugin.
int list_routes(tpark::Settings settings) {
  tpark::AppContext app;
  app.settings = std::move(settings);
  tpark::http::Router router;
  tpark::add_all_routes(router, app);
  for (const tpark::http::Route& route : router.routes())
    std::printf("%s %s%s\n", route.method.c_str(), route.path_template.c_str(),
                route.json_body ? " json" : "");
  return std::fflush(stdout) == 0 ? 0 : 1;
}

// --check-presets: validates the preset files (errors on stderr), 0 or 1.
int check_presets(const tpark::Settings& settings) {
  auto presets =
      tpark::control::load_presets(tpark::control::default_presets_dir(settings.presets_dir));
  for (const auto& error : presets->errors) std::fprintf(stderr, "%s\n", error.to_string().c_str());
  std::fprintf(stderr, "%zu presets valid, %zu errors in %s\n", presets->items.size(),
               presets->errors.size(), presets->dir.string().c_str());
  return presets->errors.empty() ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  // Ingest allocates and frees a body's worth of small strings per request
  // (up to the 4 MiB body limit). With glibc's defaults a large block is
  // mapped and unmapped per request and a freed heap top is handed back at
  // 128 KiB, so every request faults its pages in again: blocks below 8 MiB
  // come from the heap, and up to 16 MiB of free top stays with the process.
  mallopt(M_MMAP_THRESHOLD, 8 << 20);
  mallopt(M_TRIM_THRESHOLD, 16 << 20);
  // Signals are taken synchronously by run_host(); block them before any thread starts.
  // A shell may start us with SIGINT ignored (background jobs); we want it.
  signal(SIGINT, SIG_DFL);
  signal(SIGTERM, SIG_DFL);
  signal(SIGHUP, SIG_DFL);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);

  if (sodium_init() < 0) {
    std::fprintf(stderr, "libsodium failed to initialise\n");
    return 1;
  }
  std::string error;
  auto command_line = tpark::parse_command_line(argc, argv, &error);
  if (!command_line) {
    std::fprintf(stderr, "%s\n%s", error.c_str(), tpark::usage_text().c_str());
    return 2;
  }
  if (command_line->help) {
    std::cout << tpark::usage_text();
    return 0;
  }
  if (command_line->version) {
    std::cout << "tpark-host " << TPARK_VERSION << "\n";
    return 0;
  }
  // The answering flags print their answer alone on stdout: what they log
  // (a malformed variable, say) goes to stderr.
  if (command_line->list_routes || command_line->check_presets)
    spdlog::set_default_logger(spdlog::stderr_color_mt("tpark-host"));
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %^%l%$ %v");
  auto resolved = tpark::resolve_settings(*command_line, tpark::builtin_plugin_dir());
  if (auto* failure = std::get_if<tpark::StartupError>(&resolved)) {
    std::fprintf(stderr, "%s\n", failure->message.c_str());
    return failure->exit_code;
  }
  tpark::Settings settings = std::get<tpark::Settings>(std::move(resolved));
  if (settings.command_line.list_routes) return list_routes(std::move(settings));
  if (settings.command_line.check_presets) return check_presets(settings);
  try {
    return tpark::run_host(std::move(settings));
  } catch (const std::invalid_argument& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 78;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fatal: %s\n", e.what());
    return 1;
  }
}
