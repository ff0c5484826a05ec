// The HTTP/1.1 server: one Session per connection on its own strand, running
// the control.md 1.3 pipeline. Responses are serialised by hand into one
// header string plus the handler's body (a single gather write, no copies).
#include "http/server.h"

#include <sodium.h>
#include <spdlog/spdlog.h>

#include <array>
#include <atomic>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <limits>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <unordered_map>
#include <vector>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/string_body.hpp>

#include "http/connection_limits.h"
#include "http/problem.h"
#include "http/request_target.h"
#include "util/time.h"

namespace tpark::http {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = net::ip::tcp;

namespace {

// Concrete executor types instead of the polymorphic default: every
// completion on a connection goes through its strand, so this is hot.
using Strand = net::strand<net::io_context::executor_type>;
using Socket = net::basic_stream_socket<tcp, Strand>;
using Stream = beast::basic_stream<tcp, Strand, beast::unlimited_rate_policy>;

// Writing a response may take this long (reading is bounded by the
// header, idle and body timeouts of ServerOptions).
constexpr auto kIoTimeout = std::chrono::seconds(60);
// After refusing a request whose body was not read, keep draining it this
// long so the client sees our response instead of a connection reset.
constexpr auto kLingerTimeout = std::chrono::seconds(2);
// A connection refused at accept (over a cap) drains for less: it holds a
// descriptor the caps exist to protect.
constexpr auto kRefusalLinger = std::chrono::seconds(1);
// A keep-alive connection's wait for the first byte of its next request.
constexpr size_t kFirstReadBytes = 4096;
constexpr size_t kLingerMaxBytes = 64u << 20;
// How long stop() waits for connections to wind down before abandoning them.
constexpr auto kStopGrace = std::chrono::seconds(3);

bool valid_request_id(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == ':' || c == '-';
    if (!ok) return false;
  }
  return true;
}

// Lowercase UUIDv4 from libsodium's CSPRNG, written into `out` (reusing its
// capacity). Random bytes are drawn in blocks: one getrandom call per 256 ids
// instead of one per request.
void generate_request_id(std::string& out) {
  struct Pool {
    std::array<unsigned char, 4096> bytes{};
    size_t used = sizeof(bytes);
  };
  thread_local Pool pool;
  if (pool.used + 16 > pool.bytes.size()) {
    randombytes_buf(pool.bytes.data(), pool.bytes.size());
    pool.used = 0;
  }
  unsigned char* b = pool.bytes.data() + pool.used;
  pool.used += 16;
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);
  static constexpr char kHex[] = "0123456789abcdef";
  out.clear();
  for (size_t i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
    out += kHex[b[i] >> 4];
    out += kHex[b[i] & 0x0f];
  }
}

bool iequals(std::string_view a, std::string_view lower_b) {
  if (a.size() != lower_b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char c = a[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != lower_b[i]) return false;
  }
  return true;
}

// A request Beast could not parse (as opposed to one cut short, or a
// transport error): it deserves a 400 before the connection closes.
bool is_parse_error(const beast::error_code& ec) {
  return ec.category() == bhttp::make_error_code(bhttp::error::bad_target).category() &&
         ec != bhttp::error::end_of_stream && ec != bhttp::error::partial_message;
}

bool status_has_body(int status) {
  return status >= 200 && status != 204 && status != 304;
}

void append_number(std::string& out, uint64_t value) {
  char digits[24];
  const auto result = std::to_chars(digits, digits + sizeof digits, value);
  out.append(digits, result.ptr);
}

// Header values come from handlers and echoed request headers; a CR or LF
// would split the response, so they are dropped.
void append_header(std::string& out, std::string_view name, std::string_view value) {
  out.append(name);
  out.append(": ");
  for (char c : value)
    if (c != '\r' && c != '\n') out += c;
  out.append("\r\n");
}

std::string peer_string(const tcp::endpoint& endpoint) {
  auto address = endpoint.address();
  if (address.is_v6() && address.to_v6().is_v4_mapped())
    address = net::ip::make_address_v4(net::ip::v4_mapped, address.to_v6());
  return address.to_string();
}

bool address_is_loopback(const net::ip::address& address) {
  if (address.is_v4()) return address.to_v4().is_loopback();
  const auto v6 = address.to_v6();
  if (v6.is_v4_mapped()) return net::ip::make_address_v4(net::ip::v4_mapped, v6).is_loopback();
  return v6.is_loopback();
}

}  // namespace

