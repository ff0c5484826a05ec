// The plugin manager in process (sdk.md rules 1-11, "Fixtures and their
// expected outcome"; README "Host configuration" and "Host routes"): a real
// journal and bus in a temporary directory, the built tp.section.events and
// the fixture plugins from the build tree.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "config/host_config.h"
#include "kernel/bus.h"
#include "kernel/journal.h"
#include "metrics/metric_registry.h"
#include "plugins/plugin_manager.h"

using namespace tpark;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

const fs::path kEventsPluginDir = fs::path(TPARK_BUILTIN_PLUGIN_DIR) / "section-events";
const fs::path kFixtureDir = TPARK_FIXTURE_DIR;

// 2023-11-14T22:13:20.000Z: the host start used by every test here.
constexpr int64_t kStartMs = 1700000000000;

class ScratchDir {
 public:
  ScratchDir() {
    std::random_device random;
    path_ = fs::temp_directory_path() /
            ("tpark-plugins-test-" + std::to_string(::getpid()) + "-" + std::to_string(random()));
    fs::create_directories(path_);
  }
  ~ScratchDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

void write_file(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path) << text;
}

// A manifest for a plugin written in the test; the library may not exist.
std::string manifest_yaml(const std::string& id, const std::string& library,
                          const std::string& kinds, const std::string& extra) {
  return "manifest: tpark.plugin/v1\nid: " + id + "\nversion: 2.1.0\nlibrary: " + library +
         "\nkinds: [" + kinds + "]\n" + extra;
}

HostConfig host_config(const std::string& yaml) {
  auto parsed = parse_host_config(yaml, "host.yaml");
  if (auto* errors = std::get_if<std::vector<ConfigError>>(&parsed)) {
    for (const auto& error : *errors) UNSCOPED_INFO(error.to_string());
    FAIL("host.yaml of the test does not parse");
  }
  return std::get<HostConfig>(std::move(parsed));
}

// Journal and bus of one test host. The manager is created after it and so
// destroyed before it.
struct Kernel {
  ScratchDir dir;
  MetricRegistry metrics;
  Bus bus;
  Journal journal{dir.path() / "tpark.db"};
  int64_t last_id = 0;  // of the last event appended
  int64_t start_id = 0;

  Kernel() {
    journal.set_commit_sink(
        [this](std::vector<EventPtr>&& events) { bus.publish(std::move(events)); });
  }

  // Journals one event per kind, in one transaction.
  void append(const std::vector<std::string>& kinds) {
    std::vector<NewEvent> events;
    for (const auto& kind : kinds) {
      NewEvent event;
      event.kind = kind;
      event.payload = "{}";
      event.time_ms = kStartMs + 1000;
      event.source = "ingest";
      events.push_back(std::move(event));
    }
    for (const auto& event : journal.append(std::move(events))) last_id = event->id;
  }
  void append(const std::string& kind, size_t count) {
    append(std::vector<std::string>(count, kind));
  }

  // Marks "now" as the host start: what is journaled before it is history.
  void mark_start() { start_id = last_id; }

  HostServices services() {
    HostServices services;
    services.journal = &journal;
    services.bus = &bus;
    services.metrics = &metrics;
    services.events_start_ms = kStartMs;
    services.events_start_id = start_id;
    return services;
  }
};

PluginSettings settings_for(std::vector<fs::path> dirs) {
  PluginSettings settings;
  settings.builtin_dirs = {kEventsPluginDir};
  settings.extra_dirs = std::move(dirs);
  settings.stop_timeout = 300ms;
  settings.render_timeout = 2000ms;  // generous: sanitizer builds are slow
  return settings;
}

// A copy of the item with this id (null when absent): describe() returns a
// fresh document every time.
Json item_of(const Json& described, const std::string& id) {
  for (const auto& item : described.at("items"))
    if (item.at("id") == id) return item;
  return nullptr;
}

std::optional<SectionRender> render_of(PluginManager& manager, const std::string& name) {
  for (auto& render : manager.render_sections())
    if (render.name == name) return render;
  return std::nullopt;
}

// Sections apply events on their own executors: wait (bounded) until the
// rendered value is the expected one, and return the last value seen.
std::string eventually_rendered(PluginManager& manager, Bus& bus, const std::string& name,
                                const std::string& expected) {
  bus.flush();
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  std::string seen;
  while (std::chrono::steady_clock::now() < deadline) {
    auto render = render_of(manager, name);
    seen = render && render->ok ? render->json
                                : "(not ok: " + (render ? render->error : "absent") + ")";
    if (seen == expected) return seen;
    std::this_thread::sleep_for(5ms);
  }
  return seen;
}

