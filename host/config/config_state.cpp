#include "config/config_state.h"

#include <sqlite3.h>

#include <algorithm>
#include <cctype>
#include <stdexcept>

#include "config/governor.h"
#include "kernel/journal.h"
#include "util/text.h"
#include "util/time.h"

namespace tpark::control {

namespace {

// The config tables live beside the journal's; created on first open.
constexpr const char* kSchema =
    "CREATE TABLE IF NOT EXISTS config_applied(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS governor_state(id INTEGER PRIMARY KEY CHECK (id = 1),"
    " profile TEXT NOT NULL, hints TEXT NOT NULL, memory_limit INTEGER);"
    "CREATE TABLE IF NOT EXISTS config_meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS config_snapshots(seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE,"
    " parent_id TEXT, created TEXT NOT NULL, cause TEXT NOT NULL, state TEXT NOT NULL);";

struct StatementFinalizer {
  void operator()(sqlite3_stmt* statement) const { sqlite3_finalize(statement); }
};

// A prepared statement with text binds; throws std::runtime_error on errors.
class Sql {
 public:
  Sql(sqlite3* db, const char* text) : db_(db) {
    sqlite3_stmt* statement = nullptr;
    if (sqlite3_prepare_v2(db, text, -1, &statement, nullptr) != SQLITE_OK)
      throw std::runtime_error(std::string("sqlite: ") + sqlite3_errmsg(db));
    statement_.reset(statement);
  }
  Sql& bind(int index, const std::string& text) {
    sqlite3_bind_text(statement_.get(), index, text.data(), static_cast<int>(text.size()),
                      SQLITE_TRANSIENT);
    return *this;
  }
  Sql& bind(int index, int64_t value) {
    sqlite3_bind_int64(statement_.get(), index, value);
    return *this;
  }
  Sql& bind_null(int index) {
    sqlite3_bind_null(statement_.get(), index);
    return *this;
  }
  // True while there is a row.
  bool step() {
    int rc = sqlite3_step(statement_.get());
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    throw std::runtime_error(std::string("sqlite: ") + sqlite3_errmsg(db_));
  }
  void run() { step(); }
  std::string text(int column) const {
    const auto* t = reinterpret_cast<const char*>(sqlite3_column_text(statement_.get(), column));
    return t ? std::string(t, static_cast<size_t>(sqlite3_column_bytes(statement_.get(), column)))
             : std::string();
  }
  bool is_null(int column) const {
    return sqlite3_column_type(statement_.get(), column) == SQLITE_NULL;
  }
  int64_t integer(int column) const { return sqlite3_column_int64(statement_.get(), column); }

 private:
  sqlite3* db_;
  std::unique_ptr<sqlite3_stmt, StatementFinalizer> statement_;
};

void exec(sqlite3* db, const char* sql) {
  char* message = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &message) != SQLITE_OK) {
    std::string text = message ? message : "unknown error";
    sqlite3_free(message);
    throw std::runtime_error("sqlite: " + text);
  }
}

void write_meta(sqlite3* db, const std::string& key, const Json& value) {
  Sql(db, "INSERT INTO config_meta(key, value) VALUES(?1, ?2)"
          " ON CONFLICT(key) DO UPDATE SET value = excluded.value")
      .bind(1, key)
      .bind(2, value.dump())
      .run();
}

void write_governor(sqlite3* db, const ConfigValues& values) {
  Sql statement(db,
                "INSERT INTO governor_state(id, profile, hints, memory_limit) VALUES(1, ?1, ?2, ?3)"
                " ON CONFLICT(id) DO UPDATE SET profile = excluded.profile, hints = excluded.hints,"
                " memory_limit = excluded.memory_limit");
  statement.bind(1, values.profile).bind(2, values.hints.dump());
  if (values.memory_limit)
    statement.bind(3, *values.memory_limit);
  else
    statement.bind_null(3);
  statement.run();
}

