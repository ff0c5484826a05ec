// tp_plugin.hpp -- the header-only C++17 wrapper over tp_plugin.h.
//
// It is compiled into the plugin, never into the host, so nothing of it
// crosses the boundary: the host still sees only the C ABI. What it gives a
// plugin author:
//
//   * tpark::HostRef    -- the host API table and the instance handle, with
//                          helpers taking std::string_view (log, metrics,
//                          config, host state, clocks, timers, wake-ups, emit);
//   * tpark::EventView  -- a tp_event_view as string_views;
//   * tpark::Section    -- a base class: override reset/on_event/render (and
//                          optionally start/stop/prime_rows);
//   * tpark::Exporter   -- (ABI 1.1) a base class: override export_batch;
//   * TP_EXPORTER_PLUGIN -- the same for one exporter descriptor;
//   * tpark::Orchestrator, TP_ORCHESTRATOR_PLUGIN -- (ABI 1.2) training jobs:
//                          override start_job/cancel_job;
//   * tpark::Applier, TP_APPLIER_PLUGIN -- (ABI 1.2) logic-unit patches:
//                          override dry_run/apply/revert;
//   * tpark::Source, TP_SOURCE_PLUGIN -- (ABI 1.2) event sources: override
//                          start/stop/status, hand lines to ingest_lines;
//   * TP_SECTION_PLUGIN -- defines tp_plugin_entry and a static section
//                          descriptor whose trampolines are noexcept, catch
//                          everything and turn exceptions into a tp_status
//                          (TP_INTERNAL unless a tpark::Error says otherwise)
//                          with the message in tp_error or the host log.
//
// A whole section plugin:
//
//   class HelloSection final : public tpark::Section {
//    public:
//     HelloSection(tpark::HostRef host, std::string_view config_json)
//         : Section(host) {}
//     void reset() override { count_ = 0; }
//     void on_event(const tpark::EventView& e) override { if (!e.replay()) ++count_; }
//     bool render(std::string& out) override {
//       out = "{\"count\":" + std::to_string(count_) + "}";
//       return true;
//     }
//    private:
//     uint64_t count_ = 0;
//   };
//   TP_SECTION_PLUGIN(HelloSection, "hello")
#ifndef TPARK_TP_PLUGIN_HPP
#define TPARK_TP_PLUGIN_HPP

#include <tpark/tp_plugin.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <functional>
#include <initializer_list>
#include <new>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tpark {

// ---------------------------------------------------------------------------
// Strings, errors and statuses
// ---------------------------------------------------------------------------

inline tp_str to_tp_str(std::string_view text) noexcept {
  return tp_str{text.data(), text.size()};
}

inline std::string_view to_view(tp_str text) noexcept {
  return text.ptr != nullptr ? std::string_view(text.ptr, text.len) : std::string_view();
}

// The spelling of a status code, for log lines and messages.
inline const char* status_name(tp_status status) noexcept {
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
      return "TP_UNKNOWN";
  }
}

// Throw this from plugin code to return a specific status (anything else that
// escapes becomes TP_INTERNAL). Also thrown by HostRef when a host call fails.
class Error : public std::runtime_error {
 public:
  Error(tp_status status, const std::string& message)
      : std::runtime_error(message), status_(status) {}
  tp_status status() const noexcept { return status_; }

 private:
  tp_status status_;
};

// Fills a caller-owned tp_error, touching only the bytes inside its
// struct_size and truncating the message to fit (always NUL-terminated).
inline void set_error(tp_error* err, tp_status code, std::string_view message) noexcept {
  if (err == nullptr) return;
  const size_t size = err->struct_size;
  if (size >= offsetof(tp_error, code) + sizeof(err->code)) err->code = code;
  if (size <= offsetof(tp_error, message)) return;
  size_t room = size - offsetof(tp_error, message);
  if (room > TP_ERROR_MESSAGE_BYTES) room = TP_ERROR_MESSAGE_BYTES;
  const size_t n = message.size() < room - 1 ? message.size() : room - 1;
  if (n > 0) std::memcpy(err->message, message.data(), n);
  err->message[n] = '\0';
}

// A tp_writer that appends to a std::string: for host calls that write
// output (config_get, state_read). Valid while the StringWriter lives.
class StringWriter {
 public:
  explicit StringWriter(std::string& out) noexcept : out_(out) {
    writer_.struct_size = sizeof(tp_writer);
    writer_.writer_ctx = this;
    writer_.write = &StringWriter::write;
  }
  StringWriter(const StringWriter&) = delete;
  StringWriter& operator=(const StringWriter&) = delete;
  const tp_writer* get() const noexcept { return &writer_; }

 private:
  static tp_status write(void* ctx, tp_str bytes) noexcept {
    try {
      static_cast<StringWriter*>(ctx)->out_.append(to_view(bytes));
      return TP_OK;
    } catch (...) {
      return TP_NO_MEMORY;
    }
  }
  std::string& out_;
  tp_writer writer_{};
};

// Appends `text` to `out` as a JSON string literal (quotes and escapes), so
// plugins that build small JSON documents by hand need no JSON library.
inline void append_json_string(std::string& out, std::string_view text) {
  out.push_back('"');
  for (const char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char escaped[8];
          std::snprintf(escaped, sizeof escaped, "\\u%04x", static_cast<unsigned>(c));
          out += escaped;
        } else {
          out.push_back(c);
        }
    }
  }
  out.push_back('"');
}

// ---------------------------------------------------------------------------
// Events
// ---------------------------------------------------------------------------

