// Layers, governor state and the config kinds (control.md 2, 3.2, 3.4, 3.6,
// 4.5), executed through the ActionKind interface on a real journal.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <map>

#include "config/config_kinds.h"
#include "config/config_state.h"
#include "config/governor.h"
#include "kernel/journal.h"
#include "support/host_process.h"

using namespace tpark;
using namespace tpark::control;
using tpark::test::TempDir;

namespace {

const std::filesystem::path kShipped = std::filesystem::path(TPARK_SOURCE_DIR) / "presets";

DetectedTier tier_of(const char* name) {
  DetectedTier t;
  t.cores = 2;
  t.mem_gib = 4;
  t.tier = name;
  return t;
}

BootConfig boot_with(std::map<std::string, std::string> env, size_t snapshots_max = 1000,
                     const std::filesystem::path& presets = kShipped) {
  env.emplace("ARW_PERF_PRESET", "balanced");
  auto resolved = resolve_boot_config(load_presets(presets), tier_of("eco"),
                                      [&](const std::string& name) -> std::optional<std::string> {
                                        auto it = env.find(name);
                                        if (it == env.end()) return std::nullopt;
                                        return it->second;
                                      });
  REQUIRE(std::holds_alternative<BootConfig>(resolved));
  BootConfig boot = std::get<BootConfig>(std::move(resolved));
  boot.snapshots_max = snapshots_max;
  return boot;
}

// A config state over a real journal in a temp dir, restartable.
struct Host {
  TempDir dir;
  std::map<std::string, std::string> env;
  size_t snapshots_max = 1000;
  std::filesystem::path presets = kShipped;
  std::unique_ptr<Journal> journal;
  std::unique_ptr<ConfigState> state;
  std::unique_ptr<ActionKindRegistry> kinds;
  int actions = 0;

  explicit Host(std::map<std::string, std::string> e = {}, size_t max = 1000)
      : env(std::move(e)), snapshots_max(max) {
    start();
  }
  void start() {
    state.reset();
    journal.reset();
    journal = std::make_unique<Journal>(dir.path() / "tpark.db");
    state = std::make_unique<ConfigState>(boot_with(env, snapshots_max, presets));
    state->open(*journal);
    kinds = std::make_unique<ActionKindRegistry>();
    register_config_kinds(*kinds, *state);
  }
  ActionKind& kind(const char* name) {
    auto k = kinds->find(name);
    REQUIRE(k != nullptr);
    return *k;
  }
  // Runs an action like the pipeline does: execute in a transaction, then on_committed.
  Json run(const char* name, const Json& input) {
    ActionRun run{"act-" + std::to_string(++actions), name, "req-1", "api"};
    ActionOutcome outcome;
    journal->transact([&](WriteTx& tx) { outcome = kind(name).execute(input, run, tx); });
    if (outcome.on_committed) outcome.on_committed();
    return outcome.output;
  }
  std::vector<std::string> kinds_journaled() {
    std::vector<std::string> out;
    for (const auto& e : journal->read_after(0, {}, 1000).items) out.push_back(e->kind);
    return out;
  }
  Json env_entry(const char* key) { return state->state_config_body()["env"][key]; }
};

std::vector<std::string> codes(const ActionPreview& preview) {
  std::vector<std::string> out;
  for (const auto& r : preview.risk_reasons) out.push_back(r.code);
  return out;
}

}  // namespace

TEST_CASE("layers_env_over_applied_over_preset_over_default") {
  Host host({{"ARW_CONTEXT_K", "40"}, {"ARW_CONTEXT_MIN_SCORE", "high"}});
  CHECK(host.state->boot().warnings.size() == 1);
  CHECK(host.env_entry("ARW_CONTEXT_K") == Json::parse(R"({"value":40,"source":"env","live":true})"));
  // An invalid env value is ignored and does not pin.
  CHECK(host.env_entry("ARW_CONTEXT_MIN_SCORE")["source"] == "preset");
  CHECK(host.env_entry("ARW_CONTEXT_MIN_SCORE")["value"] == 0.10);
  CHECK(host.env_entry("ARW_CONTEXT_SCORER")["source"] == "preset");
  CHECK(host.env_entry("ARW_CONTEXT_WORLD_MAX") ==
        Json::parse(R"({"value":null,"source":"default","live":true})"));
  CHECK(host.env_entry("ARW_HTTP_MAX_CONC") ==
        Json::parse(R"({"value":1024,"source":"preset","live":true,"pending_restart":false})"));
  Json out = host.run("context.set", {{"vars", {{"ARW_CONTEXT_MIN_SCORE", 0.2}, {"ARW_CONTEXT_K", 24}}}});
  CHECK(out["changed"] == true);
  CHECK(out["pinned"] == Json::array({"ARW_CONTEXT_K"}));
  CHECK(host.env_entry("ARW_CONTEXT_MIN_SCORE")["source"] == "applied");
  CHECK(host.env_entry("ARW_CONTEXT_K")["value"] == 40);
  // null removes the applied entry: back to the preset layer.
  host.run("context.set", {{"vars", {{"ARW_CONTEXT_MIN_SCORE", nullptr}}}});
  CHECK(host.env_entry("ARW_CONTEXT_MIN_SCORE")["source"] == "preset");
}