bool is_loopback_address(const std::string& address) {
  std::string_view text = address;
  if (text.size() >= 2 && text.front() == '[' && text.back() == ']')
    text = text.substr(1, text.size() - 2);
  boost::system::error_code ec;
  const auto parsed = net::ip::make_address(std::string(text), ec);
  return !ec && address_is_loopback(parsed);
}

namespace {

class Session;

// Everything a Session needs from its server. HttpServer::Impl is private to
// HttpServer, so sessions see the server through this base.
struct ServerCore {
  ServerCore(const Router& r, AdminAuth& a, RateLimiter& l, ServerOptions o)
      : router(r),
        auth(a),
        limiter(l),
        options(std::move(o)),
        connections(options.max_connections, options.max_connections_per_address),
        public_limiter(options.public_rate_limit, options.public_rate_window_secs) {}

  // A place for one more request on the worker pool, or false when
  // worker_queue_max requests already run or wait there.
  bool reserve_worker() {
    size_t current = worker_jobs.load(std::memory_order_relaxed);
    do {
      if (options.worker_queue_max != 0 && current >= options.worker_queue_max) return false;
    } while (!worker_jobs.compare_exchange_weak(current, current + 1, std::memory_order_relaxed));
    return true;
  }
  void release_worker() { worker_jobs.fetch_sub(1, std::memory_order_relaxed); }

  void session_ended(uint64_t id) {
    std::lock_guard lock(sessions_mutex);
    sessions.erase(id);
    if (sessions.empty()) sessions_cv.notify_all();
  }

  const Router& router;
  AdminAuth& auth;
  RateLimiter& limiter;
  ServerOptions options;
  ConnectionCounter connections;
  PublicRateLimiter public_limiter;
  net::thread_pool* pool = nullptr;  // owned by Impl, declared after its io_context
  std::atomic<size_t> worker_jobs{0};

  // Declared before the io_context (in Impl): sessions still queued in it at
  // destruction unregister themselves through these.
  std::mutex sessions_mutex;
  std::condition_variable sessions_cv;
  std::unordered_map<uint64_t, std::weak_ptr<Session>> sessions;
  uint64_t next_session_id = 0;
  std::atomic<bool> stopping{false};  // set under sessions_mutex
};

}  // namespace

struct HttpServer::Impl : ServerCore {
  Impl(const Router& r, AdminAuth& a, RateLimiter& l, ServerOptions o)
      : ServerCore(r, a, l, std::move(o)),
        iocs(make_contexts(std::max(1u, options.threads))),
        acceptor(net::make_strand(*iocs.front())),
        workers(std::max(1u, options.workers)) {
    pool = &workers;
  }

  // One io_context per I/O thread, each run by that thread alone: a
  // connection lives on one of them (round robin at accept), so posting its
  // work never wakes another I/O thread (with one shared io_context every
  // handler posted woke an idle peer: a futex wake and a context switch per
  // step of every request).
  static std::vector<std::unique_ptr<net::io_context>> make_contexts(unsigned count) {
    std::vector<std::unique_ptr<net::io_context>> contexts;
    for (unsigned i = 0; i < count; ++i) contexts.push_back(std::make_unique<net::io_context>(1));
    return contexts;
  }

  void do_accept();
  void on_accept(boost::system::error_code ec, Socket socket);

  std::vector<std::unique_ptr<net::io_context>> iocs;
  size_t next_ioc = 0;  // the acceptor's strand only
  // Keep run() going while idle; stop() releases them only after queueing the
  // shutdown of every connection, so none of that work is stranded.
  std::vector<net::executor_work_guard<net::io_context::executor_type>> work;
  tcp::acceptor acceptor;
  net::steady_timer accept_backoff{acceptor.get_executor()};
  std::vector<std::thread> threads;
  std::mutex lifecycle_mutex;  // listen/start/stop
  bool listening = false;
  bool started = false;
  bool stopped = false;
  // Destroyed before the io_context: handlers still queued hold sessions
  // whose sockets belong to it.
  net::thread_pool workers;
};

namespace {

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(ServerCore& server, Socket socket, uint64_t id)
      : server_(server), stream_(std::move(socket)), id_(id) {
    boost::system::error_code ec;
    const auto remote = stream_.socket().remote_endpoint(ec);
    if (!ec) {
      peer_ip_ = peer_string(remote);
      peer_loopback_ = address_is_loopback(remote.address());
    }
    stream_.socket().set_option(tcp::no_delay(true), ec);
  }

