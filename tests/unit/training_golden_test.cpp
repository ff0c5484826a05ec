// Golden manifests (control.md 5.5): a fixed journal from the seeded agent
// simulator (`tpark-agent-sim --seed 7 --count 150 --stdout`) must give the
// committed manifest byte for byte, so a change to the model shows up as a
// diff a reviewer accepts. TPARK_UPDATE_GOLDEN=1 rewrites the golden files.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "support/golden_file.h"
#include "training_model.h"

using namespace tpark::training_model;

namespace {

const std::string kDir = std::string(TPARK_SOURCE_DIR) + "/tests/fixtures/training/";

// The journal rows of an NDJSON fixture, ids 1..n in line order.
std::vector<Row> read_fixture(const std::string& name) {
  std::ifstream in(kDir + name);
  REQUIRE(in.good());
  std::vector<Row> rows;
  std::string line;
  int64_t id = 0;
  while (std::getline(in, line)) {
    const json event = json::parse(line);
    rows.push_back(Row{++id, event.at("kind").get<std::string>(),
                       event.value("payload", json::object()).dump()});
  }
  return rows;
}

std::string manifest_for(const std::vector<Row>& rows, const std::string& mode) {
  JobInput job;
  job.job_id = "golden-job";
  job.goal = "Golden: fewer recall misses";
  job.created = "2026-01-01T00:00:00.000Z";
  job.mode = mode;
  job.request =
      json{{"goal", job.goal}, {"mode", mode}, {"mode_source", "request"}, {"diversity", 0.4}};
  job.since_id = 0;
  job.until_id = static_cast<int64_t>(rows.size());
  const Collected collected = collect(rows, std::nullopt, sample_cap(mode, job.request), job.base);
  const Computation computation = compute(collected.samples, job);
  return suggest(job, collected, computation, std::nullopt).manifest.dump(2) + "\n";
}

void check_golden(const std::string& actual, const std::string& golden_name) {
  tpark::test::check_golden_file(actual, kDir + golden_name);
}

}  // namespace

TEST_CASE("the_seeded_simulator_journal_gives_the_committed_manifest") {
  check_golden(manifest_for(read_fixture("agent_sim_seed7.ndjson"), "balanced"),
               "agent_sim_seed7.balanced.manifest.json");
  check_golden(manifest_for(read_fixture("agent_sim_seed7.ndjson"), "deep"),
               "agent_sim_seed7.deep.manifest.json");
}

TEST_CASE("a_journal_without_context_telemetry_gives_the_evidence_none_manifest") {
  const std::string manifest =
      manifest_for(read_fixture("agent_sim_seed7_no_context.ndjson"), "balanced");
  CHECK(json::parse(manifest)["provenance"]["evidence"] == "none");
  check_golden(manifest, "agent_sim_seed7_no_context.manifest.json");
}

TEST_CASE("the_same_journal_and_inputs_give_a_byte_identical_manifest") {
  const auto rows = read_fixture("agent_sim_seed7.ndjson");
  CHECK(manifest_for(rows, "verified") == manifest_for(rows, "verified"));
}
