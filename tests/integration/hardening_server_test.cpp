// Hostile clients against the real host (docs/ops.md "Connection limits"):
// slowloris, thousands of idle connections, oversized headers, broken
// chunked framing, pipelining and slow handlers. After each, /healthz from a
// fresh connection answers within 100 ms and every event acknowledged before
// the attack is still in the journal.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "integration/test_host.h"

using namespace tpark::test;
using tpark::Json;
using Clock = std::chrono::steady_clock;

namespace {

const HeaderList kNdjson = {{"Content-Type", "application/x-ndjson"}};

// A raw TCP connection to 127.0.0.1:port from `source` (any 127.0.0.0/8
// address: a different client address on the same machine).
class RawConnection {
 public:
  RawConnection(uint16_t port, const char* source = "127.0.0.1") {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd_ < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
    sockaddr_in local{};
    local.sin_family = AF_INET;
    ::inet_pton(AF_INET, source, &local.sin_addr);
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0)
      throw std::runtime_error(std::string("bind: ") + std::strerror(errno));
    sockaddr_in remote{};
    remote.sin_family = AF_INET;
    remote.sin_port = htons(port);
    ::inet_pton(AF_INET, "127.0.0.1", &remote.sin_addr);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&remote), sizeof remote) != 0)
      throw std::runtime_error(std::string("connect: ") + std::strerror(errno));
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  ~RawConnection() {
    if (fd_ >= 0) ::close(fd_);
  }
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  // False once the server has closed (EPIPE/ECONNRESET).
  bool send(std::string_view bytes) {
    while (!bytes.empty()) {
      const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      bytes.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }
  // What arrives within `wait`, stopping early at end-of-file (then eof() is true).
  std::string read_for(std::chrono::milliseconds wait) {
    std::string out;
    const auto deadline = Clock::now() + wait;
    while (!eof_) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      if (left.count() <= 0) break;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
      char buffer[8192];
      const ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
      if (n <= 0) {
        eof_ = true;
        break;
      }
      out.append(buffer, static_cast<size_t>(n));
    }
    return out;
  }
  // Reads until `text` has arrived (true) or `wait` passed / the peer closed.
  bool read_until(std::string& into, std::string_view text, std::chrono::milliseconds wait) {
    const auto deadline = Clock::now() + wait;
    while (into.find(text) == std::string::npos) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      if (left.count() <= 0 || eof_) return false;
      into += read_for(std::min(left, std::chrono::milliseconds(50)));
    }
    return true;
  }
  bool eof() const { return eof_; }

 private:
  int fd_ = -1;
  bool eof_ = false;
};

// GET /healthz on a fresh raw connection; returns the milliseconds until the
// whole 200 arrived, or -1 if it did not within 5 s.
double healthz_ms(uint16_t port, const char* source = "127.0.0.1") {
  const auto start = Clock::now();
  RawConnection c(port, source);
  c.send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
  std::string got;
  if (!c.read_until(got, "{\"status\":\"ok\"}", std::chrono::seconds(5))) return -1;
  if (got.rfind("HTTP/1.1 200", 0) != 0) return -1;
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// The best of three probes: the machine running the tests is shared, and one
// scheduling hiccup is not what this measures.
double best_healthz_ms(uint16_t port, const char* source = "127.0.0.1") {
  double best = -1;
  for (int i = 0; i < 3; ++i) {
    const double ms = healthz_ms(port, source);
    if (ms >= 0 && (best < 0 || ms < best)) best = ms;
  }
  return best;
}

TestHostOptions hardened(EnvList extra = {}) {
  TestHostOptions o;
  o.env = {{"ARW_HTTP_HEADER_TIMEOUT_MS", "500"},
           {"ARW_HTTP_IDLE_TIMEOUT_MS", "2000"},
           {"ARW_HTTP_BODY_TIMEOUT_MS", "1000"}};
  for (auto& kv : extra) o.env.push_back(std::move(kv));
  return o;
}

// Ingests `count` events and returns their acknowledged ids.
std::vector<int64_t> ingest_acknowledged(TestHost& host, int count) {
  std::string body;
  for (int i = 0; i < count; ++i)
    body += "{\"kind\":\"hardening.probe\",\"payload\":{\"n\":" + std::to_string(i) + "}}\n";
  HttpResult r = host.post("/events/ingest", body, kNdjson);
  REQUIRE(r.status == 200);
  const Json answer = r.json();
  REQUIRE(answer["accepted"] == count);
  const int64_t last = answer["last_id"].get<int64_t>();
  std::vector<int64_t> ids;
  for (int64_t id = last - count + 1; id <= last; ++id) ids.push_back(id);
  return ids;
}

// After an attack: health answers fast from a fresh connection, and every
// acknowledged event is in the journal.
void expect_unharmed(TestHost& host, const std::vector<int64_t>& acknowledged) {
  const double ms = best_healthz_ms(host.port());
  CHECK(ms >= 0);
  CHECK(ms < 100);
  HttpResult r = host.get("/state/events?limit=1000&prefix=hardening.");
  REQUIRE(r.status == 200);
  const Json page = r.json();
  std::set<int64_t> present;
  for (const Json& item : page["items"]) present.insert(item["id"].get<int64_t>());
  for (int64_t id : acknowledged) CHECK(present.count(id) == 1);
}

}  // namespace

