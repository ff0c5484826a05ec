// The HTTP server on Boost.Beast. The only translation unit that includes
// Beast is server.cpp. It runs the request pipeline of control.md 1.3:
// request id -> routing (404/405) -> auth -> rate limit -> body limit (413,
// before reading) -> handler, and writes plain or streaming responses.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <memory>
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
  // Called once per request after routing (unknown paths included, with
  // route_template "other"), as the response headers are written (just
  // before, so a client holding a response always finds it counted; for a
  // stream, when it opens); for route statistics. status and latency in
  // microseconds. Runs on the I/O threads, concurrently.
  std::function<void(const Request&, int status, int64_t latency_us)> on_complete;
  // Called for admin routes once auth and rate limiting passed, before the
  // body is read (control.md 4.7 capsule headers). A response ends the request
  // there; nullopt goes on. Runs on the I/O threads, concurrently.
  std::function<std::optional<Response>(const Request&)> admin_hook;
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
