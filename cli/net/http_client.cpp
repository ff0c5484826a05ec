#include "net/http_client.h"

#include <algorithm>
#include <array>
#include <limits>
#include <stdexcept>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>

namespace tpark::client {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = net::ip::tcp;
using std::chrono::milliseconds;

namespace {

std::string lowercase(std::string_view text) {
  std::string out(text);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

bool has_header(const HeaderList& headers, std::string_view lower_name) {
  return std::any_of(headers.begin(), headers.end(),
                     [&](const auto& h) { return lowercase(h.first) == lower_name; });
}

template <class Fields>
HeaderList collect_headers(const Fields& fields) {
  HeaderList out;
  for (const auto& field : fields)
    out.emplace_back(lowercase(field.name_string()), std::string(field.value()));
  return out;
}

// Runs the io_context until the started operation completes or `timeout`
// passes; on timeout the socket's operations are cancelled (the socket stays
// open) and drained. Returns false on timeout.
bool run_bounded(net::io_context& ioc, tcp::socket& socket, const bool& done, milliseconds timeout) {
  ioc.restart();
  ioc.run_for(timeout);
  if (done) return true;
  boost::system::error_code ignored;
  socket.cancel(ignored);
  ioc.restart();
  ioc.run();
  return false;
}

void connect(net::io_context& ioc, tcp::socket& socket, const std::string& host, uint16_t port,
             milliseconds timeout, int receive_buffer_bytes = 0) {
  tcp::resolver resolver(ioc);
  boost::system::error_code ec;
  const auto endpoints = resolver.resolve(host, std::to_string(port), ec);
  if (ec) throw std::runtime_error("cannot resolve " + host + ": " + ec.message());
  if (receive_buffer_bytes > 0) {
    socket.open(endpoints.begin()->endpoint().protocol());
    socket.set_option(net::socket_base::receive_buffer_size(receive_buffer_bytes));
    bool done = false;
    socket.async_connect(*endpoints.begin(), [&](boost::system::error_code e) {
      ec = e;
      done = true;
    });
    if (!run_bounded(ioc, socket, done, timeout)) throw std::runtime_error("connect timed out");
  } else {
    bool done = false;
    net::async_connect(socket, endpoints, [&](boost::system::error_code e, const tcp::endpoint&) {
      ec = e;
      done = true;
    });
    if (!run_bounded(ioc, socket, done, timeout)) throw std::runtime_error("connect timed out");
  }
  if (ec)
    throw std::runtime_error("cannot connect to " + host + ":" + std::to_string(port) + ": " +
                             ec.message());
  socket.set_option(tcp::no_delay(true), ec);
}

void write_all(net::io_context& ioc, tcp::socket& socket, std::string_view bytes, milliseconds timeout) {
  bool done = false;
  boost::system::error_code ec;
  net::async_write(socket, net::buffer(bytes.data(), bytes.size()),
                   [&](boost::system::error_code e, size_t) {
                     ec = e;
                     done = true;
                   });
  if (!run_bounded(ioc, socket, done, timeout)) throw std::runtime_error("write timed out");
  if (ec) throw std::runtime_error("write failed: " + ec.message());
}

std::string build_request(const std::string& method, const std::string& host, uint16_t port,
                          const std::string& target, const HeaderList& headers,
                          const std::string& body) {
  std::string out = method + " " + target + " HTTP/1.1\r\n";
  if (!has_header(headers, "host")) out += "Host: " + host + ":" + std::to_string(port) + "\r\n";
  for (const auto& [name, value] : headers) out += name + ": " + value + "\r\n";
  const bool framed = has_header(headers, "content-length") || has_header(headers, "transfer-encoding");
  if (!framed && (!body.empty() || method == "POST" || method == "PUT" || method == "PATCH"))
    out += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  out += "\r\n";
  out += body;
  return out;
}

HttpResult read_one_response(net::io_context& ioc, tcp::socket& socket, beast::flat_buffer& buffer,
                             bool head_request, milliseconds timeout) {
  bhttp::response_parser<bhttp::string_body> parser;
  // Not boost::none: Beast 1.74 then refuses every Content-Length.
  parser.body_limit(std::numeric_limits<std::uint64_t>::max());
  parser.header_limit(1u << 20);
  if (head_request) parser.skip(true);
  bool done = false;
  boost::system::error_code ec;
  bhttp::async_read(socket, buffer, parser, [&](boost::system::error_code e, size_t) {
    ec = e;
    done = true;
  });
  if (!run_bounded(ioc, socket, done, timeout)) throw std::runtime_error("response timed out");
  if (ec) throw std::runtime_error("reading the response failed: " + ec.message());
  HttpResult result;
  auto message = parser.release();
  result.status = static_cast<int>(message.result_int());
  result.headers = collect_headers(message.base());
  result.body = std::move(message.body());
  return result;
}

}  // namespace

std::optional<std::string> HttpResult::header(std::string_view name) const {
  const std::string lower = lowercase(name);
  for (const auto& [key, value] : headers)
    if (key == lower) return value;
  return std::nullopt;
}

std::vector<std::string> HttpResult::header_values(std::string_view name) const {
  const std::string lower = lowercase(name);
  std::vector<std::string> out;
  for (const auto& [key, value] : headers)
    if (key == lower) out.push_back(value);
  return out;
}

nlohmann::ordered_json HttpResult::json() const { return nlohmann::ordered_json::parse(body); }

HttpResult request(const std::string& method, const std::string& host, uint16_t port,
                   const std::string& target, const HeaderList& headers, const std::string& body,
                   milliseconds timeout) {
  HttpConnection connection(host, port, timeout);
  return connection.request(method, target, headers, body);
}

struct HttpConnection::Impl {
  net::io_context ioc;
  tcp::socket socket{ioc};
  beast::flat_buffer buffer;
  std::string host;
  uint16_t port = 0;
  milliseconds timeout{};
};

HttpConnection::HttpConnection(const std::string& host, uint16_t port, milliseconds timeout)
    : impl_(std::make_unique<Impl>()) {
  impl_->host = host;
  impl_->port = port;
  impl_->timeout = timeout;
  connect(impl_->ioc, impl_->socket, host, port, timeout);
}

HttpConnection::~HttpConnection() { close(); }

HttpResult HttpConnection::request(const std::string& method, const std::string& target,
                                   const HeaderList& headers, const std::string& body) {
  send_raw(build_request(method, impl_->host, impl_->port, target, headers, body));
  return read_response(method == "HEAD");
}

void HttpConnection::send_raw(std::string_view bytes) {
  write_all(impl_->ioc, impl_->socket, bytes, impl_->timeout);
}

HttpResult HttpConnection::read_response(bool head_request) {
  return read_one_response(impl_->ioc, impl_->socket, impl_->buffer, head_request, impl_->timeout);
}

bool HttpConnection::closed_by_peer(milliseconds wait) {
  const auto deadline = std::chrono::steady_clock::now() + wait;
  for (;;) {
    const auto left = std::chrono::duration_cast<milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left <= milliseconds::zero()) return false;
    bool done = false;
    boost::system::error_code ec;
    size_t n = 0;
    impl_->socket.async_read_some(impl_->buffer.prepare(4096),
                                  [&](boost::system::error_code e, size_t count) {
                                    ec = e;
                                    n = count;
                                    done = true;
                                  });
    if (!run_bounded(impl_->ioc, impl_->socket, done, left)) return false;
    impl_->buffer.commit(n);
    if (ec) return true;
  }
}

void HttpConnection::close() {
  boost::system::error_code ignored;
  impl_->socket.shutdown(tcp::socket::shutdown_both, ignored);
  impl_->socket.close(ignored);
}

struct StreamReader::Impl {
  net::io_context ioc;
  tcp::socket socket{ioc};
  beast::flat_buffer buffer;
  bhttp::response_parser<bhttp::buffer_body> parser;
  HeaderList headers;
  int status = 0;
  std::string pending;  // received body bytes not yet handed out
  bool ended = false;
  bool ended_cleanly = false;

