// The read models' diff (read_model_diff.h): a sliding window is one add and
// one remove, volatile paths present on both sides stay out, and a seeded
// property run over 10,000 random documents and random edits (windows sliding
// either way, members changed, added and removed, elements inserted and
// dropped, types changed) where nlohmann's json::patch applying every
// generated patch to the old document gives the new one, with the ops `add`,
// `remove`, `replace` and `copy` only; values copied and moved around the
// document and `latest` following a sliding window make the copies happen.
#include <catch2/catch.hpp>

#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "live/read_model_diff.h"
#include "live/read_model_hub.h"

using tpark::Json;
using tpark::live::PatchOps;
using tpark::live::read_model_diff;

namespace {

// Object member order is not part of the value: a patch's `add` appends.
nlohmann::json unordered(const Json& value) {
  return nlohmann::json::parse(value.dump());
}

Json entry(int id) {
  return Json{{"id", id},
              {"time", "2026-01-01T00:00:0" + std::to_string(id % 10) + ".000Z"},
              {"summary", {{"selected", id * 3}, {"lanes", {"semantic", "episodic"}}}}};
}

Json window(int newest, int size) {
  Json recent = Json::array();
  for (int id = newest; id > newest - size; --id) recent.push_back(entry(id));
  return recent;
}

class RandomDocuments {
 public:
  explicit RandomDocuments(uint32_t seed) : random_(seed) {}

  size_t below(size_t n) { return n == 0 ? 0 : random_() % n; }

  Json scalar() {
    switch (below(6)) {
      case 0:
        return nullptr;
      case 1:
        return below(2) == 1;
      case 2:
        return static_cast<int64_t>(below(1000)) - 500;
      case 3:
        return static_cast<double>(below(1000)) / 8.0;
      case 4:
        return "s" + std::to_string(below(20));
      default:
        return key();  // keys needing escapes as values too
    }
  }

  std::string key() {
    static const char* const keys[] = {"a", "b", "recent", "latest", "n", "x/y", "t~1", "", "z"};
    return keys[below(std::size(keys))];
  }

  Json value(int depth) {
    if (depth <= 0) return scalar();
    switch (below(4)) {
      case 0:
        return scalar();
      case 1: {
        Json array = Json::array();
        for (size_t i = below(7); i > 0; --i) array.push_back(value(depth - 1));
        return array;
      }
      default: {
        Json object = Json::object();
        for (size_t i = below(6); i > 0; --i) object[key()] = value(depth - 1);
        return object;
      }
    }
  }

  // One random edit somewhere in `node`.
  void edit(Json& node, int depth) {
    const size_t choice = below(10);
    if (node.is_object() && !node.empty() && choice < 6) {
      auto it = node.begin();
      std::advance(it, static_cast<std::ptrdiff_t>(below(node.size())));
      if (choice < 4) return edit(it.value(), depth + 1);
      if (choice == 4) {
        node.erase(it);
        return;
      }
      node[key()] = value(2);
      return;
    }
    if (node.is_array() && choice < 8) {
      switch (choice % 6) {
        case 0:  // slide: newest at the front
          node.insert(node.begin(), value(2));
          if (node.size() > 1 && below(3) > 0) node.erase(node.end() - 1);
          return;
        case 1:  // slide: newest at the end
          node.push_back(value(2));
          if (node.size() > 1 && below(3) > 0) node.erase(node.begin());
          return;
        case 2:  // several at once
          for (size_t k = below(4); k > 0; --k) node.insert(node.begin(), value(1));
          for (size_t k = below(4); k > 0 && !node.empty(); --k) node.erase(node.end() - 1);
          return;
        case 3:
          if (!node.empty()) {
            node.erase(node.begin() + static_cast<std::ptrdiff_t>(below(node.size())));
            return;
          }
          [[fallthrough]];
        case 4:
          node.insert(node.begin() + static_cast<std::ptrdiff_t>(below(node.size() + 1)), value(2));
          return;
        default:
          if (!node.empty()) return edit(node[below(node.size())], depth + 1);
      }
    }
    node = below(3) == 0 ? value(2) : scalar();
  }

