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

// The ops are applied to `state_` (the previous value as the patch leaves it
// so far) as they are emitted, so a structured value that already stands
// somewhere can be written as a `copy` from there (see the header).
class Differ {
 public:
  Differ(const Json& previous, const std::vector<std::vector<std::string>>& volatile_segments,
         Json& ops)
      : volatile_(volatile_segments), ops_(ops), state_(previous) {}

  // tokens_ are the unescaped segments of `path` while volatile paths may lie below.
  void diff(const Json& before, const Json& after, const std::string& path) {
    if (before.type() != after.type()) return replace(path, after);
    if (before.is_object()) return diff_objects(before, after, path);
    if (before.is_array()) return diff_arrays(before, after, path);
    if (before != after) replace(path, after);
  }

 private:
  void replace(const std::string& path, const Json& value) {
    emit(written({{"op", "replace"}, {"path", path}, {"value", value}}));
  }
  void add(const std::string& path, const Json& value) {
    emit(written({{"op", "add"}, {"path", path}, {"value", value}}));
  }
  void remove(const std::string& path) { emit(Json::array({{{"op", "remove"}, {"path", path}}})); }

  void emit(Json ops) {
    for (auto& op : ops) {
      state_.patch_inplace(Json::array({op}));
      ops_.push_back(std::move(op));
    }
  }

  // An add or replace as the ops that write it: a copy from where its value
  // already stands when that is shorter (a replaced array element is then a
  // remove and a copy: copy inserts, as add does), else the op itself.
  Json written(Json op) {
    const Json& value = op.at("value");
    const std::string& path = op.at("path").get_ref<const std::string&>();
    if (!value.is_structured() || value.empty() || path.empty())
      return Json::array({std::move(op)});
    const size_t op_bytes = op.dump().size();
    if (op_bytes < kMinSharedBytes) return Json::array({std::move(op)});
    const Json::json_pointer pointer(path);
    Json& parent = state_.at(pointer.parent_pointer());
    const bool remove_first = op.at("op") == "replace" && parent.is_array();
    std::string from;
    std::vector<std::string> tokens;
    if (remove_first) {
      // The source is looked up where it stands once the element is removed.
      const size_t index = std::stoul(pointer.back());
      Json element = std::move(parent[index]);
      parent.erase(index);
      const bool found = find_value(state_, value, tokens, from);
      parent.insert(parent.begin() + static_cast<std::ptrdiff_t>(index), std::move(element));
      if (!found) return Json::array({std::move(op)});
    } else if (!find_value(state_, value, tokens, from)) {
      return Json::array({std::move(op)});
    }
    Json shared = Json::array();
    if (remove_first) shared.push_back({{"op", "remove"}, {"path", path}});
    shared.push_back({{"op", "copy"}, {"from", from}, {"path", path}});
    if (shared.dump().size() < op_bytes + 2) return shared;
    return Json::array({std::move(op)});
  }

  // The first place in `node` holding `value`, as a JSON Pointer.
  bool find_value(const Json& node, const Json& value, std::vector<std::string>& tokens,
                  std::string& at) const {
    const VolatileRelation relation = volatile_relation(tokens);
    if (relation == VolatileRelation::AtOrBelow) return false;
    if (!tokens.empty() && relation == VolatileRelation::None && node == value) {
      at.clear();
      for (const auto& token : tokens) at += "/" + escape_token(token);
      return true;
    }
    bool found = false;
    if (node.is_object()) {
      for (auto it = node.begin(); !found && it != node.end(); ++it) {
        if (!it->is_structured()) continue;
        tokens.push_back(it.key());
        found = find_value(*it, value, tokens, at);
        tokens.pop_back();
      }
    } else if (node.is_array()) {
      for (size_t i = 0; !found && i < node.size(); ++i) {
        if (!node[i].is_structured()) continue;
        tokens.push_back(std::to_string(i));
        found = find_value(node[i], value, tokens, at);
        tokens.pop_back();
      }
    }
    return found;
  }

  // Where `tokens` (a copy source) lies relative to the volatile paths: a
  // source at or below one, or holding one, is never copied.
  enum class VolatileRelation { None, AtOrBelow, Above };
  VolatileRelation volatile_relation(const std::vector<std::string>& tokens) const {
    VolatileRelation relation = VolatileRelation::None;
    for (const auto& segments : volatile_) {
      bool match = true;
      for (size_t i = 0; match && i < std::min(segments.size(), tokens.size()); ++i)
        match = segments[i] == "*" || segments[i] == tokens[i];
      if (!match) continue;
      if (tokens.size() >= segments.size()) return VolatileRelation::AtOrBelow;
      relation = VolatileRelation::Above;
    }
    return relation;
  }

  // Whether the member `token` under the current tokens_ is a volatile path.
  bool is_volatile(const std::string& token) const {
    if (plain_) return false;
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
    if (plain_) return false;
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
    if (plain_ || volatile_.empty()) return diff(before, after, path + "/" + escape_token(token));
    if (is_volatile(token)) return;
    if (!volatile_below(token)) {
      // Nothing volatile below: compare without matching paths.
      plain_ = true;
      diff(before, after, path + "/" + escape_token(token));
      plain_ = false;
      return;
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
        descend_shortest(*it, *there, path, it.key());
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
      descend_shortest(before[prefix + skip_before + run + k], after[from + k], path,
                       std::to_string(from + k));
    for (size_t k = tail_before; k-- > pairs;) remove(at(from + k));
    for (size_t k = pairs; k < tail_after; ++k) add(at(from + k), after[from + k]);
  }

  // A member's or element's own diff, or one replace (or copy) of it when
  // that is shorter (two unrelated entries differ in most of their members).
  // Not above a volatile path: a replace would carry the volatile value.
  void descend_shortest(const Json& before, const Json& after, const std::string& path,
                        const std::string& token) {
    if (before == after) return;
    const size_t first = ops_.size();
    descend(before, after, path, token);
    if (ops_.size() - first < 2 || volatile_below(token)) return;
    size_t diff_bytes = 0;
    for (size_t i = first; i < ops_.size(); ++i) diff_bytes += ops_[i].dump().size() + 1;
    const std::string element_path = path + "/" + escape_token(token);
    // Its ops only wrote below element_path: putting `before` back undoes them.
    const Json::json_pointer pointer(element_path);
    Json undone = std::move(state_.at(pointer));
    state_.at(pointer) = before;
    Json replacement = written({{"op", "replace"}, {"path", element_path}, {"value", after}});
    size_t replacement_bytes = 0;
    for (const auto& op : replacement) replacement_bytes += op.dump().size() + 1;
    if (replacement_bytes >= diff_bytes) {
      state_.at(pointer) = std::move(undone);
      return;
    }
    ops_.erase(ops_.begin() + static_cast<std::ptrdiff_t>(first), ops_.end());
    emit(std::move(replacement));
  }

  // Below this an add or replace is not worth looking for a copy source.
  static constexpr size_t kMinSharedBytes = 64;

  const std::vector<std::vector<std::string>>& volatile_;
  Json& ops_;
  Json state_;
  std::vector<std::string> tokens_;
  bool plain_ = false;  // no volatile path below the current one
};

}  // namespace

Json read_model_diff(const Json& previous, const Json& next,
                     const std::vector<std::vector<std::string>>& volatile_segments) {
  Json ops = Json::array();
  Differ(previous, volatile_segments, ops).diff(previous, next, "");
  return ops;
}

}  // namespace tpark::live
