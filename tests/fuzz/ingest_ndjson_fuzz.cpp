// fuzz-max-len: 4194304
// libFuzzer target: the NDJSON ingest parser (telemetry.md 1.3) on arbitrary
// bytes, up to the ingest route's body limit (4 MiB). It must never crash;
// every line is either an event or a rejection, rejections are sorted by
// line, and an accepted payload is canonical JSON that re-canonicalises to
// itself.
#include <algorithm>
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
  // The first good line, as a source message, reads the same whether the
  // subject names its kind or not (the NATS path).
  if (!batch.events.empty()) {
    size_t start = 0;
    uint64_t number = 1;
    std::string_view rest = body;
    if (rest.substr(0, 3) == "\xEF\xBB\xBF") rest.remove_prefix(3);
    for (;;) {
      const size_t end = std::min(rest.find('\n', start), rest.size());
      std::string_view line = rest.substr(start, end - start);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      const bool rejected = std::any_of(batch.rejected.begin(), batch.rejected.end(),
                                        [&](const auto& r) { return r.line == number; });
      const bool blank = line.find_first_not_of(" \t\r\n\v\f") == std::string_view::npos;
      if (!rejected && !blank) {
        const tpark::NewEvent& first = batch.events.front();
        for (const std::string_view hint : {std::string_view(), std::string_view(first.kind)}) {
          tpark::NewEvent event;
          if (tpark::parse_source_message(line, "", hint, 1700000000000, options, event) ||
              event.kind != first.kind || event.payload != first.payload ||
              event.time_ms != first.time_ms || event.node != first.node)
            std::abort();
        }
        break;
      }
      if (end >= rest.size()) break;
      start = end + 1;
      ++number;
    }
  }
  for (const auto& event : batch.events) {
    if (event.kind.empty()) std::abort();
    if (!event.payload.empty()) {
      auto again = tpark::canonicalize_json(event.payload);
      if (!again || *again != event.payload) std::abort();
    }
  }
  return 0;
}