TEST_CASE("unknown_boot_preset_names_are_fatal_and_named") {
  auto presets = load_presets(kShipped);
  auto resolve = [&](const char* perf, const char* context) {
    return resolve_boot_config(presets, tier_of("eco"), [&](const std::string& n) -> std::optional<std::string> {
      if (n == "ARW_PERF_PRESET" && perf) return std::string(perf);
      if (n == "ARW_CONTEXT_PRESET" && context) return std::string(context);
      return std::nullopt;
    });
  };
  auto bad_perf = resolve("fast", nullptr);
  REQUIRE(std::holds_alternative<std::string>(bad_perf));
  CHECK(std::get<std::string>(bad_perf).find("ARW_PERF_PRESET: unknown perf preset \"fast\"") == 0);
  auto bad_context = resolve("MAX", "eco");  // eco is not a context preset
  REQUIRE(std::holds_alternative<std::string>(bad_context));
  CHECK(std::get<std::string>(bad_context).find("ARW_CONTEXT_PRESET") == 0);
  auto automatic = resolve("auto", "never-out-of-context");
  REQUIRE(std::holds_alternative<BootConfig>(automatic));
  CHECK(std::get<BootConfig>(automatic).boot_perf == "eco");
  CHECK(std::get<BootConfig>(automatic).perf_source == "auto");
  CHECK(*std::get<BootConfig>(automatic).boot_context == "never-out-of-context");
  auto named = resolve("Max", nullptr);
  REQUIRE(std::holds_alternative<BootConfig>(named));
  CHECK(std::get<BootConfig>(named).boot_perf == "turbo");
}

TEST_CASE("context_set_diff_18_to_24_writes_snapshot_version_and_event") {
  Host host;
  CHECK(host.state->view()->snapshot_id == "snap-0");
  ActionKind& kind = host.kind("context.set");
  Json input = {{"vars", {{"ARW_CONTEXT_K", 24}}}};
  CHECK(kind.validate(input).empty());
  CHECK(kind.scope_targets(input) == std::vector<std::string>{"env/ARW_CONTEXT_K"});
  ActionPreview preview = kind.preview(input);
  CHECK(preview.diff_summary == Json::parse(R"([{"target":"env.ARW_CONTEXT_K","pointer":"/env/ARW_CONTEXT_K","op":"replace","before":18,"after":24}])"));
  CHECK(preview.json_patch == Json::parse(R"([{"op":"replace","path":"/env/ARW_CONTEXT_K","value":24}])"));
  CHECK(preview.risk_reasons.empty());
  Json out = host.run("context.set", input);
  CHECK(out["changed"] == true);
  CHECK(out["diff_summary"] == preview.diff_summary);
  CHECK(out["snapshot_id"] == "snap-0");
  CHECK(out["applied_snapshot_id"] == "snap-1");
  CHECK(out["config_version"] == 1);
  CHECK(out["restart_required"] == Json::array());
  CHECK(host.env_entry("ARW_CONTEXT_K") == Json::parse(R"({"value":24,"source":"applied","live":true})"));
  CHECK(host.kinds_journaled() == std::vector<std::string>{"config.patch.applied"});
  auto events = host.journal->read_after(0, {"config."}, 10).items;
  Json payload = Json::parse(events.at(0)->payload);
  CHECK(payload == Json::parse(R"({"source":"action","action_id":"act-1","kind":"context.set","ops":[{"op":"replace","path":"/env/ARW_CONTEXT_K","value":24}],"snapshot_id":"snap-0","applied_snapshot_id":"snap-1"})"));
  CHECK(events.at(0)->corr_id == "req-1");
  Json snaps = host.state->snapshots_body(100);
  CHECK(snaps["total"] == 2);
  CHECK(snaps["items"][0]["id"] == "snap-1");
  CHECK(snaps["items"][0]["parent_id"] == "snap-0");
  CHECK(snaps["items"][0]["current"] == true);
  CHECK(snaps["items"][0]["cause"] == Json::parse(R"({"kind":"context.set","action_id":"act-1"})"));
  CHECK(snaps["items"][1]["cause"] == Json::parse(R"({"kind":"bootstrap"})"));
  // The same change again: nothing recorded.
  Json again = host.run("context.set", input);
  CHECK(again == Json::parse(R"({"changed":false,"unchanged":["ARW_CONTEXT_K"],"pinned":[]})"));
  CHECK(host.kinds_journaled().size() == 1);
  CHECK(host.state->view()->version == 1);
}