uint64_t eventually_error_count(PluginManager& manager, const std::string& id, uint64_t expected) {
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  uint64_t seen = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    const Json item = item_of(manager.describe(), id);
    seen = item.is_null() ? 0 : item.at("health").at("error_count").get<uint64_t>();
    if (seen == expected) return seen;
    std::this_thread::sleep_for(5ms);
  }
  return seen;
}

std::string events_json(const std::string& kinds, uint64_t total) {
  return R"({"start":"2023-11-14T22:13:20.000Z","total":)" + std::to_string(total) +
         R"(,"kinds":)" + kinds + "}";
}

}  // namespace

TEST_CASE("fixtures_load_with_the_outcomes_sdk_md_expects") {
  Kernel kernel;
  PluginManager manager(kernel.services(), settings_for({kFixtureDir}));
  manager.load(host_config("plugins: {}\n"));
  REQUIRE(manager.settled());
  const Json described = manager.describe();

  auto state_and_reason = [&](const std::string& id) {
    const Json item = item_of(described, id);
    REQUIRE_FALSE(item.is_null());
    return std::make_pair(item.at("state").get<std::string>(),
                          item.value("reason", std::string("(no reason)")));
  };
  using Outcome = std::pair<std::string, std::string>;
  CHECK(state_and_reason("tp.fixture.wrong-major") == Outcome{"refused", "ABI major 2, host 1"});
  CHECK(state_and_reason("tp.fixture.newer-minor") ==
        Outcome{"refused", "needs host ABI 1.3, host is 1.2"});
  CHECK(state_and_reason("tp.fixture.missing-entry") ==
        Outcome{"refused", "missing entry tp_plugin_entry"});
  const auto unresolved = state_and_reason("tp.fixture.unresolved-symbol");
  CHECK(unresolved.first == "refused");
  CHECK_THAT(unresolved.second,
             Catch::Contains("undefined symbol: tp_fixture_symbol_nobody_defines"));
  CHECK(state_and_reason("tp.fixture.oversized-struct").first == "loaded");
  CHECK(state_and_reason("tp.fixture.throwing-callback").first == "loaded");
  CHECK(state_and_reason("tp.fixture.never-stops").first == "loaded");
  CHECK(state_and_reason("tp.section.events").first == "loaded");

  // Loaded plugins carry no reason; every item names its library absolutely.
  const Json oversized = item_of(described, "tp.fixture.oversized-struct");
  CHECK_FALSE(oversized.contains("reason"));
  CHECK(oversized.at("library") ==
        (kFixtureDir / "oversized-struct" / "libtp_fixture_oversized_struct.so")
            .lexically_normal()
            .string());
  CHECK(oversized.at("version") == "0.1.0");
  CHECK(oversized.at("kind") == Json::array({"section"}));
  // The descriptor is 16 bytes larger than ABI 1.0's 80 and still loads.
  CHECK(oversized.at("descriptors") ==
        Json::parse(R"([{"kind":"section","name":"fixture_oversized_struct","struct_size":96}])"));
  // It answers the minor of the header it was built with.
  CHECK(oversized.at("abi") == Json({{"major", 1}, {"minor", TP_ABI_MINOR}}));
  CHECK(oversized.at("health") == Json::parse(R"({"ok":true,"error_count":0})"));
  // The refused plugin's own answer is what is reported.
  CHECK(item_of(described, "tp.fixture.wrong-major").at("abi") ==
        Json::parse(R"({"major":2,"minor":0})"));
  CHECK(item_of(described, "tp.fixture.newer-minor").at("abi") ==
        Json::parse(R"({"major":1,"minor":3})"));

  // Items are sorted by id.
  std::vector<std::string> ids;
  for (const auto& item : described.at("items")) ids.push_back(item.at("id"));
  CHECK(std::is_sorted(ids.begin(), ids.end()));

  // The plugin that never stops is abandoned after the stop timeout (300 ms),
  // and the rest still stop.
  const auto started = std::chrono::steady_clock::now();
  manager.stop_all();
  const auto elapsed = std::chrono::steady_clock::now() - started;
  CHECK(elapsed >= 300ms);
  CHECK(elapsed < 5s);
  const Json after = manager.describe();
  CHECK(
      item_of(after, "tp.fixture.never-stops").at("health") ==
      Json::parse(
          R"({"ok":false,"error_count":1,"last_error":"did not stop within 300 ms; abandoned"})"));
}

