// The dispatcher's own cost: events/s from memory through the bus into the
// section plugins (journal excluded: events are published to the bus
// directly, as the journal's commit sink does), until every section has
// taken every event. Target >= the raw SQLite batched insert rate (stretch 1M/s).
//
// The events are the agent simulator's (realistic kinds and payloads),
// generated once and cycled with fresh ids. Figures: every built-in section
// loaded (the target); the same kinds with empty payloads (the dispatcher's
// own cost, sections doing almost nothing); then each section alone with
// the simulator's events (where the time goes). The reference, measured in
// the same run: a raw SQLite batched insert of the same events (prepared
// statement, one transaction per batch, WAL, synchronous=FULL) — the
// sections must keep up with the journal (target >= 1.0x that rate).
//
// BENCH_BASELINE_PLUGIN_DIR names a directory of other builds of some section
// plugins (e.g. copies of build/plugins/section-memory from an older commit):
// each of those sections alone is then also measured from there, in the same
// run, and printed beside the current build with the ratio.
// BENCH_KIND_PREFIX keeps only the simulator events whose kind starts with it
// (e.g. "memory." to measure what the memory sections do with their payloads).
//
// Usage: bench_section_dispatch [events=1000000] [batch=10000] [distinct=20000]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include <sqlite3.h>

#include "kernel/bus.h"
#include "kernel/journal.h"
#include "metrics/metric_registry.h"
#include "plugins/plugin_manager.h"
#include "support/bench_support.h"
#include "support/host_process.h"
#include "util/json.h"
#include "util/time.h"

using namespace tpark;
using Clock = std::chrono::steady_clock;

namespace {

// `count` simulator events as (kind, time, compact payload).
std::vector<Event> simulator_events(size_t count) {
  const std::string command =
      std::string(TPARK_AGENT_SIM_BINARY) + " --stdout --seed 1 --count " + std::to_string(count);
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) {
    std::perror("popen");
    std::exit(1);
  }
  std::string text;
  char buffer[65536];
  for (size_t n; (n = fread(buffer, 1, sizeof buffer, pipe)) > 0;) text.append(buffer, n);
  if (pclose(pipe) != 0) {
    std::fprintf(stderr, "the simulator failed\n");
    std::exit(1);
  }
  std::vector<Event> events;
  size_t at = 0;
  while (at < text.size()) {
    size_t end = text.find('\n', at);
    if (end == std::string::npos) end = text.size();
    const Json line = Json::parse(text.substr(at, end - at));
    Event e;
    e.kind = line["kind"].get<std::string>();
    e.time = line["time"].get<std::string>();
    e.time_ms = parse_rfc3339_ms(e.time).value_or(0);
    e.payload = line["payload"].dump();
    e.source = "ingest";
    e.node = line.value("node", "");
    events.push_back(std::move(e));
    at = end + 1;
  }
  return events;
}

struct Run {
  double seconds = 0;
  uint64_t lagged = 0;
  size_t sections = 0;
};

// Publishes `total` events (cycling `pool`) and waits until every loaded
// section rendered with all of them delivered.
// `only`: the one section to load; empty loads every built-in section.
// `plugin_dir`: where the plugins come from (the built-in directory by default).
Run run(const std::vector<Event>& pool, size_t total, size_t batch, const std::string& only,
        const std::string& plugin_dir = TPARK_BUILTIN_PLUGIN_DIR) {
  test::TempDir dir;
  Journal journal(dir.path() / "tpark.db");
  Bus bus;
  MetricRegistry metrics;
  HostServices services;
  services.journal = &journal;
  services.bus = &bus;
  services.metrics = &metrics;
  services.state_read = [](const std::string& name) -> std::optional<Json> {
    if (name == "events_start")
      return Json{{"start", "2026-01-01T00:00:00.000Z"}, {"start_ms", 0}, {"start_id", 0}};
    return Json(nullptr);
  };
  PluginSettings settings;
  settings.builtin_dirs = {plugin_dir};
  settings.render_timeout = std::chrono::milliseconds(600000);
  // Publishing everything at once outruns any consumer; measure throughput, not lag.
  settings.inbox_capacity = total + 1;
  PluginManager plugins(services, settings);
  HostConfig config;
  config.file = "bench";
  if (!only.empty())
    for (const auto& name : builtin_section_names())
      if (name != only) config.plugins["tp.section." + name].enabled = false;
  plugins.load(config);

  std::vector<std::vector<EventPtr>> batches;
  for (size_t i = 0; i < total; i += batch) {
    std::vector<EventPtr> b;
    for (size_t j = i; j < std::min(total, i + batch); ++j) {
      auto e = std::make_shared<Event>(pool[j % pool.size()]);
      e->id = static_cast<int64_t>(j + 1);
      b.push_back(std::move(e));
    }
    batches.push_back(std::move(b));
  }

  Run result;
  const auto start = Clock::now();
  for (auto& b : batches) bus.publish(std::move(b));
  const auto rendered = plugins.render_sections_through(static_cast<int64_t>(total));
  result.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  for (const auto& s : rendered) {
    if (!s.ok && s.error != "disabled" && (only.empty() || s.name == only)) {
      std::fprintf(stderr, "section %s: %s\n", s.name.c_str(), s.error.c_str());
      std::exit(1);
    }
    if (s.ok) ++result.sections;
    if (s.ok && s.name == "events" && Json::parse(s.json)["total"].get<size_t>() != total) {
      std::fprintf(stderr, "events.total is not %zu\n", total);
      std::exit(1);
    }
  }
  result.lagged = bus.counters().lagged;
  plugins.stop_all();
  return result;
}

}  // namespace

