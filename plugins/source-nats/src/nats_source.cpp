// tp.source.nats: fleet ingest (docs/deploy.md "Fleet ingest"). One thread
// takes what arrives on arw.events.node.> in batches and hands each batch to
// the host's ingest_lines: the host validates, journals and counts. The loop
// guard drops this host's own node. With ARW_NATS_INGEST_STREAM set, a
// JetStream durable pull consumer replaces the core subscription and every
// message is acked only after its batch committed.
#include <nats/nats.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <tpark/tp_plugin.hpp>

#include "nats_subject.h"

namespace {

using tpark::nats_source::connection_url;
using tpark::nats_source::kIngestSubject;
using tpark::nats_source::node_id_from_environment;
using tpark::nats_source::split_subject;
using tpark::nats_source::url_has_credentials;

// One ingest_lines call is one journal commit (and one fsync): a batch takes
// what has arrived, up to these caps, so the commit cost is shared by many
// messages when they come fast (1,024 per commit held ingest near 0.2x the
// publish rate; see docs/deploy.md "Fleet ingest").
constexpr size_t kBatchMessages = 16384;
constexpr size_t kBatchBytes = 16 << 20;
// Per JetStream pull request: the consumer's max_ack_pending (1,000 by
// default) bounds what one unacked batch can hold anyway.
constexpr int kFetchMessages = 1024;
constexpr int64_t kWaitMs = 200;           // for the first message of a batch
constexpr int kPendingMessages = 1 << 20;  // client-side buffer before slow-consumer drops
constexpr int kPendingBytes = 512 << 20;

std::string env_or(const char* name, std::string fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? std::string(value) : fallback;
}

std::string json_string(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out + "\"";
}

class NatsSource : public tpark::Source {
 public:
  NatsSource(tpark::HostRef host, std::string_view /*config_json*/)
      : tpark::Source(host),
        url_(connection_url(env_or("ARW_NATS_URL", "nats://127.0.0.1:4222"),
                            env_or("ARW_NATS_TLS", "0") == "1")),
        stream_(env_or("ARW_NATS_INGEST_STREAM", "")),
        node_id_(node_id_from_environment()) {}

  ~NatsSource() override { close(); }

  void start() override {
    check(natsOptions_Create(&options_), "options");
    check(natsOptions_SetURL(options_, url_.c_str()), "url");
    if (!url_has_credentials(url_)) {
      const std::string user = env_or("ARW_NATS_USER", "");
      const std::string pass = env_or("ARW_NATS_PASS", "");
      if (!user.empty())
        check(natsOptions_SetUserInfo(options_, user.c_str(), pass.c_str()), "credentials");
    }
    // Reconnect forever: an outage ends when the server is back, not when a
    // retry budget runs out.
    check(natsOptions_SetMaxReconnect(options_, -1), "reconnect");
    check(natsOptions_SetReconnectWait(options_, 250), "reconnect wait");
    check(natsOptions_SetDisconnectedCB(options_, &NatsSource::on_disconnected, this), "cb");
    check(natsOptions_SetReconnectedCB(options_, &NatsSource::on_reconnected, this), "cb");
    check(natsOptions_SetRetryOnFailedConnect(options_, true, &NatsSource::on_reconnected, this),
          "retry");
    const natsStatus status = natsConnection_Connect(&connection_, options_);
    if (status == NATS_OK) {
      connected_ = true;
    } else if (status != NATS_NOT_YET_CONNECTED) {
      check(status, "connect");
    }
    host().info("NATS ingest from " + url_ + " as node " + node_id_ +
                (stream_.empty() ? std::string(" (core subscription)")
                                 : " (JetStream stream " + stream_ + ")"));
    worker_ = std::thread([this] { stream_.empty() ? run_core() : run_jetstream(); });
  }

  void stop() override {
    stopping_ = true;
    if (worker_.joinable()) worker_.join();
    close();
  }

  bool status(std::string& json_out, std::string& why) override {
    const bool up = connected_.load();
    json_out = "{\"url\":" + json_string(url_) + ",\"mode\":\"" +
               (stream_.empty() ? "core" : "jetstream") +
               "\",\"node_id\":" + json_string(node_id_) +
               ",\"connected\":" + (up ? "true" : "false") +
               ",\"received\":" + std::to_string(received_.load()) +
               ",\"accepted\":" + std::to_string(accepted_.load()) +
               ",\"self_node\":" + std::to_string(self_node_.load()) +
               ",\"disconnects\":" + std::to_string(disconnects_.load()) +
               ",\"reconnects\":" + std::to_string(reconnects_.load()) +
               ",\"commit_failures\":" + std::to_string(commit_failures_.load()) + "}";
    if (!up) why = "NATS disconnected from " + url_ + " (reconnecting)";
    return up;
  }

 private:
  static void check(natsStatus status, const char* what) {
    if (status != NATS_OK)
      throw tpark::Error(TP_UNAVAILABLE,
                         std::string("NATS ") + what + ": " + natsStatus_GetText(status));
  }

  static void on_disconnected(natsConnection*, void* closure) {
    auto* self = static_cast<NatsSource*>(closure);
    if (self->connected_.exchange(false)) ++self->disconnects_;
  }
  static void on_reconnected(natsConnection*, void* closure) {
    auto* self = static_cast<NatsSource*>(closure);
    if (!self->connected_.exchange(true)) ++self->reconnects_;
  }

  void close() {
    if (connection_ != nullptr) {
      natsConnection_Destroy(connection_);
      connection_ = nullptr;
    }
    if (options_ != nullptr) {
      natsOptions_Destroy(options_);
      options_ = nullptr;
    }
  }

