// Read models and their versioned patches (telemetry.md 6).
//
// A read model is an id whose value (JSON) is computed on demand by a
// function, plus what marks it dirty: event kind prefixes, HTTP requests
// (observation requests excepted), wake-ups, and explicit mark_dirty(id)
// calls. The hub keeps, per id, the last materialised (version, value):
// version 0 is an implicit null, the first materialised value is version 1,
// and each change of the value minus its volatile paths adds exactly 1.
//
// Publication. A dirty model that has patch subscribers is materialised on
// the hub's one scheduler thread at min(last_dirty + C, first_dirty + M); a
// burst yields one patch, churn at most one per M. Each version transition
// (also one found by a priming GET) computes ONE RFC 6902 diff against the
// last value (read_model_diff.h: arrays aligned on shifts, values already at
// hand copied, volatile paths left out; the 0->1 patch and any patch larger
// than the new value are one root replace), serialises it once, and hands the same
// shared buffers to every subscriber present at that moment. With no
// subscriber for an id nothing is scheduled and no diff is computed.
//
// Registering a model (the control plane's `policy_leases`, `staging_actions`,
// `policy_capsules`, `logic_units`, `orchestrator_jobs`, ...) is one call:
//
//   hub.define({.id = "policy_leases",
//               .compute = [&leases] { return leases.to_json(); },
//               .event_prefixes = {"leases."},
//               .dirty_on_wakeup = true,
//               .volatile_paths = {"/generated", "/generated_ms"},
//               .coalescing = {}});  // the hub's C and M
//
// and, where state changes without an event, `hub.mark_dirty("policy_leases")`.
// Define models before the HTTP server starts; ids are fixed afterwards.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <thread>
#include <vector>

#include "kernel/event.h"
#include "util/json.h"

namespace tpark {
class MetricRegistry;
}

namespace tpark::live {

// When a dirty model is published: min(last_dirty + coalesce, first_dirty + max_delay).
struct Coalescing {
  std::chrono::milliseconds coalesce{250};    // C
  std::chrono::milliseconds max_delay{1000};  // M, >= C
};

struct ReadModelDefinition {
  std::string id;
  // Computes the current value. Never runs concurrently with itself for one
  // id. Called on the scheduler thread or a priming GET's thread. An
  // exception means "cannot compute now": the last version stays, the model
  // stays dirty, and the error is logged.
  std::function<Json()> compute;
  // Committed events whose kind starts with one of these mark it dirty;
  // {""} = every event, {} = none.
  std::vector<std::string> event_prefixes;
  // HTTP requests other than observation requests mark it dirty.
  bool dirty_on_request = false;
  // Plugin wake-ups (time boundaries) and task/plugin changes mark it dirty.
  bool dirty_on_wakeup = false;
  // JSON Pointers excluded from change detection; a "*" segment matches any
  // key or index ("/capsules/sample/*/status_label").
  std::vector<std::string> volatile_paths;
  // The effective C and M, asked each time the model is scheduled (so live
  // config can change them). Empty: the hub's defaults.
  std::function<Coalescing()> coalescing;
  // A list as the reference publishes its lists: {version, items}, items keyed
  // by "id". compute returns an object with `items`; the hub writes the
  // model's version into `version` (first), and after the 0->1 patch every
  // patch touches only /version and /items (see list_model_patch), so a client
  // primed from a list route whose body has more members keeps them.
  bool list_model = false;
};

// One published version transition, shared by every subscriber.
struct PatchPublication {
  std::string id;
  uint64_t version = 0;        // base_version is version - 1
  int64_t published_ms = 0;    // epoch ms when the transition was published
  // {id,instance_id,version,base_version,patch} as compact JSON.
  std::shared_ptr<const std::string> payload;
  // The SSE frame's data line, "data: {time,kind,payload}\n\n", built once.
  std::shared_ptr<const std::string> sse_data;
};

// Called on the publishing thread (the scheduler or a priming GET), in
// version order per id. Must not block and must not call back into the hub's
// subscribe/unsubscribe (it runs under the subscriber lock).
using PatchCallback = std::function<void(const PatchPublication&)>;

// A materialised value as the priming GET returns it.
struct ReadModelValue {
  std::string id;
  uint64_t version = 0;
  Json value;
};

class ReadModelHub {
 public:
  // `instance_id` is the boot's epoch (16 hex). `metrics` may be null (unit
  // tests); otherwise arw_read_model_{patches_total,version,subscribers}.
  ReadModelHub(std::string instance_id, Coalescing defaults, MetricRegistry* metrics);
  ~ReadModelHub();  // stops the scheduler
  // Stops the scheduler (before what compute functions read goes away);
  // dirty marks are still accepted and ignored. Idempotent.
  void stop();
  ReadModelHub(const ReadModelHub&) = delete;
  ReadModelHub& operator=(const ReadModelHub&) = delete;

