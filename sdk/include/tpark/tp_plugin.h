/*
 * tp_plugin.h -- the tpark plugin ABI, version 1.2.
 *
 * 1.0: negotiation, the common types, the host API table, the section kind.
 * 1.1: the exporter kind (appended; every 1.0 layout is unchanged).
 * 1.2: the orchestrator and logic-applier kinds, journal_read, job_report;
 *      then the source kind and ingest_lines (appended at the end of 1.2).
 *
 * This is the whole contract between tpark-host and a plugin library. It is
 * pure C99, includes only <stdint.h> and <stddef.h>, and is meant to be read
 * top to bottom like a manual. The rules it follows, numbered as in
 * docs/abi-policy.md and in tpark-conform's PASS/FAIL lines:
 *
 *   1. One entry symbol. A plugin library exports exactly tp_plugin_entry;
 *      the host calls it once, with a tp_negotiate, before anything else.
 *   2. The major must match exactly, or the plugin is refused.
 *   3. A plugin names the lowest host minor it needs; an older host refuses it.
 *   4. Every struct that crosses the boundary starts with uint32_t struct_size.
 *      The producer zero-fills the struct and sets struct_size to its own
 *      sizeof; the consumer reads a field only if it lies inside struct_size.
 *   5. Append only: fields and host API slots are only ever appended, never
 *      reordered, resized or removed.
 *   6. A descriptor larger than the host knows is read by its prefix; one
 *      smaller than its kind's size when the kind arrived is refused.
 *   7. Host API slots are versioned: check the negotiated minor (or a NULL
 *      slot) before using a slot newer than 1.0.
 *   8. C only at the boundary: no C++ type, exception, RTTI or allocator
 *      crosses. A callback that fails returns a status; a C++ plugin catches
 *      everything (tp_plugin.hpp does it for you).
 *   9. Strings and bytes are tp_str: UTF-8, not NUL-terminated, borrowed for
 *      the duration of the call only. JSON crosses as text. Whatever the
 *      receiver keeps, it copies.
 *  10. Whoever allocates frees. Anything registered with the host carries a
 *      {user, free_fn} pair; the host calls free_fn exactly once.
 *  11. Every call returns tp_status and may fill a caller-owned tp_error.
 *  12. Threading is stated per callback below, and the host honours it.
 *  13. Lifecycle: load -> negotiate -> create -> start -> stop -> destroy.
 *      stop joins the plugin's threads; the library stays mapped for the life
 *      of the process.
 *  14. Manifests first: plugin.yaml is read before the library is opened
 *      (docs/plugin-manifest.md).
 *  15. Hygiene: hidden visibility, a version script exporting only the entry,
 *      --no-undefined (tp_add_plugin() does all three).
 *
 * Host objects are opaque (tp_host) or 64-bit ids. A plugin's own state is
 * the void* ctx it returns from create; the host passes it back.
 */
#ifndef TPARK_TP_PLUGIN_H
#define TPARK_TP_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------ */
/* Versions                                                                 */
/* ------------------------------------------------------------------------ */

/* The ABI this header describes. A plugin built with this header offers
 * TP_ABI_MINOR as the minor it uses; a host built with it offers the same.
 * Majors must match exactly. */
#define TP_ABI_MAJOR 1
#define TP_ABI_MINOR 2

/* The name of the single exported entry symbol, for loaders. */
#define TP_PLUGIN_ENTRY_SYMBOL "tp_plugin_entry"

/* Export marker for the entry point. tp_add_plugin() builds with hidden
 * visibility and a version script, so only this symbol is exported. */
#if defined(_WIN32)
#define TP_EXPORT __declspec(dllexport)
#else
#define TP_EXPORT __attribute__((visibility("default")))
#endif

/* ------------------------------------------------------------------------ */
/* Common types                                                             */
/* ------------------------------------------------------------------------ */

/* A borrowed UTF-8 string or byte range. Not NUL-terminated. ptr may be NULL
 * only when len is 0. Valid for the duration of the call that passes it. */
typedef struct tp_str {
  const char* ptr;
  size_t len;
} tp_str;

/* Status of every call, in both directions. Values are frozen; new codes are
 * only appended. A receiver treats an unknown non-zero code as TP_INTERNAL. */
