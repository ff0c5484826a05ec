#include "kernel/ingest.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <cstring>

#include <simdjson.h>

#include "kernel/json_text.h"
#include "kernel/kinds.h"
#include "util/json.h"
#include "util/json_limits.h"
#include "util/time.h"

namespace tpark {
namespace {

// simdjson's default nesting limit (a scalar counts as one level below its
// container). The fallback enforces the same, so both paths accept the same texts.
constexpr size_t kMaxDepth = kMaxJsonDepth;
static_assert(kMaxDepth == simdjson::DEFAULT_MAX_DEPTH);
constexpr std::string_view kUtf8Bom = "\xEF\xBB\xBF";

namespace error {
constexpr const char* kLineTooLarge = "line_too_large";
constexpr const char* kInvalidJson = "invalid_json";
constexpr const char* kNotAnObject = "not_an_object";
constexpr const char* kMissingKind = "missing_kind";
constexpr const char* kInvalidKind = "invalid_kind";
constexpr const char* kReservedKind = "reserved_kind";
constexpr const char* kInvalidTime = "invalid_time";
constexpr const char* kInvalidNode = "invalid_node";
}  // namespace error

// ---------------------------------------------------------------------------
// simdjson fast path

enum class DomParse { ok, not_json, number_error };

// Parses into the calling thread's parser. simdjson reads up to
// SIMDJSON_PADDING bytes past the end of its input (their content does not
// change the result): a text followed by at least that many bytes of the same
// buffer (`readable_after`, e.g. the next lines of a body) is parsed where it
// is, any other is first copied into a buffer with room for the padding.
DomParse parse_dom(std::string_view text, size_t readable_after, simdjson::dom::element& root) {
  thread_local simdjson::dom::parser parser;
  thread_local std::string padded;
  const char* input = text.data();
  if (readable_after < simdjson::SIMDJSON_PADDING) {
    if (padded.size() < text.size() + simdjson::SIMDJSON_PADDING)
      padded.resize(text.size() + simdjson::SIMDJSON_PADDING);
    std::memcpy(padded.data(), text.data(), text.size());
    input = padded.data();
  }
  auto result = parser.parse(input, text.size(), /*realloc_if_needed=*/false);
  switch (result.error()) {
    case simdjson::SUCCESS:
      root = result.value_unsafe();
      return DomParse::ok;
    case simdjson::NUMBER_ERROR:
    case simdjson::NUMBER_OUT_OF_RANGE:
      return DomParse::number_error;
    default:
      return DomParse::not_json;
  }
}

// nlohmann keeps one entry per key (the first position, the last value), so an
// object with a repeated key is left to the fallback to keep both paths equal.
bool has_duplicate_keys(simdjson::dom::object object) {
  thread_local std::vector<std::string_view> keys;
  keys.clear();
  for (auto field : object) keys.push_back(field.key);
  if (keys.size() < 2) return false;
  if (keys.size() <= 16) {
    for (size_t i = 1; i < keys.size(); ++i)
      for (size_t j = 0; j < i; ++j)
        if (keys[i] == keys[j]) return true;
    return false;
  }
  std::sort(keys.begin(), keys.end());
  return std::adjacent_find(keys.begin(), keys.end()) != keys.end();
}

// Writes `element` compactly in document order. Returns false if the text needs
// the fallback (a repeated key).
bool write_canonical(simdjson::dom::element element, std::string& out) {
  using Type = simdjson::dom::element_type;
  switch (element.type()) {
    case Type::OBJECT: {
      simdjson::dom::object object = element.get_object().value_unsafe();
      if (has_duplicate_keys(object)) return false;
      out.push_back('{');
      bool first = true;
      for (auto field : object) {
        if (!first) out.push_back(',');
        first = false;
        append_json_string(out, field.key);
        out.push_back(':');
        if (!write_canonical(field.value, out)) return false;
      }
      out.push_back('}');
      return true;
    }
    case Type::ARRAY: {
      out.push_back('[');
      bool first = true;
      // A named copy: ranging over the temporary result would dangle.
      const simdjson::dom::array array = element.get_array().value_unsafe();
      for (auto item : array) {
        if (!first) out.push_back(',');
        first = false;
        if (!write_canonical(item, out)) return false;
      }
      out.push_back(']');
      return true;
    }
    case Type::STRING:
      append_json_string(out, element.get_string().value_unsafe());
      return true;
    case Type::INT64:
      append_json_int(out, element.get_int64().value_unsafe());
      return true;
    case Type::UINT64:
      append_json_uint(out, element.get_uint64().value_unsafe());
      return true;
    case Type::DOUBLE:
      append_json_double(out, element.get_double().value_unsafe());
      return true;
    case Type::BOOL:
      out.append(element.get_bool().value_unsafe() ? "true" : "false");
      return true;
    case Type::NULL_VALUE:
      out.append("null");
      return true;
  }
  return false;
}

// ---------------------------------------------------------------------------
// nlohmann fallback

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// Length of the JSON number at the start of `text` (0 if there is none).
size_t json_number_length(std::string_view text) {
  size_t i = 0;
  if (i < text.size() && text[i] == '-') ++i;
  if (i < text.size() && text[i] == '0') {
    ++i;
  } else if (i < text.size() && text[i] >= '1' && text[i] <= '9') {
    while (i < text.size() && is_digit(text[i])) ++i;
  } else {
    return 0;
  }
  if (i + 1 < text.size() && text[i] == '.' && is_digit(text[i + 1])) {
    i += 2;
    while (i < text.size() && is_digit(text[i])) ++i;
  }
  if (i < text.size() && (text[i] == 'e' || text[i] == 'E')) {
    size_t j = i + 1;
    if (j < text.size() && (text[j] == '+' || text[j] == '-')) ++j;
    if (j < text.size() && is_digit(text[j])) {
      while (j < text.size() && is_digit(text[j])) ++j;
      i = j;
    }
  }
  return i;
}

// nlohmann refuses numbers that overflow a double; the spec wants them as null.
// This rewrites each such number token (outside strings) as `null`, and rejects
// what simdjson rejects before nlohmann sees it: a BOM and deeper nesting than
// kMaxDepth. Everything else is copied, so malformed text stays malformed.
std::optional<std::string> prepare_for_nlohmann(std::string_view text) {
  if (text.substr(0, kUtf8Bom.size()) == kUtf8Bom) return std::nullopt;
  std::string out;
  out.reserve(text.size());
  size_t depth = 0;
  size_t i = 0;
  while (i < text.size()) {
    const char c = text[i];
    if (c == '"') {
      if (depth >= kMaxDepth) return std::nullopt;
      size_t j = i + 1;
      while (j < text.size() && text[j] != '"') j += text[j] == '\\' ? 2 : 1;
      j = std::min(j + 1, text.size());
      out.append(text.substr(i, j - i));
      i = j;
    } else if (c == '[' || c == '{') {
      if (++depth > kMaxDepth) return std::nullopt;
      out.push_back(c);
      ++i;
    } else if (c == ']' || c == '}') {
      if (depth > 0) --depth;
      out.push_back(c);
      ++i;
    } else if (c == '-' || is_digit(c)) {
      if (depth >= kMaxDepth) return std::nullopt;
      size_t length = json_number_length(text.substr(i));
      if (length == 0) length = 1;  // a lone '-': copied, nlohmann rejects it
      const std::string token(text.substr(i, length));
      const double value = std::strtod(token.c_str(), nullptr);
      out.append(std::isinf(value) ? std::string_view("null") : std::string_view(token));
      i += length;
    } else {
      if ((c == 't' || c == 'f' || c == 'n') && depth >= kMaxDepth) return std::nullopt;
      out.push_back(c);
      ++i;
    }
  }
  return out;
}

std::optional<Json> parse_with_nlohmann(std::string_view text) {
  auto prepared = prepare_for_nlohmann(text);
  if (!prepared) return std::nullopt;
  Json document = Json::parse(*prepared, nullptr, /*allow_exceptions=*/false);
  if (document.is_discarded()) return std::nullopt;
  return document;
}

std::string dump_compact(const Json& value) {
  return value.dump(-1, ' ', /*ensure_ascii=*/false, Json::error_handler_t::strict);
}

// ---------------------------------------------------------------------------
// Line validation, shared by both parsers

enum class Presence { absent, string, other };

struct LineFields {
  Presence kind = Presence::absent, time = Presence::absent, node = Presence::absent;
  std::string_view kind_text, time_text, node_text;
};

// The checks after "not an object", in the spec's order. Fills everything of
// `out` but the payload.
const char* check_fields(const LineFields& fields, int64_t receive_ms, NewEvent& out) {
  if (fields.kind != Presence::string) return error::kMissingKind;
  std::string kind = fold_kind_alias(fields.kind_text);
  if (!kind_is_valid(kind)) return error::kInvalidKind;
  if (kind_is_stream(kind) || kind_is_host_owned(kind)) return error::kReservedKind;
  int64_t time_ms = receive_ms;
  if (fields.time == Presence::other) return error::kInvalidTime;
  if (fields.time == Presence::string) {
    auto parsed = parse_rfc3339_ms(fields.time_text);
    if (!parsed) return error::kInvalidTime;
    time_ms = *parsed;
  }
  if (fields.node == Presence::other) return error::kInvalidNode;
  if (fields.node == Presence::string && !node_is_valid(fields.node_text))
    return error::kInvalidNode;
  out.kind = std::move(kind);
  out.time_ms = time_ms;
  out.node.assign(fields.node_text);
  return nullptr;
}

// `default_kind` stands for an absent `kind` (a source's subject kind).
const char* parse_line_with_nlohmann(std::string_view line, int64_t receive_ms,
                                     std::string_view default_kind, NewEvent& out) {
  auto document = parse_with_nlohmann(line);
  if (!document) return error::kInvalidJson;
  if (!document->is_object()) return error::kNotAnObject;
  LineFields fields;
  auto inspect = [&](const char* key, Presence& presence, std::string_view& text) {
    auto it = document->find(key);
    if (it == document->end()) return;
    if (!it->is_string()) {
      presence = Presence::other;
      return;
    }
    presence = Presence::string;
    text = it->get_ref<const std::string&>();
  };
  inspect("kind", fields.kind, fields.kind_text);
  inspect("time", fields.time, fields.time_text);
  inspect("node", fields.node, fields.node_text);
  if (fields.kind == Presence::absent && !default_kind.empty()) {
    fields.kind = Presence::string;
    fields.kind_text = default_kind;
  }
  if (const char* failure = check_fields(fields, receive_ms, out)) return failure;
  auto payload = document->find("payload");
  out.payload = payload == document->end() ? "{}" : dump_compact(*payload);
  return nullptr;
}

bool is_blank(std::string_view line) {
  return std::all_of(line.begin(), line.end(), [](char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
  });
}

}  // namespace

bool node_is_valid(std::string_view node) {
  if (node.empty() || node.size() > 64) return false;
  return std::all_of(node.begin(), node.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || is_digit(c) || c == '_' || c == '-';
  });
}

