// The host API a worker gives tp.orchestrator.local: the same table layout
// as the host's, serving one job at a time. journal_read answers from the
// rows the job message carried (the host read them from its journal, so the
// computation sees the same rows as under local dispatch), or, for a message
// that carries only the window's bounds, from the host's journal over HTTP
// (HostJournal), through the rows earlier jobs read (WindowCache); job_report hands reports to the
// job loop. Slots the computation does not use answer TP_UNSUPPORTED (timers, emit, ingest) or do
// nothing (metrics).
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include <tpark/tp_plugin.h>

#include "host_journal.h"

namespace tpark::worker {

class WorkerHost {
 public:
  using ReportFn =
      std::function<tp_status(std::string_view job_id, uint32_t kind, std::string_view json)>;
  explicit WorkerHost(ReportFn report);

  // The table and the opaque handle to pass to the plugin's create.
  const tp_host_api* api() const { return &api_; }
  tp_host* handle() { return reinterpret_cast<tp_host*>(this); }

  // The rows of the job about to run, ascending by id.
  void set_window(std::vector<JournalRow> rows);
  // The job about to run, whose window ends at `until_id`, reads the host's
  // journal itself (null: no job does). Clears the previous job's rows and
  // its read failure; the rows read for earlier jobs are kept.
  void set_remote_journal(HostJournal* journal, int64_t until_id);
  // Whether a read of the host's journal failed since the job started (the
  // plugin then fails the job; the worker naks it for a later delivery).
  bool remote_read_failed();

 private:
  static WorkerHost* self(tp_host* host) { return reinterpret_cast<WorkerHost*>(host); }
  static tp_status journal_read(tp_host* host, int64_t after_id, tp_str kind_prefix, uint64_t limit,
                                const tp_writer* out);
  static tp_status job_report(tp_host* host, tp_str job_id, uint32_t kind, tp_str json);

  tp_host_api api_{};
  ReportFn report_;
  std::mutex mutex_;
  std::vector<JournalRow> rows_;
  HostJournal* remote_ = nullptr;
  int64_t remote_until_id_ = 0;
  WindowCache remote_rows_;
  bool remote_read_failed_ = false;
};

}  // namespace tpark::worker
