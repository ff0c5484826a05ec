#include "plugins/applier_runtime.h"

#include <vector>

#include <spdlog/spdlog.h>

#include "plugins/host_api.h"
#include "plugins/plugin_call.h"
#include "plugins/plugin_manager.h"

namespace tpark {
namespace {

tp_status append_output(void* writer_ctx, tp_str bytes) {
  auto* out = static_cast<std::string*>(writer_ctx);
  if (bytes.len > 0) out->append(bytes.ptr, bytes.len);
  return TP_OK;
}

}  // namespace

ApplierInstance::ApplierInstance(ApplierSpec spec, std::shared_ptr<const HostServices> services)
    : spec_(std::move(spec)), services_(std::move(services)), host_(std::make_unique<tp_host>()) {
  host_->plugin_id = spec_.plugin_id;
  host_->services = services_;
  host_->config_json = spec_.config_json;
  host_->post = [](std::function<void()>&) { return false; };
}

ApplierInstance::~ApplierInstance() = default;

std::optional<std::string> ApplierInstance::start() {
  if (auto failure =
          create_and_start(spec_.desc, host_api_table(), *host_, spec_.config_json, ctx_))
    return failure;
  created_ = true;
  return std::nullopt;
}

ApplierResult ApplierInstance::call(Call which, const std::string& document_json,
                                    const std::string& input_json) {
  std::lock_guard lock(mutex_);
  ApplierResult result;
  if (!created_ || stopping_) {
    result.status = TP_UNAVAILABLE;
    result.error = "the applier is not running";
    return result;
  }
  tp_writer writer{};
  writer.struct_size = sizeof writer;
  writer.writer_ctx = &result.output;
  writer.write = &append_output;
  tp_error err = make_error();
  std::string detail;
  const tp_str document = as_tp_str(document_json), input = as_tp_str(input_json);
  result.status = call_guarded(
      [&] {
        switch (which) {
          case Call::DryRun:
            return spec_.desc.dry_run(ctx_, document, input, &writer, &err);
          case Call::Apply:
            return spec_.desc.apply(ctx_, document, input, &writer, &err);
          case Call::Revert:
            return spec_.desc.revert(ctx_, document, input, &writer, &err);
        }
        return TP_INTERNAL;
      },
      detail);
  if (result.status != TP_OK) {
    result.error = detail.empty() ? error_text(err) : detail;
    // A refusal of bad input is an answer, not a plugin fault.
    if (result.status != TP_INVALID_ARG && result.status != TP_NOT_FOUND) {
      ++error_count_;
      last_error_ = result.error;
    }
  }
  return result;
}

bool ApplierInstance::shutdown(std::chrono::milliseconds stop_timeout) {
  {
    std::lock_guard lock(mutex_);
    if (!created_) return true;
    stopping_ = true;
  }
  const auto deadline = std::chrono::steady_clock::now() + stop_timeout;
  auto self = shared_from_this();
  auto stopped = call_stop_until(
      deadline, [self](tp_error* err) { return self->spec_.desc.stop(self->ctx_, err); });
  host_->revoked = true;
  if (!stopped) {
    spdlog::error("plugin {} did not stop within {} ms; abandoned", spec_.plugin_id,
                  stop_timeout.count());
    static auto* abandoned = new std::vector<std::shared_ptr<ApplierInstance>>();
    abandoned->push_back(self);
    return false;
  }
  std::lock_guard lock(mutex_);
  std::string detail;
  call_guarded([&] { return spec_.desc.destroy(ctx_); }, detail);
  created_ = false;
  ctx_ = nullptr;
  return true;
}

PluginHealth ApplierInstance::health() const {
  std::lock_guard lock(mutex_);
  PluginHealth health;
  health.ok = created_ && !last_error_;
  health.error_count = error_count_;
  health.last_error = last_error_;
  return health;
}

}  // namespace tpark
