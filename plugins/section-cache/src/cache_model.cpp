#include "cache_model.h"

#include <cmath>
#include <limits>

#include <nlohmann/json.hpp>

namespace tpark::sections::cache {

namespace {

using ordered_json = nlohmann::ordered_json;

// A non-negative numeric field as u64 (a fraction is dropped); anything else
// is no sample.
std::optional<uint64_t> count_field(const nlohmann::json& payload, const char* key) {
  auto it = payload.find(key);
  if (it == payload.end()) return std::nullopt;
  if (it->is_number_unsigned()) return it->get<uint64_t>();
  if (it->is_number_integer()) {
    const auto value = it->get<int64_t>();
    return value < 0 ? std::nullopt : std::optional<uint64_t>(static_cast<uint64_t>(value));
  }
  if (it->is_number_float()) {
    const double value = it->get<double>();
    if (!std::isfinite(value) || value < 0.0 || value >= 1.8e19) return std::nullopt;
    return static_cast<uint64_t>(value);
  }
  return std::nullopt;
}

ordered_json optional_u64(const std::optional<uint64_t>& value) {
  return value ? ordered_json(*value) : ordered_json(nullptr);
}

int64_t ttl_ms(const CacheLimits& limits) {
  return static_cast<int64_t>(limits.ttl_secs) * 1000;
}

// A registry integer: the JSON integer or its decimal text, inside [min, max].
std::optional<uint64_t> registry_int(const nlohmann::json& entry, int64_t min, int64_t max) {
  if (!entry.is_object()) return std::nullopt;
  auto pending = entry.find("pending_restart");
  if (pending != entry.end() && pending->is_boolean() && pending->get<bool>()) return std::nullopt;
  auto it = entry.find("value");
  if (it == entry.end()) return std::nullopt;
  std::optional<int64_t> value;
  if (it->is_number_integer() || it->is_number_unsigned()) {
    if (it->is_number_unsigned() &&
        it->get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
      return std::nullopt;
    value = it->get<int64_t>();
  } else if (it->is_string()) {
    const std::string& text = it->get_ref<const std::string&>();
    if (text.empty() || text.size() > 18 ||
        text.find_first_not_of("0123456789") != std::string::npos)
      return std::nullopt;
    value = std::stoll(text);
  }
  if (!value || *value < min || *value > max) return std::nullopt;
  return static_cast<uint64_t>(*value);
}

}  // namespace

void CacheTally::Samples::add(uint64_t value) {
  total += value;
  ++samples;
  last = value;
  if (!max || value > *max) max = value;
}

double CacheTally::Samples::average() const {
  return samples == 0 ? 0.0 : static_cast<double>(total) / static_cast<double>(samples);
}

CacheDelta CacheTally::count(std::string_view payload_json, int64_t time_ms,
                             const CacheLimits& limits) {
  const auto payload = nlohmann::json::parse(payload_json, nullptr, false);
  if (!payload.is_object()) return {};
  auto outcome_it = payload.find("outcome");
  if (outcome_it == payload.end() || !outcome_it->is_string()) return {};
  const std::string& outcome = outcome_it->get_ref<const std::string&>();

  std::optional<std::string> key;
  if (auto it = payload.find("key"); it != payload.end() && !it->is_null())
    key = it->is_string() ? it->get<std::string>() : it->dump();

  CacheDelta delta;
  if (outcome == "hit" || outcome == "coalesced") {
    if (outcome == "hit") {
      ++hit_;
      delta.outcome = CacheOutcome::Hit;
    } else {
      ++coalesced_;
      delta.outcome = CacheOutcome::Coalesced;
    }
    delta.latency_saved_ms = count_field(payload, "latency_saved_ms");
    delta.payload_bytes = count_field(payload, "payload_bytes");
    if (delta.latency_saved_ms) latency_saved_ms_.add(*delta.latency_saved_ms);
    if (delta.payload_bytes) payload_bytes_.add(*delta.payload_bytes);
    if (auto age = count_field(payload, "age_secs")) hit_age_secs_.add(*age);
  } else if (outcome == "miss") {
    ++miss_;
    delta.outcome = CacheOutcome::Miss;
    auto cached = payload.find("cached");
    const bool stored = cached != payload.end() && cached->is_boolean() && cached->get<bool>();
    if (key && stored) {
      store(*key, time_ms, limits);
      if (stored_ms_by_key_.count(*key) != 0) delta.entry_expires_ms = time_ms + ttl_ms(limits);
    } else if (key) {
      forget(*key);
    }
  } else if (outcome == "error") {
    ++errors_;
    delta.outcome = CacheOutcome::Error;
    if (key) forget(*key);
  } else if (outcome == "not_cacheable") {
    ++bypass_;
    delta.outcome = CacheOutcome::Bypass;
    auto reason = payload.find("reason");
    if (reason != payload.end() && reason->is_string() &&
        reason->get_ref<const std::string&>() == "payload_too_large") {
      ++payload_too_large_;
      delta.payload_too_large = true;
    }
  }
  return delta;
}

void CacheTally::store(const std::string& key, int64_t time_ms, const CacheLimits& limits) {
  forget(key);
  if (limits.capacity == 0) return;
  stored_ms_by_key_.emplace(key, time_ms);
  keys_by_stored_ms_.emplace(time_ms, key);
  // A full cache evicts its oldest entry, which is also the first to expire.
  while (keys_by_stored_ms_.size() > limits.capacity) forget(keys_by_stored_ms_.begin()->second);
}

void CacheTally::forget(const std::string& key) {
  auto it = stored_ms_by_key_.find(key);
  if (it == stored_ms_by_key_.end()) return;
  keys_by_stored_ms_.erase({it->second, key});
  stored_ms_by_key_.erase(it);
}

void CacheTally::clear() {
  *this = CacheTally();
}

uint64_t CacheTally::live_entries(int64_t now_ms, const CacheLimits& limits) {
  while (!keys_by_stored_ms_.empty() &&
         keys_by_stored_ms_.begin()->first + ttl_ms(limits) <= now_ms) {
    const std::string key = keys_by_stored_ms_.begin()->second;
    forget(key);
  }
  const auto live = static_cast<uint64_t>(keys_by_stored_ms_.size());
  return live < limits.capacity ? live : limits.capacity;
}

std::optional<int64_t> CacheTally::next_expiry_ms(const CacheLimits& limits) const {
  if (keys_by_stored_ms_.empty()) return std::nullopt;
  return keys_by_stored_ms_.begin()->first + ttl_ms(limits);
}

double CacheTally::stampede_suppression_rate() const {
  const uint64_t contended = miss_ + coalesced_;
  return contended == 0 ? 0.0 : static_cast<double>(coalesced_) / static_cast<double>(contended);
}

nlohmann::ordered_json CacheTally::render(int64_t now_ms, const CacheLimits& limits) {
  ordered_json out = ordered_json::object();
  out["hit"] = hit_;
  out["miss"] = miss_;
  out["coalesced"] = coalesced_;
  out["errors"] = errors_;
  out["bypass"] = bypass_;
  out["payload_too_large"] = payload_too_large_;
  out["capacity"] = limits.capacity;
  out["ttl_secs"] = limits.ttl_secs;
  out["entries"] = live_entries(now_ms, limits);
  out["max_payload_bytes"] = optional_u64(limits.max_payload_bytes);
  out["latency_saved_ms_total"] = latency_saved_ms_.total;
  out["latency_saved_samples"] = latency_saved_ms_.samples;
  out["avg_latency_saved_ms"] = latency_saved_ms_.average();
  out["payload_bytes_saved_total"] = payload_bytes_.total;
  out["payload_saved_samples"] = payload_bytes_.samples;
  out["avg_payload_bytes_saved"] = payload_bytes_.average();
  out["avg_hit_age_secs"] = hit_age_secs_.average();
  out["hit_age_samples"] = hit_age_secs_.samples;
  out["last_hit_age_secs"] = optional_u64(hit_age_secs_.last);
  out["max_hit_age_secs"] = optional_u64(hit_age_secs_.max);
  out["stampede_suppression_rate"] = stampede_suppression_rate();
  out["last_latency_saved_ms"] = optional_u64(latency_saved_ms_.last);
  out["last_payload_bytes"] = optional_u64(payload_bytes_.last);
  return out;
}

ConfiguredLimits limits_from_config(const nlohmann::json& config) {
  ConfiguredLimits limits;
  if (!config.is_object()) return limits;
  auto env = config.find("env");
  if (env == config.end() || !env->is_object()) return limits;
  if (auto it = env->find("ARW_TOOLS_CACHE_CAP"); it != env->end())
    limits.capacity = registry_int(*it, kCapacityMin, kCapacityMax);
  if (auto it = env->find("ARW_TOOLS_CACHE_TTL_SECS"); it != env->end())
    limits.ttl_secs = registry_int(*it, kTtlSecsMin, kTtlSecsMax);
  return limits;
}

}  // namespace tpark::sections::cache
