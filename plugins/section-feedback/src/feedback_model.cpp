#include "feedback_model.h"

#include <cmath>
#include <utility>

namespace tpark::sections::feedback {

namespace {

using ordered_json = nlohmann::ordered_json;

// The field as sent, or null.
ordered_json field(const ordered_json& payload, const char* key) {
  auto it = payload.find(key);
  return it == payload.end() ? ordered_json(nullptr) : *it;
}

// f64: any number, written as a double; null otherwise.
ordered_json double_field(const ordered_json& payload, const char* key) {
  auto it = payload.find(key);
  if (it == payload.end() || !it->is_number()) return nullptr;
  return it->get<double>();
}

// u64: a non-negative integer (a whole float counts); null otherwise.
ordered_json u64_field(const ordered_json& payload, const char* key) {
  auto it = payload.find(key);
  if (it == payload.end()) return nullptr;
  if (it->is_number_unsigned()) return it->get<uint64_t>();
  if (it->is_number_integer()) {
    const auto value = it->get<int64_t>();
    return value < 0 ? ordered_json(nullptr) : ordered_json(static_cast<uint64_t>(value));
  }
  if (it->is_number_float()) {
    const double value = it->get<double>();
    if (std::isfinite(value) && value >= 0.0 && value < 1.8e19 && std::floor(value) == value)
      return static_cast<uint64_t>(value);
  }
  return nullptr;
}

}  // namespace

FeedbackState::FeedbackState(bool auto_apply_default)
    : auto_apply_default_(auto_apply_default), auto_apply_(auto_apply_default) {}

void FeedbackState::clear() {
  auto_apply_ = auto_apply_default_;
  signals_.clear();
  suggestion_count_ = 0;
  suggestion_sample_ = ordered_json::array();
}

bool FeedbackState::apply(std::string_view kind, std::string_view source,
                          std::string_view payload_json) {
  const bool is_signal = kind == "feedback.signal";
  const bool is_suggested = kind == "feedback.suggested";
  const bool is_updated = kind == "feedback.updated";
  if (!is_signal && !is_suggested && !(is_updated && source == "host")) return false;

  auto payload = ordered_json::parse(payload_json, nullptr, false);
  if (payload.is_discarded()) return false;
  if (!payload.is_object()) payload = ordered_json::object();

  if (is_signal) {
    ordered_json signal = ordered_json::object();
    signal["id"] = field(payload, "id");
    signal["ts"] = field(payload, "ts");
    signal["kind"] = field(payload, "kind");
    signal["target"] = field(payload, "target");
    signal["confidence"] = double_field(payload, "confidence");
    signal["severity"] = u64_field(payload, "severity");
    signals_.push_back(std::move(signal));
    if (signals_.size() > kSignalWindow) signals_.pop_front();
    return true;
  }
  if (is_suggested) {
    suggestion_count_ = 0;
    suggestion_sample_ = ordered_json::array();
    auto list = payload.find("suggestions");
    if (list != payload.end() && list->is_array()) {
      suggestion_count_ = list->size();
      for (const auto& item : *list) {
        if (suggestion_sample_.size() >= kSuggestionSample) break;
        const ordered_json& s = item.is_object() ? item : ordered_json::object();
        ordered_json entry = ordered_json::object();
        entry["id"] = field(s, "id");
        entry["action"] = field(s, "action");
        entry["confidence"] = double_field(s, "confidence");
        entry["rationale"] = field(s, "rationale");
        entry["params"] = field(s, "params");
        suggestion_sample_.push_back(std::move(entry));
      }
    }
    return true;
  }
  auto flag = payload.find("auto_apply");
  if (flag == payload.end() || !flag->is_boolean()) return false;
  const bool changed = auto_apply_ != flag->get<bool>();
  auto_apply_ = flag->get<bool>();
  return changed;
}

nlohmann::ordered_json FeedbackState::render() const {
  ordered_json recent = ordered_json::array();
  for (auto it = signals_.rbegin(); it != signals_.rend() && recent.size() < kRecentSignals; ++it)
    recent.push_back(*it);
  ordered_json out = ordered_json::object();
  out["auto_apply"] = auto_apply_;
  out["signals"] = {{"count", static_cast<uint64_t>(signals_.size())},
                    {"recent", std::move(recent)}};
  out["suggestions"] = {{"count", static_cast<uint64_t>(suggestion_count_)},
                        {"sample", suggestion_sample_}};
  return out;
}

}  // namespace tpark::sections::feedback
