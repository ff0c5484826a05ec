#include "http/http_types.h"

#include <algorithm>

namespace tpark::http {

namespace {

// Calls fn(segment) for each non-empty path segment; stops early when fn returns false.
template <typename Fn>
bool for_each_segment(std::string_view path, Fn&& fn) {
  size_t i = 0;
  while (i < path.size()) {
    while (i < path.size() && path[i] == '/') ++i;
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    if (j > i && !fn(path.substr(i, j - i))) return false;
    i = j;
  }
  return true;
}

}  // namespace

void Router::add(Route route) {
  Compiled c;
  for_each_segment(route.path_template, [&](std::string_view seg) {
    bool param = seg.size() > 2 && seg.front() == '{' && seg.back() == '}';
    c.literals.emplace_back(param ? std::string_view() : seg);
    c.param_names.emplace_back(param ? seg.substr(1, seg.size() - 2) : std::string_view());
    if (!param) ++c.literal_count;
    return true;
  });
  compiled_.push_back(std::move(c));
  routes_.push_back(std::move(route));
}

Router::Match Router::match(std::string_view method, std::string_view path) const {
  Match m;
  // A trailing slash is a different path ("/healthz/" is not "/healthz").
  if (path.size() > 1 && path.back() == '/') return m;
  // Split the request path once, without allocating strings.
  std::string_view segments[32];
  size_t count = 0;
  bool too_deep = !for_each_segment(path, [&](std::string_view seg) {
    if (count == 32) return false;
    segments[count++] = seg;
    return true;
  });
  if (too_deep) return m;

  // Literal templates win over parameterised ones for the same path.
  size_t best = routes_.size();
  for (size_t r = 0; r < routes_.size(); ++r) {
    const Compiled& c = compiled_[r];
    if (c.literals.size() != count) continue;
    bool same = true;
    for (size_t i = 0; i < count && same; ++i)
      if (c.param_names[i].empty() && c.literals[i] != segments[i]) same = false;
    if (!same) continue;
    m.path_known = true;
    const Route& route = routes_[r];
    if (std::find(m.allowed.begin(), m.allowed.end(), route.method) == m.allowed.end())
      m.allowed.push_back(route.method);
    if (route.method != method && !(method == "HEAD" && route.method == "GET")) continue;
    if (best == routes_.size() || c.literal_count > compiled_[best].literal_count) best = r;
  }
  if (best < routes_.size()) {
    const Compiled& c = compiled_[best];
    for (size_t i = 0; i < count; ++i)
      if (!c.param_names[i].empty()) m.params.emplace(c.param_names[i], std::string(segments[i]));
    m.route = &routes_[best];
    m.path_template = routes_[best].path_template;
  }
  std::sort(m.allowed.begin(), m.allowed.end());
  return m;
}

}  // namespace tpark::http