// A tp_event_view seen as string_views. Borrowed: valid during on_event only.
class EventView {
 public:
  explicit EventView(const tp_event_view& raw) noexcept : raw_(raw) {}
  bool replay() const noexcept { return (raw_.flags & TP_EVENT_REPLAY) != 0; }
  uint32_t flags() const noexcept { return raw_.flags; }
  int64_t id() const noexcept { return raw_.id; }
  int64_t time_ms() const noexcept { return raw_.time_ms; }
  std::string_view time() const noexcept { return to_view(raw_.time); }
  std::string_view kind() const noexcept { return to_view(raw_.kind); }
  std::string_view payload() const noexcept { return to_view(raw_.payload); }
  std::string_view source() const noexcept { return to_view(raw_.source); }
  std::string_view node() const noexcept { return to_view(raw_.node); }
  const tp_event_view& raw() const noexcept { return raw_; }

 private:
  const tp_event_view& raw_;
};

// ---------------------------------------------------------------------------
// The host
// ---------------------------------------------------------------------------

// The host API table plus this instance's handle. Cheap to copy; valid from
// create until destroy returns. Helpers that return values throw
// tpark::Error when the host answers a non-OK status (the trampolines turn
// that back into the status); log() never throws.
class HostRef {
 public:
  HostRef() = default;
  HostRef(const tp_host_api* api, tp_host* host) noexcept : api_(api), host_(host) {}

  const tp_host_api* api() const noexcept { return api_; }
  tp_host* host() const noexcept { return host_; }
  // The host's ABI minor (slots newer than it may be absent).
  uint32_t host_minor() const noexcept { return api_ != nullptr ? api_->abi_minor : 0; }

  // True when the host's table has this slot (inside its struct_size, non-NULL).
  template <class Slot>
  bool has(Slot tp_host_api::*slot) const noexcept {
    if (api_ == nullptr) return false;
    const auto* base = reinterpret_cast<const char*>(api_);
    const auto* field = reinterpret_cast<const char*>(&(api_->*slot));
    const size_t end = static_cast<size_t>(field - base) + sizeof(Slot);
    return end <= api_->struct_size && api_->*slot != nullptr;
  }

  // --- logging -------------------------------------------------------------
  void log(int32_t level, std::string_view message) const noexcept {
    if (has(&tp_host_api::log)) api_->log(host_, level, to_tp_str(message));
  }
  void debug(std::string_view message) const noexcept { log(TP_LOG_DEBUG, message); }
  void info(std::string_view message) const noexcept { log(TP_LOG_INFO, message); }
  void warn(std::string_view message) const noexcept { log(TP_LOG_WARN, message); }
  void error(std::string_view message) const noexcept { log(TP_LOG_ERROR, message); }

  // --- config and host state -------------------------------------------------
  // The plugin's validated config block as compact JSON.
  std::string config_json() const {
    std::string out;
    StringWriter writer(out);
    check(require(&tp_host_api::config_get)(host_, writer.get()), "config_get");
    return out;
  }
  // Host state `name` as JSON text; nullopt when the host does not know the
  // name (TP_NOT_FOUND) or the capability behind it is absent (TP_UNAVAILABLE).
  std::optional<std::string> state(std::string_view name) const {
    std::string out;
    StringWriter writer(out);
    const tp_status status =
        require(&tp_host_api::state_read)(host_, to_tp_str(name), writer.get());
    if (status == TP_NOT_FOUND || status == TP_UNAVAILABLE) return std::nullopt;
    check(status, "state_read");
    return out;
  }

  // --- clocks ------------------------------------------------------------------
  int64_t now_ms() const { return require(&tp_host_api::now_ms)(host_); }
  int64_t monotonic_ns() const { return require(&tp_host_api::monotonic_ns)(host_); }

  // --- timers and wake-ups -----------------------------------------------------
  // Runs `fn(timer_id)` on this instance's executor after `delay`, then every
  // `interval` (zero = once). An exception from fn is logged and swallowed.
  uint64_t start_timer(std::chrono::milliseconds delay, std::chrono::milliseconds interval,
                       std::function<void(uint64_t)> fn) const {
    auto* callback = new TimerCallback{api_, host_, std::move(fn)};
    tp_timer_desc desc{};
    desc.struct_size = sizeof desc;
    desc.delay_ms = delay.count();
    desc.interval_ms = interval.count();
    desc.fn = &HostRef::run_timer;
    desc.user = callback;
    desc.free_fn = &HostRef::free_timer;
    uint64_t id = 0;
    const tp_status status = require(&tp_host_api::timer_start)(host_, &desc, &id);
    if (status != TP_OK) {
      delete callback;  // on failure the host did not take ownership
      check(status, "timer_start");
    }
    return id;
  }
  // false when the timer already fired (one-shot) or never existed.
  bool cancel_timer(uint64_t timer_id) const {
    const tp_status status = require(&tp_host_api::timer_cancel)(host_, timer_id);
    if (status == TP_NOT_FOUND) return false;
    check(status, "timer_cancel");
    return true;
  }
  // Asks the host to mark this section dirty at wall time at_ms.
  void wake_at(int64_t at_ms) const {
    check(require(&tp_host_api::wake_at)(host_, at_ms), "wake_at");
  }

  // --- events ------------------------------------------------------------------
  // Journals one event (source "plugin:<id>"; host-owned kinds are refused);
  // returns its id. Not from on_event.
  int64_t emit(std::string_view kind, std::string_view payload_json) const {
    int64_t id = 0;
    check(require(&tp_host_api::emit)(host_, to_tp_str(kind), to_tp_str(payload_json), &id),
          "emit");
    return id;
  }

