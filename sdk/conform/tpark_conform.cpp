// tpark-conform [--events FILE] PLUGIN.so: drives one plugin library through
// its whole lifecycle against a fake host and reports, rule by rule (the
// numbered rules of docs/abi-policy.md), what it could check. Shipped with
// the SDK so a plugin's author can run exactly what the project runs over its
// own plugins.
//
// What it does, in order: reads plugin.yaml beside the library with the
// host's own reader (host/plugins/manifest.h); checks the library's exported
// symbols; opens it with RTLD_NOW | RTLD_LOCAL; calls tp_plugin_entry with the
// host's ABI offer; checks the answer and every descriptor; then, per
// descriptor, create (config = the manifest's defaults), start, the kind's
// callbacks with synthetic input, stop, destroy. With --events, each section
// then gets the file's events and renders after each one. Every call into the
// plugin runs on one executor thread with a deadline and inside a catch-all
// guard, so a plugin that throws, blocks or never stops is reported, never
// fatal to the runner.
//
// Exit status: 0 every check passed, 1 a check failed, 2 usage or I/O error.
#include <dlfcn.h>
#include <elf.h>
#include <stdlib.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include <yaml-cpp/yaml.h>
#include <nlohmann/json.hpp>

#include <tpark/tp_plugin.h>

#include "conform_report.h"
#include "fake_host.h"
#include "kernel/kinds.h"
#include "plugins/manifest.h"

namespace fs = std::filesystem;
using tpark::Manifest;
using tpark::conform::CallResult;
using tpark::conform::Executor;
using tpark::conform::FakeHost;
using tpark::conform::Report;
namespace rule = tpark::conform::rule;

