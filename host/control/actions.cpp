#include "control/actions.h"

#include <spdlog/spdlog.h>

#include "control/leases.h"
#include "kernel/journal.h"
#include "util/time.h"
#include "util/uuid.h"

namespace tpark::control {

namespace {

constexpr const char* kActionColumns =
    "id, kind, input, idem_key, state, output, error, created_ms, updated_ms, risk, evidence, "
    "guard, posture, via, requested_by";

Json parse_or_null(const std::optional<std::string>& text) {
  if (!text || text->empty()) return nullptr;
  Json value = Json::parse(*text, nullptr, false);
  return value.is_discarded() ? Json(nullptr) : value;
}

Json action_from_row(const Sql& row) {
  return {{"id", row.text(0)},
          {"kind", row.text(1)},
          {"input", parse_or_null(row.text(2))},
          {"idem_key", row.is_null(3) ? Json(nullptr) : Json(row.text(3))},
          {"state", row.text(4)},
          {"output", parse_or_null(row.optional_text(5))},
          {"error", row.is_null(6) ? Json(nullptr) : Json(row.text(6))},
          {"created", format_rfc3339_ms(row.integer(7))},
          {"updated", format_rfc3339_ms(row.integer(8))},
          {"risk", parse_or_null(row.text(9))},
          {"evidence", parse_or_null(row.optional_text(10))},
          {"guard", parse_or_null(row.optional_text(11))},
          {"posture", row.text(12)},
          {"via", row.text(13)},
          {"requested_by", row.text(14)}};
}

std::optional<Json> load_action(sqlite3* db, const std::string& id) {
  Sql q(db, std::string("SELECT ") + kActionColumns + " FROM actions WHERE id = ?1");
  q.bind(1, id);
  if (!q.step()) return std::nullopt;
  return action_from_row(q);
}

constexpr const char* kStagingColumns =
    "id, action_kind, action_input, project, requested_by, evidence, risk, status, reason, "
    "decided_by, decided_ms, created_ms, updated_ms";

Json staging_from_row(const Sql& row) {
  const std::string status = row.text(7);
  return {
      {"id", row.text(0)},
      {"action_kind", row.text(1)},
      {"action_input", parse_or_null(row.text(2))},
      {"project", row.is_null(3) ? Json(nullptr) : Json(row.text(3))},
      {"requested_by", row.text(4)},
      {"evidence", parse_or_null(row.optional_text(5))},
      {"risk", parse_or_null(row.text(6))},
      {"status", status},
      {"decision", status == "pending" ? Json(nullptr) : Json(status)},
      {"reason", row.is_null(8) ? Json(nullptr) : Json(row.text(8))},
      {"decided_by", row.is_null(9) ? Json(nullptr) : Json(row.text(9))},
      {"decided_at", row.is_null(10) ? Json(nullptr) : Json(format_rfc3339_ms(row.integer(10)))},
      {"created", format_rfc3339_ms(row.integer(11))},
      {"updated", format_rfc3339_ms(row.integer(12))}};
}

NewEvent host_event(std::string kind, const Json& payload, const std::string& corr_id) {
  NewEvent event;
  event.kind = std::move(kind);
  event.payload = payload.dump();
  event.time_ms = now_ms();
  event.source = "host";
  event.corr_id = corr_id;
  return event;
}

// The first non-empty of input.project, proj, project_id, workspace (4.5).
std::optional<std::string> project_of(const Json& input) {
  for (const char* key : {"project", "proj", "project_id", "workspace"}) {
    auto it = input.find(key);
    if (it != input.end() && it->is_string() && !it->get_ref<const std::string&>().empty())
      return it->get<std::string>();
  }
  return std::nullopt;
}

Json risk_json(const ActionPreview& preview, bool risky) {
  Json reasons = Json::array();
  for (const auto& reason : preview.risk_reasons)
    reasons.push_back({{"code", reason.code}, {"detail", reason.detail}});
  return {{"risky", risky}, {"reasons", std::move(reasons)}};
}

Json evidence_json(const ActionPreview& preview, const Json& risk, const Json& input,
                   int64_t computed_ms) {
  Json pinned = Json::array();
  for (const auto& key : preview.pinned) pinned.push_back(key);
  Json restart = Json::array();
  for (const auto& key : preview.restart_required) restart.push_back(key);
  Json evidence = {{"diff_summary", preview.diff_summary},
                   {"json_patch", preview.json_patch},
                   {"pinned", std::move(pinned)},
                   {"restart_required", std::move(restart)},
                   {"risk", risk}};
  if (!preview.safety_issues.is_null()) evidence["safety_issues"] = preview.safety_issues;
  evidence["config_version"] = preview.config_version;
  evidence["computed_at"] = format_rfc3339_ms(computed_ms);
  auto client = input.find("evidence");
  evidence["client"] = client == input.end() ? Json(nullptr) : *client;
  return evidence;
}

// Inputs compare canonically: key order does not matter, 24 equals 24.0.
bool same_input(const std::string& stored_text, const Json& input) {
  nlohmann::json stored = nlohmann::json::parse(stored_text, nullptr, false);
  nlohmann::json given = nlohmann::json::parse(input.dump(), nullptr, false);
  return !stored.is_discarded() && stored == given;
}

// 4.4: whether an action waits for a decision, by the staging mode.
bool should_stage(const ControlSettings& settings, const std::string& kind,
                  const ActionPreview& preview, bool risky) {
  switch (settings.staging_mode) {
    case StagingMode::Always:
      return true;
    case StagingMode::Auto:
      return risky;
    case StagingMode::Ask:
      return !preview.empty() && (risky || !settings.staging_allows(kind));
  }
  return false;
}

// Idempotency, per kind: an earlier action with the same key answers (reused,
// or a conflict when its input differs), with no policy check, lease or event.
bool answered_by_idempotency_key(sqlite3* db, const SubmitRequest& request, SubmitOutcome& out) {
  if (!request.idem_key) return false;
  Sql existing(db, "SELECT id, input, state FROM actions WHERE kind = ?1 AND idem_key = ?2");
  existing.bind(1, request.kind).bind(2, *request.idem_key);
  if (!existing.step()) return false;
  out.id = existing.text(0);
  out.state = existing.text(2);
  out.result = same_input(existing.text(1), request.input) ? SubmitOutcome::Result::Reused
                                                           : SubmitOutcome::Result::IdemConflict;
  return true;
}

// 4.3: no usable lease for the rule's capability: the denial's explanation,
// journaled as policy.decision.
void deny_for_lack_of_lease(WriteTx& tx, const SubmitRequest& request, const std::string& posture,
                            const LeaseRule& rule, const std::vector<std::string>& targets,
                            const LeaseChoice& choice, SubmitOutcome& out) {
  Json target_list = Json::array();
  for (const auto& t : targets) target_list.push_back(t);
  out.result = SubmitOutcome::Result::Denied;
  out.require_capability = rule.capability;
  out.explain = {{"action", request.kind},
                 {"posture", posture},
                 {"required_capability", rule.capability},
                 {"rule", {{"kind_prefix", rule.kind_prefix}, {"capability", rule.capability}}},
                 {"targets", std::move(target_list)},
                 {"reason", choice.reason},
                 {"considered", choice.considered},
                 {"message", "Action " + request.kind + " requires capability " + rule.capability +
                                 ". Acquire a lease via POST /leases."}};
  tx.append(host_event("policy.decision",
                       {{"action", request.kind},
                        {"allow", false},
                        {"require_capability", rule.capability},
                        {"explain", out.explain}},
                       request.corr_id));
}

// The staging entry of a staged action and its staging.pending event.
void add_staging_entry(WriteTx& tx, const SubmitRequest& request, const std::string& id,
                       const std::string& input_text, const std::string& staging_actor,
                       const Json& evidence, const Json& risk, int64_t now) {
  const auto project = project_of(request.input);
  Sql entry(tx.db(),
            "INSERT INTO staging_entries(id, action_kind, action_input, project, requested_by, "
            "evidence, risk, status, created_ms, updated_ms) "
            "VALUES(?1,?2,?3,?4,?5,?6,?7,'pending',?8,?8)");
  entry.bind(1, id)
      .bind(2, request.kind)
      .bind(3, input_text)
      .bind(4, project)
      .bind(5, staging_actor)
      .bind(6, evidence.dump())
      .bind(7, risk.dump())
      .bind(8, now);
  entry.run();
  tx.append(host_event("staging.pending",
                       {{"id", id},
                        {"kind", request.kind},
                        {"project", project ? Json(*project) : Json(nullptr)},
                        {"requested_by", staging_actor},
                        {"risk", risk},
                        {"time", format_rfc3339_ms(now)}},
                       request.corr_id));
}

uint64_t count_queued(sqlite3* db) {
  Sql q(db, "SELECT COUNT(*) FROM actions WHERE state = 'queued'");
  q.step();
  return static_cast<uint64_t>(q.integer(0));
}

bool terminal(const std::string& state) {
  return state == "completed" || state == "failed" || state == "denied";
}

struct PendingEntry {
  std::string kind;
  std::optional<std::string> project;
};

// The staging entry `id` when it is pending (approve and deny decide only
// those); otherwise sets out.result to NotFound, or to Conflict with its state.
std::optional<PendingEntry> pending_entry(sqlite3* db, const std::string& id,
                                          DecisionOutcome& out) {
  Sql entry(db, "SELECT status, action_kind, project FROM staging_entries WHERE id = ?1");
  entry.bind(1, id);
  if (!entry.step()) {
    out.result = DecisionOutcome::Result::NotFound;
    return std::nullopt;
  }
  out.state = entry.text(0);
  if (out.state != "pending") {
    out.result = DecisionOutcome::Result::Conflict;
    return std::nullopt;
  }
  return PendingEntry{entry.text(1), entry.optional_text(2)};
}

}  // namespace

struct ActionService::QueuedAction {
  std::string id;
  std::string kind;
  Json input;
  Json evidence;
  std::string corr_id;
  std::string via;
};

ActionService::ActionService(Journal& journal, ActionKindRegistry& kinds,
                             const ControlSettings& settings)
    : journal_(journal), kinds_(kinds), settings_(settings), reader_([&journal] {
        journal.transact([](WriteTx& tx) { create_control_tables(tx.db()); });
        return journal.path().string();
      }()) {}

ActionService::~ActionService() {
  stop();
}

void ActionService::start() {
  int64_t requeued = 0;
  journal_.transact([&](WriteTx& tx) {
    Sql max_order(tx.db(), "SELECT COALESCE(MAX(queue_order), 0) FROM actions");
    max_order.step();
    next_queue_order_ = max_order.integer(0) + 1;
    // 1.5: an action interrupted while running goes back to the queue.
    Sql requeue(tx.db(),
                "UPDATE actions SET state = 'queued', updated_ms = ?1 WHERE state = 'running'");
    requeue.bind(1, now_ms());
    requeue.run();
    requeued = sqlite3_changes(tx.db());
  });
  if (requeued) spdlog::info("requeued {} actions that were running at shutdown", requeued);
  prune_terminal(now_ms() - static_cast<int64_t>(settings_.retention_days) * 86400000);
  if (settings_.workers == 0) {
    spdlog::info("ARW_WORKERS=0: action execution is paused");
    return;
  }
  executor_ = std::thread([this] { executor_loop(); });
}

void ActionService::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  settled_.notify_all();
  if (executor_.joinable()) executor_.join();
}

