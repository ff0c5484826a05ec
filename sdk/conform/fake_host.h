// The conformance runner's fake host: the whole tp_host_api table, served
// from memory, with bookkeeping that turns a plugin's misuse into a failed
// check (host API calls after destroy, or from a plugin thread after stop;
// host buffers never freed). And the executor every plugin call runs on.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

#include <tpark/tp_plugin.h>

#include "conform_report.h"

namespace tpark::conform {

inline tp_str str(const std::string& s) { return tp_str{s.data(), s.size()}; }

// What one call into the plugin did.
struct CallResult {
  bool completed = false;  // returned before the deadline
  bool exception = false;  // a C++ exception escaped the C boundary (rule 8)
  std::string exception_text;
  tp_status status = TP_INTERNAL;
  std::string message;     // tp_error.message, when the call had one
  int rule_if_stuck = 12;  // the rule a call that never returns breaks
};

// One thread that runs every plugin callback, one at a time (the instance
// executor of the threading contract), with a deadline per call.
class Executor {
 public:
  Executor();
  ~Executor();  // joins; only reached when no call is stuck
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;

  CallResult call(std::chrono::milliseconds deadline, int rule_if_stuck,
                  std::function<tp_status()> body);
  std::thread::id thread_id() const { return thread_.get_id(); }

 private:
  void run();

  std::mutex mutex_;
  std::condition_variable changed_;
  std::function<tp_status()> job_;
  bool has_job_ = false;
  bool done_ = false;
  bool quit_ = false;
  CallResult result_;
  std::thread thread_;
};

// A journaled event as the host would hand it to on_event.
class SyntheticEvent {
 public:
  // payload: compact JSON ("{}" when absent); node: empty when absent.
  SyntheticEvent(std::string kind, bool replay, std::string payload = "{\"conform\":true}",
                 std::string node = "conform-node");
  const tp_event_view* view() const { return &view_; }
  const std::string& kind() const { return kind_; }

 private:
  std::string kind_, time_, payload_, source_, node_;
  tp_event_view view_{};
};

class FakeHost {
 public:
  enum class Phase { Negotiating, Created, Running, Stopping, Stopped, Destroyed };

  explicit FakeHost(Report& report);
  ~FakeHost();

  const tp_host_api* api() const { return &api_; }
  tp_host* handle();
  void set_config(std::string config_json);
  void enter(Phase phase);
  void set_executor_thread(std::thread::id id) { executor_thread_ = id; }
  // A writer appending to *out, for render and the like.
  tp_writer writer_into(std::string* out) const;
  // Runs every live timer's callback once on the executor; one-shots are
  // then released (free_fn), as the host would after they fire.
  void fire_timers(Executor& executor, std::chrono::milliseconds deadline);
  // After destroy: every timer released, every host buffer freed (rule 10).
  void check_balances();

  // The table's slots land here.
  void check_call(const char* slot);
  tp_status metric_register(const tp_metric_desc* desc, uint64_t* out_handle);
  tp_status metric_use(uint64_t handle, size_t label_count, uint32_t need_type, double value,
                       bool need_non_negative);
  tp_status config_get(const tp_writer* out);
  tp_status state_read(tp_str name, const tp_writer* out);
  tp_status timer_start(const tp_timer_desc* desc, uint64_t* out_timer_id);
  tp_status timer_cancel(uint64_t timer_id);
  tp_status emit(tp_str kind, tp_str payload, int64_t* out_id);
  void* alloc(size_t size);
  void free_buf(void* ptr);
  // ABI 1.2: a small synthetic journal, and the job reports an orchestrator sends.
  tp_status journal_read(int64_t after_id, tp_str kind_prefix, uint64_t limit, const tp_writer* out);
  tp_status job_report(tp_str job_id, uint32_t kind, tp_str json);
  // ABI 1.2 sources: every body must be a JSON object unless the source
  // rejected it itself; answers how many were (as the host would) journaled.
  tp_status ingest_lines(const tp_ingest_line* lines, size_t count, uint64_t* out_accepted);
  // Waits until `job_id` reported a result or a failure (or the deadline):
  // the terminal kind (TP_JOB_RESULT / TP_JOB_FAILED), or 0.
  uint32_t wait_job_end(const std::string& job_id, std::chrono::milliseconds deadline);
  // The progress stages `job_id` reported, in order.
  std::vector<int64_t> job_stages(const std::string& job_id);

 private:
  struct Metric {
    uint32_t type = 0;
    size_t label_count = 0;
  };
  struct Timer {
    tp_timer_desc desc{};
  };
  void release_timer(Timer& timer);

  Report& report_;
  tp_host_api api_{};
  std::mutex mutex_;
  std::atomic<Phase> phase_{Phase::Negotiating};
  std::thread::id executor_thread_;
  std::string config_json_ = "{}";
  std::map<uint64_t, Metric> metrics_;
  std::map<std::string, uint64_t> metric_names_;
  std::map<uint64_t, Timer> timers_;
  uint64_t next_handle_ = 1;
  int64_t next_event_id_ = 1;
  std::unordered_set<void*> buffers_;
  int late_calls_reported_ = 0;
  struct JobReports {
    std::vector<int64_t> stages;
    uint32_t end = 0;
  };
  std::map<std::string, JobReports> jobs_;
  std::condition_variable jobs_changed_;
};

}  // namespace tpark::conform