namespace {

constexpr std::chrono::milliseconds kCallDeadline{5000};

// plugin.yaml beside the library, read by the host's own reader (rule 14):
// what the host refuses, the runner fails with the same text.
std::optional<Manifest> read_plugin_manifest(const fs::path& file, Report& report) {
  tpark::ManifestResult result = tpark::read_manifest(file);
  if (auto* errors = std::get_if<std::vector<tpark::ConfigError>>(&result)) {
    report.fail(rule::kManifest, tpark::manifest_errors_text(*errors));
    return std::nullopt;
  }
  Manifest manifest = std::get<Manifest>(std::move(result));
  report.pass(rule::kManifest, "plugin.yaml: " + manifest.id + " " + manifest.version + ", kinds " +
                                   nlohmann::json(manifest.kinds).dump());
  return manifest;
}

// The config block create gets: the manifest's defaults, validated as the
// host validates a plugin with no block in host.yaml.
std::string config_defaults(const Manifest& manifest, Report& report) {
  auto validated = tpark::validate_plugin_config(manifest, YAML::Node(), "host.yaml");
  if (auto* errors = std::get_if<std::vector<tpark::ConfigError>>(&validated)) {
    report.note("without a host.yaml block the host would refuse this plugin: " +
                (errors->empty() ? std::string("invalid config") : errors->front().to_string()) +
                "; create gets the defaults alone");
    nlohmann::json defaults = nlohmann::json::object();
    for (const auto& field : manifest.config)
      if (!field.default_value.is_null()) defaults[field.name] = field.default_value;
    return defaults.dump();
  }
  return std::get<tpark::Json>(validated).dump();
}

// The defined global symbols in the library's dynamic symbol table.
std::optional<std::vector<std::string>> exported_symbols(const fs::path& library) {
  std::ifstream in(library, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (bytes.size() < sizeof(Elf64_Ehdr) || std::memcmp(bytes.data(), ELFMAG, SELFMAG) != 0 ||
      bytes[EI_CLASS] != ELFCLASS64)
    return std::nullopt;
  Elf64_Ehdr header;
  std::memcpy(&header, bytes.data(), sizeof header);
  auto section = [&](size_t index) {
    Elf64_Shdr s;
    std::memcpy(&s, bytes.data() + header.e_shoff + index * header.e_shentsize, sizeof s);
    return s;
  };
  if (header.e_shoff + size_t{header.e_shnum} * header.e_shentsize > bytes.size()) return std::nullopt;
  std::vector<std::string> names;
  for (size_t i = 0; i < header.e_shnum; ++i) {
    Elf64_Shdr dynsym = section(i);
    if (dynsym.sh_type != SHT_DYNSYM || dynsym.sh_link >= header.e_shnum) continue;
    Elf64_Shdr strtab = section(dynsym.sh_link);
    if (dynsym.sh_offset + dynsym.sh_size > bytes.size() ||
        strtab.sh_offset + strtab.sh_size > bytes.size())
      return std::nullopt;
    for (size_t off = 0; off + sizeof(Elf64_Sym) <= dynsym.sh_size; off += sizeof(Elf64_Sym)) {
      Elf64_Sym sym;
      std::memcpy(&sym, bytes.data() + dynsym.sh_offset + off, sizeof sym);
      const int binding = ELF64_ST_BIND(sym.st_info);
      if (sym.st_shndx == SHN_UNDEF || (binding != STB_GLOBAL && binding != STB_WEAK)) continue;
      if (sym.st_name >= strtab.sh_size) continue;
      names.emplace_back(bytes.data() + strtab.sh_offset + sym.st_name);
    }
  }
  return names;
}

const char* kind_name(uint32_t kind) {
  switch (kind) {
    case TP_KIND_SECTION: return "section";
    case TP_KIND_ORCHESTRATOR: return "orchestrator";
    case TP_KIND_LOGIC_APPLIER: return "logic_applier";
    case TP_KIND_EXPORTER: return "exporter";
    case TP_KIND_SOURCE: return "source";
    default: return "unknown";
  }
}

// Copies min(struct_size, sizeof(T)) of a plugin struct into a zeroed T
// (rule 4: the consumer reads only what lies inside struct_size).
template <class T>
T copy_prefix(const void* source) {
  T local{};
  uint32_t size = 0;
  std::memcpy(&size, source, sizeof size);
  std::memcpy(&local, source, std::min<size_t>(size, sizeof(T)));
  return local;
}

// A kind for a subscribed prefix: the prefix itself, completed when it ends
// in '.', so that it matches the prefix and the kind grammar.
std::string kind_for_prefix(const std::string& prefix) {
  if (prefix.empty() || prefix == "*") return "conform.event";
  if (prefix.back() == '.') return prefix + "conform";
  return prefix;
}

// Checks a status returned by the plugin; names the rule when it is not OK.
bool expect_ok(Report& report, const std::string& what, const CallResult& call) {
  if (!call.completed) {
    report.fail(call.rule_if_stuck, what + " did not return within " +
                                        std::to_string(kCallDeadline.count()) + " ms");
    report.abandon();  // the executor is stuck inside the plugin: nothing more can run
  }
  if (call.exception) {
    report.fail(rule::kNoCppAcross, what + " let an exception escape: " + call.exception_text);
    return false;
  }
  if (call.status != TP_OK) {
    report.fail(rule::kStatus, what + " returned " + tpark::conform::status_name(call.status) +
                                   (call.message.empty() ? "" : ": " + call.message));
    return false;
  }
  report.pass(rule::kStatus, what + " returned TP_OK");
  return true;
}

// The four lifecycle slots every kind shares (same signatures in each descriptor).
struct Lifecycle {
  tp_status (*create)(const tp_host_api*, tp_host*, tp_str, void**, tp_error*);
  tp_status (*start)(void*, tp_error*);
  tp_status (*stop)(void*, tp_error*);
  tp_status (*destroy)(void*);
};

// create with the manifest's config defaults, then start. The instance's
// ctx, or nullopt when either failed (reported).
std::optional<void*> create_and_start(Report& report, Executor& executor, FakeHost& host,
                                      const Manifest& manifest, const Lifecycle& lifecycle) {
  const std::string config = config_defaults(manifest, report);
  host.set_config(config);
  void* ctx = nullptr;
  tp_error err{};
  err.struct_size = sizeof err;
  host.enter(FakeHost::Phase::Created);
  CallResult call = executor.call(kCallDeadline, rule::kLifecycle, [&] {
    return lifecycle.create(host.api(), host.handle(), tpark::conform::str(config), &ctx, &err);
  });
  call.message = err.message;
  if (!expect_ok(report, "create with the manifest defaults " + config, call)) return std::nullopt;
  call = executor.call(kCallDeadline, rule::kLifecycle, [&] { return lifecycle.start(ctx, &err); });
  call.message = err.message;
  host.enter(FakeHost::Phase::Running);
  if (!expect_ok(report, "start", call)) return std::nullopt;
  return ctx;
}

// stop (which must return: it joins the plugin's threads), then destroy.
void stop_and_destroy(Report& report, Executor& executor, FakeHost& host,
                      const Lifecycle& lifecycle, void* ctx) {
  tp_error err{};
  err.struct_size = sizeof err;
  host.enter(FakeHost::Phase::Stopping);
  CallResult call =
      executor.call(kCallDeadline, rule::kLifecycle, [&] { return lifecycle.stop(ctx, &err); });
  if (!call.completed) {
    report.fail(rule::kLifecycle, "stop did not return within " +
                                      std::to_string(kCallDeadline.count()) +
                                      " ms (stop must drain and join the plugin's threads)");
    report.abandon();
  }
  call.message = err.message;
  expect_ok(report, "stop", call);
  host.enter(FakeHost::Phase::Stopped);
  call = executor.call(kCallDeadline, rule::kLifecycle, [&] { return lifecycle.destroy(ctx); });
  host.enter(FakeHost::Phase::Destroyed);
  expect_ok(report, "destroy", call);
}

// Renders once and checks the output: TP_OK, valid JSON (rule 9).
bool check_render(Report& report, Executor& executor, FakeHost& host,
                  const tp_section_desc& section, void* ctx, const std::string& when) {
  std::string text;
  int32_t changed = -1;
  tp_writer writer = host.writer_into(&text);
  CallResult call = executor.call(kCallDeadline, rule::kThreading,
                                  [&] { return section.render(ctx, &writer, &changed); });
  if (!expect_ok(report, "render (" + when + ")", call)) return false;
  if (!nlohmann::json::accept(text)) {
    report.fail(rule::kStrings, "render (" + when + ") wrote invalid JSON: " + text.substr(0, 120));
    return false;
  }
  if (changed != 0 && changed != 1) {
    report.fail(rule::kStatus, "render (" + when + ") set *out_changed to " +
                                   std::to_string(changed) + ", expected 0 or 1");
    return false;
  }
  report.pass(rule::kStrings,
              "render (" + when + ") wrote valid JSON (" + std::to_string(text.size()) + " bytes)");
  return true;
}

// One line of an --events file: an event as POST /events/ingest takes it.
struct FileEvent {
  size_t line = 0;
  std::string kind;     // lowercased, alias-folded
  std::string payload;  // compact JSON; "{}" when absent
  std::string node;
};

// Reads NDJSON: one {"kind", "payload"?, "node"?} object per line; blank
// lines are skipped. The error names the line.
std::variant<std::vector<FileEvent>, std::string> read_events_file(const fs::path& file) {
  std::ifstream in(file);
  if (!in) return "cannot read " + file.string();
  std::vector<FileEvent> events;
  std::string text;
  for (size_t line = 1; std::getline(in, text); ++line) {
    if (text.find_first_not_of(" \t\r") == std::string::npos) continue;
    const std::string at = file.string() + ":" + std::to_string(line) + ": ";
    nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return at + "expected a JSON object";
    if (!j.contains("kind") || !j["kind"].is_string()) return at + "kind: expected a string";
    std::string kind = j["kind"].get<std::string>();
    for (char& c : kind) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    kind = tpark::fold_kind_alias(kind);
    if (!tpark::kind_is_valid(kind)) return at + "kind: not a valid event kind: " + kind;
    FileEvent event;
    event.line = line;
    event.kind = std::move(kind);
    event.payload = j.contains("payload") && !j["payload"].is_null() ? j["payload"].dump() : "{}";
    if (j.contains("node") && j["node"].is_string()) event.node = j["node"].get<std::string>();
    events.push_back(std::move(event));
  }
  return events;
}

// --events: reset, then each event of the file that the manifest subscribes
// to, live, in file order, each followed by a render whose value is printed.
void replay_events_file(Report& report, Executor& executor, FakeHost& host,
                        const Manifest& manifest, const tp_section_desc& section, void* ctx,
                        const std::vector<FileEvent>& events) {
  expect_ok(report, "reset (before the events file)",
            executor.call(kCallDeadline, rule::kThreading, [&] { return section.reset(ctx); }));
  const auto prefixes = tpark::subscription_prefixes(manifest);
  size_t delivered = 0;
  for (const FileEvent& event : events) {
    const std::string where = "line " + std::to_string(event.line) + " " + event.kind;
    if (manifest.subscribes.empty() || (prefixes && !tpark::kind_matches(event.kind, *prefixes))) {
      report.print("SKIP          " + where + " (not subscribed)");
      continue;
    }
    tpark::conform::SyntheticEvent view(event.kind, false, event.payload, event.node);
    CallResult c = executor.call(kCallDeadline, rule::kThreading,
                                 [&] { return section.on_event(ctx, view.view()); });
    if (!c.completed || c.exception || c.status != TP_OK) {
      expect_ok(report, "on_event " + where, c);
      continue;
    }
    ++delivered;
    std::string text;
    int32_t changed = -1;
    tp_writer writer = host.writer_into(&text);
    CallResult r = executor.call(kCallDeadline, rule::kThreading,
                                 [&] { return section.render(ctx, &writer, &changed); });
    if (!r.completed || r.exception || r.status != TP_OK) {
      expect_ok(report, "render after " + where, r);
      continue;
    }
    report.print("RENDER        " + where + " -> " + (changed == 0 ? "(unchanged)" : text));
  }
  report.pass(rule::kStatus, "the events file: " + std::to_string(delivered) + " of " +
                                 std::to_string(events.size()) +
                                 " event(s) delivered and rendered");
}

void drive_section(Report& report, Executor& executor, FakeHost& host, const Manifest& manifest,
                   const tp_section_desc& section, const std::vector<FileEvent>* events_file) {
  const std::string name = section.name != nullptr ? section.name : "";
  if (section.create == nullptr || section.start == nullptr || section.stop == nullptr ||
      section.destroy == nullptr || section.reset == nullptr || section.on_event == nullptr ||
      section.render == nullptr) {
    report.fail(rule::kDescriptorSize,

                "section " + name + " fills every 1.0 callback (only prime_rows may be NULL)");
    return;
  }
  if (manifest.section != name)
    report.fail(rule::kManifest,
                "manifest provides.section names the descriptor's snapshot key " + name);
  else
    report.pass(rule::kManifest, "manifest provides.section matches the descriptor: " + name);

  const Lifecycle lifecycle{section.create, section.start, section.stop, section.destroy};
  const std::optional<void*> started = create_and_start(report, executor, host, manifest, lifecycle);
  if (!started) return;
  void* ctx = *started;

  if (section.prime_rows != nullptr) {
    uint64_t rows = 0;
    expect_ok(report, "prime_rows", executor.call(kCallDeadline, rule::kThreading, [&] {
      return section.prime_rows(ctx, &rows);
    }));
  }
  check_render(report, executor, host, section, ctx, "before any event");

  // Priming: reset, replayed rows, then live rows; then a re-prime.
  for (int round = 0; round < 2; ++round) {
    const std::string pass_name = round == 0 ? "priming" : "re-priming";
    expect_ok(report, "reset (" + pass_name + ")",
              executor.call(kCallDeadline, rule::kThreading, [&] { return section.reset(ctx); }));
    bool events_ok = true;
    for (int replay = 1; replay >= 0 && events_ok; --replay) {
      for (const std::string& prefix : manifest.subscribes) {
        for (int i = 0; i < 2 && events_ok; ++i) {
          tpark::conform::SyntheticEvent event(kind_for_prefix(prefix), replay != 0);
          CallResult c = executor.call(kCallDeadline, rule::kThreading,
                                       [&] { return section.on_event(ctx, event.view()); });
          if (!c.completed || c.exception || c.status != TP_OK) {
            events_ok = expect_ok(report, std::string("on_event ") + (replay ? "(replay) " : "") +
                                              event.kind(),
                                  c);
          }
        }
      }
    }
    if (events_ok)
      report.pass(rule::kStatus,
                  "on_event accepted replayed and live events for every subscribed prefix (" +
                      pass_name + ")");
    host.fire_timers(executor, kCallDeadline);
    check_render(report, executor, host, section, ctx, "after " + pass_name);
  }
  check_render(report, executor, host, section, ctx, "again, unchanged input");
  if (events_file != nullptr)
    replay_events_file(report, executor, host, manifest, section, ctx, *events_file);

  stop_and_destroy(report, executor, host, lifecycle, ctx);
}

// One batch through export_batch; OK and RETRY are both legal answers.
bool check_export(Report& report, Executor& executor, const tp_exporter_desc& exporter, void* ctx,
                  const std::vector<tp_export_item>& items, uint64_t sequence, uint32_t attempt) {
  std::vector<const tp_export_item*> pointers;
  for (const auto& item : items) pointers.push_back(&item);
  tp_export_batch batch{};
  batch.struct_size = sizeof batch;
  batch.attempt = attempt;
  batch.sequence = sequence;
  batch.items = pointers.data();
  batch.item_count = pointers.size();
  tp_error err{};
  err.struct_size = sizeof err;
  CallResult call = executor.call(kCallDeadline, rule::kThreading,
                                  [&] { return exporter.export_batch(ctx, &batch, &err); });
  call.message = err.message;
  const std::string what = "export_batch of " + std::to_string(items.size()) + " item(s), attempt " +
                           std::to_string(attempt);
  if (call.completed && !call.exception && call.status == TP_RETRY) {
    report.pass(rule::kStatus, what + " returned TP_RETRY (the host keeps the batch)");
    return true;
  }
  return expect_ok(report, what, call);
}

void drive_exporter(Report& report, Executor& executor, FakeHost& host, const Manifest& manifest,
                    const tp_exporter_desc& exporter) {
  const std::string name = exporter.name != nullptr ? exporter.name : "";
  if (exporter.create == nullptr || exporter.start == nullptr || exporter.stop == nullptr ||
      exporter.destroy == nullptr || exporter.export_batch == nullptr) {
    report.fail(rule::kDescriptorSize, "exporter " + name + " fills every 1.1 callback");
    return;
  }
  const uint32_t known = TP_EXPORT_WANTS_SNAPSHOTS | TP_EXPORT_WANTS_PATCHES | TP_EXPORT_WANTS_METRICS;
  if (exporter.wants == 0 || (exporter.wants & ~known) != 0) {
    report.fail(rule::kDescriptorSize, "exporter " + name +
                                           " wants a non-empty set of known item types, got " +
                                           std::to_string(exporter.wants));
    return;
  }
  report.pass(rule::kDescriptorSize, "exporter " + name + " wants " +
                                         std::to_string(exporter.wants) + ", snapshot interval " +
                                         std::to_string(exporter.snapshot_interval_ms) + " ms");
  if (manifest.exporter && *manifest.exporter != name)
    report.fail(rule::kManifest, "manifest provides.exporter names the descriptor " + name);

  const Lifecycle lifecycle{exporter.create, exporter.start, exporter.stop, exporter.destroy};
  const std::optional<void*> started = create_and_start(report, executor, host, manifest, lifecycle);
  if (!started) return;
  void* ctx = *started;

  // What a host sends, per wanted type: a snapshot, a patch frame, metric samples.
  const std::string snapshot = R"({"generated":"2026-01-01T00:00:00.000Z","generated_ms":1767225600000,"events":{"total":1},"config":null,"sections":{}})";
  const std::string patch = R"({"id":"training_metrics","instance_id":"conform","version":2,"base_version":1,"patch":[{"op":"replace","path":"/events/total","value":2}]})";
  const std::string metrics = "# HELP conform_total a counter\n# TYPE conform_total counter\nconform_total 1\n";
  std::vector<tp_export_item> items;
  auto add = [&](uint32_t bit, uint32_t type, const std::string& body) {
    if ((exporter.wants & bit) == 0) return;
    tp_export_item item{};
    item.struct_size = sizeof item;
    item.type = type;
    item.time_ms = 1767225600000;
    item.body = tpark::conform::str(body);
    items.push_back(item);
  };
  add(TP_EXPORT_WANTS_SNAPSHOTS, TP_EXPORT_SNAPSHOT, snapshot);
  add(TP_EXPORT_WANTS_PATCHES, TP_EXPORT_PATCH, patch);
  add(TP_EXPORT_WANTS_METRICS, TP_EXPORT_METRICS, metrics);
  check_export(report, executor, exporter, ctx, items, 1, 0);
  check_export(report, executor, exporter, ctx, items, 1, 1);
  check_export(report, executor, exporter, ctx, {}, 2, 0);
  host.fire_timers(executor, kCallDeadline);

  stop_and_destroy(report, executor, host, lifecycle, ctx);
}

// ABI 1.2: one job over the fake host's small journal must end in a result
// or a failure after ascending stages; a second job is cancelled at once and
// stop must still return (rule 10).
void drive_orchestrator(Report& report, Executor& executor, FakeHost& host,
                        const Manifest& manifest, const tp_orchestrator_desc& orchestrator) {
  const std::string name = orchestrator.name != nullptr ? orchestrator.name : "";
  if (orchestrator.create == nullptr || orchestrator.start == nullptr ||
      orchestrator.stop == nullptr || orchestrator.destroy == nullptr ||
      orchestrator.start_job == nullptr || orchestrator.cancel_job == nullptr) {
    report.fail(2, "orchestrator " + name + " fills every 1.2 callback");
    return;
  }
  report.pass(2, "orchestrator " + name + " fills every 1.2 callback");
  const Lifecycle lifecycle{orchestrator.create, orchestrator.start, orchestrator.stop,
                            orchestrator.destroy};
  const std::optional<void*> started = create_and_start(report, executor, host, manifest, lifecycle);
  if (!started) return;
  void* ctx = *started;

  auto start_job = [&](const std::string& job_id) {
    const std::string request =
        R"({"job_id":")" + job_id +
        R"(","goal":"conformance","created":"2026-01-01T00:00:00.000Z","mode":"balanced",)"
        R"("request":{"goal":"conformance","mode":"balanced","mode_source":"default"},)"
        R"("base":{"env":{},"hints":{}},"window":{"since_id":0,"until_id":3},"stage_delay_ms":0})";
    host.wait_job_end(job_id, std::chrono::milliseconds(0));  // registers the job
    tp_job_view view{};
    view.struct_size = sizeof view;
    view.attempt = 1;
    view.job_id = tpark::conform::str(job_id);
    view.request_json = tpark::conform::str(request);
    view.since_id = 0;
    view.until_id = 3;
    tp_error err{};
    err.struct_size = sizeof err;
    CallResult call = executor.call(kCallDeadline, 9,
                                    [&] { return orchestrator.start_job(ctx, &view, &err); });
    call.message = err.message;
    return expect_ok(report, "start_job " + job_id, call);
  };
  if (start_job("conform-1")) {
    const uint32_t end = host.wait_job_end("conform-1", kCallDeadline);
    const auto stages = host.job_stages("conform-1");
    const bool ascending = std::is_sorted(stages.begin(), stages.end()) &&
                           std::adjacent_find(stages.begin(), stages.end()) == stages.end();
    if (end == 0)
      report.fail(9, "job conform-1 reported neither a result nor a failure within " +
                         std::to_string(kCallDeadline.count()) + " ms");
    else if (!ascending)
      report.fail(7, "job conform-1 reported its stages out of order");
    else
      report.pass(7, std::string("job conform-1 ended with ") +
                         (end == TP_JOB_RESULT ? "a result" : "a failure") + " after " +
                         std::to_string(stages.size()) + " stage(s)");
  }
  if (start_job("conform-2")) {
    CallResult call = executor.call(kCallDeadline, 9, [&] {
      return orchestrator.cancel_job(ctx, tpark::conform::str(std::string("conform-2")));
    });
    expect_ok(report, "cancel_job conform-2", call);
  }
  stop_and_destroy(report, executor, host, lifecycle, ctx);
}

