// The server in-process on port 0, spoken to over real sockets.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <regex>
#include <stdexcept>
#include <thread>

#include "http/problem.h"
#include "http/server.h"
#include "support/http_client.h"

using namespace std::chrono_literals;
using tpark::Json;
using tpark::http::Access;
using tpark::http::AdminAuth;
using tpark::http::AuthSettings;
using tpark::http::HttpServer;
using tpark::http::RateLimiter;
using tpark::http::RateSettings;
using tpark::http::Request;
using tpark::http::Response;
using tpark::http::Route;
using tpark::http::Router;
using tpark::http::ServerOptions;
using tpark::http::StreamSource;
using tpark::test::HttpConnection;
using tpark::test::StreamReader;

namespace {

const std::regex kUuidV4("^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$");

// Delivers its items from its own thread, one per next(), like a real source
// fed by another part of the host.
class ThreadedSource : public StreamSource {
 public:
  explicit ThreadedSource(std::vector<std::string> items)
      : items_(std::move(items)), worker_([this] { run(); }) {}
  ~ThreadedSource() override {
    {
      std::lock_guard lock(mutex_);
      quit_ = true;
    }
    cv_.notify_all();
    worker_.join();
  }
  void next(tpark::http::StreamDeliver deliver) override {
    {
      std::lock_guard lock(mutex_);
      pending_.push_back(std::move(deliver));
    }
    cv_.notify_all();
  }
  void cancel() override { cancelled = true; }
  std::atomic<bool> cancelled{false};

 private:
  void run() {
    std::unique_lock lock(mutex_);
    size_t index = 0;
    for (;;) {
      cv_.wait(lock, [&] { return quit_ || !pending_.empty(); });
      if (quit_) return;
      auto deliver = std::move(pending_.front());
      pending_.pop_front();
      std::optional<std::string> item;
      if (index < items_.size()) item = items_[index++];
      lock.unlock();
      deliver(std::move(item));
      lock.lock();
    }
  }
  std::vector<std::string> items_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<tpark::http::StreamDeliver> pending_;
  bool quit_ = false;
  std::thread worker_;  // last: starts after the members it uses
};

// Sends one greeting, then stays open until cancelled.
class EndlessSource : public StreamSource {
 public:
  void next(tpark::http::StreamDeliver deliver) override {
    std::lock_guard lock(mutex_);
    if (!greeted_) {
      greeted_ = true;
      deliver(std::string("hello\n\n"));
      return;
    }
    if (cancelled) {
      deliver(std::nullopt);
      return;
    }
    parked_ = std::move(deliver);
  }
  void cancel() override {
    tpark::http::StreamDeliver parked;
    {
      std::lock_guard lock(mutex_);
      cancelled = true;
      parked = std::move(parked_);
    }
    cancelled_cv_.notify_all();
    if (parked) parked(std::nullopt);
  }
  bool wait_cancelled(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    return cancelled_cv_.wait_for(lock, timeout, [&] { return cancelled.load(); });
  }
  std::atomic<bool> cancelled{false};