  ~Session() {
    cancel_stream();
    if (counted_) server_.connections.release(peer_ip_);
    server_.session_ended(id_);
  }

  // Admission (the connection caps), then the first request.
  void start() {
    const auto verdict = server_.connections.admit(peer_ip_);
    counted_ = verdict == ConnectionCounter::Verdict::Admitted;
    net::dispatch(stream_.get_executor(), [self = shared_from_this(), verdict] {
      if (verdict == ConnectionCounter::Verdict::Admitted)
        self->read_header();
      else
        self->refuse(verdict);
    });
  }

  // Server shutdown: end the stream and the connection from the strand.
  void shutdown() {
    net::post(stream_.get_executor(), [self = shared_from_this()] {
      self->cancel_stream();
      self->close();
    });
  }

 private:
  void reset_request() {
    request_.method.clear();
    request_.target.clear();
    request_.path.clear();
    request_.query.clear();
    request_.headers.items.clear();
    request_.body.clear();
    request_.route_template.clear();
    request_.path_params.clear();
    request_.observation = false;
    request_.peer_ip = peer_ip_;
    request_.peer_loopback = peer_loopback_;
    corr_.reset();
    route_ = nullptr;
    close_after_ = false;
    body_unread_ = false;
  }

  // Over a cap: one 503 before any request is read, then close.
  void refuse(ConnectionCounter::Verdict verdict) {
    generate_request_id(request_.request_id);
    const bool total = verdict == ConnectionCounter::Verdict::TotalFull;
    const size_t limit =
        total ? server_.connections.max_total() : server_.connections.max_per_address();
    Response r =
        problem(request_, 503, "too_many_clients",
                total ? "too many open connections" : "too many connections from this address",
                Json{{"limit", limit}});
    r.set_header("Retry-After", "5");
    close_after_ = true;
    body_unread_ = true;
    linger_timeout_ = kRefusalLinger;
    write_response(std::move(r), false);
  }

