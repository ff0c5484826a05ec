// host.yaml (README "Host configuration"): every key, every error kind with
// its exact file:line:column, and the embedded default.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "config/host_config.h"
#include "config/yaml_support.h"

using tpark::ConfigError;
using tpark::HostConfig;
using tpark::parse_host_config;

namespace {

HostConfig parse_ok(const std::string& text) {
  auto result = parse_host_config(text, "host.yaml");
  if (auto* errors = std::get_if<std::vector<ConfigError>>(&result)) {
    for (const auto& e : *errors) UNSCOPED_INFO(e.to_string());
    FAIL("expected no error");
  }
  return std::get<HostConfig>(result);
}

// Every error as "file:line:column: field: message", in report order.
std::vector<std::string> parse_errors(const std::string& text) {
  auto result = parse_host_config(text, "host.yaml");
  std::vector<std::string> out;
  if (auto* errors = std::get_if<std::vector<ConfigError>>(&result))
    for (const auto& e : *errors) out.push_back(e.to_string());
  return out;
}

using Lines = std::vector<std::string>;

}  // namespace

TEST_CASE("embedded_host_yaml_parses_to_the_documented_defaults") {
  auto result = parse_host_config(tpark::embedded_host_yaml(), "presets/host.yaml (embedded)");
  REQUIRE(std::holds_alternative<HostConfig>(result));
  const HostConfig& config = std::get<HostConfig>(result);
  CHECK(config.file == "presets/host.yaml (embedded)");
  CHECK(config.listen == std::optional<std::string>("127.0.0.1:8091"));
  CHECK(config.state_dir == std::optional<std::string>("./state"));
  CHECK(config.plugin_paths.empty());
  CHECK(config.plugins.empty());
  CHECK(config.training_dispatch == std::optional<std::string>("local"));
  CHECK(config.http_body_bytes == 1048576);
  CHECK(config.ingest_max_bytes == 4194304);
  CHECK(config.sse_max_clients == 2048);
  CHECK_FALSE(config.events_max_rows.has_value());
  CHECK(config.training_history_max == 10000);
}

TEST_CASE("empty_file_means_every_built_in_default") {
  HostConfig config = parse_ok("# nothing set\n");
  CHECK_FALSE(config.listen.has_value());
  CHECK_FALSE(config.state_dir.has_value());
  CHECK_FALSE(config.training_dispatch.has_value());
  CHECK(config.http_body_bytes == 1048576);
  CHECK(config.ingest_max_bytes == 4194304);
  CHECK(config.sse_max_clients == 2048);
  CHECK(config.training_history_max == 10000);
}

TEST_CASE("readme_example_fills_every_key") {
  HostConfig config = parse_ok(
      "schema: tpark.host/v1\n"
      "listen: 0.0.0.0:9000\n"
      "state_dir: /var/lib/tpark\n"
      "plugin_paths: [/opt/a, ./b]\n"
      "plugins:\n"
      "  tp.section.context:\n"
      "    enabled: true\n"
      "    config: {window: 512}\n"
      "  tp.exporter.jsonl:\n"
      "    enabled: off\n"
      "    config: {dir: ./state/logs, what: [patches]}\n"
      "  tp.section.bus:\n"
      "training: {dispatch: nats}\n"
      "limits: {http_body_bytes: 1024, ingest_max_bytes: 2048, sse_max_clients: 2}\n"
      "retention: {events_max_rows: 5000, training_history_max: 100}\n");
  CHECK(config.listen == std::optional<std::string>("0.0.0.0:9000"));
  CHECK(config.state_dir == std::optional<std::string>("/var/lib/tpark"));
  CHECK(config.plugin_paths == std::vector<std::string>{"/opt/a", "./b"});
  CHECK(config.training_dispatch == std::optional<std::string>("nats"));
  CHECK(config.http_body_bytes == 1024);
  CHECK(config.ingest_max_bytes == 2048);
  CHECK(config.sse_max_clients == 2);
  CHECK(config.events_max_rows == std::optional<uint64_t>(5000));
  CHECK(config.training_history_max == 100);

  REQUIRE(config.plugins.size() == 3);
  const auto& context = config.plugins.at("tp.section.context");
  CHECK(context.enabled == std::optional<bool>(true));
  CHECK(context.line == 6);
  CHECK(context.column == 3);
  REQUIRE(context.config.IsMap());
  CHECK(context.config["window"].Scalar() == "512");
  // The block keeps its marks after the document went out of scope.
  CHECK(tpark::yaml_position(context.config["window"]).line == 8);
  CHECK(tpark::yaml_position(context.config["window"]).column == 22);

  const auto& jsonl = config.plugins.at("tp.exporter.jsonl");
  CHECK(jsonl.enabled == std::optional<bool>(false));
  CHECK(jsonl.config["what"][0].Scalar() == "patches");

  // A listed id with an empty entry: the load rule decides.
  const auto& bus = config.plugins.at("tp.section.bus");
  CHECK_FALSE(bus.enabled.has_value());
  CHECK(tpark::yaml_is_null(bus.config));
  CHECK(bus.line == 12);
  CHECK(bus.column == 3);
}

