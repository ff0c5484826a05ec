#include "plugins/source_runtime.h"

#include <vector>

#include <spdlog/spdlog.h>

#include "kernel/ingest.h"
#include "plugins/host_api.h"
#include "plugins/plugin_call.h"
#include "plugins/plugin_manager.h"

namespace tpark {
namespace {

// Abandoned instances are kept alive (and their code mapped) forever.
void leak_forever(std::shared_ptr<SourceInstance> instance) {
  static auto* abandoned = new std::vector<std::shared_ptr<SourceInstance>>();
  abandoned->push_back(std::move(instance));
}

tp_status append_to_string(void* writer_ctx, tp_str bytes) {
  auto* out = static_cast<std::string*>(writer_ctx);
  if (bytes.len > 0) out->append(bytes.ptr, bytes.len);
  return TP_OK;
}

}  // namespace

SourceInstance::SourceInstance(SourceSpec spec, std::shared_ptr<const HostServices> services)
    : spec_(std::move(spec)), services_(std::move(services)), host_(std::make_unique<tp_host>()) {
  host_->plugin_id = spec_.plugin_id;
  host_->services = services_;
  host_->config_json = spec_.config_json;
  host_->event_source = spec_.desc.name;
  // Sources run their own threads: no executor, no timers.
  host_->post = [](std::function<void()>&) { return false; };
}

SourceInstance::~SourceInstance() = default;

std::optional<std::string> SourceInstance::start() {
  if (auto failure =
          create_and_start(spec_.desc, host_api_table(), *host_, spec_.config_json, ctx_))
    return failure;
  std::lock_guard lock(mutex_);
  running_ = true;
  return std::nullopt;
}

void SourceInstance::note_error(std::string text) {
  std::lock_guard lock(mutex_);
  ++error_count_;
  last_error_ = std::move(text);
}

SourceStatus SourceInstance::status() {
  SourceStatus answer;
  // Held across the call so that shutdown cannot stop the plugin under it;
  // status must not block (the header's contract).
  std::lock_guard lock(mutex_);
  if (!running_) {
    answer.why = "not running";
    return answer;
  }
  std::string text;
  tp_writer writer{};
  writer.struct_size = sizeof writer;
  writer.writer_ctx = &text;
  writer.write = &append_to_string;
  tp_error err = make_error();
  std::string detail;
  const tp_status status =
      call_guarded([&] { return spec_.desc.status(ctx_, &writer, &err); }, detail);
  if (auto canonical = canonicalize_json(text)) answer.json = std::move(*canonical);
  answer.up = status == TP_OK;
  if (!answer.up) {
    if (detail.empty()) detail = error_text(err);
    answer.why = detail.empty() ? std::string(status_text(status)) : detail;
  }
  return answer;
}

PluginHealth SourceInstance::health() {
  const SourceStatus now = status();
  std::lock_guard lock(mutex_);
  PluginHealth health;
  health.ok = now.up;
  health.error_count = error_count_;
  health.last_error = now.up ? last_error_ : now.why;
  return health;
}

bool SourceInstance::shutdown(std::chrono::milliseconds stop_timeout) {
  {
    std::lock_guard lock(mutex_);
    if (!running_) return true;
    running_ = false;
  }
  const auto deadline = std::chrono::steady_clock::now() + stop_timeout;
  auto self = shared_from_this();
  auto stopped = call_stop_until(
      deadline, [self](tp_error* err) { return self->spec_.desc.stop(self->ctx_, err); });
  if (!stopped) {
    spdlog::error("plugin {} did not stop within {} ms; abandoned", spec_.plugin_id,
                  stop_timeout.count());
    host_->revoked = true;
    note_error("did not stop within " + std::to_string(stop_timeout.count()) + " ms; abandoned");
    leak_forever(std::move(self));
    return false;
  }
  if (stopped->status != TP_OK) note_error(failure_text("stop", stopped->status, stopped->detail));
  // No ingest reaches the journal after stop returned (the header's promise).
  host_->revoked = true;
  std::string detail;
  const tp_status status = call_guarded([&] { return spec_.desc.destroy(ctx_); }, detail);
  if (status != TP_OK) note_error(failure_text("destroy", status, detail));
  ctx_ = nullptr;
  return true;
}

}  // namespace tpark