  void read_header() {
    if (closed_) return;
    reset_request();
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(server_.options.max_header_bytes));
    // Route body limits are applied after routing; until then nothing may
    // refuse a Content-Length (Beast checks it as the header completes).
    // Not boost::none: Beast 1.74 compares the length against the optional
    // itself, and any number is greater than an empty optional.
    parser_->body_limit(std::numeric_limits<std::uint64_t>::max());
    if (served_any_ && buffer_.size() == 0) {
      // Keep-alive: the next request may be a while; once it starts, its
      // header has header_timeout like any other (slowloris).
      stream_.expires_after(server_.options.idle_timeout);
      stream_.async_read_some(buffer_.prepare(kFirstReadBytes),
                              [self = shared_from_this()](beast::error_code ec, size_t n) {
                                if (ec) return self->close();
                                self->buffer_.commit(n);
                                self->read_header_within_timeout();
                              });
      return;
    }
    read_header_within_timeout();
  }

  void read_header_within_timeout() {
    stream_.expires_after(server_.options.header_timeout);
    bhttp::async_read_header(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->on_header(ec); });
  }

  void on_header(beast::error_code ec) {
    if (ec) {
      // The peer left, timed out, or the server is stopping.
      if (!is_parse_error(ec)) return close();
      // Unparseable or oversized request: answer once, then hang up.
      generate_request_id(request_.request_id);
      const bool too_large = ec == bhttp::error::header_limit;
      close_after_ = true;
      body_unread_ = true;
      write_response(problem(request_, too_large ? 431 : 400, "bad_request",
                             too_large ? "request header too large" : "malformed request"),
                     false);
      return;
    }
    start_ns_ = tpark::monotonic_ns();
    served_any_ = true;
    const auto& header = parser_->get();

    request_.method.assign(header.method_string());
    request_.target.assign(header.target());
    for (const auto& field : header) {
      auto& [name, value] = request_.headers.items.emplace_back();
      name.assign(field.name_string());
      for (char& c : name)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
      value.assign(field.value());
    }

    // 1. Request id.
    if (auto id = request_.headers.get("x-request-id"); id && valid_request_id(*id))
      request_.request_id.assign(*id);
    else
      generate_request_id(request_.request_id);
    if (auto corr = request_.headers.get("x-arw-corr")) corr_ = std::string(*corr);

    keep_alive_ = header.keep_alive();
    http10_ = header.version() < 11;
    body_unread_ = !parser_->is_done();

    // 2. Routing, on the percent-decoded path.
    split_request_target(request_.target, request_.path, request_.query);

    auto match = server_.router.match(request_.method, request_.path);
    if (!match.route) {
      if (match.path_known) {
        // Route statistics key the request by the path's template.
        if (!match.allowed.empty())
          request_.route_template =
              server_.router.match(match.allowed.front(), request_.path).path_template;
        std::string allow;
        for (const auto& method : match.allowed) {
          if (!allow.empty()) allow += ", ";
          allow += method;
        }
        Response r = problem(request_, 405, "method_not_allowed",
                             "method " + request_.method + " is not allowed on this path");
        r.set_header("Allow", std::move(allow));
        respond(std::move(r));
      } else {
        request_.route_template = "other";
        respond(problem(request_, 404, "not_found", "no route for this path"));
      }
      return;
    }
    route_ = match.route;
    request_.observation = route_->observation;
    request_.route_template = std::move(match.path_template);
    request_.path_params = std::move(match.params);

    // Public routes have their own per-IP limiter (docs/ops.md).
    if (route_->access == Access::Public && server_.public_limiter.enabled()) {
      auto& public_limiter = server_.public_limiter;
      const auto v = public_limiter.admit(server_.limiter.client_ip(request_), tpark::now_ms());
      if (!v.allowed) {
        respond(rate_limited(request_, public_limiter.limit(), public_limiter.window_secs(),
                             v.retry_after_s));
        return;
      }
    }

    // 3. Admin gate (pipeline.cpp), then the capsule hook on a worker.
    if (route_->access == Access::Admin) {
      if (auto refusal = admin_gate(request_, *route_, server_.auth, server_.limiter)) {
        respond(std::move(*refusal));
        return;
      }
      const auto& wanted = server_.options.admin_hook_wanted;
      if (server_.options.admin_hook && (!wanted || wanted(request_))) {
        offload([self = shared_from_this()] { return self->run_admin_hook(); },
                [self = shared_from_this()](std::optional<Response> early) {
                  if (early)
                    self->respond(std::move(*early));
                  else
                    self->read_body_within_limit();
                });
        return;
      }
    } else if (server_.options.public_hook) {
      if (auto early = server_.options.public_hook(request_)) {
        respond(std::move(*early));
        return;
      }
    }
    read_body_within_limit();
  }

  std::optional<Response> run_admin_hook() {
    try {
      return server_.options.admin_hook(request_);
    } catch (const std::exception& e) {
      spdlog::error("admin hook failed (request {}): {}", request_.request_id, e.what());
    } catch (...) {
      spdlog::error("admin hook failed (request {}) with a non-standard exception",
                    request_.request_id);
    }
    return problem(request_, 500, "internal", "internal error");
  }

  // Runs `work` on the worker pool, then `then(result)` back on this
  // connection's strand; the I/O thread never waits for it. A full pool
  // answers 503 `overloaded` instead of queueing without bound.
  template <typename Work, typename Then>
  void offload(Work work, Then then) {
    if (!server_.reserve_worker()) {
      Response r = problem(request_, 503, "overloaded", "the server is busy; retry",
                           Json{{"limit", server_.options.worker_queue_max}});
      r.set_header("Retry-After", "1");
      respond(std::move(r));
      return;
    }
    auto executor = stream_.get_executor();
    net::post(*server_.pool, [&server = server_, executor, work = std::move(work),
                              then = std::move(then)]() mutable {
      auto result = work();
      server.release_worker();
      net::post(executor, [then = std::move(then), result = std::move(result)]() mutable {
        then(std::move(result));
      });
    });
  }

  // 4. Body limit, before any body byte is read.
  void read_body_within_limit() {
    const uint64_t limit =
        route_->body_limit ? route_->body_limit : server_.options.default_body_limit;
    if (auto length = parser_->content_length(); length && *length > limit) {
      respond(problem(request_, 413, "payload_too_large", "request body too large",
                      Json{{"limit", limit}}));
      return;
    }
    if (!body_unread_) {
      dispatch();
      return;
    }
    parser_->body_limit(limit);
    if (auto expect = request_.headers.get("expect"); expect && iequals(*expect, "100-continue")) {
      static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      stream_.expires_after(kIoTimeout);
      net::async_write(stream_, net::buffer(kContinue.data(), kContinue.size()),
                       [self = shared_from_this()](beast::error_code write_ec, size_t) {
                         if (write_ec) return self->close();
                         self->read_body();
                       });
      return;
    }
    read_body();
  }

  void read_body() {
    stream_.expires_after(server_.options.body_timeout);
    bhttp::async_read(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->on_body(ec); });
  }

  void on_body(beast::error_code ec) {
    if (ec == bhttp::error::body_limit) {
      const uint64_t limit =
          route_->body_limit ? route_->body_limit : server_.options.default_body_limit;
      respond(problem(request_, 413, "payload_too_large", "request body too large",
                      Json{{"limit", limit}}));
      return;
    }
    if (ec) {
      // Bad framing (a broken chunk size, say) is answered; a peer that left
      // or ran out of body_timeout is not.
      if (is_parse_error(ec))
        respond(problem(request_, 400, "bad_request", "malformed request body"));
      else
        close();
      return;
    }
    body_unread_ = false;
    dispatch();
  }

  // 5. The handler. Its exceptions become a generic 500: their text may
  // carry SQL or file paths, so it goes to the log only.
  // Handlers that may wait run on the worker pool; the session does nothing
  // else until the response comes back to its strand.
  void dispatch() {
    request_.body = std::move(parser_->get().body());
    if (route_->inline_safe) {
      respond(run_handler());
      return;
    }
    if (route_->inline_attempt) {
      std::optional<Response> quick;
      try {
        quick = route_->inline_attempt(request_);
      } catch (const std::exception& e) {  // the pool's handler answers instead
        spdlog::warn("{} {} (request {}): inline attempt failed: {}", request_.method,
                     request_.route_template, request_.request_id, e.what());
      }
      if (quick) {
        respond(std::move(*quick));
        return;
      }
    }
    offload([self = shared_from_this()] { return self->run_handler(); },
            [self = shared_from_this()](Response response) { self->respond(std::move(response)); });
  }

  Response run_handler() {
    try {
      return route_->handler(request_);
    } catch (const std::exception& e) {
      spdlog::error("{} {} (request {}) failed: {}", request_.method, request_.route_template,
                    request_.request_id, e.what());
    } catch (...) {
      spdlog::error("{} {} (request {}) failed with a non-standard exception", request_.method,
                    request_.route_template, request_.request_id);
    }
    return problem(request_, 500, "internal", "internal error");
  }

  void respond(Response&& response) {
    // A body we never read cannot be skipped on a persistent connection.
    if (body_unread_) close_after_ = true;
    const bool head = request_.method == "HEAD";
    if (response.stream) {
      if (!head && status_has_body(response.status)) {
        start_stream(std::move(response));
        return;
      }
      response.stream->cancel();
    }
    record(response.status);
    write_response(std::move(response), head);
  }

  void record(int status) {
    if (!server_.options.on_complete) return;
    // Recorded just before the bytes leave, so a client holding the response
    // always finds it counted.
    const int64_t latency_us = (tpark::monotonic_ns() - start_ns_) / 1000;
    try {
      server_.options.on_complete(request_, status, latency_us);
    } catch (const std::exception& e) {
      spdlog::error("route statistics hook failed: {}", e.what());
    }
  }

  void begin_head(int status, std::string_view content_type) {
    head_.clear();
    head_.append("HTTP/1.1 ");
    append_number(head_, static_cast<uint64_t>(status));
    head_ += ' ';
    head_.append(reason_phrase(status));
    head_.append("\r\n");
    append_header(head_, "Content-Type", content_type);
  }

  void end_head(const Response& response) {
    append_header(head_, "x-request-id", request_.request_id);
    if (corr_) append_header(head_, "x-arw-corr", *corr_);
    for (const auto& [name, value] : response.headers) append_header(head_, name, value);
    const bool persistent = keep_alive_ && !close_after_ && !server_stopping();
    if (!persistent)
      head_.append("Connection: close\r\n");
    else if (http10_)
      head_.append("Connection: keep-alive\r\n");
    if (!persistent) close_after_ = true;
    head_.append("\r\n");
  }

  bool server_stopping() const { return server_.stopping.load(std::memory_order_relaxed); }

  void write_response(Response&& response, bool head_only) {
    const bool has_body = status_has_body(response.status);
    begin_head(response.status, response.content_type);
    if (has_body) {
      head_.append("Content-Length: ");
      append_number(head_, response.body.size());
      head_.append("\r\n");
    }
    end_head(response);
    body_ = std::move(response.body);
    if (head_only || !has_body) body_.clear();
    const std::array<net::const_buffer, 2> buffers{net::buffer(head_), net::buffer(body_)};
    stream_.expires_after(kIoTimeout);
    net::async_write(stream_, buffers, [self = shared_from_this()](beast::error_code ec, size_t) {
      self->on_written(ec);
    });
  }

  void on_written(beast::error_code ec) {
    if (ec) {
      close();
      return;
    }
    if (!close_after_) {
      read_header();
      return;
    }
    if (body_unread_)
      linger();
    else
      close();
  }

  // Half-close and drain what the client is still sending, then close.
  void linger() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    if (ec) return close();
    linger_deadline_ = std::chrono::steady_clock::now() + linger_timeout_;
    linger_bytes_ = 0;
    drain();
  }

  void drain() {
    const auto left = linger_deadline_ - std::chrono::steady_clock::now();
    if (left <= std::chrono::steady_clock::duration::zero() || linger_bytes_ > kLingerMaxBytes)
      return close();
    stream_.expires_after(std::chrono::duration_cast<std::chrono::milliseconds>(left));
    stream_.async_read_some(net::buffer(scratch_),
                            [self = shared_from_this()](beast::error_code ec, size_t n) {
                              if (ec) return self->close();
                              self->linger_bytes_ += n;
                              self->drain();
                            });
  }

  // Streaming responses: chunked on HTTP/1.1, close-delimited on 1.0; the
  // connection always closes when the stream ends.
  void start_stream(Response&& response) {
    source_ = std::move(response.stream);
    stream_active_ = true;
    chunked_ = !http10_;
    close_after_ = true;
    begin_head(response.status, response.content_type);
    if (chunked_) head_.append("Transfer-Encoding: chunked\r\n");
    end_head(response);
    record(response.status);
    stream_.expires_never();
    // Stream writes are tried at once (write_now); a full socket must not block the I/O thread.
    beast::error_code ec;
    stream_.socket().non_blocking(true, ec);
    net::async_write(stream_, net::buffer(head_),
                     [self = shared_from_this()](beast::error_code ec, size_t) {
                       if (ec) {
                         self->cancel_stream();
                         return self->close();
                       }
                       self->watch_for_disconnect();
                       self->pump_stream();
                     });
  }

  // A streaming client sends nothing more; a completed read means it left.
  void watch_for_disconnect() {
    stream_.socket().async_read_some(net::buffer(scratch_),
                                     [self = shared_from_this()](beast::error_code ec, size_t) {
                                       if (!self->stream_active_) return;
                                       if (ec) {
                                         self->cancel_stream();
                                         return self->close();
                                       }
                                       self->watch_for_disconnect();
                                     });
  }

  void pump_stream() {
    if (!stream_active_) return;
    std::weak_ptr<Session> weak = weak_from_this();
    auto executor = stream_.get_executor();
    auto deliver = [weak, executor](std::optional<StreamChunk> bytes) {
      if (auto self = weak.lock())
        net::post(executor, [self, bytes = std::move(bytes)]() mutable {
          self->on_stream_bytes(std::move(bytes));
        });
    };
    awaiting_delivery_ = true;
    try {
      source_->next(std::move(deliver));
    } catch (const std::exception& e) {
      spdlog::error("stream for request {} failed: {}", request_.request_id, e.what());
      on_stream_bytes(std::nullopt);
    }
  }

  void on_stream_bytes(std::optional<StreamChunk> bytes) {
    // A source that answers one next() twice must not start a second write.
    if (!stream_active_ || !awaiting_delivery_) return;
    awaiting_delivery_ = false;
    if (!bytes) {
      stream_active_ = false;
      source_.reset();
      if (!chunked_) return close();
      static constexpr std::string_view kLastChunk = "0\r\n\r\n";
      net::async_write(stream_, net::buffer(kLastChunk.data(), kLastChunk.size()),
                       [self = shared_from_this()](beast::error_code, size_t) { self->close(); });
      return;
    }
    // An empty chunk would end a chunked body; there is nothing to send.
    if (bytes->empty()) return pump_stream();
    // The chunk's pieces are written where they are (shared frames are not
    // copied per client); chunk_ keeps them alive until the write completes.
    chunk_ = std::move(*bytes);
    write_buffers_.clear();
    if (chunked_) {
      static constexpr char kHex[] = "0123456789abcdef";
      chunk_head_.clear();
      for (int shift = 60; shift >= 0; shift -= 4) {
        const unsigned digit = (chunk_.size() >> shift) & 0xf;
        if (digit || !chunk_head_.empty() || shift == 0) chunk_head_ += kHex[digit];
      }
      chunk_head_.append("\r\n");
      write_buffers_.push_back(net::buffer(chunk_head_));
    }
    for (size_t i = 0; i < chunk_.piece_count(); ++i) {
      const std::string_view piece = chunk_.piece(i);
      write_buffers_.push_back(net::buffer(piece.data(), piece.size()));
    }
    if (chunked_) write_buffers_.push_back(net::buffer("\r\n", 2));
    // A client that keeps up has room in its socket for the frames: they are
    // written here, so the write costs one writev and no asynchronous
    // operation (and no second trip through the strand to learn it is done);
    // only what does not fit waits for the socket.
    if (!write_now()) {
      cancel_stream();
      return close();
    }
    if (write_buffers_.empty()) return written_pump();
    // Only the write is timed (the disconnect watch's read is already pending).
    stream_.expires_after(server_.options.stream_write_timeout);
    net::async_write(stream_, write_buffers_,
                     [self = shared_from_this()](beast::error_code ec, size_t) {
                       if (ec) {
                         self->cancel_stream();
                         return self->close();
                       }
                       self->written_pump();
                     });
  }

  // A chunk is written: its shared frames are let go at once (a parked client
  // holds none), then the next one is asked for.
  void written_pump() {
    chunk_ = StreamChunk();
    write_buffers_.clear();
    pump_stream();
  }

  // Writes what the socket takes of write_buffers_ without waiting and drops
  // it from the front; false on a write error (the peer is gone).
  bool write_now() {
    auto& socket = stream_.socket();
    while (!write_buffers_.empty()) {
      beast::error_code ec;
      size_t written = socket.write_some(write_buffers_, ec);
      if (ec == net::error::would_block || ec == net::error::try_again) return true;
      if (ec) return false;
      if (written == 0) return true;
      size_t drop = 0;
      while (drop < write_buffers_.size() && written >= write_buffers_[drop].size())
        written -= write_buffers_[drop++].size();
      if (drop < write_buffers_.size()) write_buffers_[drop] += written;
      write_buffers_.erase(write_buffers_.begin(),
                           write_buffers_.begin() + static_cast<std::ptrdiff_t>(drop));
    }
    return true;
  }

  void cancel_stream() {
    if (!stream_active_) return;
    stream_active_ = false;
    auto source = std::move(source_);
    try {
      source->cancel();
    } catch (const std::exception& e) {
      spdlog::error("cancelling stream for request {} failed: {}", request_.request_id, e.what());
    }
  }

  void close() {
    if (closed_) return;
    closed_ = true;
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.socket().close(ec);
  }

  ServerCore& server_;
  Stream stream_;
  const uint64_t id_;
  std::string peer_ip_;
  bool peer_loopback_ = false;

  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  Request request_;
  std::optional<std::string> corr_;
  const Route* route_ = nullptr;
  int64_t start_ns_ = 0;
  bool keep_alive_ = true;
  bool http10_ = false;
  bool close_after_ = false;
  bool body_unread_ = false;
  bool closed_ = false;
  bool counted_ = false;     // admitted by the connection caps, released at destruction
  bool served_any_ = false;  // a request header arrived: later waits are keep-alive idle

  std::string head_;  // serialised response header
  std::string body_;  // response body while it is written
  std::array<char, 4096> scratch_{};
  std::chrono::steady_clock::time_point linger_deadline_{};
  size_t linger_bytes_ = 0;
  std::chrono::steady_clock::duration linger_timeout_ = kLingerTimeout;

  std::shared_ptr<StreamSource> source_;
  bool stream_active_ = false;
  bool awaiting_delivery_ = false;  // next() called, its answer not yet handled
  bool chunked_ = true;
  StreamChunk chunk_;
  std::string chunk_head_;
  std::vector<net::const_buffer> write_buffers_;
};

}  // namespace

