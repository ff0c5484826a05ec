// tp.section.feedback: the `feedback` snapshot key (telemetry.md §2.3).
// `signals` is a window, so the newest rows are replayed at start (priming);
// auto_apply and the suggestions follow the latest event of their kind, which
// priming replays as well.
#include <tpark/tp_plugin.hpp>

#include <string>
#include <string_view>

#include "feedback_model.h"
#include "tpark/env/env_settings.h"

namespace {

namespace feedback = tpark::sections::feedback;

bool auto_apply_from_env(const tpark::HostRef& host) {
  const auto setting = tpark::env::parse_bool_setting(
      "ARW_FEEDBACK_AUTO_APPLY", tpark::env::raw_env("ARW_FEEDBACK_AUTO_APPLY"), false);
  if (setting.warning) host.warn(*setting.warning);
  return setting.value;
}

class FeedbackSection final : public tpark::Section {
 public:
  FeedbackSection(tpark::HostRef host, std::string_view /*config_json*/)
      : Section(host), state_(auto_apply_from_env(host)) {}

  void reset() override {
    state_.clear();
    changed_ = true;
  }

  void on_event(const tpark::EventView& event) override {
    if (state_.apply(event.kind(), event.source(), event.payload())) changed_ = true;
  }

  bool render(std::string& out) override {
    // Unchanged since the last render: the same text, without rebuilding it.
    const bool changed = changed_;
    if (changed) rendered_ = state_.render().dump();
    changed_ = false;
    out = rendered_;
    return changed;
  }

  uint64_t prime_rows() override { return feedback::kSignalWindow; }

 private:
  feedback::FeedbackState state_;
  bool changed_ = true;
  std::string rendered_;
};

}  // namespace

TP_SECTION_PLUGIN(FeedbackSection, "feedback")