void ActionService::set_queue_max_source(std::function<uint64_t()> source) {
  std::lock_guard lock(mutex_);
  queue_max_source_ = std::move(source);
}

uint64_t ActionService::queue_max() const {
  std::function<uint64_t()> source;
  {
    std::lock_guard lock(mutex_);
    source = queue_max_source_;
  }
  return source ? source() : settings_.queue_max;
}

void ActionService::notify_changed() {
  {
    std::lock_guard lock(mutex_);
    ++change_seq_;
    work_pending_ = true;
  }
  wake_.notify_all();
  settled_.notify_all();
}

SubmitOutcome ActionService::submit(const SubmitRequest& request) {
  SubmitOutcome out;
  auto handler = kinds_.find(request.kind);
  if (!handler) {
    out.result = SubmitOutcome::Result::UnknownKind;
    out.errors.push_back({"kind", "no handler for kind " + request.kind});
    return out;
  }
  for (auto& error : handler->validate(request.input))
    out.errors.push_back({error.field.empty() ? "input" : "input." + error.field, error.message});
  if (!out.errors.empty()) {
    out.result = SubmitOutcome::Result::InputInvalid;
    return out;
  }

  // Evidence and risk against the current state (4.5, 4.6), before the
  // transaction: preview only reads.
  const std::vector<std::string> targets = handler->scope_targets(request.input);
  const ActionPreview preview = handler->preview(request.input);
  const int64_t computed_ms = now_ms();
  const bool risky = !preview.empty() && !preview.risk_reasons.empty();
  const bool stage = should_stage(settings_, request.kind, preview, risky);
  const Json risk = risk_json(preview, risky);
  const Json evidence = evidence_json(preview, risk, request.input, computed_ms);
  const LeaseRule* rule =
      settings_.policy.allow_all ? nullptr : settings_.policy.match(request.kind);
  const uint64_t limit = queue_max();
  const std::string input_text = request.input.dump();

  journal_.transact([&](WriteTx& tx) {
    sqlite3* db = tx.db();
    const int64_t now = now_ms();
    // 2. Idempotency, per kind: no policy check, no lease use, no event.
    if (answered_by_idempotency_key(db, request, out)) return;
    // 3. Policy and lease.
    Json guard = nullptr;
    std::optional<Lease> charged;
    if (rule) {
      LeaseChoice choice = choose_lease_in(db, rule->capability, targets, now);
      if (!choice.charged) {
        deny_for_lack_of_lease(tx, request, settings_.policy.posture, *rule, targets, choice, out);
        return;
      }
      charged = choice.charged;
      guard = {{"capability", rule->capability},
               {"lease_id", charged->id},
               {"scope", charged->scope},
               {"ttl_until", format_rfc3339_ms(charged->ttl_until_ms)}};
    }
    // 6. Queue limit (staged actions do not count).
    if (!stage && limit > 0) {
      const uint64_t queued = count_queued(db);
      if (queued >= limit) {
        out.result = SubmitOutcome::Result::QueueFull;
        out.queue_limit = limit;
        out.queued = queued;
        return;
      }
    }
    // 5./7. Stage or admit, charging the lease in the same transaction.
    out.id = random_uuid_v4();
    out.state = stage ? "staged" : "queued";
    Sql insert(db,
               "INSERT INTO actions(id, kind, input, idem_key, state, created_ms, updated_ms, "
               "queue_order, risk, evidence, guard, posture, via, requested_by, corr_id) "
               "VALUES(?1,?2,?3,?4,?5,?6,?6,?7,?8,?9,?10,?11,?12,?13,?14)");
    insert.bind(1, out.id)
        .bind(2, request.kind)
        .bind(3, input_text)
        .bind(4, request.idem_key)
        .bind(5, out.state)
        .bind(6, now);
    if (stage)
      insert.bind_null(7);
    else
      insert.bind(7, next_queue_order_);
    insert.bind(8, risk.dump())
        .bind(9, evidence.dump())
        .bind(10, guard.is_null() ? std::optional<std::string>() : guard.dump())
        .bind(11, settings_.policy.posture)
        .bind(12, request.via)
        .bind(13, settings_.staging_actor)
        .bind(14, request.corr_id);
    insert.run();
    if (!stage) ++next_queue_order_;
    if (charged) charge_lease(db, charged->id, now);
    if (stage) {
      add_staging_entry(tx, request, out.id, input_text, settings_.staging_actor, evidence, risk,
                        now);
      out.result = SubmitOutcome::Result::Staged;
      out.evidence = evidence;
    } else {
      tx.append(host_event("actions.submitted",
                           {{"id", out.id}, {"kind", request.kind}, {"status", "queued"}},
                           request.corr_id));
      out.result = SubmitOutcome::Result::Queued;
    }
  });
  if (out.result == SubmitOutcome::Result::Queued) notify_changed();
  return out;
}

