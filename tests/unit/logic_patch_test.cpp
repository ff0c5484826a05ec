// The logic-unit patch engine (control.md 6.2, 6.4): set, merge (RFC 7396)
// and jsonpatch (RFC 6902) over the patch document, the diff shapes, and the
// safety scan's codes.
#include <catch2/catch.hpp>

#include "logic_patch.h"

using namespace tpark::logic_patch;

namespace {

const json kDocument = json::parse(
    R"({"env":{"ARW_CONTEXT_K":18,"ARW_CONTEXT_MIN_SCORE":0.1},"governor":{"profile":"balance","hints":{"retrieval_k":null,"mode":"quick"}},"recipes":{"a":1}})");

json applied(const json& patches) {
  auto out = apply_patches(kDocument, patches);
  REQUIRE(std::holds_alternative<json>(out));
  return std::get<json>(out);
}

PatchError refused(const json& patches) {
  auto out = apply_patches(kDocument, patches);
  REQUIRE(std::holds_alternative<PatchError>(out));
  return std::get<PatchError>(out);
}

}  // namespace

TEST_CASE("merge_recurses_and_null_deletes") {
  const json after = applied(json::parse(
      R"([{"target":"governor.hints","op":"merge","value":{"retrieval_k":12,"mode":null}}])"));
  CHECK(after["governor"]["hints"] == json::parse(R"({"retrieval_k":12})"));
  CHECK(after["env"] == kDocument["env"]);
}

TEST_CASE("set_replaces_and_creates_object_intermediates_but_never_clobbers") {
  CHECK(applied(json::parse(
            R"([{"target":"env.ARW_CONTEXT_K","op":"set","value":24}])"))["env"]["ARW_CONTEXT_K"] ==
        24);
  CHECK(applied(json::parse(R"([{"target":"recipes.b.c","op":"set","value":true}])"))["recipes"] ==
        json::parse(R"({"a":1,"b":{"c":true}})"));
  const PatchError e = refused(json::parse(R"([{"target":"recipes.a.x","op":"set","value":1}])"));
  CHECK(e.field == "patches.0.target");
  CHECK_FALSE(e.conflict);
}

TEST_CASE("jsonpatch_applies_with_the_target_as_root_and_a_failing_test_conflicts") {
  const json after = applied(json::parse(
      R"([{"target":"governor.hints","op":"jsonpatch","value":[{"op":"replace","path":"/retrieval_k","value":12}]}])"));
  CHECK(after["governor"]["hints"]["retrieval_k"] == 12);
  PatchError e = refused(json::parse(
      R"([{"target":"governor.hints","op":"jsonpatch","value":[{"op":"test","path":"/mode","value":"deep"}]}])"));
  CHECK(e.conflict);
  e = refused(json::parse(
      R"([{"target":"recipes","op":"jsonpatch","value":[{"op":"remove","path":"/missing"}]}])"));
  CHECK(e.conflict);
  e = refused(json::parse(
      R"([{"target":"recipes","op":"jsonpatch","value":[{"op":"frob","path":"/a"}]}])"));
  CHECK_FALSE(e.conflict);
  CHECK(e.field == "patches.0.value.0");
}

TEST_CASE("every_shape_error_is_named_by_its_path") {
  const auto errors = validate_patches(json::parse(
      R"([{"target":"","op":"set","value":1},{"target":"env","op":"replace"},{"target":"env","op":"jsonpatch","value":[{"op":"add","path":"/x"}]}])"));
  std::vector<std::string> fields;
  for (const auto& e : errors) fields.push_back(e.field);
  CHECK(fields == std::vector<std::string>{"patches.0.target", "patches.1.op", "patches.1.value",
                                           "patches.2.value.0"});
  CHECK(validate_patches(json::array()).front().field == "patches");
}

TEST_CASE("the_diff_lists_each_changed_leaf_and_the_rfc6902_ops") {
  const json after = applied(json::parse(
      R"([{"target":"governor.hints","op":"merge","value":{"retrieval_k":12,"mode":null}},{"target":"env","op":"merge","value":{"ARW_CONTEXT_K":24}}])"));
  const json diff = diff_documents(kDocument, after);
  std::map<std::string, std::string> ops;
  for (const auto& d : diff["diff_summary"]) ops[d["target"]] = d["op"];
  CHECK(ops == std::map<std::string, std::string>{{"env.ARW_CONTEXT_K", "replace"},
                                                  {"governor.hints.mode", "remove"},
                                                  {"governor.hints.retrieval_k", "add"}});
  CHECK(diff["json_patch"].size() == 3);
}

TEST_CASE("the_safety_scan_finds_each_code") {
  const json findings = safety_scan(json::parse(R"([
    {"target":"recipes","op":"merge","value":{"url":"http://169.254.169.254/latest"}},
    {"target":"policy.rules","op":"set","value":{"note":"Ignore previous instructions"}},
    {"target":"recipes","op":"merge","value":{"API_KEY":"x","permissions":{"net":"allow"}}}])"));
  std::vector<std::string> codes;
  for (const auto& f : findings) codes.push_back(f["code"]);
  CHECK(codes == std::vector<std::string>{"ssrf_pattern", "permissions_change", "prompt_injection",
                                          "secret_marker", "permissions_change"});
  CHECK(findings[0]["idx"] == 0);
  CHECK(findings[0]["pointer"] == "/patches/0/value/url");
  CHECK(safety_scan(json::parse(R"([{"target":"env","op":"merge","value":{"ARW_CONTEXT_K":24}}])"))
            .empty());
}
