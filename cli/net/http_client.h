// The one HTTP/1.1 client of the project, on Beast, shared by the `tpark` CLI
// and the tests (which see it through tests/support/http_client.h): blocking
// one-shot requests, a persistent connection for keep-alive and hand-written
// requests, and a streaming reader for SSE. Every call is bounded by a
// timeout; a timeout or a broken connection throws std::runtime_error, except
// where a function says otherwise. Beast stays inside http_client.cpp.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace tpark::client {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

inline constexpr std::chrono::milliseconds kDefaultHttpTimeout{10000};

struct HttpResult {
  int status = 0;
  HeaderList headers;  // names lowercased, in arrival order, repeats kept
  std::string body;

  // The first value of a header (name in any case), if present.
  std::optional<std::string> header(std::string_view name) const;
  // Every value of a header, in order.
  std::vector<std::string> header_values(std::string_view name) const;
  // The body parsed as JSON; throws nlohmann::json::parse_error if it is not.
  nlohmann::ordered_json json() const;
};

// One request on a fresh connection (closed afterwards).
HttpResult request(const std::string& method, const std::string& host, uint16_t port,
                   const std::string& target, const HeaderList& headers = {},
                   const std::string& body = {},
                   std::chrono::milliseconds timeout = kDefaultHttpTimeout);

// A persistent connection: several requests over one socket, or raw bytes
// for requests a well-behaved client would not send (chunked bodies, lying
// Content-Length).
class HttpConnection {
 public:
  HttpConnection(const std::string& host, uint16_t port,
                 std::chrono::milliseconds timeout = kDefaultHttpTimeout);
  ~HttpConnection();
  HttpConnection(const HttpConnection&) = delete;
  HttpConnection& operator=(const HttpConnection&) = delete;

  // Sends a request (Host and Content-Length added) and reads its response.
  HttpResult request(const std::string& method, const std::string& target,
                     const HeaderList& headers = {}, const std::string& body = {});
  // Writes bytes exactly as given.
  void send_raw(std::string_view bytes);
  // Reads one response; `head_request` for the answer to a HEAD.
  HttpResult read_response(bool head_request = false);
  // Whether the server has closed the connection: waits up to `wait` for
  // end-of-file and returns false if the connection is still open then.
  bool closed_by_peer(std::chrono::milliseconds wait);
  void close();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// A GET whose body is read incrementally (SSE). The constructor sends the
// request and reads the response header; the body is then read on demand.
// Not reading for a while lets TCP back-pressure reach the server.
class StreamReader {
 public:
  struct Options {
    HeaderList headers;
    std::chrono::milliseconds timeout = kDefaultHttpTimeout;  // connect + header
    // SO_RCVBUF before connecting; small values make back-pressure quick. 0 keeps the default.
    int receive_buffer_bytes = 0;
  };
  StreamReader(const std::string& host, uint16_t port, const std::string& target,
               Options options);
  StreamReader(const std::string& host, uint16_t port, const std::string& target)
      : StreamReader(host, port, target, Options{}) {}
  ~StreamReader();
  StreamReader(const StreamReader&) = delete;
  StreamReader& operator=(const StreamReader&) = delete;

  int status() const;
  const HeaderList& headers() const;
  std::optional<std::string> header(std::string_view name) const;

  // Waits up to `timeout` for more body bytes and returns them ("" on
  // timeout or at the end). Bytes not yet taken by read_until come first.
  std::string read_some(std::chrono::milliseconds timeout);
  // Returns the body up to and including `delimiter`, or nullopt if it does
  // not arrive within `timeout` (what arrived stays buffered).
  std::optional<std::string> read_until(std::string_view delimiter, std::chrono::milliseconds timeout);
  // One SSE frame: text up to and including a blank line.
  std::optional<std::string> read_frame(std::chrono::milliseconds timeout) {
    return read_until("\n\n", timeout);
  }
  // Reads until the body ends (server finished or closed) or `timeout`; returns what was read.
  std::string read_to_end(std::chrono::milliseconds timeout);
  // True once the body has ended: the server sent its last chunk or closed.
  bool ended() const;
  // True when the body ended with the chunked terminator (a clean end), not a dropped connection.
  bool ended_cleanly() const;
  void close();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tpark::client
