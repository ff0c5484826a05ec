// tpark-agent-sim: an agent runtime's event stream, simulated, for feeding a
// tpark host (README "Set-up: two commands") or a file.
//
//   tpark-agent-sim --stdout --count 5000 --seed 7 > events.ndjson
//   tpark-agent-sim --target http://127.0.0.1:8091 --rate 50 --follow-config http://127.0.0.1:8091
//
// Exit codes: 0 done (--count reached, or SIGINT/SIGTERM); 1 the host rejected
// lines (a simulator bug: the first one is printed); 2 bad usage; 3 the host
// could not be reached or refused the requests (or stdout could not be written).
#include <signal.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <thread>

#include <CLI/CLI.hpp>

#include "config_follower.h"
#include "event_generator.h"
#include "http_client.h"
#include "ingest_sender.h"
#include "sim_time.h"

namespace {

using Clock = std::chrono::steady_clock;
using namespace tpark::sim;

volatile std::sig_atomic_t g_stop_requested = 0;

void request_stop(int) {
  g_stop_requested = 1;
}
bool stopping() {
  return g_stop_requested != 0;
}

constexpr int kExitRejected = 1;
constexpr int kExitUsage = 2;
constexpr int kExitUnreachable = 3;
constexpr const char* kFixedStart = "2026-01-01T00:00:00.000Z";
constexpr std::chrono::seconds kProgressEvery{10};  // a progress line on stderr

std::optional<std::string> admin_token_from_env() {
  const char* raw = std::getenv("ARW_ADMIN_TOKEN");
  if (!raw) return std::nullopt;
  std::string token(raw);
  token.erase(0, token.find_first_not_of(" \t\r\n"));
  token.erase(token.find_last_not_of(" \t\r\n") + 1);
  if (token.empty()) return std::nullopt;
  return token;
}

// Sleeps until `when` in short slices so SIGINT/SIGTERM are seen quickly.
void pace_until(Clock::time_point when) {
  while (!stopping()) {
    const auto now = Clock::now();
    if (now >= when) return;
    std::this_thread::sleep_for(
        std::min<Clock::duration>(when - now, std::chrono::milliseconds(100)));
  }
}

void print_totals(const char* label, const IngestTotals& totals, double seconds) {
  const double rate = seconds > 0 ? static_cast<double>(totals.sent) / seconds : 0.0;
  std::fprintf(stderr, "agent-sim: %ssent %llu, accepted %llu, rejected %llu (%.1f events/s)\n",
               label, static_cast<unsigned long long>(totals.sent),
               static_cast<unsigned long long>(totals.accepted),
               static_cast<unsigned long long>(totals.rejected), rate);
}

int exit_code_for(SendOutcome outcome) {
  switch (outcome) {
    case SendOutcome::ok:
    case SendOutcome::stopped:
      return 0;
    case SendOutcome::lines_rejected:
      return kExitRejected;
    case SendOutcome::failed:
      return kExitUnreachable;
  }
  return kExitUnreachable;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "Simulates an agent runtime's events (context loop, tools, cache, memory, feedback, "
      "route samples) and writes them as NDJSON or posts them to a tpark host."};
  uint64_t seed = 1;
  uint64_t count = 0;
  double rate = 0.0;
  bool to_stdout = false;
  std::string target_url;
  std::string follow_url;
  std::string node = "agent-sim";
  std::string start_time;
  app.add_option("--seed", seed, "Seed; the same seed and knobs give the same events")
      ->capture_default_str();
  app.add_option("--count", count, "Events to produce; 0 = forever")->capture_default_str();
  app.add_option("--rate", rate, "Events per second; 0 = as fast as possible")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  auto* stdout_flag = app.add_flag("--stdout", to_stdout, "Write NDJSON lines to stdout");
  auto* target_option =
      app.add_option("--target", target_url,
                     "POST batches to BASE/events/ingest (X-ARW-Admin from ARW_ADMIN_TOKEN)");
  stdout_flag->excludes(target_option);
  app.add_option("--follow-config", follow_url,
                 "Poll BASE/state/config every 2 s and follow its ARW_CONTEXT_* values");
  app.add_option("--node", node, "The events' node (empty: none)")->capture_default_str();
  app.add_option("--start-time", start_time,
                 std::string("Simulated clock at the first event, RFC 3339 UTC (default: ") +
                     kFixedStart + " with --stdout, the current time with --target)");
  app.footer(
      "Simulated time advances 1/rate s per event (20 ms with --rate 0).\n"
      "Exit codes: 0 done; 1 the host rejected lines; 2 bad usage; 3 host unreachable or "
      "refusing.");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : kExitUsage;
  }
  if (!to_stdout && target_url.empty()) {
    std::fprintf(stderr, "agent-sim: give --stdout or --target BASE\n");
    return kExitUsage;
  }
  if (!node.empty() &&
      (node.size() > 64 ||
       node.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                              "0123456789_-") != std::string::npos)) {
    std::fprintf(stderr, "agent-sim: --node must match ^[A-Za-z0-9_-]{1,64}$\n");
    return kExitUsage;
  }

  std::string error;
  std::optional<BaseUrl> target;
  if (!to_stdout) {
    target = parse_base_url(target_url, error);
    if (!target) {
      std::fprintf(stderr, "agent-sim: --target: %s\n", error.c_str());
      return kExitUsage;
    }
  }
  std::optional<ConfigFollower> follower;
  if (!follow_url.empty()) {
    const auto base = parse_base_url(follow_url, error);
    if (!base) {
      std::fprintf(stderr, "agent-sim: --follow-config: %s\n", error.c_str());
      return kExitUsage;
    }
    follower.emplace(*base, admin_token_from_env());
  }

  EventGeneratorOptions options;
  options.seed = seed;
  options.gap_ms = rate > 0 ? 1000.0 / rate : 20.0;
  options.node = node;
  if (start_time.empty()) {
    options.start_ms = to_stdout ? *parse_rfc3339_utc_ms(kFixedStart) : wall_clock_ms();
  } else if (const auto parsed = parse_rfc3339_utc_ms(start_time)) {
    options.start_ms = *parsed;
  } else {
    std::fprintf(stderr, "agent-sim: --start-time: not an RFC 3339 UTC time: %s\n",
                 start_time.c_str());
    return kExitUsage;
  }
  EventGenerator generator(options);

  struct sigaction action {};
  action.sa_handler = request_stop;
  sigemptyset(&action.sa_mask);
  sigaction(SIGTERM, &action, nullptr);
  // A shell that starts us in the background leaves SIGINT ignored so that
  // Ctrl+C spares us (scripts/run.sh stops us after the host): keep it so.
  struct sigaction inherited {};
  sigaction(SIGINT, nullptr, &inherited);
  if (inherited.sa_handler != SIG_IGN) sigaction(SIGINT, &action, nullptr);

  std::optional<IngestSender> sender;
  if (target) sender.emplace(*target, admin_token_from_env(), stopping);

  const auto started = Clock::now();
  auto next_poll = started;
  auto next_progress = started + kProgressEvery;
  SendOutcome outcome = SendOutcome::ok;
  for (uint64_t produced = 0; (count == 0 || produced < count) && !stopping(); ++produced) {
    const auto now = Clock::now();
    if (follower && now >= next_poll) {
      generator.set_knobs(follower->poll());
      next_poll = Clock::now() + std::chrono::seconds(ConfigFollower::kPollSeconds);
    }
    if (rate > 0) {
      pace_until(started +
                 std::chrono::duration_cast<Clock::duration>(
                     std::chrono::duration<double>(static_cast<double>(produced) / rate)));
      if (stopping()) break;
    }
    std::string line = generator.next_line();
    if (to_stdout) {
      line += '\n';
      if (std::fwrite(line.data(), 1, line.size(), stdout) != line.size()) return kExitUnreachable;
      if (rate > 0) std::fflush(stdout);
      continue;
    }
    outcome = sender->add(std::move(line));
    if (outcome == SendOutcome::ok) outcome = sender->flush_if_due();
    if (outcome != SendOutcome::ok) break;
    if (Clock::now() >= next_progress) {
      print_totals("", sender->totals(),
                   std::chrono::duration<double>(Clock::now() - started).count());
      next_progress += kProgressEvery;
    }
  }

  if (to_stdout) return std::fflush(stdout) == 0 ? 0 : kExitUnreachable;
  // On SIGINT/SIGTERM the pending batch gets one attempt (no retries).
  if (outcome == SendOutcome::ok) outcome = sender->flush();
  if (outcome != SendOutcome::ok && outcome != SendOutcome::stopped)
    std::fprintf(stderr, "agent-sim: %s\n", sender->error().c_str());
  print_totals("done: ", sender->totals(),
               std::chrono::duration<double>(Clock::now() - started).count());
  return exit_code_for(outcome);
}
