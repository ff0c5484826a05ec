#include "live/read_model_hub.h"

#include <algorithm>
#include <atomic>
#include <set>
#include <stdexcept>

#include <spdlog/spdlog.h>

#include "kernel/kinds.h"
#include "live/read_model_diff.h"
#include "metrics/metric_registry.h"
#include "util/time.h"

namespace tpark::live {

using Clock = std::chrono::steady_clock;

// After publishing, the scheduler waits at most this long for every
// subscriber to have taken the patch (see run_scheduler).
constexpr auto kFanOutWait = std::chrono::milliseconds(50);

struct ReadModelHub::Model {
  ReadModelDefinition def;
  std::vector<std::vector<std::string>> volatile_segments;

  // Guarded by the hub's mutex_.
  bool dirty = false;
  Clock::time_point first_dirty{}, last_dirty{};
  size_t subscribers = 0;

  // Guarded by materialise_mutex: one computation and publication at a time.
  std::mutex materialise_mutex;
  uint64_t version = 0;
  Json value = nullptr;   // the last materialised value, volatile fields included
  Json stable = nullptr;  // the same minus its volatile paths

  std::atomic<uint64_t> patches{0};
};

namespace {

// "/a/*/b~1c" -> {"a", "*", "b/c"}
std::vector<std::string> pointer_segments(const std::string& pointer) {
  std::vector<std::string> out;
  size_t at = 0;
  while (at < pointer.size() && pointer[at] == '/') {
    const size_t end = pointer.find('/', at + 1);
    std::string raw = pointer.substr(at + 1, end == std::string::npos ? std::string::npos : end - at - 1);
    std::string segment;
    for (size_t i = 0; i < raw.size(); ++i) {
      if (raw[i] == '~' && i + 1 < raw.size() && (raw[i + 1] == '0' || raw[i + 1] == '1')) {
        segment += raw[i + 1] == '0' ? '~' : '/';
        ++i;
      } else {
        segment += raw[i];
      }
    }
    out.push_back(std::move(segment));
    if (end == std::string::npos) break;
    at = end;
  }
  return out;
}

void strip_segments(Json& node, const std::vector<std::string>& segments, size_t at) {
  if (at >= segments.size()) return;
  const std::string& segment = segments[at];
  const bool last = at + 1 == segments.size();
  if (node.is_object()) {
    if (segment == "*") {
      if (last) node = Json::object();
      else
        for (auto& [key, child] : node.items()) strip_segments(child, segments, at + 1);
    } else if (auto it = node.find(segment); it != node.end()) {
      if (last) node.erase(it);
      else strip_segments(*it, segments, at + 1);
    }
  } else if (node.is_array()) {
    if (segment == "*") {
      if (last) node = Json::array();
      else
        for (auto& child : node) strip_segments(child, segments, at + 1);
    } else {
      size_t index = 0;
      bool numeric = !segment.empty();
      for (char c : segment) {
        numeric = numeric && c >= '0' && c <= '9';
        if (numeric) index = index * 10 + static_cast<size_t>(c - '0');
      }
      if (!numeric || index >= node.size()) return;
      if (last) node.erase(index);
      else strip_segments(node[index], segments, at + 1);
    }
  }
}

Json strip_with(const Json& value, const std::vector<std::vector<std::string>>& patterns) {
  if (patterns.empty()) return value;
  Json copy = value;
  for (const auto& segments : patterns) strip_segments(copy, segments, 0);
  return copy;
}

}  // namespace

Json strip_volatile_paths(const Json& value, const std::vector<std::string>& volatile_paths) {
  std::vector<std::vector<std::string>> patterns;
  for (const auto& path : volatile_paths) patterns.push_back(pointer_segments(path));
  return strip_with(value, patterns);
}

Json read_model_patch(const Json& previous, const Json& next, uint64_t base_version,
                      const std::vector<std::string>& volatile_paths) {
  auto root_replace = [&] { return Json::array({Json{{"op", "replace"}, {"path", ""}, {"value", next}}}); };
  if (base_version == 0) return root_replace();
  std::vector<std::vector<std::string>> volatile_segments;
  for (const auto& path : volatile_paths) volatile_segments.push_back(pointer_segments(path));
  Json diff = read_model_diff(previous, next, volatile_segments);
  if (diff.dump().size() > next.dump().size()) return root_replace();
  return diff;
}

namespace {

// The items' ids in order, or nullopt when one has no string id or an id repeats.
std::optional<std::vector<std::string>> item_ids(const Json& items) {
  if (!items.is_array()) return std::nullopt;
  std::vector<std::string> ids;
  std::set<std::string> seen;
  for (const auto& item : items) {
    auto id = item.is_object() ? item.find("id") : item.end();
    if (id == item.end() || !id->is_string()) return std::nullopt;
    if (!seen.insert(id->get<std::string>()).second) return std::nullopt;
    ids.push_back(id->get<std::string>());
  }
  return ids;
}

// Ops turning `previous` items into `next` items by id; nullopt when the kept
// ids are not in the same order in both.
std::optional<Json> keyed_items_ops(const Json& previous, const Json& next) {
  auto before = item_ids(previous);
  auto after = item_ids(next);
  if (!before || !after) return std::nullopt;
  const std::set<std::string> after_set(after->begin(), after->end());
  const std::set<std::string> before_set(before->begin(), before->end());
  Json ops = Json::array();
  // Removals from the highest index down, so each index is still valid.
  std::vector<size_t> kept;  // indexes into previous, in order
  for (size_t i = before->size(); i-- > 0;)
    if (after_set.count((*before)[i]) == 0)
      ops.push_back({{"op", "remove"}, {"path", "/items/" + std::to_string(i)}});
  for (size_t i = 0; i < before->size(); ++i)
    if (after_set.count((*before)[i])) kept.push_back(i);
  size_t k = 0;
  for (size_t j = 0; j < after->size(); ++j) {
    const std::string path = "/items/" + std::to_string(j);
    if (k < kept.size() && (*before)[kept[k]] == (*after)[j]) {
      for (Json op : read_model_diff(previous[kept[k]], next[j])) {
        op["path"] = path + op["path"].get<std::string>();
        if (op.contains("from")) op["from"] = path + op["from"].get<std::string>();
        ops.push_back(std::move(op));
      }
      ++k;
    } else if (before_set.count((*after)[j])) {
      return std::nullopt;  // a kept item moved
    } else {
      ops.push_back({{"op", "add"}, {"path", path}, {"value", next[j]}});
    }
  }
  return ops;
}

}  // namespace

Json list_model_patch(const Json& previous, const Json& next) {
  auto member = [](const Json& value, const char* name) {
    return value.is_object() && value.contains(name) ? value[name] : Json();
  };
  Json ops = Json::array();
  const Json version = member(next, "version");
  if (member(previous, "version") != version)
    ops.push_back({{"op", "replace"}, {"path", "/version"}, {"value", version}});
  const Json before = member(previous, "items");
  const Json after = member(next, "items");
  std::optional<Json> item_ops = keyed_items_ops(before, after);
  if (item_ops && item_ops->dump().size() <= after.dump().size()) {
    for (auto& op : *item_ops) ops.push_back(std::move(op));
  } else {
    ops.push_back({{"op", "replace"}, {"path", "/items"}, {"value", after}});
  }
  return ops;
}

ReadModelHub::ReadModelHub(std::string instance_id, Coalescing defaults, MetricRegistry* metrics)
    : instance_id_(std::move(instance_id)), defaults_(defaults), metrics_(metrics) {
  if (metrics_) {
    std::string error;
    patches_family_ = metrics_->register_family(MetricType::Counter, "arw_read_model_patches_total",
                                                "Read-model patches published", {"id"}, {}, &error);
    version_family_ = metrics_->register_family(MetricType::Gauge, "arw_read_model_version",
                                                "Current read-model version", {"id"}, {}, &error);
    subscribers_family_ =
        metrics_->register_family(MetricType::Gauge, "arw_read_model_subscribers",
                                  "Patch subscribers per read model", {"id"}, {}, &error);
    if (!patches_family_ || !version_family_ || !subscribers_family_)
      throw std::logic_error("read-model metric families: " + error);
  }
  scheduler_ = std::thread([this] { run_scheduler(); });
}

ReadModelHub::~ReadModelHub() { stop(); }

void ReadModelHub::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (scheduler_.joinable()) scheduler_.join();
}