DecisionOutcome ActionService::approve(const std::string& id, const std::string& decided_by,
                                       const std::string& corr_id) {
  DecisionOutcome out;
  const uint64_t limit = queue_max();
  journal_.transact([&](WriteTx& tx) {
    sqlite3* db = tx.db();
    std::optional<PendingEntry> pending = pending_entry(db, id, out);
    if (!pending) return;
    const std::string kind = pending->kind;
    const auto project = pending->project;
    if (limit > 0) {
      const uint64_t queued = count_queued(db);
      if (queued >= limit) {
        out.result = DecisionOutcome::Result::QueueFull;
        out.queue_limit = limit;
        out.queued = queued;
        return;
      }
    }
    const int64_t now = now_ms();
    Sql decide(db,
               "UPDATE staging_entries SET status = 'approved', decided_by = ?2, decided_ms = ?3,"
               " updated_ms = ?3 WHERE id = ?1");
    decide.bind(1, id).bind(2, decided_by).bind(3, now);
    decide.run();
    Sql queue(db,
              "UPDATE actions SET state = 'queued', queue_order = ?2, updated_ms = ?3"
              " WHERE id = ?1 AND state = 'staged'");
    queue.bind(1, id).bind(2, next_queue_order_++).bind(3, now);
    queue.run();
    tx.append(host_event("staging.decided",
                         {{"id", id},
                          {"decision", "approved"},
                          {"action_id", id},
                          {"kind", kind},
                          {"project", project ? Json(*project) : Json(nullptr)},
                          {"decided_by", decided_by},
                          {"time", format_rfc3339_ms(now)}},
                         corr_id));
    tx.append(host_event("actions.submitted", {{"id", id}, {"kind", kind}, {"status", "queued"}},
                         corr_id));
    out.state = "queued";
  });
  if (out.result == DecisionOutcome::Result::Ok) notify_changed();
  return out;
}