  // --- metrics -----------------------------------------------------------------
  uint64_t register_counter(std::string_view name, std::string_view help,
                            std::initializer_list<std::string_view> labels = {}) const {
    return register_metric(TP_METRIC_COUNTER, name, help, labels, {});
  }
  uint64_t register_gauge(std::string_view name, std::string_view help,
                          std::initializer_list<std::string_view> labels = {}) const {
    return register_metric(TP_METRIC_GAUGE, name, help, labels, {});
  }
  uint64_t register_histogram(std::string_view name, std::string_view help,
                              std::initializer_list<std::string_view> labels,
                              const std::vector<double>& buckets) const {
    return register_metric(TP_METRIC_HISTOGRAM, name, help, labels, buckets);
  }
  uint64_t register_metric(uint32_t type, std::string_view name, std::string_view help,
                           std::initializer_list<std::string_view> labels,
                           const std::vector<double>& buckets) const {
    std::vector<tp_str> names;
    for (auto label : labels) names.push_back(to_tp_str(label));
    tp_metric_desc desc{};
    desc.struct_size = sizeof desc;
    desc.type = type;
    desc.name = to_tp_str(name);
    desc.help = to_tp_str(help);
    desc.label_names = names.data();
    desc.label_count = names.size();
    desc.buckets = buckets.data();
    desc.bucket_count = buckets.size();
    uint64_t handle = 0;
    check(require(&tp_host_api::metric_register)(host_, &desc, &handle), "metric_register");
    return handle;
  }
  // Counters and gauges: adds value. Label values in the registered order.
  void metric_add(uint64_t handle, std::initializer_list<std::string_view> labels,
                  double value) const {
    with_labels(
        labels,
        [&](const tp_str* v, size_t n) {
          return require(&tp_host_api::metric_add)(host_, handle, v, n, value);
        },
        "metric_add");
  }
  void metric_set(uint64_t handle, std::initializer_list<std::string_view> labels,
                  double value) const {
    with_labels(
        labels,
        [&](const tp_str* v, size_t n) {
          return require(&tp_host_api::metric_set)(host_, handle, v, n, value);
        },
        "metric_set");
  }
  void metric_observe(uint64_t handle, std::initializer_list<std::string_view> labels,
                      double value) const {
    with_labels(
        labels,
        [&](const tp_str* v, size_t n) {
          return require(&tp_host_api::metric_observe)(host_, handle, v, n, value);
        },
        "metric_observe");
  }
  // false when the series did not exist.
  bool metric_remove(uint64_t handle, std::initializer_list<std::string_view> labels) const {
    std::vector<tp_str> values;
    for (auto label : labels) values.push_back(to_tp_str(label));
    const tp_status status =
        require(&tp_host_api::metric_remove)(host_, handle, values.data(), values.size());
    if (status == TP_NOT_FOUND) return false;
    check(status, "metric_remove");
    return true;
  }

 private:
  struct TimerCallback {
    const tp_host_api* api;
    tp_host* host;
    std::function<void(uint64_t)> fn;
  };
  static void run_timer(void* user, uint64_t timer_id) noexcept {
    auto* callback = static_cast<TimerCallback*>(user);
    try {
      callback->fn(timer_id);
    } catch (const std::exception& e) {
      HostRef(callback->api, callback->host)
          .error(std::string("timer callback threw: ") + e.what());
    } catch (...) {
      HostRef(callback->api, callback->host).error("timer callback threw an unknown exception");
    }
  }
  static void free_timer(void* user) noexcept { delete static_cast<TimerCallback*>(user); }

  template <class Slot>
  Slot require(Slot tp_host_api::*slot) const {
    if (!has(slot)) throw Error(TP_UNSUPPORTED, "the host has no such API slot");
    return api_->*slot;
  }
  static void check(tp_status status, const char* what) {
    if (status != TP_OK) throw Error(status, std::string(what) + " failed: " + status_name(status));
  }
  template <class Call>
  static void with_labels(std::initializer_list<std::string_view> labels, Call call,
                          const char* what) {
    std::vector<tp_str> values;
    for (auto label : labels) values.push_back(to_tp_str(label));
    check(call(values.data(), values.size()), what);
  }

  const tp_host_api* api_ = nullptr;
  tp_host* host_ = nullptr;
};

// ---------------------------------------------------------------------------
// Sections
// ---------------------------------------------------------------------------

// Base class of a section instance. The constructor is create (it receives
// the validated config as JSON text); the destructor is destroy. Every
// callback but the constructor, start, stop and the destructor runs on the
// instance's own executor, serialised: no locks needed for own state.
class Section {
 public:
  explicit Section(HostRef host) noexcept : host_(host) {}
  virtual ~Section() = default;
  Section(const Section&) = delete;
  Section& operator=(const Section&) = delete;

  // Control thread. Start/stop own threads and timers here.
  virtual void start() {}
  virtual void stop() {}

  // Drops every aggregate; priming (replayed rows, then recounted rows) follows.
  virtual void reset() = 0;
  // One event of a subscribed kind, in journal id order. Must not block.
  virtual void on_event(const EventView& event) = 0;
  // Sets `out` to the section's JSON value. Returns true if the value may
  // differ from the previous render; false lets the host reuse its copy.
  virtual bool render(std::string& out) = 0;
  // How many of the newest journal rows per subscribed prefix priming replays.
  virtual uint64_t prime_rows() { return 0; }

  const HostRef& host() const noexcept { return host_; }

 private:
  HostRef host_;
};


// ---------------------------------------------------------------------------
// Exporters (ABI 1.1)
// ---------------------------------------------------------------------------

// One item of a batch, as string_views valid during export_batch only.
struct ExportItem {
  uint32_t type = 0;  // TP_EXPORT_SNAPSHOT, TP_EXPORT_PATCH or TP_EXPORT_METRICS
  int64_t time_ms = 0;
  std::string_view body;
};

// What an export answers (rule 11): delivered, try the same batch again
// later (the host owns the backoff), or failed (the batch is dropped).
enum class ExportResult { Ok, Retry, Error };

// Base class of an exporter instance. The constructor is create, the
// destructor destroy; start and stop run on the control thread;
// export_batch runs on the instance's own worker thread, one at a time.
// An exception from export_batch counts as ExportResult::Error.
class Exporter {
 public:
  explicit Exporter(HostRef host) noexcept : host_(host) {}
  virtual ~Exporter() = default;
  Exporter(const Exporter&) = delete;
  Exporter& operator=(const Exporter&) = delete;

  virtual void start() {}
  virtual void stop() {}
  // `attempt` is 0 on first delivery and n on the n-th retry of this batch.
  virtual ExportResult export_batch(const std::vector<ExportItem>& items, uint32_t attempt) = 0;

