// A real nats-server (Debian's package) on loopback for the tests that need
// NATS: started on a free port, with JetStream and a temporary store when
// asked, stoppable and restartable on the same port (outage tests).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "support/host_process.h"

namespace tpark::test {

class NatsServer {
 public:
  struct Options {
    bool jetstream = false;
  };
  // Starts the server; FAILs the test with the log if it does not get ready.
  explicit NatsServer(Options options);
  NatsServer() : NatsServer(Options{}) {}
  ~NatsServer();
  NatsServer(const NatsServer&) = delete;
  NatsServer& operator=(const NatsServer&) = delete;

  uint16_t port() const { return port_; }
  std::string url() const;  // nats://127.0.0.1:<port>
  // SIGTERM and wait; the port stays reserved for start().
  void stop();
  // Starts again on the same port (and the same JetStream store).
  void start();
  bool running() const { return process_ != nullptr; }
  std::string log() const;

 private:
  Options options_;
  TempDir dir_;
  uint16_t port_ = 0;
  int starts_ = 0;
  std::unique_ptr<HostProcess> process_;
};

// The nats-server binary (PATH, then /usr/bin); FAILs naming the Debian package
// when it is missing.
std::string nats_server_binary();

}  // namespace tpark::test
