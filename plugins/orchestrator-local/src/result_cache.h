// The result cache of control.md 5.5: a job whose mode, knobs, base and
// collected samples equal an earlier completed job's reuses that job's
// computation. Entries live in this process and, through the host, in its
// SQLite state: a completed job's report carries its entry
// ({key, computation}), the host stores it with the job's logic unit, and
// the state read "training_cache" hands the stored entries back after a
// restart (docs/training.md).
#pragma once

#include <cstddef>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "training_model.h"

namespace tpark::training_model {

// A Computation as JSON and back; doubles round-trip exactly. from_json
// throws nlohmann::json::exception on a document of another shape.
json computation_to_json(const Computation& computation);
Computation computation_from_json(const json& document);

// The stored key of cache_key's text: 32 hex digits (two 64-bit FNV-1a
// hashes with different offsets), so a key stays small however many samples.
std::string cache_digest(std::string_view key_text);

class ResultCache {
 public:
  static constexpr size_t kEntries = 64;  // the host keeps as many

  struct Entry {
    std::string job_id;
    Computation computation;
  };

  std::optional<Entry> find(const std::string& digest) const;
  // Adds or replaces an entry; the oldest goes beyond kEntries.
  void store(const std::string& digest, std::string job_id, Computation computation);
  // Adds the entries of the host's state read {entries: [{key, job_id,
  // computation}]} (oldest first), skipping malformed ones; returns how many.
  size_t load(const json& state);
  size_t size() const { return entries_.size(); }

 private:
  std::map<std::string, Entry> entries_;
  std::deque<std::string> order_;  // oldest first
};

}  // namespace tpark::training_model
