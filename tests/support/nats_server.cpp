#include "support/nats_server.h"

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <regex>

namespace tpark::test {

std::string nats_server_binary() {
  for (const char* candidate : {"/usr/bin/nats-server", "/usr/sbin/nats-server"}) {
    if (std::filesystem::exists(candidate)) return candidate;
  }
  if (const char* path = std::getenv("PATH")) {
    std::string rest = path;
    while (!rest.empty()) {
      const auto colon = rest.find(':');
      const std::string dir = rest.substr(0, colon);
      const auto file = std::filesystem::path(dir) / "nats-server";
      if (!dir.empty() && std::filesystem::exists(file)) return file.string();
      if (colon == std::string::npos) break;
      rest.erase(0, colon + 1);
    }
  }
  FAIL("nats-server not found: install the Debian package nats-server (scripts/deps.sh test)");
  return {};
}

NatsServer::NatsServer(Options options) : options_(options) {
  start();
}

NatsServer::~NatsServer() {
  if (process_) stop();
}

std::string NatsServer::url() const {
  return "nats://127.0.0.1:" + std::to_string(port_);
}

std::string NatsServer::log() const {
  return process_ ? process_->log() : std::string();
}

void NatsServer::start() {
  if (process_) return;
  ++starts_;
  HostProcess::Options o;
  o.binary = nats_server_binary();
  // Port -1 lets the server pick a free one the first time; later starts reuse it.
  o.args = {"-a", "127.0.0.1", "-p", port_ == 0 ? "-1" : std::to_string(port_)};
  if (options_.jetstream) {
    o.args.insert(o.args.end(), {"-js", "-sd", dir_.file("jetstream")});
  }
  o.log_path = dir_.file("nats-" + std::to_string(starts_) + ".log");
  o.wait_for_listening = false;
  process_ = std::make_unique<HostProcess>(std::move(o));
  if (!process_->wait_for_log("Server is ready", std::chrono::seconds(20))) {
    const std::string log = process_->log();
    process_.reset();
    FAIL("nats-server did not become ready; log:\n" << log);
  }
  if (port_ == 0) {
    static const std::regex listening(R"(Listening for client connections on [0-9.]+:([0-9]+))");
    std::smatch m;
    const std::string log = process_->log();
    if (!std::regex_search(log, m, listening)) FAIL("no client port in nats-server log:\n" << log);
    port_ = static_cast<uint16_t>(std::stoi(m[1].str()));
  }
}

void NatsServer::stop() {
  if (!process_) return;
  process_->stop(std::chrono::seconds(10));
  process_.reset();
}

}  // namespace tpark::test