typedef int32_t tp_status;
#define TP_OK 0            /* success */
#define TP_RETRY 1         /* transient: try again later (exporters: keep the batch) */
#define TP_INVALID_ARG 2   /* the caller passed something malformed */
#define TP_UNSUPPORTED 3   /* not implemented by this side, or this version */
#define TP_UNAVAILABLE 4   /* a needed resource is down (disk, network, host state) */
#define TP_INTERNAL 5      /* a bug or unexpected failure inside the callee */
#define TP_NOT_FOUND 6     /* no such name, id or handle */
#define TP_NO_MEMORY 7     /* allocation failed */
#define TP_TOO_LARGE 8     /* a size limit was exceeded */

/* Optional error details. The caller owns the struct (usually on its stack),
 * zero-fills it and sets struct_size; the callee may write a NUL-terminated
 * message into `message`, truncating to fit. A callee never stores the
 * pointer. A NULL tp_error* means the caller does not want details. */
#define TP_ERROR_MESSAGE_BYTES 512
typedef struct tp_error {
  uint32_t struct_size;
  tp_status code;
  char message[TP_ERROR_MESSAGE_BYTES];
} tp_error;

/* A sink the host hands to a plugin for output (rendered JSON, config text).
 * The plugin calls write() zero or more times; the host copies every byte
 * before write() returns. The sink is valid only during the call that passes
 * it. write() returns TP_TOO_LARGE if a host-side limit is exceeded; the
 * plugin should then stop writing and return that status. */
typedef struct tp_writer {
  uint32_t struct_size;
  void* writer_ctx; /* host-owned; pass it back to write() */
  tp_status (*write)(void* writer_ctx, tp_str bytes);
} tp_writer;

/* ------------------------------------------------------------------------ */
/* Events                                                                   */
/* ------------------------------------------------------------------------ */

/* tp_event_view.flags */
#define TP_EVENT_REPLAY 0x1u /* delivered while priming: fill windows, do not
                                count as new traffic (see section.reset) */

/* A read-only view of one journaled event. Every tp_str points into host
 * memory valid only during the on_event call. A kind is 1-128 bytes of
 * dot-separated segments, each [a-z0-9][a-z0-9_-]*, at least two of them
 * ("tool.result"); tpark/tp_payload.hpp reads the payload's fields. */
typedef struct tp_event_view {
  uint32_t struct_size;
  uint32_t flags;     /* TP_EVENT_* bits */
  int64_t id;         /* journal id, > 0, strictly increasing */
  int64_t time_ms;    /* event time, epoch milliseconds (UTC) */
  tp_str time;        /* the same time as RFC 3339 with milliseconds and Z */
  tp_str kind;        /* validated, alias-folded kind */
  tp_str payload;     /* canonical compact JSON text; "{}" when absent */
  tp_str source;      /* "host", "ingest", "nats", or "plugin:<id>" for a plugin's emit */
  tp_str node;        /* origin node; len 0 when absent */
} tp_event_view;

/* ------------------------------------------------------------------------ */
/* The host side: opaque handle and service table                           */
/* ------------------------------------------------------------------------ */

/* One per plugin instance. Identifies the caller to the host; never
 * dereferenced by the plugin. Valid from create until destroy returns. */
typedef struct tp_host tp_host;

/* Log levels for tp_host_api.log (mapped to spdlog levels). */
#define TP_LOG_TRACE 0
#define TP_LOG_DEBUG 1
#define TP_LOG_INFO 2
#define TP_LOG_WARN 3
#define TP_LOG_ERROR 4

/* Metric types for tp_metric_desc.type. */
#define TP_METRIC_COUNTER 1
#define TP_METRIC_GAUGE 2
#define TP_METRIC_HISTOGRAM 3

/* Describes a metric family the plugin wants. The host maps it to a
 * prometheus-cpp family it owns; the plugin never sees the registry.
 * All pointers are borrowed for the duration of metric_register. */
typedef struct tp_metric_desc {
  uint32_t struct_size;
  uint32_t type;               /* TP_METRIC_* */
  tp_str name;                 /* e.g. "arw_context_slot_gap"; counters end in _total */
  tp_str help;                 /* one line */
  const tp_str* label_names;   /* label_count names, in the order values are passed */
  size_t label_count;
  const double* buckets;       /* histogram upper bounds, ascending, without +Inf */
  size_t bucket_count;
} tp_metric_desc;

