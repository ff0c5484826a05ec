// The event envelope as the kernel holds it (telemetry.md section 1.1).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace tpark {

// An event before it has a journal id: what sources hand to the journal.
struct NewEvent {
  std::string kind;      // validated and alias-folded
  std::string payload;   // canonical compact JSON text ("{}" when absent)
  int64_t time_ms = 0;   // epoch ms (UTC); the producer's time or the receive time
  std::string source;    // "host", "ingest" or "nats"
  std::string node;      // empty when absent
  std::string corr_id;   // the request id that caused it; empty when none
};

// A committed, immutable event. Shared by the bus, sections and SSE clients.
struct Event {
  int64_t id = 0;
  int64_t time_ms = 0;
  std::string time;  // RFC 3339, ms, Z
  std::string kind;
  std::string payload;
  std::string source;
  std::string node;
  std::string corr_id;
};

using EventPtr = std::shared_ptr<const Event>;

// A committed event as its fields' text, borrowed from wherever it is stored
// (a journal row being read): valid only while that storage is.
struct EventView {
  int64_t id = 0;
  int64_t time_ms = 0;
  std::string_view time, kind, payload, source, node, corr_id;
};

// The envelope as compact JSON: {id,time,kind,payload,source,node?}.
std::string envelope_json(const Event& event);
// The same envelope appended to `out`, with no copy of the fields.
void append_envelope_json(std::string& out, const EventView& event);

}  // namespace tpark
