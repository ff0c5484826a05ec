// example.exporter.jsonl: an exporter in C++ with the SDK's wrapper
// (tp_plugin.hpp). It appends one JSON line per exported item to the file
// named by its config `path`:
//   {"type":"snapshot"|"patch"|"metrics","time_ms":N,"body":<JSON, or a string for metrics>}
// `what` (snapshots, patches, metrics) picks the item types it keeps.
//
// The host calls export_batch on this instance's own worker thread, one batch
// at a time, so the file needs no lock. A failed write answers Retry: the
// host keeps the batch and delivers it again after a backoff.
#include <cstdio>
#include <set>
#include <string>
#include <string_view>

#include <tpark/tp_plugin.hpp>

namespace {

// The values of a JSON string array in the config block (the host has
// validated it against plugin.yaml: a list of strings without escapes).
std::set<std::string> read_string_list(std::string_view config, std::string_view key) {
  std::set<std::string> out;
  const std::string needle = "\"" + std::string(key) + "\":[";
  size_t at = config.find(needle);
  if (at == std::string_view::npos) return out;
  at += needle.size();
  const size_t end = config.find(']', at);
  while (at < end) {
    const size_t open = config.find('"', at);
    if (open == std::string_view::npos || open > end) break;
    const size_t close = config.find('"', open + 1);
    out.emplace(config.substr(open + 1, close - open - 1));
    at = close + 1;
  }
  return out;
}

std::string read_string(std::string_view config, std::string_view key, std::string fallback) {
  const std::string needle = "\"" + std::string(key) + "\":\"";
  const size_t at = config.find(needle);
  if (at == std::string_view::npos) return fallback;
  const size_t start = at + needle.size();
  return std::string(config.substr(start, config.find('"', start) - start));
}

std::string json_string(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char escaped[8];
          std::snprintf(escaped, sizeof escaped, "\\u%04x", c);
          out += escaped;
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

// An item type: its name in the output and its word in the config's `what`.
struct Kind {
  uint32_t item_type;
  const char* type;
  const char* config_word;
};
constexpr Kind kKinds[] = {{TP_EXPORT_SNAPSHOT, "snapshot", "snapshots"},
                           {TP_EXPORT_PATCH, "patch", "patches"},
                           {TP_EXPORT_METRICS, "metrics", "metrics"}};
const Kind* kind_of(uint32_t item_type) {
  for (const Kind& kind : kKinds)
    if (kind.item_type == item_type) return &kind;
  return nullptr;
}

class JsonlExporter final : public tpark::Exporter {
 public:
  JsonlExporter(tpark::HostRef host, std::string_view config_json)
      : Exporter(host),
        path_(read_string(config_json, "path", "tpark-export.jsonl")),
        what_(read_string_list(config_json, "what")) {}
  ~JsonlExporter() override { close(); }

  void start() override {
    if (!open()) throw tpark::Error(TP_UNAVAILABLE, "cannot open " + path_ + " for appending");
  }
  void stop() override { close(); }

  tpark::ExportResult export_batch(const std::vector<tpark::ExportItem>& items, uint32_t) override {
    if (file_ == nullptr && !open()) return tpark::ExportResult::Retry;
    std::string lines;
    for (const auto& item : items) {
      const Kind* kind = kind_of(item.type);
      if (kind == nullptr || what_.count(kind->config_word) == 0) continue;
      lines += "{\"type\":\"" + std::string(kind->type) + "\",\"time_ms\":" +
               std::to_string(item.time_ms) + ",\"body\":" +
               (item.type == TP_EXPORT_METRICS ? json_string(item.body) : std::string(item.body)) +
               "}\n";
    }
    if (lines.empty()) return tpark::ExportResult::Ok;
    if (std::fwrite(lines.data(), 1, lines.size(), file_) != lines.size() || std::fflush(file_) != 0) {
      close();  // reopened on the retry
      return tpark::ExportResult::Retry;
    }
    return tpark::ExportResult::Ok;
  }

 private:
  bool open() {
    file_ = std::fopen(path_.c_str(), "ab");
    return file_ != nullptr;
  }
  void close() {
    if (file_ != nullptr) std::fclose(file_);
    file_ = nullptr;
  }

  std::string path_;
  std::set<std::string> what_;
  std::FILE* file_ = nullptr;
};

}  // namespace

// Snapshots and metrics every second; patches as they are published.
TP_EXPORTER_PLUGIN(JsonlExporter, "example_jsonl",
                   TP_EXPORT_WANTS_SNAPSHOTS | TP_EXPORT_WANTS_PATCHES | TP_EXPORT_WANTS_METRICS,
                   1000)