TEST_CASE("context_set_rejects_perf_keys_unknown_keys_and_bad_values") {
  Host host;
  auto errors = host.kind("context.set")
                    .validate({{"vars", {{"ARW_HTTP_MAX_CONC", 5}, {"ARW_X", 1}, {"ARW_CONTEXT_K", "24"}}}});
  REQUIRE(errors.size() == 3);
  CHECK(errors[0].field == "vars.ARW_HTTP_MAX_CONC");
  CHECK(errors[1].field == "vars.ARW_X");
  CHECK(errors[2].field == "vars.ARW_CONTEXT_K");
  CHECK(errors[2].message == "expected int in [1,256], got \"24\"");
  CHECK(host.kind("context.set").validate({{"vars", Json::object()}})[0].field == "vars");
  CHECK(host.kind("context.set").validate(Json::object())[0].field == "vars");
  Json bad = {{"vars", {{"ARW_X", 1}}}};
  ActionRun run{"a", "context.set", "", "api"};
  CHECK_THROWS(host.journal->transact([&](WriteTx& tx) { host.kind("context.set").execute(bad, run, tx); }));
}

TEST_CASE("turbo_preview_is_risky_and_balanced_on_a_balanced_host_changes_nothing") {
  Host host;
  ActionKind& kind = host.kind("preset.apply");
  CHECK(kind.scope_targets({{"preset", "MAX"}}) == std::vector<std::string>{"preset/turbo"});
  ActionPreview turbo = kind.preview({{"preset", "turbo"}});
  bool k_changes = false;
  for (const auto& d : turbo.diff_summary)
    if (d["target"] == "env.ARW_CONTEXT_K") k_changes = d["before"] == 18 && d["after"] == 32;
  CHECK(k_changes);
  CHECK(codes(turbo) == std::vector<std::string>{"preset_risky"});
  CHECK(turbo.restart_required == std::vector<std::string>{"ARW_HTTP_MAX_CONC"});

  Json out = host.run("preset.apply", {{"preset", "balanced"}});
  CHECK(out["changed"] == false);
  CHECK(out["pinned"] == Json::array());
  CHECK(out["unchanged"].size() == 35);  // its 18 keys and 17 eco-only tombstones
  CHECK(host.kinds_journaled().empty());
  CHECK(host.state->state_config_body()["perf_preset"]["applied"].is_null());
  CHECK(kind.validate({{"preset", "nope"}})[0].field == "preset");
}

