// plugin.yaml (sdk.md rule 11 and "plugin.yaml"): manifests read into the
// struct, their errors with file:line:column, discovery order, and the schema
// language applied to a plugin's block from host.yaml.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "plugins/manifest.h"

namespace fs = std::filesystem;
using tpark::ConfigError;
using tpark::Manifest;
using tpark::SchemaField;
using Lines = std::vector<std::string>;

namespace {

// A fresh directory under the temp dir, removed with its contents.
class TempDir {
 public:
  TempDir() {
    static int counter = 0;
    path_ = fs::temp_directory_path() /
            ("tpark-manifest-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }
  fs::path write(const fs::path& relative, const std::string& text) const {
    fs::path file = path_ / relative;
    fs::create_directories(file.parent_path());
    std::ofstream(file) << text;
    return file;
  }

 private:
  fs::path path_;
};

// The example of sdk.md "plugin.yaml", as written there.
const std::string kSdkExample =
    "manifest: tpark.plugin/v1\n"
    "id: tp.section.context                 # tp.<kind>.<name> for built-ins\n"
    "version: 1.2.0                          # the plugin's own SemVer\n"
    "library: libtp_section_context.so       # beside this file\n"
    "abi: {major: 1, min_host_minor: 0}      # checked before the library is opened\n"
    "kinds: [section]\n"
    "provides: {section: context}            # the snapshot key a section renders\n"
    "subscribes: [context.coverage, context.recall.risk, working_set.]   # kind prefixes\n"
    "config:                                 # the schema of its block in host.yaml\n"
    "  window: {type: int, default: 512, min: 1, max: 65536}\n"
    "  mode:   {type: enum, values: [fast, exact], default: exact}\n"
    "  labels: {type: map, of: string, required: false}\n";

// A minimal valid manifest followed by `extra` lines.
std::string manifest_with(const std::string& extra) {
  return "manifest: tpark.plugin/v1\n"
         "id: acme.exporter.s3\n"
         "version: 0.1.0\n"
         "library: libacme_s3.so\n"
         "abi: {major: 1}\n"
         "kinds: [exporter]\n" +
         extra;
}

// `text` with its 1-based line `line` replaced by `replacement`.
std::string replace_line(std::string text, int line, const std::string& replacement) {
  size_t start = 0;
  for (int i = 1; i < line; ++i) start = text.find('\n', start) + 1;
  size_t end = text.find('\n', start);
  return text.replace(start, end - start, replacement);
}

Manifest read_ok(const TempDir& dir, const std::string& text) {
  auto result = tpark::read_manifest(dir.write("plugin.yaml", text));
  if (auto* errors = std::get_if<std::vector<ConfigError>>(&result)) {
    for (const auto& e : *errors) UNSCOPED_INFO(e.to_string());
    FAIL("expected no error");
  }
  return std::get<Manifest>(result);
}

// Errors with the directory stripped: "plugin.yaml:line:column: field: message".
Lines read_errors(const TempDir& dir, const std::string& text) {
  auto result = tpark::read_manifest(dir.write("plugin.yaml", text));
  Lines out;
  if (auto* errors = std::get_if<std::vector<ConfigError>>(&result)) {
    std::string prefix = dir.path().string() + "/";
    for (const auto& e : *errors) {
      std::string line = e.to_string();
      if (line.rfind(prefix, 0) == 0) line = line.substr(prefix.size());
      out.push_back(line);
    }
  }
  return out;
}

std::string validate_ok(const Manifest& manifest, const std::string& block_yaml) {
  YAML::Node block = block_yaml.empty() ? YAML::Node() : YAML::Load(block_yaml);
  auto result = tpark::validate_plugin_config(manifest, block, "host.yaml");
  if (auto* errors = std::get_if<std::vector<ConfigError>>(&result)) {
    for (const auto& e : *errors) UNSCOPED_INFO(e.to_string());
    FAIL("expected no error");
  }
  return std::get<tpark::Json>(result).dump();
}

Lines validate_errors(const Manifest& manifest, const std::string& block_yaml) {
  auto result = tpark::validate_plugin_config(manifest, YAML::Load(block_yaml), "host.yaml");
  Lines out;
  if (auto* errors = std::get_if<std::vector<ConfigError>>(&result))
    for (const auto& e : *errors) out.push_back(e.to_string());
  return out;
}

}  // namespace

TEST_CASE("sdk_example_manifest_reads_into_the_struct") {
  TempDir dir;
  Manifest m = read_ok(dir, kSdkExample);
  CHECK(m.file == dir.path() / "plugin.yaml");
  CHECK(m.id == "tp.section.context");
  CHECK(m.version == "1.2.0");
  CHECK(m.library == "libtp_section_context.so");
  CHECK(m.library_path() == dir.path() / "libtp_section_context.so");
  CHECK(m.abi_major == 1);
  CHECK(m.min_host_minor == 0);
  CHECK(m.kinds == Lines{"section"});
  CHECK(m.section == std::optional<std::string>("context"));
  CHECK(m.subscribes == Lines{"context.coverage", "context.recall.risk", "working_set."});
  CHECK(m.capabilities.empty());
  CHECK(m.description.empty());

  REQUIRE(m.config.size() == 3);
  const SchemaField& window = m.config[0];
  CHECK(window.name == "window");
  CHECK(window.type == SchemaField::Type::Int);
  CHECK(window.min == std::optional<double>(1));
  CHECK(window.max == std::optional<double>(65536));
  CHECK(window.default_value.dump() == "512");
  CHECK_FALSE(window.required);

  const SchemaField& mode = m.config[1];
  CHECK(mode.name == "mode");
  CHECK(mode.type == SchemaField::Type::Enum);
  CHECK(mode.values == Lines{"fast", "exact"});
  CHECK(mode.default_value.dump() == "\"exact\"");

  const SchemaField& labels = m.config[2];
  CHECK(labels.name == "labels");
  CHECK(labels.type == SchemaField::Type::Map);
  CHECK(labels.of == std::optional<SchemaField::Type>(SchemaField::Type::String));
  CHECK(labels.default_value.is_null());
  CHECK(std::string(tpark::schema_type_name(labels.type)) == "map");
}

TEST_CASE("optional_manifest_keys_and_folded_subscriptions") {
  TempDir dir;
  Manifest m =
      read_ok(dir, replace_line(manifest_with("subscribes: [Working._Set., CONTEXT.Coverage]\n"
                                              "capabilities: [net.outbound, fs.write]\n"
                                              "description: Ships patches to S3\n"),
                                5, "abi: {major: 2, min_host_minor: 3}"));
  CHECK(m.subscribes == Lines{"working_set.", "context.coverage"});
  CHECK(m.capabilities == Lines{"net.outbound", "fs.write"});
  CHECK(m.description == "Ships patches to S3");
  CHECK(m.abi_major == 2);
  CHECK(m.min_host_minor == 3);
  CHECK_FALSE(m.section.has_value());
}

TEST_CASE("manifest_subscribes_star_is_every_kind_and_empty_is_refused") {
  TempDir dir;
  CHECK(read_ok(dir, manifest_with("subscribes: [\"*\"]\n")).subscribes == Lines{"*"});
  CHECK(read_errors(dir, manifest_with("subscribes: [\"\"]\n")) ==
        Lines{"plugin.yaml:7:14: subscribes[0]: expected non-empty string, got \"\""});
  CHECK(read_errors(dir, manifest_with("subscribes: [\"a*\"]\n")) ==
        Lines{"plugin.yaml:7:14: subscribes[0]: expected a kind prefix (a-z, 0-9, '.', '_', '-') "
              "or \"*\", got \"a*\""});
}

TEST_CASE("manifest_required_keys_are_reported_at_the_top") {
  TempDir dir;
  CHECK(read_errors(dir,
                    "manifest: tpark.plugin/v1\n"
                    "version: 1.0.0\n"
                    "library: libx.so\n"
                    "abi: {major: 1}\n"
                    "kinds: [source]\n") == Lines{"plugin.yaml:1:1: id: missing required key"});
  CHECK(read_errors(dir, "id: x\n") == Lines{"plugin.yaml:1:1: manifest: missing required key",
                                             "plugin.yaml:1:1: version: missing required key",
                                             "plugin.yaml:1:1: library: missing required key",
                                             "plugin.yaml:1:1: abi: missing required key",
                                             "plugin.yaml:1:1: kinds: missing required key"});
  CHECK(read_errors(dir, "") == Lines{"plugin.yaml:1:1: expected a map, got null"});
  CHECK(read_errors(dir, replace_line(manifest_with(""), 5, "abi: {min_host_minor: 1}")) ==
        Lines{"plugin.yaml:5:6: abi.major: missing required key"});
}

TEST_CASE("manifest_values_are_checked_where_they_stand") {
  TempDir dir;
  auto with = [&](const std::string& line) { return read_errors(dir, manifest_with(line)); };
  CHECK(read_errors(dir, replace_line(manifest_with(""), 1, "manifest: tpark.plugin/v2")) ==
        Lines{"plugin.yaml:1:11: manifest: expected \"tpark.plugin/v1\", got \"tpark.plugin/v2\""});
  CHECK(with("colour: red\n") == Lines{"plugin.yaml:7:1: colour: unknown key"});
  CHECK(with("id: again.x\n") == Lines{"plugin.yaml:7:1: id: duplicate key"});
  CHECK(with("provides: {section: events}\n") ==
        Lines{"plugin.yaml:7:11: provides.section: only a plugin whose kinds has section "
              "provides a section"});
  CHECK(with("subscribes: [ok., 'bad kind']\n") ==
        Lines{"plugin.yaml:7:19: subscribes[1]: expected a kind prefix (a-z, 0-9, '.', '_', '-') "
              "or \"*\", got \"bad kind\""});
  CHECK(with("capabilities: net\n") ==
        Lines{"plugin.yaml:7:15: capabilities: expected a list, got \"net\""});
}

TEST_CASE("manifest_id_version_library_and_abi_rules") {
  TempDir dir;
  auto with_line = [&](int line, const std::string& text) {
    return read_errors(dir, replace_line(manifest_with(""), line, text));
  };
  CHECK(with_line(2, "id: Tp.Section") ==
        Lines{"plugin.yaml:2:5: id: expected a plugin id (lowercase dot-separated segments of "
              "a-z, 0-9, '_', '-'), got \"Tp.Section\""});
  CHECK(with_line(2, "id: tp..x").size() == 1);
  CHECK(with_line(2, "id: tp.x.").size() == 1);
  CHECK(with_line(2, "id: " + std::string(129, 'a')).size() == 1);
  CHECK(with_line(2, "id: " + std::string(128, 'a')).empty());

  CHECK(with_line(3, "version: 1.2") ==
        Lines{"plugin.yaml:3:10: version: expected a SemVer 2.0 version (MAJOR.MINOR.PATCH), "
              "got 1.2"});
  for (const char* good :
       {"0.0.0", "1.2.3-alpha.1", "1.2.3-0.3.7", "1.0.0-x-y.z+build.007", "10.20.30+meta"})
    CHECK(with_line(3, std::string("version: ") + good).empty());
  for (const char* bad : {"01.2.3", "1.02.3", "1.2.3-01", "1.2.3-", "1.2.3+", "1.2.3.4", "v1.2.3",
                          "1.2.3-a..b", "1.2.3+a_b"})
    CHECK(with_line(3, std::string("version: ") + bad).size() == 1);

  CHECK(with_line(4, "library: lib/libacme.so") ==
        Lines{"plugin.yaml:4:10: library: expected a file name beside plugin.yaml (no '/'), got "
              "\"lib/libacme.so\""});
  CHECK(with_line(4, "library: ..").size() == 1);

  CHECK(with_line(5, "abi: {major: 0}") ==
        Lines{"plugin.yaml:5:14: abi.major: expected int in [1,4294967295], got 0"});
  CHECK(with_line(5, "abi: {major: 1, min_host_minor: -1}") ==
        Lines{"plugin.yaml:5:33: abi.min_host_minor: expected int in [0,4294967295], got -1"});
  CHECK(with_line(5, "abi: {major: 1, minor: 2}") ==
        Lines{"plugin.yaml:5:17: abi.minor: unknown key"});

  CHECK(with_line(6, "kinds: []") ==
        Lines{"plugin.yaml:6:8: kinds: expected a non-empty list, got []"});
  CHECK(with_line(6, "kinds: [exporter, sink, exporter]") ==
        Lines{"plugin.yaml:6:19: kinds[1]: expected one of [section, orchestrator, applier, "
              "exporter, source], got \"sink\"",
              "plugin.yaml:6:25: kinds[2]: duplicate kind"});
  CHECK(with_line(6, "kinds: [section]") ==
        Lines{"plugin.yaml:1:1: provides.section: missing required key (kinds has section)"});
}

TEST_CASE("manifest_config_schema_rules") {
  TempDir dir;
  auto with_config = [&](const std::string& fields) {
    return read_errors(dir, manifest_with("config:\n" + fields));
  };
  CHECK(with_config("  mode: {type: enum, default: fast}\n") ==
        Lines{"plugin.yaml:8:16: config.mode.values: missing required key (an enum lists its "
              "values)"});
  CHECK(with_config("  mode: {type: enum, values: []}\n") ==
        Lines{"plugin.yaml:8:30: config.mode.values: expected a non-empty list"});
  CHECK(with_config("  mode: {type: enum, values: [a, b, a]}\n") ==
        Lines{"plugin.yaml:8:37: config.mode.values[2]: duplicate value"});
  CHECK(with_config("  ports: {type: list}\n") ==
        Lines{"plugin.yaml:8:17: config.ports.of: missing required key (a list names its "
              "element type)"});
  CHECK(with_config("  ports: {type: list, of: list}\n") ==
        Lines{"plugin.yaml:8:27: config.ports.of: expected one of [int, float, bool, string, "
              "enum], got \"list\""});
  CHECK(with_config("  name: {type: string, of: int}\n") ==
        Lines{"plugin.yaml:8:24: config.name.of: only a list or map has an element type"});
  CHECK(with_config("  name: {type: text}\n") ==
        Lines{"plugin.yaml:8:16: config.name.type: expected one of [int, float, bool, string, "
              "enum, list, map], got \"text\""});
  CHECK(with_config("  name: {default: x}\n") ==
        Lines{"plugin.yaml:8:9: config.name.type: missing required key"});
  CHECK(with_config("  name: {type: string, min: 1}\n") ==
        Lines{"plugin.yaml:8:24: config.name.min: only an int or float has bounds"});
  CHECK(with_config("  window: {type: int, min: 1.5}\n") ==
        Lines{"plugin.yaml:8:28: config.window.min: expected int, got 1.5"});
  CHECK(with_config("  window: {type: int, min: 10, max: 5}\n") ==
        Lines{"plugin.yaml:8:37: config.window.max: max 5 is below min 10"});
  CHECK(with_config("  window: {type: int, required: maybe}\n") ==
        Lines{"plugin.yaml:8:33: config.window.required: expected bool, got \"maybe\""});
  CHECK(with_config("  window: {type: int, help: x}\n") ==
        Lines{"plugin.yaml:8:23: config.window.help: unknown key"});
  // Defaults are checked against their own field.
  CHECK(with_config("  window: {type: int, default: 0, min: 1, max: 65536}\n") ==
        Lines{"plugin.yaml:8:32: config.window.default: expected int in [1,65536], got 0"});
  CHECK(with_config("  mode: {type: enum, values: [fast, exact], default: slow}\n") ==
        Lines{"plugin.yaml:8:54: config.mode.default: expected one of [fast, exact], got "
              "\"slow\""});
  CHECK(with_config("  ports: {type: list, of: int, default: [80, x]}\n") ==
        Lines{"plugin.yaml:8:46: config.ports.default[1]: expected int, got \"x\""});
  CHECK(with_config("  ratio: {type: float, default: '0.5'}\n") ==
        Lines{"plugin.yaml:8:33: config.ratio.default: expected float, got \"0.5\""});
}

TEST_CASE("find_manifests_orders_by_dir_then_path") {
  TempDir root;
  fs::path first = root.path() / "first";
  fs::path second = root.path() / "second";
  root.write("second/plugin.yaml", "");
  root.write("second/z/plugin.yaml", "");
  root.write("second/b/plugin.yaml", "");
  root.write("second/a/plugin.yaml", "");
  root.write("second/c/readme.txt", "");          // a subdir without a manifest
  root.write("second/a/deeper/plugin.yaml", "");  // two levels down: not scanned
  root.write("second/notadir", "");
  root.write("first/x/plugin.yaml", "");
  std::vector<fs::path> found =
      tpark::find_manifests({first, root.path() / "missing", second, first});
  CHECK(found == std::vector<fs::path>{first / "x" / "plugin.yaml", second / "a" / "plugin.yaml",
                                       second / "b" / "plugin.yaml", second / "plugin.yaml",
                                       second / "z" / "plugin.yaml"});
  CHECK(tpark::find_manifests({root.path() / "missing"}).empty());
}

TEST_CASE("plugin_config_defaults_fill_in_schema_order") {
  TempDir dir;
  Manifest m = read_ok(dir, kSdkExample);
  CHECK(validate_ok(m, "") == R"({"window":512,"mode":"exact"})");
  CHECK(validate_ok(m, "~") == R"({"window":512,"mode":"exact"})");
  CHECK(validate_ok(m, "{}") == R"({"window":512,"mode":"exact"})");
  CHECK(validate_ok(m, "{labels: {b: x, a: 2}, mode: fast}") ==
        R"({"window":512,"mode":"fast","labels":{"b":"x","a":"2"}})");
  CHECK(validate_ok(m, "window: 24") == R"({"window":24,"mode":"exact"})");
}

TEST_CASE("plugin_config_int_float_bool_and_string_are_told_apart") {
  TempDir dir;
  Manifest m = read_ok(dir, manifest_with("config:\n"
                                          "  count: {type: int}\n"
                                          "  ratio: {type: float}\n"
                                          "  flag: {type: bool}\n"
                                          "  name: {type: string}\n"));
  CHECK(validate_ok(m, "{count: 24, ratio: 1, flag: yes, name: 24}") ==
        R"({"count":24,"ratio":1.0,"flag":true,"name":"24"})");
  CHECK(validate_ok(m, "{count: 0x1F, ratio: 2.5e-1, flag: OFF, name: ''}") ==
        R"({"count":31,"ratio":0.25,"flag":false,"name":""})");
  CHECK(validate_ok(m, "{count: 0o17, ratio: -.5, flag: On, name: \"x y\"}") ==
        R"({"count":15,"ratio":-0.5,"flag":true,"name":"x y"})");
  CHECK(validate_ok(m, "count: +5") == R"({"count":5})");
  CHECK(validate_errors(m, "count: -0x1F") ==  // the core schema signs decimals only
        Lines{"host.yaml:1:8: plugins.acme.exporter.s3.config.count: expected int, got \"-0x1F\""});
  CHECK(validate_errors(m, "{count: 24.5}") ==
        Lines{"host.yaml:1:9: plugins.acme.exporter.s3.config.count: expected int, got 24.5"});
  CHECK(validate_errors(m, "{count: \"24\"}") ==
        Lines{"host.yaml:1:9: plugins.acme.exporter.s3.config.count: expected int, got \"24\""});
  CHECK(validate_errors(m, "count: 9223372036854775808") ==
        Lines{"host.yaml:1:8: plugins.acme.exporter.s3.config.count: expected int, got "
              "9223372036854775808"});
  CHECK(validate_errors(m, "{ratio: '0.5', flag: 'true', name: [a]}") ==
        Lines{"host.yaml:1:9: plugins.acme.exporter.s3.config.ratio: expected float, got \"0.5\"",
              "host.yaml:1:22: plugins.acme.exporter.s3.config.flag: expected bool, got \"true\"",
              "host.yaml:1:36: plugins.acme.exporter.s3.config.name: expected string, got a list"});
  CHECK(validate_errors(m, "ratio: .inf\nname:\n") ==
        Lines{"host.yaml:1:8: plugins.acme.exporter.s3.config.ratio: expected float, got \".inf\"",
              "host.yaml:2:1: plugins.acme.exporter.s3.config.name: expected string, got null"});
}

TEST_CASE("plugin_config_bounds_are_inclusive") {
  TempDir dir;
  Manifest m = read_ok(dir, kSdkExample);
  CHECK(validate_ok(m, "window: 1") == R"({"window":1,"mode":"exact"})");
  CHECK(validate_ok(m, "window: 65536") == R"({"window":65536,"mode":"exact"})");
  CHECK(validate_errors(m, "window: 0") ==
        Lines{"host.yaml:1:9: plugins.tp.section.context.config.window: expected int in "
              "[1,65536], got 0"});
  CHECK(validate_errors(m, "window: 65537") ==
        Lines{"host.yaml:1:9: plugins.tp.section.context.config.window: expected int in "
              "[1,65536], got 65537"});

  Manifest f = read_ok(dir, manifest_with("config:\n  ratio: {type: float, min: 0, max: 0.5}\n"));
  CHECK(validate_ok(f, "ratio: 0.5") == R"({"ratio":0.5})");
  CHECK(validate_errors(f, "ratio: 0.50001") ==
        Lines{"host.yaml:1:8: plugins.acme.exporter.s3.config.ratio: expected float in [0,0.5], "
              "got 0.50001"});
}

TEST_CASE("plugin_config_enum_list_and_map_check_each_element") {
  TempDir dir;
  Manifest m = read_ok(dir, manifest_with("config:\n"
                                          "  mode: {type: enum, values: [fast, exact]}\n"
                                          "  ports: {type: list, of: int, min: 1, max: 65535}\n"
                                          "  what: {type: list, of: enum, values: [patches, "
                                          "events]}\n"
                                          "  labels: {type: map, of: string}\n"));
  CHECK(validate_ok(m, "{mode: fast, ports: [80, 443], what: [events], labels: {env: prod}}") ==
        R"({"mode":"fast","ports":[80,443],"what":["events"],"labels":{"env":"prod"}})");
  CHECK(validate_errors(m, "mode: slow") ==
        Lines{"host.yaml:1:7: plugins.acme.exporter.s3.config.mode: expected one of [fast, "
              "exact], got \"slow\""});
  CHECK(validate_errors(m, "ports: [80, 0, x]") ==
        Lines{"host.yaml:1:13: plugins.acme.exporter.s3.config.ports[1]: expected int in "
              "[1,65535], got 0",
              "host.yaml:1:16: plugins.acme.exporter.s3.config.ports[2]: expected int in "
              "[1,65535], got \"x\""});
  CHECK(validate_errors(m, "ports: 80") ==
        Lines{"host.yaml:1:8: plugins.acme.exporter.s3.config.ports: expected a list, got 80"});
  CHECK(validate_errors(m, "what: [patches, logs]") ==
        Lines{"host.yaml:1:17: plugins.acme.exporter.s3.config.what[1]: expected one of "
              "[patches, events], got \"logs\""});
  CHECK(validate_errors(m, "labels:\n  env: [prod]\n  env: x\n") ==
        Lines{"host.yaml:2:8: plugins.acme.exporter.s3.config.labels.env: expected string, got "
              "a list",
              "host.yaml:3:3: plugins.acme.exporter.s3.config.labels.env: duplicate key"});
}

TEST_CASE("plugin_config_required_and_unknown_keys") {
  TempDir dir;
  Manifest m = read_ok(dir, manifest_with("config:\n"
                                          "  bucket: {type: string, required: true}\n"
                                          "  region: {type: string, default: eu-west-1}\n"));
  CHECK(validate_ok(m, "bucket: logs") == R"({"bucket":"logs","region":"eu-west-1"})");
  CHECK(validate_errors(m, "\n  region: us-east-1\n  bukket: logs\n") ==
        Lines{"host.yaml:2:3: plugins.acme.exporter.s3.config.bucket: missing required key",
              "host.yaml:3:3: plugins.acme.exporter.s3.config.bukket: unknown key"});
  CHECK(validate_errors(m, "bucket: a\nbucket: b\n") ==
        Lines{"host.yaml:2:1: plugins.acme.exporter.s3.config.bucket: duplicate key"});
  CHECK(validate_errors(m, "[bucket]") ==
        Lines{"host.yaml:1:1: plugins.acme.exporter.s3.config: expected a map, got a list"});

  // Through host.yaml: a missing block points at the plugin's entry.
  auto config = tpark::parse_host_config(
      "plugins:\n"
      "  acme.exporter.s3: {enabled: true}\n"
      "  other.plugin:\n"
      "    config: {region: x}\n",
      "host.yaml");
  REQUIRE(std::holds_alternative<tpark::HostConfig>(config));
  const auto& plugins = std::get<tpark::HostConfig>(config).plugins;
  auto no_block = tpark::validate_plugin_config(m, plugins.at("acme.exporter.s3"), "host.yaml");
  REQUIRE(std::holds_alternative<std::vector<ConfigError>>(no_block));
  CHECK(std::get<std::vector<ConfigError>>(no_block)[0].to_string() ==
        "host.yaml:2:3: plugins.acme.exporter.s3.config.bucket: missing required key");
  auto with_block = tpark::validate_plugin_config(m, plugins.at("other.plugin"), "host.yaml");
  REQUIRE(std::holds_alternative<std::vector<ConfigError>>(with_block));
  CHECK(std::get<std::vector<ConfigError>>(with_block)[0].to_string() ==
        "host.yaml:4:13: plugins.acme.exporter.s3.config.bucket: missing required key");
}
