#include "live/event_stream.h"

#include <algorithm>
#include <charconv>
#include <deque>
#include <functional>
#include <map>
#include <unordered_map>

#include <spdlog/spdlog.h>

#include "kernel/bus.h"
#include "kernel/journal.h"
#include "kernel/kinds.h"
#include "live/read_model_hub.h"
#include "metrics/metric_registry.h"
#include "util/json.h"
#include "util/time.h"

namespace tpark::live {

using Clock = std::chrono::steady_clock;
using Deliver = http::StreamDeliver;

namespace {

constexpr const char* kPatchKind = "state.read.model.patch";
// One delivery writes at most this much; the socket's pace sets the rest.
constexpr size_t kMaxWriteBytes = 256 * 1024;
// Catch-up reads from the journal at most this many rows at a time.
constexpr size_t kJournalPageRows = 256;

enum FrameType { kEventFrame, kReplayFrame, kPatchFrame, kControlFrame, kFrameTypes };
const char* const kFrameTypeNames[kFrameTypes] = {"event", "replay", "patch", "control"};

// The `data:` line and blank line of a journal row, built once per event even
// when a batch fans out to many clients: every client's offer() for one batch
// runs on the dispatcher thread, one after the other, so a small cache of the
// most recent events there serves them all.
std::shared_ptr<const std::string> row_data(const EventPtr& event) {
  struct Cache {
    // Holding the EventPtr keeps its address from being reused while cached.
    std::unordered_map<const Event*, std::pair<EventPtr, std::shared_ptr<const std::string>>> by_event;
    std::deque<const Event*> order;
  };
  thread_local Cache cache;
  if (auto it = cache.by_event.find(event.get()); it != cache.by_event.end()) return it->second.second;
  auto data = std::make_shared<const std::string>("data: " + envelope_json(*event) + "\n\n");
  cache.by_event.emplace(event.get(), std::make_pair(event, data));
  cache.order.push_back(event.get());
  if (cache.order.size() > 4096) {
    cache.by_event.erase(cache.order.front());
    cache.order.pop_front();
  }
  return data;
}

std::string stream_frame(std::string_view kind, int64_t id, const Json& payload,
                         bool retry = false) {
  Json data;
  data["time"] = format_rfc3339_ms(now_ms());
  data["kind"] = kind;
  data["payload"] = payload;
  std::string out = "event: ";
  out += kind;
  out += "\nid: " + std::to_string(id) + "\n";
  if (retry) out += "retry: 1000\n";
  out += "data: " + data.dump() + "\n\n";
  return out;
}

// A parked next() taken out of its channel, completed outside the channel's lock.
struct Wake {
  Deliver deliver;
  http::StreamChunk bytes;
  void run() {
    if (deliver) deliver(std::move(bytes));
  }
};

}  // namespace

// Mirrors the stream counters into /metrics at scrape time.
struct EventStreams::Counters {
  std::atomic<uint64_t> frames[kFrameTypes] = {};
  std::atomic<uint64_t> dropped{0}, lagged{0};
  std::mutex mutex;  // the maps below
  std::map<std::string, uint64_t> connections, rejected;

  MetricRegistry* metrics = nullptr;
  uint64_t hook = 0;
  uint64_t clients_family = 0, connections_family = 0, rejected_family = 0, frames_family = 0,
           dropped_family = 0, lagged_family = 0;
  std::mutex export_mutex;
  uint64_t exported_frames[kFrameTypes] = {}, exported_dropped = 0, exported_lagged = 0;
  std::map<std::string, uint64_t> exported_connections, exported_rejected;
};

// What the dispatcher, the hub and the HTTP session share for one client.
struct EventStreams::Channel {
  enum class Phase { CatchUp, Live, Lagged, Ending, Closed };
  // Queued frames hold references: the bytes shared by every client are
  // written from where they were serialised; only "event:"/"id:" is per client.
  struct Frame {
    FrameType type;
    int64_t id = 0;
    EventPtr row;  // journal rows (their kind)
    // "data: ...\n\n" of rows and patches, or a whole control frame.
    std::shared_ptr<const std::string> data;
    std::string_view kind() const {
      return row ? std::string_view(row->kind) : std::string_view(kPatchKind);
    }
  };

  size_t capacity = 0;  // frames; one more slot is kept for events.lagged
  std::vector<std::string> prefixes;
  std::shared_ptr<Counters> counters;

