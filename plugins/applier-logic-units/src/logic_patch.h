// The patch engine of logic units (control.md 6.2, 6.4) as pure functions:
// the shapes of a patches array, the set / merge (RFC 7396) / jsonpatch
// (RFC 6902) ops applied in order to a copy of the patch document through
// nlohmann's own merge_patch and patch, the diff shapes, and the safety scan.
#pragma once

#include <optional>
#include <string>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

namespace tpark::logic_patch {

using json = nlohmann::ordered_json;

struct PatchError {
  std::string field;  // dotted path as sent: patches.0.op, patches.1.value.2
  std::string message;
  bool conflict = false;  // 409: a jsonpatch test failed, or replace/remove on a missing path
};

// Every shape error of `patches` (an array of >= 1 {target, op, value}).
std::vector<PatchError> validate_patches(const json& patches);

// The document after every patch, or the first error.
std::variant<json, PatchError> apply_patches(const json& document, const json& patches);

// {diff_summary, json_patch}: one diff_summary entry per changed leaf
// {target, pointer, op, before, after}; json_patch as RFC 6902 ops.
json diff_documents(const json& before, const json& after);

// control.md 6.4 findings [{idx, target, pointer, code, detail}].
json safety_scan(const json& patches);

}  // namespace tpark::logic_patch
