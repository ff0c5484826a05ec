// The read models' own RFC 6902 diff: patches proportional to the change.
//
// nlohmann's json::diff compares arrays index by index, so a `recent` window
// that slides by one entry rewrites every element. This diff aligns arrays
// first: the common prefix and suffix stay, then the longest run of equal
// elements that starts at the head of one side (a shift: entries removed at
// the front and added at the end, or added at the front and removed at the
// end) stays too, and only what is left is compared index by index. Objects
// are compared key by key as the library does. A member or element whose own
// ops would be longer than its new value is one `replace`.
//
// Values the patch already has at hand are not written twice: walking the
// ops over the document as they leave it, an `add` or `replace` of an object
// or array that already stands somewhere becomes a `copy` from there when
// that is shorter (`latest` equal to `recent[0]`, an entry that moved from
// one window to another); a replaced array element becomes `remove` + `copy`.
// That is only with PatchOps::with_copy. The read models' wire allows the ops
// add, remove and replace alone (existing clients apply no others), so the
// host diffs with PatchOps::spec, the default; with_copy is kept, tested, for
// consumers that accept every RFC 6902 op.
//
// Volatile paths (JSON Pointers, "*" matching any key or index) present on
// both sides are left out: the client keeps the value it has. A volatile
// member that appears or disappears is added or removed like any other. A
// copy never reads at, above or below a volatile path.
//
// The result applies with nlohmann's json::patch: patch(previous, diff) equals
// `next` except at volatile paths present on both sides.
#pragma once

#include <string>
#include <vector>

#include "util/json.h"

namespace tpark::live {

enum class PatchOps {
  spec,       // add, remove, replace
  with_copy,  // also copy, where it is shorter
};

Json read_model_diff(const Json& previous, const Json& next,
                     const std::vector<std::vector<std::string>>& volatile_segments = {},
                     PatchOps ops = PatchOps::spec);

}  // namespace tpark::live
