// tp.exporter.nats: publishes read-model patch frames to
// arw.training.read_model.<node>.<id> and telemetry snapshots to
// arw.training.snapshot.<node>, each item's body as the message payload.
//
// The connection is libnats's own: it connects in the background (a server
// that is down at start is not an error), reconnects forever with
// reconnect_wait_ms between attempts, and a batch is acknowledged only after
// a flush round-trip. While the connection is down a batch answers RETRY:
// the host keeps it, backs off, marks the exporter unhealthy with the reason,
// and delivers the same batch again, so subscribers see versions in order.
#include <unistd.h>

#include <nats/nats.h>

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>
#include <tpark/tp_plugin.hpp>

namespace {

// A subject token: no '.', spaces or wildcards.
std::string subject_token(std::string_view text) {
  std::string out(text);
  for (char& c : out)
    if (c == '.' || c == ' ' || c == '*' || c == '>' || c == '\t' || c == '\r' || c == '\n')
      c = '_';
  return out.empty() ? "_" : out;
}

std::string host_name() {
  char name[256] = {};
  if (gethostname(name, sizeof name - 1) != 0 || name[0] == '\0') return "tpark";
  return name;
}

// The frame's read-model id: the host writes {"id":"...",...} compact, so the
// first key is read directly; anything else is parsed.
std::string read_model_id(std::string_view frame) {
  constexpr std::string_view kPrefix = "{\"id\":\"";
  if (frame.substr(0, kPrefix.size()) == kPrefix) {
    const size_t end = frame.find('"', kPrefix.size());
    const std::string_view id = frame.substr(kPrefix.size(), end - kPrefix.size());
    if (end != std::string_view::npos && id.find('\\') == std::string_view::npos)
      return std::string(id);
  }
  return nlohmann::json::parse(frame).at("id").get<std::string>();
}

struct Settings {
  std::string url;
  std::string node;
  bool snapshots = false;
  bool patches = false;
  int64_t flush_timeout_ms = 2000;
  int64_t reconnect_wait_ms = 500;
};

// The block has been validated against plugin.yaml (defaults filled in).
Settings read_settings(std::string_view config_json) {
  const auto config = nlohmann::json::parse(config_json);
  Settings s;
  // `url` is required: the host refuses a block without it before create;
  // a runner that creates with the defaults alone gets the NATS default.
  s.url = config.value("url", std::string("nats://127.0.0.1:4222"));
  s.node = subject_token(config.value("node", host_name()));
  for (const auto& word : config.at("what")) {
    s.snapshots = s.snapshots || word == "snapshots";
    s.patches = s.patches || word == "patches";
  }
  s.flush_timeout_ms = config.at("flush_timeout_ms").get<int64_t>();
  s.reconnect_wait_ms = config.at("reconnect_wait_ms").get<int64_t>();
  return s;
}

std::string nats_error(const char* what, natsStatus status) {
  return std::string("nats: ") + what + ": " + natsStatus_GetText(status);
}

class NatsExporter final : public tpark::Exporter {
 public:
  NatsExporter(tpark::HostRef host, std::string_view config_json)
      : Exporter(host), settings_(read_settings(config_json)) {
    snapshot_subject_ = "arw.training.snapshot." + settings_.node;
    patch_prefix_ = "arw.training.read_model." + settings_.node + ".";
  }
  ~NatsExporter() override { disconnect(); }

  void start() override {
    natsStatus s = natsOptions_Create(&options_);
    if (s == NATS_OK) s = natsOptions_SetURL(options_, settings_.url.c_str());
    if (s == NATS_OK) s = natsOptions_SetMaxReconnect(options_, -1);
    if (s == NATS_OK) s = natsOptions_SetReconnectWait(options_, settings_.reconnect_wait_ms);
    if (s == NATS_OK) s = natsOptions_SetTimeout(options_, settings_.flush_timeout_ms);
    // A server that is down at start: connect in the background, like a
    // reconnect (with a connected callback libnats returns at once).
    if (s == NATS_OK)
      s = natsOptions_SetRetryOnFailedConnect(options_, true, &on_connected, nullptr);
    if (s != NATS_OK) throw tpark::Error(TP_INVALID_ARG, nats_error("options (url)", s));
    s = natsConnection_Connect(&connection_, options_);
    if (s != NATS_OK && s != NATS_NOT_YET_CONNECTED)
      throw tpark::Error(TP_UNAVAILABLE, nats_error(("connect to " + settings_.url).c_str(), s));
  }

  void stop() override { disconnect(); }

  tpark::ExportResult export_batch(const std::vector<tpark::ExportItem>& items, uint32_t) override {
    bool published = false;
    for (const auto& item : items) {
      std::string subject;
      if (item.type == TP_EXPORT_PATCH && settings_.patches)
        subject = patch_prefix_ + subject_token(read_model_id(item.body));
      else if (item.type == TP_EXPORT_SNAPSHOT && settings_.snapshots)
        subject = snapshot_subject_;
      else
        continue;
      require_connected();
      const natsStatus s = natsConnection_Publish(connection_, subject.c_str(), item.body.data(),
                                                  static_cast<int>(item.body.size()));
      if (s != NATS_OK) throw tpark::Error(TP_RETRY, nats_error("publish", s));
      published = true;
    }
    if (!published) return tpark::ExportResult::Ok;
    // Acknowledged only once the server has everything published so far.
    const natsStatus s = natsConnection_FlushTimeout(connection_, settings_.flush_timeout_ms);
    if (s != NATS_OK)
      throw tpark::Error(TP_RETRY, nats_error(("flush to " + settings_.url).c_str(), s));
    return tpark::ExportResult::Ok;
  }

 private:
  void require_connected() const {
    if (connection_ == nullptr) throw tpark::Error(TP_RETRY, "nats: no connection");
    const natsConnStatus status = natsConnection_Status(connection_);
    if (status != NATS_CONN_STATUS_CONNECTED)
      throw tpark::Error(
          TP_RETRY, "nats: not connected to " + settings_.url + " (" +
                        (status == NATS_CONN_STATUS_RECONNECTING ? "reconnecting" : "connecting") +
                        ")");
  }

  static void on_connected(natsConnection*, void*) {}

  void disconnect() {
    if (connection_ != nullptr) {
      natsConnection_Close(connection_);
      natsConnection_Destroy(connection_);
      connection_ = nullptr;
    }
    if (options_ != nullptr) natsOptions_Destroy(options_);
    options_ = nullptr;
  }

  Settings settings_;
  std::string snapshot_subject_;
  std::string patch_prefix_;
  natsOptions* options_ = nullptr;
  natsConnection* connection_ = nullptr;
};

}  // namespace

// Patches as they are published; snapshots every 10 s (when `what` has them).
TP_EXPORTER_PLUGIN(NatsExporter, "nats", TP_EXPORT_WANTS_SNAPSHOTS | TP_EXPORT_WANTS_PATCHES, 10000)
