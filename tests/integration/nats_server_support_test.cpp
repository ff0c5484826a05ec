// The NatsServer test helper itself: a real nats-server answers INFO on its
// port, stops, and comes back on the same port with its JetStream store.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <string>

#include "support/nats_server.h"

namespace {

// The first bytes the server sends to a new client ("INFO {...}"), or "" when
// nothing listens.
std::string greeting(uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string out;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    char buf[512];
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n > 0) out.assign(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

}  // namespace

TEST_CASE("nats_server_helper_starts_stops_and_restarts_on_the_same_port", "[nats]") {
  tpark::test::NatsServer nats({.jetstream = true});
  const uint16_t port = nats.port();
  REQUIRE(port != 0);
  CHECK(nats.url() == "nats://127.0.0.1:" + std::to_string(port));
  const std::string info = greeting(port);
  CHECK(info.rfind("INFO ", 0) == 0);
  CHECK(info.find("\"jetstream\":true") != std::string::npos);

  nats.stop();
  CHECK_FALSE(nats.running());
  CHECK(greeting(port).empty());

  nats.start();
  CHECK(nats.port() == port);
  CHECK(greeting(port).rfind("INFO ", 0) == 0);
}