TEST_CASE("perf_preset_apply_writes_tombstones_for_other_presets_keys") {
  Host host;
  host.run("preset.apply", {{"preset", "eco"}});
  CHECK(host.env_entry("ARW_WORKERS_MAX")["value"] == 4);
  CHECK(host.env_entry("ARW_WORKERS_MAX")["source"] == "applied");
  CHECK(host.env_entry("ARW_WORKERS_MAX")["pending_restart"] == true);
  CHECK(host.state->state_config_body()["perf_preset"]["applied"] == "eco");
  Json out = host.run("preset.apply", {{"preset", "balanced"}});
  CHECK(out["changed"] == true);
  // eco-only keys fall back: the tombstone hides nothing below, so default/unset.
  CHECK(host.env_entry("ARW_WORKERS_MAX") ==
        Json::parse(R"({"value":null,"source":"default","live":false,"pending_restart":false})"));
  CHECK(host.env_entry("ARW_TOOLS_CACHE_TTL_SECS")["value"] == 600);
  CHECK(host.env_entry("ARW_CONTEXT_K") == Json::parse(R"({"value":18,"source":"applied","live":true})"));
  CHECK(host.state->state_config_body()["perf_preset"]["applied"] == "balanced");
  // Context preset over it.
  Json context = host.run("preset.apply", {{"preset", "never-out-of-context"}});
  CHECK(context["changed"] == true);
  CHECK(host.env_entry("ARW_CONTEXT_K")["value"] == 20);
  CHECK(host.env_entry("ARW_CONTEXT_SLOT_BUDGETS")["value"]["evidence"] == 8);
  CHECK(host.state->state_config_body()["context_preset"] == "never-out-of-context");
}

TEST_CASE("hints_validation_lists_every_bad_key") {
  HintsCheck check = validate_hints(Json::parse(R"({"retrieval_k":0,"mmr_lambda":1.5,"mode":"fast","joiner":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx","slo_ms":100.5,"extra":1,"vote_k":"3"})"),
                                    Json::object());
  std::vector<std::string> fields;
  for (const auto& e : check.errors) fields.push_back(e.field);
  CHECK(fields == std::vector<std::string>{"retrieval_k", "mmr_lambda", "mode", "joiner", "slo_ms", "vote_k"});
  CHECK(check.ignored == std::vector<std::string>{"extra"});
  CHECK(validate_hints(Json::parse(R"({"retrieval_k":10,"mmr_lambda":null})"), Json::object()).errors.empty());
  // Cross-key rules against the merged state.
  auto budget = validate_hints(Json::parse(R"({"context_item_budget_tokens":500})"),
                               Json::parse(R"({"context_budget_tokens":400})"), "hints.");
  REQUIRE(budget.errors.size() == 1);
  CHECK(budget.errors[0].field == "hints.context_item_budget_tokens");
  CHECK(validate_hints(Json::parse(R"({"context_format":"custom"})"), Json::object()).errors.size() == 1);
  CHECK(validate_hints(Json::parse(R"({"context_format":"custom","context_item_template":"{x}"})"),
                       Json::object())
            .errors.empty());
  CHECK(hint_keys().size() == 18);
  CHECK(typed_hints(Json::parse(R"({"retrieval_k":10.0,"mmr_lambda":1,"mode":"deep","x":2.0})")).dump() ==
        R"({"retrieval_k":10,"mmr_lambda":1.0,"mode":"deep","x":2.0})");
}

TEST_CASE("profile_names_and_aliases_normalise") {
  CHECK(*normalize_profile("Balanced") == "balance");
  CHECK(*normalize_profile("PERF") == "performance");
  CHECK(*normalize_profile("eco") == "power-saver");
  CHECK(*normalize_profile("power_saver") == "power-saver");
  CHECK(*normalize_profile("powersaver") == "power-saver");
  CHECK_FALSE(normalize_profile("turbo"));
}

TEST_CASE("hint_jump_doubles_halves_zero_and_exemptions") {
  Json current = Json::parse(R"({"retrieval_k":10,"slo_ms":0,"mmr_lambda":0.5,"mode":"quick"})");
  auto jumps = [&](const char* changes) { return hint_jumps(current, Json::parse(changes)); };
  CHECK(jumps(R"({"retrieval_k":20})").empty());  // exactly 2c is not a jump
  CHECK(jumps(R"({"retrieval_k":21})") == std::vector<std::string>{"retrieval_k"});
  CHECK(jumps(R"({"retrieval_k":5})").empty());   // exactly c/2 is not a jump
  CHECK(jumps(R"({"retrieval_k":4})") == std::vector<std::string>{"retrieval_k"});
  CHECK(jumps(R"({"slo_ms":10})") == std::vector<std::string>{"slo_ms"});  // c = 0
  CHECK(jumps(R"({"slo_ms":0})").empty());
  CHECK(jumps(R"({"retrieval_k":null})").empty());  // unsetting is never a jump
  CHECK(jumps(R"({"vote_k":32})").empty());          // no current value
  CHECK(jumps(R"({"mmr_lambda":0.2})") == std::vector<std::string>{"mmr_lambda"});
}