TEST_CASE("a_slowloris_header_is_closed_after_the_header_timeout_and_others_are_served",
          "[integration][hardening]") {
  TestHost host(hardened());
  const auto acknowledged = ingest_acknowledged(host, 20);

  RawConnection slow(host.port());
  std::atomic<bool> closed{false};
  std::atomic<int64_t> closed_after_ms{-1};
  std::thread trickler([&] {
    // A header that never ends, one byte every 20 ms.
    const std::string head = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ";
    const auto start = Clock::now();
    for (size_t i = 0; i < 400; ++i) {
      const char byte = i < head.size() ? head[i] : 'a';
      if (!slow.send(std::string_view(&byte, 1)) ||
          !slow.read_for(std::chrono::milliseconds(20)).empty() || slow.eof()) {
        closed = true;
        closed_after_ms =
            std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
        return;
      }
    }
  });
  // Meanwhile other clients are served at once.
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  const double during = best_healthz_ms(host.port());
  trickler.join();

  CHECK(during >= 0);
  CHECK(during < 100);
  REQUIRE(closed);
  // Trickling kept the connection busy, but not past the 500 ms header timeout.
  CHECK(closed_after_ms >= 450);
  CHECK(closed_after_ms < 3000);
  expect_unharmed(host, acknowledged);
}