void HttpServer::Impl::do_accept() {
  net::io_context& context = *iocs[next_ioc++ % iocs.size()];
  acceptor.async_accept(
      Strand(context.get_executor()),
      [this](boost::system::error_code ec, Socket socket) { on_accept(ec, std::move(socket)); });
}

void HttpServer::Impl::on_accept(boost::system::error_code ec, Socket socket) {
  if (ec == net::error::operation_aborted || !acceptor.is_open()) return;
  if (ec) {
    // Typically out of file descriptors: back off briefly instead of spinning.
    spdlog::warn("accept failed: {}", ec.message());
    accept_backoff.expires_after(std::chrono::milliseconds(50));
    accept_backoff.async_wait([this](boost::system::error_code wait_ec) {
      if (!wait_ec && acceptor.is_open()) do_accept();
    });
    return;
  }
  std::shared_ptr<Session> session;
  {
    std::lock_guard lock(sessions_mutex);
    if (stopping) return;
    const uint64_t id = next_session_id++;
    session = std::make_shared<Session>(*this, std::move(socket), id);
    sessions.emplace(id, session);
  }
  session->start();
  do_accept();
}

HttpServer::HttpServer(const Router& router, AdminAuth& auth, RateLimiter& limiter,
                       ServerOptions options)
    : impl_(std::make_unique<Impl>(router, auth, limiter, std::move(options))) {
  if (sodium_init() < 0) throw std::runtime_error("libsodium failed to initialise");
}