std::optional<std::string> canonicalize_json_with_nlohmann(std::string_view text) {
  auto document = parse_with_nlohmann(text);
  if (!document) return std::nullopt;
  return dump_compact(*document);
}

std::optional<std::string> canonicalize_json(std::string_view text) {
  simdjson::dom::element root;
  switch (parse_dom(text, 0, root)) {
    case DomParse::not_json:
      return std::nullopt;
    case DomParse::number_error:
      return canonicalize_json_with_nlohmann(text);
    case DomParse::ok:
      break;
  }
  std::string out;
  out.reserve(text.size());
  if (write_canonical(root, out)) return out;
  return canonicalize_json_with_nlohmann(text);
}

namespace {

// parse_event_line for a line followed by `readable_after` bytes of its
// buffer; `default_kind` stands for an absent `kind`.
std::optional<std::string> parse_line(std::string_view line, size_t readable_after,
                                      int64_t receive_ms, const IngestOptions& options,
                                      NewEvent& out, std::string_view default_kind = {}) {
  if (line.size() > options.max_line_bytes) return error::kLineTooLarge;
  const char* failure = nullptr;
  simdjson::dom::element root;
  switch (parse_dom(line, readable_after, root)) {
    case DomParse::not_json:
      return error::kInvalidJson;
    case DomParse::number_error:
      failure = parse_line_with_nlohmann(line, receive_ms, default_kind, out);
      break;
    case DomParse::ok: {
      if (!root.is_object()) return error::kNotAnObject;
      LineFields fields;
      simdjson::dom::element payload;
      bool has_payload = false;
      // Later duplicates win, as in nlohmann's object model.
      const simdjson::dom::object object = root.get_object().value_unsafe();
      for (auto field : object) {
        auto note = [&](Presence& presence, std::string_view& text) {
          presence = field.value.is_string() ? Presence::string : Presence::other;
          if (presence == Presence::string) text = field.value.get_string().value_unsafe();
        };
        if (field.key == "kind") {
          note(fields.kind, fields.kind_text);
        } else if (field.key == "time") {
          note(fields.time, fields.time_text);
        } else if (field.key == "node") {
          note(fields.node, fields.node_text);
        } else if (field.key == "payload") {
          payload = field.value;
          has_payload = true;
        }
      }
      if (fields.kind == Presence::absent && !default_kind.empty()) {
        fields.kind = Presence::string;
        fields.kind_text = default_kind;
      }
      failure = check_fields(fields, receive_ms, out);
      if (failure) break;
      if (!has_payload) {
        out.payload = "{}";
        break;
      }
      out.payload.clear();
      out.payload.reserve(line.size());  // the payload is a part of the line
      if (!write_canonical(payload, out.payload))
        failure = parse_line_with_nlohmann(line, receive_ms, default_kind, out);
      break;
    }
  }
  if (failure) return failure;
  out.source = options.source;
  out.corr_id = options.corr_id;
  return std::nullopt;
}

}  // namespace

