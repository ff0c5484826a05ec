#include "live/read_model_diff.h"

#include <algorithm>
#include <tuple>

namespace tpark::live {
namespace {

// "~" -> "~0", "/" -> "~1" (RFC 6901).
std::string escape_token(const std::string& token) {
  if (token.find_first_of("~/") == std::string::npos) return token;
  std::string out;
  out.reserve(token.size() + 2);
  for (char c : token) {
    if (c == '~')
      out += "~0";
    else if (c == '/')
      out += "~1";
    else
      out += c;
  }
  return out;
}

class Differ {
 public:
  Differ(const std::vector<std::vector<std::string>>& volatile_segments, Json& ops)
      : volatile_(volatile_segments), ops_(ops) {}

  // tokens_ are the unescaped segments of `path` while volatile paths may lie below.
  void diff(const Json& before, const Json& after, const std::string& path) {
    if (before.type() != after.type()) return replace(path, after);
    if (before.is_object()) return diff_objects(before, after, path);
    if (before.is_array()) return diff_arrays(before, after, path);
    if (before != after) replace(path, after);
  }

 private:
  void replace(const std::string& path, const Json& value) {
    ops_.push_back({{"op", "replace"}, {"path", path}, {"value", value}});
  }
  void add(const std::string& path, const Json& value) {
    ops_.push_back({{"op", "add"}, {"path", path}, {"value", value}});
  }
  void remove(const std::string& path) { ops_.push_back({{"op", "remove"}, {"path", path}}); }

  // Whether the member `token` under the current tokens_ is a volatile path.
  bool is_volatile(const std::string& token) const {
    for (const auto& segments : volatile_) {
      if (segments.size() != tokens_.size() + 1) continue;
      bool match = segments.back() == "*" || segments.back() == token;
      for (size_t i = 0; match && i < tokens_.size(); ++i)
        match = segments[i] == "*" || segments[i] == tokens_[i];
      if (match) return true;
    }
    return false;
  }

  // Could a volatile path lie below the current tokens_ + token?
  bool volatile_below(const std::string& token) const {
    for (const auto& segments : volatile_) {
      if (segments.size() <= tokens_.size() + 1) continue;
      bool match = segments[tokens_.size()] == "*" || segments[tokens_.size()] == token;
      for (size_t i = 0; match && i < tokens_.size(); ++i)
        match = segments[i] == "*" || segments[i] == tokens_[i];
      if (match) return true;
    }
    return false;
  }

  void descend(const Json& before, const Json& after, const std::string& path,
               const std::string& token) {
    if (volatile_.empty()) return diff(before, after, path + "/" + escape_token(token));
    if (is_volatile(token)) return;
    if (!volatile_below(token)) {
      // Nothing volatile below: compare without matching paths.
      Differ plain(no_volatile_, ops_);
      return plain.diff(before, after, path + "/" + escape_token(token));
    }
    tokens_.push_back(token);
    diff(before, after, path + "/" + escape_token(token));
    tokens_.pop_back();
  }

  void diff_objects(const Json& before, const Json& after, const std::string& path) {
    for (auto it = before.begin(); it != before.end(); ++it) {
      auto there = after.find(it.key());
      if (there == after.end())
        remove(path + "/" + escape_token(it.key()));
      else
        descend(*it, *there, path, it.key());
    }
    for (auto it = after.begin(); it != after.end(); ++it)
      if (!before.contains(it.key())) add(path + "/" + escape_token(it.key()), *it);
  }

  // The array ops, indexes as they stand when each op applies (see the header).
  void diff_arrays(const Json& before, const Json& after, const std::string& path) {
    const size_t n = before.size(), m = after.size();
    size_t prefix = 0;
    while (prefix < n && prefix < m && before[prefix] == after[prefix]) ++prefix;
    size_t suffix = 0;
    while (suffix < n - prefix && suffix < m - prefix &&
           before[n - 1 - suffix] == after[m - 1 - suffix])
      ++suffix;
    // The middles: before[prefix, n - suffix) and after[prefix, m - suffix).
    const size_t a = n - prefix - suffix, b = m - prefix - suffix;
    auto run_length = [&](size_t i, size_t j) {
      size_t length = 0;
      while (i + length < a && j + length < b &&
             before[prefix + i + length] == after[prefix + j + length])
        ++length;
      return length;
    };
    // The longest run of equal elements starting at the head of one middle.
    size_t skip_before = 0, skip_after = 0, run = 0;
    if (a > 0 && b > 0) {
      for (size_t i = 0; i < a && a - i > run; ++i)
        if (before[prefix + i] == after[prefix]) {
          const size_t length = run_length(i, 0);
          if (length > run)
            std::tie(skip_before, skip_after, run) = std::tuple(i, size_t{0}, length);
        }
      for (size_t j = 1; j < b && b - j > run; ++j)
        if (before[prefix] == after[prefix + j]) {
          const size_t length = run_length(0, j);
          if (length > run)
            std::tie(skip_before, skip_after, run) = std::tuple(size_t{0}, j, length);
        }
    }
    auto at = [&](size_t index) { return path + "/" + std::to_string(index); };
    // Elements before the run that left, then those that came in.
    for (size_t k = skip_before; k-- > 0;) remove(at(prefix + k));
    for (size_t k = 0; k < skip_after; ++k) add(at(prefix + k), after[prefix + k]);
    // After the run: pairwise, then the extra elements of one side.
    const size_t tail_before = a - skip_before - run, tail_after = b - skip_after - run;
    const size_t from = prefix + skip_after + run;  // the tail's index in the patched array
    const size_t pairs = std::min(tail_before, tail_after);
    for (size_t k = 0; k < pairs; ++k)
      descend_index(before[prefix + skip_before + run + k], after[from + k], path, from + k);
    for (size_t k = tail_before; k-- > pairs;) remove(at(from + k));
    for (size_t k = pairs; k < tail_after; ++k) add(at(from + k), after[from + k]);
  }

  // An element's own diff, or one replace of it when that is shorter (two
  // unrelated entries differ in most of their members).
  void descend_index(const Json& before, const Json& after, const std::string& path, size_t index) {
    if (before == after) return;
    const size_t first = ops_.size();
    descend(before, after, path, std::to_string(index));
    if (ops_.size() - first < 2) return;
    size_t diff_bytes = 0;
    for (size_t i = first; i < ops_.size(); ++i) diff_bytes += ops_[i].dump().size() + 1;
    const std::string element_path = path + "/" + std::to_string(index);
    Json replacement = {{"op", "replace"}, {"path", element_path}, {"value", after}};
    if (replacement.dump().size() >= diff_bytes) return;
    ops_.erase(ops_.begin() + static_cast<std::ptrdiff_t>(first), ops_.end());
    ops_.push_back(std::move(replacement));
  }

  const std::vector<std::vector<std::string>>& volatile_;
  const std::vector<std::vector<std::string>> no_volatile_;
  Json& ops_;
  std::vector<std::string> tokens_;
};

}  // namespace

Json read_model_diff(const Json& previous, const Json& next,
                     const std::vector<std::vector<std::string>>& volatile_segments) {
  Json ops = Json::array();
  Differ(volatile_segments, ops).diff(previous, next, "");
  return ops;
}

}  // namespace tpark::live
