// The header-only C++ wrapper (tp_plugin.hpp, sdk.md rule 8): descriptors it
// builds, the plugin's side of negotiation, tp_error handling within
// struct_size, and trampolines that turn every exception into a status.
// Driven through the host's real API table.
#include <cstring>
#include <stdexcept>
#include <string>

#include <catch2/catch.hpp>
#include <tpark/tp_plugin.hpp>

#include "plugins/host_api.h"
#include "plugins/plugin_manager.h"

namespace {

struct Probe final : tpark::Section {
  Probe(tpark::HostRef host, std::string_view config) : Section(host) {
    if (config == "\"throw\"") throw std::runtime_error("config refused");
    if (config == "\"too large\"") throw tpark::Error(TP_TOO_LARGE, "config too large");
    seen_config = std::string(config);
  }
  void reset() override { ++resets; }
  void on_event(const tpark::EventView& event) override {
    if (event.kind() == "probe.throw") throw std::logic_error("bad event");
    if (event.kind() == "probe.unavailable") throw tpark::Error(TP_UNAVAILABLE, "later");
    last_kind = std::string(event.kind());
    replayed = event.replay();
  }
  bool render(std::string& out) override {
    out = "{\"resets\":" + std::to_string(resets) + "}";
    return false;
  }
  uint64_t prime_rows() override { return 7; }

  std::string seen_config;
  std::string last_kind;
  bool replayed = false;
  int resets = 0;
};

constexpr tp_section_desc kProbeDesc = tpark::make_section_desc<Probe>("probe");

tp_error zeroed_error(uint32_t size = sizeof(tp_error)) {
  tp_error err;
  std::memset(&err, 0, sizeof err);
  err.struct_size = size;
  return err;
}

tp_str str(const char* text) {
  return tp_str{text, std::strlen(text)};
}

// A real host handle for the real table (logging only needs the id).
struct TestHost {
  tp_host host;
  TestHost() {
    host.plugin_id = "tp.test.probe";
    host.services = std::make_shared<const tpark::HostServices>();
  }
};

}  // namespace

TEST_CASE("make_section_desc_fills_a_1_0_section_descriptor") {
  STATIC_REQUIRE(kProbeDesc.struct_size == sizeof(tp_section_desc));
  STATIC_REQUIRE(kProbeDesc.kind == TP_KIND_SECTION);
  CHECK(std::string(kProbeDesc.name) == "probe");
  CHECK(kProbeDesc.create != nullptr);
  CHECK(kProbeDesc.start != nullptr);
  CHECK(kProbeDesc.stop != nullptr);
  CHECK(kProbeDesc.destroy != nullptr);
  CHECK(kProbeDesc.reset != nullptr);
  CHECK(kProbeDesc.on_event != nullptr);
  CHECK(kProbeDesc.render != nullptr);
  CHECK(kProbeDesc.prime_rows != nullptr);
}

TEST_CASE("answer_negotiate_writes_only_inside_struct_size") {
  const tp_descriptor* const descriptors[] = {reinterpret_cast<const tp_descriptor*>(&kProbeDesc)};
  tp_negotiate negotiate;
  std::memset(&negotiate, 0, sizeof negotiate);
  negotiate.struct_size = sizeof negotiate;
  negotiate.host_abi_major = 1;
  tp_error err = zeroed_error();
  REQUIRE(tpark::answer_negotiate(&negotiate, descriptors, 1, 0, &err) == TP_OK);
  CHECK(negotiate.plugin_abi_major == 1);
  CHECK(negotiate.plugin_abi_minor == TP_ABI_MINOR);
  CHECK(negotiate.plugin_min_host_minor == 0);
  CHECK(negotiate.descriptor_count == 1);
  CHECK(negotiate.descriptors == descriptors);

  // A host whose tp_negotiate ends before `descriptors` cannot take the answer.
  std::memset(&negotiate, 0, sizeof negotiate);
  negotiate.struct_size = offsetof(tp_negotiate, descriptors);
  CHECK(tpark::answer_negotiate(&negotiate, descriptors, 1, 0, &err) == TP_UNSUPPORTED);
  CHECK(negotiate.descriptor_count == 0);
  CHECK(std::string(err.message) == "tp_negotiate is smaller than ABI 1.0");
}

TEST_CASE("set_error_truncates_to_the_callers_struct_size") {
  tp_error err = zeroed_error(static_cast<uint32_t>(offsetof(tp_error, message) + 8));
  std::memset(err.message, 'x', sizeof err.message);
  tpark::set_error(&err, TP_INTERNAL, "a long message that does not fit");
  CHECK(err.code == TP_INTERNAL);
  CHECK(std::string(err.message) == "a long ");       // 7 bytes and the NUL
  CHECK(err.message[8] == 'x');                       // beyond struct_size: untouched
  tpark::set_error(nullptr, TP_INTERNAL, "ignored");  // NULL means "no details"
}

