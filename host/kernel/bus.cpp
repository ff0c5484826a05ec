#include "kernel/bus.h"

#include <algorithm>
#include <exception>

#include <spdlog/spdlog.h>

#include "kernel/kinds.h"

namespace tpark {

Bus::Bus() : entries_(std::make_shared<const std::vector<Entry>>()) {
  thread_ = std::thread([this] { run(); });
}

Bus::~Bus() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();  // the dispatcher drains what was published first
}

void Bus::publish(std::vector<EventPtr> batch) {
  if (batch.empty()) return;
  {
    std::lock_guard lock(mutex_);
    pending_.push_back(std::move(batch));
    ++published_seq_;
  }
  cv_.notify_one();
}

uint64_t Bus::subscribe(std::shared_ptr<BusSubscriber> subscriber) {
  std::lock_guard lock(mutex_);
  auto entries = std::make_shared<std::vector<Entry>>(*entries_);
  const uint64_t id = next_subscription_++;
  entries->push_back({id, std::move(subscriber), published_seq_});
  entries_ = std::move(entries);
  return id;
}

void Bus::unsubscribe(uint64_t subscription_id) {
  std::unique_lock lock(mutex_);
  auto entries = std::make_shared<std::vector<Entry>>(*entries_);
  auto it = std::find_if(entries->begin(), entries->end(),
                         [&](const Entry& entry) { return entry.id == subscription_id; });
  if (it == entries->end()) return;
  entries->erase(it);
  entries_ = std::move(entries);
  if (std::this_thread::get_id() == thread_.get_id()) return;
  // The running round took its snapshot before the removal; wait it out.
  const uint64_t round = rounds_done_;
  flushed_cv_.wait(lock, [&] { return !in_round_ || rounds_done_ != round; });
}

void Bus::flush() {
  std::unique_lock lock(mutex_);
  const uint64_t target = published_seq_;
  flushed_cv_.wait(lock, [&] { return dispatched_seq_ >= target; });
}

bool Bus::wait_offered(int64_t id, std::chrono::steady_clock::time_point deadline) {
  std::unique_lock lock(mutex_);
  return flushed_cv_.wait_until(lock, deadline, [&] {
    return stopping_ || dispatched_id_.load(std::memory_order_acquire) >= id;
  });
}

BusCounters Bus::counters() const {
  BusCounters counters;
  counters.published = published_.load(std::memory_order_relaxed);
  counters.delivered = delivered_.load(std::memory_order_relaxed);
  counters.lagged = lagged_.load(std::memory_order_relaxed);
  counters.no_receivers = no_receivers_.load(std::memory_order_relaxed);
  std::lock_guard lock(mutex_);
  counters.receivers = entries_->size();
  return counters;
}

void Bus::run() {
  std::deque<std::vector<EventPtr>> work;
  std::vector<char> matched;
  for (;;) {
    std::shared_ptr<const std::vector<Entry>> entries;
    uint64_t seq;
    {
      std::unique_lock lock(mutex_);
      cv_.wait(lock, [&] { return stopping_ || !pending_.empty(); });
      if (pending_.empty()) return;  // stopping, and everything published was offered
      work.swap(pending_);
      entries = entries_;
      seq = dispatched_seq_;
      in_round_ = true;
    }
    for (const auto& batch : work) dispatch(batch, ++seq, *entries, matched);
    work.clear();
    entries.reset();
    {
      std::lock_guard lock(mutex_);
      dispatched_seq_ = seq;
      in_round_ = false;
      ++rounds_done_;
    }
    flushed_cv_.notify_all();
  }
}

// Offers each subscriber the consecutive runs of the batch it wants: one span
// per run, so a subscriber of every kind gets the whole batch in one call.
void Bus::dispatch(const std::vector<EventPtr>& batch, uint64_t seq,
                   const std::vector<Entry>& entries, std::vector<char>& matched) {
  const size_t count = batch.size();
  uint64_t delivered = 0, lagged = 0;
  bool everything_matched = false;
  matched.assign(count, 0);

  auto offer = [&](BusSubscriber& subscriber, size_t first, size_t length) {
    size_t accepted = 0;
    try {
      accepted = subscriber.offer(std::span<const EventPtr>(batch.data() + first, length));
    } catch (const std::exception& e) {
      spdlog::error("bus subscriber failed: {}", e.what());
    }
    accepted = std::min(accepted, length);
    delivered += accepted;
    lagged += length - accepted;
  };

  for (const Entry& entry : entries) {
    if (seq <= entry.after_seq) continue;
    BusSubscriber& subscriber = *entry.subscriber;
    const std::vector<std::string>& prefixes = subscriber.prefixes();
    if (prefixes.empty()) {
      everything_matched = true;
      offer(subscriber, 0, count);
      continue;
    }
    size_t i = 0;
    while (i < count) {
      if (!kind_matches(batch[i]->kind, prefixes)) {
        ++i;
        continue;
      }
      size_t end = i + 1;
      while (end < count && kind_matches(batch[end]->kind, prefixes)) ++end;
      std::fill(matched.begin() + static_cast<ptrdiff_t>(i),
                matched.begin() + static_cast<ptrdiff_t>(end), 1);
      offer(subscriber, i, end - i);
      i = end;
    }
  }

  published_.fetch_add(count, std::memory_order_relaxed);
  delivered_.fetch_add(delivered, std::memory_order_relaxed);
  lagged_.fetch_add(lagged, std::memory_order_relaxed);
  if (!everything_matched)
    no_receivers_.fetch_add(static_cast<uint64_t>(std::count(matched.begin(), matched.end(), 0)),
                            std::memory_order_relaxed);
  dispatched_id_.store(batch.back()->id, std::memory_order_release);
}

}  // namespace tpark