TEST_CASE("events_section_counts_events_journaled_since_start_and_renders_exact_json") {
  Kernel kernel;
  // Journaled before the host started: history, not traffic.
  kernel.append({"zz.before", "zz.before", "a.one"});
  kernel.mark_start();
  PluginManager manager(kernel.services(), settings_for({}));
  manager.load(host_config("plugins: {}\n"));

  CHECK(eventually_rendered(manager, kernel.bus, "events", events_json("[]", 0)) ==
        events_json("[]", 0));

  kernel.append({"b.two", "a.one", "c.three", "b.two", "c.three"});
  // Count descending, then kind ascending.
  const std::string expected = events_json(R"([["b.two",2],["c.three",2],["a.one",1]])", 5);
  CHECK(eventually_rendered(manager, kernel.bus, "events", expected) == expected);

  // Unchanged: the plugin says so and the host serves the same text again.
  auto again = render_of(manager, "events");
  REQUIRE(again);
  CHECK(again->ok);
  CHECK(again->json == expected);
  CHECK(again->plugin_id == "tp.section.events");
  CHECK(again->version == std::optional<std::string>("1.0.0"));
}

TEST_CASE("events_kinds_beyond_ARW_EVENTS_KINDS_MAX_are_summed_under_other") {
  Kernel kernel;
  kernel.mark_start();
  ::setenv("ARW_EVENTS_KINDS_MAX", "2", 1);
  PluginManager manager(kernel.services(), settings_for({}));
  manager.load(host_config("plugins: {}\n"));
  ::unsetenv("ARW_EVENTS_KINDS_MAX");

  kernel.append({"a.one", "a.one", "a.one", "b.two", "b.two", "c.three", "d.four"});
  const std::string expected = events_json(R"([["a.one",3],["b.two",2],["other",2]])", 7);
  CHECK(eventually_rendered(manager, kernel.bus, "events", expected) == expected);
}

TEST_CASE("a_malformed_ARW_EVENTS_KINDS_MAX_falls_back_to_512") {
  Kernel kernel;
  kernel.mark_start();
  ::setenv("ARW_EVENTS_KINDS_MAX", "two", 1);
  PluginManager manager(kernel.services(), settings_for({}));
  manager.load(host_config("plugins: {}\n"));
  ::unsetenv("ARW_EVENTS_KINDS_MAX");

  kernel.append({"a.one", "b.two", "c.three"});
  const std::string expected = events_json(R"([["a.one",1],["b.two",1],["c.three",1]])", 3);
  CHECK(eventually_rendered(manager, kernel.bus, "events", expected) == expected);
}

TEST_CASE("priming_replays_the_newest_rows_before_start_then_counts_live_events") {
  Kernel kernel;
  kernel.append({"fixture.a", "other.kind", "fixture.b", "fixture.c", "other.kind"});
  kernel.mark_start();
  PluginManager manager(kernel.services(), settings_for({kFixtureDir / "oversized-struct"}));
  manager.load(host_config("plugins: {}\n"));

  // prime_rows = 2 of the three "fixture." rows, flagged as replay.
  CHECK(eventually_rendered(manager, kernel.bus, "fixture_oversized_struct",
                            R"({"replayed":2,"live":0})") == R"({"replayed":2,"live":0})");
  kernel.append({"fixture.d", "other.kind", "fixture.e"});
  CHECK(eventually_rendered(manager, kernel.bus, "fixture_oversized_struct",
                            R"({"replayed":2,"live":2})") == R"({"replayed":2,"live":2})");
}

TEST_CASE("an_inbox_overflow_re_primes_the_section_and_totals_stay_exact") {
  Kernel kernel;
  kernel.append({"zz.before"});
  kernel.mark_start();
  PluginSettings settings = settings_for({});
  settings.inbox_capacity = 4;
  PluginManager manager(kernel.services(), settings);
  manager.load(host_config("plugins: {}\n"));
  CHECK(eventually_rendered(manager, kernel.bus, "events", events_json("[]", 0)) ==
        events_json("[]", 0));

  // One commit of 200 events: the inbox takes 4, the bus counts the rest as
  // lagged, and the section is rebuilt from the journal.
  std::vector<std::string> burst;
  for (int i = 0; i < 200; ++i) burst.push_back(i % 4 == 0 ? "burst.rare" : "burst.common");
  kernel.append(burst);
  std::string expected = events_json(R"([["burst.common",150],["burst.rare",50]])", 200);
  CHECK(eventually_rendered(manager, kernel.bus, "events", expected) == expected);
  CHECK(kernel.bus.counters().lagged >= 1);

  // Live delivery continues after the re-prime, without gaps or duplicates.
  kernel.append({"after.burst"});
  expected = events_json(R"([["burst.common",150],["burst.rare",50],["after.burst",1]])", 201);
  CHECK(eventually_rendered(manager, kernel.bus, "events", expected) == expected);
}

