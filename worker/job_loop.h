// The worker loop of control.md 5.6 (docs/deploy.md "Training workers"):
// fetch one job from the work queue, run it with the orchestrator plugin,
// publish progress (each followed by in_progress, which renews the lease;
// every stage, or at most one per progress_min_ms when that is set, so a job
// of milliseconds sends none) and the result, and ack only after the result's
// PubAck.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>

#include <tpark/tp_plugin.h>

#include "host_journal.h"

namespace tpark::worker {

struct WorkerOptions {
  std::string nats_url = "nats://127.0.0.1:4222";  // ARW_NATS_URL (+ TLS, USER, PASS)
  std::string group = "workers";                   // ARW_GROUP: the durable consumer
  std::string worker_id;                           // --worker-id, ARW_WORKER_ID
  int64_t nack_delay_ms = 5000;                    // ARW_ORCH_NACK_DELAY_MS
  // A stage's progress is published only this long after the job started or
  // its last published progress (0: every stage). ARW_ORCH_PROGRESS_MIN_MS.
  int64_t progress_min_ms = 0;
  // Where jobs whose message carries only the window's bounds read the
  // journal (--base, ARW_BASE; ARW_ADMIN_TOKEN); unset: such jobs are naked.
  std::optional<HostAddress> host;
  std::string admin_token;
  // Test-only (control.md check 28): exit right after the result's PubAck,
  // before the ack, as a worker that dies there would.
  bool exit_after_result_publish = false;
};

// Runs until `stop` is set (SIGTERM): the job in hand is finished and acked
// (or naked) first. `orchestrator` is tp.orchestrator.local's descriptor,
// already negotiated. Returns the process exit code.
int run_worker(const WorkerOptions& options, const tp_orchestrator_desc& orchestrator,
               const std::atomic<bool>& stop);

}  // namespace tpark::worker