  // Reads more body into `pending`; false on timeout.
  bool read_more(milliseconds timeout) {
    if (ended) return true;
    std::array<char, 16384> chunk{};
    auto& body = parser.get().body();
    body.data = chunk.data();
    body.size = chunk.size();
    bool done = false;
    boost::system::error_code ec;
    bhttp::async_read_some(socket, buffer, parser, [&](boost::system::error_code e, size_t) {
      ec = e;
      done = true;
    });
    const bool in_time = run_bounded(ioc, socket, done, timeout);
    pending.append(chunk.data(), chunk.size() - body.size);
    body.data = nullptr;
    body.size = 0;
    if (!in_time) return false;
    if (ec == bhttp::error::need_buffer) ec = {};
    if (parser.is_done()) {
      ended = true;
      ended_cleanly = parser.chunked() || parser.content_length().has_value();
    } else if (ec) {
      ended = true;
    }
    return true;
  }
};

StreamReader::StreamReader(const std::string& host, uint16_t port, const std::string& target,
                           Options options)
    : impl_(std::make_unique<Impl>()) {
  connect(impl_->ioc, impl_->socket, host, port, options.timeout, options.receive_buffer_bytes);
  write_all(impl_->ioc, impl_->socket, build_request("GET", host, port, target, options.headers, {}),
            options.timeout);
  impl_->parser.body_limit(std::numeric_limits<std::uint64_t>::max());
  bool done = false;
  boost::system::error_code ec;
  bhttp::async_read_header(impl_->socket, impl_->buffer, impl_->parser,
                           [&](boost::system::error_code e, size_t) {
                             ec = e;
                             done = true;
                           });
  if (!run_bounded(impl_->ioc, impl_->socket, done, options.timeout))
    throw std::runtime_error("stream response header timed out");
  if (ec) throw std::runtime_error("reading the stream header failed: " + ec.message());
  impl_->status = static_cast<int>(impl_->parser.get().result_int());
  impl_->headers = collect_headers(impl_->parser.get().base());
  if (impl_->parser.is_done()) {
    impl_->ended = true;
    impl_->ended_cleanly = true;
  }
}

StreamReader::~StreamReader() { close(); }

int StreamReader::status() const { return impl_->status; }
const HeaderList& StreamReader::headers() const { return impl_->headers; }

std::optional<std::string> StreamReader::header(std::string_view name) const {
  const std::string lower = lowercase(name);
  for (const auto& [key, value] : impl_->headers)
    if (key == lower) return value;
  return std::nullopt;
}

std::string StreamReader::read_some(milliseconds timeout) {
  if (impl_->pending.empty()) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    // A read may complete with only chunk framing; keep going until bytes arrive.
    while (impl_->pending.empty() && !impl_->ended) {
      const auto left = std::chrono::duration_cast<milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left <= milliseconds::zero() || !impl_->read_more(left)) break;
    }
  }
  return std::exchange(impl_->pending, {});
}