DecisionOutcome ActionService::deny(const std::string& id, const std::optional<std::string>& reason,
                                    const std::string& decided_by, const std::string& corr_id) {
  DecisionOutcome out;
  journal_.transact([&](WriteTx& tx) {
    sqlite3* db = tx.db();
    std::optional<PendingEntry> pending = pending_entry(db, id, out);
    if (!pending) return;
    const std::string kind = pending->kind;
    const auto project = pending->project;
    const int64_t now = now_ms();
    Sql decide(db,
               "UPDATE staging_entries SET status = 'denied', reason = ?2, decided_by = ?3,"
               " decided_ms = ?4, updated_ms = ?4 WHERE id = ?1");
    decide.bind(1, id).bind(2, reason).bind(3, decided_by).bind(4, now);
    decide.run();
    Sql action(db,
               "UPDATE actions SET state = 'denied', error = ?2, updated_ms = ?3"
               " WHERE id = ?1 AND state = 'staged'");
    action.bind(1, id).bind(2, reason).bind(3, now);
    action.run();
    const Json reason_json = reason ? Json(*reason) : Json(nullptr);
    tx.append(host_event("staging.decided",
                         {{"id", id},
                          {"decision", "denied"},
                          {"reason", reason_json},
                          {"action_id", id},
                          {"kind", kind},
                          {"project", project ? Json(*project) : Json(nullptr)},
                          {"decided_by", decided_by},
                          {"time", format_rfc3339_ms(now)}},
                         corr_id));
    tx.append(host_event("actions.denied",
                         {{"id", id}, {"kind", kind}, {"state", "denied"}, {"reason", reason_json}},
                         corr_id));
    out.state = "denied";
  });
  if (out.result == DecisionOutcome::Result::Ok) notify_changed();
  return out;
}