  // One message as ingest_lines takes it; views into `msg`, which the
  // caller keeps until the call returned.
  tpark::IngestLine line_of(natsMsg* msg) {
    tpark::IngestLine line;
    line.body = std::string_view(natsMsg_GetData(msg), natsMsg_GetDataLength(msg));
    const auto parts = split_subject(natsMsg_GetSubject(msg));
    if (!parts) {
      line.rejected = "invalid_subject";
      return line;
    }
    line.node = parts->node;
    line.kind_hint = parts->kind;
    if (parts->node == node_id_) {
      line.rejected = "self_node";  // the loop guard: our own events coming back
      ++self_node_;
    }
    return line;
  }

  // Hands a batch to the host; true once committed (rejects included).
  bool ingest(const std::vector<natsMsg*>& batch) {
    std::vector<tpark::IngestLine> lines;
    lines.reserve(batch.size());
    for (natsMsg* msg : batch) lines.push_back(line_of(msg));
    received_ += batch.size();
    uint64_t accepted = 0;
    const tp_status status = tpark::ingest_lines(host(), lines, &accepted);
    if (status != TP_OK) {
      ++commit_failures_;
      return false;
    }
    accepted_ += accepted;
    return true;
  }

  void run_core() {
    natsSubscription* subscription = nullptr;
    const std::string subject(kIngestSubject);
    natsStatus status = natsConnection_SubscribeSync(&subscription, connection_, subject.c_str());
    if (status != NATS_OK) {
      host().error(std::string("NATS subscribe failed: ") + natsStatus_GetText(status));
      return;
    }
    natsSubscription_SetPendingLimits(subscription, kPendingMessages, kPendingBytes);
    std::vector<natsMsg*> batch;
    while (!stopping_) {
      natsMsg* msg = nullptr;
      if (natsSubscription_NextMsg(&msg, subscription, kWaitMs) != NATS_OK) continue;
      batch.push_back(msg);
      size_t bytes = static_cast<size_t>(natsMsg_GetDataLength(msg));
      while (batch.size() < kBatchMessages && bytes < kBatchBytes &&
             natsSubscription_NextMsg(&msg, subscription, 0) == NATS_OK) {
        batch.push_back(msg);
        bytes += static_cast<size_t>(natsMsg_GetDataLength(msg));
      }
      // Core NATS is at-most-once: a batch the journal refused is lost, and
      // counted in commit_failures.
      ingest(batch);
      for (natsMsg* m : batch) natsMsg_Destroy(m);
      batch.clear();
    }
    natsSubscription_Destroy(subscription);
  }

  // Creates the stream (if missing) and binds the durable pull consumer;
  // null while the server cannot be reached.
  natsSubscription* bind_jetstream(jsCtx* js) {
    jsStreamConfig config;
    jsStreamConfig_Init(&config);
    config.Name = stream_.c_str();
    const char* subjects[] = {kIngestSubject.data()};
    config.Subjects = subjects;
    config.SubjectsLen = 1;
    config.Storage = js_FileStorage;
    jsErrCode error = static_cast<jsErrCode>(0);
    natsStatus status = js_AddStream(nullptr, js, &config, nullptr, &error);
    if (status != NATS_OK && error != JSStreamNameExistErr) return nullptr;
    const std::string durable = "tpark-ingest-" + node_id_;
    jsSubOptions sub_options;
    jsSubOptions_Init(&sub_options);
    sub_options.Stream = stream_.c_str();
    sub_options.Config.AckPolicy = js_AckExplicit;
    sub_options.Config.DeliverPolicy = js_DeliverAll;
    natsSubscription* subscription = nullptr;
    status = js_PullSubscribe(&subscription, js, kIngestSubject.data(), durable.c_str(), nullptr,
                              &sub_options, &error);
    return status == NATS_OK ? subscription : nullptr;
  }

  void run_jetstream() {
    jsCtx* js = nullptr;
    if (natsConnection_JetStream(&js, connection_, nullptr) != NATS_OK) {
      host().error("NATS JetStream context could not be created");
      return;
    }
    natsSubscription* subscription = nullptr;
    while (!stopping_) {
      if (subscription == nullptr) {
        subscription = bind_jetstream(js);
        if (subscription == nullptr) {
          std::this_thread::sleep_for(std::chrono::milliseconds(250));
          continue;
        }
      }
      natsMsgList list{};
      jsErrCode error = static_cast<jsErrCode>(0);
      const natsStatus status =
          natsSubscription_Fetch(&list, subscription, kFetchMessages, kWaitMs * 2, &error);
      if (status != NATS_OK) {
        natsMsgList_Destroy(&list);
        if (status != NATS_TIMEOUT) std::this_thread::sleep_for(std::chrono::milliseconds(100));
        continue;
      }
      std::vector<natsMsg*> batch(list.Msgs, list.Msgs + list.Count);
      // Ack after commit; a refused batch is naked and comes back.
      const bool committed = ingest(batch);
      for (natsMsg* msg : batch) committed ? natsMsg_Ack(msg, nullptr) : natsMsg_Nak(msg, nullptr);
      natsMsgList_Destroy(&list);
    }
    if (subscription != nullptr) natsSubscription_Destroy(subscription);
    jsCtx_Destroy(js);
  }

  const std::string url_;
  const std::string stream_;
  const std::string node_id_;
  natsOptions* options_ = nullptr;
  natsConnection* connection_ = nullptr;
  std::thread worker_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> connected_{false};
  std::atomic<uint64_t> received_{0}, accepted_{0}, self_node_{0};
  std::atomic<uint64_t> disconnects_{0}, reconnects_{0}, commit_failures_{0};
};

}  // namespace

TP_SOURCE_PLUGIN(NatsSource, "nats")
