// The /actions pipeline against a real journal (control.md 4.1-4.6, 1.5):
// idempotency, policy and leases, staging, the queue limit, the executor,
// external kinds, and the requeue of running actions at boot. Test-only kinds
// stand in for the config kinds.
#include <catch2/catch.hpp>

#include <sqlite3.h>

#include <atomic>
#include <memory>

#include "control/actions.h"
#include "control/leases.h"
#include "control/policy.h"
#include "control/validation.h"
#include "kernel/journal.h"
#include "support/host_process.h"
#include "util/time.h"

using namespace tpark;
using namespace tpark::control;
using tpark::test::TempDir;

namespace {

// A kind over one integer "setting": a diff when the value changes, hint_jump
// when it more than doubles.
class SettingKind final : public ActionKind {
 public:
  std::vector<InputError> validate(const Json& input) const override {
    if (!input.contains("value") || !integral_in_range(input["value"], -1000000, 1000000))
      return {{"value", "expected an integer"}};
    return {};
  }
  std::vector<std::string> scope_targets(const Json&) const override { return {"test/setting"}; }
  ActionPreview preview(const Json& input) const override {
    ActionPreview p;
    const int64_t next = input["value"].get<int64_t>();
    const int64_t now = current.load();
    p.config_version = version.load();
    if (next != now)
      p.diff_summary.push_back(
          {{"target", "test"}, {"pointer", "/setting"}, {"before", now}, {"after", next}});
    if (next > 2 * now) p.risk_reasons.push_back({"hint_jump", "setting more than doubles"});
    return p;
  }
  ActionOutcome execute(const Json& input, const ActionRun&, WriteTx&) override {
    const int64_t next = input["value"].get<int64_t>();
    ActionOutcome out;
    out.output = {{"changed", next != current.load()}};
    out.on_committed = [this, next] {
      current = next;
      ++version;
    };
    return out;
  }
  std::atomic<int64_t> current{10};
  std::atomic<int64_t> version{1};
};

class FailingKind final : public ActionKind {
 public:
  std::vector<InputError> validate(const Json&) const override { return {}; }
  std::vector<std::string> scope_targets(const Json&) const override { return {"test.fail"}; }
  ActionPreview preview(const Json&) const override { return {}; }
  ActionOutcome execute(const Json&, const ActionRun&, WriteTx&) override {
    throw std::runtime_error("the test kind always fails");
  }
};

class ExternalKind final : public ActionKind {
 public:
  bool external() const override { return true; }
  std::vector<InputError> validate(const Json&) const override { return {}; }
  std::vector<std::string> scope_targets(const Json&) const override { return {"ext.job"}; }
  ActionPreview preview(const Json&) const override { return {}; }
  ActionOutcome execute(const Json&, const ActionRun&, WriteTx&) override {
    throw std::logic_error("external kinds are not executed by the host");
  }
};

// Its execution journals a 1 MiB event: with the database capped it cannot commit.
class OversizedKind final : public ActionKind {
 public:
  std::vector<InputError> validate(const Json&) const override { return {}; }
  std::vector<std::string> scope_targets(const Json&) const override { return {"test.big"}; }
  ActionPreview preview(const Json&) const override { return {}; }
  ActionOutcome execute(const Json&, const ActionRun&, WriteTx& tx) override {
    NewEvent event;
    event.kind = "test.big";
    event.payload = "\"" + std::string(1 << 20, 'x') + "\"";
    event.source = "host";
    tx.append(std::move(event));
    ActionOutcome out;
    out.on_committed = [this] { published = true; };
    return out;
  }
  std::atomic<bool> published{false};
};

struct Fixture {
  TempDir dir;
  std::unique_ptr<Journal> journal;
  ActionKindRegistry kinds;
  std::shared_ptr<SettingKind> setting = std::make_shared<SettingKind>();
  std::shared_ptr<OversizedKind> oversized = std::make_shared<OversizedKind>();
  ControlSettings settings;
  std::unique_ptr<ActionService> actions;
  std::unique_ptr<LeaseStore> leases;