DecisionOutcome ActionService::set_external_state(const std::string& id, const Json& body,
                                                  const std::string& corr_id) {
  DecisionOutcome out;
  std::string target;
  auto state = body.find("state");
  if (state == body.end() || !state->is_string()) {
    out.errors.push_back({"state", "expected one of running, completed, failed"});
  } else {
    target = state->get<std::string>();
    if (target != "running" && target != "completed" && target != "failed")
      out.errors.push_back({"state", "expected one of running, completed, failed"});
  }
  auto error = body.find("error");
  if (error != body.end() && !error->is_null() && !error->is_string())
    out.errors.push_back({"error", "expected a string"});
  auto output = body.find("output");
  if (output != body.end() && !output->is_null() && !output->is_object())
    out.errors.push_back({"output", "expected an object"});
  if (!out.errors.empty()) {
    out.result = DecisionOutcome::Result::InputInvalid;
    return out;
  }
  journal_.transact([&](WriteTx& tx) {
    sqlite3* db = tx.db();
    Sql row(db, "SELECT kind, state FROM actions WHERE id = ?1");
    row.bind(1, id);
    if (!row.step()) {
      out.result = DecisionOutcome::Result::NotFound;
      return;
    }
    const std::string kind = row.text(0);
    out.state = row.text(1);
    auto handler = kinds_.find(kind);
    // Forward only: queued -> running|completed|failed, running -> completed|failed.
    const bool forward = out.state == "queued" || (out.state == "running" && terminal(target));
    if (!handler || !handler->external() || !forward) {
      out.result = DecisionOutcome::Result::Conflict;
      return;
    }
    const int64_t now = now_ms();
    Sql update(db,
               "UPDATE actions SET state = ?2, output = COALESCE(?3, output),"
               " error = COALESCE(?4, error), updated_ms = ?5 WHERE id = ?1");
    update.bind(1, id).bind(2, target);
    if (output != body.end() && output->is_object())
      update.bind(3, output->dump());
    else
      update.bind_null(3);
    if (error != body.end() && error->is_string())
      update.bind(4, error->get<std::string>());
    else
      update.bind_null(4);
    update.bind(5, now);
    update.run();
    Json payload = {{"id", id}, {"kind", kind}, {"state", target}};
    if (output != body.end() && output->is_object()) payload["output"] = *output;
    if (error != body.end() && error->is_string()) payload["error"] = *error;
    tx.append(host_event("actions." + target, payload, corr_id));
    out.action = *load_action(db, id);
    out.state = target;
  });
  if (out.result == DecisionOutcome::Result::Ok) notify_changed();
  return out;
}