/* A timer or wake-up callback. Runs on the instance's own executor, so it is
 * serialised with on_event/render of the same instance (see "Threading"). */
typedef void (*tp_timer_fn)(void* user, uint64_t timer_id);
/* Releases `user` when the host no longer needs it (cancel, one-shot fired,
 * instance destroyed). Called exactly once; may be NULL. */
typedef void (*tp_free_fn)(void* user);

typedef struct tp_timer_desc {
  uint32_t struct_size;
  int64_t delay_ms;     /* first run after this many ms (>= 0) */
  int64_t interval_ms;  /* then every interval_ms; 0 = one-shot */
  tp_timer_fn fn;
  void* user;
  tp_free_fn free_fn;
} tp_timer_desc;

/* A source's message for ingest_lines (1.2), defined with the source kind. */
struct tp_ingest_line;

/*
 * The services the host offers. The host owns this table; it stays valid and
 * unchanged for the life of the process. Every slot is callable from any
 * thread unless it says otherwise. A slot may be NULL in a host older than the
 * minor that added it: check tp_negotiate.host_abi_minor first.
 */
typedef struct tp_host_api {
  uint32_t struct_size;
  uint32_t abi_minor; /* the host's minor, as in tp_negotiate */

  /* --- 1.0: logging --------------------------------------------------- */
  /* Writes one log line attributed to the plugin. Never fails for valid
   * arguments; TP_INVALID_ARG for an unknown level. */
  tp_status (*log)(tp_host* host, int32_t level, tp_str message);

  /* --- 1.0: metrics --------------------------------------------------- */
  /* Registers (or finds, if an identical family exists) a metric family and
   * returns its handle in *out_handle. TP_INVALID_ARG for a bad name, a
   * counter without _total, or a family re-registered with another shape.
   * Call it from create or start. */
  tp_status (*metric_register)(tp_host* host, const tp_metric_desc* desc, uint64_t* out_handle);
  /* Counter: adds value (>= 0). Gauge: adds value (may be negative).
   * label_values holds exactly the family's label_count values. */
  tp_status (*metric_add)(tp_host* host, uint64_t handle, const tp_str* label_values,
                          size_t label_count, double value);
  /* Gauge only: sets the series to value. */
  tp_status (*metric_set)(tp_host* host, uint64_t handle, const tp_str* label_values,
                          size_t label_count, double value);
  /* Histogram only: records one observation. */
  tp_status (*metric_observe)(tp_host* host, uint64_t handle, const tp_str* label_values,
                              size_t label_count, double value);
  /* Removes one series (e.g. a stale gauge). TP_NOT_FOUND if absent. */
  tp_status (*metric_remove)(tp_host* host, uint64_t handle, const tp_str* label_values,
                             size_t label_count);

  /* --- 1.0: config and host state ------------------------------------- */
  /* Writes the plugin's own config block (from host.yaml, validated against
   * its manifest schema, defaults filled in) as compact JSON to out. */
  tp_status (*config_get)(tp_host* host, const tp_writer* out);
  /* Writes read-only host state `name` as JSON to out: "governor", "config",
   * "capsules", "route_stats", "bus", "tasks", "task_restarts" ({task: [epoch
   * ms of each restart still in the restarts window]}), "compatibility",
   * "events_start" ({start: RFC 3339, start_ms, start_id}: the host's start
   * and the journal head then), "plugins", "training_history" ({items: the
   * newest 10 logic-unit history rows {seq,time,kind,payload}, newest
   * first}), "training_cache" ({entries: [{key, job_id, computation}]}: the
   * result cache an orchestrator reported with completed jobs, oldest
   * first). TP_NOT_FOUND for an unknown name;
   * TP_UNAVAILABLE when the capability behind it is not present (yet). */
  tp_status (*state_read)(tp_host* host, tp_str name, const tp_writer* out);

  /* --- 1.0: clock, timers, wake-ups ----------------------------------- */
  /* Wall clock, epoch milliseconds (UTC). */
  int64_t (*now_ms)(tp_host* host);
  /* Monotonic clock, nanoseconds from an arbitrary origin. */
  int64_t (*monotonic_ns)(tp_host* host);
  /* Starts a timer; its id goes to *out_timer_id. The callback runs on the
   * instance's executor. On TP_OK the host owns desc->user and calls
   * desc->free_fn exactly once; on any other status it took nothing and the
   * caller still owns user. */
  tp_status (*timer_start)(tp_host* host, const tp_timer_desc* desc, uint64_t* out_timer_id);
  /* Cancels a timer. After it returns, the callback will not start again.
   * TP_NOT_FOUND if it already fired (one-shot) or never existed. */
  tp_status (*timer_cancel)(tp_host* host, uint64_t timer_id);
  /* Sections: asks to be marked dirty at wall time at_ms (epoch ms), so a
   * value that changes with time alone reaches the read models. Idempotent
   * per (instance, at_ms); times in the past fire at once. */
  tp_status (*wake_at)(tp_host* host, int64_t at_ms);

  /* --- 1.0: events ------------------------------------------------------ */
  /* Emits one event: journaled first, then delivered by the bus. kind must
   * satisfy the kind grammar; payload must be a JSON value (empty = {}).
   * The event's source is "plugin:<plugin id>". On success *out_id (if not
   * NULL) holds its journal id. Blocks until committed; never call it from
   * on_event. TP_INVALID_ARG (grammar, JSON, a stream kind, or a kind the
   * host owns: config.*, governor.*, ... as docs/abi-policy.md lists them),
   * TP_UNAVAILABLE (journal down). */
  tp_status (*emit)(tp_host* host, tp_str kind, tp_str payload_json, int64_t* out_id);

  /* --- 1.0: memory that crosses ---------------------------------------- */
  /* Allocates size bytes that the other side may free with free_buf.
   * Returns NULL when out of memory. */
  void* (*alloc)(tp_host* host, size_t size);
  /* Frees a buffer from alloc. NULL is a no-op. */
  void (*free_buf)(tp_host* host, void* ptr);

  /* --- 1.2: journal reads and job reports (orchestrators) -------------- */
  /* Writes up to `limit` journal rows with id > after_id whose kind starts
   * with kind_prefix (empty = every kind) to out, ascending by id, one
   * compact JSON envelope {id,time,kind,payload,source,node?} per
   * line, each line ending in '\n'. Fewer than `limit` lines means the journal
   * holds no more such rows now. limit 0 = the host's page size (1000).
   * TP_UNAVAILABLE when the journal is down. Any thread, blocking on a read. */
  tp_status (*journal_read)(tp_host* host, int64_t after_id, tp_str kind_prefix, uint64_t limit,
                            const tp_writer* out);
  /* Reports on a job the host started through tp_orchestrator_desc.start_job.
   * kind is TP_JOB_PROGRESS ({stage_index: 1..5}), TP_JOB_RESULT ({manifest, result,
   * cache?}: cache is served back by state_read) or TP_JOB_FAILED ({error}); json is that object.
   * The host owns the job's state, its events and its logic unit: it commits
   * the report (a result as one transaction with the unit) before returning.
   * TP_NOT_FOUND: the job is unknown or no longer running (cancelled, timed
   * out, or finished); the orchestrator stops working on it. TP_INVALID_ARG:
   * the JSON does not fit kind. TP_UNAVAILABLE: the commit failed. */
  tp_status (*job_report)(tp_host* host, tp_str job_id, uint32_t kind, tp_str json);

  /* --- 1.2: ingest (sources) -------------------------------------------- */
  /* Validates `count` messages a source received (tp_ingest_line, below) as
   * POST /events/ingest validates its lines, and journals every valid one in
   * one transaction, with the source's descriptor name as the event source
   * and each line's node. Invalid lines are dropped and counted in
   * arw_events_rejected_total{source,reason}; the call still succeeds. On
   * TP_OK everything valid is committed and *out_accepted (if not NULL) holds
   * how many lines were. TP_UNAVAILABLE: the journal is down and nothing was
   * committed (a JetStream source naks and gets the batch again).
   * TP_UNSUPPORTED: the caller is not a source instance. Any thread the
   * source owns, blocking until committed; never from another callback. */
  tp_status (*ingest_lines)(tp_host* host, const struct tp_ingest_line* lines, size_t count,
                            uint64_t* out_accepted);

  /* Later minors append slots here (journal reads, patch subscription,
   * action registration, job reporting): docs/abi-policy.md. */
} tp_host_api;

