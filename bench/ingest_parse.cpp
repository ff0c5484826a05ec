// The HTTP ingest route's parse step alone: parse_ndjson over 1,000-line
// bodies of the ingest benchmark's context.coverage lines, on one thread.
// Prints the cost per event, to set beside the journal's insert cost.
//
//   bench_ingest_parse [events=1000000] [lines_per_body=1000]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "kernel/ingest.h"
#include "support/bench_support.h"

using Clock = std::chrono::steady_clock;

int main(int argc, char** argv) {
  if (tpark::test::help_requested(
          argc, argv,
          "usage: bench_ingest_parse [events=1000000] [lines_per_body=1000]\nThe HTTP ingest "
          "route's parse step alone: parse_ndjson over 1,000-line bodies of the ingest benchmark's "
          "context.coverage lines, on one thread.\n"))
    return 0;
  const size_t events = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 1000000;
  const size_t per_body = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 1000;
  std::vector<std::string> bodies;
  for (size_t i = 0; i < events; i += per_body) {
    std::string body;
    for (size_t j = i; j < i + per_body && j < events; ++j)
      body += tpark::test::coverage_event_line(j);
    bodies.push_back(std::move(body));
  }
  tpark::IngestOptions options;
  options.corr_id = "01JDQ0000000000000000000000";
  // A first pass warms the allocator and the caches; the second is timed.
  size_t accepted = 0;
  for (const auto& body : bodies)
    accepted += tpark::parse_ndjson(body, 1795000000000, options).events.size();
  accepted = 0;
  const auto start = Clock::now();
  for (const auto& body : bodies)
    accepted += tpark::parse_ndjson(body, 1795000000000, options).events.size();
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  std::printf(
      "ingest_parse: %zu events in %.3f s: %.0f ns per event (%.0f events/s on one thread)\n",
      accepted, seconds, 1e9 * seconds / static_cast<double>(accepted),
      static_cast<double>(accepted) / seconds);
  return accepted == events ? 0 : 1;
}
