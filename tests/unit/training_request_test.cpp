// The start_training request (control.md 5.1) and the job status vocabulary
// (5.2), as pure functions.
#include <catch2/catch.hpp>

#include "training/job_status.h"
#include "training/start_request.h"

using tpark::Json;
using namespace tpark::training;

namespace {

std::vector<std::string> fields_of(const Json& body) {
  auto outcome = parse_start_request(body);
  std::vector<std::string> fields;
  if (auto* errors = std::get_if<std::vector<StartError>>(&outcome))
    for (const auto& e : *errors) fields.push_back(e.field);
  return fields;
}

StartRequest accepted(const Json& body) {
  auto outcome = parse_start_request(body);
  REQUIRE(std::holds_alternative<StartRequest>(outcome));
  return std::get<StartRequest>(outcome);
}

}  // namespace

TEST_CASE("status_normaliser_matches_exact_then_prefix_then_unknown") {
  CHECK(normalize_job_status("queued").slug == "queued");
  CHECK(normalize_job_status("  Pending ").slug == "queued");
  CHECK(normalize_job_status("waiting-for-worker").slug == "queued");
  CHECK(normalize_job_status("In Progress").slug == "running");
  CHECK(normalize_job_status("in--progress").slug == "running");
  CHECK(normalize_job_status("running_stage_3").slug == "running");
  CHECK(normalize_job_status("DONE").slug == "completed");
  CHECK(normalize_job_status("completed_with_notes").slug == "completed");
  CHECK(normalize_job_status("errored").slug == "failed");
  CHECK(normalize_job_status("failing").slug == "failed");
  CHECK(normalize_job_status("canceled").slug == "cancelled");
  CHECK(normalize_job_status("cancel requested").slug == "cancelled");
  CHECK(normalize_job_status("").slug == "unknown");
  CHECK(normalize_job_status("paused").slug == "unknown");
  CHECK(normalize_job_status("paused").label == "Unknown");
  CHECK(normalize_job_status("aborted").label == "Cancelled");
  CHECK(is_terminal_status("failed"));
  CHECK_FALSE(is_terminal_status("running"));
}

TEST_CASE("knobs_resolve_top_level_then_data_training_then_data") {
  const StartRequest r = accepted(Json::parse(
      R"({"goal":" g ","diversity":0.2,"mode":"quick","persona_id":"p1",
          "data":{"diversity":0.5,"preset":"performance","recency":"0.25",
                  "training":{"diversity":0.9,"episodes":24.0}}})"));
  CHECK(r.goal == "g");
  CHECK(r.mode == "quick");
  CHECK(r.meta["diversity"] == 0.2);
  CHECK(r.meta["recency"] == 0.25);
  CHECK(r.meta["episodes"] == 24);
  CHECK(r.meta["preset"] == "performance");
  CHECK(r.meta["mode_source"] == "request");
  CHECK(r.persona_id == std::optional<std::string>("p1"));
}

TEST_CASE("mode_comes_from_the_preset_else_balanced") {
  CHECK(accepted(Json::parse(R"({"goal":"g","preset":"turbo"})")).mode == "deep");
  CHECK(accepted(Json::parse(R"({"goal":"g","preset":"power-saver"})")).meta["mode_source"] ==
        "preset");
  CHECK(accepted(Json::parse(R"({"goal":"g","data":{"training":{"preset":"verified"}}})")).mode ==
        "verified");
  const StartRequest plain = accepted(Json::parse(R"({"goal":"g","data":{"proj":"x"}})"));
  CHECK(plain.mode == "balanced");
  CHECK(plain.meta["mode_source"] == "default");
  CHECK(plain.project == std::optional<std::string>("x"));
}

TEST_CASE("every_invalid_knob_is_reported_with_its_full_path_and_never_clamped") {
  CHECK(fields_of(Json::parse(R"({"goal":"g","diversity":1.2})")) ==
        std::vector<std::string>{"diversity"});
  CHECK(fields_of(Json::parse(R"({"goal":"g","data":{"training":{"recency":"x"}}})")) ==
        std::vector<std::string>{"data.training.recency"});
  CHECK(fields_of(Json::parse(R"({"goal":"  "})")) == std::vector<std::string>{"goal"});
  CHECK(fields_of(Json::parse(R"({"goal":"g","data":{"training":[]}})")) ==
        std::vector<std::string>{"data.training"});
  // Losing locations are validated too; all errors at once.
  CHECK(
      fields_of(Json::parse(
          R"({"goal":"g","compression":0.5,"data":{"compression":-0.1,"training":{"compression":"1.5"}}})")) ==
      std::vector<std::string>{"data.training.compression", "data.compression"});
  CHECK(fields_of(Json::parse(R"({"goal":"g","budget_tokens":63,"episodes":24.5})")) ==
        std::vector<std::string>{"budget_tokens", "episodes"});
  CHECK(fields_of(Json::parse(R"({"goal":"g","preset":"warp","mode":"fast"})")) ==
        std::vector<std::string>{"preset", "mode"});
  CHECK(fields_of(Json::parse(R"({"goal":"g","diversity":"0.5 "})")) ==
        std::vector<std::string>{"diversity"});
  CHECK(fields_of(Json::parse(R"({"goal":"g","window":{"since_id":-1}})")) ==
        std::vector<std::string>{"window.since_id"});
  CHECK(fields_of(Json::parse(R"({})")) == std::vector<std::string>{"goal"});
  CHECK(fields_of(Json::parse(R"([1])")) == std::vector<std::string>{""});
}

TEST_CASE("id_and_budget_are_ignored_and_reported") {
  const StartRequest r = accepted(Json::parse(R"({"goal":"g","id":"x","budget":5})"));
  CHECK(r.ignored == std::vector<std::string>{"id", "budget"});
}