int main(int argc, char** argv) {
  if (tpark::test::help_requested(
          argc, argv,
          "usage: bench_section_dispatch [events=1000000] [batch=10000] [distinct=20000]\nEvents/s "
          "from memory through the bus into the section plugins until every section has taken "
          "every event (all 14, then empty payloads, then each section alone), against a raw "
          "SQLite batched insert of the same events. Env: BENCH_KIND_PREFIX keeps only kinds "
          "starting with it; BENCH_BASELINE_PLUGIN_DIR measures other builds of some sections "
          "too.\n"))
    return 0;
  const size_t total = argc > 1 ? std::stoul(argv[1]) : 1000000;
  const size_t batch = argc > 2 ? std::stoul(argv[2]) : 10000;
  const size_t distinct = argc > 3 ? std::stoul(argv[3]) : 20000;
  std::vector<Event> pool = simulator_events(distinct);
  if (const char* prefix = std::getenv("BENCH_KIND_PREFIX")) {
    std::erase_if(pool, [prefix](const Event& e) { return e.kind.rfind(prefix, 0) != 0; });
    std::printf("section_dispatch: only the %zu events of kinds %s*\n", pool.size(), prefix);
  }

  double raw_rate = 0;
  {
    test::TempDir dir;
    // A raw SQLite batched insert of `total` events cycling the pool.
    raw_rate = test::raw_sqlite_insert_rate(
        (dir.path() / "raw.db").string(), total,
        [&](sqlite3_stmt* stmt, size_t j) {
          const Event& e = pool[j % pool.size()];
          sqlite3_bind_int64(stmt, 1, e.time_ms);
          sqlite3_bind_text(stmt, 2, e.kind.data(), static_cast<int>(e.kind.size()), SQLITE_STATIC);
          sqlite3_bind_text(stmt, 3, e.payload.data(), static_cast<int>(e.payload.size()),
                            SQLITE_STATIC);
          sqlite3_bind_text(stmt, 4, e.source.data(), static_cast<int>(e.source.size()),
                            SQLITE_STATIC);
          if (e.node.empty())
            sqlite3_bind_null(stmt, 5);
          else
            sqlite3_bind_text(stmt, 5, e.node.data(), static_cast<int>(e.node.size()),
                              SQLITE_STATIC);
          sqlite3_bind_null(stmt, 6);
        },
        batch);
  }
  const Run all = run(pool, total, batch, "");
  const double all_rate = static_cast<double>(total) / all.seconds;
  std::printf(
      "section_dispatch: %zu simulator events through the bus into all %zu sections in "
      "%.3f s: %.0f events/s; raw SQLite batched insert of the same events %.0f events/s; "
      "%.2fx (target >= 1.0x) %s; stretch 1000000 events/s %s; lagged %llu\n",
      total, all.sections, all.seconds, all_rate, raw_rate, all_rate / raw_rate,
      all_rate >= raw_rate ? "MET" : "MISSED", all_rate >= 1e6 ? "MET" : "MISSED",
      static_cast<unsigned long long>(all.lagged));
  // The dispatcher's own share: the same kinds with empty payloads, into
  // every section (what is left is fan-out, inboxes and executors).
  std::vector<Event> empty_pool = pool;
  for (Event& e : empty_pool) e.payload = "{}";
  const Run empty = run(empty_pool, total, batch, "");
  std::printf(
      "section_dispatch: the same kinds with empty payloads into all %zu sections in %.3f s: "
      "%.0f events/s %s\n",
      empty.sections, empty.seconds, static_cast<double>(total) / empty.seconds,
      static_cast<double>(total) / empty.seconds >= 1e6 ? "MET" : "MISSED");
  // Where the time goes: each section alone, the simulator's events.
  const char* baseline_dir = std::getenv("BENCH_BASELINE_PLUGIN_DIR");
  for (const auto& name : builtin_section_names()) {
    const Run one = run(pool, total, batch, name);
    const double rate = static_cast<double>(total) / one.seconds;
    std::string beside;
    if (baseline_dir != nullptr &&
        std::filesystem::exists(std::filesystem::path(baseline_dir) / ("section-" + name))) {
      const Run before = run(pool, total, batch, name, baseline_dir);
      const double before_rate = static_cast<double>(total) / before.seconds;
      char text[96];
      std::snprintf(text, sizeof text, "; baseline build %10.0f events/s: %.2fx", before_rate,
                    rate / before_rate);
      beside = text;
    }
    std::printf("section_dispatch:   tp.section.%-16s alone: %10.0f events/s%s\n", name.c_str(),
                rate, beside.c_str());
  }
  return 0;
}