TEST_CASE("hints_and_profile_kinds_emit_governor_events_and_risk") {
  Host host;
  CHECK(host.state->governor_state() == Json::parse(R"({"profile":"balance","memory_limit":null,"hints":{}})"));
  ActionKind& hints = host.kind("governor.hints.set");
  CHECK(hints.scope_targets({{"hints", {{"retrieval_k", 10}}}}) ==
        std::vector<std::string>{"governor.hints/retrieval_k"});
  auto errors = hints.validate(Json::parse(R"({"hints":{"retrieval_k":0,"mmr_lambda":1.5}})"));
  REQUIRE(errors.size() == 2);
  CHECK(errors[0].field == "hints.retrieval_k");
  CHECK(errors[1].field == "hints.mmr_lambda");
  Json first = host.run("governor.hints.set", Json::parse(R"({"hints":{"retrieval_k":10.0,"mode":"deep"}})"));
  CHECK(first["changed"] == true);
  CHECK(full_hints(host.state->view()->values.hints)["retrieval_k"] == 10);
  CHECK(full_hints(host.state->view()->values.hints)["retrieval_k"].is_number_integer());
  ActionPreview jump = hints.preview(Json::parse(R"({"hints":{"retrieval_k":25}})"));
  CHECK(codes(jump) == std::vector<std::string>{"hint_jump"});
  CHECK(jump.risk_reasons[0].detail == "retrieval_k 10 -> 25");
  CHECK(hints.preview(Json::parse(R"({"hints":{"retrieval_k":null}})")).risk_reasons.empty());

  Json profile = host.run("governor.profile.set", {{"profile", "perf"}});
  CHECK(profile["changed"] == true);
  CHECK(profile["diff_summary"] == Json::parse(R"([{"target":"governor.profile","pointer":"/governor/profile","op":"replace","before":"balance","after":"performance"}])"));
  CHECK(host.run("governor.profile.set", {{"profile", "performance"}})["changed"] == false);
  CHECK(host.kind("governor.profile.set").validate({{"profile", "fast"}})[0].field == "profile");

  CHECK(host.kinds_journaled() ==
        std::vector<std::string>{"config.patch.applied", "governor.changed", "actions.hint.applied",
                                 "config.patch.applied", "governor.changed"});
  auto events = host.journal->read_after(0, {"governor.", "actions.hint."}, 10).items;
  REQUIRE(events.size() == 3);
  CHECK(Json::parse(events[0]->payload) == Json::parse(R"({"action":"mode","mode":"deep"})"));
  CHECK(Json::parse(events[1]->payload) == Json::parse(R"({"action":"governor.hints","params":{"retrieval_k":10,"mode":"deep"},"ok":true,"source":"action","action_id":"act-1","corr_id":"req-1"})"));
  CHECK(Json::parse(events[2]->payload) == Json::parse(R"({"action":"profile","profile":"performance","previous":"balance"})"));
}

TEST_CASE("applied_layer_governor_and_snapshots_survive_a_restart") {
  Host host;
  host.run("context.set", {{"vars", {{"ARW_CONTEXT_K", 24}}}});
  host.run("preset.apply", {{"preset", "eco"}});
  host.run("governor.hints.set", {{"hints", {{"vote_k", 3}}}});
  host.run("governor.profile.set", {{"profile", "eco"}});
  Json before = host.state->state_config_body();
  Json snaps = host.state->snapshots_body(100);
  CHECK(before["env"]["ARW_HTTP_MAX_CONC"]["pending_restart"] == true);
  host.start();
  // After the restart the R keys run with their new values: nothing pending.
  Json after = host.state->state_config_body();
  CHECK(after["env"]["ARW_HTTP_MAX_CONC"]["pending_restart"] == false);
  for (auto& [key, entry] : before["env"].items())
    if (entry.contains("pending_restart")) entry["pending_restart"] = false;
  CHECK(after == before);
  CHECK(host.state->snapshots_body(100) == snaps);
  CHECK(host.state->view()->version == 4);
  CHECK(host.state->view()->values.profile == "power-saver");
  Json out = host.run("context.set", {{"vars", {{"ARW_CONTEXT_K", 25}}}});
  CHECK(out["snapshot_id"] == "snap-4");
  CHECK(out["applied_snapshot_id"] == "snap-5");
}