// ABI 1.2 (appended): a source starts (its upstream may be absent: it must
// still start and report so), answers status with a JSON object, and stops.
void drive_source(Report& report, Executor& executor, FakeHost& host, const Manifest& manifest,
                  const tp_source_desc& source) {
  const std::string name = source.name != nullptr ? source.name : "";
  if (source.create == nullptr || source.start == nullptr || source.stop == nullptr ||
      source.destroy == nullptr || source.status == nullptr) {
    report.fail(2, "source " + name + " fills every 1.2 callback");
    return;
  }
  report.pass(2, "source " + name + " fills every 1.2 callback");
  const Lifecycle lifecycle{source.create, source.start, source.stop, source.destroy};
  const std::optional<void*> started = create_and_start(report, executor, host, manifest, lifecycle);
  if (!started) return;
  void* ctx = *started;
  std::string out;
  const tp_writer writer = host.writer_into(&out);
  tp_error err{};
  err.struct_size = sizeof err;
  CallResult call =
      executor.call(kCallDeadline, 9, [&] { return source.status(ctx, &writer, &err); });
  const auto parsed = nlohmann::json::parse(out, nullptr, false);
  if (call.status != TP_OK && call.status != TP_UNAVAILABLE)
    report.fail(5, "status answers TP_OK or TP_UNAVAILABLE");
  else if (parsed.is_discarded() || !parsed.is_object())
    report.fail(5, "status writes a JSON object");
  else
    report.pass(5, std::string("status writes a JSON object (") +
                       (call.status == TP_OK ? "up" : "upstream unavailable") + ")");
  stop_and_destroy(report, executor, host, lifecycle, ctx);
}

