// tp.exporter.jsonl: appends what the host exports (read-model patches and/or
// telemetry snapshots, picked by `what`) to <dir>/<YYYY-MM-DD>/context.log,
// one JSON document per line, exactly as the host produced it (patch frames
// {id, instance_id, version, base_version, patch}; snapshot bodies). Every
// batch is written (and fdatasync'ed unless fsync: false) before it is
// acknowledged; a failed write answers RETRY and the host delivers the same
// batch again after its backoff, so a line is never lost or reordered.
#include <cstdio>
#include <fstream>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>
#include <tpark/tp_plugin.hpp>

#include "daily_log.h"

namespace {

using tpark::jsonl::DailyLog;
using tpark::jsonl::DailyLogOptions;

struct Settings {
  DailyLogOptions log;
  bool snapshots = false;
  bool patches = false;
  std::string test_clock_file;
};

// The block has been validated against plugin.yaml (defaults filled in).
Settings read_settings(std::string_view config_json) {
  const auto config = nlohmann::json::parse(config_json);
  Settings s;
  // `dir` is required: the host refuses a block without it before create.
  // Only a runner that creates with the defaults alone gets here without it.
  s.log.dir = config.value("dir", std::string());
  s.log.max_file_bytes = config.at("max_file_bytes").get<uint64_t>();
  s.log.retention_days = config.at("retention_days").get<int>();
  s.log.fsync = config.at("fsync").get<bool>();
  for (const auto& word : config.at("what")) {
    s.snapshots = s.snapshots || word == "snapshots";
    s.patches = s.patches || word == "patches";
  }
  if (config.contains("test_clock_file"))
    s.test_clock_file = config["test_clock_file"].get<std::string>();
  return s;
}

class JsonlExporter final : public tpark::Exporter {
 public:
  JsonlExporter(tpark::HostRef host, std::string_view config_json)
      : Exporter(host), settings_(read_settings(config_json)), log_(settings_.log) {}

  tpark::ExportResult export_batch(const std::vector<tpark::ExportItem>& items, uint32_t) override {
    std::string lines;
    for (const auto& item : items) {
      const bool keep = (item.type == TP_EXPORT_PATCH && settings_.patches) ||
                        (item.type == TP_EXPORT_SNAPSHOT && settings_.snapshots);
      if (!keep) continue;
      if (item.body.find('\n') == std::string_view::npos) {
        lines.append(item.body);
      } else {
        lines += nlohmann::json::parse(item.body).dump();  // one document, one line
      }
      lines += '\n';
    }
    if (lines.empty()) return tpark::ExportResult::Ok;
    if (settings_.log.dir.empty()) throw tpark::Error(TP_RETRY, "config.dir is not set");
    if (auto error = log_.append(now_ms(), lines); !error.empty())
      throw tpark::Error(TP_RETRY, error);
    return tpark::ExportResult::Ok;
  }

 private:
  // The host's wall clock, or (tests only) the time in test_clock_file.
  int64_t now_ms() const {
    if (!settings_.test_clock_file.empty()) {
      std::ifstream in(settings_.test_clock_file);
      int64_t ms = 0;
      if (in >> ms) return ms;
    }
    return host().now_ms();
  }

  Settings settings_;
  DailyLog log_;
};

}  // namespace

// Patches as they are published; snapshots every 10 s (when `what` has them).
TP_EXPORTER_PLUGIN(JsonlExporter, "jsonl", TP_EXPORT_WANTS_SNAPSHOTS | TP_EXPORT_WANTS_PATCHES,
                   10000)
