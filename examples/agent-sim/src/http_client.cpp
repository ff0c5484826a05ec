#include "http_client.h"

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>

namespace tpark::sim {

namespace {

using Clock = std::chrono::steady_clock;

class Socket {
 public:
  explicit Socket(int fd) : fd_(fd) {}
  ~Socket() {
    if (fd_ >= 0) ::close(fd_);
  }
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;
  int fd() const { return fd_; }

 private:
  int fd_;
};

int remaining_ms(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return static_cast<int>(std::max<int64_t>(0, left.count()));
}

// Waits for `events` on fd until the deadline; false on timeout or error.
bool wait_for(int fd, short events, Clock::time_point deadline) {
  pollfd p{fd, events, 0};
  while (true) {
    const int n = ::poll(&p, 1, remaining_ms(deadline));
    if (n > 0) return true;
    if (n == 0) return false;
    if (errno != EINTR) return false;
  }
}

// A connected non-blocking socket, or -1 with `error`.
int connect_to(const BaseUrl& base, Clock::time_point deadline, std::string& error) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (const int rc = ::getaddrinfo(base.host.c_str(), base.port.c_str(), &hints, &found); rc != 0) {
    error = "cannot resolve " + base.host + ": " + ::gai_strerror(rc);
    return -1;
  }
  error = "cannot connect to " + base.host + ":" + base.port;
  int connected = -1;
  for (addrinfo* a = found; a && connected < 0; a = a->ai_next) {
    const int fd =
        ::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) continue;
    if (::connect(fd, a->ai_addr, a->ai_addrlen) == 0) {
      connected = fd;
      break;
    }
    if (errno == EINPROGRESS && wait_for(fd, POLLOUT, deadline)) {
      int so_error = 0;
      socklen_t len = sizeof so_error;
      if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &len) == 0 && so_error == 0) {
        connected = fd;
        break;
      }
      error += std::string(": ") + std::strerror(so_error);
    } else {
      error += std::string(": ") + (errno == EINPROGRESS ? "timed out" : std::strerror(errno));
    }
    ::close(fd);
  }
  ::freeaddrinfo(found);
  if (connected >= 0) error.clear();
  return connected;
}

bool send_all(int fd, std::string_view bytes, Clock::time_point deadline, std::string& error) {
  while (!bytes.empty()) {
    const ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n > 0) {
      bytes.remove_prefix(static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && wait_for(fd, POLLOUT, deadline))
      continue;
    error = n < 0 && errno != EAGAIN ? std::string("send failed: ") + std::strerror(errno)
                                     : "send timed out";
    return false;
  }
  return true;
}

std::string lowercase(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

struct Head {
  int status = 0;
  std::optional<size_t> content_length;
  bool chunked = false;
  std::optional<std::string> retry_after;
};

std::optional<Head> parse_head(std::string_view head) {
  Head out;
  const size_t line_end = head.find("\r\n");
  const std::string_view status_line = head.substr(0, line_end);
  if (status_line.size() < 12 || status_line.substr(0, 5) != "HTTP/") return std::nullopt;
  const size_t space = status_line.find(' ');
  if (space == std::string_view::npos || space + 4 > status_line.size()) return std::nullopt;
  for (size_t i = space + 1; i < space + 4; ++i) {
    if (status_line[i] < '0' || status_line[i] > '9') return std::nullopt;
    out.status = out.status * 10 + (status_line[i] - '0');
  }
  size_t at = line_end == std::string_view::npos ? head.size() : line_end + 2;
  while (at < head.size()) {
    size_t end = head.find("\r\n", at);
    if (end == std::string_view::npos) end = head.size();
    const std::string_view line = head.substr(at, end - at);
    at = end + 2;
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    const std::string name = lowercase(std::string(line.substr(0, colon)));
    std::string value(line.substr(colon + 1));
    value.erase(0, value.find_first_not_of(" \t"));
    value.erase(value.find_last_not_of(" \t") + 1);
    if (name == "content-length") {
      try {
        out.content_length = static_cast<size_t>(std::stoull(value));
      } catch (const std::exception&) {
        return std::nullopt;
      }
    } else if (name == "transfer-encoding") {
      out.chunked = lowercase(value).find("chunked") != std::string::npos;
    } else if (name == "retry-after") {
      out.retry_after = value;
    }
  }
  return out;
}

// Decodes a complete chunked body; nullopt while incomplete or malformed.
std::optional<std::string> dechunk(std::string_view data) {
  std::string out;
  size_t at = 0;
  while (true) {
    const size_t line_end = data.find("\r\n", at);
    if (line_end == std::string_view::npos) return std::nullopt;
    size_t size = 0;
    size_t i = at;
    for (; i < line_end && std::isxdigit(static_cast<unsigned char>(data[i])); ++i)
      size = size * 16 + static_cast<size_t>(std::isdigit(static_cast<unsigned char>(data[i]))
                                                 ? data[i] - '0'
                                                 : std::tolower(data[i]) - 'a' + 10);
    if (i == at) return std::nullopt;
    at = line_end + 2;
    if (size == 0) return out;  // trailers, if any, are not needed
    if (data.size() < at + size + 2) return std::nullopt;
    out.append(data.substr(at, size));
    at += size + 2;
  }
}

}  // namespace

