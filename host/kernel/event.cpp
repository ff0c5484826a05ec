#include "kernel/event.h"

#include "kernel/json_text.h"

namespace tpark {

std::string envelope_json(const Event& event) {
  std::string out;
  // Fixed keys plus quoting take under 64 bytes; one allocation in the common case.
  out.reserve(64 + event.time.size() + event.kind.size() + event.payload.size() +
              event.source.size() + event.node.size());
  out.append("{\"id\":");
  append_json_int(out, event.id);
  out.append(",\"time\":");
  append_json_string(out, event.time);
  out.append(",\"kind\":");
  append_json_string(out, event.kind);
  out.append(",\"payload\":");
  out.append(event.payload.empty() ? std::string_view("{}") : std::string_view(event.payload));
  out.append(",\"source\":");
  append_json_string(out, event.source);
  if (!event.node.empty()) {
    out.append(",\"node\":");
    append_json_string(out, event.node);
  }
  out.push_back('}');
  return out;
}

}  // namespace tpark
