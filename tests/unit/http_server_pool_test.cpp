// The HTTP server's worker pool (host/http/server.h): handlers that wait do
// not hold the I/O threads, a full pool answers 503 `overloaded`, and
// inline-safe routes answer even then.
#include <catch2/catch.hpp>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "http/problem.h"
#include "http/server.h"
#include "support/http_client.h"

using namespace std::chrono_literals;
using tpark::http::Access;
using tpark::http::Request;
using tpark::http::Response;
using tpark::http::Route;

namespace {

// A handler that waits until released, counting how many are waiting.
struct Gate {
  std::mutex mutex;
  std::condition_variable changed;
  int waiting = 0;
  bool open = false;

  Response pass(const Request& req) {
    std::unique_lock lock(mutex);
    ++waiting;
    changed.notify_all();
    changed.wait(lock, [&] { return open; });
    return tpark::http::json_response(req, 200, {{"passed", true}});
  }
  bool wait_for_waiting(int count) {
    std::unique_lock lock(mutex);
    return changed.wait_for(lock, 10s, [&] { return waiting >= count; });
  }
  void release() {
    std::lock_guard lock(mutex);
    open = true;
    changed.notify_all();
  }
};

Route route(std::string path, tpark::http::Handler handler, bool inline_safe) {
  Route r;
  r.method = "GET";
  r.path_template = std::move(path);
  r.access = Access::Public;
  r.handler = std::move(handler);
  r.inline_safe = inline_safe;
  return r;
}

}  // namespace

TEST_CASE("server_waiting_handlers_leave_the_io_threads_free_and_a_full_pool_answers_503",
          "[http][server][pool]") {
  Gate gate;
  tpark::http::Router router;
  router.add(route(
      "/wait", [&](const Request& req) { return gate.pass(req); }, false));
  router.add(route(
      "/quick", [](const Request& req) { return tpark::http::json_response(req, 200, {}); },
      false));
  router.add(route(
      "/inline", [](const Request& req) { return tpark::http::json_response(req, 200, {}); },
      true));
  tpark::http::AdminAuth auth(tpark::http::AuthSettings{});
  tpark::http::RateLimiter limiter(tpark::http::RateSettings{});
  tpark::http::ServerOptions options;
  options.port = 0;
  options.threads = 2;
  options.workers = 3;
  options.worker_queue_max = 3;
  tpark::http::HttpServer server(router, auth, limiter, options);
  const uint16_t port = server.listen();
  server.start();

  // Three waiting handlers: more than the two I/O threads, all of the pool.
  std::vector<std::thread> waiters;
  std::vector<int> statuses(3, 0);
  for (size_t i = 0; i < 3; ++i)
    waiters.emplace_back(
        [&, i] { statuses[i] = tpark::test::request("GET", "127.0.0.1", port, "/wait").status; });
  REQUIRE(gate.wait_for_waiting(3));

  // The I/O threads still parse and answer: the pool is full, so 503 with Retry-After.
  const auto busy = tpark::test::request("GET", "127.0.0.1", port, "/quick");
  CHECK(busy.status == 503);
  CHECK(busy.json()["code"] == "overloaded");
  CHECK(busy.json()["limit"] == 3);
  CHECK(busy.header("retry-after") == "1");
  // An inline-safe route does not need the pool.
  CHECK(tpark::test::request("GET", "127.0.0.1", port, "/inline").status == 200);

  gate.release();
  for (auto& t : waiters) t.join();
  CHECK(statuses == std::vector<int>{200, 200, 200});
  // Once the handlers are done the pool takes requests again.
  CHECK(tpark::test::request("GET", "127.0.0.1", port, "/quick").status == 200);
  server.stop();
}