void ReadModelHub::define(ReadModelDefinition definition) {
  if (definition.id.empty()) throw std::logic_error("read model without an id");
  if (!definition.compute) throw std::logic_error("read model " + definition.id + " has no compute");
  auto model = std::make_unique<Model>();
  for (const auto& path : definition.volatile_paths)
    model->volatile_segments.push_back(pointer_segments(path));
  model->def = std::move(definition);
  // A subscriber to every model counts for models defined later too.
  std::unique_lock subscribers(subscribers_mutex_);
  std::lock_guard lock(mutex_);
  if (by_id_.count(model->def.id)) throw std::logic_error("read model " + model->def.id + " defined twice");
  for (const auto& [sid, subscriber] : subscribers_)
    if (subscriber.ids.empty() ||
        std::find(subscriber.ids.begin(), subscriber.ids.end(), model->def.id) != subscriber.ids.end())
      ++model->subscribers;
  if (metrics_) {
    metrics_->add(patches_family_, {model->def.id}, 0);
    metrics_->set(version_family_, {model->def.id}, 0);
    metrics_->set(subscribers_family_, {model->def.id}, static_cast<double>(model->subscribers));
  }
  by_id_.emplace(model->def.id, model.get());
  models_.push_back(std::move(model));
}

bool ReadModelHub::has(const std::string& id) const { return find(id) != nullptr; }