/* ------------------------------------------------------------------------ */
/* Descriptors: what a plugin provides                                      */
/* ------------------------------------------------------------------------ */

/* tp_descriptor.kind */
#define TP_KIND_SECTION 1
#define TP_KIND_ORCHESTRATOR 2  /* descriptor arrives in a 1.x minor */
#define TP_KIND_LOGIC_APPLIER 3 /* descriptor arrives in a 1.x minor */
#define TP_KIND_EXPORTER 4      /* tp_exporter_desc, since 1.1 */
#define TP_KIND_SOURCE 5        /* tp_source_desc, since 1.2 */

/* The common prefix of every descriptor. The host reads struct_size and kind,
 * then the kind's own struct. Descriptors are static data in the library and
 * must stay valid (and unchanged) for the life of the process. */
typedef struct tp_descriptor {
  uint32_t struct_size;
  uint32_t kind;     /* TP_KIND_* */
  const char* name;  /* NUL-terminated; sections: the snapshot key */
} tp_descriptor;

/*
 * Threading contract (rule 12), for every kind:
 *  - create, start, stop and destroy run on the host's control thread, one
 *    instance at a time, never concurrently with any other callback of the
 *    same instance.
 *  - every other callback of an instance (on_event, reset, render, timer
 *    callbacks) runs on that instance's own executor thread: serialised per
 *    instance, so a plugin needs no locks for its own state.
 *  - the host holds none of its own locks while it calls a plugin.
 * Calls into the host API may be made from any callback unless the slot says
 * otherwise, and from threads the plugin owns (between start and stop).
 */