std::optional<Json> ActionService::action(const std::string& id) {
  return reader_.with([&](sqlite3* db) { return load_action(db, id); });
}

Json ActionService::list_actions(const ActionFilter& filter) {
  return reader_.with([&](sqlite3* db) {
    std::string where = " WHERE 1=1";
    if (filter.state) where += " AND state = ?1";
    if (filter.kind) where += " AND kind = ?2";
    // substr, not LIKE: '_' is a wildcard for LIKE and a common kind character.
    if (filter.kind_prefix) where += " AND substr(kind, 1, length(?5)) = ?5";
    if (filter.updated_since_ms) where += " AND updated_ms > ?6";
    auto bind_filter = [&filter](Sql& q) {
      if (filter.state) q.bind(1, *filter.state);
      if (filter.kind) q.bind(2, *filter.kind);
      if (filter.kind_prefix) q.bind(5, *filter.kind_prefix);
      if (filter.updated_since_ms) q.bind(6, *filter.updated_since_ms);
    };
    Sql count(db, "SELECT COUNT(*) FROM actions" + where);
    bind_filter(count);
    count.step();
    const int64_t total = count.integer(0);
    Sql page(db, std::string("SELECT ") + kActionColumns + " FROM actions" + where +
                     " ORDER BY created_ms DESC, rowid DESC LIMIT ?3 OFFSET ?4");
    bind_filter(page);
    page.bind(3, filter.limit).bind(4, filter.offset);
    Json items = Json::array();
    while (page.step()) items.push_back(action_from_row(page));
    return Json{{"items", std::move(items)},
                {"total", total},
                {"limit", filter.limit},
                {"offset", filter.offset}};
  });
}

