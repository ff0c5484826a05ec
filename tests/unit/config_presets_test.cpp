// Preset files (control.md 3.3, 3.5, 3.6): the shipped set, validation
// messages with exact file:line:column, and the tier auto-detection rule.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "config/presets.h"
#include "support/host_process.h"

using namespace tpark;
using namespace tpark::control;
using tpark::test::TempDir;

namespace {

const std::filesystem::path kShipped = std::filesystem::path(TPARK_SOURCE_DIR) / "presets";

void write(const std::filesystem::path& path, const std::string& text) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream(path) << text;
}

// A presets dir holding copies of the shipped files.
std::filesystem::path copy_shipped(const TempDir& dir) {
  std::filesystem::path presets = dir.path() / "presets";
  std::filesystem::copy(kShipped, presets, std::filesystem::copy_options::recursive);
  std::filesystem::remove(presets / "host.yaml");
  return presets;
}

std::vector<std::string> error_lines(const std::string& text, const char* kind_dir = "context") {
  std::vector<ConfigError> errors;
  auto preset = parse_preset(text, "presets/context/x.yaml", kind_dir, errors);
  CHECK_FALSE(preset.has_value());
  std::vector<std::string> lines;
  for (const auto& e : errors) lines.push_back(e.to_string());
  return lines;
}

}  // namespace

TEST_CASE("shipped_presets_load_without_errors") {
  auto set = load_presets(kShipped);
  for (const auto& e : set->errors) FAIL_CHECK(e.to_string());
  REQUIRE(set->items.size() == 5);
  CHECK(set->items[0].name == "eco");
  CHECK(set->items[1].name == "balanced");
  CHECK(set->items[2].name == "performance");
  CHECK(set->items[3].name == "turbo");
  CHECK(set->items[4].name == "never-out-of-context");
  CHECK(set->items[4].kind == "context");
  CHECK(set->find("MAX") == &set->items[3]);
  CHECK(set->find("perf") == &set->items[2]);
  CHECK(set->items[3].risky);
  CHECK_FALSE(set->items[1].risky);
  CHECK(set->items[0].file == "presets/perf/eco.yaml");
  CHECK(set->find("nope") == nullptr);
}

TEST_CASE("shipped_perf_presets_carry_the_spec_table") {
  auto set = load_presets(kShipped);
  auto value = [&](const char* preset, const char* key) -> Json {
    const Preset* p = set->find(preset);
    REQUIRE(p != nullptr);
    for (const auto& e : p->env)
      if (e.key == key) return e.value;
    return nullptr;
  };
  CHECK(value("eco", "ARW_HTTP_MAX_CONC") == 256);
  CHECK(value("eco", "ARW_ACTIONS_QUEUE_MAX") == 256);
  CHECK(value("balanced", "ARW_CONTEXT_K") == 18);
  CHECK(value("performance", "ARW_CONTEXT_K") == 24);
  CHECK(value("turbo", "ARW_CONTEXT_K") == 32);
  CHECK(value("turbo", "ARW_CONTEXT_LANES_DEFAULT") == "semantic,procedural,episodic,insight");
  CHECK(value("eco", "ARW_CONTEXT_EXPAND_QUERY") == false);
  CHECK(value("balanced", "ARW_CONTEXT_DIVERSITY_LAMBDA") == 0.70);
  CHECK(value("eco", "ARW_MEMORY_EMBED_BACKFILL_IDLE_SEC") == 600);
  CHECK(value("balanced", "ARW_WORKERS_MAX").is_null());
  CHECK(value("turbo", "ARW_MODELS_METRICS_PUBLISH_MS") == 1000);
  CHECK(value("never-out-of-context", "ARW_CONTEXT_SLOT_BUDGETS") ==
        Json::parse(R"({"evidence":8,"instructions":2,"memory":3,"notes":3,"plan":3,"policy":2,"safety":2})"));
  CHECK(value("never-out-of-context", "ARW_REHYDRATE_FILE_HEAD_KB") == 96);
}