std::vector<std::string> ReadModelHub::ids() const {
  std::lock_guard lock(mutex_);
  std::vector<std::string> out;
  for (const auto& model : models_) out.push_back(model->def.id);
  return out;
}

ReadModelHub::Model* ReadModelHub::find(const std::string& id) const {
  std::lock_guard lock(mutex_);
  auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : it->second;
}

void ReadModelHub::mark_locked(Model& model, Clock::time_point now) {
  if (!model.dirty) {
    model.dirty = true;
    model.first_dirty = now;
  }
  model.last_dirty = now;
  if (model.subscribers > 0) cv_.notify_all();
}

void ReadModelHub::mark_dirty(const std::string& id) {
  std::lock_guard lock(mutex_);
  auto it = by_id_.find(id);
  if (it != by_id_.end()) mark_locked(*it->second, Clock::now());
}

void ReadModelHub::on_events(const std::vector<EventPtr>& events) {
  if (events.empty()) return;
  const auto now = Clock::now();
  std::lock_guard lock(mutex_);
  for (auto& model : models_) {
    const auto& prefixes = model->def.event_prefixes;
    if (prefixes.empty()) continue;
    for (size_t i = 0; i < events.size(); ++i) {
      // Batches are runs of one kind: a kind that did not match is not tried again.
      if (i > 0 && events[i]->kind == events[i - 1]->kind) continue;
      if (kind_matches(events[i]->kind, prefixes)) {
        mark_locked(*model, now);
        break;
      }
    }
  }
}

void ReadModelHub::on_request() {
  const auto now = Clock::now();
  std::lock_guard lock(mutex_);
  for (auto& model : models_)
    if (model->def.dirty_on_request) mark_locked(*model, now);
}

void ReadModelHub::on_wakeup() {
  const auto now = Clock::now();
  std::lock_guard lock(mutex_);
  for (auto& model : models_)
    if (model->def.dirty_on_wakeup) mark_locked(*model, now);
}

Coalescing ReadModelHub::coalescing_of(const Model& model) const {
  Coalescing c = model.def.coalescing ? model.def.coalescing() : defaults_;
  if (c.max_delay < c.coalesce) c.max_delay = c.coalesce;
  return c;
}

std::optional<ReadModelValue> ReadModelHub::materialise(const std::string& id) {
  Model* model = find(id);
  if (!model) return std::nullopt;
  return materialise_model(*model);
}

std::optional<ReadModelValue> ReadModelHub::materialise_model(
    Model& model, std::shared_ptr<const std::string>* published) {
  std::lock_guard guard(model.materialise_mutex);
  {
    // Cleared before computing: a mark that arrives meanwhile dirties it again.
    std::lock_guard lock(mutex_);
    model.dirty = false;
  }
  Json next;
  try {
    next = model.def.compute();
  } catch (...) {
    mark_dirty(model.def.id);
    throw;
  }
  Json stable = strip_with(next, model.volatile_segments);
  const bool changed = model.version == 0 || stable != model.stable;
  if (model.def.list_model && next.is_object()) {
    Json with_version = {{"version", changed ? model.version + 1 : model.version}};
    for (auto it = next.begin(); it != next.end(); ++it)
      if (it.key() != "version") with_version[it.key()] = std::move(it.value());
    next = std::move(with_version);
  }
  if (changed) {
    const uint64_t version = model.version + 1;
    auto frame = publish(model, model.value, next, version);
    if (published) *published = std::move(frame);
    model.version = version;
    model.stable = std::move(stable);
    if (metrics_) metrics_->set(version_family_, {model.def.id}, static_cast<double>(version));
  }
  model.value = next;
  return ReadModelValue{model.def.id, model.version, std::move(next)};
}

