// The SSE stream GET /events (telemetry.md 7): per client, a handshake, a
// prefix-filtered replay from the journal, then live rows from the bus with
// no gap and no duplicate, read-model patches, keep-alives, and a bounded
// queue that turns a slow client into `events.lagged` + close.
//
// How a client is served. Its bus tap is subscribed BEFORE the journal head H
// is recorded. Until it has caught up, the client reads its rows from the
// journal (pages sized by the free room of its queue) while live rows are
// buffered (bounded; on overflow the buffer is dropped and the journal read
// simply continues). When a journal read comes back empty and no buffered row
// was lost meanwhile, the buffer's rows with ids past the client's cursor are
// queued and the client goes live; from then on the dispatcher queues rows
// directly and skips any id at or below the cursor. The cursor (the last
// journal row queued) is the `id:` of every stream frame, so any id a client
// has seen is a correct Last-Event-ID.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "http/http_types.h"
#include "live/event_stream_query.h"

namespace tpark {
class Journal;
class Bus;
class MetricRegistry;
}  // namespace tpark

namespace tpark::live {

class ReadModelHub;

struct EventStreamSettings {
  size_t max_clients = 2048;                   // ARW_EVENTS_SSE_MAX_CLIENTS
  size_t queue_frames = 1024;                  // ARW_EVENTS_SSE_QUEUE (+1 reserved slot)
  std::chrono::milliseconds keepalive{10000};  // ARW_EVENTS_SSE_KEEPALIVE_SECS
  size_t replay_max = 1000;                    // ARW_EVENTS_SSE_REPLAY_MAX
};

class EventStreams {
 public:
  // `metrics` may be null; otherwise the arw_events_sse_* families (§8).
  EventStreams(Journal& journal, Bus& bus, ReadModelHub& hub, std::string instance_id,
               EventStreamSettings settings, MetricRegistry* metrics);
  ~EventStreams();  // stops the keep-alive thread; streams still open end with their sessions
  EventStreams(const EventStreams&) = delete;
  EventStreams& operator=(const EventStreams&) = delete;

  // Opens a client: nullptr when max_clients are connected (the route answers
  // 503 too_many_clients). The source ends when the client lags or is cancelled.
  std::shared_ptr<http::StreamSource> open(const EventStreamRequest& request);

  size_t clients() const { return clients_.load(); }
  const EventStreamSettings& settings() const { return settings_; }
  // A refused connection (reason max_clients or bad_request), for /metrics.
  void count_rejected(const std::string& reason);

  struct Channel;
  struct Counters;
  class Client;

 private:
  void keepalive_loop();
  void forget(const Channel* channel);

  Journal& journal_;
  Bus& bus_;
  ReadModelHub& hub_;
  const std::string instance_id_;
  const EventStreamSettings settings_;
  std::shared_ptr<Counters> counters_;
  std::atomic<size_t> clients_{0};

  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<std::weak_ptr<Channel>> channels_;
  bool stopping_ = false;
  std::thread keepalive_;
};

}  // namespace tpark::live
