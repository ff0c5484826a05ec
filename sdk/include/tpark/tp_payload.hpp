// tp_payload.hpp -- reading the fields of an event's payload, header-only.
//
// An event's payload reaches on_event as JSON text (tp_event_view.payload:
// canonical compact JSON, "{}" when the event had none). tpark::Payload
// parses it once with nlohmann/json and answers typed look-ups, so a section
// never hand-writes a JSON scanner:
//
//   void on_event(const tpark::EventView& event) override {
//     const tpark::Payload payload(event.payload());
//     if (payload.get_bool("ok") == false) ++errors_[std::string(event.kind())];
//     if (auto tokens = payload.get_int("/usage/tokens")) total_tokens_ += *tokens;
//   }
//
// Like tp_plugin.hpp it is compiled into the plugin and nothing of it crosses
// the ABI. It needs nlohmann/json 3.10 or newer where the plugin is built
// (Debian: nlohmann-json3-dev): find_package(nlohmann_json 3.10 REQUIRED) and
// tp_add_plugin(... LINK nlohmann_json::nlohmann_json).
//
// A path is either a top-level key ("ok", "tool") or a JSON pointer starting
// with '/' ("/usage/tokens", "/items/0/name"). A look-up answers nullopt when
// the payload is not JSON, the path is absent or malformed, or the value has
// another type: it never throws.
#ifndef TPARK_TP_PAYLOAD_HPP
#define TPARK_TP_PAYLOAD_HPP

#include <tpark/tp_plugin.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace tpark {

class Payload {
 public:
  // Parses `json_text`. Text that is not JSON reads as an empty document
  // (valid() is false, every look-up answers nullopt).
  explicit Payload(std::string_view json_text)
      : document_(nlohmann::json::parse(json_text.begin(), json_text.end(), nullptr, false)) {}
  explicit Payload(tp_str json_text)
      : Payload(json_text.ptr != nullptr ? std::string_view(json_text.ptr, json_text.len)
                                         : std::string_view("{}")) {}

  bool valid() const noexcept { return !document_.is_discarded(); }

  // The value at `path`, or nullptr when there is none.
  const nlohmann::json* find(std::string_view path) const noexcept {
    if (!valid()) return nullptr;
    if (path.empty() || path.front() != '/') {
      if (!document_.is_object()) return nullptr;
      auto it = document_.find(std::string(path));
      return it != document_.end() ? &*it : nullptr;
    }
    try {
      const nlohmann::json::json_pointer pointer{std::string(path)};
      return document_.contains(pointer) ? &document_.at(pointer) : nullptr;
    } catch (...) {  // a malformed pointer, or an index that is not a number
      return nullptr;
    }
  }
  bool has(std::string_view path) const noexcept { return find(path) != nullptr; }

  std::optional<bool> get_bool(std::string_view path) const noexcept {
    const nlohmann::json* value = find(path);
    if (value == nullptr || !value->is_boolean()) return std::nullopt;
    return value->get<bool>();
  }
  // Integers only: 2 is an int, 2.5 is not.
  std::optional<int64_t> get_int(std::string_view path) const noexcept {
    const nlohmann::json* value = find(path);
    if (value == nullptr || !value->is_number_integer()) return std::nullopt;
    if (value->is_number_unsigned() && value->get<uint64_t>() > uint64_t(INT64_MAX))
      return std::nullopt;
    return value->get<int64_t>();
  }
  // Any number, as a double.
  std::optional<double> get_number(std::string_view path) const noexcept {
    const nlohmann::json* value = find(path);
    if (value == nullptr || !value->is_number()) return std::nullopt;
    return value->get<double>();
  }
  // A view into the parsed document: valid while this Payload lives.
  std::optional<std::string_view> get_string(std::string_view path) const noexcept {
    const nlohmann::json* value = find(path);
    if (value == nullptr || !value->is_string()) return std::nullopt;
    return std::string_view(value->get_ref<const std::string&>());
  }

  // The whole parsed document (discarded when the text was not JSON).
  const nlohmann::json& json() const noexcept { return document_; }

 private:
  nlohmann::json document_;
};

}  // namespace tpark

#endif  // TPARK_TP_PAYLOAD_HPP