TEST_CASE("a_throwing_plugin_is_counted_and_the_host_keeps_serving") {
  Kernel kernel;
  kernel.mark_start();
  PluginManager manager(kernel.services(), settings_for({kFixtureDir / "throwing-callback"}));
  manager.load(host_config("plugins: {}\n"));
  // Priming: its raw C reset returns TP_INTERNAL.
  CHECK(eventually_error_count(manager, "tp.fixture.throwing-callback", 1) == 1);

  kernel.append({"fixture.throw.one", "fixture.throw.two", "fixture.throw.three", "x.ok"});
  kernel.bus.flush();
  CHECK(eventually_error_count(manager, "tp.fixture.throwing-callback", 4) == 4);

  // Its render throws; the other sections render as usual.
  auto renders = manager.render_sections();
  for (const auto& render : renders) {
    if (render.name == "fixture_throwing_callback") {
      CHECK_FALSE(render.ok);
      CHECK(render.error == "failed");
      CHECK(render.json == "null");
    }
    if (render.name == "events") {
      CHECK(render.ok);
    }
  }
  const Json item = item_of(manager.describe(), "tp.fixture.throwing-callback");
  REQUIRE_FALSE(item.is_null());
  CHECK(item.at("state") == "loaded");
  // last_error carries the exception's own text, not just the status.
  CHECK(item.at("health") ==
        Json::parse(R"({"ok":false,"error_count":5,"last_error":"render: render refuses"})"));
  const std::string expected = events_json(
      R"([["fixture.throw.one",1],["fixture.throw.three",1],["fixture.throw.two",1],["x.ok",1]])",
      4);
  CHECK(eventually_rendered(manager, kernel.bus, "events", expected) == expected);
}

TEST_CASE("a_plugin_whose_create_fails_is_failed_with_its_message") {
  Kernel kernel;
  HostServices services = kernel.services();
  // The app answers null for state it cannot serve (yet).
  services.state_read = [](const std::string& name) -> std::optional<Json> {
    if (name == "events_start") return Json(nullptr);
    return std::nullopt;
  };
  PluginManager manager(services, settings_for({}));
  manager.load(host_config("plugins: {}\n"));
  const Json item = item_of(manager.describe(), "tp.section.events");
  REQUIRE_FALSE(item.is_null());
  CHECK(item.at("state") == "failed");
  CHECK(item.at("reason") == "create: host state events_start is unavailable");
  CHECK(item.at("health") ==
        Json::parse(R"({"ok":false,"error_count":1,)"
                    R"("last_error":"create: host state events_start is unavailable"})"));
  auto render = render_of(manager, "events");
  REQUIRE(render);
  CHECK_FALSE(render->ok);
  CHECK(render->error == "failed");
  CHECK(render->json == "null");
}

TEST_CASE("every_builtin_section_appears_in_snapshot_order_disabled_and_not_loaded_included") {
  Kernel kernel;
  kernel.mark_start();
  PluginManager manager(kernel.services(), settings_for({kFixtureDir / "oversized-struct"}));
  manager.load(host_config("plugins:\n  tp.section.events: {enabled: false}\n"));

  const Json events = item_of(manager.describe(), "tp.section.events");
  REQUIRE_FALSE(events.is_null());
  CHECK(events.at("state") == "disabled");
  CHECK(events.at("reason") == "disabled in host.yaml (enabled: false)");

  const auto renders = manager.render_sections();
  const auto& builtins = builtin_section_names();
  REQUIRE(renders.size() == builtins.size() + 1);
  for (size_t i = 0; i < builtins.size(); ++i) {
    INFO(builtins[i]);
    CHECK(renders[i].name == builtins[i]);
    CHECK(renders[i].plugin_id == "tp.section." + builtins[i]);
    CHECK_FALSE(renders[i].ok);
    CHECK(renders[i].json == "null");
    if (builtins[i] == "events") {
      CHECK(renders[i].error == "disabled");
      CHECK(renders[i].version == std::optional<std::string>("1.0.0"));
    } else {
      CHECK(renders[i].error == "not_loaded");
      CHECK(renders[i].version == std::nullopt);
    }
  }
  // A third-party section follows the built-ins.
  CHECK(renders.back().name == "fixture_oversized_struct");
  CHECK(renders.back().plugin_id == "tp.fixture.oversized-struct");
  CHECK(renders.back().ok);
  CHECK(renders.back().json == R"({"replayed":0,"live":0})");
}

