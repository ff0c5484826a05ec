// Bus throughput: events already in memory, published in batches, offered to
// subscribers that only count (no journal, no I/O). Timed from the first publish
// to flush() returning.
//
//   bench_bus_dispatch [events=2000000]
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "kernel/bus.h"
#include "support/bench_support.h"

using namespace tpark;
using Clock = std::chrono::steady_clock;

namespace {

class CountingSubscriber : public BusSubscriber {
 public:
  explicit CountingSubscriber(std::vector<std::string> prefixes) : prefixes_(std::move(prefixes)) {}
  const std::vector<std::string>& prefixes() const override { return prefixes_; }
  size_t offer(std::span<const EventPtr> events) override {
    count_.fetch_add(events.size(), std::memory_order_relaxed);
    return events.size();
  }
  uint64_t count() const { return count_.load(); }

 private:
  std::vector<std::string> prefixes_;
  std::atomic<uint64_t> count_{0};
};

std::vector<EventPtr> make_events(size_t count) {
  static const char* kKinds[] = {"context.coverage", "tools.completed", "actions.completed",
                                 "http.route.sample", "memory.recall"};
  std::vector<EventPtr> events;
  events.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    auto event = std::make_shared<Event>();
    event->id = static_cast<int64_t>(i + 1);
    event->kind = kKinds[i % 5];
    event->payload = "{}";
    event->source = "ingest";
    events.push_back(std::move(event));
  }
  return events;
}

void run(const char* label, const std::vector<EventPtr>& events, size_t batch_size,
         const std::vector<std::vector<std::string>>& subscriber_prefixes) {
  std::vector<std::vector<EventPtr>> batches;
  for (size_t first = 0; first < events.size(); first += batch_size)
    batches.emplace_back(
        events.begin() + static_cast<ptrdiff_t>(first),
        events.begin() + static_cast<ptrdiff_t>(std::min(events.size(), first + batch_size)));
  Bus bus;
  std::vector<std::shared_ptr<CountingSubscriber>> subscribers;
  for (const auto& prefixes : subscriber_prefixes) {
    subscribers.push_back(std::make_shared<CountingSubscriber>(prefixes));
    bus.subscribe(subscribers.back());
  }
  const auto start = Clock::now();
  for (auto& batch : batches) bus.publish(std::move(batch));
  bus.flush();
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  const BusCounters counters = bus.counters();
  std::printf("%-44s batch %6zu: %12.0f events/s (%.3f s, delivered %llu, no_receivers %llu)\n",
              label, batch_size, static_cast<double>(events.size()) / seconds, seconds,
              static_cast<unsigned long long>(counters.delivered),
              static_cast<unsigned long long>(counters.no_receivers));
}

}  // namespace

int main(int argc, char** argv) {
  if (tpark::test::help_requested(
          argc, argv,
          "usage: bench_bus_dispatch [events=2000000]\nBus throughput: events already in memory, "
          "published in batches, offered to subscribers that only count (no journal, no I/O).\n"))
    return 0;
  const size_t count = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 2000000;
  const std::vector<EventPtr> events = make_events(count);
  std::printf("events: %zu\n", count);
  for (size_t batch : {10000, 1000, 100, 1}) run("1 subscriber, every kind", events, batch, {{}});
  run("1 subscriber, prefix context.", events, 10000, {{"context."}});
  run("8 subscribers, mixed prefixes", events, 10000,
      {{},
       {"context."},
       {"tools.", "actions."},
       {"http."},
       {"memory."},
       {"a."},
       {},
       {"context.coverage"}});
  return 0;
}
