// NATS ingest's pure parts (telemetry.md 1.4 as docs/deploy.md states it): a
// source message's node and subject kind against its body (the host side of
// ingest_lines), and the subject and node-id rules of tp.source.nats.
#include <catch2/catch.hpp>

#include "kernel/ingest.h"
#include "nats_subject.h"

using namespace tpark;
using namespace tpark::nats_source;

namespace {

constexpr int64_t kReceiveMs = 1767225600000;

std::optional<std::string> parse(std::string_view body, std::string_view node,
                                 std::string_view hint, NewEvent& event) {
  IngestOptions options;
  options.source = "nats";
  return parse_source_message(body, node, hint, kReceiveMs, options, event);
}

}  // namespace

TEST_CASE("source_message_takes_the_subject_kind_when_the_body_has_none", "[kernel][nats]") {
  NewEvent event;
  REQUIRE_FALSE(parse(R"({"payload":{"a":1}})", "n1", "context.coverage", event));
  CHECK(event.kind == "context.coverage");
  CHECK(event.node == "n1");
  CHECK(event.source == "nats");
  CHECK(event.payload == R"({"a":1})");
  CHECK(event.time_ms == kReceiveMs);
  REQUIRE_FALSE(parse(" { } ", "n1", "working._set.completed", event));
  CHECK(event.kind == "working_set.completed");
  CHECK(event.payload == "{}");
}

TEST_CASE("source_message_body_kind_wins_and_a_different_one_is_kind_mismatch", "[kernel][nats]") {
  NewEvent event;
  REQUIRE_FALSE(parse(R"({"kind":"context.coverage"})", "n1", "context.coverage", event));
  CHECK(event.kind == "context.coverage");
  // Equal after alias folding is no mismatch.
  REQUIRE_FALSE(
      parse(R"({"kind":"working._set.completed"})", "n1", "working_set.completed", event));
  CHECK(parse(R"({"kind":"tool.result"})", "n1", "context.coverage", event) == "kind_mismatch");
  // No subject kind: the body's is used as is.
  REQUIRE_FALSE(parse(R"({"kind":"tool.result"})", "n1", "", event));
  CHECK(event.kind == "tool.result");
}

// Texts the fast parser leaves to the fallback (a number beyond double, a
// repeated key) take the subject's kind the same way; a `kind` that is there
// but not a string is no kind, with or without a subject kind; the last of
// repeated `kind`s counts.
TEST_CASE("source_message_subject_kind_is_the_same_on_the_fallback_path", "[kernel][nats]") {
  NewEvent event;
  REQUIRE_FALSE(parse(R"({"payload":{"a":1e999}})", "n1", "context.coverage", event));
  CHECK(event.kind == "context.coverage");
  CHECK(event.payload == R"({"a":null})");
  REQUIRE_FALSE(parse(R"({"payload":{"a":1,"b":2,"a":3}})", "n1", "context.coverage", event));
  CHECK(event.kind == "context.coverage");
  CHECK(event.payload == R"({"a":3,"b":2})");
  CHECK(parse(R"({"payload":{"a":1e999},"kind":"tool.result"})", "n1", "context.coverage", event) ==
        "kind_mismatch");
  CHECK(parse(R"({"kind":5})", "n1", "context.coverage", event) == "missing_kind");
  CHECK(parse(R"({"kind":5,"payload":{"a":1e999}})", "n1", "context.coverage", event) ==
        "missing_kind");
  CHECK(parse(R"({"kind":"tool.result","kind":"context.coverage"})", "n1", "context.coverage",
              event) == std::nullopt);
}

TEST_CASE("source_message_rejects_bad_nodes_bodies_and_host_owned_kinds", "[kernel][nats]") {
  NewEvent event;
  CHECK(parse(R"({"payload":{}})", "bad!node", "demo.kind", event) == "invalid_node");
  CHECK(parse("{not json", "n1", "demo.kind", event) == "invalid_json");
  CHECK(parse("[1]", "n1", "demo.kind", event) == "not_an_object");
  CHECK(parse(R"({"payload":{}})", "n1", "", event) == "missing_kind");
  CHECK(parse(R"({"payload":{}})", "n1", "config.applied", event) == "reserved_kind");
  CHECK(parse(R"({"payload":{}})", "n1", "x\"y.z", event) == "invalid_kind");
  CHECK(parse(R"({"time":5})", "n1", "demo.kind", event) == "invalid_time");
}

TEST_CASE("source_message_node_from_the_transport_replaces_the_body_node", "[kernel][nats]") {
  NewEvent event;
  REQUIRE_FALSE(parse(R"({"kind":"demo.kind","node":"other"})", "n1", "", event));
  CHECK(event.node == "n1");
  REQUIRE_FALSE(parse(R"({"kind":"demo.kind","node":"other"})", "", "", event));
  CHECK(event.node == "other");
}

TEST_CASE("nats_subject_splits_node_and_kind", "[nats]") {
  auto parts = split_subject("arw.events.node.n1.context.coverage");
  REQUIRE(parts);
  CHECK(parts->node == "n1");
  CHECK(parts->kind == "context.coverage");
  parts = split_subject("arw.events.node.n1");
  REQUIRE(parts);
  CHECK(parts->node == "n1");
  CHECK(parts->kind.empty());
  CHECK_FALSE(split_subject("arw.events.other.n1.a.b"));
  CHECK_FALSE(split_subject("arw.events.node..a.b"));
}

TEST_CASE("nats_node_id_is_sanitised_to_the_node_pattern", "[nats]") {
  CHECK(sanitise_node_id("host.example.com") == "host-example-com");
  CHECK(sanitise_node_id("ok_Name-1") == "ok_Name-1");
  CHECK(sanitise_node_id(std::string(80, 'a')).size() == 64);
  CHECK(sanitise_node_id("") == "node");
}

TEST_CASE("nats_url_rewrites_to_tls_and_sees_credentials", "[nats]") {
  CHECK(connection_url("nats://h:4222", true) == "tls://h:4222");
  CHECK(connection_url("nats://h:4222", false) == "nats://h:4222");
  CHECK(url_has_credentials("nats://u:p@h:4222"));
  CHECK_FALSE(url_has_credentials("nats://h:4222"));
}
