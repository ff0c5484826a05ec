#include "worker_host_api.h"

#include <chrono>
#include <cstdlib>

#include <spdlog/spdlog.h>

namespace tpark::worker {
namespace {

std::string_view view(tp_str text) {
  return text.ptr != nullptr ? std::string_view(text.ptr, text.len) : std::string_view();
}

tp_status log_line(tp_host*, int32_t level, tp_str message) {
  if (level < TP_LOG_TRACE || level > TP_LOG_ERROR) return TP_INVALID_ARG;
  static constexpr spdlog::level::level_enum kLevels[] = {spdlog::level::trace,
                                                          spdlog::level::debug, spdlog::level::info,
                                                          spdlog::level::warn, spdlog::level::err};
  spdlog::log(kLevels[level], "tp.orchestrator.local: {}", view(message));
  return TP_OK;
}
tp_status metric_register(tp_host*, const tp_metric_desc*, uint64_t* out_handle) {
  if (out_handle != nullptr) *out_handle = 1;
  return TP_OK;
}
tp_status metric_value(tp_host*, uint64_t, const tp_str*, size_t, double) {
  return TP_OK;
}
tp_status metric_remove(tp_host*, uint64_t, const tp_str*, size_t) {
  return TP_OK;
}
tp_status config_get(tp_host*, const tp_writer* out) {
  if (out == nullptr || out->write == nullptr) return TP_INVALID_ARG;
  return out->write(out->writer_ctx, tp_str{"{}", 2});
}
tp_status state_read(tp_host*, tp_str, const tp_writer*) {
  return TP_NOT_FOUND;
}
int64_t now_ms(tp_host*) {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}
int64_t monotonic_ns(tp_host*) {
  using namespace std::chrono;
  return duration_cast<nanoseconds>(steady_clock::now().time_since_epoch()).count();
}
tp_status timer_start(tp_host*, const tp_timer_desc*, uint64_t*) {
  return TP_UNSUPPORTED;
}
tp_status timer_cancel(tp_host*, uint64_t) {
  return TP_NOT_FOUND;
}
tp_status wake_at(tp_host*, int64_t) {
  return TP_UNSUPPORTED;
}
tp_status emit(tp_host*, tp_str, tp_str, int64_t*) {
  return TP_UNSUPPORTED;
}
void* alloc(tp_host*, size_t size) {
  return std::malloc(size == 0 ? 1 : size);
}
void free_buf(tp_host*, void* ptr) {
  std::free(ptr);
}
tp_status ingest_lines(tp_host*, const tp_ingest_line*, size_t, uint64_t*) {
  return TP_UNSUPPORTED;
}

}  // namespace

WorkerHost::WorkerHost(ReportFn report) : report_(std::move(report)) {
  api_.struct_size = sizeof api_;
  api_.abi_minor = TP_ABI_MINOR;
  api_.log = &log_line;
  api_.metric_register = &metric_register;
  api_.metric_add = &metric_value;
  api_.metric_set = &metric_value;
  api_.metric_observe = &metric_value;
  api_.metric_remove = &metric_remove;
  api_.config_get = &config_get;
  api_.state_read = &state_read;
  api_.now_ms = &now_ms;
  api_.monotonic_ns = &monotonic_ns;
  api_.timer_start = &timer_start;
  api_.timer_cancel = &timer_cancel;
  api_.wake_at = &wake_at;
  api_.emit = &emit;
  api_.alloc = &alloc;
  api_.free_buf = &free_buf;
  api_.journal_read = &WorkerHost::journal_read;
  api_.job_report = &WorkerHost::job_report;
  api_.ingest_lines = &ingest_lines;
}

void WorkerHost::set_window(std::vector<JournalRow> rows) {
  std::lock_guard lock(mutex_);
  rows_ = std::move(rows);
  remote_ = nullptr;
  remote_read_failed_ = false;
}

void WorkerHost::set_remote_journal(HostJournal* journal, int64_t until_id) {
  std::lock_guard lock(mutex_);
  rows_.clear();
  remote_ = journal;
  remote_until_id_ = until_id;
  remote_read_failed_ = false;
}

bool WorkerHost::remote_read_failed() {
  std::lock_guard lock(mutex_);
  return remote_read_failed_;
}

// As the host's slot: rows with id > after_id whose kind starts with the
// prefix, ascending, at most `limit` (0 = 1000), one envelope per line; of
// the job's window only (ids up to its until_id), which is all the
// computation reads.
tp_status WorkerHost::journal_read(tp_host* host, int64_t after_id, tp_str kind_prefix,
                                   uint64_t limit, const tp_writer* out) {
  if (host == nullptr || after_id < 0 || out == nullptr || out->write == nullptr)
    return TP_INVALID_ARG;
  WorkerHost* worker = self(host);
  const std::string_view prefix = view(kind_prefix);
  const uint64_t page = limit == 0 ? 1000 : limit;
  std::string text;
  uint64_t lines = 0;
  {
    std::lock_guard lock(worker->mutex_);
    if (worker->remote_ != nullptr) {
      std::string error;
      HostJournal* remote = worker->remote_;
      std::optional<std::string> page_text = worker->remote_rows_.read(
          after_id, prefix, page, worker->remote_until_id_,
          [&](int64_t after, const std::vector<std::string>& prefixes, uint64_t limit) {
            return remote->read(after, prefixes, limit, error);
          });
      if (!page_text) {
        spdlog::warn("{}", error);
        worker->remote_read_failed_ = true;
        return TP_UNAVAILABLE;
      }
      text = std::move(*page_text);
    }
    for (const auto& row : worker->rows_) {
      if (row.id <= after_id || row.kind.compare(0, prefix.size(), prefix) != 0) continue;
      text += row.envelope;
      text += '\n';
      if (++lines == page) break;
    }
  }
  return out->write(out->writer_ctx, tp_str{text.data(), text.size()});
}

tp_status WorkerHost::job_report(tp_host* host, tp_str job_id, uint32_t kind, tp_str json) {
  if (host == nullptr) return TP_INVALID_ARG;
  try {
    return self(host)->report_(view(job_id), kind, view(json));
  } catch (const std::exception& e) {
    spdlog::error("job report failed: {}", e.what());
    return TP_INTERNAL;
  }
}

}  // namespace tpark::worker