 private:
  std::mutex mutex_;
  std::condition_variable cancelled_cv_;
  bool greeted_ = false;
  tpark::http::StreamDeliver parked_;
};

constexpr int kBigStreamItems = 2000;

// Item i of /big-stream: 1 KiB, numbered, so order and completeness show.
std::string big_stream_item(int i) {
  std::string item = "item " + std::to_string(i) + " ";
  item.resize(1023, '.');
  item += '\n';
  return item;
}

struct Completed {
  std::string method;
  std::string route_template;
  int status;
};

Route make_route(std::string method, std::string path, Access access, tpark::http::Handler handler,
                 size_t body_limit = 0) {
  Route r;
  r.method = std::move(method);
  r.path_template = std::move(path);
  r.access = access;
  r.handler = std::move(handler);
  r.body_limit = body_limit;
  return r;
}

// A server with a handful of routes on 127.0.0.1, port 0.
struct TestServer {
  explicit TestServer(AuthSettings auth_settings = {}, RateSettings rate = {0, 60, 20, false},
                      size_t default_body_limit = 1048576)
      : auth(auth_settings), limiter(rate) {
    router.add(make_route("GET", "/hello", Access::Public, [](const Request&) {
      Response r;
      r.content_type = "text/plain";
      r.body = "hello";
      return r;
    }));
    router.add(make_route("GET", "/admin/thing", Access::Admin, [](const Request& req) {
      return tpark::http::json_response(req, 200, Json{{"ok", true}});
    }));
    router.add(make_route("POST", "/echo", Access::Public, [this](const Request& req) {
      echo_calls++;
      Response r;
      r.content_type = "text/plain";
      r.body = req.body;
      return r;
    }, 64));
    router.add(make_route("POST", "/echo-default", Access::Public, [this](const Request& req) {
      echo_calls++;
      Response r;
      r.body = std::to_string(req.body.size());
      return r;
    }));
    router.add(make_route("GET", "/items/{id}", Access::Public, [](const Request& req) {
      Json query = Json::array();
      for (const auto& [k, v] : req.query) query.push_back(Json::array({k, v}));
      return tpark::http::json_response(
          req, 200, Json{{"id", req.path_params.at("id")}, {"path", req.path}, {"query", query}});
    }));
    router.add(make_route("GET", "/boom", Access::Public, [](const Request&) -> Response {
      throw std::runtime_error("SELECT secret FROM tokens failed in /var/lib/tpark/state.db");
    }));
    router.add(make_route("GET", "/stream", Access::Public, [this](const Request&) {
      Response r;
      r.content_type = "text/event-stream";
      r.set_header("Cache-Control", "no-cache");
      r.stream = std::make_shared<ThreadedSource>(std::vector<std::string>{"a\n", "bb\n", "ccc\n"});
      std::lock_guard lock(sources_mutex);
      threaded = std::static_pointer_cast<ThreadedSource>(r.stream);
      return r;
    }));
    router.add(make_route("GET", "/big-stream", Access::Public, [](const Request&) {
      Response r;
      r.content_type = "text/event-stream";
      std::vector<std::string> items;
      for (int i = 0; i < kBigStreamItems; ++i) items.push_back(big_stream_item(i));
      r.stream = std::make_shared<ThreadedSource>(std::move(items));
      return r;
    }));
    router.add(make_route("GET", "/endless", Access::Public, [this](const Request&) {
      Response r;
      r.content_type = "text/event-stream";
      r.stream = std::make_shared<EndlessSource>();
      std::lock_guard lock(sources_mutex);
      endless = std::static_pointer_cast<EndlessSource>(r.stream);
      return r;
    }));

    ServerOptions options;
    options.bind_address = "127.0.0.1";
    options.port = 0;
    options.threads = 2;
    options.default_body_limit = default_body_limit;
    options.on_complete = [this](const Request& req, int status, int64_t) {
      std::lock_guard lock(completed_mutex);
      completed.push_back({req.method, req.route_template, status});
    };
    server = std::make_unique<HttpServer>(router, auth, limiter, options);
    port = server->listen();
    server->start();
  }

  tpark::test::HttpResult get(const std::string& target, const tpark::test::HeaderList& headers = {}) {
    return tpark::test::request("GET", "127.0.0.1", port, target, headers);
  }

  std::shared_ptr<ThreadedSource> threaded_source() {
    std::lock_guard lock(sources_mutex);
    return threaded;
  }
  std::shared_ptr<EndlessSource> endless_source() {
    std::lock_guard lock(sources_mutex);
    return endless;
  }

  std::vector<Completed> completions() {
    std::lock_guard lock(completed_mutex);
    return completed;
  }

  Router router;
  AdminAuth auth;
  RateLimiter limiter;
  std::unique_ptr<HttpServer> server;
  uint16_t port = 0;
  std::atomic<int> echo_calls{0};
  std::mutex sources_mutex;
  std::shared_ptr<ThreadedSource> threaded;
  std::shared_ptr<EndlessSource> endless;
  std::mutex completed_mutex;
  std::vector<Completed> completed;
};

AuthSettings with_token(const std::string& token) {
  AuthSettings s;
  s.token = token;
  return s;
}

}  // namespace

TEST_CASE("server_unknown_path_is_404_problem_with_request_id", "[http][server]") {
  TestServer t;
  const auto res = t.get("/nowhere");
  CHECK(res.status == 404);
  CHECK(res.header("content-type") == "application/problem+json");
  const Json body = res.json();
  CHECK(body["type"] == "about:blank");
  CHECK(body["title"] == "Not Found");
  CHECK(body["status"] == 404);
  CHECK(body["code"] == "not_found");
  const auto id = res.header("x-request-id");
  REQUIRE(id);
  CHECK(std::regex_match(*id, kUuidV4));
  CHECK(body["request_id"] == *id);
  CHECK(res.header("content-length") == std::to_string(res.body.size()));

  const auto done = t.completions();
  REQUIRE(done.size() == 1);
  CHECK(done[0].route_template == "other");
  CHECK(done[0].status == 404);
}

