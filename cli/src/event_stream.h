// GET /events as the CLI follows it: one connection at a time, resumed with
// Last-Event-ID after a drop, and read-model followers that apply patches by
// the protocol (re-prime on a new instance or a gap).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "api.h"
#include "net/sse.h"

namespace tpark::cli {

using client::SseFrame;

class EventStream {
 public:
  // `query` is the part after "/events?" (prefix=..., read_models=..., replay=...).
  EventStream(Api& api, const Globals& globals, std::string query);
  ~EventStream();

  // Opens the stream (resuming after the last id seen) and returns once the
  // response header is in. Throws CliError: 401 -> exit 3 (never worth a
  // retry), anything else -> exit 1.
  void connect();
  // The next frame that is not a bare comment; nullopt when none arrives
  // within `timeout`. Throws std::runtime_error once the stream has ended.
  std::optional<SseFrame> next(std::chrono::milliseconds timeout);
  std::optional<int64_t> last_id() const { return last_id_; }

 private:
  Api& api_;
  const Globals& globals_;
  std::string query_;
  std::optional<int64_t> last_id_;
  std::unique_ptr<client::StreamReader> reader_;
};

// One read model kept current from its priming GET and its patches.
struct ReadModelFollower {
  enum class Step { ignored, applied, needs_prime };

  explicit ReadModelFollower(std::string model_id) : id(std::move(model_id)) {}

  std::string id;
  std::string instance_id;
  uint64_t version = 0;
  Json value;
  bool primed = false;

  // GET /state/read_models/{id}.
  void prime(Api& api);
  // One `state.read.model.patch` payload {id, instance_id, version, base_version, patch}.
  Step on_patch(const Json& payload);
};

// Waits between reconnects: 250 ms doubling up to 5 s, reset on success.
class Backoff {
 public:
  std::chrono::milliseconds next();
  void reset() { delay_ = std::chrono::milliseconds(0); }

 private:
  std::chrono::milliseconds delay_{0};
};

}  // namespace tpark::cli