  const HostRef& host() const noexcept { return host_; }

 private:
  HostRef host_;
};

namespace detail {

// The exception being handled as a status and a message, which goes to `err`
// when the callback has one, and otherwise to the host log, prefixed with the
// callback's name. Out of line of guarded() so the call path stays small.
inline tp_status report_current_exception(const char* callback, const HostRef* log_to,
                                          tp_error* err) noexcept {
  tp_status status = TP_INTERNAL;
  std::string message;
  try {
    throw;
  } catch (const Error& e) {
    status = e.status() != TP_OK ? e.status() : TP_INTERNAL;
    message = e.what();
  } catch (const std::bad_alloc&) {
    status = TP_NO_MEMORY;
    message = "out of memory";
  } catch (const std::exception& e) {
    message = e.what();
  } catch (...) {
    message = "unknown exception";
  }
  if (err != nullptr) {
    set_error(err, status, message);  // the caller knows which callback it called
  } else if (log_to != nullptr) {
    try {
      log_to->error(std::string(callback) + ": " + message);
    } catch (...) {
    }
  }
  return status;
}

// Runs `body`, mapping exceptions to a status (report_current_exception).
template <class Body>
tp_status guarded(const char* callback, const HostRef* log_to, tp_error* err,
                  Body&& body) noexcept {
  try {
    return body();
  } catch (...) {
    return report_current_exception(callback, log_to, err);
  }
}

template <class T>
struct SectionTrampolines {
  static T* self(void* ctx) noexcept { return static_cast<T*>(ctx); }

  static tp_status create(const tp_host_api* api, tp_host* host, tp_str config_json, void** out_ctx,
                          tp_error* err) noexcept {
    const HostRef ref(api, host);
    return guarded("create", &ref, err, [&] {
      if (out_ctx == nullptr) return TP_INVALID_ARG;
      *out_ctx = new T(ref, to_view(config_json));
      return TP_OK;
    });
  }
  static tp_status start(void* ctx, tp_error* err) noexcept {
    return guarded("start", &self(ctx)->host(), err, [&] {
      self(ctx)->start();
      return TP_OK;
    });
  }
  static tp_status stop(void* ctx, tp_error* err) noexcept {
    return guarded("stop", &self(ctx)->host(), err, [&] {
      self(ctx)->stop();
      return TP_OK;
    });
  }
  static tp_status destroy(void* ctx) noexcept {
    // The instance may not be usable for logging once its destructor threw.
    return guarded("destroy", nullptr, nullptr, [&] {
      delete self(ctx);
      return TP_OK;
    });
  }
  static tp_status reset(void* ctx) noexcept {
    return guarded("reset", &self(ctx)->host(), nullptr, [&] {
      self(ctx)->reset();
      return TP_OK;
    });
  }
  static tp_status on_event(void* ctx, const tp_event_view* event) noexcept {
    return guarded("on_event", &self(ctx)->host(), nullptr, [&] {
      if (event == nullptr) return TP_INVALID_ARG;
      // A view as large as this header's is read in place; an older,
      // smaller one is copied into a zeroed local first (rule 4).
      if (event->struct_size >= sizeof(tp_event_view)) {
        self(ctx)->on_event(EventView(*event));
        return TP_OK;
      }
      tp_event_view local{};
      std::memcpy(&local, event, event->struct_size);
      self(ctx)->on_event(EventView(local));
      return TP_OK;
    });
  }
  static tp_status render(void* ctx, const tp_writer* out, int32_t* out_changed) noexcept {
    return guarded("render", &self(ctx)->host(), nullptr, [&] {
      if (out == nullptr || out->write == nullptr) return TP_INVALID_ARG;
      std::string text;
      const bool changed = self(ctx)->render(text);
      if (out_changed != nullptr) *out_changed = changed ? 1 : 0;
      return out->write(out->writer_ctx, to_tp_str(text));
    });
  }
  static tp_status prime_rows(void* ctx, uint64_t* out_rows) noexcept {
    return guarded("prime_rows", &self(ctx)->host(), nullptr, [&] {
      if (out_rows == nullptr) return TP_INVALID_ARG;
      *out_rows = self(ctx)->prime_rows();
      return TP_OK;
    });
  }
};


template <class T>
struct ExporterTrampolines {
  static T* self(void* ctx) noexcept { return static_cast<T*>(ctx); }

  static tp_status create(const tp_host_api* api, tp_host* host, tp_str config_json, void** out_ctx,
                          tp_error* err) noexcept {
    const HostRef ref(api, host);
    return guarded("create", &ref, err, [&] {
      if (out_ctx == nullptr) return TP_INVALID_ARG;
      *out_ctx = new T(ref, to_view(config_json));
      return TP_OK;
    });
  }
  static tp_status start(void* ctx, tp_error* err) noexcept {
    return guarded("start", &self(ctx)->host(), err, [&] {
      self(ctx)->start();
      return TP_OK;
    });
  }
  static tp_status stop(void* ctx, tp_error* err) noexcept {
    return guarded("stop", &self(ctx)->host(), err, [&] {
      self(ctx)->stop();
      return TP_OK;
    });
  }
  static tp_status destroy(void* ctx) noexcept {
    return guarded("destroy", nullptr, nullptr, [&] {
      delete self(ctx);
      return TP_OK;
    });
  }
  static tp_status export_batch(void* ctx, const tp_export_batch* batch, tp_error* err) noexcept {
    return guarded("export_batch", &self(ctx)->host(), err, [&] {
      if (batch == nullptr || (batch->item_count > 0 && batch->items == nullptr))
        return TP_INVALID_ARG;
      std::vector<ExportItem> items;
      items.reserve(batch->item_count);
      for (size_t i = 0; i < batch->item_count; ++i) {
        const tp_export_item* raw = batch->items[i];
        if (raw == nullptr) return TP_INVALID_ARG;
        tp_export_item local{};  // rule 4: copy what lies inside struct_size
        std::memcpy(&local, raw, raw->struct_size < sizeof local ? raw->struct_size : sizeof local);
        items.push_back(ExportItem{local.type, local.time_ms, to_view(local.body)});
      }
      switch (self(ctx)->export_batch(items, batch->attempt)) {
        case ExportResult::Ok: return TP_OK;
        case ExportResult::Retry: return TP_RETRY;
        case ExportResult::Error: break;
      }
      return TP_INTERNAL;
    });
  }
};

}  // namespace detail