  std::mutex mutex;
  Phase phase = Phase::CatchUp;
  std::deque<Frame> queue;
  int64_t cursor = 0;                // the last journal row queued (resume point)
  std::deque<EventPtr> replay_rows;  // mode recent: the rows still to queue
  int64_t head_at_open = 0;          // H
  std::deque<EventPtr> buffered;     // live rows that arrived during catch-up
  uint64_t buffer_losses = 0;        // times the buffer overflowed and was dropped
  uint64_t dropped = 0;              // journal-row frames dropped after lagging
  Deliver waiting;                   // a parked next()
  Clock::time_point last_write = Clock::now();

  void push_row(const EventPtr& event, FrameType type) {
    queue.push_back(Frame{type, event->id, event, row_data(event)});
    cursor = event->id;
  }

  // Dispatcher thread: the matching rows of one batch.
  size_t offer(std::span<const EventPtr> events, Wake& wake) {
    std::lock_guard lock(mutex);
    size_t accepted = 0;
    for (const auto& event : events) {
      switch (phase) {
        case Phase::CatchUp:
          if (buffered.size() >= capacity) {
            // The journal has them; catch-up just reads further.
            buffered.clear();
            ++buffer_losses;
          }
          buffered.push_back(event);
          ++accepted;
          break;
        case Phase::Live:
          if (event->id <= cursor) {
            ++accepted;  // already queued from the journal
          } else if (queue.size() < capacity) {
            push_row(event, kEventFrame);
            ++accepted;
          } else {
            phase = Phase::Lagged;
            counters->lagged.fetch_add(1, std::memory_order_relaxed);
            ++dropped;
          }
          break;
        case Phase::Lagged:
          ++dropped;
          break;
        case Phase::Ending:
        case Phase::Closed:
          break;
      }
    }
    if (phase == Phase::Lagged && accepted < events.size())
      counters->dropped.fetch_add(events.size() - accepted, std::memory_order_relaxed);
    if (phase != Phase::CatchUp) take_waiting(wake);
    return accepted;
  }

  // The hub's publishing thread.
  void offer_patch(const PatchPublication& publication, Wake& wake) {
    std::lock_guard lock(mutex);
    if (phase != Phase::CatchUp && phase != Phase::Live) return;
    if (queue.size() >= capacity) {
      phase = Phase::Lagged;
      counters->lagged.fetch_add(1, std::memory_order_relaxed);
      take_waiting(wake);
      return;
    }
    queue.push_back(Frame{kPatchFrame, cursor, nullptr, publication.sse_data});
    take_waiting(wake);
  }

  // A parked next() is resumed with the frames queued meanwhile (one hop to
  // the client's strand instead of a wake-up and a second next()), or with
  // nothing when there are none (the server then asks again).
  void take_waiting(Wake& wake) {
    if (!waiting) return;
    wake.deliver = std::move(waiting);
    waiting = nullptr;
    if (!queue.empty()) wake.bytes = take_frames();
  }

  // Frames from the front of the queue, up to kMaxWriteBytes: the framing
  // lines written into the chunk, the shared data referenced.
  http::StreamChunk take_frames() {
    http::StreamChunk out;
    while (!queue.empty() && out.size() < kMaxWriteBytes) {
      Frame& frame = queue.front();
      if (frame.type == kControlFrame) {
        out.append_shared(std::move(frame.data));
      } else {
        char id_digits[24];
        const auto id_end = std::to_chars(id_digits, id_digits + sizeof id_digits, frame.id).ptr;
        out.append("event: ");
        out.append(frame.kind());
        out.append("\nid: ");
        out.append(std::string_view(id_digits, static_cast<size_t>(id_end - id_digits)));
        out.append("\n");
        out.append_shared(std::move(frame.data));
      }
      counters->frames[frame.type].fetch_add(1, std::memory_order_relaxed);
      queue.pop_front();
    }
    last_write = Clock::now();
    return out;
  }
};

// The StreamSource the server pulls from. It owns the client's subscriptions
// (never the shared Channel's callbacks), so it can unsubscribe safely.
class EventStreams::Client : public http::StreamSource {
 public:
  Client(EventStreams& owner, std::shared_ptr<Channel> channel)
      : owner_(owner), channel_(std::move(channel)) {}
  ~Client() override { release(); }

  void set_subscriptions(uint64_t bus_id, std::optional<uint64_t> patch_id) {
    bus_subscription_ = bus_id;
    patch_subscription_ = patch_id;
  }

