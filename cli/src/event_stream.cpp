#include "event_stream.h"

#include <algorithm>
#include <stdexcept>

namespace tpark::cli {

EventStream::EventStream(Api& api, const Globals& globals, std::string query)
    : api_(api), globals_(globals), query_(std::move(query)) {}
EventStream::~EventStream() = default;

void EventStream::connect() {
  reader_.reset();
  const std::string target = "/events" + (query_.empty() ? "" : "?" + query_);
  client::StreamReader::Options options;
  options.headers = api_.auth_headers();
  options.headers.emplace_back("Accept", "text/event-stream");
  if (last_id_) options.headers.emplace_back("Last-Event-ID", std::to_string(*last_id_));
  options.timeout = globals_.timeout();
  try {
    reader_ = std::make_unique<client::StreamReader>(api_.base().host, api_.base().port,
                                                     api_.base().prefix + target, options);
  } catch (const std::runtime_error& e) {
    throw api_.unreachable(target, e.what());
  }
  if (reader_->status() != 200) {
    HttpResult result;
    result.status = reader_->status();
    result.headers = reader_->headers();
    result.body = reader_->read_to_end(globals_.timeout());
    reader_.reset();
    throw api_.error_for("GET", target, result);
  }
}

std::optional<SseFrame> EventStream::next(std::chrono::milliseconds timeout) {
  if (!reader_) throw std::runtime_error("the stream is not open");
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return std::nullopt;
    auto text = reader_->read_frame(left);
    if (!text) {
      if (reader_->ended()) throw std::runtime_error("the stream ended");
      return std::nullopt;
    }
    SseFrame frame = client::parse_sse_frame(*text);
    if (frame.id) last_id_ = frame.id;
    if (!frame.event.empty() || frame.id || !frame.data.is_null()) return frame;
  }
}

void ReadModelFollower::prime(Api& api) {
  const Json body = api.get_json("/state/read_models/" + id);
  instance_id = body.value("instance_id", "");
  version = body.value("version", uint64_t{0});
  value = body.value("value", Json());
  primed = true;
}

ReadModelFollower::Step ReadModelFollower::on_patch(const Json& payload) {
  if (payload.value("id", "") != id) return Step::ignored;
  if (!primed || payload.value("instance_id", "") != instance_id) return Step::needs_prime;
  const uint64_t patch_version = payload.value("version", uint64_t{0});
  const uint64_t base_version = payload.value("base_version", uint64_t{0});
  if (patch_version <= version) return Step::ignored;
  if (base_version != version) return Step::needs_prime;
  try {
    value = value.patch(payload.at("patch"));
  } catch (const nlohmann::json::exception&) {
    return Step::needs_prime;
  }
  version = patch_version;
  return Step::applied;
}

std::chrono::milliseconds Backoff::next() {
  delay_ = delay_.count() == 0 ? std::chrono::milliseconds(250)
                               : std::min(delay_ * 2, std::chrono::milliseconds(5000));
  return delay_;
}

}  // namespace tpark::cli