TEST_CASE("two_thousand_idle_connections_meet_the_caps_and_health_still_answers",
          "[integration][hardening]") {
  // balanced: ARW_HTTP_MAX_CONC 1024, so 896 per address by default (an
  // eighth is left for other addresses).
  TestHost host(hardened({{"ARW_HTTP_HEADER_TIMEOUT_MS", "30000"}}));
  const auto acknowledged = ingest_acknowledged(host, 20);

  std::vector<std::unique_ptr<RawConnection>> idle;
  idle.reserve(2000);
  for (int i = 0; i < 2000; ++i) idle.push_back(std::make_unique<RawConnection>(host.port()));

  // Past the per-address cap, each connection is told why and closed.
  size_t refused = 0;
  std::string sample;
  for (size_t i = 1000; i < idle.size(); ++i) {
    std::string got;
    if (idle[i]->read_until(got, "\"too_many_clients\"", std::chrono::seconds(5))) {
      ++refused;
      if (sample.empty()) sample = got;
    }
  }
  CHECK(refused == 1000);
  CHECK(sample.rfind("HTTP/1.1 503", 0) == 0);
  CHECK(sample.find("Retry-After: 5\r\n") != std::string::npos);
  CHECK(sample.find("\"limit\":896") != std::string::npos);
  // The first 896 were admitted and are still open (nothing to read, no EOF).
  CHECK(idle[0]->read_for(std::chrono::milliseconds(10)).empty());
  CHECK_FALSE(idle[0]->eof());

  // Another address still finds room: the operator's probe is answered.
  const double other = best_healthz_ms(host.port(), "127.0.0.2");
  CHECK(other >= 0);
  CHECK(other < 100);
  // The crowded address itself gets its 503 at once, not a hang.
  {
    const auto start = Clock::now();
    RawConnection c(host.port());
    std::string got;
    CHECK(c.read_until(got, "too_many_clients", std::chrono::seconds(2)));
    CHECK(std::chrono::duration<double, std::milli>(Clock::now() - start).count() < 100);
  }

  idle.clear();
  // The server notices the closed connections as their reads end.
  for (int i = 0; i < 50 && healthz_ms(host.port()) < 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  expect_unharmed(host, acknowledged);
}

TEST_CASE("the_total_connection_cap_answers_503_with_its_limit", "[integration][hardening]") {
  TestHost host(hardened({{"ARW_HTTP_MAX_CONC", "8"},
                          {"ARW_HTTP_MAX_CONC_PER_IP", "0"},
                          {"ARW_HTTP_HEADER_TIMEOUT_MS", "30000"}}));
  const auto acknowledged = ingest_acknowledged(host, 5);
  // Eight silent connections the server admitted (one it refuses while the
  // ingest connection's close is still on its way is opened again).
  std::vector<std::unique_ptr<RawConnection>> held;
  for (int attempt = 0; attempt < 50 && held.size() < 8; ++attempt) {
    auto c = std::make_unique<RawConnection>(host.port());
    if (c->read_for(std::chrono::milliseconds(50)).empty() && !c->eof())
      held.push_back(std::move(c));
  }
  REQUIRE(held.size() == 8);
  RawConnection ninth(host.port(), "127.0.0.3");
  std::string got;
  REQUIRE(ninth.read_until(got, "too_many_clients", std::chrono::seconds(5)));
  CHECK(got.rfind("HTTP/1.1 503", 0) == 0);
  CHECK(got.find("\"limit\":8") != std::string::npos);
  CHECK(got.find("Connection: close") != std::string::npos);
  held.clear();
  for (int i = 0; i < 50 && healthz_ms(host.port()) < 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  expect_unharmed(host, acknowledged);
}

TEST_CASE("an_idle_keep_alive_connection_is_closed_after_the_idle_timeout",
          "[integration][hardening]") {
  TestHost host(hardened({{"ARW_HTTP_IDLE_TIMEOUT_MS", "300"}}));
  RawConnection c(host.port());
  const auto start = Clock::now();
  c.send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  std::string got;
  REQUIRE(c.read_until(got, "{\"status\":\"ok\"}", std::chrono::seconds(5)));
  c.read_for(std::chrono::seconds(5));
  CHECK(c.eof());
  const double ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
  CHECK(ms >= 250);
  CHECK(ms < 3000);
}

TEST_CASE("oversized_headers_get_431", "[integration][hardening]") {
  TestHost host(hardened());
  const auto acknowledged = ingest_acknowledged(host, 10);
  RawConnection c(host.port());
  c.send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + std::string(20000, 'a') +
         "\r\n\r\n");
  std::string got;
  REQUIRE(c.read_until(got, "}", std::chrono::seconds(5)));
  CHECK(got.rfind("HTTP/1.1 431", 0) == 0);
  CHECK(got.find("application/problem+json") != std::string::npos);
  expect_unharmed(host, acknowledged);
}

TEST_CASE("bad_chunked_framing_gets_400_and_the_connection_closes", "[integration][hardening]") {
  TestHost host(hardened());
  const auto acknowledged = ingest_acknowledged(host, 10);
  RawConnection c(host.port());
  c.send(std::string("POST /events/ingest HTTP/1.1\r\nHost: 127.0.0.1\r\nX-ARW-Admin: ") + kToken +
         "\r\nContent-Type: application/x-ndjson\r\nTransfer-Encoding: chunked\r\n\r\n"
         "zz\r\n{\"kind\":\"hardening.bad\"}\r\n0\r\n\r\n");
  std::string got;
  REQUIRE(c.read_until(got, "}", std::chrono::seconds(5)));
  CHECK(got.rfind("HTTP/1.1 400", 0) == 0);
  CHECK(got.find("\"code\":\"bad_request\"") != std::string::npos);
  CHECK(got.find("Connection: close") != std::string::npos);
  c.read_for(std::chrono::seconds(5));
  CHECK(c.eof());
  // Nothing of the broken body was journaled.
  CHECK(host.get("/state/events?prefix=hardening.bad").json()["items"].empty());
  expect_unharmed(host, acknowledged);
}

TEST_CASE("pipelined_requests_are_answered_in_order", "[integration][hardening]") {
  TestHost host(hardened());
  const auto acknowledged = ingest_acknowledged(host, 10);
  RawConnection c(host.port());
  // A worker-pool route, an inline one and a worker-pool route again, in one write.
  std::string burst;
  const char* targets[] = {"/metrics", "/healthz", "/state/events?limit=1", "/healthz", "/metrics"};
  for (int i = 0; i < 5; ++i)
    burst += std::string("GET ") + targets[i] +
             " HTTP/1.1\r\nHost: 127.0.0.1\r\nX-ARW-Admin: " + kToken + "\r\nX-Request-Id: pipe-" +
             std::to_string(i) + "\r\n\r\n";
  REQUIRE(c.send(burst));
  std::string got;
  REQUIRE(c.read_until(got, "x-request-id: pipe-4", std::chrono::seconds(10)));
  size_t previous = 0;
  for (int i = 0; i < 5; ++i) {
    const size_t at = got.find("x-request-id: pipe-" + std::to_string(i) + "\r\n");
    REQUIRE(at != std::string::npos);
    CHECK(at >= previous);
    previous = at;
  }
  size_t statuses = 0;
  for (size_t at = got.find("HTTP/1.1 200 OK"); at != std::string::npos;
       at = got.find("HTTP/1.1 200 OK", at + 1))
    ++statuses;
  CHECK(statuses == 5);
  expect_unharmed(host, acknowledged);
}

TEST_CASE("slow_handlers_do_not_delay_health_or_other_requests", "[integration][hardening]") {
  // Disabling the never-stops fixture makes a reload wait the whole stop
  // timeout; two of them used to hold both I/O threads.
  TestHostOptions options = hardened({{"TPARK_PLUGIN_STOP_TIMEOUT_MS", "3000"}});
  options.extra_args = {"--plugin-dir", TPARK_FIXTURE_DIR};
  TestHost host(options);
  const auto acknowledged = ingest_acknowledged(host, 20);
  host.write_config(
      "schema: tpark.host/v1\nplugins:\n  tp.fixture.never-stops:\n    enabled: false\n");

  std::atomic<int> reloads_done{0};
  std::vector<std::thread> slow;
  for (int i = 0; i < 2; ++i)
    slow.emplace_back([&] {
      host.post("/admin/plugins/reload", "{}");
      ++reloads_done;
    });
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  // Both reloads are still waiting for the plugin to stop.
  REQUIRE(reloads_done == 0);
  const double ms = best_healthz_ms(host.port());
  CHECK(ms >= 0);
  CHECK(ms < 100);
  // A route that runs on the worker pool is served too.
  const auto start = Clock::now();
  HttpResult events = host.get("/state/events?limit=1");
  CHECK(events.status == 200);
  CHECK(std::chrono::duration<double, std::milli>(Clock::now() - start).count() < 1000);
  CHECK(reloads_done == 0);
  for (auto& t : slow) t.join();
  expect_unharmed(host, acknowledged);
}

TEST_CASE("public_routes_are_rate_limited_per_address", "[integration][hardening]") {
  TestHost host(hardened({{"ARW_PUBLIC_RATE_LIMIT", "5"}, {"ARW_PUBLIC_RATE_WINDOW_SECS", "60"}}));
  HttpConnection c("127.0.0.1", host.port());
  for (int i = 0; i < 5; ++i) REQUIRE(c.request("GET", "/healthz").status == 200);
  HttpResult refused = c.request("GET", "/healthz");
  CHECK(refused.status == 429);
  CHECK(refused.json()["code"] == "rate_limited");
  CHECK(refused.json()["limit"] == 5);
  CHECK(refused.json()["window_secs"] == 60);
  const int retry = std::stoi(refused.header("retry-after").value_or("0"));
  CHECK(retry >= 1);
  CHECK(retry <= 12);
  // Another address has its own budget; admin routes are not counted here.
  CHECK(healthz_ms(host.port(), "127.0.0.4") >= 0);
  CHECK(host.get("/state/events?limit=1").status == 200);
}