  explicit Fixture(uint64_t workers = 1) {
    settings.workers = workers;
    settings.policy.posture = "standard";
    settings.policy.lease_rules = {{"test.", "test:cap"}, {"test.fail", "test:fail"}};
    kinds.add("test.set", setting);
    kinds.add("test.fail", std::make_shared<FailingKind>());
    kinds.add("ext.job", std::make_shared<ExternalKind>());
    kinds.add("test.big", oversized);
    open();
  }
  void open() {
    journal = std::make_unique<Journal>(dir.path() / "tpark.db");
    actions = std::make_unique<ActionService>(*journal, kinds, settings);
    leases = std::make_unique<LeaseStore>(*journal);
    actions->start();
  }
  void close() {
    actions.reset();
    leases.reset();
    journal.reset();
  }
  SubmitOutcome submit(const std::string& kind, Json input,
                       std::optional<std::string> idem_key = std::nullopt) {
    return actions->submit({kind, std::move(input), std::move(idem_key), "req-1"});
  }
  std::string lease(const std::string& capability, std::optional<int64_t> budget = std::nullopt,
                    const std::string& scope = "", int64_t ttl_ms = 600000) {
    return leases->create(capability, scope, ttl_ms, budget, "req-lease")["id"].get<std::string>();
  }
  Json settled(const std::string& id) { return *actions->wait_settled(id, 60000); }
  std::vector<std::string> event_kinds(const std::string& prefix) {
    std::vector<std::string> out;
    for (const auto& e : journal->read_after(0, {prefix}, 10000).items) out.push_back(e->kind);
    return out;
  }
};

}  // namespace

TEST_CASE("an_admitted_action_completes_and_charges_one_budget_unit", "[control][actions]") {
  Fixture f;
  const std::string lease_id = f.lease("test:cap", 2);
  auto out = f.submit("test.set", {{"value", 15}});
  REQUIRE(out.result == SubmitOutcome::Result::Queued);
  Json action = f.settled(out.id);
  CHECK(action["state"] == "completed");
  CHECK(action["output"]["changed"] == true);
  CHECK(action["guard"]["lease_id"] == lease_id);
  CHECK(action["guard"]["capability"] == "test:cap");
  CHECK(action["evidence"]["diff_summary"][0]["after"] == 15);
  CHECK(f.setting->current == 15);
  Json leases = f.leases->list(true);
  CHECK(leases["items"][0]["budget_remaining"] == 1);
  CHECK(f.event_kinds("actions.") ==
        std::vector<std::string>{"actions.submitted", "actions.running", "actions.completed"});
}

TEST_CASE("without_a_lease_the_submission_is_denied_with_an_explained_policy_decision",
          "[control][leases]") {
  Fixture f;
  auto out = f.submit("test.set", {{"value", 11}});
  REQUIRE(out.result == SubmitOutcome::Result::Denied);
  CHECK(out.require_capability == "test:cap");
  CHECK(out.explain["reason"] == "lease_required");
  CHECK(out.explain["rule"]["kind_prefix"] == "test.");
  CHECK(out.explain["targets"] == Json::array({"test/setting"}));
  CHECK(out.explain["message"] ==
        "Action test.set requires capability test:cap. Acquire a lease via POST /leases.");
  CHECK(f.event_kinds("policy.") == std::vector<std::string>{"policy.decision"});
  CHECK(f.actions->list_actions({})["total"] == 0);
}

TEST_CASE("the_longest_kind_prefix_decides_the_capability", "[control][policy]") {
  Fixture f;
  f.lease("test:cap");
  auto out = f.submit("test.fail", {});
  REQUIRE(out.result == SubmitOutcome::Result::Denied);
  CHECK(out.require_capability == "test:fail");
  auto standard = policy_for_posture("standard");
  REQUIRE(standard);
  CHECK(standard->match("context.rehydrate.file")->capability == "context:rehydrate:file");
  CHECK(standard->match("context.set")->capability == "context:tune");
  CHECK(standard->match("logic_unit.apply")->capability == "logic:apply");
  CHECK(standard->match("journal.note") == nullptr);
  auto strict = policy_for_posture("strict");
  CHECK(strict->match("net.http.get")->capability == "net");
  CHECK(strict->match("system.reboot")->capability == "system");
  CHECK(policy_for_posture("relaxed")->allow_all);
  CHECK_FALSE(policy_for_posture("lax"));
}