/* A telemetry section: consumes events, renders one snapshot key. */
typedef struct tp_section_desc {
  uint32_t struct_size;
  uint32_t kind;     /* TP_KIND_SECTION */
  const char* name;  /* the snapshot key, e.g. "events" */

  /* Creates an instance. config_json is the validated config block (compact
   * JSON object). The plugin keeps `api` and `host` for later calls; both
   * outlive the instance. On success *out_ctx is the plugin's state, passed
   * back to every other callback. On failure the host marks the plugin
   * failed with err->message; no other callback follows. */
  tp_status (*create)(const tp_host_api* api, tp_host* host, tp_str config_json, void** out_ctx,
                      tp_error* err);
  /* Starts work (threads, timers). Events may arrive as soon as it returns. */
  tp_status (*start)(void* ctx, tp_error* err);
  /* Stops: no callback of this instance starts after stop is called, except
   * destroy. The plugin joins its own threads before returning. The host
   * waits a bounded time (its stop timeout, TPARK_PLUGIN_STOP_TIMEOUT_MS,
   * default 2000, for draining the executor and stop together) and then
   * abandons the instance, leaking it, and logs that it did. */
  tp_status (*stop)(void* ctx, tp_error* err);
  /* Frees everything the instance owns. Nothing is called after it. */
  tp_status (*destroy)(void* ctx);

  /* Drops all aggregates: called before (re-)priming. The host then delivers
   * rows with TP_EVENT_REPLAY for windows, then rows since the host's start
   * without it (counters are recounted), then live events. */
  tp_status (*reset)(void* ctx);
  /* One event whose kind matches a prefix in the manifest's `subscribes`.
   * Events arrive in journal id order. Must not block: it runs on the
   * executor that also renders, so a blocked on_event makes every render
   * queued behind it time out (the section is null with "timeout", blamed on
   * render). A non-OK status is counted in the plugin's health and logged;
   * delivery continues. A plugin without a tp_error explains a failure with
   * an error-level log line during the call: it becomes last_error. */
  tp_status (*on_event)(void* ctx, const tp_event_view* event);
  /* Writes the section's JSON value to out. Sets *out_changed to 1 if the
   * value may differ from the previous render, 0 if it is the same (the host
   * may then reuse its copy). The host stops waiting for a render after
   * ARW_TELEMETRY_SECTION_TIMEOUT_MS (default 200): the section is then null
   * with "timeout" in the snapshot. A non-OK status makes it null with
   * "failed"; output that is not JSON, null with "invalid_output". Either is
   * counted in the plugin's health, with the error-level line the plugin
   * logged during the call (if any) as last_error in GET /admin/plugins. */
  tp_status (*render)(void* ctx, const tp_writer* out, int32_t* out_changed);
  /* How many of the newest journal rows per subscribed prefix the instance
   * wants while priming (its window size). 0 = none. May be NULL (= 0). */
  tp_status (*prime_rows)(void* ctx, uint64_t* out_rows);
} tp_section_desc;

