#include "http/json_body.h"

namespace tpark::http {

namespace {

using DomBuilder = nlohmann::detail::json_sax_dom_parser<Json>;

// nlohmann's own document builder with a nesting count in front of it: the
// parse stops at the first level too deep, before anything that deep exists.
class DepthLimitedBuilder : public DomBuilder {
 public:
  explicit DepthLimitedBuilder(Json& root) : DomBuilder(root, /*allow_exceptions=*/false) {}

  bool null() { return scalar_fits() && DomBuilder::null(); }
  bool boolean(bool value) { return scalar_fits() && DomBuilder::boolean(value); }
  bool number_integer(Json::number_integer_t value) {
    return scalar_fits() && DomBuilder::number_integer(value);
  }
  bool number_unsigned(Json::number_unsigned_t value) {
    return scalar_fits() && DomBuilder::number_unsigned(value);
  }
  bool number_float(Json::number_float_t value, const std::string& text) {
    return scalar_fits() && DomBuilder::number_float(value, text);
  }
  bool string(std::string& value) { return scalar_fits() && DomBuilder::string(value); }
  bool binary(Json::binary_t& value) { return scalar_fits() && DomBuilder::binary(value); }
  bool start_object(std::size_t elements) { return enter() && DomBuilder::start_object(elements); }
  bool end_object() {
    --depth_;
    return DomBuilder::end_object();
  }
  bool start_array(std::size_t elements) { return enter() && DomBuilder::start_array(elements); }
  bool end_array() {
    --depth_;
    return DomBuilder::end_array();
  }
  bool parse_error(std::size_t position, const std::string&, const nlohmann::detail::exception& e) {
    message_ = e.what();
    offset_ = position > 0 ? position - 1 : 0;
    return false;
  }

  bool too_deep() const { return too_deep_; }
  const std::string& message() const { return message_; }
  size_t offset() const { return offset_; }

 private:
  bool enter() {
    if (++depth_ > kMaxJsonDepth) too_deep_ = true;
    return !too_deep_;
  }
  bool scalar_fits() {
    if (depth_ >= kMaxJsonDepth) too_deep_ = true;
    return !too_deep_;
  }

  size_t depth_ = 0;
  bool too_deep_ = false;
  std::string message_;
  size_t offset_ = 0;
};

// Where the nesting first goes past the limit: the byte that opens level
// kMaxJsonDepth + 1 (or the scalar at level kMaxJsonDepth + 1). Only called on
// the error path, so a second pass costs nothing on good bodies.
size_t offset_of_excess_depth(std::string_view text) {
  size_t depth = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '"') {
      if (depth >= kMaxJsonDepth) return i;
      for (++i; i < text.size() && text[i] != '"'; ++i)
        if (text[i] == '\\') ++i;
    } else if (c == '[' || c == '{') {
      if (++depth > kMaxJsonDepth) return i;
    } else if (c == ']' || c == '}') {
      if (depth > 0) --depth;
    } else if (c != ' ' && c != '\t' && c != '\r' && c != '\n' && c != ',' && c != ':') {
      if (depth >= kMaxJsonDepth) return i;
    }
  }
  return text.size();
}

}  // namespace

ParsedBody parse_json_body(std::string_view body) {
  ParsedBody parsed;
  if (body.find_first_not_of(" \t\r\n") == std::string_view::npos) {
    parsed.document = Json::object();
    return parsed;
  }
  Json document;
  DepthLimitedBuilder builder(document);
  const bool ok = Json::sax_parse(body.begin(), body.end(), &builder);
  if (builder.too_deep()) {
    parsed.error_message = "the body nests arrays and objects deeper than the limit of " +
                           std::to_string(kMaxJsonDepth) + " levels";
    parsed.error_offset = offset_of_excess_depth(body);
    return parsed;
  }
  if (!ok) {
    parsed.error_message = builder.message();
    parsed.error_offset = builder.offset();
    return parsed;
  }
  parsed.document = std::move(document);
  return parsed;
}

}  // namespace tpark::http