TEST_CASE("trampolines_turn_exceptions_into_statuses") {
  TestHost test;
  const tp_host_api* api = tpark::host_api_table();

  void* ctx = nullptr;
  tp_error err = zeroed_error();
  CHECK(kProbeDesc.create(api, &test.host, str("\"throw\""), &ctx, &err) == TP_INTERNAL);
  CHECK(std::string(err.message) == "config refused");
  CHECK(ctx == nullptr);
  err = zeroed_error();
  CHECK(kProbeDesc.create(api, &test.host, str("\"too large\""), &ctx, &err) == TP_TOO_LARGE);
  CHECK(std::string(err.message) == "config too large");

  err = zeroed_error();
  REQUIRE(kProbeDesc.create(api, &test.host, str("{\"window\":3}"), &ctx, &err) == TP_OK);
  auto* probe = static_cast<Probe*>(ctx);
  CHECK(probe->seen_config == "{\"window\":3}");
  CHECK(kProbeDesc.start(ctx, &err) == TP_OK);
  CHECK(kProbeDesc.reset(ctx) == TP_OK);

  tp_event_view view;
  std::memset(&view, 0, sizeof view);
  view.struct_size = sizeof view;
  view.flags = TP_EVENT_REPLAY;
  view.kind = str("probe.ok");
  CHECK(kProbeDesc.on_event(ctx, &view) == TP_OK);
  CHECK(probe->last_kind == "probe.ok");
  CHECK(probe->replayed);
  view.kind = str("probe.throw");
  CHECK(kProbeDesc.on_event(ctx, &view) == TP_INTERNAL);
  view.kind = str("probe.unavailable");
  CHECK(kProbeDesc.on_event(ctx, &view) == TP_UNAVAILABLE);

  // An older host's smaller event view: fields past its struct_size read as zero.
  view.struct_size = offsetof(tp_event_view, kind);
  view.kind = str("probe.truncated");
  CHECK(kProbeDesc.on_event(ctx, &view) == TP_OK);
  CHECK(probe->last_kind.empty());

  std::string rendered;
  tpark::StringWriter writer(rendered);
  int32_t changed = -1;
  CHECK(kProbeDesc.render(ctx, writer.get(), &changed) == TP_OK);
  CHECK(rendered == "{\"resets\":1}");
  CHECK(changed == 0);

  uint64_t rows = 0;
  CHECK(kProbeDesc.prime_rows(ctx, &rows) == TP_OK);
  CHECK(rows == 7);
  CHECK(kProbeDesc.stop(ctx, &err) == TP_OK);
  CHECK(kProbeDesc.destroy(ctx) == TP_OK);
}

TEST_CASE("host_ref_reads_config_and_state_through_the_host_table") {
  TestHost test;
  test.host.config_json = "{\"window\":512}";
  const tpark::HostRef host(tpark::host_api_table(), &test.host);
  CHECK(host.config_json() == "{\"window\":512}");
  CHECK(host.has(&tp_host_api::free_buf));
  // events_start is served from HostServices itself: epoch 0 here.
  CHECK(host.state("events_start") ==
        std::optional<std::string>(
            "{\"start\":\"1970-01-01T00:00:00.000Z\",\"start_ms\":0,\"start_id\":0}"));
  CHECK(host.state("no_such_state") == std::nullopt);  // TP_NOT_FOUND
  CHECK(host.state("governor") == std::nullopt);       // known, not wired: TP_UNAVAILABLE
  auto emit_status = [&](const char* kind, const char* payload) {
    try {
      host.emit(kind, payload);
      return TP_OK;
    } catch (const tpark::Error& e) {
      return e.status();
    }
  };
  CHECK(emit_status("not a kind", "{}") == TP_INVALID_ARG);
  CHECK(emit_status("service.connected", "{}") == TP_INVALID_ARG);  // a stream kind
  CHECK(emit_status("probe.ok", "{not json") == TP_INVALID_ARG);
  CHECK(emit_status("probe.ok", "{}") == TP_UNAVAILABLE);  // no journal behind this host
}