TEST_CASE("server_wrong_method_is_405_with_allow", "[http][server]") {
  TestServer t;
  const auto res = tpark::test::request("DELETE", "127.0.0.1", t.port, "/hello");
  CHECK(res.status == 405);
  CHECK(res.header("allow") == "GET");
  CHECK(res.json()["code"] == "method_not_allowed");
  const auto done = t.completions();
  REQUIRE(done.size() == 1);
  CHECK(done[0].route_template == "/hello");
  CHECK(done[0].status == 405);
}

TEST_CASE("server_admin_route_open_to_loopback_without_token", "[http][server][auth]") {
  TestServer t;
  const auto ok = t.get("/admin/thing");
  CHECK(ok.status == 200);
  CHECK(ok.json() == Json{{"ok", true}});
  CHECK(ok.header("content-type") == "application/json");
  // Possibly proxied: refused even from loopback.
  const auto proxied = t.get("/admin/thing", {{"X-Forwarded-For", "203.0.113.5"}});
  CHECK(proxied.status == 401);
}

TEST_CASE("server_admin_route_requires_configured_token", "[http][server][auth]") {
  TestServer t(with_token("s3cret"));
  const auto denied = t.get("/admin/thing");
  CHECK(denied.status == 401);
  CHECK(denied.header("www-authenticate") == "Bearer realm=\"tpark\"");
  CHECK(denied.json()["code"] == "unauthorized");
  CHECK(t.get("/admin/thing", {{"Authorization", "Bearer wrong"}}).status == 401);
  CHECK(t.get("/admin/thing", {{"Authorization", "Bearer s3cret"}}).status == 200);
  CHECK(t.get("/admin/thing", {{"X-ARW-Admin", "s3cret"}}).status == 200);
  // Public routes need nothing.
  CHECK(t.get("/hello").status == 200);

  const auto done = t.completions();
  REQUIRE(done.size() == 5);
  CHECK(done[0].route_template == "/admin/thing");
  CHECK(done[0].status == 401);
}

TEST_CASE("server_echoes_valid_request_id_and_corr", "[http][server]") {
  TestServer t;
  const auto res = t.get("/nowhere", {{"x-request-id", "abc-123"}, {"x-arw-corr", "corr-7"}});
  CHECK(res.header("x-request-id") == "abc-123");
  CHECK(res.header("x-arw-corr") == "corr-7");
  CHECK(res.json()["request_id"] == "abc-123");
  CHECK(t.get("/hello", {{"x-request-id", "A.b_c:d-9"}}).header("x-request-id") == "A.b_c:d-9");
}

TEST_CASE("server_replaces_invalid_request_id_with_uuid", "[http][server]") {
  TestServer t;
  for (const std::string& bad : {std::string("has space"), std::string("semi;colon"), std::string(129, 'a')}) {
    const auto res = t.get("/nowhere", {{"x-request-id", bad}});
    const auto id = res.header("x-request-id");
    REQUIRE(id);
    CHECK(*id != bad);
    CHECK(std::regex_match(*id, kUuidV4));
    CHECK(res.json()["request_id"] == *id);
  }
  // 128 characters is still valid.
  const std::string longest(128, 'z');
  CHECK(t.get("/hello", {{"x-request-id", longest}}).header("x-request-id") == longest);
}

TEST_CASE("server_decodes_path_and_query", "[http][server]") {
  TestServer t;
  const auto res = t.get("/items/a%20b+%3Ac?x=1&y=two+words&y=%2F%3D&flag&=&z=bad%zz");
  REQUIRE(res.status == 200);
  const Json body = res.json();
  // '+' is a space only in the query.
  CHECK(body["id"] == "a b+:c");
  CHECK(body["path"] == "/items/a b+:c");
  CHECK(body["query"] == Json::parse(R"([["x","1"],["y","two words"],["y","/="],["flag",""],["",""],["z","bad%zz"]])"));
}

