#include "http/request_target.h"

namespace tpark::http {

namespace {

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

void percent_decode(std::string_view in, bool plus_is_space, std::string& out) {
  out.clear();
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    const char c = in[i];
    if (c == '%' && i + 2 < in.size()) {
      const int hi = hex_digit(in[i + 1]);
      const int lo = hex_digit(in[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
        continue;
      }
    }
    out += (plus_is_space && c == '+') ? ' ' : c;
  }
}

void parse_query(std::string_view query, QueryPairs& out) {
  while (!query.empty()) {
    const size_t amp = query.find('&');
    const std::string_view part = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    if (part.empty()) continue;
    const size_t eq = part.find('=');
    auto& [key, value] = out.emplace_back();
    percent_decode(part.substr(0, eq), true, key);
    if (eq != std::string_view::npos) percent_decode(part.substr(eq + 1), true, value);
  }
}

void split_request_target(std::string_view target, std::string& path, QueryPairs& query) {
  if (!target.empty() && target.front() != '/') {
    const size_t scheme = target.find("://");
    if (scheme != std::string_view::npos) {
      const size_t slash = target.find('/', scheme + 3);
      target = slash == std::string_view::npos ? std::string_view("/") : target.substr(slash);
    }
  }
  const size_t question = target.find('?');
  percent_decode(target.substr(0, question), false, path);
  if (question != std::string_view::npos) parse_query(target.substr(question + 1), query);
}

}  // namespace tpark::http