  void next(Deliver deliver) override {
    Channel& ch = *channel_;
    std::unique_lock lock(ch.mutex);
    for (;;) {
      if (ch.phase == Channel::Phase::Closed) {
        lock.unlock();
        deliver(std::nullopt);
        return;
      }
      if (!ch.queue.empty()) {
        http::StreamChunk bytes = ch.take_frames();
        lock.unlock();
        deliver(std::move(bytes));
        return;
      }
      if (ch.phase == Channel::Phase::Lagged) {
        // The queued frames are written: say so in the reserved slot, then close.
        ch.phase = Channel::Phase::Ending;
        ch.queue.push_back(
            Channel::Frame{kControlFrame, ch.cursor, nullptr,
                           std::make_shared<const std::string>(stream_frame(
                               "events.lagged", ch.cursor,
                               Json{{"dropped", ch.dropped}, {"resume_after", ch.cursor}}, true))});
        continue;
      }
      if (ch.phase == Channel::Phase::Ending) {
        ch.phase = Channel::Phase::Closed;
        lock.unlock();
        release();
        deliver(std::nullopt);
        return;
      }
      if (ch.phase == Channel::Phase::CatchUp) {
        if (!ch.replay_rows.empty()) {
          while (!ch.replay_rows.empty() && ch.queue.size() < ch.capacity) {
            ch.push_row(ch.replay_rows.front(), kReplayFrame);
            ch.replay_rows.pop_front();
          }
          if (ch.replay_rows.empty()) ch.cursor = std::max(ch.cursor, ch.head_at_open);
          continue;
        }
        const uint64_t losses = ch.buffer_losses;
        const int64_t from = ch.cursor;
        const size_t room = std::min(kJournalPageRows, ch.capacity - std::min(ch.capacity, ch.queue.size()));
        lock.unlock();
        Journal::Page page;
        try {
          page = owner_.journal_.read_after(from, ch.prefixes, std::max<size_t>(room, 1));
        } catch (const std::exception& e) {
          spdlog::error("SSE replay read failed: {}", e.what());
          lock.lock();
          ch.phase = Channel::Phase::Closed;
          continue;
        }
        lock.lock();
        if (ch.phase != Channel::Phase::CatchUp) continue;
        if (!page.items.empty()) {
          for (const auto& event : page.items)
            if (event->id > ch.cursor) ch.push_row(event, kReplayFrame);
          continue;
        }
        if (losses != ch.buffer_losses) continue;  // rows were lost meanwhile: read again
        // Caught up: the buffer holds every matching row committed since.
        ch.phase = Channel::Phase::Live;
        for (const auto& event : ch.buffered) {
          if (event->id <= ch.cursor) continue;
          if (ch.queue.size() >= ch.capacity) {
            if (ch.phase == Channel::Phase::Live) {
              ch.phase = Channel::Phase::Lagged;
              owner_.counters_->lagged.fetch_add(1, std::memory_order_relaxed);
            }
            ++ch.dropped;
            owner_.counters_->dropped.fetch_add(1, std::memory_order_relaxed);
            continue;
          }
          ch.push_row(event, kEventFrame);
        }
        ch.buffered.clear();
        continue;
      }
      // Live with nothing queued: park until a frame or a keep-alive.
      ch.waiting = std::move(deliver);
      return;
    }
  }

  void cancel() override {
    {
      std::lock_guard lock(channel_->mutex);
      channel_->phase = Channel::Phase::Closed;
      channel_->waiting = nullptr;
      channel_->queue.clear();
    }
    release();
  }

 private:
  // Unsubscribes once; never called from the dispatcher or a hub callback.
  void release() {
    if (released_.exchange(true)) return;
    owner_.bus_.unsubscribe(bus_subscription_);
    if (patch_subscription_) owner_.hub_.unsubscribe_patches(*patch_subscription_);
    owner_.forget(channel_.get());
  }

  EventStreams& owner_;
  std::shared_ptr<Channel> channel_;
  uint64_t bus_subscription_ = 0;
  std::optional<uint64_t> patch_subscription_;
  std::atomic<bool> released_{false};
};

namespace {

class BusTap : public BusSubscriber {
 public:
  explicit BusTap(std::shared_ptr<EventStreams::Channel> channel) : channel_(std::move(channel)) {}
  const std::vector<std::string>& prefixes() const override;
  size_t offer(std::span<const EventPtr> events) override;