std::optional<std::string> StreamReader::read_until(std::string_view delimiter, milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  size_t searched_from = 0;
  for (;;) {
    const size_t at = impl_->pending.find(delimiter, searched_from);
    if (at != std::string::npos) {
      std::string out = impl_->pending.substr(0, at + delimiter.size());
      impl_->pending.erase(0, at + delimiter.size());
      return out;
    }
    if (impl_->pending.size() >= delimiter.size())
      searched_from = impl_->pending.size() - delimiter.size() + 1;
    if (impl_->ended) return std::nullopt;
    const auto left = std::chrono::duration_cast<milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left <= milliseconds::zero() || !impl_->read_more(left)) return std::nullopt;
  }
}

std::string StreamReader::read_to_end(milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!impl_->ended) {
    const auto left = std::chrono::duration_cast<milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left <= milliseconds::zero() || !impl_->read_more(left)) break;
  }
  return std::exchange(impl_->pending, {});
}

bool StreamReader::ended() const { return impl_->ended; }
bool StreamReader::ended_cleanly() const { return impl_->ended_cleanly; }

void StreamReader::close() {
  boost::system::error_code ignored;
  impl_->socket.shutdown(tcp::socket::shutdown_both, ignored);
  impl_->socket.close(ignored);
  impl_->ended = true;
}

}  // namespace tpark::client