std::optional<std::string> parse_event_line(std::string_view line, int64_t receive_ms,
                                            const IngestOptions& options, NewEvent& out) {
  return parse_line(line, 0, receive_ms, options, out);
}

IngestBatch parse_ndjson(std::string_view body, int64_t receive_ms, const IngestOptions& options) {
  IngestBatch batch;
  if (body.substr(0, kUtf8Bom.size()) == kUtf8Bom) body.remove_prefix(kUtf8Bom.size());
  batch.events.reserve(static_cast<size_t>(std::count(body.begin(), body.end(), '\n')) + 1);
  uint64_t line_number = 0;
  size_t start = 0;
  while (start <= body.size()) {
    const void* newline = std::memchr(body.data() + start, '\n', body.size() - start);
    const size_t end = newline
                           ? static_cast<size_t>(static_cast<const char*>(newline) - body.data())
                           : body.size();
    std::string_view line = body.substr(start, end - start);
    ++line_number;
    start = end + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (is_blank(line)) continue;
    // The rest of the body follows the line in the same buffer.
    const size_t readable_after =
        body.size() - static_cast<size_t>(line.data() + line.size() - body.data());
    NewEvent event;
    if (auto failure = parse_line(line, readable_after, receive_ms, options, event))
      batch.rejected.push_back({line_number, std::move(*failure)});
    else
      batch.events.push_back(std::move(event));
  }
  return batch;
}

std::optional<std::string> parse_source_message(std::string_view body, std::string_view node,
                                                std::string_view kind_hint, int64_t receive_ms,
                                                const IngestOptions& options, NewEvent& out) {
  if (!node.empty() && !node_is_valid(node)) return error::kInvalidNode;
  std::string hint = kind_hint.empty() ? std::string() : fold_kind_alias(kind_hint);
  // The subject's kind stands for an absent `kind`; a body's own kind must
  // name the same (after folding), else kind_mismatch.
  std::optional<std::string> failure = parse_line(body, 0, receive_ms, options, out, hint);
  if (!failure && !hint.empty() && out.kind != hint) failure = "kind_mismatch";
  if (failure) return failure;
  if (!node.empty()) out.node = std::string(node);
  return std::nullopt;
}

}  // namespace tpark
