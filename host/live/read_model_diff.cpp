#include "live/read_model_diff.h"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string_view>
#include <tuple>
#include <unordered_set>

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
         Json& ops, bool copies)
      : volatile_(volatile_segments), ops_(ops), copies_(copies) {
    if (!copies_) return;  // no state to keep: ops go straight out
    state_ = previous;
    remember(previous);
  }

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
    if (!copies_) {
      for (auto& op : ops) ops_.push_back(std::move(op));
      return;
    }
    for (auto& op : ops) {
      if (auto value = op.find("value"); value != op.end() && value->is_structured())
        remember(*value);
      Json one = Json::array();
      one.push_back(std::move(op));
      state_.patch_inplace(one);
      ops_.push_back(std::move(one[0]));
    }
  }

  // An add or replace as the ops that write it: a copy from where its value
  // already stands when that is shorter (a replaced array element is then a
  // remove and a copy: copy inserts, as add does), else the op itself.
  Json written(Json op) {
    if (!copies_) return Json::array({std::move(op)});
    const Json& value = op.at("value");
    const std::string& path = op.at("path").get_ref<const std::string&>();
    if (!value.is_structured() || value.empty() || path.empty() || !may_stand_somewhere(value))
      return Json::array({std::move(op)});
    const size_t op_bytes = op.dump().size();
    if (op_bytes < kMinSharedBytes) return Json::array({std::move(op)});
    const Json::json_pointer pointer(path);
    Json& parent = state_.at(pointer.parent_pointer());
    const bool remove_first = op.at("op") == "replace" && parent.is_array();
    std::optional<std::string> from;
    if (remove_first) {
      // The source is looked up where it stands once the element is removed.
      const size_t index = std::stoul(pointer.back());
      Json element = std::move(parent[index]);
      parent.erase(index);
      from = find_source(value);
      parent.insert(parent.begin() + static_cast<std::ptrdiff_t>(index), std::move(element));
    } else {
      from = find_source(value);
    }
    if (!from) return Json::array({std::move(op)});
    Json shared = Json::array();
    if (remove_first) shared.push_back({{"op", "remove"}, {"path", path}});
    shared.push_back({{"op", "copy"}, {"from", *from}, {"path", path}});
    if (shared.dump().size() < op_bytes + 2) return shared;
    return Json::array({std::move(op)});
  }

  // One step of a path being searched: an object key or an array index.
  struct Step {
    const std::string* key = nullptr;
    size_t index = 0;
  };

  // Whether `node` holds `value` somewhere (its path left in `path`).
  // `matching` has a bit per volatile path whose segments match the path so
  // far: a source at or below a volatile path is pruned, one holding a
  // volatile path is not taken (its descendants still may be).
  bool find_value(const Json& node, const Json& value, uint64_t matching,
                  std::vector<Step>& path) const {
    if (!path.empty() && matching == 0 && node == value) return true;
    const size_t depth = path.size();
    auto visit = [&](const Json& child, Step step) {
      if (!child.is_structured()) return false;
      uint64_t child_matching = 0;
      for (size_t i = 0; i < volatile_.size(); ++i) {
        if (!(matching >> i & 1)) continue;
        const auto& segments = volatile_[i];
        if (segments.size() <= depth) return false;  // the whole node is volatile
        const std::string& segment = segments[depth];
        if (segment != "*" &&
            (step.key ? segment != *step.key : segment != std::to_string(step.index)))
          continue;
        if (segments.size() == depth + 1) return false;  // at a volatile path
        child_matching |= uint64_t{1} << i;
      }
      path.push_back(step);
      if (find_value(child, value, child_matching, path)) return true;
      path.pop_back();
      return false;
    };
    if (node.is_object()) {
      for (auto it = node.begin(); it != node.end(); ++it)
        if (visit(*it, Step{&it.key(), 0})) return true;
    } else if (node.is_array()) {
      for (size_t i = 0; i < node.size(); ++i)
        if (visit(node[i], Step{nullptr, i})) return true;
    }
    return false;
  }

  // A hash of a value, equal for equal values (numbers by their value, as
  // nlohmann compares them).
  static uint64_t hash_of(const Json& value) {
    auto mix = [](uint64_t h, uint64_t x) { return (h ^ x) * 1099511628211ull; };
    uint64_t h =
        mix(14695981039346656037ull,
            static_cast<uint64_t>(value.is_number() ? 1 : 2 + static_cast<int>(value.type())));
    if (value.is_object()) {
      for (auto it = value.begin(); it != value.end(); ++it)
        h = mix(mix(h, std::hash<std::string>{}(it.key())), hash_of(*it));
    } else if (value.is_array()) {
      for (const auto& element : value) h = mix(h, hash_of(element));
    } else if (value.is_string()) {
      h = mix(h, std::hash<std::string>{}(value.get_ref<const std::string&>()));
    } else if (value.is_number()) {
      h = mix(h, std::hash<double>{}(value.get<double>()));
    } else if (value.is_boolean()) {
      h = mix(h, value.get<bool>() ? 1 : 0);
    }
    return h;
  }

  // Records the hashes of `value`'s objects and arrays (itself included): a
  // value whose hash was never recorded stands nowhere in the state, so the
  // search for it is skipped. Values removed later stay recorded (a search
  // then finds nothing, which is correct).
  uint64_t remember(const Json& value) {
    if (!value.is_structured()) return hash_of(value);
    auto mix = [](uint64_t h, uint64_t x) { return (h ^ x) * 1099511628211ull; };
    uint64_t h =
        mix(14695981039346656037ull, static_cast<uint64_t>(2 + static_cast<int>(value.type())));
    if (value.is_object()) {
      for (auto it = value.begin(); it != value.end(); ++it)
        h = mix(mix(h, std::hash<std::string>{}(it.key())), remember(*it));
    } else {
      for (const auto& element : value) h = mix(h, remember(element));
    }
    recorded_.insert(h);
    return h;
  }

  bool may_stand_somewhere(const Json& value) const { return recorded_.count(hash_of(value)) > 0; }

  // Where `value` stands in the state, as a JSON Pointer; nullopt if nowhere.
  std::optional<std::string> find_source(const Json& value) const {
    if (volatile_.size() > 63) return std::nullopt;  // more than the mask holds: no copies
    if (!may_stand_somewhere(value)) return std::nullopt;
    std::vector<Step> path;
    if (!find_value(state_, value, (uint64_t{1} << volatile_.size()) - 1, path))
      return std::nullopt;
    std::string pointer;
    for (const Step& step : path)
      pointer += "/" + (step.key ? escape_token(*step.key) : std::to_string(step.index));
    return pointer;
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
    if (!copies_ || !may_stand_somewhere(after)) {
      // No copy possible: a plain replace if shorter (the state already holds `after`).
      static const size_t kReplaceBytes =
          Json{{"op", "replace"}, {"path", ""}, {"value", nullptr}}.dump().size() - 4 + 1;
      if (kReplaceBytes + element_path.size() + after.dump().size() >= diff_bytes) return;
      ops_.erase(ops_.begin() + static_cast<std::ptrdiff_t>(first), ops_.end());
      ops_.push_back({{"op", "replace"}, {"path", element_path}, {"value", after}});
      if (copies_) remember(after);
      return;
    }
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
  const bool copies_;
  Json state_;  // only with copies
  std::unordered_set<uint64_t> recorded_;  // remember()
  std::vector<std::string> tokens_;
  bool plain_ = false;  // no volatile path below the current one
};

}  // namespace

Json read_model_diff(const Json& previous, const Json& next,
                     const std::vector<std::vector<std::string>>& volatile_segments,
                     PatchOps patch_ops) {
  Json ops = Json::array();
  Differ(previous, volatile_segments, ops, patch_ops == PatchOps::with_copy)
      .diff(previous, next, "");
  return ops;
}

}  // namespace tpark::live
