// A plain NATS client for the tests: what an agent hub relaying its events,
// or any other program on the bus, would publish (core or JetStream).
#pragma once

#include <nats/nats.h>

#include <catch2/catch.hpp>
#include <string>

namespace tpark::test {

class Publisher {
 public:
  explicit Publisher(const std::string& url) {
    natsOptions* options = nullptr;
    REQUIRE(natsOptions_Create(&options) == NATS_OK);
    natsOptions_SetURL(options, url.c_str());
    natsOptions_SetMaxReconnect(options, -1);
    natsOptions_SetReconnectWait(options, 100);
    REQUIRE(natsConnection_Connect(&connection_, options) == NATS_OK);
    natsOptions_Destroy(options);
  }
  ~Publisher() {
    if (js_ != nullptr) jsCtx_Destroy(js_);
    natsConnection_Destroy(connection_);
  }
  void publish(const std::string& subject, const std::string& body) {
    REQUIRE(natsConnection_Publish(connection_, subject.c_str(), body.data(),
                                   static_cast<int>(body.size())) == NATS_OK);
  }
  void flush() { REQUIRE(natsConnection_FlushTimeout(connection_, 5000) == NATS_OK); }
  // Publishes through JetStream; true once the server acknowledged it.
  // `msg_id` (Nats-Msg-Id) when not empty.
  bool publish_acked(const std::string& subject, const std::string& body,
                     const std::string& msg_id = "") {
    if (js_ == nullptr && natsConnection_JetStream(&js_, connection_, nullptr) != NATS_OK)
      return false;
    jsPubOptions options;
    jsPubOptions_Init(&options);
    if (!msg_id.empty()) options.MsgId = msg_id.c_str();
    jsPubAck* ack = nullptr;
    jsErrCode error = static_cast<jsErrCode>(0);
    const natsStatus status = js_Publish(&ack, js_, subject.c_str(), body.data(),
                                         static_cast<int>(body.size()), &options, &error);
    if (ack != nullptr) jsPubAck_Destroy(ack);
    return status == NATS_OK;
  }

 private:
  natsConnection* connection_ = nullptr;
  jsCtx* js_ = nullptr;
};

}  // namespace tpark::test