Json ActionService::list_staging(const std::optional<std::string>& status, int64_t limit) {
  const int64_t now = now_ms();
  return reader_.with([&](sqlite3* db) {
    Sql q(db, std::string("SELECT ") + kStagingColumns + " FROM staging_entries" +
                  (status ? " WHERE status = ?1" : "") +
                  " ORDER BY created_ms ASC, rowid ASC LIMIT ?2");
    if (status) q.bind(1, *status);
    q.bind(2, limit);
    Json items = Json::array();
    while (q.step()) items.push_back(staging_from_row(q));
    return Json{{"items", std::move(items)},
                {"status", status ? Json(*status) : Json(nullptr)},
                {"limit", limit},
                {"generated", format_rfc3339_ms(now)},
                {"generated_ms", now}};
  });
}

std::optional<Json> ActionService::wait_settled(const std::string& id, uint64_t timeout_ms) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    uint64_t seen;
    {
      std::lock_guard lock(mutex_);
      seen = change_seq_;
    }
    auto row = action(id);
    if (!row) return std::nullopt;
    const std::string state = (*row)["state"].get<std::string>();
    if (state != "queued" && state != "running") return row;
    std::unique_lock lock(mutex_);
    if (!settled_.wait_until(lock, deadline, [&] { return stopping_ || change_seq_ != seen; }))
      return action(id);
    if (stopping_) return action(id);
  }
}

uint64_t ActionService::prune_terminal(int64_t cutoff_ms) {
  uint64_t removed = 0;
  journal_.transact([&](WriteTx& tx) {
    Sql staging(tx.db(),
                "DELETE FROM staging_entries WHERE id IN (SELECT id FROM actions WHERE state IN "
                "('completed','failed','denied') AND updated_ms < ?1)");
    staging.bind(1, cutoff_ms);
    staging.run();
    Sql actions(
        tx.db(),
        "DELETE FROM actions WHERE state IN ('completed','failed','denied') AND updated_ms < ?1");
    actions.bind(1, cutoff_ms);
    actions.run();
    removed = static_cast<uint64_t>(sqlite3_changes(tx.db()));
  });
  if (removed) spdlog::info("retention removed {} terminal actions", removed);
  return removed;
}

// The oldest queued action of a host-executed kind (admission order).
std::optional<ActionService::QueuedAction> ActionService::next_queued() {
  return reader_.with([&](sqlite3* db) -> std::optional<QueuedAction> {
    std::vector<std::string> external;
    for (const auto& name : kinds_.kinds())
      if (auto handler = kinds_.find(name); handler && handler->external())
        external.push_back(name);
    std::string sql =
        "SELECT id, kind, input, evidence, corr_id, via FROM actions WHERE state = 'queued'";
    if (!external.empty()) {
      sql += " AND kind NOT IN (";
      for (size_t i = 0; i < external.size(); ++i) sql += i ? ",?" : "?";
      sql += ")";
    }
    sql += " ORDER BY queue_order LIMIT 1";
    Sql q(db, sql);
    for (size_t i = 0; i < external.size(); ++i) q.bind(static_cast<int>(i + 1), external[i]);
    if (!q.step()) return std::nullopt;
    QueuedAction action;
    action.id = q.text(0);
    action.kind = q.text(1);
    action.input = parse_or_null(q.text(2));
    action.evidence = parse_or_null(q.optional_text(3));
    action.corr_id = q.text(4);
    action.via = q.text(5);
    return action;
  });
}

