// The dispatcher's own cost: events/s from memory through the bus into the
// tp.section.events plugin (journal excluded: events are published to the bus
// directly, as the journal's commit sink does). Target >= 1M events/s.
//
// Usage: bench_section_dispatch [events=2000000] [batch=10000]
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "kernel/bus.h"
#include "kernel/journal.h"
#include "metrics/metric_registry.h"
#include "plugins/plugin_manager.h"
#include "support/host_process.h"

using namespace tpark;
using Clock = std::chrono::steady_clock;

int main(int argc, char** argv) {
  const size_t total = argc > 1 ? std::stoul(argv[1]) : 2000000;
  const size_t batch = argc > 2 ? std::stoul(argv[2]) : 10000;
  test::TempDir dir;
  Journal journal(dir.path() / "tpark.db");
  Bus bus;
  MetricRegistry metrics;
  HostServices services;
  services.journal = &journal;
  services.bus = &bus;
  services.metrics = &metrics;
  services.state_read = [](const std::string& name) -> std::optional<Json> {
    if (name == "events_start") return Json{{"start", "2026-01-01T00:00:00.000Z"}, {"start_ms", 0}, {"start_id", 0}};
    return std::nullopt;
  };
  PluginSettings settings;
  settings.builtin_dirs = {TPARK_BUILTIN_PLUGIN_DIR};
  settings.render_timeout = std::chrono::milliseconds(10000);
  // Publishing 2M events at once outruns any consumer; measure throughput, not lag.
  settings.inbox_capacity = total + 1;
  PluginManager plugins(services, settings);
  HostConfig config;
  config.file = "bench";
  for (const auto& name : builtin_section_names())
    if (name != "events") config.plugins["tp.section." + name].enabled = false;
  plugins.load(config);

  // Realistic kinds, a handful of distinct ones.
  const char* kinds[] = {"context.coverage", "context.recall.risk", "tool.cache", "actions.completed",
                         "http.route.sample", "memory.item.upserted", "feedback.signal"};
  std::vector<std::vector<EventPtr>> batches;
  for (size_t i = 0; i < total; i += batch) {
    std::vector<EventPtr> b;
    for (size_t j = i; j < std::min(total, i + batch); ++j) {
      auto e = std::make_shared<Event>();
      e->id = static_cast<int64_t>(j + 1);
      e->kind = kinds[j % 7];
      e->payload = "{}";
      e->source = "ingest";
      e->time = "2026-01-01T00:00:00.000Z";
      b.push_back(std::move(e));
    }
    batches.push_back(std::move(b));
  }

  auto total_of = [&] {
    for (const auto& s : plugins.render_sections())
      if (s.name == "events" && s.ok) return nlohmann::json::parse(s.json)["total"].get<size_t>();
    return size_t(0);
  };
  auto start = Clock::now();
  for (auto& b : batches) bus.publish(std::move(b));
  bus.flush();
  while (total_of() < total) std::this_thread::yield();
  double secs = std::chrono::duration<double>(Clock::now() - start).count();
  BusCounters c = bus.counters();
  std::printf("section_dispatch: %zu events through the bus into tp.section.events in %.3f s: "
              "%.0f events/s (target >= 1000000); lagged %llu\n",
              total, secs, static_cast<double>(total) / secs,
              static_cast<unsigned long long>(c.lagged));
  plugins.stop_all();
  return 0;
}