TEST_CASE("snapshots_are_pruned_oldest_first_at_the_cap") {
  Host host({}, 2);
  for (int k = 20; k < 24; ++k) host.run("context.set", {{"vars", {{"ARW_CONTEXT_K", k}}}});
  Json snaps = host.state->snapshots_body(100);
  CHECK(snaps["total"] == 2);
  CHECK(snaps["items"][0]["id"] == "snap-4");
  CHECK(snaps["items"][1]["id"] == "snap-3");
  host.start();
  CHECK(host.state->snapshots_body(100) == snaps);
  CHECK(host.state->snapshot("snap-3")->values.applied.at("ARW_CONTEXT_K") == 22);
}

TEST_CASE("a_whole_target_state_plans_like_a_revert_and_keeps_pinned_keys") {
  Host host(std::map<std::string, std::string>{{"ARW_CONTEXT_MIN_SCORE", "0.3"}});
  host.run("context.set", {{"vars", {{"ARW_CONTEXT_K", 24}}}});
  host.run("governor.hints.set", {{"hints", {{"vote_k", 3}}}});
  CHECK(host.state->effective_value("ARW_CONTEXT_K") == 24);
  CHECK(host.state->effective_value("ARW_NOPE").is_null());

  ConfigValues target = host.state->snapshot("snap-0")->values;
  target.applied["ARW_CONTEXT_MIN_SCORE"] = 0.5;  // pinned by the env: dropped
  target.document["recipes"] = {{"mode", "fast"}};
  ChangePlan plan = host.state->plan_target(target);
  CHECK(plan.preview.pinned == std::vector<std::string>{"ARW_CONTEXT_MIN_SCORE"});
  CHECK(plan.preview.diff_summary == Json::parse(R"([
    {"target":"env.ARW_CONTEXT_K","pointer":"/env/ARW_CONTEXT_K","op":"replace","before":24,"after":18},
    {"target":"governor.hints.vote_k","pointer":"/governor/hints/vote_k","op":"remove","before":3,"after":null},
    {"target":"recipes","pointer":"/recipes","op":"add","before":null,"after":{"mode":"fast"}}])"));
  ActionRun run{"rev-1", "logic_unit.revert", "", "api"};
  ActionOutcome outcome;
  host.journal->transact([&](WriteTx& tx) {
    outcome = host.state->commit(plan, run, {{"kind", "logic_unit.revert"}, {"reverted_to", "snap-0"}}, tx);
  });
  outcome.on_committed();
  CHECK(outcome.output["applied_snapshot_id"] == "snap-3");
  CHECK(host.state->effective_value("ARW_CONTEXT_K") == 18);
  CHECK(host.state->state_config_body()["document"] == Json::parse(R"({"recipes":{"mode":"fast"}})"));
  CHECK(host.state->governor_state()["hints"] == Json::object());
  // The same target again changes nothing.
  CHECK(host.state->plan_target(host.state->view()->values).preview.empty());
}

TEST_CASE("key_risky_matches_only_a_risky_key_whose_value_changes") {
  TempDir presets_dir;
  std::filesystem::create_directories(presets_dir.path() / "presets");
  std::filesystem::copy(kShipped / "perf", presets_dir.path() / "presets" / "perf",
                        std::filesystem::copy_options::recursive);
  std::filesystem::create_directories(presets_dir.path() / "presets" / "context");
  std::ofstream(presets_dir.path() / "presets" / "context" / "wide.yaml")
      << "schema: tpark.preset/v1\nkind: context\nname: wide\nenv:\n"
         "  ARW_CONTEXT_EXPAND_QUERY: {value: 1, risky: true}\n"  // already 1 on balanced
         "  ARW_CONTEXT_EXPAND_QUERY_TOP_K: 9\n"
         "  ARW_CONTEXT_K: {value: 40, risky: true}\n";
  Host host;
  host.presets = presets_dir.path() / "presets";
  host.start();
  ActionPreview preview = host.kind("preset.apply").preview({{"preset", "wide"}});
  REQUIRE(preview.risk_reasons.size() == 1);
  CHECK(preview.risk_reasons[0].code == "key_risky");
  CHECK(preview.risk_reasons[0].detail == "ARW_CONTEXT_K is marked risky in wide");
  CHECK(preview.unchanged == std::vector<std::string>{"ARW_CONTEXT_EXPAND_QUERY"});
}
