// The cost of one call through the C ABI (tp_section_desc.on_event, through the
// tp_plugin.hpp trampoline, as the host calls every section) against a C++
// virtual call to the same method. Target: C ABI <= 1.5x the virtual call.
//
// Both paths reach the same section in another shared library
// (bench/abi_peer), with the same event view: the virtual call goes through an
// object created there, so the compiler cannot inline or devirtualise it; what
// differs is exactly the boundary: the function pointer, the
// struct_size-checked copy of the event view, and the noexcept guard.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstring>

#include "abi_peer/abi_peer.h"

namespace {

tp_event_view sample_view() {
  static const char kind[] = "context.coverage";
  static const char payload[] = "{}";
  tp_event_view v;
  std::memset(&v, 0, sizeof v);
  v.struct_size = sizeof v;
  v.id = 1;
  v.kind = {kind, sizeof kind - 1};
  v.payload = {payload, sizeof payload - 1};
  return v;
}

const tp_section_desc* section_descriptor() {
  tp_negotiate n;
  std::memset(&n, 0, sizeof n);
  n.struct_size = sizeof n;
  n.host_abi_major = TP_ABI_MAJOR;
  n.host_abi_minor = TP_ABI_MINOR;
  tp_error err;
  std::memset(&err, 0, sizeof err);
  err.struct_size = sizeof err;
  if (tp_plugin_entry(&n, &err) != TP_OK || n.descriptor_count != 1) return nullptr;
  return reinterpret_cast<const tp_section_desc*>(n.descriptors[0]);
}

void BM_virtual_call(benchmark::State& state) {
  tpark::Section* section = bench_abi_peer_new_section();
  benchmark::DoNotOptimize(section);
  tp_event_view raw = sample_view();
  for (auto _ : state) {
    tpark::EventView view(raw);
    section->on_event(view);
    benchmark::ClobberMemory();
  }
  delete section;
}

void BM_c_abi_call(benchmark::State& state) {
  const tp_section_desc* desc = section_descriptor();
  if (!desc) {
    state.SkipWithError("negotiation failed");
    return;
  }
  tp_host_api api;
  std::memset(&api, 0, sizeof api);
  api.struct_size = sizeof api;
  void* ctx = nullptr;
  tp_error err;
  std::memset(&err, 0, sizeof err);
  err.struct_size = sizeof err;
  if (desc->create(&api, nullptr, {"{}", 2}, &ctx, &err) != TP_OK) {
    state.SkipWithError("create failed");
    return;
  }
  auto on_event = desc->on_event;
  benchmark::DoNotOptimize(on_event);
  tp_event_view raw = sample_view();
  for (auto _ : state) {
    tp_status status = on_event(ctx, &raw);
    benchmark::DoNotOptimize(status);
    benchmark::ClobberMemory();
  }
  desc->destroy(ctx);
}

BENCHMARK(BM_virtual_call);
BENCHMARK(BM_c_abi_call);

}  // namespace

// Prints the ratio after the usual table.
int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  struct Collect : benchmark::ConsoleReporter {
    double virtual_ns = 0, abi_ns = 0;
    void ReportRuns(const std::vector<Run>& runs) override {
      for (const auto& run : runs) {
        if (run.benchmark_name() == "BM_virtual_call") virtual_ns = run.GetAdjustedCPUTime();
        if (run.benchmark_name() == "BM_c_abi_call") abi_ns = run.GetAdjustedCPUTime();
      }
      ConsoleReporter::ReportRuns(runs);
    }
  } reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  if (reporter.virtual_ns > 0)
    std::printf("abi_call: C ABI %.2f ns, virtual %.2f ns, ratio %.2fx (target <= 1.5x)\n",
                reporter.abi_ns, reporter.virtual_ns, reporter.abi_ns / reporter.virtual_ns);
  return 0;
}
