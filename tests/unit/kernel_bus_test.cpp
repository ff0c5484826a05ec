// The bus (telemetry.md 1.2): in-order fan-out of committed batches, prefix
// runs, lag and no-receiver counting, flush and unsubscribe.
#include <catch2/catch.hpp>

#include <limits>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "kernel/bus.h"

using namespace tpark;

namespace {

// Accepts up to `capacity` events in total, then nothing; records what it got.
class RecordingSubscriber : public BusSubscriber {
 public:
  explicit RecordingSubscriber(std::vector<std::string> prefixes = {},
                               size_t capacity = std::numeric_limits<size_t>::max())
      : prefixes_(std::move(prefixes)), capacity_(capacity) {}

  const std::vector<std::string>& prefixes() const override { return prefixes_; }

  size_t offer(std::span<const EventPtr> events) override {
    std::lock_guard lock(mutex_);
    offer_sizes_.push_back(events.size());
    const size_t accepted = std::min(events.size(), capacity_ - ids_.size());
    for (size_t i = 0; i < accepted; ++i) ids_.push_back(events[i]->id);
    return accepted;
  }

  std::vector<int64_t> ids() const {
    std::lock_guard lock(mutex_);
    return ids_;
  }
  std::vector<size_t> offer_sizes() const {
    std::lock_guard lock(mutex_);
    return offer_sizes_;
  }

 private:
  std::vector<std::string> prefixes_;
  size_t capacity_;
  mutable std::mutex mutex_;
  std::vector<int64_t> ids_;
  std::vector<size_t> offer_sizes_;
};

// Events with consecutive ids from `first_id`, one per kind.
std::vector<EventPtr> batch_of(int64_t first_id, std::initializer_list<const char*> kinds) {
  std::vector<EventPtr> batch;
  for (const char* kind : kinds) {
    auto event = std::make_shared<Event>();
    event->id = first_id++;
    event->kind = kind;
    event->payload = "{}";
    event->source = "host";
    batch.push_back(std::move(event));
  }
  return batch;
}

}  // namespace

TEST_CASE("bus_delivers_batches_in_publish_order", "[kernel][bus]") {
  Bus bus;
  auto subscriber = std::make_shared<RecordingSubscriber>();
  bus.subscribe(subscriber);
  bus.publish(batch_of(1, {"a.x", "b.y"}));
  bus.publish(batch_of(3, {"c.z"}));
  bus.publish(batch_of(4, {"a.x", "a.x", "b.y"}));
  bus.flush();
  CHECK(subscriber->ids() == std::vector<int64_t>{1, 2, 3, 4, 5, 6});
  // A subscriber of every kind gets each batch in one offer.
  CHECK(subscriber->offer_sizes() == std::vector<size_t>{2, 1, 3});
  CHECK(bus.dispatched_id() == 6);
  BusCounters counters = bus.counters();
  CHECK(counters.published == 6);
  CHECK(counters.delivered == 6);
  CHECK(counters.lagged == 0);
  CHECK(counters.no_receivers == 0);
  CHECK(counters.receivers == 1);
}

TEST_CASE("bus_offers_consecutive_runs_of_matching_prefixes", "[kernel][bus]") {
  Bus bus;
  auto a_and_c = std::make_shared<RecordingSubscriber>(std::vector<std::string>{"a.", "c."});
  bus.subscribe(a_and_c);
  bus.publish(batch_of(1, {"a.1", "c.2", "b.3", "a.4", "ab.5", "b.6", "c.7"}));
  bus.flush();
  CHECK(a_and_c->ids() == std::vector<int64_t>{1, 2, 4, 7});
  CHECK(a_and_c->offer_sizes() == std::vector<size_t>{2, 1, 1});
}