void insert_snapshot(sqlite3* db, const SnapshotInfo& snapshot) {
  Sql statement(db,
                "INSERT INTO config_snapshots(seq, id, parent_id, created, cause, state)"
                " VALUES(?1, ?2, ?3, ?4, ?5, ?6)");
  statement.bind(1, snapshot.seq).bind(2, snapshot.id);
  if (snapshot.parent_id.empty())
    statement.bind_null(3);
  else
    statement.bind(3, snapshot.parent_id);
  statement.bind(4, snapshot.created).bind(5, snapshot.cause.dump()).bind(6, snapshot.values.to_json().dump());
  statement.run();
}

std::string lower(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

Json optional_text(const std::optional<std::string>& text) {
  return text ? Json(*text) : Json(nullptr);
}

// "/env/ARW_CONTEXT_K" -> "env.ARW_CONTEXT_K" (RFC 6901 unescaped).
std::string pointer_to_target(const std::string& pointer) {
  std::string out;
  for (size_t i = 1; i <= pointer.size(); ++i) {
    if (i == pointer.size()) break;
    char c = pointer[i];
    if (c == '/') {
      out += '.';
    } else if (c == '~' && i + 1 < pointer.size()) {
      out += pointer[i + 1] == '1' ? '/' : '~';
      ++i;
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

// ---------------------------------------------------------------------------
// Boot

std::variant<BootConfig, std::string> resolve_boot_config(std::shared_ptr<const PresetSet> presets,
                                                          const DetectedTier& detected,
                                                          const EnvLookup& env) {
  BootConfig boot;
  boot.presets = presets;
  boot.detected = detected;
  auto read = [&](const char* name) -> std::optional<std::string> {
    auto value = env(name);
    if (!value) return std::nullopt;
    std::string t(trim(*value));
    if (t.empty()) return std::nullopt;
    return t;
  };
  auto perf_name = read("ARW_PERF_PRESET");
  if (!perf_name || lower(*perf_name) == "auto") {
    boot.perf_source = "auto";
    perf_name = detected.tier;
  } else {
    boot.perf_source = "env";
  }
  const Preset* perf = presets->find(*perf_name);
  if (!perf || perf->kind != "perf") {
    std::string message = boot.perf_source == "env"
                              ? "ARW_PERF_PRESET: unknown perf preset \"" + *perf_name + "\""
                              : "the auto-detected perf preset \"" + *perf_name + "\" is not loaded";
    message += " (expected eco, balanced, performance, perf, turbo, max or auto; presets dir " +
               presets->dir.string() + ")";
    for (const auto& e : presets->errors) message += "\n" + e.to_string();
    return message;
  }
  boot.boot_perf = perf->name;
  if (auto context_name = read("ARW_CONTEXT_PRESET")) {
    const Preset* context = presets->find(*context_name);
    if (!context || context->kind != "context") {
      std::string message = "ARW_CONTEXT_PRESET: unknown context preset \"" + *context_name +
                            "\" (presets dir " + presets->dir.string() + ")";
      for (const auto& e : presets->errors) message += "\n" + e.to_string();
      return message;
    }
    boot.boot_context = context->name;
  }
  for (const auto& key : key_registry()) {
    auto raw = read(key.name.c_str());
    if (!raw) continue;
    KeyParse parsed = parse_key_text(key, *raw);
    if (auto* error = std::get_if<std::string>(&parsed))
      boot.warnings.push_back(key.name + ": " + *error + "; ignored (not pinned)");
    else
      boot.env_layer[key.name] = std::get<Json>(parsed);
  }
  if (auto raw = read("ARW_CONFIG_SNAPSHOTS_MAX")) {
    KeySpec bound;
    bound.name = "ARW_CONFIG_SNAPSHOTS_MAX";
    bound.min = 1;
    bound.max = 1000000;
    KeyParse parsed = parse_key_text(bound, *raw);
    if (auto* error = std::get_if<std::string>(&parsed))
      boot.warnings.push_back("ARW_CONFIG_SNAPSHOTS_MAX: " + *error + "; using 1000");
    else
      boot.snapshots_max = static_cast<size_t>(std::get<Json>(parsed).get<int64_t>());
  }
  return boot;
}

// ---------------------------------------------------------------------------
// Values

Json ConfigValues::to_json() const {
  Json applied_json = Json::object();
  for (const auto& [key, value] : applied) applied_json[key] = value;
  return {{"applied", applied_json},
          {"governor",
           {{"profile", profile},
            {"hints", hints},
            {"memory_limit", memory_limit ? Json(*memory_limit) : Json(nullptr)}}},
          {"document", document},
          {"perf_applied", optional_text(perf_applied)},
          {"context_applied", optional_text(context_applied)}};
}

ConfigValues ConfigValues::from_json(const Json& state) {
  ConfigValues values;
  if (auto it = state.find("applied"); it != state.end() && it->is_object())
    for (auto e = it->begin(); e != it->end(); ++e) values.applied[e.key()] = e.value();
  if (auto g = state.find("governor"); g != state.end() && g->is_object()) {
    values.profile = g->value("profile", std::string(kDefaultProfile));
    if (auto h = g->find("hints"); h != g->end() && h->is_object()) values.hints = *h;
    if (auto m = g->find("memory_limit"); m != g->end() && m->is_number_integer())
      values.memory_limit = m->get<int64_t>();
  }
  if (auto d = state.find("document"); d != state.end() && d->is_object()) values.document = *d;
  if (auto p = state.find("perf_applied"); p != state.end() && p->is_string())
    values.perf_applied = p->get<std::string>();
  if (auto c = state.find("context_applied"); c != state.end() && c->is_string())
    values.context_applied = c->get<std::string>();
  return values;
}

// ---------------------------------------------------------------------------
// State

ConfigState::ConfigState(BootConfig boot) : boot_(std::move(boot)) {
  presets_ = boot_.presets;
  if (const Preset* perf = presets_->find(boot_.boot_perf))
    for (const auto& e : perf->env) preset_layer_[e.key] = e.value;
  if (boot_.boot_context)
    if (const Preset* context = presets_->find(*boot_.boot_context))
      for (const auto& e : context->env) preset_layer_[e.key] = e.value;
  view_ = std::make_shared<ConfigView>();
}

Json ConfigState::preset_layer_value(const std::string& key) const {
  auto it = preset_layer_.find(key);
  return it == preset_layer_.end() ? Json(nullptr) : it->second;
}

void ConfigState::open(Journal& journal) {
  ConfigValues loaded;
  int64_t version = 0;
  std::string current;
  std::vector<SnapshotInfo> snapshots;
  const int64_t created_ms = now_ms();
  journal.transact([&](WriteTx& tx) {
    sqlite3* db = tx.db();
    exec(db, kSchema);
    {
      Sql rows(db, "SELECT seq, id, parent_id, created, cause, state FROM config_snapshots ORDER BY seq");
      while (rows.step()) {
        SnapshotInfo s;
        s.seq = rows.integer(0);
        s.id = rows.text(1);
        s.parent_id = rows.is_null(2) ? "" : rows.text(2);
        s.created = rows.text(3);
        s.cause = Json::parse(rows.text(4), nullptr, false);
        s.values = ConfigValues::from_json(Json::parse(rows.text(5), nullptr, false));
        snapshots.push_back(std::move(s));
      }
    }
    if (snapshots.empty()) {
      // First boot: the governor comes from the boot preset's governor block.
      const Preset* perf = presets_->find(boot_.boot_perf);
      const Preset* context = boot_.boot_context ? presets_->find(*boot_.boot_context) : nullptr;
      for (const Preset* p : {perf, context}) {
        if (!p || !p->governor.is_object()) continue;
        if (p->governor.contains("profile")) loaded.profile = p->governor["profile"];
        if (p->governor.contains("hints")) loaded.hints = merge_hints(loaded.hints, p->governor["hints"]);
      }
      write_governor(db, loaded);
      SnapshotInfo bootstrap;
      bootstrap.seq = 0;
      bootstrap.id = "snap-0";
      bootstrap.created = format_rfc3339_ms(created_ms);
      bootstrap.cause = {{"kind", "bootstrap"}};
      bootstrap.values = loaded;
      insert_snapshot(db, bootstrap);
      write_meta(db, "version", 0);
      write_meta(db, "snapshot_id", "snap-0");
      snapshots.push_back(bootstrap);
      current = "snap-0";
      return;
    }
    {
      Sql rows(db, "SELECT key, value FROM config_applied");
      while (rows.step()) loaded.applied[rows.text(0)] = Json::parse(rows.text(1), nullptr, false);
    }
    {
      Sql row(db, "SELECT profile, hints, memory_limit FROM governor_state WHERE id = 1");
      if (row.step()) {
        loaded.profile = row.text(0);
        loaded.hints = Json::parse(row.text(1), nullptr, false);
        if (!loaded.hints.is_object()) loaded.hints = Json::object();
        if (!row.is_null(2)) loaded.memory_limit = row.integer(2);
      }
    }
    Sql meta(db, "SELECT key, value FROM config_meta");
    while (meta.step()) {
      Json value = Json::parse(meta.text(1), nullptr, false);
      const std::string key = meta.text(0);
      if (key == "version" && value.is_number_integer()) version = value.get<int64_t>();
      if (key == "snapshot_id" && value.is_string()) current = value.get<std::string>();
      if (key == "document" && value.is_object()) loaded.document = value;
      if (key == "perf_applied" && value.is_string()) loaded.perf_applied = value.get<std::string>();
      if (key == "context_applied" && value.is_string())
        loaded.context_applied = value.get<std::string>();
    }
  });
  auto next = std::make_shared<ConfigView>();
  next->version = version;
  next->snapshot_id = current;
  next->values = std::move(loaded);
  for (const auto& key : key_registry()) boot_effective_[key.name] = effective(next->values, key).value;
  std::lock_guard lock(mutex_);
  view_ = std::move(next);
  snapshots_ = std::move(snapshots);
}

std::shared_ptr<const ConfigView> ConfigState::view() const {
  std::lock_guard lock(mutex_);
  return view_;
}

std::shared_ptr<const PresetSet> ConfigState::presets() const {
  std::lock_guard lock(mutex_);
  return presets_;
}

bool ConfigState::replace_presets(std::shared_ptr<const PresetSet> next) {
  if (!next->errors.empty()) return false;
  std::lock_guard lock(mutex_);
  presets_ = std::move(next);
  return true;
}

EffectiveValue ConfigState::effective(const ConfigValues& values, const KeySpec& key) const {
  if (auto it = boot_.env_layer.find(key.name); it != boot_.env_layer.end())
    return {it->second, "env"};
  if (auto it = values.applied.find(key.name); it != values.applied.end()) {
    if (!it->second.is_null()) return {it->second, "applied"};
    return {key.default_value, "default"};  // a tombstone hides the preset layer
  }
  if (auto it = preset_layer_.find(key.name); it != preset_layer_.end()) return {it->second, "preset"};
  return {key.default_value, "default"};
}

Json ConfigState::patch_document(const ConfigValues& values) const {
  Json env = Json::object();
  for (const auto& key : key_registry()) env[key.name] = effective(values, key).value;
  Json doc = Json::object();
  doc["env"] = std::move(env);
  doc["governor"] = {{"profile", values.profile}, {"hints", full_hints(values.hints)}};
  for (auto it = values.document.begin(); it != values.document.end(); ++it)
    if (it.key() != "env" && it.key() != "governor") doc[it.key()] = it.value();
  return doc;
}

Json ConfigState::perf_preset_names() const {
  return {{"tier", boot_.boot_perf}, {"detected", boot_.detected.tier}, {"boot", boot_.boot_perf}};
}

Json ConfigState::about_perf_preset() const {
  Json body = perf_preset_names();
  body["http_max_conc"] = boot_effective_.at("ARW_HTTP_MAX_CONC");
  body["actions_queue_max"] = effective_value("ARW_ACTIONS_QUEUE_MAX");
  return body;
}

Json ConfigState::state_config_body() const {
  auto v = view();
  Json env = Json::object();
  for (const auto& key : key_registry()) {
    EffectiveValue e = effective(v->values, key);
    Json entry = {{"value", e.value}, {"source", e.source}, {"live", key.live}};
    if (key.restart)
      entry["pending_restart"] = !config_values_equal(e.value, boot_effective_.at(key.name));
    env[key.name] = std::move(entry);
  }
  Json body;
  body["version"] = v->version;
  body["snapshot_id"] = v->snapshot_id;
  body["perf_preset"] = perf_preset_names();
  body["perf_preset"]["source"] = boot_.perf_source;
  body["perf_preset"]["applied"] = optional_text(v->values.perf_applied);
  body["context_preset"] = optional_text(v->values.context_applied ? v->values.context_applied
                                                                   : boot_.boot_context);
  body["env"] = std::move(env);
  body["governor"] = {{"profile", v->values.profile}, {"hints", full_hints(v->values.hints)}};
  body["document"] = v->values.document;
  return body;
}

Json ConfigState::telemetry_config() const {
  auto v = view();
  Json context = Json::object();
  for (const auto& key : key_registry())
    if (key.domain == KeyDomain::Context) context[key.name] = effective(v->values, key).value;
  Json perf_preset = perf_preset_names();
  perf_preset["applied"] = optional_text(v->values.perf_applied);
  return {{"version", v->version},
          {"snapshot_id", v->snapshot_id},
          {"perf_preset", std::move(perf_preset)},
          {"context_preset", optional_text(v->values.context_applied ? v->values.context_applied
                                                                     : boot_.boot_context)},
          {"context", std::move(context)}};
}

Json ConfigState::governor_hints() const {
  return full_hints(view()->values.hints);
}

Json ConfigState::governor_state() const {
  auto v = view();
  return {{"profile", v->values.profile},
          {"memory_limit", v->values.memory_limit ? Json(*v->values.memory_limit) : Json(nullptr)},
          {"hints", v->values.hints}};
}

Json ConfigState::presets_body() const {
  auto set = presets();
  auto v = view();
  Json items = Json::array();
  for (const auto& p : set->items)
    items.push_back({{"name", p.name},
                     {"kind", p.kind},
                     {"file", p.file},
                     {"aliases", p.aliases},
                     {"risky", p.risky},
                     {"keys", [&] {
                        Json keys = Json::array();
                        for (const auto& e : p.env) keys.push_back(e.key);
                        return keys;
                      }()},
                     {"risky_keys", p.risky_keys()}});
  return {{"dir", set->dir.string()},
          {"perf",
           {{"boot", boot_.boot_perf},
            {"applied", optional_text(v->values.perf_applied)},
            {"source", boot_.perf_source},
            {"detected", boot_.detected.to_json()}}},
          {"context", {{"boot", optional_text(boot_.boot_context)},
                       {"applied", optional_text(v->values.context_applied)}}},
          {"items", std::move(items)},
          {"errors", set->errors_json()}};
}

Json ConfigState::snapshots_body(size_t limit) const {
  std::lock_guard lock(mutex_);
  Json items = Json::array();
  for (auto it = snapshots_.rbegin(); it != snapshots_.rend() && items.size() < limit; ++it)
    items.push_back({{"id", it->id},
                     {"parent_id", it->parent_id.empty() ? Json(nullptr) : Json(it->parent_id)},
                     {"created", it->created},
                     {"cause", it->cause},
                     {"current", it->id == view_->snapshot_id}});
  return {{"items", std::move(items)}, {"total", snapshots_.size()}};
}

std::optional<SnapshotInfo> ConfigState::snapshot(const std::string& id) const {
  std::lock_guard lock(mutex_);
  for (const auto& s : snapshots_)
    if (s.id == id) return s;
  return std::nullopt;
}

void ConfigState::publish(std::shared_ptr<const ConfigView> next, std::optional<SnapshotInfo> added) {
  std::lock_guard lock(mutex_);
  view_ = std::move(next);
  if (added) {
    snapshots_.push_back(std::move(*added));
    // Keep at most snapshots_max, oldest first; never the current one.
    while (snapshots_.size() > boot_.snapshots_max && snapshots_.front().id != view_->snapshot_id)
      snapshots_.erase(snapshots_.begin());
  }
}

// ---------------------------------------------------------------------------
// Writes

ChangePlan ConfigState::plan(const ChangeRequest& request) const {
  auto base = view();
  ChangePlan plan;
  plan.base_version = base->version;
  plan.base_snapshot_id = base->snapshot_id;
  plan.hint_source = request.hint_source;
  plan.target = base->values;
  ActionPreview& preview = plan.preview;
  preview.config_version = base->version;

  for (const auto& change : request.env) {
    const KeySpec* key = find_key(change.key);
    if (!key) throw std::invalid_argument("not a registry key: " + change.key);
    if (boot_.env_layer.count(change.key)) {
      preview.pinned.push_back(change.key);
      continue;
    }
    ConfigValues candidate = plan.target;
    switch (change.op) {
      case EnvChange::Op::Set:
        candidate.applied[change.key] = change.value;
        break;
      case EnvChange::Op::Tombstone:
        candidate.applied[change.key] = nullptr;
        break;
      case EnvChange::Op::Remove:
        candidate.applied.erase(change.key);
        break;
    }
    if (config_values_equal(effective(plan.target, *key).value, effective(candidate, *key).value)) {
      preview.unchanged.push_back(change.key);
      continue;
    }
    plan.target.applied = std::move(candidate.applied);
    if (key->restart) preview.restart_required.push_back(change.key);
  }
  if (request.profile) {
    if (*request.profile == plan.target.profile) {
      preview.unchanged.push_back("profile");
    } else {
      plan.previous_profile = plan.target.profile;
      plan.target.profile = *request.profile;
    }
  }
  if (request.hints.is_object() && !request.hints.empty()) {
    Json effective_changes = Json::object();
    for (auto it = request.hints.begin(); it != request.hints.end(); ++it) {
      auto current = plan.target.hints.find(it.key());
      const bool had = current != plan.target.hints.end() && !current->is_null();
      const bool same = it.value().is_null() ? !had : (had && config_values_equal(*current, it.value()));
      if (same)
        preview.unchanged.push_back(it.key());
      else
        effective_changes[it.key()] = it.value();
    }
    plan.changed_hints = effective_changes;
    plan.target.hints = merge_hints(plan.target.hints, effective_changes);
  }

  finish_plan(base->values, plan);
  if (!preview.empty()) {
    if (request.perf_applied) plan.target.perf_applied = request.perf_applied;
    if (request.context_applied) plan.target.context_applied = request.context_applied;
  }
  return plan;
}

ChangePlan ConfigState::plan_target(const ConfigValues& target) const {
  auto base = view();
  ChangePlan plan;
  plan.base_version = base->version;
  plan.base_snapshot_id = base->snapshot_id;
  plan.preview.config_version = base->version;
  plan.target = target;
  for (const auto& key : key_registry()) {
    auto was = base->values.applied.find(key.name);
    auto now = plan.target.applied.find(key.name);
    const bool was_set = was != base->values.applied.end();
    const bool now_set = now != plan.target.applied.end();
    if (was_set == now_set && (!was_set || was->second == now->second)) continue;
    auto keep_base = [&] {
      if (was_set) plan.target.applied[key.name] = was->second;
      else plan.target.applied.erase(key.name);
    };
    if (boot_.env_layer.count(key.name)) {
      plan.preview.pinned.push_back(key.name);
      keep_base();
    } else if (config_values_equal(effective(base->values, key).value,
                                   effective(plan.target, key).value)) {
      plan.preview.unchanged.push_back(key.name);
      keep_base();
    } else if (key.restart) {
      plan.preview.restart_required.push_back(key.name);
    }
  }
  if (plan.target.profile != base->values.profile) plan.previous_profile = base->values.profile;
  for (const auto& key : hint_keys()) {
    auto was = base->values.hints.find(key);
    auto now = plan.target.hints.find(key);
    const bool was_set = was != base->values.hints.end() && !was->is_null();
    const bool now_set = now != plan.target.hints.end() && !now->is_null();
    if (was_set != now_set || (was_set && !config_values_equal(*was, *now)))
      plan.changed_hints[key] = now_set ? *now : Json(nullptr);
  }
  plan.target.hints = merge_hints(Json::object(), plan.target.hints);
  finish_plan(base->values, plan);
  if (plan.preview.empty()) {
    // Nothing changes: the applied preset names are not recorded either.
    plan.target.perf_applied = base->values.perf_applied;
    plan.target.context_applied = base->values.context_applied;
  }
  return plan;
}

void ConfigState::finish_plan(const ConfigValues& base, ChangePlan& plan) const {
  ActionPreview& preview = plan.preview;
  const Json before = patch_document(base);
  const Json after = patch_document(plan.target);
  preview.json_patch = Json::diff(before, after);
  for (const auto& op : preview.json_patch) {
    const std::string pointer = op["path"].get<std::string>();
    Json::json_pointer ptr(pointer);
    Json was = before.contains(ptr) ? before.at(ptr) : Json(nullptr);
    Json now = after.contains(ptr) ? after.at(ptr) : Json(nullptr);
    std::string kind = op["op"].get<std::string>();
    if (was.is_null()) kind = "add";
    else if (now.is_null()) kind = "remove";
    else kind = "replace";
    preview.diff_summary.push_back({{"target", pointer_to_target(pointer)},
                                    {"pointer", pointer},
                                    {"op", kind},
                                    {"before", was},
                                    {"after", now}});
  }
}

Json ConfigState::effective_value(std::string_view key) const {
  const KeySpec* spec = find_key(key);
  if (!spec) return nullptr;
  return effective(view()->values, *spec).value;
}

ActionOutcome ConfigState::commit(const ChangePlan& plan, const ActionRun& run, const Json& cause,
                                  WriteTx& tx) {
  const ActionPreview& preview = plan.preview;
  ActionOutcome outcome;
  if (preview.empty()) {
    outcome.output = {{"changed", false}, {"unchanged", preview.unchanged}, {"pinned", preview.pinned}};
    return outcome;
  }
  sqlite3* db = tx.db();
  const int64_t time_ms = now_ms();
  // Ids and the version come from the database, so they stay unique even if
  // the in-memory view lagged behind.
  int64_t seq = 0;
  {
    Sql max_seq(db, "SELECT COALESCE(MAX(seq), -1) FROM config_snapshots");
    if (max_seq.step()) seq = max_seq.integer(0) + 1;
  }
  int64_t version = plan.base_version;
  std::string parent = plan.base_snapshot_id;
  {
    Sql meta(db, "SELECT key, value FROM config_meta WHERE key IN ('version', 'snapshot_id')");
    while (meta.step()) {
      Json value = Json::parse(meta.text(1), nullptr, false);
      if (meta.text(0) == "version" && value.is_number_integer()) version = value.get<int64_t>();
      if (meta.text(0) == "snapshot_id" && value.is_string()) parent = value.get<std::string>();
    }
  }
  version += 1;

  // Applied layer: rewrite the rows that differ.
  auto base = view();
  for (const auto& [key, value] : plan.target.applied) {
    auto old = base->values.applied.find(key);
    if (old != base->values.applied.end() && old->second == value) continue;
    Sql(db, "INSERT INTO config_applied(key, value) VALUES(?1, ?2)"
            " ON CONFLICT(key) DO UPDATE SET value = excluded.value")
        .bind(1, key)
        .bind(2, value.dump())
        .run();
  }
  for (const auto& [key, value] : base->values.applied)
    if (!plan.target.applied.count(key))
      Sql(db, "DELETE FROM config_applied WHERE key = ?1").bind(1, key).run();
  write_governor(db, plan.target);
  write_meta(db, "document", plan.target.document);
  write_meta(db, "perf_applied", optional_text(plan.target.perf_applied));
  write_meta(db, "context_applied", optional_text(plan.target.context_applied));

  SnapshotInfo snapshot;
  snapshot.seq = seq;
  snapshot.id = "snap-" + std::to_string(seq);
  snapshot.parent_id = parent;
  snapshot.created = format_rfc3339_ms(time_ms);
  snapshot.cause = cause;
  snapshot.values = plan.target;
  insert_snapshot(db, snapshot);
  write_meta(db, "version", version);
  write_meta(db, "snapshot_id", snapshot.id);
  // Prune the oldest beyond the cap; the new one is current and never pruned.
  Sql(db, "DELETE FROM config_snapshots WHERE seq IN (SELECT seq FROM config_snapshots"
          " ORDER BY seq DESC LIMIT -1 OFFSET ?1)")
      .bind(1, static_cast<int64_t>(boot_.snapshots_max))
      .run();

  auto event = [&](const char* kind, const Json& payload) {
    NewEvent e;
    e.kind = kind;
    e.payload = payload.dump();
    e.time_ms = time_ms;
    e.source = "host";
    e.corr_id = run.corr_id;
    tx.append(std::move(e));
  };
  event("config.patch.applied", {{"source", "action"},
                                 {"action_id", run.action_id},
                                 {"kind", run.kind},
                                 {"ops", preview.json_patch},
                                 {"snapshot_id", parent},
                                 {"applied_snapshot_id", snapshot.id}});
  if (plan.previous_profile)
    event("governor.changed", {{"action", "profile"},
                               {"profile", plan.target.profile},
                               {"previous", *plan.previous_profile}});
  if (plan.changed_hints.contains("mode"))
    event("governor.changed", {{"action", "mode"}, {"mode", plan.changed_hints["mode"]}});
  if (!plan.changed_hints.empty())
    event("actions.hint.applied", {{"action", "governor.hints"},
                                   {"params", plan.changed_hints},
                                   {"ok", true},
                                   {"source", plan.hint_source},
                                   {"action_id", run.action_id},
                                   {"corr_id", run.corr_id}});

  outcome.output = {{"changed", true},
                    {"diff_summary", preview.diff_summary},
                    {"json_patch", preview.json_patch},
                    {"pinned", preview.pinned},
                    {"unchanged", preview.unchanged},
                    {"restart_required", preview.restart_required},
                    {"snapshot_id", parent},
                    {"applied_snapshot_id", snapshot.id},
                    {"config_version", version}};
  auto next = std::make_shared<ConfigView>();
  next->version = version;
  next->snapshot_id = snapshot.id;
  next->values = plan.target;
  outcome.on_committed = [this, next, snapshot]() mutable { publish(next, std::move(snapshot)); };
  return outcome;
}

}  // namespace tpark::control
