// tpark-worker: one training worker (docs/deploy.md "Training workers"). Only
// wires: flags and environment, the orchestrator plugin through the host's
// loader, signals, then the job loop.
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include <sched.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include "job_loop.h"
#include "plugins/manifest.h"
#include "plugins/plugin_library.h"

namespace {

constexpr const char* kUsage = R"(usage: tpark-worker [options]

Runs training jobs from the NATS JetStream work queue ARW_TRAINING_JOBS with
tp.orchestrator.local, the plugin tpark-host runs for local dispatch, and
reports progress and results back to the host through JetStream. Start the
host with ARW_TRAINING_DISPATCH=nats first: it creates the streams and
consumers. SIGTERM or SIGINT: the job in hand is finished and acked, then the
worker exits 0.

options:
  --plugin-dir DIR             where orchestrator-local/plugin.yaml is (default:
                               TPARK_BUILTIN_PLUGIN_DIR, else the plugins
                               directory beside the binary's bin/)
  --worker-id ID               the `worker` field of progress and results
                               (default: ARW_WORKER_ID, else <hostname>-<pid>)
  --nice N                     lower this process's CPU priority by N (1..19)
                               at start, as nice(1) does: workers sharing a
                               machine with the host leave it the CPU first.
                               19 also selects SCHED_IDLE: the worker then runs
                               only on CPU nothing else wants
  --base URL                   the host's base URL (http://HOST:PORT, default
                               ARW_BASE): jobs whose message carries only the
                               window's bounds (the host's
                               ARW_TRAINING_NATS_WINDOW=fetch) read the host's
                               journal there, GET /state/events
  --exit-after-result-publish  test only: exit after the result's PubAck and
                               before the ack (control.md check 28)
  --help                       this text

environment: ARW_NATS_URL (nats://127.0.0.1:4222), ARW_NATS_USER, ARW_NATS_PASS,
ARW_NATS_TLS=1, ARW_GROUP (workers), ARW_ORCH_NACK_DELAY_MS (5000),
ARW_ORCH_PROGRESS_MIN_MS (0: every stage's progress is published; N > 0
publishes a stage only N ms after the job started or its last progress),
ARW_BASE, ARW_ADMIN_TOKEN (sent to the host with --base).
)";

std::atomic<bool> g_stop{false};

void on_signal(int) {
  g_stop = true;
}

std::string env_or(const char* name, std::string fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? std::string(value) : fallback;
}

std::filesystem::path default_plugin_dir() {
  const std::string dir = env_or("TPARK_BUILTIN_PLUGIN_DIR", "");
  if (!dir.empty()) return dir;
  std::error_code ec;
  const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return "plugins";
  const auto root = exe.parent_path().parent_path();
  if (std::filesystem::is_directory(root / "plugins")) return root / "plugins";
  return root / "lib" / "tpark" / "plugins";
}

}  // namespace

int main(int argc, char** argv) {
  tpark::worker::WorkerOptions options;
  std::filesystem::path plugin_dir = default_plugin_dir();
  int nice_increment = 0;
  std::string base_url = env_or("ARW_BASE", "");
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::cout << kUsage;
      return 0;
    } else if (arg == "--exit-after-result-publish") {
      options.exit_after_result_publish = true;
    } else if (arg == "--nice" && i + 1 < argc) {
      const std::string value = argv[++i];
      char* end = nullptr;
      const long increment = std::strtol(value.c_str(), &end, 10);
      if (end == value.c_str() || *end != '\0' || increment < 1 || increment > 19) {
        std::cerr << "tpark-worker: --nice takes 1..19, not " << value << "\n";
        return 2;
      }
      nice_increment = static_cast<int>(increment);
    } else if (arg == "--base" && i + 1 < argc) {
      base_url = argv[++i];
    } else if (arg == "--plugin-dir" && i + 1 < argc) {
      plugin_dir = argv[++i];
    } else if (arg == "--worker-id" && i + 1 < argc) {
      options.worker_id = argv[++i];
    } else {
      std::cerr << "tpark-worker: unknown argument " << arg << "\n" << kUsage;
      return 2;
    }
  }
  spdlog::set_default_logger(spdlog::stderr_color_mt("tpark-worker"));
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %^%l%$ %v");
  if (nice_increment > 0) {
    // Before any thread starts: libnats' and the plugin's threads inherit it.
    errno = 0;
    if (nice(nice_increment) == -1 && errno != 0)
      spdlog::warn("--nice {}: {}", nice_increment, std::strerror(errno));
    // Nice 19 still takes a share of a busy CPU; SCHED_IDLE takes none
    // (an unprivileged process may always lower itself to it).
    const sched_param param{};
    if (nice_increment == 19 && sched_setscheduler(0, SCHED_IDLE, &param) != 0)
      spdlog::warn("--nice 19: SCHED_IDLE: {}", std::strerror(errno));
    spdlog::info("CPU priority lowered: nice {}{}", nice_increment,
                 sched_getscheduler(0) == SCHED_IDLE ? ", SCHED_IDLE" : "");
  }
  if (!base_url.empty()) {
    options.host = tpark::worker::parse_host_url(base_url);
    if (!options.host) {
      spdlog::error("--base / ARW_BASE: expected http://HOST[:PORT], not {}", base_url);
      return 2;
    }
    options.admin_token = env_or("ARW_ADMIN_TOKEN", "");
  }

  options.nats_url = env_or("ARW_NATS_URL", options.nats_url);
  if (env_or("ARW_NATS_TLS", "0") == "1" && options.nats_url.rfind("nats://", 0) == 0)
    options.nats_url = "tls://" + options.nats_url.substr(7);
  options.group = env_or("ARW_GROUP", options.group);
  options.nack_delay_ms = std::stoll(env_or("ARW_ORCH_NACK_DELAY_MS", "5000"));
  options.progress_min_ms =
      std::stoll(env_or("ARW_ORCH_PROGRESS_MIN_MS", std::to_string(options.progress_min_ms)));
  if (options.worker_id.empty()) {
    char host[256] = {};
    gethostname(host, sizeof host - 1);
    options.worker_id = env_or("ARW_WORKER_ID", std::string(host) + "-" + std::to_string(getpid()));
  }

  // The same manifest check and loader as the host's.
  const auto manifest_path = plugin_dir / "orchestrator-local" / "plugin.yaml";
  auto manifest = tpark::read_manifest(manifest_path);
  if (auto* errors = std::get_if<std::vector<tpark::ConfigError>>(&manifest)) {
    spdlog::error("{}", tpark::manifest_errors_text(*errors));
    return 1;
  }
  const auto outcome =
      tpark::open_plugin_library(std::get<tpark::Manifest>(manifest).library_path());
  if (!outcome.library || outcome.library->orchestrators.empty()) {
    spdlog::error("cannot load {}: {}", manifest_path.string(),
                  outcome.library ? "no orchestrator descriptor" : outcome.refusal);
    return 1;
  }

  std::signal(SIGTERM, on_signal);
  std::signal(SIGINT, on_signal);
  return tpark::worker::run_worker(options, outcome.library->orchestrators.front(), g_stop);
}
