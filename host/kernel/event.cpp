#include "kernel/event.h"

#include "kernel/json_text.h"

namespace tpark {

std::string envelope_json(const Event& event) {
  std::string out;
  // Fixed keys plus quoting take under 64 bytes; one allocation in the common case.
  out.reserve(64 + event.time.size() + event.kind.size() + event.payload.size() +
              event.source.size() + event.node.size());
  append_envelope_json(out, EventView{.id = event.id,
                                      .time_ms = event.time_ms,
                                      .time = event.time,
                                      .kind = event.kind,
                                      .payload = event.payload,
                                      .source = event.source,
                                      .node = event.node,
                                      .corr_id = event.corr_id});
  return out;
}

void append_envelope_json(std::string& out, const EventView& event) {
  out.append("{\"id\":");
  append_json_int(out, event.id);
  out.append(",\"time\":");
  append_json_string(out, event.time);
  out.append(",\"kind\":");
  append_json_string(out, event.kind);
  out.append(",\"payload\":");
  out.append(event.payload.empty() ? std::string_view("{}") : event.payload);
  out.append(",\"source\":");
  append_json_string(out, event.source);
  if (!event.node.empty()) {
    out.append(",\"node\":");
    append_json_string(out, event.node);
  }
  out.push_back('}');
}

}  // namespace tpark