/* ------------------------------------------------------------------------ */
/* 1.1: the exporter kind                                                   */
/* ------------------------------------------------------------------------ */

/* tp_export_item.type: what one item of a batch carries. */
#define TP_EXPORT_SNAPSHOT 1 /* the telemetry snapshot, the body of
                                GET /state/training/telemetry (JSON text) */
#define TP_EXPORT_PATCH 2    /* one read-model patch frame, JSON text
                                {id, instance_id, version, base_version, patch}
                                with patch an RFC 6902 array (docs/live.md) */
#define TP_EXPORT_METRICS 3  /* the host's metric samples, in the Prometheus
                                text exposition format 0.0.4 (as GET /metrics) */

/* tp_exporter_desc.wants: which items the host queues for the exporter. */
#define TP_EXPORT_WANTS_SNAPSHOTS 0x1u
#define TP_EXPORT_WANTS_PATCHES 0x2u
#define TP_EXPORT_WANTS_METRICS 0x4u

/* One item of a batch. body points into host memory valid only during the
 * export_batch call: an exporter that keeps it copies it (rule 9). */
typedef struct tp_export_item {
  uint32_t struct_size;
  uint32_t type;   /* TP_EXPORT_* */
  int64_t time_ms; /* when the host produced it, epoch ms (UTC) */
  tp_str body;     /* JSON text (snapshot, patch) or Prometheus text (metrics) */
} tp_export_item;

/* What export_batch receives. Items are in the order the host produced them.
 * A batch the exporter answered TP_RETRY comes back unchanged (same sequence,
 * attempt + 1) after the host's backoff; nothing newer overtakes it. */
typedef struct tp_export_batch {
  uint32_t struct_size;
  uint32_t attempt;   /* 0 on first delivery, n on the n-th retry */
  uint64_t sequence;  /* per instance, 1, 2, ...; the same on a retry */
  const tp_export_item* const* items; /* item_count pointers */
  size_t item_count;
} tp_export_batch;

/* An exporter: the host pushes what it asked for to a sink of its own
 * (a file, a push gateway, a message bus). Threading: create, start, stop and
 * destroy on the control thread; export_batch on the instance's own worker
 * thread, one call at a time, never on the bus or an HTTP thread (rule 12).
 * The host owns buffering, retry and backoff: each instance has its own
 * bounded queue; when it is full the oldest items are dropped and counted;
 * an instance whose export_batch has not returned within the host's stall
 * time, or that drops, is reported unhealthy in GET /admin/plugins. */
typedef struct tp_exporter_desc {
  uint32_t struct_size;
  uint32_t kind;    /* TP_KIND_EXPORTER */
  const char* name; /* the exporter's name, e.g. "jsonl" */

  uint32_t wants;               /* TP_EXPORT_WANTS_* bits */
  uint32_t max_batch_items;     /* at most this many items per batch; 0 = host default (64) */
  int64_t snapshot_interval_ms; /* snapshots and metrics every this many ms;
                                   0 = host default (10000) */

  /* As for sections (tp_section_desc). */
  tp_status (*create)(const tp_host_api* api, tp_host* host, tp_str config_json, void** out_ctx,
                      tp_error* err);
  tp_status (*start)(void* ctx, tp_error* err);
  /* After stop is called no export_batch starts; the host first drains the
   * queue (delivering what it holds, without retries) and joins the worker. */
  tp_status (*stop)(void* ctx, tp_error* err);
  tp_status (*destroy)(void* ctx);

  /* Delivers one batch. TP_OK: delivered, the host forgets it. TP_RETRY:
   * transient failure, the host delivers the same batch again after a
   * backoff. Any other status: the batch is dropped and counted, with
   * err->message as the exporter's last_error. */
  tp_status (*export_batch)(void* ctx, const tp_export_batch* batch, tp_error* err);
} tp_exporter_desc;

/* ------------------------------------------------------------------------ */
/* Negotiation: the one entry point                                         */
/* ------------------------------------------------------------------------ */