// The section descriptor for class T (T derives from Section and has a
// constructor T(HostRef, std::string_view config_json)). `name` must be a
// string literal or otherwise live for the life of the process.
template <class T>
constexpr tp_section_desc make_section_desc(const char* name) noexcept {
  tp_section_desc desc{};
  desc.struct_size = sizeof(tp_section_desc);
  desc.kind = TP_KIND_SECTION;
  desc.name = name;
  desc.create = &detail::SectionTrampolines<T>::create;
  desc.start = &detail::SectionTrampolines<T>::start;
  desc.stop = &detail::SectionTrampolines<T>::stop;
  desc.destroy = &detail::SectionTrampolines<T>::destroy;
  desc.reset = &detail::SectionTrampolines<T>::reset;
  desc.on_event = &detail::SectionTrampolines<T>::on_event;
  desc.render = &detail::SectionTrampolines<T>::render;
  desc.prime_rows = &detail::SectionTrampolines<T>::prime_rows;
  return desc;
}

// The exporter descriptor for class T (T derives from Exporter and has a
// constructor T(HostRef, std::string_view config_json)). `wants` is a set of
// TP_EXPORT_WANTS_* bits; zeros for the sizes mean the host's defaults.
template <class T>
constexpr tp_exporter_desc make_exporter_desc(const char* name, uint32_t wants,
                                              int64_t snapshot_interval_ms = 0,
                                              uint32_t max_batch_items = 0) noexcept {
  tp_exporter_desc desc{};
  desc.struct_size = sizeof(tp_exporter_desc);
  desc.kind = TP_KIND_EXPORTER;
  desc.name = name;
  desc.wants = wants;
  desc.max_batch_items = max_batch_items;
  desc.snapshot_interval_ms = snapshot_interval_ms;
  desc.create = &detail::ExporterTrampolines<T>::create;
  desc.start = &detail::ExporterTrampolines<T>::start;
  desc.stop = &detail::ExporterTrampolines<T>::stop;
  desc.destroy = &detail::ExporterTrampolines<T>::destroy;
  desc.export_batch = &detail::ExporterTrampolines<T>::export_batch;
  return desc;
}

// The plugin's side of negotiation: writes the plugin_* fields that lie
// inside the host's struct_size. Use it from a hand-written tp_plugin_entry.
inline tp_status answer_negotiate(tp_negotiate* negotiate, const tp_descriptor* const* descriptors,
                                  uint32_t descriptor_count, uint32_t min_host_minor,
                                  tp_error* err) noexcept {
  if (negotiate == nullptr) {
    set_error(err, TP_INVALID_ARG, "tp_negotiate is NULL");
    return TP_INVALID_ARG;
  }
  const size_t needed = offsetof(tp_negotiate, descriptors) + sizeof(negotiate->descriptors);
  if (negotiate->struct_size < needed) {
    set_error(err, TP_UNSUPPORTED, "tp_negotiate is smaller than ABI 1.0");
    return TP_UNSUPPORTED;
  }
  negotiate->plugin_abi_major = TP_ABI_MAJOR;
  negotiate->plugin_abi_minor = TP_ABI_MINOR;
  negotiate->plugin_min_host_minor = min_host_minor;
  negotiate->descriptor_count = descriptor_count;
  negotiate->descriptors = descriptors;
  return TP_OK;
}

}  // namespace tpark

// Defines the plugin's single section descriptor and its tp_plugin_entry.
// Use once per library, at namespace scope:  TP_SECTION_PLUGIN(EventsSection, "events")
// The wrapper needs only the 1.0 host table (newer slots are checked with
// HostRef::has), so the plugin runs on any 1.x host: min host minor 0.
#define TP_SECTION_PLUGIN(SectionClass, section_name)                                      \
  static const tp_section_desc tp_plugin_section_desc_ =                                   \
      ::tpark::make_section_desc<SectionClass>(section_name);                              \
  static const tp_descriptor* const tp_plugin_descriptors_[] = {                           \
      reinterpret_cast<const tp_descriptor*>(&tp_plugin_section_desc_)};                   \
  extern "C" TP_EXPORT tp_status tp_plugin_entry(tp_negotiate* negotiate, tp_error* err) { \
    return ::tpark::answer_negotiate(negotiate, tp_plugin_descriptors_, 1, 0, err);        \
  }

// Defines the plugin's single exporter descriptor and its tp_plugin_entry.
// Exporters arrived in ABI 1.1, so the plugin needs host minor 1.
//   TP_EXPORTER_PLUGIN(JsonlExporter, "jsonl", TP_EXPORT_WANTS_SNAPSHOTS, 1000)
#define TP_EXPORTER_PLUGIN(ExporterClass, exporter_name, wants, snapshot_interval_ms)       \
  static const tp_exporter_desc tp_plugin_exporter_desc_ =                                 \
      ::tpark::make_exporter_desc<ExporterClass>(exporter_name, wants, snapshot_interval_ms); \
  static const tp_descriptor* const tp_plugin_descriptors_[] = {                           \
      reinterpret_cast<const tp_descriptor*>(&tp_plugin_exporter_desc_)};                  \
  extern "C" TP_EXPORT tp_status tp_plugin_entry(tp_negotiate* negotiate, tp_error* err) { \
    return ::tpark::answer_negotiate(negotiate, tp_plugin_descriptors_, 1, 1, err);        \
  }

