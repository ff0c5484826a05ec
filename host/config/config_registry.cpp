#include "config/config_registry.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <map>
#include <set>
#include <type_traits>

#include "config/yaml_support.h"
#include "util/text.h"

namespace tpark::control {

namespace {

constexpr double kMaxInt31 = 2147483647.0;

KeySpec int_key(std::string name, double min, double max, Json def, KeyDomain domain,
                bool restart = false, bool live = true) {
  KeySpec k;
  k.name = std::move(name);
  k.type = KeyType::Int;
  k.min = min;
  k.max = max;
  k.default_value = std::move(def);
  k.domain = domain;
  k.restart = restart;
  k.live = live;
  return k;
}

KeySpec typed_key(std::string name, KeyType type, double min, double max, Json def,
                  KeyDomain domain, bool restart = false, bool live = true) {
  KeySpec k = int_key(std::move(name), min, max, std::move(def), domain, restart, live);
  k.type = type;
  return k;
}

std::vector<KeySpec> build_registry() {
  using D = KeyDomain;
  std::vector<KeySpec> keys;
  keys.push_back(int_key("ARW_CONTEXT_K", 1, 256, 18, D::Context));
  keys.push_back(int_key("ARW_CONTEXT_EXPAND_PER_SEED", 0, 16, 3, D::Context));
  keys.push_back(typed_key("ARW_CONTEXT_DIVERSITY_LAMBDA", KeyType::Float, 0, 1, 0.72, D::Context));
  keys.push_back(typed_key("ARW_CONTEXT_MIN_SCORE", KeyType::Float, 0, 1, 0.1, D::Context));
  keys.push_back(typed_key("ARW_CONTEXT_LANE_BONUS", KeyType::Float, 0, 1, 0.05, D::Context));
  keys.push_back(typed_key("ARW_CONTEXT_LANES_DEFAULT", KeyType::Lanes, 1, 8,
                           "semantic,procedural,episodic,story_thread", D::Context));
  keys.push_back(typed_key("ARW_CONTEXT_LANE_PRIORITIES", KeyType::FloatMap, -1, 1, nullptr,
                           D::Context));
  keys.push_back(typed_key("ARW_CONTEXT_SLOT_BUDGETS", KeyType::IntMap, 0, 256, nullptr,
                           D::Context));
  keys.push_back(typed_key("ARW_CONTEXT_EXPAND_QUERY", KeyType::Bool, 0, 1, false, D::Context));
  keys.push_back(typed_key("ARW_CONTEXT_STREAM_DEFAULT", KeyType::Bool, 0, 1, false, D::Context));
  keys.push_back(int_key("ARW_CONTEXT_EXPAND_QUERY_TOP_K", 1, 32, 4, D::Context));
  keys.push_back(int_key("ARW_CONTEXT_COVERAGE_MAX_ITERS", 1, 6, 2, D::Context));
  KeySpec scorer = typed_key("ARW_CONTEXT_SCORER", KeyType::Enum, 0, 0, "mmrd", D::Context);
  scorer.choices = {"mmrd", "confidence"};
  keys.push_back(scorer);
  keys.push_back(int_key("ARW_CONTEXT_WORLD_MAX", 1, 65536, nullptr, D::Context));
  keys.push_back(int_key("ARW_CONTEXT_FETCH_MAX", 1, 65536, nullptr, D::Context));
  const std::pair<const char*, int64_t> cascade[] = {
      {"INTERVAL_SECS", 300},       {"EVENT_LIMIT", 2048},   {"EPISODE_LIMIT", 64},
      {"EPISODE_EVENT_LIMIT", 512}, {"COOLDOWN_SECS", 45},   {"MIN_EVENTS", 3},
      {"TTL_SECS", 2592000}};
  for (const auto& [suffix, def] : cascade)
    keys.push_back(
        int_key(std::string("ARW_CONTEXT_CASCADE_") + suffix, 0, kMaxInt31, def, D::Context));
  keys.push_back(int_key("ARW_REHYDRATE_FILE_HEAD_KB", 1, 4096, 64, D::Context));

  keys.push_back(int_key("ARW_HTTP_MAX_CONC", 1, 65536, 1024, D::Perf, true));
  keys.push_back(int_key("ARW_WORKERS_MAX", 1, 256, nullptr, D::Perf, true, false));
  keys.push_back(int_key("ARW_ACTIONS_QUEUE_MAX", 0, 1000000, 1024, D::Perf));
  keys.push_back(int_key("ARW_ROUTE_STATS_COALESCE_MS", 0, 600000, 250, D::Perf));
  keys.push_back(int_key("ARW_ROUTE_STATS_PUBLISH_MS", 0, 600000, 2000, D::Perf));
  keys.push_back(int_key("ARW_MODELS_METRICS_COALESCE_MS", 0, 600000, 250, D::Perf, false, false));
  keys.push_back(int_key("ARW_MODELS_METRICS_PUBLISH_MS", 0, 600000, 2000, D::Perf, false, false));
  keys.push_back(int_key("ARW_TOOLS_CACHE_TTL_SECS", 1, 86400, 600, D::Perf, true));
  keys.push_back(int_key("ARW_TOOLS_CACHE_CAP", 0, 1000000, 2048, D::Perf, true));
  keys.push_back(int_key("ARW_RUNTIME_WATCHER_COOLDOWN_MS", 0, 600000, nullptr, D::Perf, false,
                         false));
  keys.push_back(typed_key("ARW_OTEL", KeyType::Bool, 0, 1, false, D::Perf, true, false));
  keys.push_back(typed_key("ARW_OTEL_METRICS", KeyType::Bool, 0, 1, false, D::Perf, true, false));
  for (const char* name : {"ARW_PREFER_LOW_POWER", "ARW_LOW_POWER", "ARW_OCR_PREFER_LOW_POWER",
                           "ARW_OCR_LOW_POWER", "ARW_ACCESS_LOG", "ARW_ACCESS_UA",
                           "ARW_ACCESS_UA_HASH", "ARW_ACCESS_REF", "ARW_EVENTS_SSE_DECORATE"})
    keys.push_back(typed_key(name, KeyType::Bool, 0, 1, nullptr, D::Perf, true, false));
  keys.push_back(int_key("ARW_MEMORY_EMBED_BACKFILL_BATCH", 1, 4096, nullptr, D::Perf, true, false));
  keys.push_back(int_key("ARW_MEMORY_EMBED_BACKFILL_IDLE_SEC", 0, 86400, nullptr, D::Perf, true,
                         false));
  return keys;
}

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::vector<std::string> split_csv(std::string_view text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    size_t comma = text.find(',', start);
    out.emplace_back(trim(text.substr(start, comma == std::string_view::npos ? text.size() - start
                                                                           : comma - start)));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return out;
}

bool is_lane_name(std::string_view name) {
  if (name.empty() || name.size() > 32) return false;
  if (name[0] < 'a' || name[0] > 'z') return false;
  for (char c : name)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
  return true;
}

std::string quoted(const std::string& text) {
  return Json(text).dump(-1, ' ', false, Json::error_handler_t::replace);
}

std::string got_json(const Json& value) {
  if (value.is_string()) return quoted(value.get<std::string>());
  if (value.is_object()) return "a map";
  if (value.is_array()) return "a list";
  return value.dump();
}

std::string got_text(std::string_view text) { return quoted(std::string(text)); }

// A plain decimal (int64_t) or float (double, finite) with an optional '+'
// and surrounding spaces; nullopt for anything else.
template <typename Number>
std::optional<Number> parse_number_text(std::string_view text) {
  std::string t(trim(text));
  if (t.empty()) return std::nullopt;
  const char* b = t.data();
  if (*b == '+') ++b;
  Number v{};
  auto [ptr, ec] = std::from_chars(b, t.data() + t.size(), v);
  if (ec != std::errc() || ptr != t.data() + t.size()) return std::nullopt;
  if constexpr (std::is_floating_point_v<Number>)
    if (!std::isfinite(v)) return std::nullopt;
  return v;
}

KeyParse check_int(const KeySpec& key, int64_t v, const std::string& got) {
  if (static_cast<double>(v) < key.min || static_cast<double>(v) > key.max)
    return "expected " + describe_key_type(key) + ", got " + got;
  return Json(v);
}

KeyParse check_float(const KeySpec& key, double v, const std::string& got) {
  if (!std::isfinite(v) || v < key.min || v > key.max)
    return "expected " + describe_key_type(key) + ", got " + got;
  return Json(v);
}

KeyParse check_lanes(const KeySpec& key, const std::vector<std::string>& lanes,
                     const std::string& got) {
  std::set<std::string> seen;
  for (const auto& lane : lanes)
    if (!is_lane_name(lane) || !seen.insert(lane).second)
      return "expected " + describe_key_type(key) + ", got " + got;
  if (lanes.empty() || lanes.size() > 8)
    return "expected " + describe_key_type(key) + ", got " + got;
  std::string joined;
  for (const auto& lane : lanes) joined += (joined.empty() ? "" : ",") + lane;
  return Json(joined);
}

// Map entries already split into (name, typed number); validates and sorts.
KeyParse check_map(const KeySpec& key, const std::vector<std::pair<std::string, Json>>& entries,
                   const std::string& got) {
  std::map<std::string, Json> sorted;
  const std::string fail = "expected " + describe_key_type(key) + ", got " + got;
  for (const auto& [name, value] : entries) {
    bool name_ok = is_lane_name(name) || (key.type == KeyType::IntMap && name == "*");
    if (!name_ok || !value.is_number() || sorted.count(name)) return fail;
    double v = value.get<double>();
    if (!std::isfinite(v) || v < key.min || v > key.max) return fail;
    if (key.type == KeyType::IntMap) {
      if (std::floor(v) != v) return fail;
      sorted[name] = static_cast<int64_t>(v);
    } else {
      sorted[name] = v;
    }
  }
  Json out = Json::object();
  for (auto& [name, value] : sorted) out[name] = value;
  return out;
}

KeyParse parse_map_text(const KeySpec& key, std::string_view text) {
  std::string t(trim(text));
  std::vector<std::pair<std::string, Json>> entries;
  if (!t.empty() && t[0] == '{') {
    Json parsed = Json::parse(t, nullptr, false);
    if (!parsed.is_object()) return "expected " + describe_key_type(key) + ", got " + got_text(t);
    return parse_key_json(key, parsed);
  }
  if (t.empty()) return "expected " + describe_key_type(key) + ", got " + got_text(t);
  for (const auto& part : split_csv(t)) {
    size_t eq = part.find('=');
    if (eq == std::string::npos) return "expected " + describe_key_type(key) + ", got " + got_text(t);
    std::string name(trim(std::string_view(part).substr(0, eq)));
    std::string_view number = std::string_view(part).substr(eq + 1);
    std::optional<double> v = parse_number_text<double>(number);
    if (!v) return "expected " + describe_key_type(key) + ", got " + got_text(t);
    entries.emplace_back(name, Json(*v));
  }
  return check_map(key, entries, got_text(t));
}

}  // namespace

const std::vector<KeySpec>& key_registry() {
  static const std::vector<KeySpec> keys = build_registry();
  return keys;
}

const KeySpec* find_key(std::string_view name) {
  for (const auto& key : key_registry())
    if (key.name == name) return &key;
  return nullptr;
}

std::string describe_key_type(const KeySpec& key) {
  switch (key.type) {
    case KeyType::Int:
      return "int in [" + format_number(key.min) + "," + format_number(key.max) + "]";
    case KeyType::Float:
      return "float in [" + format_number(key.min) + "," + format_number(key.max) + "]";
    case KeyType::Bool:
      return "bool";
    case KeyType::Enum: {
      std::string out = "one of ";
      for (size_t i = 0; i < key.choices.size(); ++i) out += (i ? ", " : "") + key.choices[i];
      return out;
    }
    case KeyType::Lanes:
      return "a CSV of 1..8 unique lanes [a-z][a-z0-9_]{0,31}";
    case KeyType::FloatMap:
      return "a map lane->float in [" + format_number(key.min) + "," + format_number(key.max) + "]";
    case KeyType::IntMap:
      return "a map slot->int in [" + format_number(key.min) + "," + format_number(key.max) + "]";
  }
  return "value";
}

KeyParse parse_key_json(const KeySpec& key, const Json& value) {
  const std::string got = got_json(value);
  const std::string fail = "expected " + describe_key_type(key) + ", got " + got;
  switch (key.type) {
    case KeyType::Int: {
      if (!value.is_number()) return fail;
      if (value.is_number_integer()) return check_int(key, value.get<int64_t>(), got);
      double d = value.get<double>();
      if (!std::isfinite(d) || std::floor(d) != d || std::fabs(d) > 9.0e15) return fail;
      return check_int(key, static_cast<int64_t>(d), got);
    }
    case KeyType::Float:
      if (!value.is_number()) return fail;
      return check_float(key, value.get<double>(), got);
    case KeyType::Bool:
      if (value.is_boolean()) return value;
      if (value.is_number() && (value.get<double>() == 0 || value.get<double>() == 1))
        return Json(value.get<double>() == 1);
      return fail;
    case KeyType::Enum:
      if (value.is_string())
        for (const auto& choice : key.choices)
          if (choice == value.get<std::string>()) return value;
      return fail;
    case KeyType::Lanes: {
      if (value.is_string()) return check_lanes(key, split_csv(value.get<std::string>()), got);
      if (!value.is_array()) return fail;
      std::vector<std::string> lanes;
      for (const auto& lane : value) {
        if (!lane.is_string()) return fail;
        lanes.push_back(lane.get<std::string>());
      }
      return check_lanes(key, lanes, got);
    }
    case KeyType::FloatMap:
    case KeyType::IntMap: {
      if (value.is_string()) return parse_map_text(key, value.get<std::string>());
      if (!value.is_object()) return fail;
      std::vector<std::pair<std::string, Json>> entries;
      for (auto it = value.begin(); it != value.end(); ++it) entries.emplace_back(it.key(), it.value());
      return check_map(key, entries, got);
    }
  }
  return fail;
}

KeyParse parse_key_text(const KeySpec& key, std::string_view text) {
  const std::string got = got_text(text);
  const std::string fail = "expected " + describe_key_type(key) + ", got " + got;
  switch (key.type) {
    case KeyType::Int: {
      auto v = parse_number_text<int64_t>(text);
      if (!v) return fail;
      return check_int(key, *v, got);
    }
    case KeyType::Float: {
      auto v = parse_number_text<double>(text);
      if (!v) return fail;
      return check_float(key, *v, got);
    }
    case KeyType::Bool: {
      std::string t = lower(trim(text));
      if (t == "1" || t == "true" || t == "yes" || t == "on") return Json(true);
      if (t == "0" || t == "false" || t == "no" || t == "off") return Json(false);
      return fail;
    }
    case KeyType::Enum:
      return parse_key_json(key, Json(std::string(trim(text))));
    case KeyType::Lanes:
      return check_lanes(key, split_csv(text), got);
    case KeyType::FloatMap:
    case KeyType::IntMap:
      return parse_map_text(key, text);
  }
  return fail;
}

std::string canonical_text(const KeySpec& key, const Json& value) {
  if (value.is_null()) return "";
  switch (key.type) {
    case KeyType::Bool:
      return value.get<bool>() ? "1" : "0";
    case KeyType::Enum:
    case KeyType::Lanes:
      return value.get<std::string>();
    case KeyType::FloatMap:
    case KeyType::IntMap: {
      // nlohmann's sorted json sorts keys; floats print shortest round-trip.
      nlohmann::json sorted = nlohmann::json::parse(value.dump());
      return sorted.dump();
    }
    case KeyType::Int:
    case KeyType::Float:
      return value.dump();
  }
  return value.dump();
}

bool config_values_equal(const Json& a, const Json& b) {
  if (a.is_number() && b.is_number()) return std::fabs(a.get<double>() - b.get<double>()) <= 1e-9;
  if (a.is_object() && b.is_object()) {
    if (a.size() != b.size()) return false;
    for (auto it = a.begin(); it != a.end(); ++it) {
      auto other = b.find(it.key());
      if (other == b.end() || !config_values_equal(it.value(), *other)) return false;
    }
    return true;
  }
  return a == b;
}

}  // namespace tpark::control