// ABI 1.2: a dry run of one merge patch must answer a JSON object.
void drive_applier(Report& report, Executor& executor, FakeHost& host, const Manifest& manifest,
                   const tp_applier_desc& applier) {
  const std::string name = applier.name != nullptr ? applier.name : "";
  if (applier.create == nullptr || applier.start == nullptr || applier.stop == nullptr ||
      applier.destroy == nullptr || applier.dry_run == nullptr || applier.apply == nullptr ||
      applier.revert == nullptr) {
    report.fail(2, "applier " + name + " fills every 1.2 callback");
    return;
  }
  report.pass(2, "applier " + name + " fills every 1.2 callback");
  const Lifecycle lifecycle{applier.create, applier.start, applier.stop, applier.destroy};
  const std::optional<void*> started = create_and_start(report, executor, host, manifest, lifecycle);
  if (!started) return;
  void* ctx = *started;
  const std::string document = R"({"env":{"ARW_CONTEXT_K":18},"governor":{"profile":"balance","hints":{}}})";
  const std::string patches = R"([{"target":"governor.hints","op":"merge","value":{"retrieval_k":12}}])";
  std::string out;
  const tp_writer writer = host.writer_into(&out);
  tp_error err{};
  err.struct_size = sizeof err;
  CallResult call = executor.call(kCallDeadline, 9, [&] {
    return applier.dry_run(ctx, tpark::conform::str(document), tpark::conform::str(patches),
                           &writer, &err);
  });
  call.message = err.message;
  if (expect_ok(report, "dry_run of a governor.hints merge", call)) {
    const auto parsed = nlohmann::json::parse(out, nullptr, false);
    if (parsed.is_discarded() || !parsed.is_object())
      report.fail(5, "dry_run writes a JSON object");
    else
      report.pass(5, "dry_run writes a JSON object");
  }
  stop_and_destroy(report, executor, host, lifecycle, ctx);
}

