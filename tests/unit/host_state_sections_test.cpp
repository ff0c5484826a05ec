// The sections fed by host state (telemetry.md §2.1): routes from the §4
// body, bus, tasks and compatibility in the spec's key order, their empty
// shapes without the state, and the wake-up times of the tasks window.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "tpark/host_state/host_state_sections.h"

using namespace tpark::sections::host_state;

TEST_CASE("routes_section_lists_by_path_entries_sorted_by_path_with_the_six_keys",
          "[unit][host_state]") {
  const std::string state =
      R"({"bus":{},"events":{},"routes":{"by_path":{)"
      R"("other":{"hits":2,"errors":2,"ewma_ms":0.1,"p95_ms":1,"max_ms":1,"latency_histogram":{}},)"
      R"("/state/route_stats":{"hits":1,"errors":0,"ewma_ms":0.4,"p95_ms":1,"max_ms":1},)"
      R"("/context/assemble":{"hits":4,"errors":1,"ewma_ms":12,"p95_ms":12,"max_ms":12}}},)"
      R"("tasks":{},"cache":null})";
  CHECK(routes_section(std::string_view(state)).dump() ==
        R"([{"path":"/context/assemble","hits":4,"errors":1,"ewma_ms":12.0,"p95_ms":12,"max_ms":12},)"
        R"({"path":"/state/route_stats","hits":1,"errors":0,"ewma_ms":0.4,"p95_ms":1,"max_ms":1},)"
        R"({"path":"other","hits":2,"errors":2,"ewma_ms":0.1,"p95_ms":1,"max_ms":1}])");
}

TEST_CASE("host_state_sections_without_state_render_their_empty_shapes", "[unit][host_state]") {
  CHECK(routes_section(std::nullopt).dump() == "[]");
  CHECK(routes_section(std::string_view("not json")).dump() == "[]");
  CHECK(bus_section(std::nullopt).dump() ==
        R"({"published":0,"delivered":0,"receivers":0,"lagged":0,"no_receivers":0})");
  CHECK(tasks_section(std::nullopt).dump() == "{}");
  CHECK(compatibility_section(std::nullopt).dump() == R"({"legacy_capsule_headers":0})");
}

TEST_CASE("bus_section_follows_the_spec_key_order", "[unit][host_state]") {
  CHECK(bus_section(std::string_view(
                        R"({"no_receivers":5,"lagged":4,"receivers":3,"delivered":2,"published":1})"))
            .dump() ==
        R"({"published":1,"delivered":2,"receivers":3,"lagged":4,"no_receivers":5})");
}

TEST_CASE("tasks_section_sorts_names_and_orders_each_entry", "[unit][host_state]") {
  const std::string state =
      R"({"plugin.tp.section.bus":{"restarts_window":1,"last_stop":"2026-01-01T00:00:01.000Z",)"
      R"("last_start":"2026-01-01T00:00:02.000Z","inflight":1,"aborted":0,"completed":1,"started":2},)"
      R"("events.dispatcher":{"started":1,"completed":0,"aborted":0,"inflight":1,)"
      R"("last_start":"2026-01-01T00:00:00.000Z","last_stop":null,"restarts_window":0}})";
  CHECK(tasks_section(std::string_view(state)).dump() ==
        R"({"events.dispatcher":{"started":1,"completed":0,"aborted":0,"inflight":1,)"
        R"("last_start":"2026-01-01T00:00:00.000Z","last_stop":null,"restarts_window":0},)"
        R"("plugin.tp.section.bus":{"started":2,"completed":1,"aborted":0,"inflight":1,)"
        R"("last_start":"2026-01-01T00:00:02.000Z","last_stop":"2026-01-01T00:00:01.000Z",)"
        R"("restarts_window":1}})");
}

TEST_CASE("compatibility_section_copies_the_legacy_header_count", "[unit][host_state]") {
  CHECK(compatibility_section(std::string_view(R"({"legacy_capsule_headers":7})")).dump() ==
        R"({"legacy_capsule_headers":7})");
}

TEST_CASE("task_window_exits_are_30_s_after_each_restart_still_ahead", "[unit][host_state]") {
  const std::string restarts = R"({"a":[1000,5000],"b":[5000,2000]})";
  // 1000 + 30000 is not after now: that restart has left already.
  CHECK(task_window_exits_ms(std::string_view(restarts), 31000) ==
        std::vector<int64_t>{32000, 35000});
  CHECK(task_window_exits_ms(std::nullopt, 0).empty());
}