  // A copy of one of `root`'s objects or arrays put into another of them (at
  // a new key, or inserted at an index); with `move` the original then goes.
  void duplicate(Json& root, bool move) {
    std::vector<Json::json_pointer> containers;
    collect(root, Json::json_pointer(), containers);
    if (containers.size() < 2) return;
    const Json::json_pointer source = containers[1 + below(containers.size() - 1)];
    const Json::json_pointer target = containers[below(containers.size())];
    const Json value = root.at(source);
    Json& into = root.at(target);
    if (into.is_object())
      into[key()] = value;
    else
      into.insert(into.begin() + static_cast<std::ptrdiff_t>(below(into.size() + 1)), value);
    // The source may have shifted or been overwritten: remove what is there if it is still the
    // value.
    if (move && root.contains(source) && root.at(source) == value && source != target)
      root.at(source.parent_pointer()).is_object()
          ? static_cast<void>(root.at(source.parent_pointer()).erase(source.back()))
          : root.at(source.parent_pointer()).erase(std::stoul(source.back()));
  }

 private:
  void collect(const Json& node, const Json::json_pointer& at,
               std::vector<Json::json_pointer>& out) {
    if (!node.is_structured()) return;
    out.push_back(at);
    if (node.is_object())
      for (auto it = node.begin(); it != node.end(); ++it) collect(*it, at / it.key(), out);
    else
      for (size_t i = 0; i < node.size(); ++i) collect(node[i], at / i, out);
  }

 public:
 private:
  std::mt19937 random_;
};

}  // namespace

TEST_CASE("read_model_diff_slides_a_window_with_one_add_and_one_remove", "[live][read_models]") {
  const Json before = {{"recent", window(5, 5)}, {"samples", 5}};
  const Json after = {{"recent", window(6, 5)}, {"samples", 6}};
  const Json patch = read_model_diff(before, after);
  CHECK(patch.size() == 3);
  CHECK(patch[0] == Json({{"op", "add"}, {"path", "/recent/0"}, {"value", entry(6)}}));
  CHECK(patch[1] == Json({{"op", "remove"}, {"path", "/recent/5"}}));
  CHECK(patch[2] == Json({{"op", "replace"}, {"path", "/samples"}, {"value", 6}}));
  CHECK(before.patch(patch) == after);

  // Oldest first: removed at the front, appended at the end.
  Json oldest_first = Json::array({1, 2, 3, 4});
  Json slid = Json::array({2, 3, 4, 5});
  CHECK(read_model_diff(oldest_first, slid) ==
        Json::parse(R"([{"op":"remove","path":"/0"},{"op":"add","path":"/3","value":5}])"));
}

TEST_CASE("read_model_diff_leaves_volatile_paths_out", "[live][read_models]") {
  const Json before =
      Json::parse(R"({"generated_ms":1,"n":1,"sample":[{"id":"A","expires_in_ms":5,"k":1}]})");
  const Json after = Json::parse(
      R"({"generated_ms":2,"n":1,"sample":[{"id":"A","expires_in_ms":4,"k":2},{"id":"B","expires_in_ms":9}]})");
  const std::vector<std::vector<std::string>> volatile_segments = {
      {"generated_ms"}, {"sample", "*", "expires_in_ms"}};
  const Json patch = read_model_diff(before, after, volatile_segments);
  CHECK(patch == Json::parse(R"([
    {"op":"replace","path":"/sample/0/k","value":2},
    {"op":"add","path":"/sample/1","value":{"id":"B","expires_in_ms":9}}])"));
  // Without volatile paths every change is in the patch (the member's three
  // changes as one replace of it, which is shorter).
  CHECK(read_model_diff(before, after) == Json::parse(R"([
    {"op":"replace","path":"/generated_ms","value":2},
    {"op":"replace","path":"/sample","value":[{"id":"A","expires_in_ms":4,"k":2},{"id":"B","expires_in_ms":9}]}])"));
}

TEST_CASE("read_model_patch_of_a_sliding_window_stays_small", "[live][read_models]") {
  const Json before = {{"context", {{"recent", window(50, 5)}, {"latest", entry(50)}}}};
  const Json after = {{"context", {{"recent", window(51, 5)}, {"latest", entry(51)}}}};
  const Json patch = tpark::live::read_model_patch(before, after, 7);
  // The add and the remove, and the latest replaced (the wire has no copy).
  CHECK(patch == Json::parse(R"([
    {"op":"add","path":"/context/recent/0","value":)" +
                             entry(51).dump() + R"(},
    {"op":"remove","path":"/context/recent/5"},
    {"op":"replace","path":"/context/latest","value":)" +
                             entry(51).dump() + R"(}])"));
  CHECK(before.patch(patch) == after);
  CHECK(Json::diff(before, after).dump().size() > 2 * patch.dump().size());
}