// plugin.yaml against the library it sits beside and the host's ABI.
void check_manifest_matches(Report& report, const Manifest& manifest, const fs::path& library) {
  if (manifest.library != library.filename().string())
    report.fail(rule::kManifest, "manifest library " + manifest.library + " is this file, " +
                                     library.filename().string());
  if (manifest.abi_major != TP_ABI_MAJOR)
    report.fail(rule::kMajor, "manifest abi.major " + std::to_string(manifest.abi_major) +
                                  ", host " + std::to_string(TP_ABI_MAJOR));
  if (manifest.min_host_minor > TP_ABI_MINOR)
    report.fail(rule::kMinHostMinor, "manifest needs host ABI 1." +
                                         std::to_string(manifest.min_host_minor) + ", host is 1." +
                                         std::to_string(TP_ABI_MINOR));
}

// Symbol hygiene: tp_plugin_entry and nothing else exported.
void check_exports(Report& report, const fs::path& library) {
  if (auto symbols = exported_symbols(library)) {
    std::set<std::string> extra(symbols->begin(), symbols->end());
    const bool has_entry = extra.erase(TP_PLUGIN_ENTRY_SYMBOL) == 1;
    if (!extra.empty()) {
      std::string list;
      for (const auto& s : extra) list += (list.empty() ? "" : ", ") + s;
      report.fail(rule::kHygiene, "exports only tp_plugin_entry; also exports " +
                                      std::to_string(extra.size()) + ": " + list.substr(0, 200));
    } else if (has_entry) {
      report.pass(rule::kHygiene, "exports exactly one symbol, tp_plugin_entry");
    }
  }
}

