// The HTTP server on Boost.Beast. The only translation unit that includes
// Beast is server.cpp. It runs the request pipeline of control.md 1.3:
// request id -> routing (404/405) -> auth -> rate limit -> body limit (413,
// before reading) -> handler, and writes plain or streaming responses.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "http/http_types.h"
#include "http/pipeline.h"

namespace tpark::http {

struct ServerOptions {
  std::string bind_address = "127.0.0.1";
  uint16_t port = 8091;              // 0 picks a free port
  unsigned threads = 2;              // I/O threads
  size_t default_body_limit = 1048576;  // ARW_HTTP_BODY_LIMIT
  size_t max_header_bytes = 16384;
  // Handlers run on a pool of `workers` threads (ARW_HTTP_WORKERS), never on
  // the I/O threads; past `worker_queue_max` requests running or waiting for
  // a worker (ARW_HTTP_QUEUE_MAX) a request gets 503 `overloaded`. Routes
  // marked inline_safe run on the I/O thread.
  unsigned workers = 8;
  size_t worker_queue_max = 512;
  // Open connections (ARW_HTTP_MAX_CONC) and per client address
  // (ARW_HTTP_MAX_CONC_PER_IP); 0 disables. Past either, the connection gets
  // 503 `too_many_clients` and is closed.
  size_t max_connections = 1024;
  size_t max_connections_per_address = 896;
  // A new connection must complete its request header within
  // header_timeout; a keep-alive connection may then sit idle for
  // idle_timeout before its next request starts, which again has
  // header_timeout to complete; a body must arrive within body_timeout.
  std::chrono::milliseconds header_timeout{10000};  // ARW_HTTP_HEADER_TIMEOUT_MS
  std::chrono::milliseconds idle_timeout{60000};    // ARW_HTTP_IDLE_TIMEOUT_MS
  std::chrono::milliseconds body_timeout{60000};    // ARW_HTTP_BODY_TIMEOUT_MS
  // A streaming response's write that the client does not take within this
  // long closes the connection, and the stream releases what it held
  // (ARW_HTTP_STREAM_WRITE_TIMEOUT_MS). A stream with nothing to send waits
  // without limit.
  std::chrono::milliseconds stream_write_timeout{60000};
  // Public routes: requests per client IP per window (ARW_PUBLIC_RATE_LIMIT,
  // 0 disables; ARW_PUBLIC_RATE_WINDOW_SECS).
  uint64_t public_rate_limit = 60000;
  uint64_t public_rate_window_secs = 60;
  // Called once per request after routing (unknown paths included, with
  // route_template "other"), as the response headers are written (just
  // before, so a client holding a response always finds it counted; for a
  // stream, when it opens); for route statistics. status and latency in
  // microseconds. Runs on the I/O threads, concurrently.
  std::function<void(const Request&, int status, int64_t latency_us)> on_complete;
  // Called for admin routes once auth and rate limiting passed, before the
  // body is read (control.md 4.7 capsule headers). A response ends the request
  // there; nullopt goes on. Runs on the worker pool (it may commit),
  // concurrently.
  std::function<std::optional<Response>(const Request&)> admin_hook;
  // Whether admin_hook has anything to do for this request (checked on the
  // I/O thread, must not wait); false goes on without the trip to the worker
  // pool. Unset: always.
  std::function<bool(const Request&)> admin_hook_wanted;
  // The same for public routes, after routing (control.md 4.7: the legacy
  // X-ARW-Gate header is refused on every route). Must not throw.
  std::function<std::optional<Response>(const Request&)> public_hook;
};

class HttpServer {
 public:
  HttpServer(const Router& router, AdminAuth& auth, RateLimiter& limiter, ServerOptions options);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds and listens; returns the bound port. Throws std::runtime_error with
  // the address in the message when it cannot bind.
  uint16_t listen();
  // Starts the I/O threads (returns at once).
  void start();
  // Stops accepting, cancels streams, closes connections and joins threads.
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Whether an address string names a loopback address (127.0.0.0/8, ::1).
bool is_loopback_address(const std::string& address);

}  // namespace tpark::http