TEST_CASE("lease_rejections_name_the_newest_lease_reason", "[control][leases]") {
  Fixture f;
  SECTION("exhausted") {
    f.lease("test:cap", 1);
    REQUIRE(f.submit("test.set", {{"value", 10}}).result == SubmitOutcome::Result::Queued);
    auto out = f.submit("test.set", {{"value", 10}});
    REQUIRE(out.result == SubmitOutcome::Result::Denied);
    CHECK(out.explain["reason"] == "lease_budget_exhausted");
    CHECK(f.leases->list(true)["items"][0]["status"] == "exhausted");
    CHECK(f.leases->list(false)["count"] == 0);
  }
  SECTION("scope mismatch") {
    f.lease("test:cap", std::nullopt, "env/ARW_CONTEXT_K");
    auto out = f.submit("test.set", {{"value", 10}});
    REQUIRE(out.result == SubmitOutcome::Result::Denied);
    CHECK(out.explain["reason"] == "lease_scope_mismatch");
    CHECK(out.explain["considered"][0]["rejected"] == "lease_scope_mismatch");
  }
  SECTION("revoked") {
    const std::string id = f.lease("test:cap");
    auto first = f.leases->revoke(id, "r");
    auto again = f.leases->revoke(id, "r");
    REQUIRE(first);
    CHECK((*again)["revoked_at"] == (*first)["revoked_at"]);
    CHECK(f.event_kinds("leases.revoked").size() == 1);
    CHECK_FALSE(f.leases->revoke("no-such-lease", "r"));
    auto out = f.submit("test.set", {{"value", 10}});
    CHECK(out.explain["reason"] == "lease_revoked");
  }
  SECTION("expired") {
    f.lease("test:cap", std::nullopt, "", 1);
    const int64_t until = now_ms() + 20;
    while (now_ms() < until) {
    }
    auto out = f.submit("test.set", {{"value", 10}});
    CHECK(out.explain["reason"] == "lease_expired");
  }
}

TEST_CASE("the_usable_lease_expiring_soonest_is_charged", "[control][leases]") {
  Lease later{"later", "local", "c", "", 5000, 3, 3, std::nullopt, 2, 2};
  Lease sooner{"sooner",     "local",      "c",          "test/*", 4000,
               std::nullopt, std::nullopt, std::nullopt, 1,        1};
  Lease revoked{"revoked", "local", "c", "", 1000, std::nullopt, std::nullopt, 500, 3, 3};
  LeaseChoice choice = choose_lease({revoked, later, sooner}, {"test/setting"}, 100);
  REQUIRE(choice.charged);
  CHECK(choice.charged->id == "sooner");
  CHECK(choice.considered.size() == 3);
  CHECK(choice.considered[0]["rejected"] == "lease_revoked");
  CHECK(scope_covers("env/ARW_CONTEXT_*,governor.profile",
                     {"env/ARW_CONTEXT_K", "governor.profile"}));
  CHECK_FALSE(
      scope_covers("env/ARW_CONTEXT_K", {"env/ARW_CONTEXT_K", "env/ARW_CONTEXT_MIN_SCORE"}));
  CHECK(scope_covers("*", {"anything"}));
  CHECK(scope_covers("", {"anything"}));
}

TEST_CASE("idempotency_is_scoped_per_kind_and_compares_canonical_input", "[control][actions]") {
  Fixture f(0);
  f.lease("test:cap", 5);
  auto first = f.submit("test.set", {{"value", 12}, {"note", "a"}}, "k1");
  REQUIRE(first.result == SubmitOutcome::Result::Queued);
  auto again = f.submit("test.set", Json::parse(R"({"note":"a","value":12.0})"), "k1");
  CHECK(again.result == SubmitOutcome::Result::Reused);
  CHECK(again.id == first.id);
  CHECK(again.state == "queued");
  auto other_kind = f.submit("ext.job", {{"value", 12}}, "k1");
  CHECK(other_kind.result == SubmitOutcome::Result::Queued);
  CHECK(other_kind.id != first.id);
  auto conflict = f.submit("test.set", {{"value", 13}}, "k1");
  CHECK(conflict.result == SubmitOutcome::Result::IdemConflict);
  // A reuse costs no budget and emits nothing.
  CHECK(f.leases->list(true)["items"][0]["budget_remaining"] == 4);
  CHECK(f.event_kinds("actions.submitted").size() == 2);
}