void ActionService::executor_loop() {
  auto next_prune = std::chrono::steady_clock::now() + std::chrono::hours(1);
  for (;;) {
    {
      std::unique_lock lock(mutex_);
      wake_.wait_until(lock, next_prune, [&] { return stopping_ || work_pending_; });
      if (stopping_) return;
      work_pending_ = false;
    }
    if (std::chrono::steady_clock::now() >= next_prune) {
      next_prune = std::chrono::steady_clock::now() + std::chrono::hours(1);
      try {
        prune_terminal(now_ms() - static_cast<int64_t>(settings_.retention_days) * 86400000);
      } catch (const std::exception& e) {
        spdlog::warn("action retention pass failed: {}", e.what());
      }
    }
    for (;;) {
      {
        std::lock_guard lock(mutex_);
        if (stopping_) return;
      }
      std::optional<QueuedAction> next;
      try {
        next = next_queued();
      } catch (const std::exception& e) {
        spdlog::error("reading the action queue failed: {}", e.what());
      }
      if (!next) break;
      execute(*next);
    }
  }
}

void ActionService::execute(const QueuedAction& action) {
  bool started = false;
  try {
    journal_.transact([&](WriteTx& tx) {
      Sql run(tx.db(),
              "UPDATE actions SET state = 'running', updated_ms = ?2 WHERE id = ?1 AND state = "
              "'queued'");
      run.bind(1, action.id).bind(2, now_ms());
      run.run();
      if (sqlite3_changes(tx.db()) == 0) return;
      started = true;
      tx.append(host_event("actions.running",
                           {{"id", action.id}, {"kind", action.kind}, {"state", "running"}},
                           action.corr_id));
    });
  } catch (const std::exception& e) {
    spdlog::error("action {} could not start: {}", action.id, e.what());
    std::unique_lock lock(mutex_);
    wake_.wait_for(lock, std::chrono::seconds(1), [&] { return stopping_; });
    work_pending_ = true;
    return;
  }
  if (!started) return;
  notify_changed();

  auto handler = kinds_.find(action.kind);
  std::string failure;
  if (!handler) {
    failure = "no handler for kind " + action.kind;
  } else {
    try {
      // 4.5: the diff is recomputed at execution; say so when the evidence
      // was taken against another config version.
      bool stale = false;
      if (action.evidence.is_object() && action.evidence.contains("config_version") &&
          !action.evidence["diff_summary"].empty())
        stale = handler->preview(action.input).config_version !=
                action.evidence["config_version"].get<int64_t>();
      ActionRun run{action.id, action.kind, action.corr_id, action.via};
      journal_.transact([&](WriteTx& tx) {
        ActionOutcome outcome = handler->execute(action.input, run, tx);
        if (stale) outcome.output["evidence_stale"] = true;
        Sql done(
            tx.db(),
            "UPDATE actions SET state = 'completed', output = ?2, updated_ms = ?3 WHERE id = ?1");
        done.bind(1, action.id).bind(2, outcome.output.dump()).bind(3, now_ms());
        done.run();
        tx.append(host_event("actions.completed",
                             {{"id", action.id},
                              {"kind", action.kind},
                              {"state", "completed"},
                              {"output", outcome.output}},
                             action.corr_id));
        // Before the events reach SSE: a client that hears of the change reads it.
        tx.after_commit(std::move(outcome.on_committed));
      });
    } catch (const JournalUnavailable& e) {
      // Nothing of the execution was stored. Running may only end in completed
      // or failed (4.1): the action fails, and waiting clients get 503.
      spdlog::error("action {} could not commit: {}", action.id, e.what());
      failure = kCommitFailedError;
    } catch (const std::exception& e) {
      failure = e.what();
    }
  }
  if (!failure.empty()) {
    try {
      journal_.transact([&](WriteTx& tx) {
        Sql failed(
            tx.db(),
            "UPDATE actions SET state = 'failed', error = ?2, updated_ms = ?3 WHERE id = ?1");
        failed.bind(1, action.id).bind(2, failure).bind(3, now_ms());
        failed.run();
        tx.append(host_event(
            "actions.failed",
            {{"id", action.id}, {"kind", action.kind}, {"state", "failed"}, {"error", failure}},
            action.corr_id));
      });
    } catch (const std::exception& e) {
      spdlog::error("action {} could not be marked failed: {}", action.id, e.what());
    }
  }
  notify_changed();
}

}  // namespace tpark::control