TEST_CASE("a_type_error_points_at_the_value_node") {
  TempDir dir;
  auto presets = copy_shipped(dir);
  write(presets / "context" / "bad.yaml",
        "schema: tpark.preset/v1\n"
        "kind: context\n"
        "name: bad\n"
        "env:\n"
        "  ARW_CONTEXT_K: abc\n");
  auto set = load_presets(presets);
  REQUIRE(set->errors.size() == 1);
  CHECK(set->errors[0].to_string() ==
        "presets/context/bad.yaml:5:18: env.ARW_CONTEXT_K: expected int in [1,256], got \"abc\"");
  CHECK(set->items.size() == 5);  // the invalid file is skipped, the others load
  Json json = set->errors_json();
  CHECK(json[0]["line"] == 5);
  CHECK(json[0]["column"] == 18);
  CHECK(json[0]["message"] == "env.ARW_CONTEXT_K: expected int in [1,256], got \"abc\"");
}

TEST_CASE("every_error_of_a_file_is_collected_at_its_node") {
  auto lines = error_lines(
      "schema: tpark.preset/v1\n"
      "kind: context\n"
      "name: x\n"
      "colour: red\n"
      "env:\n"
      "  ARW_CONTEXT_K: 20\n"
      "  ARW_CONTEXT_K: 21\n"
      "  ARW_HTTP_MAX_CONC: 10\n"
      "  ARW_NOPE: 1\n"
      "  ARW_CONTEXT_MIN_SCORE: {value: 2, risky: true}\n"
      "governor: {profile: fast, hints: {retrieval_k: 0}}\n");
  REQUIRE(lines.size() == 7);
  CHECK(lines[0] == "presets/context/x.yaml:4:1: colour: unknown key");
  CHECK(lines[1] == "presets/context/x.yaml:7:3: env.ARW_CONTEXT_K: duplicate key");
  CHECK(lines[2] == "presets/context/x.yaml:8:3: env.ARW_HTTP_MAX_CONC: perf key in a context preset");
  CHECK(lines[3] == "presets/context/x.yaml:9:3: env.ARW_NOPE: unknown key (not in the registry)");
  CHECK(lines[4] ==
        "presets/context/x.yaml:10:34: env.ARW_CONTEXT_MIN_SCORE.value: expected float in [0,1], got 2");
  CHECK(lines[5] ==
        "presets/context/x.yaml:11:21: governor.profile: expected one of balance, performance, "
        "power-saver (or an alias), got \"fast\"");
  CHECK(lines[6] ==
        "presets/context/x.yaml:11:48: governor.hints.retrieval_k: expected int in [1,256], got 0");
}

TEST_CASE("missing_fields_a_wrong_schema_and_a_kind_outside_its_directory_are_errors") {
  auto lines = error_lines("schema: tpark.preset/v2\nkind: perf\nname: Bad Name\n");
  REQUIRE(lines.size() == 4);
  CHECK(lines[0] == "presets/context/x.yaml:1:1: env: required");
  CHECK(lines[1] == "presets/context/x.yaml:1:9: schema: expected \"tpark.preset/v1\", got \"tpark.preset/v2\"");
  CHECK(lines[2] ==
        "presets/context/x.yaml:2:7: kind: expected context (the file is in context/), got \"perf\"");
  CHECK(lines[3] ==
        "presets/context/x.yaml:3:7: name: expected a name matching ^[a-z][a-z0-9_-]{0,31}$, got \"Bad Name\"");
}

TEST_CASE("duplicate_names_and_aliases_across_files_are_errors_of_the_later_file") {
  TempDir dir;
  auto presets = copy_shipped(dir);
  write(presets / "context" / "again.yaml",
        "schema: tpark.preset/v1\n"
        "kind: context\n"
        "name: eco\n"
        "aliases: [max, mine]\n"
        "env: {ARW_CONTEXT_K: 20}\n");
  auto set = load_presets(presets);
  REQUIRE(set->errors.size() == 2);
  CHECK(set->errors[0].to_string() ==
        "presets/context/again.yaml:3:7: name: duplicate name or alias \"eco\" (already used by "
        "presets/perf/eco.yaml)");
  CHECK(set->errors[1].to_string() ==
        "presets/context/again.yaml:4:11: aliases[0]: duplicate name or alias \"max\" (already used "
        "by presets/perf/turbo.yaml)");
  CHECK(set->find("mine") == nullptr);
}