TEST_CASE("bus_counts_events_a_subscriber_does_not_accept_as_lagged", "[kernel][bus]") {
  Bus bus;
  auto takes_three = std::make_shared<RecordingSubscriber>(std::vector<std::string>{}, 3);
  auto takes_all = std::make_shared<RecordingSubscriber>();
  bus.subscribe(takes_three);
  bus.subscribe(takes_all);
  bus.publish(batch_of(1, {"a.1", "a.2"}));
  bus.publish(batch_of(3, {"a.3", "a.4", "a.5"}));
  bus.publish(batch_of(6, {"a.6", "a.7", "a.8", "a.9", "a.10"}));
  bus.flush();
  CHECK(takes_three->ids() == std::vector<int64_t>{1, 2, 3});
  CHECK(takes_all->ids().size() == 10);
  BusCounters counters = bus.counters();
  CHECK(counters.published == 10);
  CHECK(counters.delivered == 13);  // 3 + 10
  CHECK(counters.lagged == 7);
  CHECK(counters.receivers == 2);
}

TEST_CASE("bus_counts_events_no_subscriber_matched", "[kernel][bus]") {
  Bus bus;
  bus.publish(batch_of(1, {"a.1", "b.2"}));  // nobody subscribed yet
  bus.flush();
  auto only_a = std::make_shared<RecordingSubscriber>(std::vector<std::string>{"a."});
  auto only_b_x = std::make_shared<RecordingSubscriber>(std::vector<std::string>{"b.x"});
  bus.subscribe(only_a);
  bus.subscribe(only_b_x);
  bus.publish(batch_of(3, {"a.3", "b.x4", "b.y5", "c.6", "a.7"}));
  bus.flush();
  BusCounters counters = bus.counters();
  CHECK(counters.published == 7);
  CHECK(counters.no_receivers == 4);  // a.1, b.2, b.y5, c.6
  CHECK(counters.delivered == 3);
  CHECK(counters.lagged == 0);
}

TEST_CASE("bus_subscriber_sees_only_batches_published_after_subscribing", "[kernel][bus]") {
  Bus bus;
  bus.publish(batch_of(1, {"a.1", "a.2"}));
  auto late = std::make_shared<RecordingSubscriber>();
  bus.subscribe(late);  // whether or not batch 1 was dispatched yet
  bus.publish(batch_of(3, {"a.3"}));
  bus.flush();
  CHECK(late->ids() == std::vector<int64_t>{3});
}

TEST_CASE("bus_flush_waits_for_every_earlier_publish", "[kernel][bus]") {
  Bus bus;
  auto subscriber = std::make_shared<RecordingSubscriber>();
  bus.subscribe(subscriber);
  int64_t next_id = 1;
  for (int batch = 0; batch < 200; ++batch) {
    std::vector<EventPtr> events;
    for (int i = 0; i < 50; ++i) {
      auto event = std::make_shared<Event>();
      event->id = next_id++;
      event->kind = "a.x";
      events.push_back(std::move(event));
    }
    bus.publish(std::move(events));
  }
  bus.flush();
  CHECK(subscriber->ids().size() == 10000);
  CHECK(bus.dispatched_id() == 10000);
  CHECK(bus.counters().published == 10000);
  bus.flush();  // nothing pending: returns at once
}

TEST_CASE("bus_unsubscribe_stops_offers_and_drops_the_receiver", "[kernel][bus]") {
  Bus bus;
  auto kept = std::make_shared<RecordingSubscriber>();
  auto removed = std::make_shared<RecordingSubscriber>();
  bus.subscribe(kept);
  const uint64_t removed_id = bus.subscribe(removed);
  bus.publish(batch_of(1, {"a.1"}));
  bus.flush();
  bus.unsubscribe(removed_id);
  CHECK(bus.counters().receivers == 1);
  bus.publish(batch_of(2, {"a.2"}));
  bus.flush();
  CHECK(removed->ids() == std::vector<int64_t>{1});
  CHECK(kept->ids() == std::vector<int64_t>{1, 2});
  bus.unsubscribe(removed_id);  // unknown id: no effect
  CHECK(bus.counters().receivers == 1);
}

TEST_CASE("bus_empty_batches_are_ignored", "[kernel][bus]") {
  Bus bus;
  bus.publish({});
  bus.flush();
  CHECK(bus.counters().published == 0);
  CHECK(bus.dispatched_id() == 0);
}