TEST_CASE("the_queue_limit_answers_queue_full_and_staged_actions_do_not_count",
          "[control][actions]") {
  Fixture f(0);
  f.settings.queue_max = 2;
  f.close();
  f.open();
  f.lease("test:cap");
  CHECK(f.submit("test.set", {{"value", 10}}).result == SubmitOutcome::Result::Queued);
  CHECK(f.submit("test.set", {{"value", 10}}).result == SubmitOutcome::Result::Queued);
  auto full = f.submit("test.set", {{"value", 10}});
  REQUIRE(full.result == SubmitOutcome::Result::QueueFull);
  CHECK(full.queue_limit == 2);
  CHECK(full.queued == 2);
  // A risky change is staged even with the queue full, but cannot be approved.
  auto staged = f.submit("test.set", {{"value", 100}});
  REQUIRE(staged.result == SubmitOutcome::Result::Staged);
  auto approve = f.actions->approve(staged.id, "op", "r");
  CHECK(approve.result == DecisionOutcome::Result::QueueFull);
  CHECK(f.actions->list_staging(std::string("pending"), 100)["items"].size() == 1);
}

TEST_CASE("a_risky_change_is_staged_then_approved_runs_under_the_same_id", "[control][staging]") {
  Fixture f;
  f.lease("test:cap", 1);
  auto out = f.submit("test.set", {{"value", 30}, {"project", "alpha"}}, "stage-me");
  REQUIRE(out.result == SubmitOutcome::Result::Staged);
  CHECK(out.evidence["risk"]["risky"] == true);
  CHECK(out.evidence["risk"]["reasons"][0]["code"] == "hint_jump");
  Json pending = f.actions->list_staging(std::string("pending"), 100);
  REQUIRE(pending["items"].size() == 1);
  CHECK(pending["items"][0]["id"] == out.id);
  CHECK(pending["items"][0]["project"] == "alpha");
  CHECK(pending["items"][0]["requested_by"] == "local");
  // The lease was paid at submission; approval does not check it again.
  CHECK(f.leases->list(true)["items"][0]["budget_remaining"] == 0);
  auto approved = f.actions->approve(out.id, "alice", "r2");
  REQUIRE(approved.result == DecisionOutcome::Result::Ok);
  Json action = f.settled(out.id);
  CHECK(action["state"] == "completed");
  CHECK(action["idem_key"] == "stage-me");
  CHECK(f.setting->current == 30);
  auto twice = f.actions->approve(out.id, "alice", "r3");
  CHECK(twice.result == DecisionOutcome::Result::Conflict);
  CHECK(twice.state == "approved");
  Json entry = f.actions->list_staging(std::nullopt, 100)["items"][0];
  CHECK(entry["decision"] == "approved");
  CHECK(entry["decided_by"] == "alice");
  CHECK(f.actions->approve("unknown", "a", "r").result == DecisionOutcome::Result::NotFound);
  CHECK(f.event_kinds("staging.") ==
        std::vector<std::string>{"staging.pending", "staging.decided"});
}

TEST_CASE("denying_a_staged_action_records_the_reason", "[control][staging]") {
  Fixture f;
  f.lease("test:cap");
  auto out = f.submit("test.set", {{"value", 50}});
  REQUIRE(out.result == SubmitOutcome::Result::Staged);
  auto denied = f.actions->deny(out.id, std::string("no"), "bob", "r");
  REQUIRE(denied.result == DecisionOutcome::Result::Ok);
  CHECK((*f.actions->action(out.id))["state"] == "denied");
  Json entry = f.actions->list_staging(std::string("denied"), 100)["items"][0];
  CHECK(entry["decision"] == "denied");
  CHECK(entry["reason"] == "no");
  CHECK(f.actions->deny(out.id, std::nullopt, "bob", "r").result ==
        DecisionOutcome::Result::Conflict);
  CHECK(f.event_kinds("actions.denied").size() == 1);
}

TEST_CASE("an_empty_diff_is_never_staged_in_auto_but_always_is_in_always", "[control][staging]") {
  Fixture f;
  f.lease("test:cap");
  CHECK(f.submit("test.set", {{"value", 10}}).result == SubmitOutcome::Result::Queued);
  f.settings.staging_mode = StagingMode::Always;
  f.close();
  f.open();
  CHECK(f.submit("test.set", {{"value", 10}}).result == SubmitOutcome::Result::Staged);
  f.settings.staging_mode = StagingMode::Ask;
  f.settings.staging_allow = {"ext.*"};
  f.close();
  f.open();
  CHECK(f.submit("test.set", {{"value", 11}}).result == SubmitOutcome::Result::Staged);
  CHECK(f.submit("test.set", {{"value", 10}}).result == SubmitOutcome::Result::Queued);
  CHECK(f.settings.staging_allows("ext.job"));
  CHECK_FALSE(f.settings.staging_allows("test.set"));
}

