// tp.section.events: the `events` snapshot key (telemetry.md 2.1).
//
//   {start: host start (RFC 3339), total: events journaled since start,
//    kinds: [[kind, count], ...]}
//
// `kinds` is sorted by count descending, then kind ascending. At most
// ARW_EVENTS_KINDS_MAX (512) kinds are listed; the counts of the rest are
// summed under "other" (no dot, so it cannot clash with a real kind), which
// takes its place in that same order. Rows replayed while priming are not
// traffic and are not counted; the recount since start is.
//
// Memory is bounded whatever kinds arrive: 4 x ARW_EVENTS_KINDS_MAX kinds
// are counted by name (the first seen); later new kinds count straight into
// "other" (tpark/tally/top_k_tally.h).
#include <tpark/env/env_settings.h>
#include <tpark/tally/top_k_tally.h>
#include <tpark/tp_plugin.hpp>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace {

constexpr uint64_t kDefaultKindsMax = 512;
constexpr uint64_t kKindsMaxLimit = 1000000;
// Kinds counted by name, per kind listed; a kind is at most 128 bytes.
constexpr uint64_t kKindsTrackedPerListed = 4;
constexpr size_t kKindBytesMax = 128;

// ARW_EVENTS_KINDS_MAX, read once at create (telemetry.md 0): a malformed or
// out-of-range value falls back to the default with one warning.
uint64_t read_kinds_max(const tpark::HostRef& host) {
  const auto setting = tpark::env::parse_int_setting(
      "ARW_EVENTS_KINDS_MAX", tpark::env::raw_env("ARW_EVENTS_KINDS_MAX"),
      static_cast<int64_t>(kDefaultKindsMax), 1, static_cast<int64_t>(kKindsMaxLimit));
  if (setting.warning) host.warn(*setting.warning);
  return static_cast<uint64_t>(setting.value);
}

// The JSON string literal (quotes included) at the start of `text`, or
// nullopt. The host writes the start time without escapes, but a literal
// ends at the first unescaped quote all the same.
std::optional<std::string_view> leading_string_literal(std::string_view text) {
  if (text.empty() || text.front() != '"') return std::nullopt;
  for (size_t i = 1; i < text.size(); ++i) {
    if (text[i] == '\\')
      ++i;
    else if (text[i] == '"')
      return text.substr(0, i + 1);
  }
  return std::nullopt;
}

// The host start time from host state `events_start`: either the RFC 3339
// string itself or an object whose "start" key holds it (compact JSON).
std::optional<std::string> start_time_json(std::string_view state) {
  while (!state.empty() && (state.front() == ' ' || state.front() == '\n')) state.remove_prefix(1);
  if (auto literal = leading_string_literal(state)) return std::string(*literal);
  constexpr std::string_view key = "\"start\":";
  if (state.empty() || state.front() != '{') return std::nullopt;
  const size_t at = state.find(key);
  if (at == std::string_view::npos) return std::nullopt;
  if (auto literal = leading_string_literal(state.substr(at + key.size())))
    return std::string(*literal);
  return std::nullopt;
}

class EventsSection final : public tpark::Section {
 public:
  EventsSection(tpark::HostRef host, std::string_view /*config_json*/)
      : Section(host),
        kinds_max_(read_kinds_max(host)),
        counts_(kinds_max_ * kKindsTrackedPerListed, kKindBytesMax) {
    auto state = host.state("events_start");
    if (!state) throw tpark::Error(TP_UNAVAILABLE, "host state events_start is unavailable");
    auto start = start_time_json(*state);
    if (!start)
      throw tpark::Error(TP_UNAVAILABLE, "host state events_start has no start time: " + *state);
    start_json_ = std::move(*start);  // a JSON string literal, written as is
  }

  void reset() override {
    total_ = 0;
    counts_.clear();
    changed_ = true;
  }

  void on_event(const tpark::EventView& event) override {
    if (event.replay()) return;
    ++total_;
    counts_.add(event.kind());
    changed_ = true;
  }

  bool render(std::string& out) override {
    const tpark::tally::TopKTally::Ranked ranked = counts_.top(kinds_max_, /*fold_rest=*/true);
    out.clear();
    out.reserve(64 + ranked.size() * 32);
    out += "{\"start\":";
    out += start_json_;
    out += ",\"total\":";
    out += std::to_string(total_);
    out += ",\"kinds\":[";
    for (size_t i = 0; i < ranked.size(); ++i) {
      if (i > 0) out += ',';
      out += '[';
      tpark::append_json_string(out, ranked[i].first);
      out += ',';
      out += std::to_string(ranked[i].second);
      out += ']';
    }
    out += "]}";
    const bool changed = changed_;
    changed_ = false;
    return changed;
  }

 private:
  const uint64_t kinds_max_;
  std::string start_json_;
  uint64_t total_ = 0;
  tpark::tally::TopKTally counts_;
  bool changed_ = true;
};

}  // namespace

TP_SECTION_PLUGIN(EventsSection, "events")
