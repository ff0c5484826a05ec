// The SDK as a third party gets it (sdk.md "What a third party gets"): the
// SDK installed to a temp prefix, the examples built out of tree against it
// with CMake (find_package) and with pkg-config and a plain compiler line, and
// the real host loading what they built. Also the ABI 1.0 compatibility
// fixture: built against the pinned 1.0 header, loaded and rendered by the
// current host.
#include <catch2/catch.hpp>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <fstream>
#include <sstream>
#include <thread>

#include <tpark/tp_plugin.h>

#include "integration/test_host.h"

using namespace tpark::test;
using tpark::Json;
namespace fs = std::filesystem;

namespace {

// Runs a shell command, its output to `log`; returns the exit status.
int run_logged(const std::string& command, const fs::path& log) {
  const std::string line = command + " >>'" + log.string() + "' 2>&1";
  const int rc = std::system(line.c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : 128;
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Runs, and on failure fails the test with the command's output.
void must_run(const std::string& command, const fs::path& log) {
  INFO(command);
  const int rc = run_logged(command, log);
  if (rc != 0) FAIL("exit " << rc << ":\n" << read_file(log));
}

std::string quoted(const fs::path& p) { return "'" + p.string() + "'"; }

// Installs the SDK component of this build into <dir>/sdk; returns the prefix.
fs::path install_sdk(const TempDir& dir) {
  const fs::path prefix = dir.path() / "sdk";
  must_run("cmake --install " + quoted(TPARK_BINARY_DIR) + " --component sdk --prefix " +
               quoted(prefix),
           dir.path() / "install.log");
  return prefix;
}

// Waits until the snapshot's `name` section renders ok and `ready(value)`.
Json wait_for_section(TestHost& host, const std::string& name,
                      const std::function<bool(const Json&)>& ready) {
  Json last;
  for (int attempt = 0; attempt < 100; ++attempt) {
    HttpResult snap = host.snapshot();
    REQUIRE(snap.status == 200);
    Json j = snap.json();
    if (j["sections"].contains(name) && j["sections"][name]["ok"] == true && ready(j[name]))
      return j[name];
    last = j;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  FAIL("section " << name << " never got ready: " << last.dump());
  return {};
}

}  // namespace

TEST_CASE("installed_sdk_has_headers_cmake_package_pkgconfig_and_conform",
          "[integration][sdk]") {
  TempDir dir;
  const fs::path prefix = install_sdk(dir);
  CHECK(fs::is_regular_file(prefix / "include/tpark/tp_plugin.h"));
  CHECK(fs::is_regular_file(prefix / "include/tpark/tp_plugin.hpp"));
  CHECK(fs::is_regular_file(prefix / "lib/cmake/TparkSDK/TparkSDKConfig.cmake"));
  CHECK(fs::is_regular_file(prefix / "lib/cmake/TparkSDK/TparkSDKConfigVersion.cmake"));
  CHECK(fs::is_regular_file(prefix / "lib/cmake/TparkSDK/tp_plugin.map"));
  CHECK(fs::is_regular_file(prefix / "bin/tpark-conform"));

  // pkg-config resolves the relocated prefix, not the build's.
  const std::string pkg = "PKG_CONFIG_PATH=" + quoted(prefix / "lib/pkgconfig") + " pkg-config ";
  must_run(pkg + "--cflags tparksdk", dir.path() / "cflags.txt");
  must_run(pkg + "--variable=version_script tparksdk", dir.path() / "script.txt");
  must_run(pkg + "--modversion tparksdk", dir.path() / "version.txt");
  auto first_line = [&](const char* file) {
    std::string text = read_file(dir.path() / file);
    return text.substr(0, text.find_first_of(" \n"));
  };
  const std::string cflags = first_line("cflags.txt");
  REQUIRE(cflags.rfind("-I", 0) == 0);
  CHECK(fs::equivalent(fs::path(cflags.substr(2)), prefix / "include"));
  CHECK(fs::equivalent(fs::path(first_line("script.txt")),
                       prefix / "lib/cmake/TparkSDK/tp_plugin.map"));
  CHECK(first_line("version.txt") ==
        std::to_string(TP_ABI_MAJOR) + "." + std::to_string(TP_ABI_MINOR));
}

TEST_CASE("c_section_example_builds_out_of_tree_with_cmake_and_pkgconfig_and_loads",
          "[integration][sdk]") {
  TempDir dir;
  const fs::path prefix = install_sdk(dir);
  const fs::path source = fs::path(TPARK_SOURCE_DIR) / "examples/section-c";
  const fs::path log = dir.path() / "build.log";

  // The three commands of the example's README, then its own test (tpark-conform).
  const fs::path build = dir.path() / "build";
  const fs::path out = dir.path() / "out";
  must_run("cmake -S " + quoted(source) + " -B " + quoted(build) + " -DCMAKE_PREFIX_PATH=" +
               quoted(prefix),
           log);
  must_run("cmake --build " + quoted(build), log);
  must_run("cmake --install " + quoted(build) + " --prefix " + quoted(out), log);
  must_run("ctest --test-dir " + quoted(build) + " --output-on-failure", log);
  CHECK(fs::is_regular_file(out / "plugins/greetings/plugin.yaml"));
  CHECK(fs::is_regular_file(out / "plugins/greetings/libexample_section_greetings.so"));

  // pkg-config and a plain compiler line give an equivalent library.
  const fs::path by_hand = dir.path() / "by-hand" / "greetings";
  fs::create_directories(by_hand);
  fs::copy_file(source / "plugin.yaml", by_hand / "plugin.yaml");
  must_run("export PKG_CONFIG_PATH=" + quoted(prefix / "lib/pkgconfig") + " && cc -std=c99 " +
               "-pedantic -Wall -Wextra -Werror -shared -fPIC -fvisibility=hidden " +
               "$(pkg-config --cflags tparksdk) " + quoted(source / "greetings_section.c") +
               " -Wl,--version-script=$(pkg-config --variable=version_script tparksdk)" +
               " -Wl,--no-undefined -o " + quoted(by_hand / "libexample_section_greetings.so") +
               " && " + quoted(prefix / "bin/tpark-conform") + " " +
               quoted(by_hand / "libexample_section_greetings.so"),
           log);

  for (const fs::path& plugin_dir : {out / "plugins", dir.path() / "by-hand"}) {
    TestHostOptions options;
    options.extra_args = {"--plugin-dir", plugin_dir.string()};
    options.host_yaml =
        "schema: tpark.host/v1\n"
        "plugins:\n"
        "  example.section.greetings:\n"
        "    config: {greeting: bonjour}\n";
    TestHost host(options);
    REQUIRE(host.post("/events/ingest",
                      "{\"kind\":\"example.greeting\",\"node\":\"n1\"}\n"
                      "{\"kind\":\"example.greeting\",\"node\":\"n2\"}\n"
                      "{\"kind\":\"example.other\"}\n")
                .status == 200);
    Json section = wait_for_section(host, "greetings",
                                    [](const Json& v) { return v.is_object() && v["count"] == 2; });
    CHECK(section["greeting"] == "bonjour");
    CHECK(section["last_node"] == "n2");
  }
}

TEST_CASE("abi_1_0_compat_fixture_loads_and_renders_in_the_current_host",
          "[integration][sdk][compat]") {
  TestHostOptions options;
  options.extra_args = {"--plugin-dir", TPARK_COMPAT_ABI_1_0_DIR};
  TestHost host(options);
  std::optional<Json> item = host.plugin_item("tp.compat.abi-1-0");
  REQUIRE(item);
  INFO(item->dump());
  REQUIRE((*item)["state"] == "loaded");
  CHECK((*item)["abi"]["minor"] == 0);  // what the plugin answered: built for 1.0
  REQUIRE(host.post("/events/ingest", "{\"kind\":\"compat.one\"}\n{\"kind\":\"compat.two\"}\n")
              .status == 200);
  Json section = wait_for_section(host, "compat_abi_1_0",
                                  [](const Json& v) { return v.is_object() && v["events"] == 2; });
  CHECK(section["abi"] == "1.0");
  CHECK(section["host_minor"] == TP_ABI_MINOR);
}

namespace {

// Plugin `id`'s /admin/plugins item; fails the test when it is not listed.
Json plugin_item(TestHost& host, const std::string& id) {
  std::optional<Json> item = host.plugin_item(id);
  if (!item) FAIL("plugin " << id << " not listed in /admin/plugins");
  return *item;
}

// The example's three commands, then its own test (tpark-conform).
void build_example(const fs::path& source, const fs::path& build, const fs::path& prefix,
                   const fs::path& out, const fs::path& log) {
  must_run("cmake -S " + quoted(source) + " -B " + quoted(build) + " -DCMAKE_PREFIX_PATH=" +
               quoted(prefix),
           log);
  must_run("cmake --build " + quoted(build), log);
  must_run("cmake --install " + quoted(build) + " --prefix " + quoted(out), log);
  must_run("ctest --test-dir " + quoted(build) + " --output-on-failure", log);
}

}  // namespace

TEST_CASE("section_and_exporter_examples_built_out_of_tree_run_in_the_host", "[integration][sdk]") {
  TempDir dir;
  const fs::path prefix = install_sdk(dir);
  const fs::path out = dir.path() / "out";
  const fs::path log = dir.path() / "build.log";
  build_example(fs::path(TPARK_SOURCE_DIR) / "examples/section-c", dir.path() / "build-c", prefix,
                out, log);
  build_example(fs::path(TPARK_SOURCE_DIR) / "examples/exporter-cpp", dir.path() / "build-cpp",
                prefix, out, log);
  REQUIRE(fs::is_regular_file(out / "plugins/jsonl/plugin.yaml"));

  const fs::path export_file = dir.path() / "export.jsonl";
  TestHostOptions options;
  options.extra_args = {"--plugin-dir", (out / "plugins").string()};
  options.host_yaml = "schema: tpark.host/v1\n"
                      "plugins:\n"
                      "  example.exporter.jsonl:\n"
                      "    enabled: true\n"
                      "    config: {path: '" + export_file.string() + "', what: [snapshots, metrics, patches]}\n";
  TestHost host(options);
  REQUIRE(host.post("/events/ingest", "{\"kind\":\"example.greeting\",\"node\":\"n1\"}\n").status ==
          200);
  wait_for_section(host, "greetings", [](const Json& v) { return v.is_object() && v["count"] == 1; });

  // The exporter runs with its queue counters in /admin/plugins ...
  Json item;
  for (int attempt = 0; attempt < 300; ++attempt) {
    item = plugin_item(host, "example.exporter.jsonl");
    if (item["state"] == "loaded" && item.contains("exporter") && item["exporter"]["sent"] >= 4) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  INFO(item.dump());
  REQUIRE(item["state"] == "loaded");
  CHECK(item["kind"] == Json::array({"exporter"}));
  CHECK(item["exporter"]["sent"] >= 4);  // two rounds of a snapshot and metric samples
  CHECK(item["exporter"]["queue_capacity"] == 1024);
  CHECK(item["exporter"]["dropped"] == 0);
  CHECK(item["health"]["ok"] == true);

  // ... and its file grows, one valid JSON line per item; the snapshots hold
  // the C example's section.
  const auto first_size = fs::file_size(export_file);
  REQUIRE(first_size > 0);
  bool grew = false;
  for (int attempt = 0; attempt < 300 && !grew; ++attempt) {
    grew = fs::file_size(export_file) > first_size;
    if (!grew) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  CHECK(grew);
  int snapshots = 0, metrics = 0;
  Json last_snapshot;
  for (int attempt = 0; attempt < 300 && (snapshots < 2 || metrics < 2); ++attempt) {
    if (attempt > 0) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    snapshots = metrics = 0;
    std::ifstream lines(export_file);
    for (std::string line; std::getline(lines, line);) {
      if (line.empty()) continue;
      INFO(line);
      const Json entry = Json::parse(line);
      if (entry["type"] == "snapshot") {
        ++snapshots;
        REQUIRE(entry["body"].is_object());
        CHECK(entry["body"].contains("sections"));
        last_snapshot = entry["body"];
      } else if (entry["type"] == "metrics") {
        ++metrics;
        CHECK_THAT(entry["body"].get<std::string>(), Catch::Contains("# TYPE"));
      }
    }
  }
  CHECK(snapshots >= 2);
  CHECK(metrics >= 2);
  // Read-model patches reach the exporter too: a second ingest changes the
  // models, and their patch frames are exported as published.
  REQUIRE(host.post("/events/ingest", "{\"kind\":\"example.greeting\",\"node\":\"n2\"}\n").status ==
          200);
  Json patch;
  for (int attempt = 0; attempt < 300 && patch.is_null(); ++attempt) {
    std::ifstream again(export_file);
    for (std::string line; std::getline(again, line);) {
      if (line.empty()) continue;
      const Json entry = Json::parse(line);
      if (entry["type"] == "patch") patch = entry["body"];
    }
    if (patch.is_null()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  INFO(patch.dump());
  REQUIRE(patch.is_object());
  CHECK(patch.contains("id"));
  CHECK(patch.contains("instance_id"));
  CHECK(patch["version"].get<int64_t>() == patch["base_version"].get<int64_t>() + 1);
  CHECK(patch["patch"].is_array());
  // Rounds after the ingest carry the C example's section with the event.
  INFO(last_snapshot.dump());
  CHECK(last_snapshot["greetings"]["count"] == 1);
  auto code = host.process().stop();
  REQUIRE(code.has_value());
  CHECK(*code == 0);
}