std::shared_ptr<const std::string> ReadModelHub::publish(Model& model, const Json& previous,
                                                         const Json& next, uint64_t version) {
  std::shared_lock lock(subscribers_mutex_);
  std::vector<const Subscriber*> targets;
  for (const auto& [sid, subscriber] : subscribers_)
    if (subscriber.ids.empty() ||
        std::find(subscriber.ids.begin(), subscriber.ids.end(), model.def.id) != subscriber.ids.end())
      targets.push_back(&subscriber);
  if (targets.empty()) return nullptr;  // no subscriber: no diff, no serialisation

  Json payload;
  payload["id"] = model.def.id;
  payload["instance_id"] = instance_id_;
  payload["version"] = version;
  payload["base_version"] = version - 1;
  payload["patch"] = model.def.list_model && version > 1
                         ? list_model_patch(previous, next)
                         : read_model_patch(previous, next, version - 1, model.def.volatile_paths);
  PatchPublication publication;
  publication.id = model.def.id;
  publication.version = version;
  publication.published_ms = now_ms();
  auto payload_text = std::make_shared<std::string>(payload.dump());
  std::string data = "data: {\"time\":\"" + format_rfc3339_ms(publication.published_ms) +
                     "\",\"kind\":\"state.read.model.patch\",\"payload\":";
  data += *payload_text;
  data += "}\n\n";
  publication.payload = std::move(payload_text);
  publication.sse_data = std::make_shared<const std::string>(std::move(data));

  for (const Subscriber* subscriber : targets) {
    try {
      subscriber->callback(publication);
    } catch (const std::exception& e) {
      spdlog::error("patch subscriber for {} failed: {}", model.def.id, e.what());
    }
  }
  model.patches.fetch_add(1, std::memory_order_relaxed);
  if (metrics_) metrics_->add(patches_family_, {model.def.id}, 1);
  return publication.sse_data;
}

uint64_t ReadModelHub::subscribe_patches(std::vector<std::string> ids, PatchCallback callback) {
  std::unique_lock subscribers(subscribers_mutex_);
  const uint64_t id = next_subscriber_++;
  std::lock_guard lock(mutex_);
  for (auto& model : models_) {
    if (!ids.empty() && std::find(ids.begin(), ids.end(), model->def.id) == ids.end()) continue;
    if (++model->subscribers == 1 && model->dirty) cv_.notify_all();
    if (metrics_)
      metrics_->set(subscribers_family_, {model->def.id}, static_cast<double>(model->subscribers));
  }
  subscribers_.emplace(id, Subscriber{std::move(ids), std::move(callback)});
  return id;
}

void ReadModelHub::unsubscribe_patches(uint64_t subscription_id) {
  std::unique_lock subscribers(subscribers_mutex_);
  auto it = subscribers_.find(subscription_id);
  if (it == subscribers_.end()) return;
  std::lock_guard lock(mutex_);
  const auto& ids = it->second.ids;
  for (auto& model : models_) {
    if (!ids.empty() && std::find(ids.begin(), ids.end(), model->def.id) == ids.end()) continue;
    --model->subscribers;
    if (metrics_)
      metrics_->set(subscribers_family_, {model->def.id}, static_cast<double>(model->subscribers));
  }
  subscribers_.erase(it);
}

uint64_t ReadModelHub::patches_published(const std::string& id) const {
  Model* model = find(id);
  return model ? model->patches.load(std::memory_order_relaxed) : 0;
}

void ReadModelHub::run_scheduler() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    const auto now = Clock::now();
    std::vector<Model*> due;
    std::optional<Clock::time_point> next_due;
    for (auto& model : models_) {
      if (!model->dirty || model->subscribers == 0) continue;
      const Coalescing c = coalescing_of(*model);
      const auto at = std::min(model->last_dirty + c.coalesce, model->first_dirty + c.max_delay);
      if (at <= now) due.push_back(model.get());
      else if (!next_due || at < *next_due) next_due = at;
    }
    if (due.empty()) {
      if (next_due) cv_.wait_until(lock, *next_due);
      else cv_.wait(lock);
      continue;
    }
    lock.unlock();
    for (Model* model : due) {
      std::shared_ptr<const std::string> published;
      try {
        materialise_model(*model, &published);
      } catch (const std::exception& e) {
        spdlog::warn("read model {}: {}", model->def.id, e.what());
      }
      // The next model is computed once the subscribers took this patch (its
      // shared frame is no longer referenced by their queues and writes), or
      // after kFanOutWait: computing a version never competes for the CPU with
      // writing the last one to every client, and a client that does not read
      // delays no publication by more than that.
      const auto give_up = Clock::now() + kFanOutWait;
      while (published && published.use_count() > 1 && Clock::now() < give_up)
        std::this_thread::sleep_for(std::chrono::microseconds(500));
    }
    lock.lock();
  }
}

}  // namespace tpark::live
