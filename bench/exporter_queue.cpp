// Exporter throughput through the host's runtime (ABI 1.1): items offered to
// one exporter's bounded queue and delivered by its worker in batches, with a
// sink that only counts. Prints items/s for batch sizes 1, 64 (the default)
// and 256, and the cost of one offer() into a queue whose sink is stuck (the
// path a slow exporter puts the feeder and the read-model hub on).
#include <benchmark/benchmark.h>

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>

#include "plugins/exporter_runtime.h"
#include "plugins/plugin_manager.h"

namespace {

std::atomic<uint64_t> delivered{0};
std::mutex stuck_mutex;
std::condition_variable stuck_cv;
bool stuck_released = false;

tp_status create(const tp_host_api*, tp_host*, tp_str, void** out_ctx, tp_error*) {
  *out_ctx = nullptr;
  return TP_OK;
}
tp_status no_op(void*, tp_error*) {
  return TP_OK;
}
tp_status destroy(void*) {
  return TP_OK;
}
tp_status count_batch(void*, const tp_export_batch* batch, tp_error*) {
  delivered.fetch_add(batch->item_count, std::memory_order_relaxed);
  return TP_OK;
}
tp_status stuck_batch(void*, const tp_export_batch*, tp_error*) {
  std::unique_lock lock(stuck_mutex);
  stuck_cv.wait(lock, [] { return stuck_released; });
  return TP_OK;
}

std::shared_ptr<tpark::ExporterInstance> make_exporter(uint32_t max_batch, size_t capacity,
                                                       decltype(&count_batch) sink) {
  tpark::ExporterSpec spec;
  spec.plugin_id = "bench.exporter";
  spec.desc.struct_size = sizeof spec.desc;
  spec.desc.kind = TP_KIND_EXPORTER;
  spec.desc.name = "bench";
  spec.desc.wants = TP_EXPORT_WANTS_PATCHES;
  spec.desc.max_batch_items = max_batch;
  spec.desc.create = create;
  spec.desc.start = no_op;
  spec.desc.stop = no_op;
  spec.desc.destroy = destroy;
  spec.desc.export_batch = sink;
  spec.queue_capacity = capacity;
  auto exporter = std::make_shared<tpark::ExporterInstance>(
      std::move(spec), std::make_shared<const tpark::HostServices>());
  if (exporter->start()) return nullptr;
  return exporter;
}

void BM_ExporterDelivery(benchmark::State& state) {
  const auto batch = static_cast<uint32_t>(state.range(0));
  auto exporter = make_exporter(batch, 1 << 20, count_batch);
  auto body = std::make_shared<const std::string>(
      R"({"id":"training_metrics","instance_id":"b","version":2,"base_version":1,"patch":[]})");
  constexpr uint64_t kItems = 10000;
  for (auto _ : state) {
    const uint64_t target = delivered.load() + kItems;
    for (uint64_t i = 0; i < kItems; ++i) exporter->offer(TP_EXPORT_PATCH, body, 0);
    while (delivered.load(std::memory_order_relaxed) < target) std::this_thread::yield();
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kItems));
  exporter->shutdown(std::chrono::seconds(10));
}
BENCHMARK(BM_ExporterDelivery)->Arg(1)->Arg(64)->Arg(256)->UseRealTime();

void BM_OfferToStuckExporter(benchmark::State& state) {
  auto exporter = make_exporter(64, 1024, stuck_batch);
  auto body = std::make_shared<const std::string>("{}");
  for (auto _ : state) exporter->offer(TP_EXPORT_PATCH, body, 0);
  state.counters["dropped"] = static_cast<double>(exporter->counters().dropped);
  {
    std::lock_guard lock(stuck_mutex);
    stuck_released = true;
  }
  stuck_cv.notify_all();
  exporter->shutdown(std::chrono::seconds(10));
}
BENCHMARK(BM_OfferToStuckExporter);

}  // namespace

BENCHMARK_MAIN();