// ===========================================================================
// ABI 1.2: orchestrators (and the host API slots they use)
// ===========================================================================

namespace tpark {

// Journal rows with id > after_id whose kind starts with kind_prefix, as
// NDJSON envelopes (one per line), at most `limit` (0 = the host's page).
// Throws tpark::Error when the host has no journal_read (a host before 1.2)
// or the read fails.
inline std::string journal_read(const HostRef& host, int64_t after_id,
                                std::string_view kind_prefix, uint64_t limit) {
  if (!host.has(&tp_host_api::journal_read))
    throw Error(TP_UNSUPPORTED, "the host has no journal_read (ABI 1.2)");
  std::string out;
  StringWriter writer(out);
  const tp_status status = host.api()->journal_read(host.host(), after_id, to_tp_str(kind_prefix),
                                                    limit, writer.get());
  if (status != TP_OK)
    throw Error(status, std::string("journal_read failed: ") + status_name(status));
  return out;
}

// Reports on a job (TP_JOB_PROGRESS / _RESULT / _FAILED with its JSON
// object). Returns the host's status as is: TP_NOT_FOUND means the job is no
// longer running and the orchestrator should drop it.
inline tp_status job_report(const HostRef& host, std::string_view job_id, uint32_t kind,
                            std::string_view json) noexcept {
  if (!host.has(&tp_host_api::job_report)) return TP_UNSUPPORTED;
  return host.api()->job_report(host.host(), to_tp_str(job_id), kind, to_tp_str(json));
}

// One job as start_job received it, copied (valid after the call).
struct JobView {
  std::string job_id;
  std::string request_json;
  int64_t since_id = 0;
  int64_t until_id = 0;
  uint32_t attempt = 1;
};

// Base class of an orchestrator instance. The constructor is create, the
// destructor destroy; start and stop run on the control thread. start_job
// and cancel_job may be called from any host thread, concurrently: they must
// return at once (run the job on a thread of your own) and lock what they
// share. stop joins every job thread.
class Orchestrator {
 public:
  explicit Orchestrator(HostRef host) noexcept : host_(host) {}
  virtual ~Orchestrator() = default;
  Orchestrator(const Orchestrator&) = delete;
  Orchestrator& operator=(const Orchestrator&) = delete;

  virtual void start() {}
  virtual void stop() {}
  virtual void start_job(const JobView& job) = 0;
  virtual void cancel_job(std::string_view job_id) = 0;

  const HostRef& host() const noexcept { return host_; }

 private:
  HostRef host_;
};

namespace detail {

template <class T>
struct OrchestratorTrampolines {
  static T* self(void* ctx) noexcept { return static_cast<T*>(ctx); }

  static tp_status create(const tp_host_api* api, tp_host* host, tp_str config_json, void** out_ctx,
                          tp_error* err) noexcept {
    const HostRef ref(api, host);
    return guarded("create", &ref, err, [&] {
      if (out_ctx == nullptr) return TP_INVALID_ARG;
      *out_ctx = new T(ref, to_view(config_json));
      return TP_OK;
    });
  }
  static tp_status start(void* ctx, tp_error* err) noexcept {
    return guarded("start", &self(ctx)->host(), err, [&] {
      self(ctx)->start();
      return TP_OK;
    });
  }
  static tp_status stop(void* ctx, tp_error* err) noexcept {
    return guarded("stop", &self(ctx)->host(), err, [&] {
      self(ctx)->stop();
      return TP_OK;
    });
  }
  static tp_status destroy(void* ctx) noexcept {
    return guarded("destroy", nullptr, nullptr, [&] {
      delete self(ctx);
      return TP_OK;
    });
  }
  static tp_status start_job(void* ctx, const tp_job_view* job, tp_error* err) noexcept {
    return guarded("start_job", &self(ctx)->host(), err, [&] {
      if (job == nullptr) return TP_INVALID_ARG;
      tp_job_view local{};  // rule 2: copy what lies inside struct_size
      std::memcpy(&local, job, job->struct_size < sizeof local ? job->struct_size : sizeof local);
      JobView view;
      view.job_id = std::string(to_view(local.job_id));
      view.request_json = std::string(to_view(local.request_json));
      view.since_id = local.since_id;
      view.until_id = local.until_id;
      view.attempt = local.attempt;
      self(ctx)->start_job(view);
      return TP_OK;
    });
  }
  static tp_status cancel_job(void* ctx, tp_str job_id) noexcept {
    return guarded("cancel_job", &self(ctx)->host(), nullptr, [&] {
      self(ctx)->cancel_job(to_view(job_id));
      return TP_OK;
    });
  }
};

}  // namespace detail

// The orchestrator descriptor for class T (T derives from Orchestrator and
// has a constructor T(HostRef, std::string_view config_json)).
template <class T>
constexpr tp_orchestrator_desc make_orchestrator_desc(const char* name) noexcept {
  tp_orchestrator_desc desc{};
  desc.struct_size = sizeof(tp_orchestrator_desc);
  desc.kind = TP_KIND_ORCHESTRATOR;
  desc.name = name;
  desc.create = &detail::OrchestratorTrampolines<T>::create;
  desc.start = &detail::OrchestratorTrampolines<T>::start;
  desc.stop = &detail::OrchestratorTrampolines<T>::stop;
  desc.destroy = &detail::OrchestratorTrampolines<T>::destroy;
  desc.start_job = &detail::OrchestratorTrampolines<T>::start_job;
  desc.cancel_job = &detail::OrchestratorTrampolines<T>::cancel_job;
  return desc;
}

}  // namespace tpark

