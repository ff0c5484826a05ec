// The `context` section's rendered text and metric observations, byte for
// byte, for a fixed event sequence: the seeded agent simulator's context
// events (`tpark-agent-sim --seed 3 --count 2000 --stdout`, the first 60 of
// the five context kinds) followed by hand-made edge cases (payloads that are
// not objects or are malformed, repeated keys, members of the wrong type,
// numbers beyond int64 or double). A change in how payloads are read shows up
// as a diff here. TPARK_UPDATE_GOLDEN=1 rewrites the golden file.
#include <catch2/catch.hpp>

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "context_model.h"
#include "support/golden_file.h"

namespace cs = tpark::context_section;
using Json = nlohmann::ordered_json;

namespace {

const std::string kDir = std::string(TPARK_SOURCE_DIR) + "/tests/fixtures/context/";

struct FixtureEvent {
  std::string kind;
  std::string time;
  std::string node;
  std::string payload;  // as journaled: compact, or raw for the edge cases
};

std::vector<FixtureEvent> simulator_events() {
  std::ifstream in(kDir + "agent_sim_seed3_context.ndjson");
  REQUIRE(in.good());
  std::vector<FixtureEvent> events;
  std::string line;
  while (std::getline(in, line)) {
    const Json event = Json::parse(line);
    events.push_back(FixtureEvent{
        event.at("kind").get<std::string>(), event.at("time").get<std::string>(),
        event.value("node", std::string()), event.value("payload", Json::object()).dump()});
  }
  return events;
}

// Payloads the simulator never sends, each read as the section reads it.
std::vector<FixtureEvent> edge_case_events() {
  const std::string time = "2026-01-01T01:00:00.000Z";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"context.coverage", "[1,2]"},
      {"context.coverage", R"({"summary":)"},
      {"context.coverage", R"({"summary":{"selected":1},"summary":{"selected":5,"target_limit":4,)"
                           R"("lane_counts":{"a":1,"b":0,"a":2}},"spec":"x"})"},
      {"context.coverage", R"({"reasons":["a",1,"slot_underfilled:q",null],"needs_more":"x"})"},
      {"context.coverage",
       R"({"summ\u0061ry":{"selected":2,"slots":{"counts":{"k":1},"budgets":{"k":3}}},)"
       R"("spec":{"min_score":0.5,"slot_budgets":{"k":2,"j":1}}})"},
      {"context.coverage",
       R"({"summary":{"selected":18446744073709551615,"target_limit":99999999999999999999999,)"
       R"("lanes_requested":-0,"avg_cscore":1e400,"min_score":-1e400,"threshold_hits":2.9}})"},
      {"context.recall.risk",
       R"({"score":1e400,"summary":{"selected":-3,"target_limit":1.5e30,"slots":{"counts":)"
       R"({"x":"1"},"budgets":{"x":2,"y":-1,"z":3.7}}},"components":{"slots":{"x":0.5,)"
       R"("y":"no","x":2}}})"},
      {"context.recall.risk", R"({"level":"","at_risk":"yes","needs_more":true,"score":0.41})"},
      {"context.recall.risk",
       R"({"level":"odd","summary":{"selected":3,"target_limit":8},"components":"none",)"
       R"("needs_more":false})"},
      {"context.recall.risk", R"({"components":{"slots":{"a":-0.5,"b":1.5}},"score":0.9,)"
                              R"("components":{"slots":{"c":0.25}}})"},
      {"context.recall.risk", "17"},
      {"working_set.iteration.summary",
       R"({"coverage":{"needs_more":false},"coverage_gap":true,"duration_ms":12.5,)"
       R"("summary":{"lane_counts":{"x":"3","y":2},"slots":{"counts":{"s":1,"s":"t"}}}})"},
      {"working_set.iteration.summary", R"({"coverage":true,"coverage_gap":true})"},
      {"working_set.iteration.summary", R"({"needs_more":1,"duration_ms":"5"})"},
      {"working_set.completed", R"({"diagnostics":[1],"summary":{"selected":4}})"},
      {"working_set.completed",
       R"({"diagnostics":{"counts":{"seeds":2,"bad":"x"},"timings_ms":{"total":9,)"
       R"("select":"fast","retrieve":1.25},"lanes":{"l":1},"slots":{"counts":{"s":3}}},)"
       R"("summary":{"selected":7}})"},
      {"working_set.completed", R"({"items":[1,2,3],"seeds":[],"summary":"x"})"},
      {"context.assembled", R"({"query":"q","working_set":{"final_spec":{"limit":3,"x":1}}})"},
      {"context.coverage", "{}"},
  };
  std::vector<FixtureEvent> events;
  for (const auto& [kind, payload] : cases) events.push_back({kind, time, "", payload});
  return events;
}

std::string observations_text(const cs::MetricObservations& o) {
  Json out = Json::object();
  out["source"] = static_cast<int>(o.source);
  out["needs_more"] = o.needs_more;
  out["fill_ratios"] = o.fill_ratios;
  out["underfilled_slots"] = o.underfilled_slots;
  out["score"] = o.score ? Json(*o.score) : Json(nullptr);
  out["level_label"] = o.level_label;
  out["flagged"] = o.flagged;
  out["slot_gaps"] = o.slot_gaps;
  return out.dump();
}

uint64_t fnv1a(uint64_t hash, const std::string& text) {
  for (unsigned char c : text) {
    hash ^= c;
    hash *= 1099511628211ull;
  }
  return hash;
}

// Every render and every observation of the sequence, as a digest, then the
// last render in full (so that a mismatch can be read).
std::string run(int64_t window) {
  cs::ContextModel model(window);
  std::vector<FixtureEvent> events = simulator_events();
  for (FixtureEvent& event : edge_case_events()) events.push_back(std::move(event));
  uint64_t digest = 14695981039346656037ull;
  std::string text;
  int64_t id = 0;
  for (const FixtureEvent& event : events) {
    const cs::MetricObservations observed =
        model.on_event(cs::EventInput{++id, event.time, event.node, event.kind, event.payload});
    digest = fnv1a(digest, observations_text(observed));
    model.render(text);
    digest = fnv1a(digest, text);
  }
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(digest));
  return "window " + std::to_string(window) + ": " + std::to_string(events.size()) +
         " events, digest of every render and observation " + hex + "\n" + text + "\n";
}

void check_golden(const std::string& actual, const std::string& golden_name) {
  tpark::test::check_golden_file(actual, kDir + golden_name);
}

}  // namespace

TEST_CASE("context_renders_the_seeded_simulator_and_edge_cases_byte_for_byte",
          "[context][section][golden]") {
  check_golden(run(8), "agent_sim_seed3_context.window8.golden");
  check_golden(run(cs::kDefaultWindow), "agent_sim_seed3_context.window512.golden");
}