/*
 * The host zero-fills a tp_negotiate, sets struct_size to its sizeof and the
 * host_* fields, and calls tp_plugin_entry. The plugin fills the plugin_*
 * fields that lie inside struct_size and returns TP_OK, or returns an error
 * with err->message (e.g. "needs a newer host"). The host then checks:
 *  - plugin_abi_major == host_abi_major, else refused ("ABI major 2, host 1");
 *  - plugin_min_host_minor <= host_abi_minor, else refused
 *    ("needs host ABI 1.3, host is 1.0");
 *  - each descriptor's struct_size >= the size its kind had in the minor
 *    that introduced it (sections 1.0, exporters 1.1), else refused; a
 *    larger struct_size (a newer plugin) is fine: the host reads what it
 *    knows. A plugin with an exporter descriptor answers min host minor 1.
 * tp_plugin_entry runs on the control thread, once per process per library.
 * It must not call the host API except to keep `host_api` for later.
 */
typedef struct tp_negotiate {
  uint32_t struct_size;
  /* in: what the host offers */
  uint32_t host_abi_major;
  uint32_t host_abi_minor;
  const tp_host_api* host_api; /* valid for the life of the process */
  /* out: what the plugin answers */
  uint32_t plugin_abi_major;      /* must equal host_abi_major */
  uint32_t plugin_abi_minor;      /* the minor the plugin was built against */
  uint32_t plugin_min_host_minor; /* the lowest host minor it can run on */
  uint32_t descriptor_count;
  const tp_descriptor* const* descriptors; /* static, descriptor_count entries */
} tp_negotiate;

typedef tp_status (*tp_plugin_entry_fn)(tp_negotiate* negotiate, tp_error* err);

/* Declared here so that plugins get the exact signature checked; defined once
 * by each plugin library. */
TP_EXPORT tp_status tp_plugin_entry(tp_negotiate* negotiate, tp_error* err);

/* ======================================================================== */
/* ABI 1.2: the orchestrator and logic-unit applier kinds                   */
/* (appended; every 1.0 and 1.1 layout is unchanged; host API slots         */
/* journal_read and job_report are appended to tp_host_api above)          */
/* ======================================================================== */

/* tp_host_api.job_report kinds. */
#define TP_JOB_PROGRESS 1 /* {stage_index}: entering stage 1..5 */
#define TP_JOB_RESULT 2   /* {manifest, result}: the job's logic unit */
#define TP_JOB_FAILED 3   /* {error}: a non-empty message */

/* One training job as the host hands it to an orchestrator. Every tp_str
 * points into host memory valid only during start_job: copy what you keep. */
typedef struct tp_job_view {
  uint32_t struct_size;
  uint32_t attempt;    /* 1 on the first run, n after n - 1 restarts */
  tp_str job_id;
  tp_str request_json; /* {job_id, goal, created, mode, request: <meta>,
                          base: {env, hints}, window: {since_id, until_id},
                          stage_delay_ms} (docs/training.md) */
  int64_t since_id;    /* the journal window: since_id < id <= until_id */
  int64_t until_id;
} tp_job_view;

/* An orchestrator runs training jobs (docs/training.md). The host owns the job
 * table, the queue, concurrency, timeouts and cancellation; the plugin
 * computes and reports through tp_host_api.job_report, reading the journal
 * through tp_host_api.journal_read. A library with this descriptor answers
 * plugin_min_host_minor = 2. */
typedef struct tp_orchestrator_desc {
  uint32_t struct_size;
  uint32_t kind;    /* TP_KIND_ORCHESTRATOR */
  const char* name; /* e.g. "local" */

  /* As for sections (tp_section_desc). stop joins every thread the plugin
   * started for jobs; the host reports no job after stop returns. */
  tp_status (*create)(const tp_host_api* api, tp_host* host, tp_str config_json, void** out_ctx,
                      tp_error* err);
  tp_status (*start)(void* ctx, tp_error* err);
  tp_status (*stop)(void* ctx, tp_error* err);
  tp_status (*destroy)(void* ctx);

  /* Starts one job and returns at once; the work runs on the plugin's own
   * thread, which reports progress, result or failure with job_report.
   * Called from any host thread, possibly concurrently: the plugin
   * synchronises its own state. A non-OK status fails the job with
   * err->message. */
  tp_status (*start_job)(void* ctx, const tp_job_view* job, tp_error* err);
  /* The host cancelled the job (or gave up on it): stop at the next
   * checkpoint. Returns at once; any host thread. Unknown ids are TP_OK. */
  tp_status (*cancel_job)(void* ctx, tp_str job_id);
} tp_orchestrator_desc;