TEST_CASE("read_model_diff_copies_a_value_the_patch_already_has", "[live][read_models]") {
  // An entry that moved from one window to another is copied, not rewritten.
  const Json before = {{"a", window(10, 3)}, {"b", window(20, 3)}};
  Json after = before;
  after["b"].insert(after["b"].begin(), entry(9));
  after["b"].erase(after["b"].end() - 1);
  const Json patch = read_model_diff(before, after, {}, PatchOps::with_copy);
  CHECK(patch == Json::parse(R"([
    {"op":"copy","from":"/a/1","path":"/b/0"},
    {"op":"remove","path":"/b/3"}])"));
  CHECK(before.patch(patch) == after);
  // The host's ops write the value out instead.
  CHECK(read_model_diff(before, after) == Json::parse(R"([
    {"op":"add","path":"/b/0","value":)" + entry(9).dump() + R"(},
    {"op":"remove","path":"/b/3"}])"));

  // A replaced element is removed, then copied in from where its value stands.
  const Json list = Json::array({entry(1), entry(2), entry(3)});
  const Json swapped = Json::array({entry(1), entry(3), entry(1)});
  const Json swap_patch = read_model_diff(list, swapped, {}, PatchOps::with_copy);
  CHECK(list.patch(swap_patch) == swapped);
  for (const Json& op : swap_patch) CHECK(op.at("op") != "add");
}

TEST_CASE("read_model_diff_never_copies_from_a_volatile_path", "[live][read_models]") {
  // The client's value at a volatile path may differ from the host's.
  const Json before = {{"cache", {{"sample", entry(3)}}}, {"n", 1}};
  const Json after = {{"cache", {{"sample", entry(3)}}}, {"n", 1}, {"copy", entry(3)}};
  const Json patch = read_model_diff(before, after, {{"cache", "sample"}}, PatchOps::with_copy);
  CHECK(patch == Json::array({{{"op", "add"}, {"path", "/copy"}, {"value", entry(3)}}}));
  CHECK(read_model_diff(before, after, {}, PatchOps::with_copy) ==
        Json::parse(R"([{"op":"copy","from":"/cache/sample","path":"/copy"}])"));
}

TEST_CASE("read_model_diff_applies_with_json_patch_property", "[live][read_models][property]") {
  // The host's ops (add, remove, replace) and, separately, the ops with copy.
  const bool with_copy = GENERATE(false, true);
  INFO((with_copy ? "with copy" : "spec ops"));
  RandomDocuments random(20261206);
  size_t patches = 0, copies = 0;
  for (int document = 0; document < 10000; ++document) {
    Json before = random.value(4);
    const bool windowed = random.below(2) == 0;
    if (windowed) before = Json{{"latest", entry(10)}, {"recent", window(10, 5)}, {"rest", before}};
    // A few rounds of edits per document, each patched from the last.
    for (size_t round = 1 + random.below(3); round > 0; --round) {
      Json after = before;
      for (size_t edits = 1 + random.below(4); edits > 0; --edits) {
        const size_t kind = random.below(8);
        if (kind < 2) {
          random.duplicate(after, kind == 1);  // values copied or moved elsewhere
        } else if (kind == 2 && windowed && after.contains("recent") &&
                   after["recent"].is_array()) {
          // A window slides and `latest` is its newest entry.
          after["recent"].insert(after["recent"].begin(),
                                 entry(static_cast<int>(random.below(100))));
          if (after["recent"].size() > 5) after["recent"].erase(after["recent"].end() - 1);
          after["latest"] = after["recent"][0];
        } else {
          random.edit(after, 0);
        }
      }
      const Json patch =
          read_model_diff(before, after, {}, with_copy ? PatchOps::with_copy : PatchOps::spec);
      INFO("document " << document << ": " << before.dump() << " -> " << after.dump() << " by "
                       << patch.dump());
      Json applied;
      REQUIRE_NOTHROW(applied = before.patch(patch));
      REQUIRE(unordered(applied) == unordered(after));
      if (before == after) CHECK(patch.empty());
      for (const Json& op : patch) {  // the wire's ops only
        const std::string name = op.at("op").get<std::string>();
        REQUIRE((name == "add" || name == "remove" || name == "replace" ||
                 (with_copy && name == "copy")));
        if (name == "copy") ++copies;
      }
      before = std::move(after);
      ++patches;
    }
  }
  CHECK(patches >= 10000);
  if (with_copy) CHECK(copies >= 1000);  // the copies are exercised, not just allowed
}
