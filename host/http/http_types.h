// What handlers see and return. Handlers are plain functions from a parsed
// Request to a Response; they never touch sockets (Beast stays in server.cpp).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tpark::http {

// Case-insensitive header lookup over the request's headers (names lowercased).
struct Headers {
  std::vector<std::pair<std::string, std::string>> items;  // lowercased name, raw value
  std::optional<std::string_view> get(std::string_view lower_name) const {
    for (const auto& [name, value] : items)
      if (name == lower_name) return std::string_view(value);
    return std::nullopt;
  }
  bool has(std::string_view lower_name) const { return get(lower_name).has_value(); }
};

struct Request {
  std::string method;        // "GET", "POST", ...
  std::string target;        // raw request target
  std::string path;          // percent-decoded path, no query
  std::vector<std::pair<std::string, std::string>> query;  // decoded, in order, repeats kept
  Headers headers;
  std::string body;
  std::string request_id;    // echoed or generated (control.md 1.3 step 1)
  std::string peer_ip;
  bool peer_loopback = false;
  std::string route_template;                     // e.g. "/state/read_models/{id}"
  std::map<std::string, std::string> path_params;  // {id} -> value
  bool observation = false;  // the matched route is an observation route (Route::observation)

  // All values of a query parameter, in order.
  std::vector<std::string> query_all(std::string_view name) const {
    std::vector<std::string> out;
    for (const auto& [k, v] : query)
      if (k == name) out.push_back(v);
    return out;
  }
  std::optional<std::string> query_one(std::string_view name) const {
    for (const auto& [k, v] : query)
      if (k == name) return v;
    return std::nullopt;
  }
};

// Bytes a stream hands the server for one write: text owned by the chunk
// (per-client framing) interleaved with shared buffers that many clients
// write from without copying (a patch frame serialised once). The server
// writes the pieces in order with one gather write and holds the shared
// buffers until the write completes.
class StreamChunk {
 public:
  StreamChunk() = default;
  StreamChunk(std::string text) { append(text); }  // NOLINT: implicit, for plain text sources

  void append(std::string_view text) {
    if (text.empty()) return;
    if (pieces_.empty() || pieces_.back().shared)
      pieces_.push_back(Piece{owned_.size(), 0, nullptr});
    owned_.append(text);
    pieces_.back().length += text.size();
    size_bytes_ += text.size();
  }
  void append_shared(std::shared_ptr<const std::string> bytes) {
    if (!bytes || bytes->empty()) return;
    size_bytes_ += bytes->size();
    pieces_.push_back(Piece{0, bytes->size(), std::move(bytes)});
  }

  size_t size() const { return size_bytes_; }
  bool empty() const { return size_bytes_ == 0; }
  size_t piece_count() const { return pieces_.size(); }
  // Piece i's bytes; valid while the chunk lives.
  std::string_view piece(size_t i) const {
    const Piece& p = pieces_[i];
    return p.shared ? std::string_view(*p.shared)
                    : std::string_view(owned_).substr(p.offset, p.length);
  }
  // Every piece concatenated (tests and diagnostics).
  std::string str() const {
    std::string out;
    out.reserve(size_bytes_);
    for (size_t i = 0; i < pieces_.size(); ++i) out.append(piece(i));
    return out;
  }

 private:
  struct Piece {
    size_t offset;  // into owned_ when not shared
    size_t length;
    std::shared_ptr<const std::string> shared;
  };
  std::string owned_;
  std::vector<Piece> pieces_;
  size_t size_bytes_ = 0;
};

// Completes a StreamSource::next(): bytes to write, or an empty optional when
// the stream ends.
using StreamDeliver = std::function<void(std::optional<StreamChunk>)>;

// A streaming body (SSE). The server calls next() whenever the socket can take
// more; it completes with bytes to write, or an empty optional when the stream
// ends. Implementations live with their routes; the server only moves bytes.
class StreamSource {
 public:
  virtual ~StreamSource() = default;
  // `deliver` may be called on any thread, exactly once per next() call.
  virtual void next(StreamDeliver deliver) = 0;
  // The client went away or the server is stopping.
  virtual void cancel() = 0;
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers
  std::string body;
  std::shared_ptr<StreamSource> stream;  // set for streaming routes; body unused

  void set_header(std::string name, std::string value) {
    headers.emplace_back(std::move(name), std::move(value));
  }
};

enum class Access { Public, Admin };

using Handler = std::function<Response(const Request&)>;

struct Route {
  std::string method;
  std::string path_template;  // literal segments and {name} segments
  Access access = Access::Admin;
  Handler handler;
  // Body limit for this route; 0 = the default (ARW_HTTP_BODY_LIMIT).
  size_t body_limit = 0;
  // Read-only routes that do not mark read models dirty (telemetry.md 6).
  bool observation = false;
  // The handler never waits (no lock held by a slow path, no I/O, no
  // plugin call): it runs on the I/O thread instead of the worker pool.
  bool inline_safe = false;
  // Optional, for a route usually answered from a cache: tried on the I/O
  // thread first, and like an inline_safe handler it never waits. nullopt
  // hands the request to `handler` on the worker pool.
  std::function<std::optional<Response>(const Request&)> inline_attempt = nullptr;
  // The body is JSON, read with http::parse_json_body: a non-empty body must
  // come with a JSON Content-Type (415 otherwise, before it is read).
  bool json_body = false;
};

class Router {
 public:
  void add(Route route);

  struct Match {
    const Route* route = nullptr;        // null: no route for method+path
    bool path_known = false;             // some route has this path (-> 405)
    std::vector<std::string> allowed;    // methods for the path, for Allow
    std::map<std::string, std::string> params;
    std::string path_template;
  };
  Match match(std::string_view method, std::string_view path) const;

  const std::vector<Route>& routes() const { return routes_; }

 private:
  // A template split once at add(): literal segments, and "" for {name} ones.
  struct Compiled {
    std::vector<std::string> literals;
    std::vector<std::string> param_names;  // same length; "" for literal segments
    size_t literal_count = 0;
  };
  std::vector<Route> routes_;
  std::vector<Compiled> compiled_;
};

}  // namespace tpark::http