  // Adds a model. Throws std::logic_error for an empty or duplicate id or a
  // missing compute function.
  void define(ReadModelDefinition definition);
  bool has(const std::string& id) const;
  std::vector<std::string> ids() const;
  const std::string& instance_id() const { return instance_id_; }

  // Dirty marks. Cheap and non-blocking: callable from the journal's commit
  // sink, the HTTP threads and plugin timer threads.
  void mark_dirty(const std::string& id);
  void on_events(const std::vector<EventPtr>& events);
  void on_request();
  void on_wakeup();

  // Materialises `id` now (publishing the transition to the subscribers
  // present, if the value changed) and returns it with fresh volatile
  // fields. nullopt for an unknown id. Throws what compute throws.
  std::optional<ReadModelValue> materialise(const std::string& id);

  // In-process patch subscription (SSE clients, exporter runtimes): `ids`
  // empty = every model. Returns a subscription id; after unsubscribe_patches
  // returns, the callback is never called again.
  uint64_t subscribe_patches(std::vector<std::string> ids, PatchCallback callback);
  void unsubscribe_patches(uint64_t subscription_id);

  // Patches published per id since start (arw_read_model_patches_total).
  uint64_t patches_published(const std::string& id) const;

 private:
  struct Model;
  struct Subscriber {
    std::vector<std::string> ids;  // empty = all
    PatchCallback callback;
  };
  Model* find(const std::string& id) const;
  void mark_locked(Model& model, std::chrono::steady_clock::time_point now);
  Coalescing coalescing_of(const Model& model) const;
  // `published` (optional) receives the SSE frame of a transition it published.
  std::optional<ReadModelValue> materialise_model(Model& model,
                                                  std::shared_ptr<const std::string>* published = nullptr);
  // The transition's shared SSE frame, or null when nobody subscribes to it.
  std::shared_ptr<const std::string> publish(Model& model, const Json& previous, const Json& next,
                                             uint64_t version);
  void run_scheduler();

  const std::string instance_id_;
  const Coalescing defaults_;
  MetricRegistry* metrics_;
  uint64_t patches_family_ = 0, version_family_ = 0, subscribers_family_ = 0;

  mutable std::mutex mutex_;  // models_' dirty state and subscriber counts
  std::condition_variable cv_;
  std::vector<std::unique_ptr<Model>> models_;
  std::map<std::string, Model*, std::less<>> by_id_;
  bool stopping_ = false;

  mutable std::shared_mutex subscribers_mutex_;
  std::map<uint64_t, Subscriber> subscribers_;
  uint64_t next_subscriber_ = 1;

  std::thread scheduler_;
};

// The value with every volatile path removed (what change detection compares).
Json strip_volatile_paths(const Json& value, const std::vector<std::string>& volatile_paths);

// The RFC 6902 patch from `previous` to `next` as the wire carries it:
// read_model_diff (shift-aware arrays, volatile paths present on both sides
// left out), or one root replace when `base_version` is 0 or the diff's text
// is longer than the new value's.
Json read_model_patch(const Json& previous, const Json& next, uint64_t base_version,
                      const std::vector<std::string>& volatile_paths = {});

// The patch of a list model (ReadModelDefinition::list_model) from `previous`
// to `next`, both {version, items, ...}: a replace of /version, removals of
// items whose id is gone, adds of new ids at their index and the in-place diff
// of each kept item. When the kept items changed order, an item has no string
// id, or that patch is longer than the new value, it is a replace of /version
// and of /items as a whole; it never touches other members.
Json list_model_patch(const Json& previous, const Json& next);

}  // namespace tpark::live