 private:
  std::shared_ptr<EventStreams::Channel> channel_;
};

}  // namespace

const std::vector<std::string>& BusTap::prefixes() const { return channel_->prefixes; }

size_t BusTap::offer(std::span<const EventPtr> events) {
  Wake wake;
  const size_t accepted = channel_->offer(events, wake);
  wake.run();
  return accepted;
}

EventStreams::EventStreams(Journal& journal, Bus& bus, ReadModelHub& hub, std::string instance_id,
                           EventStreamSettings settings, MetricRegistry* metrics)
    : journal_(journal),
      bus_(bus),
      hub_(hub),
      instance_id_(std::move(instance_id)),
      settings_(settings),
      counters_(std::make_shared<Counters>()) {
  if (metrics) {
    Counters& c = *counters_;
    c.metrics = metrics;
    std::string error;
    c.clients_family = metrics->register_family(MetricType::Gauge, "arw_events_sse_clients",
                                                "Connected SSE clients", {}, {}, &error);
    c.connections_family =
        metrics->register_family(MetricType::Counter, "arw_events_sse_connections_total",
                                 "Accepted SSE connections", {"mode"}, {}, &error);
    c.rejected_family =
        metrics->register_family(MetricType::Counter, "arw_events_sse_rejected_total",
                                 "Refused SSE connections", {"reason"}, {}, &error);
    c.frames_family = metrics->register_family(MetricType::Counter, "arw_events_sse_frames_total",
                                               "SSE frames written", {"type"}, {}, &error);
    c.dropped_family = metrics->register_family(MetricType::Counter, "arw_events_sse_dropped_total",
                                                "SSE frames dropped for lagging clients", {}, {}, &error);
    c.lagged_family = metrics->register_family(MetricType::Counter, "arw_events_sse_lagged_total",
                                               "SSE clients closed as lagged", {}, {}, &error);
    if (!c.clients_family || !c.connections_family || !c.rejected_family || !c.frames_family ||
        !c.dropped_family || !c.lagged_family)
      throw std::logic_error("SSE metric families: " + error);
    c.hook = metrics->add_render_hook([counters = counters_.get(), this] {
      Counters& k = *counters;
      std::lock_guard guard(k.export_mutex);
      k.metrics->set(k.clients_family, {}, static_cast<double>(clients_.load()));
      for (int t = 0; t < kFrameTypes; ++t) {
        const uint64_t now = k.frames[t].load();
        k.metrics->add(k.frames_family, {kFrameTypeNames[t]}, static_cast<double>(now - k.exported_frames[t]));
        k.exported_frames[t] = now;
      }
      const uint64_t dropped = k.dropped.load(), lagged = k.lagged.load();
      k.metrics->add(k.dropped_family, {}, static_cast<double>(dropped - k.exported_dropped));
      k.metrics->add(k.lagged_family, {}, static_cast<double>(lagged - k.exported_lagged));
      k.exported_dropped = dropped;
      k.exported_lagged = lagged;
      std::lock_guard maps(k.mutex);
      for (const auto& [mode, n] : k.connections) {
        k.metrics->add(k.connections_family, {mode}, static_cast<double>(n - k.exported_connections[mode]));
        k.exported_connections[mode] = n;
      }
      for (const auto& [reason, n] : k.rejected) {
        k.metrics->add(k.rejected_family, {reason}, static_cast<double>(n - k.exported_rejected[reason]));
        k.exported_rejected[reason] = n;
      }
    });
  }
  keepalive_ = std::thread([this] { keepalive_loop(); });
}

EventStreams::~EventStreams() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  keepalive_.join();
  if (counters_->metrics) counters_->metrics->remove_render_hook(counters_->hook);
}

void EventStreams::count_rejected(const std::string& reason) {
  std::lock_guard lock(counters_->mutex);
  ++counters_->rejected[reason];
}