HttpServer::~HttpServer() {
  stop();
}

uint16_t HttpServer::listen() {
  std::lock_guard lifecycle(impl_->lifecycle_mutex);
  auto& acceptor = impl_->acceptor;
  const auto& options = impl_->options;
  if (impl_->listening) return acceptor.local_endpoint().port();
  const std::string where = options.bind_address + ":" + std::to_string(options.port);
  boost::system::error_code ec;
  const auto address = net::ip::make_address(options.bind_address, ec);
  if (ec) throw std::runtime_error("cannot bind " + where + ": invalid address");
  const tcp::endpoint endpoint(address, options.port);
  if (!ec) acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    boost::system::error_code ignored;
    acceptor.close(ignored);
    throw std::runtime_error("cannot bind " + where + ": " + ec.message());
  }
  impl_->listening = true;
  return acceptor.local_endpoint().port();
}

void HttpServer::start() {
  listen();
  std::lock_guard lifecycle(impl_->lifecycle_mutex);
  if (impl_->started || impl_->stopped) return;
  impl_->started = true;
  for (auto& context : impl_->iocs) impl_->work.emplace_back(context->get_executor());
  net::dispatch(impl_->acceptor.get_executor(), [impl = impl_.get()] { impl->do_accept(); });
  for (auto& context : impl_->iocs) {
    impl_->threads.emplace_back([context = context.get()] {
      for (;;) {
        try {
          context->run();
          return;
        } catch (const std::exception& e) {
          spdlog::error("http worker: {}", e.what());
        }
      }
    });
  }
}

