// The read-model hub in process (telemetry.md 6): volatile paths, the wire
// patch, versions, no work without subscribers, and a seeded property run:
// hundreds of random event sequences where prime + every patch == a fresh
// materialisation, for a context_metrics model (the real context section
// model) and a training_metrics-like model with volatile fields.
#include <catch2/catch.hpp>

#include <condition_variable>
#include <mutex>
#include <random>
#include <string>

#include "context_model.h"
#include "live/read_model_hub.h"
#include "tools_model.h"

using tpark::Json;
using tpark::live::Coalescing;
using tpark::live::PatchPublication;
using tpark::live::ReadModelHub;

namespace {

// A subscriber that applies patches by the client protocol.
struct Follower {
  std::mutex mutex;
  std::condition_variable cv;
  uint64_t version = 0;
  Json value;
  bool broken = false;  // a patch that did not follow on

  void on_patch(const PatchPublication& publication) {
    Json payload = Json::parse(*publication.payload);
    std::lock_guard lock(mutex);
    if (payload["base_version"] != version) broken = true;
    else {
      value = value.patch(payload["patch"]);
      version = payload["version"];
    }
    cv.notify_all();
  }
  bool wait_for(uint64_t target) {
    std::unique_lock lock(mutex);
    return cv.wait_for(lock, std::chrono::seconds(30), [&] { return version >= target || broken; });
  }
};

}  // namespace

TEST_CASE("strip_volatile_paths_removes_wildcard_and_plain_paths", "[live][read_models]") {
  Json value = Json::parse(
      R"({"generated":"x","a":1,"capsules":{"sample":[{"id":"A","status_label":"l","k":1},{"id":"B","status_label":"m"}],"next_expiry_label":"n"}})");
  Json stripped = tpark::live::strip_volatile_paths(
      value, {"/generated", "/capsules/sample/*/status_label", "/capsules/next_expiry_label", "/missing/x"});
  CHECK(stripped == Json::parse(R"({"a":1,"capsules":{"sample":[{"id":"A","k":1},{"id":"B"}]}})"));
}

TEST_CASE("read_model_patch_is_a_root_replace_at_0_and_when_larger", "[live][read_models]") {
  Json next = Json::parse(R"({"a":1,"b":[1,2]})");
  CHECK(tpark::live::read_model_patch(nullptr, next, 0) ==
        Json::parse(R"([{"op":"replace","path":"","value":{"a":1,"b":[1,2]}}])"));
  next["b"] = std::string(64, 'b');
  Json previous = next;
  previous["a"] = 2;
  CHECK(tpark::live::read_model_patch(previous, next, 3) ==
        Json::parse(R"([{"op":"replace","path":"/a","value":1}])"));
  // Everything changed: the diff is longer than the value itself.
  Json other = Json::parse(R"({"x":{"deep":[1,2,3]},"y":"zzzzzzzz"})");
  Json small = Json::parse(R"({"q":1})");
  CHECK(tpark::live::read_model_patch(other, small, 3) ==
        Json::parse(R"([{"op":"replace","path":"","value":{"q":1}}])"));
}

TEST_CASE("list_model_patch_adds_new_ids_and_removes_gone_ones_by_id", "[live][read_models]") {
  // Items as large as real ones, so the keyed ops are shorter than the value.
  const std::string pad(200, 'p');
  auto item = [&](const char* id, const char* state) {
    return Json{{"id", id}, {"state", state}, {"input", pad}};
  };
  Json previous = {{"version", 4}, {"items", {item("b", "queued"), item("a", "completed")}}};
  // A list route's body: the model's members plus ones the patch must not touch.
  Json primed = previous;
  primed["total"] = 2;
  primed["limit"] = 2;
  Json next = {{"version", 5}, {"items", {item("c", "queued"), item("b", "running")}}};
  Json patch = tpark::live::list_model_patch(previous, next);
  CHECK(patch ==
        Json::array({Json{{"op", "replace"}, {"path", "/version"}, {"value", 5}},
                     Json{{"op", "remove"}, {"path", "/items/1"}},
                     Json{{"op", "add"}, {"path", "/items/0"}, {"value", item("c", "queued")}},
                     Json{{"op", "replace"}, {"path", "/items/1/state"}, {"value", "running"}}}));
  Json applied = primed.patch(patch);
  CHECK(applied["items"] == next["items"]);
  CHECK(applied["version"] == 5);
  CHECK(applied["total"] == 2);
  CHECK(applied["limit"] == 2);
}

