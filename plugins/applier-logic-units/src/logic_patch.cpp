#include "logic_patch.h"

#include <algorithm>
#include <cctype>
#include <map>

namespace tpark::logic_patch {
namespace {

const char* kOps[] = {"set", "merge", "jsonpatch"};
const char* kJsonPatchOps[] = {"add", "remove", "replace", "move", "copy", "test"};

std::vector<std::string> split_target(const std::string& target) {
  std::vector<std::string> segments;
  size_t start = 0;
  while (true) {
    const size_t dot = target.find('.', start);
    segments.push_back(
        target.substr(start, dot == std::string::npos ? std::string::npos : dot - start));
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return segments;
}

std::string escape_segment(const std::string& segment) {
  std::string out;
  for (char c : segment) {
    if (c == '~')
      out += "~0";
    else if (c == '/')
      out += "~1";
    else
      out += c;
  }
  return out;
}

std::string dotted_of_pointer(const std::string& pointer) {
  // "/env/ARW_CONTEXT_K" -> "env.ARW_CONTEXT_K" (segments unescaped)
  std::string out;
  std::string segment;
  for (size_t i = 1; i <= pointer.size(); ++i) {
    if (i == pointer.size() || pointer[i] == '/') {
      std::string unescaped;
      for (size_t j = 0; j < segment.size(); ++j) {
        if (segment[j] == '~' && j + 1 < segment.size()) {
          unescaped += segment[j + 1] == '1' ? '/' : '~';
          ++j;
        } else {
          unescaped += segment[j];
        }
      }
      out += (out.empty() ? "" : ".") + unescaped;
      segment.clear();
    } else {
      segment += pointer[i];
    }
  }
  return out;
}

bool valid_target(const std::string& target) {
  if (target.empty()) return false;
  for (const auto& segment : split_target(target))
    if (segment.empty()) return false;
  return true;
}

// Walks to the node at `segments`, creating missing object intermediates.
// nullptr when an intermediate is not an object.
json* node_at(json& document, const std::vector<std::string>& segments, bool create) {
  json* node = &document;
  for (const auto& segment : segments) {
    if (node->is_null() && create) *node = json::object();
    if (!node->is_object()) return nullptr;
    auto it = node->find(segment);
    if (it == node->end()) {
      if (!create) return nullptr;
      node = &(*node)[segment];
    } else {
      node = &*it;
    }
  }
  return node;
}

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

void scan_text(const std::string& text, size_t idx, const std::string& target,
               const std::string& pointer, json& findings) {
  static const char* ssrf[] = {"169.254.169.254", "metadata.google.internal",
                               "file://",         "127.0.0.1:",
                               "localhost:",      "[::1]:",
                               "0.0.0.0:"};
  static const char* injection[] = {"ignore previous", "ignore all previous",
                                    "disregard instructions", "disregard previous"};
  static const char* secrets[] = {"API_KEY",  "SECRET",      "TOKEN",
                                  "PASSWORD", "PRIVATE_KEY", "-----BEGIN"};
  const std::string folded = lower(text);
  auto add = [&](const char* code, const std::string& detail) {
    findings.push_back({{"idx", idx},
                        {"target", target},
                        {"pointer", pointer},
                        {"code", code},
                        {"detail", detail}});
  };
  for (const char* pattern : ssrf)
    if (folded.find(pattern) != std::string::npos) {
      add("ssrf_pattern", std::string("matches ") + pattern);
      break;
    }
  for (const char* pattern : injection)
    if (folded.find(pattern) != std::string::npos) {
      add("prompt_injection", std::string("matches ") + pattern);
      break;
    }
  for (const char* pattern : secrets)
    if (text.find(pattern) != std::string::npos) {
      add("secret_marker", std::string("contains ") + pattern);
      break;
    }
}

void scan_value(const json& value, size_t idx, const std::string& target,
                const std::string& pointer, json& findings) {
  if (value.is_string()) {
    scan_text(value.get<std::string>(), idx, target, pointer, findings);
  } else if (value.is_object()) {
    for (auto it = value.begin(); it != value.end(); ++it) {
      const std::string child = pointer + "/" + escape_segment(it.key());
      if (it.key() == "permissions" || it.key() == "leases")
        findings.push_back({{"idx", idx},
                            {"target", target},
                            {"pointer", child},
                            {"code", "permissions_change"},
                            {"detail", "key " + it.key()}});
      scan_text(it.key(), idx, target, child, findings);
      scan_value(it.value(), idx, target, child, findings);
    }
  } else if (value.is_array()) {
    for (size_t i = 0; i < value.size(); ++i)
      scan_value(value[i], idx, target, pointer + "/" + std::to_string(i), findings);
  }
}

void flatten_leaves(const json& value, const std::string& pointer,
                    std::map<std::string, json>& out) {
  if (value.is_object() && !value.empty()) {
    for (auto it = value.begin(); it != value.end(); ++it)
      flatten_leaves(it.value(), pointer + "/" + escape_segment(it.key()), out);
  } else {
    out[pointer] = value;
  }
}

}  // namespace

std::vector<PatchError> validate_patches(const json& patches) {
  std::vector<PatchError> errors;
  if (!patches.is_array() || patches.empty()) return {{"patches", "expected a non-empty array"}};
  for (size_t i = 0; i < patches.size(); ++i) {
    const std::string at = "patches." + std::to_string(i);
    const json& patch = patches[i];
    if (!patch.is_object()) {
      errors.push_back({at, "expected an object {target, op, value}"});
      continue;
    }
    auto target = patch.find("target");
    if (target == patch.end() || !target->is_string() || !valid_target(target->get<std::string>()))
      errors.push_back({at + ".target", "expected a dot path such as governor.hints"});
    auto op = patch.find("op");
    const bool op_ok =
        op != patch.end() && op->is_string() &&
        std::find(std::begin(kOps), std::end(kOps), op->get<std::string>()) != std::end(kOps);
    if (!op_ok) errors.push_back({at + ".op", "expected one of set, merge, jsonpatch"});
    auto value = patch.find("value");
    if (value == patch.end()) {
      errors.push_back({at + ".value", "required"});
      continue;
    }
    if (!op_ok || op->get<std::string>() != "jsonpatch") continue;
    if (!value->is_array()) {
      errors.push_back({at + ".value", "expected an RFC 6902 array"});
      continue;
    }
    for (size_t j = 0; j < value->size(); ++j) {
      const json& o = (*value)[j];
      const std::string here = at + ".value." + std::to_string(j);
      const bool shape =
          o.is_object() && o.contains("op") && o["op"].is_string() &&
          std::find(std::begin(kJsonPatchOps), std::end(kJsonPatchOps),
                    o["op"].get<std::string>()) != std::end(kJsonPatchOps) &&
          o.contains("path") && o["path"].is_string() &&
          (o["path"].get<std::string>().empty() || o["path"].get<std::string>()[0] == '/');
      if (!shape) {
        errors.push_back(
            {here, "expected {op: add|remove|replace|move|copy|test, path: <JSON pointer>}"});
        continue;
      }
      const std::string name = o["op"].get<std::string>();
      if ((name == "add" || name == "replace" || name == "test") && !o.contains("value"))
        errors.push_back({here, name + " needs a value"});
      if ((name == "move" || name == "copy") && (!o.contains("from") || !o["from"].is_string()))
        errors.push_back({here, name + " needs from"});
    }
  }
  return errors;
}

std::variant<json, PatchError> apply_patches(const json& document, const json& patches) {
  if (auto errors = validate_patches(patches); !errors.empty()) return errors.front();
  json working = document;
  for (size_t i = 0; i < patches.size(); ++i) {
    const json& patch = patches[i];
    const std::string at = "patches." + std::to_string(i);
    const auto segments = split_target(patch["target"].get<std::string>());
    const std::string op = patch["op"].get<std::string>();
    json* node = node_at(working, segments, true);
    if (node == nullptr)
      return PatchError{at + ".target", "an intermediate of " + patch["target"].get<std::string>() +
                                            " is not an object"};
    if (op == "set") {
      *node = patch["value"];
    } else if (op == "merge") {
      if (!node->is_object() && patch["value"].is_object()) *node = json::object();
      node->merge_patch(patch["value"]);
    } else {
      try {
        *node = node->patch(patch["value"]);
      } catch (const json::exception& e) {
        return PatchError{at + ".value", std::string("jsonpatch failed: ") + e.what(), true};
      }
    }
  }
  return working;
}

json diff_documents(const json& before, const json& after) {
  std::map<std::string, json> old_leaves, new_leaves;
  flatten_leaves(before, "", old_leaves);
  flatten_leaves(after, "", new_leaves);
  json summary = json::array();
  auto entry = [&](const std::string& pointer, const char* op, const json& b, const json& a) {
    summary.push_back({{"target", dotted_of_pointer(pointer)},
                       {"pointer", pointer},
                       {"op", op},
                       {"before", b},
                       {"after", a}});
  };
  for (const auto& [pointer, value] : new_leaves) {
    auto it = old_leaves.find(pointer);
    const bool old_unset = it == old_leaves.end() || it->second.is_null();
    if (old_unset && value.is_null()) continue;
    if (old_unset)
      entry(pointer, "add", nullptr, value);
    else if (value.is_null())
      entry(pointer, "remove", it->second, nullptr);
    else if (it->second != value)
      entry(pointer, "replace", it->second, value);
  }
  for (const auto& [pointer, value] : old_leaves)
    if (!new_leaves.count(pointer) && !value.is_null()) entry(pointer, "remove", value, nullptr);
  return {{"diff_summary", summary}, {"json_patch", json::diff(before, after)}};
}

json safety_scan(const json& patches) {
  json findings = json::array();
  if (!patches.is_array()) return findings;
  for (size_t i = 0; i < patches.size(); ++i) {
    const json& patch = patches[i];
    if (!patch.is_object()) continue;
    const std::string target = patch.value("target", "");
    const auto segments = split_target(target);
    const std::string base = "/patches/" + std::to_string(i);
    bool permissions = !segments.empty() && segments.front() == "policy";
    for (const auto& s : segments) permissions = permissions || s == "permissions" || s == "leases";
    if (permissions)
      findings.push_back({{"idx", i},
                          {"target", target},
                          {"pointer", base + "/target"},
                          {"code", "permissions_change"},
                          {"detail", "target " + target}});
    scan_text(target, i, target, base + "/target", findings);
    if (patch.contains("value")) scan_value(patch["value"], i, target, base + "/value", findings);
  }
  return findings;
}

}  // namespace tpark::logic_patch
