// plugin.yaml as the host and tpark-conform read it: one reader, so the same
// bad manifests are refused by both with the same message; and the
// every-kind subscription, `subscribes: ["*"]`, beside the 36 one-character
// prefixes it stands for.
#include <catch2/catch.hpp>

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "integration/test_host.h"

using namespace tpark::test;
using tpark::Json;
namespace fs = std::filesystem;

namespace {

const fs::path kEventsLibrary =
    fs::path(TPARK_BUILTIN_PLUGIN_DIR) / "section-events" / "libtp_section_events.so";
const std::string kConform = std::string(TPARK_BINARY_DIR) + "/sdk/conform/tpark-conform";

// A plugin directory: the built events section's library beside `manifest`.
void make_plugin(const fs::path& dir, const std::string& manifest) {
  fs::create_directories(dir);
  fs::copy_file(kEventsLibrary, dir / "libtp_section_events.so",
                fs::copy_options::overwrite_existing);
  std::ofstream(dir / "plugin.yaml") << manifest;
}

// The events section's manifest under another id, with these extra lines.
std::string events_manifest(const std::string& id, const std::string& extra) {
  return "manifest: tpark.plugin/v1\n"
         "id: " +
         id +
         "\n"
         "version: 1.0.0\n"
         "library: libtp_section_events.so\n"
         "abi: {major: 1, min_host_minor: 0}\n"
         "kinds: [section]\n"
         "provides: {section: events}\n" +
         extra;
}

struct RunResult {
  int exit_code = -1;
  std::string output;
};

RunResult run_conform(const fs::path& library) {
  RunResult result;
  const std::string command = "'" + kConform + "' '" + library.string() + "' 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::array<char, 4096> buffer;
  size_t n = 0;
  while ((n = fread(buffer.data(), 1, buffer.size(), pipe)) > 0)
    result.output.append(buffer.data(), n);
  const int status = pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

// A host that loads only the plugins in `plugin_dir` (no built-ins).
TestHostOptions only_plugins_in(const TempDir& dir, const fs::path& plugin_dir) {
  TestHostOptions options;
  fs::create_directories(dir.path() / "no-builtins");
  options.builtin_plugin_dir = (dir.path() / "no-builtins").string();
  options.extra_args = {"--plugin-dir", plugin_dir.string()};
  return options;
}

Json events_after_ingesting(TestHost& host, const std::string& ndjson) {
  REQUIRE(host.post("/events/ingest", ndjson).status == 200);
  HttpResult snapshot = host.snapshot();
  REQUIRE(snapshot.status == 200);
  return snapshot.json()["events"];
}

const std::string kEveryFirstCharacter =
    "{\"kind\":\"a.one\"}\n{\"kind\":\"zeta.two\"}\n{\"kind\":\"9lives.three\"}\n"
    "{\"kind\":\"tool.result\"}\n";

}  // namespace

TEST_CASE("host_and_conform_refuse_the_same_manifests_with_the_same_message",
          "[integration][plugins][conform]") {
  TempDir dir;
  const fs::path plugins = dir.path() / "plugins";
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"acme.bad.empty-prefix", events_manifest("acme.bad.empty-prefix", "subscribes: [\"\"]\n")},
      {"acme.bad.prefix", events_manifest("acme.bad.prefix", "subscribes: [ok., 'bad kind']\n")},
      {"acme.bad.unknown-key", events_manifest("acme.bad.unknown-key", "colour: red\n")},
      {"acme.bad.config",
       events_manifest("acme.bad.config", "config:\n  window: {type: int, min: 5, default: 2}\n")},
      {"acme.bad.version",
       "manifest: tpark.plugin/v1\nid: acme.bad.version\nversion: '1.0'\n"
       "library: libtp_section_events.so\nabi: {major: 1}\nkinds: [section]\n"
       "provides: {section: events}\n"},
      {"acme.bad.no-provides",
       "manifest: tpark.plugin/v1\nid: acme.bad.no-provides\nversion: 1.0.0\n"
       "library: libtp_section_events.so\nabi: {major: 1}\nkinds: [section]\n"},
  };
  for (const auto& [id, manifest] : bad) make_plugin(plugins / id, manifest);

  TestHost host(only_plugins_in(dir, plugins));
  for (const auto& [id, manifest] : bad) {
    INFO(id);
    const std::optional<Json> item = host.plugin_item(id);
    REQUIRE(item.has_value());
    REQUIRE((*item)["state"] == "refused");
    const std::string reason = (*item)["reason"].get<std::string>();
    CHECK(reason.rfind("invalid manifest: " + (plugins / id / "plugin.yaml").string() + ":", 0) ==
          0);

    const RunResult conform = run_conform(plugins / id / "libtp_section_events.so");
    INFO(conform.output);
    CHECK(conform.exit_code == 1);
    CHECK(conform.output.find("FAIL rule 14  " + reason + "\n") != std::string::npos);
  }
}

TEST_CASE("subscribes_star_delivers_every_kind_ingested", "[integration][plugins]") {
  TempDir dir;
  const fs::path plugins = dir.path() / "plugins";
  make_plugin(plugins / "events", events_manifest("tp.section.events", "subscribes: [\"*\"]\n"));
  TestHost host(only_plugins_in(dir, plugins));
  REQUIRE(host.plugin_item("tp.section.events").value()["state"] == "loaded");
  const Json events = events_after_ingesting(host, kEveryFirstCharacter);
  CHECK(events["total"] == 4);
  CHECK(events["kinds"].dump() ==
        R"([["9lives.three",1],["a.one",1],["tool.result",1],["zeta.two",1]])");
  CHECK(run_conform(plugins / "events" / "libtp_section_events.so").exit_code == 0);
}

TEST_CASE("the_36_one_character_prefixes_still_subscribe_to_every_kind", "[integration][plugins]") {
  TempDir dir;
  const fs::path plugins = dir.path() / "plugins";
  std::ifstream builtin(fs::path(TPARK_SOURCE_DIR) / "plugins/section-events/plugin.yaml");
  std::stringstream manifest;
  manifest << builtin.rdbuf();
  REQUIRE(manifest.str().find("\"0\", \"1\", \"2\"") != std::string::npos);
  make_plugin(plugins / "events", manifest.str());
  TestHost host(only_plugins_in(dir, plugins));
  const Json events = events_after_ingesting(host, kEveryFirstCharacter);
  CHECK(events["total"] == 4);
  CHECK(events["kinds"].dump() ==
        R"([["9lives.three",1],["a.one",1],["tool.result",1],["zeta.two",1]])");
}
