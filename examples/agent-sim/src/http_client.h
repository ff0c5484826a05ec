// A minimal HTTP/1.1 client over POSIX sockets: one request per connection
// (Connection: close), plain http only, every step bounded by a deadline.
// Enough for POST /events/ingest and GET /state/config.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tpark::sim {

// http://host[:port][/prefix]
struct BaseUrl {
  std::string host;
  std::string port = "80";
  std::string path_prefix;  // without a trailing '/'
  std::string text;         // as given, without a trailing '/'
};

// nullopt with `error` set for anything but an http:// URL with a host.
std::optional<BaseUrl> parse_base_url(std::string_view url, std::string& error);

struct HttpResponse {
  int status = 0;
  std::string body;
  std::optional<std::string> retry_after;  // the Retry-After header
};

using HeaderList = std::vector<std::pair<std::string, std::string>>;

// Sends `method` base.path_prefix + `path` with Host, Content-Length and the
// given headers, and reads the whole response (Content-Length, chunked, or to
// the end). Returns nullopt with `error` set on a connection, timeout or
// protocol failure; any HTTP status is a response.
std::optional<HttpResponse> http_request(const BaseUrl& base, const std::string& method,
                                         const std::string& path, const HeaderList& headers,
                                         std::string_view body, std::chrono::milliseconds timeout,
                                         std::string& error);

}  // namespace tpark::sim