std::shared_ptr<http::StreamSource> EventStreams::open(const EventStreamRequest& request) {
  size_t current = clients_.load();
  do {
    if (current >= settings_.max_clients) return nullptr;
  } while (!clients_.compare_exchange_weak(current, current + 1));

  auto channel = std::make_shared<Channel>();
  channel->capacity = std::max<size_t>(settings_.queue_frames, 1);
  channel->prefixes = request.prefixes;
  channel->counters = counters_;
  auto client = std::make_shared<Client>(*this, channel);

  // The tap first, then H: every row after H reaches the buffer or the journal read.
  const uint64_t bus_id = bus_.subscribe(std::make_shared<BusTap>(channel));
  std::optional<uint64_t> patch_id;
  if (kind_matches(kPatchKind, request.prefixes)) {
    std::weak_ptr<Channel> weak = channel;
    patch_id =
        hub_.subscribe_patches(request.read_models, [weak](const PatchPublication& publication) {
          auto ch = weak.lock();
          if (!ch) return;
          Wake wake;
          ch->offer_patch(publication, wake);
          wake.run();
        });
  }
  client->set_subscriptions(bus_id, patch_id);
  const int64_t head = journal_.head_id();

  const char* mode = "live";
  int64_t handshake_id = head;
  bool truncated = false;
  {
    std::lock_guard lock(channel->mutex);
    channel->head_at_open = head;
    switch (request.mode) {
      case EventStreamRequest::Mode::After:
        mode = "after";
        handshake_id = request.after;
        channel->cursor = request.after;
        truncated = journal_.pruned_through() > request.after;
        break;
      case EventStreamRequest::Mode::Recent: {
        mode = "recent";
        // The newest N matching rows <= H, over the union of the prefixes.
        std::vector<EventPtr> rows;
        if (request.prefixes.empty()) {
          rows = journal_.newest("", request.replay_count, head);
        } else {
          for (const auto& prefix : request.prefixes) {
            auto part = journal_.newest(prefix, request.replay_count, head);
            rows.insert(rows.end(), part.begin(), part.end());
          }
          std::sort(rows.begin(), rows.end(), [](const EventPtr& a, const EventPtr& b) { return a->id < b->id; });
          rows.erase(std::unique(rows.begin(), rows.end(),
                                 [](const EventPtr& a, const EventPtr& b) { return a->id == b->id; }),
                     rows.end());
          if (rows.size() > request.replay_count)
            rows.erase(rows.begin(), rows.end() - static_cast<std::ptrdiff_t>(request.replay_count));
        }
        if (!rows.empty()) handshake_id = rows.front()->id - 1;
        channel->cursor = handshake_id;
        channel->replay_rows.assign(rows.begin(), rows.end());
        if (rows.empty()) channel->cursor = head;
        break;
      }
      case EventStreamRequest::Mode::Live:
        channel->cursor = head;
        break;
    }
    Json payload;
    payload["request_id"] = request.request_id;
    payload["instance_id"] = instance_id_;
    payload["resume_from"] = request.resume_from ? Json(*request.resume_from) : Json(nullptr);
    payload["replay"] = {{"mode", mode},
                         {"count", request.mode == EventStreamRequest::Mode::Recent ? request.replay_count : 0},
                         {"truncated", truncated}};
    payload["prefixes"] = request.prefixes.empty() ? Json(nullptr) : Json(request.prefixes);
    payload["kernel_replay"] = true;
    payload["head_id"] = head;
    // Patches published while the client was opening carry the handshake's id.
    for (auto& frame : channel->queue) frame.id = handshake_id;
    channel->queue.push_front(Channel::Frame{kControlFrame, handshake_id, nullptr,
                                             std::make_shared<const std::string>(stream_frame(
                                                 "service.connected", handshake_id, payload))});
  }
  {
    std::lock_guard lock(counters_->mutex);
    ++counters_->connections[mode];
  }
  {
    std::lock_guard lock(mutex_);
    channels_.push_back(channel);
  }
  return client;
}

void EventStreams::forget(const Channel* channel) {
  clients_.fetch_sub(1);
  std::lock_guard lock(mutex_);
  channels_.erase(std::remove_if(channels_.begin(), channels_.end(),
                                 [&](const std::weak_ptr<Channel>& weak) {
                                   auto locked = weak.lock();
                                   return !locked || locked.get() == channel;
                                 }),
                  channels_.end());
}

void EventStreams::keepalive_loop() {
  static const auto kKeepAlive = std::make_shared<const std::string>(": keep-alive\n\n");
  std::unique_lock lock(mutex_);
  const auto tick = std::min<std::chrono::milliseconds>(settings_.keepalive, std::chrono::milliseconds(1000));
  while (!stopping_) {
    cv_.wait_for(lock, tick);
    if (stopping_) break;
    std::vector<std::shared_ptr<Channel>> channels;
    for (const auto& weak : channels_)
      if (auto channel = weak.lock()) channels.push_back(std::move(channel));
    lock.unlock();
    const auto now = Clock::now();
    for (const auto& channel : channels) {
      Deliver wake;
      {
        std::lock_guard channel_lock(channel->mutex);
        if (channel->waiting && now - channel->last_write >= settings_.keepalive) {
          wake = std::move(channel->waiting);
          channel->waiting = nullptr;
          channel->last_write = now;
        }
      }
      if (wake) {
        http::StreamChunk keepalive;
        keepalive.append_shared(kKeepAlive);
        wake(std::move(keepalive));
      }
    }
    lock.lock();
  }
}

}  // namespace tpark::live