TEST_CASE("a_throwing_kind_fails_the_action_with_its_message", "[control][actions]") {
  Fixture f;
  f.lease("test:fail");
  auto out = f.submit("test.fail", {});
  REQUIRE(out.result == SubmitOutcome::Result::Queued);
  Json action = f.settled(out.id);
  CHECK(action["state"] == "failed");
  CHECK(action["error"] == "the test kind always fails");
  CHECK(f.event_kinds("actions.failed").size() == 1);
}

TEST_CASE("unknown_kinds_and_bad_input_are_rejected_before_anything_is_stored",
          "[control][actions]") {
  Fixture f;
  auto unknown = f.submit("nope.kind", {});
  CHECK(unknown.result == SubmitOutcome::Result::UnknownKind);
  CHECK(unknown.errors[0].field == "kind");
  auto bad = f.submit("test.set", {{"value", "x"}});
  CHECK(bad.result == SubmitOutcome::Result::InputInvalid);
  CHECK(bad.errors[0].field == "input.value");
  CHECK(f.journal->head_id() == 0);
}

TEST_CASE("only_external_kinds_accept_forward_state_changes", "[control][actions]") {
  Fixture f;
  auto ext = f.submit("ext.job", {});
  REQUIRE(ext.result == SubmitOutcome::Result::Queued);
  auto running = f.actions->set_external_state(ext.id, {{"state", "running"}}, "r");
  CHECK(running.result == DecisionOutcome::Result::Ok);
  CHECK(running.action["state"] == "running");
  auto done =
      f.actions->set_external_state(ext.id, {{"state", "completed"}, {"output", {{"n", 1}}}}, "r");
  CHECK(done.result == DecisionOutcome::Result::Ok);
  CHECK(done.action["output"]["n"] == 1);
  CHECK(f.actions->set_external_state(ext.id, {{"state", "running"}}, "r").result ==
        DecisionOutcome::Result::Conflict);
  CHECK(f.actions->set_external_state(ext.id, {{"state", "bogus"}}, "r").result ==
        DecisionOutcome::Result::InputInvalid);
  CHECK(f.actions->set_external_state("missing", {{"state", "running"}}, "r").result ==
        DecisionOutcome::Result::NotFound);
  f.lease("test:fail");
  auto host_kind = f.submit("test.fail", {});
  CHECK(f.actions->set_external_state(host_kind.id, {{"state", "completed"}}, "r").result ==
        DecisionOutcome::Result::Conflict);
}

TEST_CASE("running_actions_go_back_to_the_queue_at_boot_and_complete", "[control][durability]") {
  Fixture f(0);
  f.lease("test:cap");
  auto out = f.submit("test.set", {{"value", 12}});
  REQUIRE(out.result == SubmitOutcome::Result::Queued);
  f.close();
  {
    // The state a crash in the middle of execution leaves behind.
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open((f.dir.path() / "tpark.db").c_str(), &db) == SQLITE_OK);
    REQUIRE(sqlite3_exec(db, "UPDATE actions SET state='running'", nullptr, nullptr, nullptr) ==
            SQLITE_OK);
    sqlite3_close(db);
  }
  f.settings.workers = 1;
  f.open();
  Json action = f.settled(out.id);
  CHECK(action["state"] == "completed");
  CHECK(f.setting->current == 12);
}

TEST_CASE("action_lists_filter_and_page_newest_first", "[control][actions]") {
  Fixture f(0);
  f.lease("test:cap");
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) ids.push_back(f.submit("test.set", {{"value", 10 + i}}).id);
  ActionFilter filter;
  filter.limit = 2;
  Json page = f.actions->list_actions(filter);
  CHECK(page["total"] == 3);
  REQUIRE(page["items"].size() == 2);
  CHECK(page["items"][0]["id"] == ids[2]);
  filter.offset = 2;
  CHECK(f.actions->list_actions(filter)["items"][0]["id"] == ids[0]);
  filter = {};
  filter.state = "completed";
  CHECK(f.actions->list_actions(filter)["total"] == 0);
  CHECK(f.actions->prune_terminal(now_ms() + 1000) == 0);
}

