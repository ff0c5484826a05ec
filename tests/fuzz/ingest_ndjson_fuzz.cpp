// fuzz-max-len: 4194304
// libFuzzer target: the NDJSON ingest parser (telemetry.md 1.3) on arbitrary
// bytes, up to the ingest route's body limit (4 MiB). It must never crash;
// every line is either an event or a rejection, rejections are sorted by
// line, and an accepted payload is canonical JSON that re-canonicalises to
// itself.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "kernel/ingest.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  tpark::IngestOptions options;
  options.max_line_bytes = 4096;  // small, so line_too_large is reached too
  const tpark::IngestBatch batch = tpark::parse_ndjson(body, 1700000000000, options);
  for (size_t i = 1; i < batch.rejected.size(); ++i)
    if (batch.rejected[i - 1].line >= batch.rejected[i].line) std::abort();
  for (const auto& event : batch.events) {
    if (event.kind.empty()) std::abort();
    if (!event.payload.empty()) {
      auto again = tpark::canonicalize_json(event.payload);
      if (!again || *again != event.payload) std::abort();
    }
  }
  return 0;
}
