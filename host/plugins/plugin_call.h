// Calling into a plugin from the host (sdk.md rules 7, 8): every call is
// guarded so an exception escaping a plugin costs an error count, not the
// process; errors and statuses become log and health text. Shared by the
// section and exporter runtimes; private to host/plugins.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstring>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include <tpark/tp_plugin.h>

namespace tpark {

// A C entry point must not let an exception escape (that is undefined
// behaviour); the host still guards every call, so a broken plugin costs an
// error count, not the process.
template <class Call>
tp_status call_guarded(Call&& call, std::string& detail) noexcept {
  try {
    const tp_status status = call();
    return status;
  } catch (const std::exception& e) {
    detail = std::string("exception escaped the plugin: ") + e.what();
  } catch (...) {
    detail = "exception escaped the plugin";
  }
  return TP_INTERNAL;
}

// on_event, reset and render have no tp_error: a plugin explains their
// failure in an error-level log line (tp_plugin.hpp's trampolines do). The
// host API's log slot hands such a line, written on the calling thread while
// call_explained runs, to it as the failure's detail (GET /admin/plugins
// shows it as last_error).
inline thread_local std::string* t_plugin_error_line = nullptr;

inline void note_plugin_error_line(std::string_view line) {
  if (t_plugin_error_line != nullptr) t_plugin_error_line->assign(line.data(), line.size());
}

// call_guarded for a callback without a tp_error. The trampolines prefix the
// line with the callback's name; the detail does not repeat it.
template <class Call>
tp_status call_explained(const char* callback, Call&& call, std::string& detail) noexcept {
  std::string logged;
  t_plugin_error_line = &logged;
  const tp_status status = call_guarded(std::forward<Call>(call), detail);
  t_plugin_error_line = nullptr;
  if (status != TP_OK && detail.empty()) {
    const std::string prefix = std::string(callback) + ": ";
    if (logged.compare(0, prefix.size(), prefix) == 0) logged.erase(0, prefix.size());
    detail = std::move(logged);
  }
  return status;
}

inline tp_error make_error() {
  tp_error err;
  std::memset(&err, 0, sizeof err);
  err.struct_size = sizeof err;
  return err;
}

inline std::string error_text(const tp_error& err) {
  return std::string(err.message, strnlen(err.message, sizeof err.message));
}

inline const char* status_text(tp_status status) {
  switch (status) {
    case TP_OK:
      return "TP_OK";
    case TP_RETRY:
      return "TP_RETRY";
    case TP_INVALID_ARG:
      return "TP_INVALID_ARG";
    case TP_UNSUPPORTED:
      return "TP_UNSUPPORTED";
    case TP_UNAVAILABLE:
      return "TP_UNAVAILABLE";
    case TP_INTERNAL:
      return "TP_INTERNAL";
    case TP_NOT_FOUND:
      return "TP_NOT_FOUND";
    case TP_NO_MEMORY:
      return "TP_NO_MEMORY";
    case TP_TOO_LARGE:
      return "TP_TOO_LARGE";
    default:
      return "TP_INTERNAL (unknown status)";
  }
}

// "create: <plugin's message>" or "create: TP_INTERNAL".
inline std::string failure_text(const char* callback, tp_status status, const std::string& detail) {
  return std::string(callback) + ": " + (detail.empty() ? status_text(status) : detail);
}

// A plugin instance's create then start, each guarded, for the kinds whose
// descriptor has create(api, host, config, &ctx, err), start(ctx, err) and
// destroy(ctx). On success `ctx` holds the started instance. On failure the
// host handle is revoked, an instance that was created is destroyed (ctx left
// null), and the reason ("create: ..." / "start: ...") is returned.
template <class Desc, class Host>
std::optional<std::string> create_and_start(const Desc& desc, const tp_host_api* api, Host& host,
                                            const std::string& config_json, void*& ctx) {
  tp_error err = make_error();
  std::string detail;
  void* created = nullptr;
  tp_status status = call_guarded(
      [&] {
        return desc.create(api, &host, tp_str{config_json.data(), config_json.size()}, &created,
                           &err);
      },
      detail);
  if (status != TP_OK) {
    host.revoked = true;
    if (detail.empty()) detail = error_text(err);
    return failure_text("create", status, detail);
  }
  err = make_error();
  status = call_guarded([&] { return desc.start(created, &err); }, detail);
  if (status != TP_OK) {
    if (detail.empty()) detail = error_text(err);
    std::string ignored;
    call_guarded([&] { return desc.destroy(created); }, ignored);
    host.revoked = true;
    return failure_text("start", status, detail);
  }
  ctx = created;
  return std::nullopt;
}

// A plugin's stop, called with a deadline: `stop(err)` runs guarded on a
// helper thread (stop may block). Returns the status and the plugin's
// detail, or nullopt when it did not return by `deadline`: the helper is then
// detached, abandoned with the instance, so `stop` must only capture what is
// leaked with it (a shared_ptr to the instance).
struct StopOutcome {
  tp_status status = TP_OK;
  std::string detail;
};
inline std::optional<StopOutcome> call_stop_until(std::chrono::steady_clock::time_point deadline,
                                                  std::function<tp_status(tp_error*)> stop) {
  struct Shared {
    std::mutex mutex;
    std::condition_variable cv;
    bool done = false;
    StopOutcome outcome;
  };
  auto shared = std::make_shared<Shared>();
  std::thread helper([shared, stop = std::move(stop)] {
    tp_error err = make_error();
    std::string detail;
    const tp_status status = call_guarded([&] { return stop(&err); }, detail);
    if (detail.empty()) detail = error_text(err);
    {
      std::lock_guard lock(shared->mutex);
      shared->done = true;
      shared->outcome = StopOutcome{status, std::move(detail)};
    }
    shared->cv.notify_all();
  });
  bool done = false;
  {
    std::unique_lock lock(shared->mutex);
    done = shared->cv.wait_until(lock, deadline, [&] { return shared->done; });
  }
  if (!done) {
    helper.detach();
    return std::nullopt;
  }
  helper.join();
  return shared->outcome;
}

inline tp_str as_tp_str(const std::string& text) { return tp_str{text.data(), text.size()}; }

}  // namespace tpark