TEST_CASE("post_actions_bodies_list_every_field_error", "[control][validation]") {
  CHECK(validate_action_body(R"({"kind":)").malformed);
  CHECK(validate_action_body(R"({"kind":"a","input":{"n":1E999}})").malformed);
  ActionBody numeric = validate_action_body(R"({"kind":5})");
  REQUIRE(numeric.errors.size() == 2);
  CHECK(numeric.errors[0].field == "kind");
  CHECK(numeric.errors[1].field == "input");
  ActionBody bad = validate_action_body(R"({"kind":"Bad Kind","input":[],"idem_key":""})");
  REQUIRE(bad.errors.size() == 3);
  CHECK(bad.errors[2].field == "idem_key");
  ActionBody good =
      validate_action_body(R"({"kind":"context.set","input":{"a":1},"idem_key":"k"})");
  CHECK(good.errors.empty());
  CHECK(good.kind == "context.set");
  CHECK(*good.idem_key == "k");
  CHECK(integral_in_range(Json::parse("24.0"), 1, 100) == 24);
  CHECK_FALSE(integral_in_range(Json::parse("24.5"), 1, 100));
  CHECK_FALSE(integral_in_range(Json("24"), 1, 100));
  CHECK_FALSE(integral_in_range(Json::parse("0"), 1, 100));
  CHECK_FALSE(integral_in_range(Json::parse("-3"), 1, 100));
  CHECK(decode_base64(encode_base64("capsule!")) == "capsule!");
}

TEST_CASE("relaxed_allows_all_without_leases_but_staging_still_applies", "[control][policy]") {
  Fixture f;
  f.settings.policy = *policy_for_posture("relaxed");
  f.close();
  f.open();
  auto plain = f.submit("test.set", {{"value", 12}});
  CHECK(plain.result == SubmitOutcome::Result::Queued);
  CHECK(f.settled(plain.id)["guard"].is_null());
  CHECK(f.submit("test.set", {{"value", 500}}).result == SubmitOutcome::Result::Staged);
}

TEST_CASE("an_approval_after_the_state_moved_reports_stale_evidence", "[control][staging]") {
  Fixture f;
  f.lease("test:cap");
  auto staged = f.submit("test.set", {{"value", 40}});
  REQUIRE(staged.result == SubmitOutcome::Result::Staged);
  auto small = f.submit("test.set", {{"value", 15}});
  REQUIRE(small.result == SubmitOutcome::Result::Queued);
  REQUIRE(f.settled(small.id)["state"] == "completed");
  REQUIRE(f.actions->approve(staged.id, "op", "r").result == DecisionOutcome::Result::Ok);
  Json action = f.settled(staged.id);
  CHECK(action["state"] == "completed");
  CHECK(action["output"]["evidence_stale"] == true);
  CHECK(action["output"]["changed"] == true);
}

TEST_CASE("an_action_whose_commit_fails_ends_failed_instead_of_staying_running",
          "[control][actions]") {
  Fixture f;
  f.lease("test:cap");
  // Room for small rows only: the execution's 1 MiB event cannot commit.
  f.journal->transact([](WriteTx& tx) {
    sqlite3_stmt* statement = nullptr;
    sqlite3_prepare_v2(tx.db(), "PRAGMA page_count", -1, &statement, nullptr);
    sqlite3_step(statement);
    const int64_t pages = sqlite3_column_int64(statement, 0);
    sqlite3_finalize(statement);
    const std::string cap = "PRAGMA max_page_count = " + std::to_string(pages + 16);
    sqlite3_exec(tx.db(), cap.c_str(), nullptr, nullptr, nullptr);
  });
  auto out = f.submit("test.big", Json::object());
  REQUIRE(out.result == SubmitOutcome::Result::Queued);
  Json action = f.settled(out.id);
  CHECK(action["state"] == "failed");
  CHECK(action["error"] == kCommitFailedError);
  CHECK_FALSE(f.oversized->published);
  CHECK(f.event_kinds("actions.") ==
        std::vector<std::string>{"actions.submitted", "actions.running", "actions.failed"});
  CHECK(f.event_kinds("test.big").empty());
}