TEST_CASE("server_413_by_content_length_before_handler_runs", "[http][server][limits]") {
  TestServer t;
  HttpConnection c("127.0.0.1", t.port);
  c.send_raw("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 65\r\n\r\n");
  const auto res = c.read_response();
  CHECK(res.status == 413);
  const Json body = res.json();
  CHECK(body["code"] == "payload_too_large");
  CHECK(body["limit"] == 64);
  CHECK(res.header("connection") == "close");
  // The body was never read, so the connection cannot be reused.
  CHECK(c.closed_by_peer(5s));
  CHECK(t.echo_calls == 0);

  // A client that sends the whole oversized body still gets the 413.
  const auto sent = tpark::test::request("POST", "127.0.0.1", t.port, "/echo", {}, std::string(200000, 'x'));
  CHECK(sent.status == 413);
  CHECK(t.echo_calls == 0);

  // At the limit the handler runs.
  const auto at_limit = tpark::test::request("POST", "127.0.0.1", t.port, "/echo", {}, std::string(64, 'y'));
  CHECK(at_limit.status == 200);
  CHECK(at_limit.body == std::string(64, 'y'));
  CHECK(t.echo_calls == 1);

  const auto done = t.completions();
  REQUIRE(done.size() == 3);
  CHECK(done[0].route_template == "/echo");
  CHECK(done[0].status == 413);
}

TEST_CASE("server_default_body_limit_applies_to_routes_without_one", "[http][server][limits]") {
  TestServer t({}, {0, 60, 20, false}, 1000);
  CHECK(tpark::test::request("POST", "127.0.0.1", t.port, "/echo-default", {}, std::string(1000, 'x')).body == "1000");
  const auto res = tpark::test::request("POST", "127.0.0.1", t.port, "/echo-default", {}, std::string(1001, 'x'));
  CHECK(res.status == 413);
  CHECK(res.json()["limit"] == 1000);
  CHECK(t.echo_calls == 1);
}

TEST_CASE("server_413_for_chunked_body_overrun", "[http][server][limits]") {
  TestServer t;
  {
    HttpConnection c("127.0.0.1", t.port);
    // 40 + 40 bytes: the second chunk crosses the 64-byte limit.
    c.send_raw("POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
               "28\r\n" + std::string(40, 'a') + "\r\n28\r\n" + std::string(40, 'b') + "\r\n0\r\n\r\n");
    const auto res = c.read_response();
    CHECK(res.status == 413);
    CHECK(res.json()["limit"] == 64);
    CHECK(t.echo_calls == 0);
  }
  {
    HttpConnection c("127.0.0.1", t.port);
    c.send_raw("POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
               "3\r\nabc\r\n4\r\ndefg\r\n0\r\n\r\n");
    const auto res = c.read_response();
    CHECK(res.status == 200);
    CHECK(res.body == "abcdefg");
    CHECK(t.echo_calls == 1);
  }
}

TEST_CASE("server_answers_expect_100_continue", "[http][server]") {
  TestServer t;
  HttpConnection c("127.0.0.1", t.port);
  c.send_raw("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n");
  CHECK(c.read_response().status == 100);
  c.send_raw("12345");
  const auto res = c.read_response();
  CHECK(res.status == 200);
  CHECK(res.body == "12345");
}

TEST_CASE("server_rate_limits_admin_requests", "[http][server][rate]") {
  TestServer t(with_token("s3cret"), RateSettings{3, 60, 20, false});
  const tpark::test::HeaderList auth{{"Authorization", "Bearer s3cret"}};
  for (int i = 0; i < 3; ++i) REQUIRE(t.get("/admin/thing", auth).status == 200);
  const auto refused = t.get("/admin/thing", auth);
  CHECK(refused.status == 429);
  const Json body = refused.json();
  CHECK(body["code"] == "rate_limited");
  CHECK(body["limit"] == 3);
  CHECK(body["window_secs"] == 60);
  const int retry = body["retry_after_s"].get<int>();
  CHECK(retry >= 1);
  CHECK(retry <= 60);
  CHECK(refused.header("retry-after") == std::to_string(retry));
  // Another token is another bucket; public routes are not counted.
  CHECK(t.get("/hello").status == 200);
}