TEST_CASE("a_yaml_syntax_error_names_its_position") {
  auto lines = error_lines("schema: [\n");
  REQUIRE(lines.size() == 1);
  CHECK(lines[0].rfind("presets/context/x.yaml:2:1: ", 0) == 0);
}

TEST_CASE("tier_detection_follows_the_first_matching_rule") {
  auto tier = [](unsigned cpus, std::optional<std::string> cpu_max, std::optional<std::string> mem_max,
                 std::optional<uint64_t> total) {
    MachineFacts facts;
    facts.affinity_cpus = cpus;
    facts.cgroup_cpu_max = std::move(cpu_max);
    facts.cgroup_memory_max = std::move(mem_max);
    facts.mem_total_bytes = total;
    return detect_tier(facts);
  };
  const uint64_t gib = 1ull << 30;
  CHECK(tier(4, std::nullopt, std::nullopt, 64 * gib).tier == "eco");
  CHECK(tier(32, std::nullopt, std::nullopt, 8 * gib).tier == "eco");
  CHECK(tier(8, std::nullopt, std::nullopt, 64 * gib).tier == "balanced");
  CHECK(tier(32, std::nullopt, std::nullopt, 16 * gib).tier == "balanced");
  CHECK(tier(16, std::nullopt, std::nullopt, 64 * gib).tier == "performance");
  CHECK(tier(32, std::nullopt, std::nullopt, 33 * gib).tier == "turbo");
  // A cgroup quota of 2.5 CPUs counts as 3; "max" is no quota.
  DetectedTier quota = tier(32, "250000 100000\n", "max\n", 64 * gib);
  CHECK(quota.cores == 3);
  CHECK(quota.tier == "eco");
  CHECK(tier(32, "max 100000\n", std::nullopt, 64 * gib).cores == 32);
  // memory.max below MemTotal wins.
  DetectedTier limited = tier(32, std::nullopt, std::to_string(12 * gib) + "\n", 64 * gib);
  CHECK(limited.mem_gib == 12.0);
  CHECK(limited.tier == "balanced");
  CHECK(tier(32, std::nullopt, std::to_string(12 * gib), std::nullopt).tier == "balanced");
  CHECK(tier(32, std::nullopt, std::nullopt, std::nullopt).tier == "turbo");
  CHECK(tier(12, std::nullopt, std::nullopt, std::nullopt).tier == "performance");
}

TEST_CASE("text_that_is_not_utf8_or_has_control_characters_is_one_located_error") {
  auto lines = error_lines("schema: tpark.preset/v1\nname: \xC3\x28\n");
  REQUIRE(lines.size() == 1);
  CHECK(lines[0] == "presets/context/x.yaml:2:7: invalid UTF-8 or a control character");
  CHECK(error_lines("a: \xED\xA0\x80\n").at(0) ==
        "presets/context/x.yaml:1:4: invalid UTF-8 or a control character");
  CHECK(error_lines(std::string("\x06\0\0\0olan", 8)).at(0) ==
        "presets/context/x.yaml:1:1: invalid UTF-8 or a control character");
  // A lone surrogate escape is refused by the parser, at the escape.
  auto surrogate = error_lines(
      "schema: tpark.preset/v1\nkind: context\nname: s\ndescription: \"\\ud800\"\n"
      "env: {ARW_CONTEXT_K: 20}\n");
  REQUIRE(surrogate.size() == 1);
  CHECK(surrogate[0] == "presets/context/x.yaml:4:21: invalid unicode: 55296");
}