namespace {

// An applier that sets {"k": <patches>} and refuses the bad and conflicting cases.
struct ProbeApplier final : tpark::Applier {
  ProbeApplier(tpark::HostRef host, std::string_view config) : Applier(host) {
    if (config == "\"throw\"") throw std::runtime_error("config refused");
  }
  std::string dry_run(std::string_view document, std::string_view patches) override {
    ++dry_runs;
    return apply(document, patches);
  }
  std::string apply(std::string_view document, std::string_view patches) override {
    if (patches == "\"bad\"") throw tpark::Error(TP_INVALID_ARG, "patches.0.op: unknown op");
    if (patches == "\"conflict\"")
      throw tpark::Error(TP_NOT_FOUND, "patches.0.value.0: test failed");
    if (patches == "\"oops\"") throw std::logic_error("bug");
    return "{\"document\":{\"before\":" + std::string(document) + ",\"k\":" + std::string(patches) +
           "},\"diff_summary\":[],\"json_patch\":[],\"safety_issues\":[]}";
  }
  std::string revert(std::string_view, std::string_view snapshot) override {
    return "{\"document\":" + std::string(snapshot) +
           ",\"diff_summary\":[],\"json_patch\":[],\"safety_issues\":[]}";
  }
  int dry_runs = 0;
};

const char* const kProbeRoots[] = {"env", "governor", nullptr};
constexpr tp_applier_desc kApplierDesc =
    tpark::make_applier_desc<ProbeApplier>("probe", kProbeRoots);

}  // namespace

TEST_CASE("make_applier_desc_fills_a_1_2_applier_descriptor") {
  CHECK(kApplierDesc.struct_size == sizeof(tp_applier_desc));
  CHECK(kApplierDesc.kind == TP_KIND_LOGIC_APPLIER);
  CHECK(std::string(kApplierDesc.name) == "probe");
  CHECK(kApplierDesc.roots == kProbeRoots);
  CHECK(kApplierDesc.create != nullptr);
  CHECK(kApplierDesc.start != nullptr);
  CHECK(kApplierDesc.stop != nullptr);
  CHECK(kApplierDesc.destroy != nullptr);
  CHECK(kApplierDesc.dry_run != nullptr);
  CHECK(kApplierDesc.apply != nullptr);
  CHECK(kApplierDesc.revert != nullptr);
}

TEST_CASE("applier_trampolines_write_the_answer_and_turn_refusals_into_statuses") {
  TestHost test;
  const tp_host_api* api = tpark::host_api_table();
  void* ctx = nullptr;
  tp_error err = zeroed_error();
  CHECK(kApplierDesc.create(api, &test.host, str("\"throw\""), &ctx, &err) == TP_INTERNAL);
  CHECK(std::string(err.message) == "config refused");
  err = zeroed_error();
  REQUIRE(kApplierDesc.create(api, &test.host, str("{}"), &ctx, &err) == TP_OK);
  CHECK(kApplierDesc.start(ctx, &err) == TP_OK);

  std::string out;
  tpark::StringWriter writer(out);
  CHECK(kApplierDesc.dry_run(ctx, str("{\"env\":{}}"), str("[1]"), writer.get(), &err) == TP_OK);
  CHECK(out ==
        "{\"document\":{\"before\":{\"env\":{}},\"k\":[1]},\"diff_summary\":[],\"json_patch\":[],"
        "\"safety_issues\":[]}");
  CHECK(static_cast<ProbeApplier*>(ctx)->dry_runs == 1);
  out.clear();
  CHECK(kApplierDesc.revert(ctx, str("{}"), str("{\"env\":{\"A\":1}}"), writer.get(), &err) ==
        TP_OK);
  CHECK(out ==
        "{\"document\":{\"env\":{\"A\":1}},\"diff_summary\":[],\"json_patch\":[],"
        "\"safety_issues\":[]}");

  err = zeroed_error();
  CHECK(kApplierDesc.apply(ctx, str("{}"), str("\"bad\""), writer.get(), &err) == TP_INVALID_ARG);
  CHECK(std::string(err.message) == "patches.0.op: unknown op");
  err = zeroed_error();
  CHECK(kApplierDesc.apply(ctx, str("{}"), str("\"conflict\""), writer.get(), &err) ==
        TP_NOT_FOUND);
  CHECK(std::string(err.message) == "patches.0.value.0: test failed");
  err = zeroed_error();
  CHECK(kApplierDesc.apply(ctx, str("{}"), str("\"oops\""), writer.get(), &err) == TP_INTERNAL);
  CHECK(std::string(err.message) == "bug");
  // No output writer: refused, nothing written.
  CHECK(kApplierDesc.apply(ctx, str("{}"), str("[1]"), nullptr, &err) == TP_INVALID_ARG);

  CHECK(kApplierDesc.stop(ctx, &err) == TP_OK);
  CHECK(kApplierDesc.destroy(ctx) == TP_OK);
}