TEST_CASE("list_model_patch_replaces_items_when_kept_ids_moved", "[live][read_models]") {
  Json previous = Json::parse(R"({"version":1,"items":[{"id":"a"},{"id":"b"}]})");
  Json next = Json::parse(R"({"version":2,"items":[{"id":"b"},{"id":"a"}]})");
  CHECK(tpark::live::list_model_patch(previous, next) ==
        Json::parse(R"([{"op":"replace","path":"/version","value":2},
                        {"op":"replace","path":"/items","value":[{"id":"b"},{"id":"a"}]}])"));
  // Items without a string id cannot be matched either.
  Json unkeyed = Json::parse(R"({"version":3,"items":[{"n":1}]})");
  CHECK(tpark::live::list_model_patch(next, unkeyed).back() ==
        Json::parse(R"({"op":"replace","path":"/items","value":[{"n":1}]})"));
}

TEST_CASE("list_model_values_carry_their_version_first", "[live][read_models]") {
  ReadModelHub hub("0123456789abcdef", Coalescing{}, nullptr);
  Json items = Json::array();
  hub.define({.id = "list",
              .compute =
                  [&] {
                    return Json{{"items", items}};
                  },
              .event_prefixes = {},
              .dirty_on_request = false,
              .dirty_on_wakeup = false,
              .volatile_paths = {},
              .coalescing = {},
              .list_model = true});
  auto first = hub.materialise("list");
  CHECK(first->value.dump() == R"({"version":1,"items":[]})");
  CHECK(hub.materialise("list")->value.dump() == R"({"version":1,"items":[]})");
  items.push_back({{"id", "x"}});
  auto second = hub.materialise("list");
  CHECK(second->version == 2);
  CHECK(second->value.dump() == R"({"version":2,"items":[{"id":"x"}]})");
}

TEST_CASE("hub_versions_count_non_volatile_changes_only", "[live][read_models]") {
  ReadModelHub hub("0123456789abcdef", Coalescing{}, nullptr);
  int counter = 0, tick = 0;
  hub.define({.id = "m",
              .compute = [&] { return Json{{"generated", ++tick}, {"n", counter}}; },
              .event_prefixes = {"m."},
              .dirty_on_request = false,
              .dirty_on_wakeup = false,
              .volatile_paths = {"/generated"},
              .coalescing = {}});
  CHECK(hub.materialise("m")->version == 1);
  CHECK(hub.materialise("m")->version == 1);  // only `generated` moved
  counter = 5;
  auto v2 = hub.materialise("m");
  CHECK(v2->version == 2);
  CHECK(v2->value["n"] == 5);
  CHECK_FALSE(hub.materialise("nope"));
  // No subscriber: transitions are versions, not patches.
  CHECK(hub.patches_published("m") == 0);
  CHECK_THROWS_AS(hub.define({.id = "m", .compute = [] { return Json(); }, .event_prefixes = {},
                              .dirty_on_request = false, .dirty_on_wakeup = false,
                              .volatile_paths = {}, .coalescing = {}}),
                  std::logic_error);
}

