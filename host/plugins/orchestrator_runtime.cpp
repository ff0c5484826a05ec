#include "plugins/orchestrator_runtime.h"

#include <vector>

#include <spdlog/spdlog.h>

#include "plugins/host_api.h"
#include "plugins/plugin_call.h"
#include "plugins/plugin_manager.h"

namespace tpark {
namespace {

// Abandoned instances are kept alive (and their code mapped) forever.
void leak_forever(std::shared_ptr<OrchestratorInstance> instance) {
  static auto* abandoned = new std::vector<std::shared_ptr<OrchestratorInstance>>();
  abandoned->push_back(std::move(instance));
}

}  // namespace

OrchestratorInstance::OrchestratorInstance(OrchestratorSpec spec,
                                           std::shared_ptr<const HostServices> services)
    : spec_(std::move(spec)), services_(std::move(services)), host_(std::make_unique<tp_host>()) {
  host_->plugin_id = spec_.plugin_id;
  host_->services = services_;
  host_->config_json = spec_.config_json;
  // Orchestrators have no executor: timers are not theirs to use.
  host_->post = [](std::function<void()>&) { return false; };
}

OrchestratorInstance::~OrchestratorInstance() = default;

std::optional<std::string> OrchestratorInstance::start() {
  if (auto failure =
          create_and_start(spec_.desc, host_api_table(), *host_, spec_.config_json, ctx_))
    return failure;
  created_ = true;
  return std::nullopt;
}

bool OrchestratorInstance::enter() {
  std::lock_guard lock(mutex_);
  if (stopping_ || !created_) return false;
  ++in_flight_;
  return true;
}

void OrchestratorInstance::leave() {
  {
    std::lock_guard lock(mutex_);
    --in_flight_;
  }
  cv_.notify_all();
}

void OrchestratorInstance::note_error(std::string text) {
  std::lock_guard lock(mutex_);
  ++error_count_;
  last_ok_ = false;
  last_error_ = std::move(text);
}

std::optional<std::string> OrchestratorInstance::start_job(const JobStart& job) {
  if (!enter()) return std::string("the orchestrator is stopping");
  tp_job_view view{};
  view.struct_size = sizeof view;
  view.attempt = job.attempt;
  view.job_id = as_tp_str(job.job_id);
  view.request_json = as_tp_str(job.request_json);
  view.since_id = job.since_id;
  view.until_id = job.until_id;
  tp_error err = make_error();
  std::string detail;
  const tp_status status =
      call_guarded([&] { return spec_.desc.start_job(ctx_, &view, &err); }, detail);
  leave();
  if (status == TP_OK) {
    std::lock_guard lock(mutex_);
    last_ok_ = true;
    return std::nullopt;
  }
  if (detail.empty()) detail = error_text(err);
  std::string failure = failure_text("start_job", status, detail);
  note_error(failure);
  return failure;
}

void OrchestratorInstance::cancel_job(const std::string& job_id) {
  if (!enter()) return;
  std::string detail;
  const tp_status status =
      call_guarded([&] { return spec_.desc.cancel_job(ctx_, as_tp_str(job_id)); }, detail);
  leave();
  if (status != TP_OK) note_error(failure_text("cancel_job", status, detail));
}

bool OrchestratorInstance::shutdown(std::chrono::milliseconds stop_timeout) {
  if (!created_) return true;
  const auto deadline = std::chrono::steady_clock::now() + stop_timeout;
  bool drained = false;
  {
    std::unique_lock lock(mutex_);
    stopping_ = true;
    drained = cv_.wait_until(lock, deadline, [&] { return in_flight_ == 0; });
  }
  auto abandon = [&] {
    spdlog::error("plugin {} did not stop within {} ms; abandoned", spec_.plugin_id,
                  stop_timeout.count());
    host_->revoked = true;
    note_error("did not stop within " + std::to_string(stop_timeout.count()) + " ms; abandoned");
    leak_forever(shared_from_this());
    return false;
  };
  if (!drained) return abandon();
  auto self = shared_from_this();
  auto stopped = call_stop_until(
      deadline, [self](tp_error* err) { return self->spec_.desc.stop(self->ctx_, err); });
  if (!stopped) return abandon();
  if (stopped->status != TP_OK) note_error(failure_text("stop", stopped->status, stopped->detail));
  // No report reaches the host after stop returned (the header's promise).
  host_->revoked = true;
  std::string detail;
  const tp_status status = call_guarded([&] { return spec_.desc.destroy(ctx_); }, detail);
  if (status != TP_OK) note_error(failure_text("destroy", status, detail));
  created_ = false;
  ctx_ = nullptr;
  return true;
}

PluginHealth OrchestratorInstance::health() const {
  std::lock_guard lock(mutex_);
  PluginHealth health;
  health.ok = created_ && last_ok_;
  health.error_count = error_count_;
  health.last_error = last_error_;
  return health;
}

}  // namespace tpark