TEST_CASE("the_load_rule_and_manifest_checks_decide_before_any_library_opens") {
  Kernel kernel;
  ScratchDir plugins;
  const fs::path dir = plugins.path();
  // None of these libraries exists: a decision that needed one would say so.
  write_file(dir / "exporter/plugin.yaml",
             manifest_yaml("acme.exporter.s3", "libs3.so", "exporter", "abi: {major: 1}\n"));
  write_file(dir / "nats/plugin.yaml", manifest_yaml("tp.orchestrator.nats", "libnats.so",
                                                     "orchestrator", "abi: {major: 1}\n"));
  write_file(dir / "major/plugin.yaml",
             manifest_yaml("acme.section.major", "libmajor.so", "section",
                           "abi: {major: 2}\nprovides: {section: major}\n"));
  write_file(dir / "minor/plugin.yaml",
             manifest_yaml("acme.section.minor", "libminor.so", "section",
                           "abi: {major: 1, min_host_minor: 3}\nprovides: {section: minor}\n"));
  write_file(dir / "config/plugin.yaml",
             manifest_yaml("acme.section.config", "libconfig.so", "section",
                           "abi: {major: 1}\nprovides: {section: config_probe}\n"
                           "config:\n  window: {type: int, default: 8, min: 1, max: 64}\n"));
  write_file(dir / "broken/plugin.yaml", "manifest: tpark.plugin/v1\nid: acme.section.broken\n");

  PluginManager manager(kernel.services(), settings_for({dir}));
  manager.load(
      host_config("plugins:\n"
                  "  acme.section.config: {config: {window: 100}}\n"
                  "  acme.section.nowhere: {enabled: true}\n"));
  const Json described = manager.describe();
  auto item = [&](const std::string& id) {
    const Json found = item_of(described, id);
    REQUIRE_FALSE(found.is_null());
    return found;
  };
  CHECK(item("acme.exporter.s3").at("state") == "disabled");
  CHECK(item("acme.exporter.s3").at("reason") == "not enabled in host.yaml");
  CHECK(item("tp.orchestrator.nats").at("state") == "disabled");
  CHECK(item("tp.orchestrator.nats").at("reason") == "not enabled in host.yaml");
  CHECK(item("acme.section.major").at("state") == "refused");
  CHECK(item("acme.section.major").at("reason") == "ABI major 2, host 1");
  CHECK(item("acme.section.major").at("abi") == Json::parse(R"({"major":2,"minor":0})"));
  CHECK(item("acme.section.minor").at("state") == "refused");
  CHECK(item("acme.section.minor").at("reason") == "needs host ABI 1.3, host is 1.2");
  CHECK(item("acme.section.config").at("state") == "refused");
  CHECK_THAT(item("acme.section.config").at("reason").get<std::string>(),
             Catch::StartsWith("host.yaml:2:") &&
                 Catch::Contains("plugins.acme.section.config.config.window"));
  CHECK(item("acme.section.broken").at("state") == "refused");
  CHECK_THAT(item("acme.section.broken").at("reason").get<std::string>(),
             Catch::StartsWith("invalid manifest: "));
  CHECK(item("acme.section.nowhere").at("state") == "not_loaded");
  CHECK(item("acme.section.nowhere").at("reason") ==
        "not found on the plugin paths: " + kEventsPluginDir.lexically_normal().string() + ", " +
            dir.lexically_normal().string());
  CHECK(item("acme.section.nowhere").at("version") == nullptr);
  CHECK(item("acme.section.nowhere").at("library") == nullptr);

  // validate() reports the same config error without applying anything.
  const auto errors =
      manager.validate(host_config("plugins:\n  acme.section.config: {config: {window: 0}}\n"));
  REQUIRE(errors.size() == 1);
  CHECK(errors.front().field == "plugins.acme.section.config.config.window");
}