/* A logic-unit applier computes patches for the config domains it owns
 * (docs/training.md) from inside the host's action: the host owns the action
 * pipeline, leases, staging, the transaction and the snapshots. Each call
 * writes one JSON object {document, diff_summary, json_patch, safety_issues}
 * to out, or refuses with a status and err->message (TP_INVALID_ARG: a bad
 * patch, the message names its path; TP_NOT_FOUND: a jsonpatch test or
 * replace/remove target failed). Calls are serialised per instance. A
 * library with this descriptor answers plugin_min_host_minor = 2. */
typedef struct tp_applier_desc {
  uint32_t struct_size;
  uint32_t kind;    /* TP_KIND_LOGIC_APPLIER */
  const char* name; /* e.g. "logic-units" */

  tp_status (*create)(const tp_host_api* api, tp_host* host, tp_str config_json, void** out_ctx,
                      tp_error* err);
  tp_status (*start)(void* ctx, tp_error* err);
  tp_status (*stop)(void* ctx, tp_error* err);
  tp_status (*destroy)(void* ctx);

  /* The roots of the patch document it owns ("env", "governor", ...),
   * NULL-terminated, static for the life of the process. */
  const char* const* roots;
  /* document_json: the current patch document; patches_json: the unit's
   * patches array. Neither changes anything: the host commits. */
  tp_status (*dry_run)(void* ctx, tp_str document_json, tp_str patches_json, const tp_writer* out,
                       tp_error* err);
  tp_status (*apply)(void* ctx, tp_str document_json, tp_str patches_json, const tp_writer* out,
                     tp_error* err);
  /* snapshot_json: the patch document of the snapshot to restore. */
  tp_status (*revert)(void* ctx, tp_str document_json, tp_str snapshot_json, const tp_writer* out,
                      tp_error* err);
} tp_applier_desc;

/* ======================================================================== */
/* ABI 1.2 (appended): the source kind and tp_host_api.ingest_lines         */
/* ======================================================================== */

/* One message a source hands to ingest_lines. Every tp_str is borrowed for
 * the call. */
typedef struct tp_ingest_line {
  uint32_t struct_size;
  uint32_t flags;    /* reserved, 0 */
  tp_str body;       /* one JSON object {time?, kind?, payload?}; other keys
                        are ignored */
  tp_str node;       /* the origin node the transport names (len 0: none);
                        it must be 1-64 bytes of [A-Za-z0-9_-] (invalid_node) */
  tp_str kind_hint;  /* the kind the transport names (e.g. the rest of a NATS
                        subject), used when the body has none; when both
                        exist and differ after alias folding the line is
                        rejected as kind_mismatch. len 0: none */
  tp_str rejected;   /* non-empty: the source already refused this message
                        for this reason (e.g. "self_node"); the host only
                        counts it */
} tp_ingest_line;

/* A source brings events from outside into the journal (a message bus, a
 * log tail). It runs its own threads between start and stop and hands what
 * it receives to tp_host_api.ingest_lines; the host validates, journals and
 * counts. A source may not emit host-owned kinds (the host rejects them as
 * reserved_kind). A library with this descriptor answers
 * plugin_min_host_minor = 2. */
typedef struct tp_source_desc {
  uint32_t struct_size;
  uint32_t kind;    /* TP_KIND_SOURCE */
  const char* name; /* the events' source, e.g. "nats" */

  /* As for sections (tp_section_desc). stop joins the source's threads; the
   * host takes no ingest_lines call after stop returns. */
  tp_status (*create)(const tp_host_api* api, tp_host* host, tp_str config_json, void** out_ctx,
                      tp_error* err);
  tp_status (*start)(void* ctx, tp_error* err);
  tp_status (*stop)(void* ctx, tp_error* err);
  tp_status (*destroy)(void* ctx);

  /* Writes the source's state as one JSON object to out (connection, counts;
   * shown in GET /admin/plugins). TP_OK while the source is connected;
   * TP_UNAVAILABLE while its upstream is unreachable, with err->message
   * saying why (the plugin's health then shows it). Any host thread,
   * possibly concurrently with the source's own threads; must not block. */
  tp_status (*status)(void* ctx, const tp_writer* out, tp_error* err);
} tp_source_desc;

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* TPARK_TP_PLUGIN_H */