void HttpServer::stop() {
  std::lock_guard lifecycle(impl_->lifecycle_mutex);
  if (impl_->stopped) return;
  impl_->stopped = true;

  std::vector<std::shared_ptr<Session>> live;
  {
    std::lock_guard lock(impl_->sessions_mutex);
    impl_->stopping = true;
    for (auto& [id, weak] : impl_->sessions)
      if (auto session = weak.lock()) live.push_back(std::move(session));
  }
  if (!impl_->started) {
    boost::system::error_code ec;
    impl_->acceptor.close(ec);
    return;
  }
  net::post(impl_->acceptor.get_executor(), [impl = impl_.get()] {
    boost::system::error_code ec;
    impl->acceptor.close(ec);
    impl->accept_backoff.cancel();
  });
  for (auto& session : live) session->shutdown();
  live.clear();
  for (auto& guard : impl_->work) guard.reset();
  {
    std::unique_lock lock(impl_->sessions_mutex);
    if (!impl_->sessions_cv.wait_for(lock, kStopGrace, [&] { return impl_->sessions.empty(); }))
      spdlog::warn("http server stopped with {} connection(s) still busy", impl_->sessions.size());
  }
  // Whatever is still queued (a handler that will not finish, a stream whose
  // source never answers) is abandoned and destroyed with the io_context.
  for (auto& context : impl_->iocs) context->stop();
  for (auto& thread : impl_->threads) {
    if (thread.get_id() == std::this_thread::get_id())
      thread.detach();
    else if (thread.joinable())
      thread.join();
  }
  impl_->threads.clear();
  // Handlers still running finish (their waits are bounded); queued ones are
  // dropped with the pool.
  impl_->workers.stop();
  impl_->workers.join();
}

}  // namespace tpark::http