TEST_CASE("null_values_count_as_absent") {
  HostConfig config = parse_ok(
      "listen:\n"
      "limits: {http_body_bytes: ~}\n"
      "retention: {events_max_rows: null}\n"
      "plugins:\n");
  CHECK_FALSE(config.listen.has_value());
  CHECK(config.http_body_bytes == 1048576);
  CHECK_FALSE(config.events_max_rows.has_value());
  CHECK(config.plugins.empty());
}

TEST_CASE("unknown_key_points_at_the_key") {
  CHECK(parse_errors("schema: tpark.host/v1\n"
                     "listen: 127.0.0.1:1\n"
                     "listne: 127.0.0.1:2\n") == Lines{"host.yaml:3:1: listne: unknown key"});
  CHECK(parse_errors("limits:\n"
                     "  http_body_bytes: 10\n"
                     "  body_bytes: 10\n") ==
        Lines{"host.yaml:3:3: limits.body_bytes: unknown key"});
  CHECK(parse_errors("plugins:\n"
                     "  tp.section.context: {enable: true}\n") ==
        Lines{"host.yaml:2:24: plugins.tp.section.context.enable: unknown key"});
}

TEST_CASE("wrong_type_points_at_the_value") {
  CHECK(parse_errors("limits: {http_body_bytes: abc}\n") ==
        Lines{"host.yaml:1:27: limits.http_body_bytes: expected int >= 1, got \"abc\""});
  CHECK(parse_errors("limits: {sse_max_clients: \"24\"}\n") ==
        Lines{"host.yaml:1:27: limits.sse_max_clients: expected int >= 1, got \"24\""});
  CHECK(parse_errors("limits: {ingest_max_bytes: 0}\n") ==
        Lines{"host.yaml:1:28: limits.ingest_max_bytes: expected int >= 1, got 0"});
  CHECK(parse_errors("retention:\n  training_history_max: 99\n") ==
        Lines{"host.yaml:2:25: retention.training_history_max: expected int in [100,1000000], "
              "got 99"});
  CHECK(parse_errors("retention: {training_history_max: 1000001}\n") ==
        Lines{"host.yaml:1:35: retention.training_history_max: expected int in [100,1000000], "
              "got 1000001"});
  CHECK(parse_errors("retention: {events_max_rows: 2.5}\n") ==
        Lines{"host.yaml:1:30: retention.events_max_rows: expected int >= 1, got 2.5"});
  CHECK(parse_errors("training: {dispatch: remote}\n") ==
        Lines{"host.yaml:1:22: training.dispatch: expected one of [local, nats], got \"remote\""});
  CHECK(parse_errors("plugins:\n  tp.section.context:\n    enabled: maybe\n") ==
        Lines{"host.yaml:3:14: plugins.tp.section.context.enabled: expected bool, got \"maybe\""});
  CHECK(parse_errors("plugins:\n  tp.section.context: {config: [1]}\n") ==
        Lines{"host.yaml:2:32: plugins.tp.section.context.config: expected a map, got a list"});
  CHECK(parse_errors("plugin_paths: [/a, [x], '']\n") ==
        Lines{"host.yaml:1:20: plugin_paths[1]: expected non-empty string, got a list",
              "host.yaml:1:25: plugin_paths[2]: expected non-empty string, got \"\""});
  CHECK(parse_errors("limits: 5\n") == Lines{"host.yaml:1:9: limits: expected a map, got 5"});
  CHECK(parse_errors("- listen\n") == Lines{"host.yaml:1:1: expected a map, got a list"});
}

TEST_CASE("schema_must_be_tpark_host_v1_when_present") {
  CHECK(parse_errors("schema: tpark.host/v2\n") ==
        Lines{"host.yaml:1:9: schema: expected \"tpark.host/v1\", got \"tpark.host/v2\""});
  parse_ok("schema: 'tpark.host/v1'\n");
}

