// Reading only the members a section keeps from an event payload, in one
// forward pass with simdjson on-demand: no DOM of the whole payload.
//
// A `Keep` tree names the members; KeptReader copies just those into a small
// nlohmann document with the types nlohmann's own parser would give them
// (non-negative integers unsigned, negative ones signed, others double; a
// repeated key keeps its first position and its last value), so the code that
// read the full payload reads the kept one unchanged. Members not named are
// skipped without being materialised.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace tpark::json {

struct Keep {
  // Members kept; empty: the value is kept whole. A value that is not an
  // object is kept whole too (the readers then see its real type).
  std::vector<std::pair<std::string_view, Keep>> members;

  const Keep* find(std::string_view key) const {
    for (const auto& [name, child] : members)
      if (name == key) return &child;
    return nullptr;
  }
};

inline const Keep kWhole{};

// One reader per thread (it holds simdjson's parser and a padded buffer).
class KeptReader {
 public:
  KeptReader();
  ~KeptReader();
  KeptReader(const KeptReader&) = delete;
  KeptReader& operator=(const KeptReader&) = delete;

  // The kept members of `payload`; an empty object when it is not a JSON
  // object or is malformed (as a failed full parse would be read).
  nlohmann::ordered_json read(std::string_view payload, const Keep& keep);
  // The same, telling a payload that is not a readable object apart.
  bool read_object(std::string_view payload, const Keep& keep, nlohmann::ordered_json& out);

 private:
  struct Parser;
  std::unique_ptr<Parser> parser_;
};

}  // namespace tpark::json