TEST_CASE("server_refuses_ip_after_20_auth_failures", "[http][server][rate]") {
  TestServer t(with_token("s3cret"), RateSettings{600, 60, 20, false});
  for (int i = 0; i < 20; ++i) REQUIRE(t.get("/admin/thing", {{"Authorization", "Bearer nope"}}).status == 401);
  // Even the right token is refused now, with 429 rather than 401.
  const auto refused = t.get("/admin/thing", {{"Authorization", "Bearer s3cret"}});
  CHECK(refused.status == 429);
  CHECK(refused.json()["code"] == "rate_limited");
  CHECK(refused.json()["limit"] == 20);
  CHECK(refused.header("retry-after"));
  CHECK(t.get("/hello").status == 200);
}

TEST_CASE("server_handler_exception_is_generic_500_and_server_keeps_serving", "[http][server]") {
  TestServer t;
  const auto res = t.get("/boom");
  CHECK(res.status == 500);
  const Json body = res.json();
  CHECK(body["code"] == "internal");
  const std::string detail = body["detail"];
  CHECK(detail.find("SELECT") == std::string::npos);
  CHECK(detail.find("/var") == std::string::npos);
  CHECK(res.body.find("tokens") == std::string::npos);
  CHECK(t.get("/hello").body == "hello");
}

TEST_CASE("server_keep_alive_serves_several_requests_on_one_connection", "[http][server]") {
  TestServer t;
  HttpConnection c("127.0.0.1", t.port);
  for (int i = 0; i < 5; ++i) {
    const auto res = c.request("GET", "/hello");
    CHECK(res.status == 200);
    CHECK(res.body == "hello");
    CHECK_FALSE(res.header("connection"));
  }
  CHECK(c.request("GET", "/nowhere").status == 404);
  CHECK(c.request("POST", "/echo", {}, "ping").body == "ping");
}

TEST_CASE("server_head_answers_without_body", "[http][server]") {
  TestServer t;
  HttpConnection c("127.0.0.1", t.port);
  const auto head = c.request("HEAD", "/hello");
  CHECK(head.status == 200);
  CHECK(head.header("content-length") == "5");
  CHECK(head.header("content-type") == "text/plain");
  CHECK(head.body.empty());
  // Had a body been sent, it would now be misread as the next response.
  const auto get = c.request("GET", "/hello");
  CHECK(get.status == 200);
  CHECK(get.body == "hello");
}

TEST_CASE("server_streams_chunks_then_ends", "[http][server][stream]") {
  TestServer t;
  StreamReader reader("127.0.0.1", t.port, "/stream", {{{"x-request-id", "stream-1"}}});
  CHECK(reader.status() == 200);
  CHECK(reader.header("content-type") == "text/event-stream");
  CHECK(reader.header("cache-control") == "no-cache");
  CHECK(reader.header("x-request-id") == "stream-1");
  CHECK_FALSE(reader.header("content-length"));
  CHECK(reader.read_until("\n", 5s) == "a\n");
  CHECK(reader.read_until("\n", 5s) == "bb\n");
  CHECK(reader.read_until("\n", 5s) == "ccc\n");
  CHECK(reader.read_to_end(5s).empty());
  CHECK(reader.ended());
  CHECK(reader.ended_cleanly());
  REQUIRE(t.threaded_source());
  CHECK_FALSE(t.threaded_source()->cancelled);
  const auto done = t.completions();
  REQUIRE(done.size() == 1);
  CHECK(done[0].route_template == "/stream");
  CHECK(done[0].status == 200);
}

TEST_CASE("server_cancels_stream_when_client_leaves", "[http][server][stream]") {
  TestServer t;
  {
    StreamReader reader("127.0.0.1", t.port, "/endless");
    CHECK(reader.read_frame(5s) == "hello\n\n");
    CHECK_FALSE(reader.read_frame(200ms));  // nothing more, and the stream stays open
    CHECK_FALSE(reader.ended());
  }
  REQUIRE(t.endless_source());
  CHECK(t.endless_source()->wait_cancelled(5s));
  CHECK(t.get("/hello").status == 200);
}

TEST_CASE("server_stop_is_prompt_with_open_connections_and_streams", "[http][server][stream]") {
  TestServer t;
  HttpConnection idle("127.0.0.1", t.port);
  REQUIRE(idle.request("GET", "/hello").status == 200);
  StreamReader reader("127.0.0.1", t.port, "/endless");
  REQUIRE(reader.read_frame(5s) == "hello\n\n");

  const auto started = std::chrono::steady_clock::now();
  t.server->stop();
  const auto took = std::chrono::steady_clock::now() - started;
  CHECK(took < 1500ms);
  CHECK(t.endless_source()->cancelled);
  CHECK(idle.closed_by_peer(2s));
  reader.read_to_end(2s);
  CHECK(reader.ended());
  t.server->stop();  // idempotent
}