TEST_CASE("listen_takes_addr_and_port_0_to_65535") {
  CHECK(parse_ok("listen: '[::1]:0'\n").listen == std::optional<std::string>("[::1]:0"));
  CHECK(parse_ok("listen: localhost:65535\n").listen ==
        std::optional<std::string>("localhost:65535"));
  CHECK(parse_errors("listen: 127.0.0.1:65536\n") ==
        Lines{"host.yaml:1:9: listen: expected ADDR:PORT with port in [0,65535] (IPv6 as "
              "[::1]:PORT), got \"127.0.0.1:65536\""});
  CHECK(parse_errors("listen: 8091\n").size() == 1);
  CHECK(parse_errors("listen: ':8091'\n").size() == 1);

  auto v6 = tpark::parse_listen_address("[::1]:8091");
  REQUIRE(v6.has_value());
  CHECK(v6->host == "::1");
  CHECK(v6->port == 8091);
  auto v4 = tpark::parse_listen_address("127.0.0.1:0");
  REQUIRE(v4.has_value());
  CHECK(v4->host == "127.0.0.1");
  CHECK(v4->port == 0);
  CHECK_FALSE(tpark::parse_listen_address("::1:8091"));  // IPv6 needs brackets
  CHECK_FALSE(tpark::parse_listen_address("[]:8091"));
  CHECK_FALSE(tpark::parse_listen_address("127.0.0.1:"));
  CHECK_FALSE(tpark::parse_listen_address("127.0.0.1:80a"));
  CHECK_FALSE(tpark::parse_listen_address("127.0.0.1:-1"));
  CHECK_FALSE(tpark::parse_listen_address("127.0.0.1:123456"));
  CHECK_FALSE(tpark::parse_listen_address("127.0.0.1"));
  CHECK_FALSE(tpark::parse_listen_address("my host:80"));
}

TEST_CASE("plugin_ids_are_lowercase_dotted") {
  CHECK(parse_errors("plugins:\n  TP.Section: {}\n") ==
        Lines{"host.yaml:2:3: plugins.TP.Section: expected a plugin id (lowercase dot-separated "
              "segments of a-z, 0-9, '_', '-'), got \"TP.Section\""});
  CHECK(parse_ok("plugins: {acme.exporter-s3_v2: {enabled: yes}}\n")
            .plugins.at("acme.exporter-s3_v2")
            .enabled == std::optional<bool>(true));
}

TEST_CASE("duplicate_keys_are_errors_at_the_repeat") {
  CHECK(parse_errors("listen: 127.0.0.1:1\n"
                     "state_dir: ./a\n"
                     "listen: 127.0.0.1:2\n") == Lines{"host.yaml:3:1: listen: duplicate key"});
  CHECK(parse_errors("limits: {sse_max_clients: 1, sse_max_clients: 2}\n") ==
        Lines{"host.yaml:1:30: limits.sse_max_clients: duplicate key"});
  CHECK(parse_errors("plugins:\n"
                     "  tp.section.bus: {}\n"
                     "  tp.section.bus: {enabled: false}\n") ==
        Lines{"host.yaml:3:3: plugins.tp.section.bus: duplicate key"});
}

TEST_CASE("every_error_is_collected_in_document_order") {
  CHECK(parse_errors("schema: tpark.host/v1\n"
                     "listen: nowhere\n"
                     "colour: blue\n"
                     "limits: {http_body_bytes: -1, ingest_max_bytes: 10, sse_max_clients: x}\n"
                     "retention: {training_history_max: 10}\n"
                     "training: {dispatch: local, mode: fast}\n") ==
        Lines{"host.yaml:2:9: listen: expected ADDR:PORT with port in [0,65535] (IPv6 as "
              "[::1]:PORT), got \"nowhere\"",
              "host.yaml:3:1: colour: unknown key",
              "host.yaml:4:27: limits.http_body_bytes: expected int >= 1, got -1",
              "host.yaml:4:70: limits.sse_max_clients: expected int >= 1, got \"x\"",
              "host.yaml:5:35: retention.training_history_max: expected int in [100,1000000], "
              "got 10",
              "host.yaml:6:29: training.mode: unknown key"});
}

TEST_CASE("syntax_error_is_one_error_at_the_parser_mark") {
  CHECK(parse_errors("limits: [1, 2\nlisten: x\n") ==
        Lines{"host.yaml:2:7: end of sequence flow not found"});
  CHECK(parse_errors("a: 1\n  b: 2\n") == Lines{"host.yaml:2:4: illegal map value"});
}

TEST_CASE("load_host_config_reads_a_file_and_names_it") {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / ("tpark-config-test-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  fs::path file = dir / "host.yaml";
  std::ofstream(file) << "listen: 127.0.0.1:0\nlimts: {}\n";

  auto result = tpark::load_host_config(file);
  REQUIRE(std::holds_alternative<std::vector<ConfigError>>(result));
  const auto& errors = std::get<std::vector<ConfigError>>(result);
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].to_string() == file.string() + ":2:1: limts: unknown key");

  std::ofstream(file) << "listen: 127.0.0.1:0\n";
  auto good = tpark::load_host_config(file);
  REQUIRE(std::holds_alternative<HostConfig>(good));
  CHECK(std::get<HostConfig>(good).file == file.string());

  auto missing = tpark::load_host_config(dir / "absent.yaml");
  REQUIRE(std::holds_alternative<std::vector<ConfigError>>(missing));
  CHECK(std::get<std::vector<ConfigError>>(missing)[0].to_string() ==
        (dir / "absent.yaml").string() + ":0:0: no such file");
  fs::remove_all(dir);
}