TEST_CASE("a_duplicate_id_is_refused_and_the_first_found_wins") {
  Kernel kernel;
  ScratchDir copy;
  const fs::path fixture = kFixtureDir / "oversized-struct";
  fs::create_directories(copy.path() / "oversized");
  fs::copy_file(fixture / "plugin.yaml", copy.path() / "oversized" / "plugin.yaml");
  fs::copy_file(fixture / "libtp_fixture_oversized_struct.so",
                copy.path() / "oversized" / "libtp_fixture_oversized_struct.so");

  PluginManager manager(kernel.services(), settings_for({fixture, copy.path()}));
  manager.load(host_config("plugins: {}\n"));
  std::vector<Json> items;
  const Json described = manager.describe();
  for (const auto& item : described.at("items"))
    if (item.at("id") == "tp.fixture.oversized-struct") items.push_back(item);
  REQUIRE(items.size() == 2);
  CHECK(items[0].at("state") == "loaded");
  CHECK(items[1].at("state") == "refused");
  CHECK(items[1].at("reason") ==
        "duplicate id, first found at " + (fixture / "plugin.yaml").lexically_normal().string());
}

TEST_CASE("reload_adds_removes_and_reconfigures_and_keeps_the_old_set_on_errors") {
  Kernel kernel;
  kernel.mark_start();
  ScratchDir plugins;
  // A configurable copy of the oversized-struct fixture under its own id.
  const fs::path fixture = kFixtureDir / "oversized-struct";
  fs::create_directories(plugins.path() / "configurable");
  fs::copy_file(fixture / "libtp_fixture_oversized_struct.so",
                plugins.path() / "configurable" / "libtp_fixture_oversized_struct.so");
  write_file(
      plugins.path() / "configurable" / "plugin.yaml",
      manifest_yaml("acme.section.configurable", "libtp_fixture_oversized_struct.so", "section",
                    "abi: {major: 1}\nprovides: {section: fixture_oversized_struct}\n"
                    "subscribes: [fixture.]\n"
                    "config:\n  window: {type: int, default: 8, min: 1, max: 64}\n"));

  PluginManager manager(kernel.services(), settings_for({plugins.path()}));
  manager.load(host_config("plugins:\n  tp.section.events: {enabled: false}\n"));
  auto state = [&](const std::string& id) {
    const Json item = item_of(manager.describe(), id);
    return item.is_null() ? std::string("absent") : item.at("state").get<std::string>();
  };
  REQUIRE(state("tp.section.events") == "disabled");
  REQUIRE(state("acme.section.configurable") == "loaded");

  auto applied = [](std::variant<ReloadResult, std::vector<ConfigError>> result) {
    REQUIRE(std::holds_alternative<ReloadResult>(result));
    const auto& r = std::get<ReloadResult>(result);
    return std::vector<std::vector<std::string>>{r.added, r.removed, r.reconfigured};
  };
  using Ids = std::vector<std::vector<std::string>>;

  // Enabling events, reconfiguring the other.
  CHECK(applied(manager.reload(
            host_config("plugins:\n  acme.section.configurable: {config: {window: 16}}\n"))) ==
        Ids{{"tp.section.events"}, {}, {"acme.section.configurable"}});
  CHECK(state("tp.section.events") == "loaded");
  CHECK(state("acme.section.configurable") == "loaded");

  // The same config again changes nothing.
  CHECK(applied(manager.reload(
            host_config("plugins:\n  acme.section.configurable: {config: {window: 16}}\n"))) ==
        Ids{{}, {}, {}});

  // An invalid block: errors, and the running set is untouched.
  auto invalid =
      manager.reload(host_config("plugins:\n  tp.section.events: {enabled: false}\n"
                                 "  acme.section.configurable: {config: {window: 0}}\n"));
  REQUIRE(std::holds_alternative<std::vector<ConfigError>>(invalid));
  CHECK(std::get<std::vector<ConfigError>>(invalid).front().field ==
        "plugins.acme.section.configurable.config.window");
  CHECK(state("tp.section.events") == "loaded");

  // Disabling both.
  CHECK(applied(manager.reload(host_config("plugins:\n  tp.section.events: {enabled: false}\n"
                                           "  acme.section.configurable: {enabled: false}\n"))) ==
        Ids{{}, {"acme.section.configurable", "tp.section.events"}, {}});
  CHECK(state("tp.section.events") == "disabled");
  CHECK(state("acme.section.configurable") == "disabled");
  CHECK(render_of(manager, "events")->error == "disabled");
}