// Defines the plugin's single orchestrator descriptor and its
// tp_plugin_entry. Orchestrators arrived in ABI 1.2: min host minor 2.
//   TP_ORCHESTRATOR_PLUGIN(LocalOrchestrator, "local")
#define TP_ORCHESTRATOR_PLUGIN(OrchestratorClass, orchestrator_name)                       \
  static const tp_orchestrator_desc tp_plugin_orchestrator_desc_ =                         \
      ::tpark::make_orchestrator_desc<OrchestratorClass>(orchestrator_name);               \
  static const tp_descriptor* const tp_plugin_descriptors_[] = {                           \
      reinterpret_cast<const tp_descriptor*>(&tp_plugin_orchestrator_desc_)};              \
  extern "C" TP_EXPORT tp_status tp_plugin_entry(tp_negotiate* negotiate, tp_error* err) { \
    return ::tpark::answer_negotiate(negotiate, tp_plugin_descriptors_, 1, 2, err);        \
  }

// ===========================================================================
// ABI 1.2 (appended): sources and ingest_lines
// ===========================================================================

namespace tpark {

// One received message for ingest_lines (tp_ingest_line), borrowed views.
struct IngestLine {
  std::string_view body;       // {time?, kind?, payload?}
  std::string_view node;       // origin node from the transport; empty = none
  std::string_view kind_hint;  // kind from the transport; empty = none
  std::string_view rejected;   // non-empty: already refused for this reason
};

// Hands `lines` to the host in one transaction. Returns the host's status
// (TP_UNAVAILABLE: nothing committed); *accepted counts the journaled ones.
inline tp_status ingest_lines(const HostRef& host, const std::vector<IngestLine>& lines,
                              uint64_t* accepted) {
  if (!host.has(&tp_host_api::ingest_lines)) return TP_UNSUPPORTED;
  std::vector<tp_ingest_line> raw(lines.size());
  for (size_t i = 0; i < lines.size(); ++i) {
    raw[i] = tp_ingest_line{};
    raw[i].struct_size = sizeof(tp_ingest_line);
    raw[i].body = to_tp_str(lines[i].body);
    raw[i].node = to_tp_str(lines[i].node);
    raw[i].kind_hint = to_tp_str(lines[i].kind_hint);
    raw[i].rejected = to_tp_str(lines[i].rejected);
  }
  return host.api()->ingest_lines(host.host(), raw.data(), raw.size(), accepted);
}

// Base class of a source instance. The constructor is create, the destructor
// destroy; start and stop run on the control thread (start launches the
// source's threads, stop joins them). status() may run on any host thread,
// concurrently with the source's threads: it writes a JSON object and
// returns true while the upstream is reachable, or false with `why` set.
class Source {
 public:
  explicit Source(HostRef host) noexcept : host_(host) {}
  virtual ~Source() = default;
  Source(const Source&) = delete;
  Source& operator=(const Source&) = delete;

  virtual void start() {}
  virtual void stop() {}
  virtual bool status(std::string& json_out, std::string& why) = 0;

  const HostRef& host() const noexcept { return host_; }

 private:
  HostRef host_;
};

namespace detail {

template <class T>
struct SourceTrampolines {
  static T* self(void* ctx) noexcept { return static_cast<T*>(ctx); }

  static tp_status create(const tp_host_api* api, tp_host* host, tp_str config_json, void** out_ctx,
                          tp_error* err) noexcept {
    const HostRef ref(api, host);
    return guarded("create", &ref, err, [&] {
      if (out_ctx == nullptr) return TP_INVALID_ARG;
      *out_ctx = new T(ref, to_view(config_json));
      return TP_OK;
    });
  }
  static tp_status start(void* ctx, tp_error* err) noexcept {
    return guarded("start", &self(ctx)->host(), err, [&] {
      self(ctx)->start();
      return TP_OK;
    });
  }
  static tp_status stop(void* ctx, tp_error* err) noexcept {
    return guarded("stop", &self(ctx)->host(), err, [&] {
      self(ctx)->stop();
      return TP_OK;
    });
  }
  static tp_status destroy(void* ctx) noexcept {
    return guarded("destroy", nullptr, nullptr, [&] {
      delete self(ctx);
      return TP_OK;
    });
  }
  static tp_status status(void* ctx, const tp_writer* out, tp_error* err) noexcept {
    return guarded("status", &self(ctx)->host(), err, [&] {
      if (out == nullptr || out->write == nullptr) return TP_INVALID_ARG;
      std::string text;
      std::string why;
      const bool up = self(ctx)->status(text, why);
      const tp_status written = out->write(out->writer_ctx, to_tp_str(text));
      if (written != TP_OK) return written;
      if (up) return TP_OK;
      set_error(err, TP_UNAVAILABLE, why);
      return TP_UNAVAILABLE;
    });
  }
};

}  // namespace detail

// The source descriptor for class T (T derives from Source and has a
// constructor T(HostRef, std::string_view config_json)).
template <class T>
constexpr tp_source_desc make_source_desc(const char* name) noexcept {
  tp_source_desc desc{};
  desc.struct_size = sizeof(tp_source_desc);
  desc.kind = TP_KIND_SOURCE;
  desc.name = name;
  desc.create = &detail::SourceTrampolines<T>::create;
  desc.start = &detail::SourceTrampolines<T>::start;
  desc.stop = &detail::SourceTrampolines<T>::stop;
  desc.destroy = &detail::SourceTrampolines<T>::destroy;
  desc.status = &detail::SourceTrampolines<T>::status;
  return desc;
}

}  // namespace tpark

// Defines the plugin's single source descriptor and its tp_plugin_entry.
// Sources arrived in ABI 1.2: min host minor 2.
//   TP_SOURCE_PLUGIN(NatsSource, "nats")
#define TP_SOURCE_PLUGIN(SourceClass, source_name)                                         \
  static const tp_source_desc tp_plugin_source_desc_ =                                     \
      ::tpark::make_source_desc<SourceClass>(source_name);                                 \
  static const tp_descriptor* const tp_plugin_descriptors_[] = {                           \
      reinterpret_cast<const tp_descriptor*>(&tp_plugin_source_desc_)};                    \
  extern "C" TP_EXPORT tp_status tp_plugin_entry(tp_negotiate* negotiate, tp_error* err) { \
    return ::tpark::answer_negotiate(negotiate, tp_plugin_descriptors_, 1, 2, err);        \
  }