std::optional<BaseUrl> parse_base_url(std::string_view url, std::string& error) {
  static constexpr std::string_view kScheme = "http://";
  if (url.substr(0, kScheme.size()) != kScheme) {
    error = "only http:// URLs are supported: " + std::string(url);
    return std::nullopt;
  }
  while (!url.empty() && url.back() == '/') url.remove_suffix(1);
  BaseUrl base;
  base.text = std::string(url);
  std::string_view rest = url.substr(kScheme.size());
  const size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  if (slash != std::string_view::npos) base.path_prefix = std::string(rest.substr(slash));
  if (!authority.empty() && authority.front() == '[') {  // [::1]:8091
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) {
      error = "bad IPv6 address in " + std::string(url);
      return std::nullopt;
    }
    base.host = std::string(authority.substr(1, close - 1));
    authority.remove_prefix(close + 1);
    if (!authority.empty() && authority.front() == ':')
      base.port = std::string(authority.substr(1));
  } else {
    const size_t colon = authority.rfind(':');
    base.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) base.port = std::string(authority.substr(colon + 1));
  }
  if (base.host.empty() || base.port.empty() ||
      base.port.find_first_not_of("0123456789") != std::string::npos) {
    error = "bad host or port in " + std::string(url);
    return std::nullopt;
  }
  return base;
}

std::optional<HttpResponse> http_request(const BaseUrl& base, const std::string& method,
                                         const std::string& path, const HeaderList& headers,
                                         std::string_view body, std::chrono::milliseconds timeout,
                                         std::string& error) {
  const auto deadline = Clock::now() + timeout;
  Socket socket(connect_to(base, deadline, error));
  if (socket.fd() < 0) return std::nullopt;

  const bool ipv6 = base.host.find(':') != std::string::npos;
  std::string request = method + " " + base.path_prefix + path + " HTTP/1.1\r\n";
  request += "Host: " + (ipv6 ? "[" + base.host + "]" : base.host) + ":" + base.port + "\r\n";
  request += "Connection: close\r\n";
  request += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  for (const auto& [name, value] : headers) request += name + ": " + value + "\r\n";
  request += "\r\n";
  if (!send_all(socket.fd(), request, deadline, error) ||
      !send_all(socket.fd(), body, deadline, error))
    return std::nullopt;

  std::string data;
  std::optional<Head> head;
  size_t body_start = 0;
  char buffer[16384];
  while (true) {
    if (!head) {
      const size_t end = data.find("\r\n\r\n");
      if (end != std::string::npos) {
        head = parse_head(std::string_view(data).substr(0, end));
        if (!head) {
          error = "malformed response from " + base.text;
          return std::nullopt;
        }
        body_start = end + 4;
      }
    }
    if (head) {
      const std::string_view received = std::string_view(data).substr(body_start);
      if (head->chunked) {
        if (auto decoded = dechunk(received))
          return HttpResponse{head->status, std::move(*decoded), head->retry_after};
      } else if (head->content_length && received.size() >= *head->content_length) {
        return HttpResponse{head->status, std::string(received.substr(0, *head->content_length)),
                            head->retry_after};
      }
    }
    const ssize_t n = ::recv(socket.fd(), buffer, sizeof buffer, 0);
    if (n > 0) {
      data.append(buffer, static_cast<size_t>(n));
      continue;
    }
    if (n == 0) {  // the server closed: the body ends here unless it was framed
      if (head && !head->chunked && !head->content_length)
        return HttpResponse{head->status, data.substr(body_start), head->retry_after};
      error = "connection closed early by " + base.text;
      return std::nullopt;
    }
    if (errno == EINTR) continue;
    if ((errno == EAGAIN || errno == EWOULDBLOCK) && wait_for(socket.fd(), POLLIN, deadline))
      continue;
    error = errno == EAGAIN || errno == EWOULDBLOCK
                ? "timed out waiting for " + base.text
                : std::string("recv failed: ") + std::strerror(errno);
    return std::nullopt;
  }
}

}  // namespace tpark::sim
