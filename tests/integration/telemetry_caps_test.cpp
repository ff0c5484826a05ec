// Input cannot grow the host's tallies without bound (docs/ops.md "What input
// cannot grow"): events.kinds lists ARW_EVENTS_KINDS_MAX kinds plus "other"
// and counts at most 4 x that many by name; a route key longer than 256
// bytes is "other".
#include <catch2/catch.hpp>

#include <string>

#include "integration/test_host.h"

using namespace tpark::test;
using tpark::Json;

namespace {

std::string lines(const std::string& kind, int times) {
  std::string out;
  for (int i = 0; i < times; ++i) out += "{\"kind\":\"" + kind + "\"}\n";
  return out;
}

}  // namespace

TEST_CASE("events_kinds_list_k_plus_other_and_count_at_most_4_k_kinds_by_name",
          "[integration][telemetry]") {
  TestHostOptions options;
  options.env = {{"ARW_EVENTS_KINDS_MAX", "2"}};
  TestHost host(options);
  REQUIRE(host.post("/events/ingest", lines("a.x", 3) + lines("b.x", 2) + lines("c.x", 1)).status ==
          200);
  // K + 1 kinds: K listed, the third in "other".
  CHECK(host.snapshot().json()["events"]["kinds"].dump() == R"([["a.x",3],["b.x",2],["other",1]])");
  CHECK(host.get_public("/state/route_stats").json()["events"]["kinds"].dump() ==
        R"({"a.x":3,"b.x":2,"other":1})");

  // Kinds 4..8 are still counted by name; the 9th kind is past 4 x 2 and
  // counts into "other", however often it comes.
  std::string more;
  for (char c = 'd'; c <= 'h'; ++c) more += lines(std::string(1, c) + ".x", 1);
  REQUIRE(host.post("/events/ingest", more + lines("i.x", 5)).status == 200);
  CHECK(host.snapshot().json()["events"]["kinds"].dump() ==
        R"([["other",11],["a.x",3],["b.x",2]])");
  CHECK(host.get_public("/state/route_stats").json()["events"]["kinds"].dump() ==
        R"({"a.x":3,"b.x":2,"other":11})");
}

TEST_CASE("a_route_sample_path_longer_than_256_bytes_is_recorded_as_other",
          "[integration][telemetry]") {
  TestHost host;
  const std::string long_path = "/" + std::string(256, 'p');
  REQUIRE(host.post("/events/ingest", "{\"kind\":\"http.route.sample\",\"payload\":{\"path\":\"" +
                                          long_path + "\",\"status\":200,\"ms\":3}}\n")
              .status == 200);
  const Json by_path = host.get_public("/state/route_stats").json()["routes"]["by_path"];
  CHECK_FALSE(by_path.contains(long_path));
  REQUIRE(by_path.contains("other"));
  CHECK(by_path["other"]["hits"] == 1);
}
