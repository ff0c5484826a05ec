#include "http/http_types.h"

#include <algorithm>

namespace tpark::http {

namespace {

std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> parts;
  size_t i = 0;
  while (i < path.size()) {
    while (i < path.size() && path[i] == '/') ++i;
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    if (j > i) parts.push_back(path.substr(i, j - i));
    i = j;
  }
  return parts;
}

bool match_template(std::string_view tmpl, std::string_view path,
                    std::map<std::string, std::string>* params) {
  auto t = split_path(tmpl);
  auto p = split_path(path);
  if (t.size() != p.size()) return false;
  // A trailing slash is a different path ("/healthz/" is not "/healthz").
  if (path.size() > 1 && path.back() == '/') return false;
  std::map<std::string, std::string> found;
  for (size_t i = 0; i < t.size(); ++i) {
    if (t[i].size() > 2 && t[i].front() == '{' && t[i].back() == '}') {
      found.emplace(std::string(t[i].substr(1, t[i].size() - 2)), std::string(p[i]));
    } else if (t[i] != p[i]) {
      return false;
    }
  }
  if (params) *params = std::move(found);
  return true;
}

}  // namespace

void Router::add(Route route) { routes_.push_back(std::move(route)); }

Router::Match Router::match(std::string_view method, std::string_view path) const {
  Match m;
  // Literal templates win over parameterised ones for the same path.
  const Route* best = nullptr;
  size_t best_literal = 0;
  for (const auto& r : routes_) {
    std::map<std::string, std::string> params;
    if (!match_template(r.path_template, path, &params)) continue;
    m.path_known = true;
    if (std::find(m.allowed.begin(), m.allowed.end(), r.method) == m.allowed.end())
      m.allowed.push_back(r.method);
    if (r.method != method && !(method == "HEAD" && r.method == "GET")) continue;
    size_t literal = 0;
    for (auto seg : split_path(r.path_template))
      if (seg.empty() || seg.front() != '{') ++literal;
    if (!best || literal > best_literal) {
      best = &r;
      best_literal = literal;
      m.params = std::move(params);
      m.path_template = r.path_template;
    }
  }
  m.route = best;
  std::sort(m.allowed.begin(), m.allowed.end());
  return m;
}

}  // namespace tpark::http