TEST_CASE("hub_patches_replay_to_a_fresh_materialisation_property", "[live][read_models][property]") {
  namespace cs = tpark::context_section;
  namespace tools = tpark::sections::tools;
  std::mt19937 random(424242);
  for (int run = 0; run < 300; ++run) {
    INFO("run " << run);
    std::mutex state_mutex;
    cs::ContextModel context;
    tools::ToolsTally tally;
    int64_t generated = 0;
    Follower context_follower, training_follower;  // outlive the hub
    ReadModelHub hub("0123456789abcdef",
                     Coalescing{std::chrono::milliseconds(random() % 3), std::chrono::milliseconds(5)},
                     nullptr);
    auto render_context = [&] {
      std::string text;
      context.render(text);
      return Json::parse(text);
    };
    hub.define({.id = "context_metrics",
                .compute = [&] {
                  std::lock_guard lock(state_mutex);
                  return render_context();
                },
                .event_prefixes = {"context."},
                .dirty_on_request = false,
                .dirty_on_wakeup = false,
                .volatile_paths = {},
                .coalescing = {}});
    hub.define({.id = "training_metrics",
                .compute = [&] {
                  std::lock_guard lock(state_mutex);
                  Json value;
                  value["generated_ms"] = ++generated;
                  value["tools"] = tally.render();
                  value["context"] = render_context();
                  return value;
                },
                .event_prefixes = {""},
                .dirty_on_request = true,
                .dirty_on_wakeup = true,
                .volatile_paths = {"/generated_ms"},
                .coalescing = {}});

    // Subscribe first, then prime: patches after the prime's version follow on.
    hub.subscribe_patches({"context_metrics"}, [&](const PatchPublication& p) { context_follower.on_patch(p); });
    hub.subscribe_patches({"training_metrics"}, [&](const PatchPublication& p) { training_follower.on_patch(p); });
    {
      auto c = hub.materialise("context_metrics");
      auto t = hub.materialise("training_metrics");
      std::scoped_lock lock(context_follower.mutex, training_follower.mutex);
      if (context_follower.version < c->version) {
        context_follower.version = c->version;
        context_follower.value = c->value;
      }
      if (training_follower.version < t->version) {
        training_follower.version = t->version;
        training_follower.value = t->value;
      }
    }

    int64_t id = 0;
    const int steps = 1 + static_cast<int>(random() % 40);
    for (int step = 0; step < steps; ++step) {
      std::vector<tpark::EventPtr> batch;
      const int events = 1 + static_cast<int>(random() % 5);
      for (int i = 0; i < events; ++i) {
        auto event = std::make_shared<tpark::Event>();
        event->id = ++id;
        event->time = "2026-01-01T00:00:00.000Z";
        event->source = "ingest";
        switch (random() % 4) {
          case 0:
            event->kind = "context.coverage";
            event->payload = "{\"needs_more\":" + std::string(random() % 2 ? "true" : "false") +
                             ",\"reasons\":[\"r" + std::to_string(random() % 3) + "\"]}";
            break;
          case 1:
            event->kind = "context.recall.risk";
            event->payload = "{\"score\":" + std::to_string(static_cast<double>(random() % 100) / 100.0) + "}";
            break;
          case 2:
            event->kind = "actions.completed";
            event->payload = "{\"tool_id\":\"t" + std::to_string(random() % 3) + "\"}";
            break;
          default:
            event->kind = "noise.x";
            event->payload = "{}";
        }
        {
          std::lock_guard lock(state_mutex);
          context.on_event(cs::EventInput{event->id, event->time, {}, event->kind, event->payload});
          tally.count(event->kind, event->source, event->payload);
        }
        batch.push_back(std::move(event));
      }
      hub.on_events(batch);
      if (random() % 5 == 0) hub.materialise(random() % 2 ? "context_metrics" : "training_metrics");
      if (random() % 7 == 0) hub.on_request();
    }
    auto fresh_context = hub.materialise("context_metrics");
    auto fresh_training = hub.materialise("training_metrics");
    REQUIRE(context_follower.wait_for(fresh_context->version));
    REQUIRE(training_follower.wait_for(fresh_training->version));
    std::scoped_lock lock(context_follower.mutex, training_follower.mutex);
    REQUIRE_FALSE(context_follower.broken);
    REQUIRE_FALSE(training_follower.broken);
    CHECK(context_follower.version == fresh_context->version);
    CHECK(context_follower.value == fresh_context->value);
    CHECK(training_follower.version == fresh_training->version);
    Json applied = training_follower.value, fresh = fresh_training->value;
    applied.erase("generated_ms");
    fresh.erase("generated_ms");
    CHECK(applied == fresh);
  }
}