// ===========================================================================
// ABI 1.2: logic-unit appliers
// ===========================================================================

namespace tpark {

// Base class of a logic-unit applier instance. The constructor is create, the
// destructor destroy; start and stop run on the control thread. dry_run,
// apply and revert run inside the host's action, one at a time per instance,
// and change nothing themselves: each returns the JSON object
// {document, diff_summary, json_patch, safety_issues} as text, or throws
// tpark::Error(TP_INVALID_ARG, "<path>: <message>") for a bad patch and
// tpark::Error(TP_NOT_FOUND, ...) for a failed jsonpatch test or missing
// replace/remove target (the host answers 400 and 409). Any other exception
// is TP_INTERNAL.
class Applier {
 public:
  explicit Applier(HostRef host) noexcept : host_(host) {}
  virtual ~Applier() = default;
  Applier(const Applier&) = delete;
  Applier& operator=(const Applier&) = delete;

  virtual void start() {}
  virtual void stop() {}
  // document_json: the current patch document; patches_json: the unit's patches.
  virtual std::string dry_run(std::string_view document_json, std::string_view patches_json) = 0;
  virtual std::string apply(std::string_view document_json, std::string_view patches_json) = 0;
  // snapshot_json: the patch document of the snapshot to restore.
  virtual std::string revert(std::string_view document_json, std::string_view snapshot_json) = 0;

  const HostRef& host() const noexcept { return host_; }

 private:
  HostRef host_;
};

namespace detail {

template <class T>
struct ApplierTrampolines {
  static T* self(void* ctx) noexcept { return static_cast<T*>(ctx); }

  static tp_status create(const tp_host_api* api, tp_host* host, tp_str config_json, void** out_ctx,
                          tp_error* err) noexcept {
    const HostRef ref(api, host);
    return guarded("create", &ref, err, [&] {
      if (out_ctx == nullptr) return TP_INVALID_ARG;
      *out_ctx = new T(ref, to_view(config_json));
      return TP_OK;
    });
  }
  static tp_status start(void* ctx, tp_error* err) noexcept {
    return guarded("start", &self(ctx)->host(), err, [&] {
      self(ctx)->start();
      return TP_OK;
    });
  }
  static tp_status stop(void* ctx, tp_error* err) noexcept {
    return guarded("stop", &self(ctx)->host(), err, [&] {
      self(ctx)->stop();
      return TP_OK;
    });
  }
  static tp_status destroy(void* ctx) noexcept {
    return guarded("destroy", nullptr, nullptr, [&] {
      delete self(ctx);
      return TP_OK;
    });
  }
  static tp_status write(const tp_writer* out, const std::string& text) {
    if (out == nullptr || out->write == nullptr) return TP_INVALID_ARG;
    return out->write(out->writer_ctx, to_tp_str(text));
  }
  static tp_status dry_run(void* ctx, tp_str document_json, tp_str patches_json,
                           const tp_writer* out, tp_error* err) noexcept {
    return guarded("dry_run", &self(ctx)->host(), err, [&] {
      return write(out, self(ctx)->dry_run(to_view(document_json), to_view(patches_json)));
    });
  }
  static tp_status apply(void* ctx, tp_str document_json, tp_str patches_json, const tp_writer* out,
                         tp_error* err) noexcept {
    return guarded("apply", &self(ctx)->host(), err, [&] {
      return write(out, self(ctx)->apply(to_view(document_json), to_view(patches_json)));
    });
  }
  static tp_status revert(void* ctx, tp_str document_json, tp_str snapshot_json,
                          const tp_writer* out, tp_error* err) noexcept {
    return guarded("revert", &self(ctx)->host(), err, [&] {
      return write(out, self(ctx)->revert(to_view(document_json), to_view(snapshot_json)));
    });
  }
};

}  // namespace detail

// The applier descriptor for class T (T derives from Applier and has a
// constructor T(HostRef, std::string_view config_json)). `roots`: the patch
// document roots it owns, NULL-terminated, static for the life of the process.
template <class T>
constexpr tp_applier_desc make_applier_desc(const char* name, const char* const* roots) noexcept {
  tp_applier_desc desc{};
  desc.struct_size = sizeof(tp_applier_desc);
  desc.kind = TP_KIND_LOGIC_APPLIER;
  desc.name = name;
  desc.create = &detail::ApplierTrampolines<T>::create;
  desc.start = &detail::ApplierTrampolines<T>::start;
  desc.stop = &detail::ApplierTrampolines<T>::stop;
  desc.destroy = &detail::ApplierTrampolines<T>::destroy;
  desc.roots = roots;
  desc.dry_run = &detail::ApplierTrampolines<T>::dry_run;
  desc.apply = &detail::ApplierTrampolines<T>::apply;
  desc.revert = &detail::ApplierTrampolines<T>::revert;
  return desc;
}

}  // namespace tpark

// Defines the plugin's single applier descriptor and its tp_plugin_entry.
// Appliers arrived in ABI 1.2: min host minor 2.
//   static const char* const kRoots[] = {"env", "governor", nullptr};
//   TP_APPLIER_PLUGIN(LogicUnitsApplier, "logic-units", kRoots)
#define TP_APPLIER_PLUGIN(ApplierClass, applier_name, roots)                               \
  static const tp_applier_desc tp_plugin_applier_desc_ =                                   \
      ::tpark::make_applier_desc<ApplierClass>(applier_name, roots);                       \
  static const tp_descriptor* const tp_plugin_descriptors_[] = {                           \
      reinterpret_cast<const tp_descriptor*>(&tp_plugin_applier_desc_)};                   \
  extern "C" TP_EXPORT tp_status tp_plugin_entry(tp_negotiate* negotiate, tp_error* err) { \
    return ::tpark::answer_negotiate(negotiate, tp_plugin_descriptors_, 1, 2, err);        \
  }

#endif  // TPARK_TP_PLUGIN_HPP
