// Event kinds (telemetry.md 1.1): grammar, alias folding, stream and host-owned kinds,
// prefix filters.
#include <catch2/catch.hpp>

#include <string>

#include "kernel/kinds.h"

using namespace tpark;

TEST_CASE("kind_alias_folds_every_dot_underscore_in_one_pass", "[kernel][kinds]") {
  CHECK(fold_kind_alias("working._set.completed") == "working_set.completed");
  CHECK(fold_kind_alias("a._b._c.d") == "a_b_c.d");
  // One left-to-right pass: "._" inside "._." folds once, the remaining "." stays.
  CHECK(fold_kind_alias("a.._x") == "a._x");
  CHECK(fold_kind_alias("plain.kind") == "plain.kind");
  CHECK(fold_kind_alias("trailing.") == "trailing.");
}

TEST_CASE("kind_grammar_needs_two_lowercase_segments", "[kernel][kinds]") {
  CHECK(kind_is_valid("a.b"));
  CHECK(kind_is_valid("context.coverage"));
  CHECK(kind_is_valid("0a.b-c_d.e9"));
  CHECK_FALSE(kind_is_valid(""));
  CHECK_FALSE(kind_is_valid("nodot"));
  CHECK_FALSE(kind_is_valid("Bad.Kind"));  // uppercase is rejected, not folded
  CHECK_FALSE(kind_is_valid("a..b"));
  CHECK_FALSE(kind_is_valid(".a.b"));
  CHECK_FALSE(kind_is_valid("a.b."));
  CHECK_FALSE(kind_is_valid("a._b"));  // a segment may not start with '_'
  CHECK_FALSE(kind_is_valid("a.-b"));
  CHECK_FALSE(kind_is_valid("a.b c"));
}

TEST_CASE("kind_grammar_allows_at_most_128_bytes", "[kernel][kinds]") {
  std::string kind_128 = "a." + std::string(126, 'b');
  REQUIRE(kind_128.size() == 128);
  CHECK(kind_is_valid(kind_128));
  CHECK_FALSE(kind_is_valid(kind_128 + "b"));
}

TEST_CASE("stream_kinds_are_the_three_frame_kinds", "[kernel][kinds]") {
  CHECK(kind_is_stream("service.connected"));
  CHECK(kind_is_stream("events.lagged"));
  CHECK(kind_is_stream("state.read.model.patch"));
  CHECK_FALSE(kind_is_stream("service.connected.x"));
  CHECK_FALSE(kind_is_stream("events.total"));
}

TEST_CASE("host_owned_kinds_match_telemetry_check_19", "[kernel][kinds]") {
  CHECK(kind_is_host_owned("logic.unit.applied"));
  CHECK(kind_is_host_owned("orchestrator.job.completed"));
  CHECK(kind_is_host_owned("config.patch.applied"));
  CHECK(kind_is_host_owned("governor.changed"));
  CHECK(kind_is_host_owned("staging.decided"));
  CHECK(kind_is_host_owned("leases.created"));
  CHECK(kind_is_host_owned("policy.decision"));
  CHECK(kind_is_host_owned("policy.decisions.x"));  // prefix "policy.decision", no dot
  CHECK(kind_is_host_owned("policy.capsule.adopted"));
  CHECK(kind_is_host_owned("feedback.updated"));
  CHECK(kind_is_host_owned("actions.hint.applied"));
  CHECK_FALSE(kind_is_host_owned("actions.completed"));
  CHECK_FALSE(kind_is_host_owned("policy.capsules.x"));
  CHECK_FALSE(kind_is_host_owned("logic.units"));
  CHECK_FALSE(kind_is_host_owned("configs.x"));
}

TEST_CASE("prefix_filter_merges_csv_and_repeats_trimmed_lowercased_folded", "[kernel][kinds]") {
  auto prefixes = parse_prefix_filter({" a., C. ", "working._set.", ",,", "a."});
  CHECK(prefixes == std::vector<std::string>{"a.", "c.", "working_set."});
  CHECK(parse_prefix_filter({}).empty());
  CHECK(parse_prefix_filter({" , "}).empty());
}

TEST_CASE("kind_matches_any_prefix_or_everything_when_empty", "[kernel][kinds]") {
  CHECK(kind_matches("a.x", {}));
  CHECK(kind_matches("a.x", {"b.", "a."}));
  CHECK_FALSE(kind_matches("b.x", {"a."}));
  CHECK_FALSE(kind_matches("a", {"a."}));
}