TEST_CASE("server_listen_reports_bind_failure_with_address", "[http][server]") {
  TestServer t;
  Router router;
  AdminAuth auth(AuthSettings{});
  RateLimiter limiter(RateSettings{});
  ServerOptions options;
  options.port = t.port;  // already taken
  HttpServer second(router, auth, limiter, options);
  try {
    second.listen();
    FAIL("bound a port in use");
  } catch (const std::runtime_error& e) {
    CHECK(std::string(e.what()).rfind("cannot bind 127.0.0.1:" + std::to_string(t.port) + ": ", 0) == 0);
  }
}

TEST_CASE("is_loopback_address_covers_127_8_and_ipv6", "[http][server]") {
  using tpark::http::is_loopback_address;
  CHECK(is_loopback_address("127.0.0.1"));
  CHECK(is_loopback_address("127.255.0.9"));
  CHECK(is_loopback_address("::1"));
  CHECK(is_loopback_address("[::1]"));
  CHECK(is_loopback_address("::ffff:127.0.0.1"));
  CHECK_FALSE(is_loopback_address("0.0.0.0"));
  CHECK_FALSE(is_loopback_address("::"));
  CHECK_FALSE(is_loopback_address("10.0.0.1"));
  CHECK_FALSE(is_loopback_address("localhost"));
  CHECK_FALSE(is_loopback_address(""));
}

TEST_CASE("server_stream_survives_a_paused_reader", "[http][server][stream]") {
  TestServer t;
  StreamReader::Options options;
  options.receive_buffer_bytes = 4096;
  StreamReader reader("127.0.0.1", t.port, "/big-stream", options);
  REQUIRE(reader.status() == 200);
  CHECK(reader.read_until("\n", 5s) == big_stream_item(0));
  // Stop reading while the server keeps producing (2 MiB, far more than the
  // socket buffers hold), serve other requests, then resume.
  for (int i = 0; i < 20; ++i) REQUIRE(t.get("/hello").status == 200);
  for (int i = 1; i < kBigStreamItems; ++i) {
    const auto line = reader.read_until("\n", 5s);
    REQUIRE(line);
    REQUIRE(*line == big_stream_item(i));
  }
  CHECK(reader.read_to_end(5s).empty());
  CHECK(reader.ended_cleanly());
}

TEST_CASE("server_answers_pipelined_requests_in_order", "[http][server]") {
  TestServer t;
  HttpConnection c("127.0.0.1", t.port);
  c.send_raw("GET /hello HTTP/1.1\r\nHost: t\r\n\r\n"
             "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc"
             "GET /nowhere HTTP/1.1\r\nHost: t\r\n\r\n");
  CHECK(c.read_response().body == "hello");
  CHECK(c.read_response().body == "abc");
  CHECK(c.read_response().status == 404);
}

TEST_CASE("server_closes_http_1_0_connections_without_keep_alive", "[http][server]") {
  TestServer t;
  HttpConnection c("127.0.0.1", t.port);
  c.send_raw("GET /hello HTTP/1.0\r\n\r\n");
  const auto res = c.read_response();
  CHECK(res.status == 200);
  CHECK(res.header("connection") == "close");
  CHECK(c.closed_by_peer(5s));

  HttpConnection kept("127.0.0.1", t.port);
  kept.send_raw("GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
  CHECK(kept.read_response().header("connection") == "keep-alive");
  CHECK(kept.request("GET", "/hello").body == "hello");
}

TEST_CASE("server_refuses_oversized_and_malformed_headers", "[http][server][limits]") {
  TestServer t;
  const auto big = t.get("/hello", {{"x-filler", std::string(20000, 'f')}});
  CHECK(big.status == 431);
  CHECK(big.header("content-type") == "application/problem+json");
  CHECK(big.json()["code"] == "bad_request");

  HttpConnection c("127.0.0.1", t.port);
  c.send_raw("NOT A REQUEST\r\n\r\n");
  CHECK(c.read_response().status == 400);
  CHECK(c.closed_by_peer(5s));
  CHECK(t.completions().empty());  // never routed, so never recorded
}