// One descriptor of the negotiation: its size against its kind's, whether the
// manifest lists its kind, then its lifecycle (drive_section and the rest).
void drive_descriptor(Report& report, Executor& executor, FakeHost& host, const Manifest& manifest,
                      const tp_negotiate& negotiate, uint32_t i,
                      const std::vector<FileEvent>* events_file) {
  const tp_descriptor* raw = negotiate.descriptors[i];
  if (raw == nullptr) {
    report.fail(rule::kDescriptorSize, "descriptor " + std::to_string(i) + " is not NULL");
    return;
  }
  const tp_descriptor common = copy_prefix<tp_descriptor>(raw);
  const std::string name = common.name != nullptr ? common.name : "(null)";
  const std::string kind = kind_name(common.kind);
  bool listed = false;
  for (const auto& k : manifest.kinds)
    listed = listed || k == kind || (common.kind == TP_KIND_LOGIC_APPLIER && k == "applier");
  if (!listed)
    report.fail(rule::kManifest,
                "descriptor " + name + " of kind " + kind + " is listed in manifest kinds");
  if (common.kind == TP_KIND_SECTION) {
    if (common.struct_size < sizeof(tp_section_desc)) {
      report.fail(rule::kDescriptorSize,
                  "descriptor " + name + " struct_size " + std::to_string(common.struct_size) +
                      " smaller than 1.0 size " + std::to_string(sizeof(tp_section_desc)));
      return;
    }
    report.pass(
        rule::kDescriptorSize,
        "section descriptor " + name + " struct_size " + std::to_string(common.struct_size) +
            (common.struct_size > sizeof(tp_section_desc) ? " (newer; prefix read)" : ""));
    drive_section(report, executor, host, manifest, copy_prefix<tp_section_desc>(raw),
                  events_file);
  } else if (common.kind == TP_KIND_EXPORTER) {
    if (common.struct_size < sizeof(tp_exporter_desc)) {
      report.fail(rule::kDescriptorSize,
                  "descriptor " + name + " struct_size " + std::to_string(common.struct_size) +
                      " smaller than 1.1 size " + std::to_string(sizeof(tp_exporter_desc)));
      return;
    }
    if (negotiate.plugin_min_host_minor < 1)
      report.fail(rule::kMinHostMinor,
                  "exporter " + name + " arrived in ABI 1.1: the plugin must need host minor 1");
    drive_exporter(report, executor, host, manifest, copy_prefix<tp_exporter_desc>(raw));
  } else if (common.kind == TP_KIND_ORCHESTRATOR || common.kind == TP_KIND_LOGIC_APPLIER) {
    const size_t needed = common.kind == TP_KIND_ORCHESTRATOR ? sizeof(tp_orchestrator_desc)
                                                              : sizeof(tp_applier_desc);
    if (common.struct_size < needed) {
      report.fail(2, "descriptor " + name + " struct_size " + std::to_string(common.struct_size) +
                         " smaller than 1.2 size " + std::to_string(needed));
      return;
    }
    if (negotiate.plugin_min_host_minor < 2)
      report.fail(1, kind + " " + name + " arrived in ABI 1.2: the plugin must need host minor 2");
    if (common.kind == TP_KIND_ORCHESTRATOR)
      drive_orchestrator(report, executor, host, manifest,
                         copy_prefix<tp_orchestrator_desc>(raw));
    else
      drive_applier(report, executor, host, manifest, copy_prefix<tp_applier_desc>(raw));
  } else if (common.kind == TP_KIND_SOURCE) {
    if (common.struct_size < sizeof(tp_source_desc)) {
      report.fail(2, "descriptor " + name + " struct_size " + std::to_string(common.struct_size) +
                         " smaller than 1.2 size " + std::to_string(sizeof(tp_source_desc)));
      return;
    }
    if (negotiate.plugin_min_host_minor < 2)
      report.fail(1, kind + " " + name + " arrived in ABI 1.2: the plugin must need host minor 2");
    drive_source(report, executor, host, manifest, copy_prefix<tp_source_desc>(raw));
  } else {
    report.note("descriptor " + name + " of kind " + kind + " is not driven by this runner");
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  std::optional<fs::path> events_path;
  if (args.size() == 3 && args[0] == "--events") {
    events_path = args[1];
    args.erase(args.begin(), args.begin() + 2);
  }
  if (args.size() != 1 || args[0] == "--help" || args[0] == "-h" || args[0].rfind("--", 0) == 0) {
    std::cerr << "usage: tpark-conform [--events EVENTS.ndjson] PLUGIN.so\n"
                 "Drives a tpark plugin through its lifecycle against a fake host (ABI "
              << TP_ABI_MAJOR << "." << TP_ABI_MINOR
              << ") and reports each check with the rule it belongs to (docs/abi-policy.md).\n"
                 "--events: then replays the file's events (one {\"kind\",\"payload\"} per "
                 "line) through each section and prints the render after each.\n";
    return 2;
  }
  std::optional<std::vector<FileEvent>> events_file;
  if (events_path) {
    auto read = read_events_file(*events_path);
    if (auto* error = std::get_if<std::string>(&read)) {
      std::cerr << "tpark-conform: " << *error << "\n";
      return 2;
    }
    events_file = std::get<std::vector<FileEvent>>(std::move(read));
  }
  const fs::path library = fs::absolute(args[0]);
  Report report(library.string());
  std::cout << "tpark-conform (host ABI " << TP_ABI_MAJOR << "." << TP_ABI_MINOR << "): " << library.string()
            << "\n";
  if (!fs::is_regular_file(library)) {
    std::cerr << "tpark-conform: no such file: " << library << "\n";
    return 2;
  }

  std::optional<Manifest> manifest =
      read_plugin_manifest(library.parent_path() / "plugin.yaml", report);
  if (!manifest) return report.finish();
  check_manifest_matches(report, *manifest, library);

  check_exports(report, library);

  void* handle = dlopen(library.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* why = dlerror();
    report.fail(rule::kHygiene,
                std::string("opens with RTLD_NOW | RTLD_LOCAL (built with --no-undefined): ") +
                    (why != nullptr ? why : "dlopen failed"));
    return report.finish();
  }
  report.pass(rule::kHygiene, "opens with RTLD_NOW | RTLD_LOCAL");
  auto entry = reinterpret_cast<tp_plugin_entry_fn>(dlsym(handle, TP_PLUGIN_ENTRY_SYMBOL));
  if (entry == nullptr) {
    report.fail(rule::kEntry, "missing entry tp_plugin_entry");
    return report.finish();
  }

  // The plugin runs in a scratch working directory, removed afterwards, so
  // files it writes by default land nowhere that matters.
  std::string scratch_template = (fs::temp_directory_path() / "tpark-conform-XXXXXX").string();
  const char* scratch = mkdtemp(scratch_template.data());
  if (scratch != nullptr) fs::current_path(scratch);
  struct RemoveScratch {
    std::string dir;
    ~RemoveScratch() {
      std::error_code ec;
      if (!dir.empty()) fs::remove_all(dir, ec);
    }
  } remove_scratch{scratch != nullptr ? scratch : ""};

  Executor executor;
  FakeHost host(report);
  host.set_executor_thread(executor.thread_id());
  tp_negotiate negotiate{};
  negotiate.struct_size = sizeof negotiate;
  negotiate.host_abi_major = TP_ABI_MAJOR;
  negotiate.host_abi_minor = TP_ABI_MINOR;
  negotiate.host_api = host.api();
  tp_error err{};
  err.struct_size = sizeof err;
  CallResult call =
      executor.call(kCallDeadline, rule::kEntry, [&] { return entry(&negotiate, &err); });
  call.message = err.message;
  if (!expect_ok(report, "tp_plugin_entry", call)) return report.finish();
  if (negotiate.plugin_abi_major != TP_ABI_MAJOR) {
    report.fail(rule::kMajor, "ABI major " + std::to_string(negotiate.plugin_abi_major) +
                                  ", host " + std::to_string(TP_ABI_MAJOR));
    return report.finish();
  }
  if (negotiate.plugin_min_host_minor > TP_ABI_MINOR) {
    report.fail(rule::kMinHostMinor, "needs host ABI 1." +
                                         std::to_string(negotiate.plugin_min_host_minor) +
                                         ", host is 1." + std::to_string(TP_ABI_MINOR));
    return report.finish();
  }
  if (negotiate.plugin_min_host_minor > negotiate.plugin_abi_minor)
    report.fail(rule::kMinHostMinor, "min host minor " +
                                         std::to_string(negotiate.plugin_min_host_minor) +
                                         " above the minor it was built for, " +
                                         std::to_string(negotiate.plugin_abi_minor));
  if (negotiate.descriptor_count == 0 || negotiate.descriptors == nullptr) {
    report.fail(rule::kEntry, "answers at least one descriptor");
    return report.finish();
  }
  report.pass(rule::kEntry, "negotiated ABI " + std::to_string(negotiate.plugin_abi_major) + "." +
                                std::to_string(negotiate.plugin_abi_minor) + " (needs host 1." +
                                std::to_string(negotiate.plugin_min_host_minor) + "), " +
                                std::to_string(negotiate.descriptor_count) + " descriptor(s)");

  for (uint32_t i = 0; i < negotiate.descriptor_count; ++i)
    drive_descriptor(report, executor, host, *manifest, negotiate, i,
                     events_file ? &*events_file : nullptr);
  host.check_balances();
  return report.finish();
}
