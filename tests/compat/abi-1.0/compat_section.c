/* The ABI 1.0 compatibility fixture: a section plugin compiled against the
 * pinned copy of the 1.0 header (tp_plugin_v1_0.h, never edited). Every 1.x
 * host must load it and render it; if a change to tp_plugin.h breaks that,
 * the change broke the ABI.
 *
 * It renders {"abi":"1.0","host_minor":M,"events":N,"replayed":R}: the
 * host minor it was offered, and the live and replayed events it saw. */
#include <stdio.h>
#include <stdlib.h>

#include "tp_plugin_v1_0.h"

typedef struct compat_state {
  uint32_t host_minor;
  uint64_t events;
  uint64_t replayed;
} compat_state;

static uint32_t offered_host_minor;

static tp_status create(const tp_host_api* api, tp_host* host, tp_str config, void** out_ctx,
                        tp_error* err) {
  compat_state* state;
  (void)host, (void)config, (void)err;
  if (api == NULL || api->struct_size < sizeof(tp_host_api)) return TP_INVALID_ARG;
  state = (compat_state*)calloc(1, sizeof *state);
  if (state == NULL) return TP_NO_MEMORY;
  state->host_minor = offered_host_minor;
  *out_ctx = state;
  return TP_OK;
}
static tp_status start_or_stop(void* ctx, tp_error* err) {
  (void)ctx, (void)err;
  return TP_OK;
}
static tp_status destroy(void* ctx) {
  free(ctx);
  return TP_OK;
}
static tp_status reset(void* ctx) {
  compat_state* state = (compat_state*)ctx;
  state->events = 0;
  state->replayed = 0;
  return TP_OK;
}
static tp_status on_event(void* ctx, const tp_event_view* event) {
  compat_state* state = (compat_state*)ctx;
  if (event->flags & TP_EVENT_REPLAY)
    ++state->replayed;
  else
    ++state->events;
  return TP_OK;
}
static tp_status render(void* ctx, const tp_writer* out, int32_t* out_changed) {
  const compat_state* state = (const compat_state*)ctx;
  char text[160];
  tp_str bytes;
  int n = snprintf(text, sizeof text, "{\"abi\":\"1.0\",\"host_minor\":%u,\"events\":%llu,\"replayed\":%llu}",
                   (unsigned)state->host_minor, (unsigned long long)state->events,
                   (unsigned long long)state->replayed);
  bytes.ptr = text;
  bytes.len = (size_t)n;
  *out_changed = 1;
  return out->write(out->writer_ctx, bytes);
}

static const tp_section_desc compat_section = {
    sizeof(tp_section_desc), TP_KIND_SECTION, "compat_abi_1_0", create, start_or_stop,
    start_or_stop, destroy, reset, on_event, render, NULL};
static const tp_descriptor* const descriptors[] = {(const tp_descriptor*)&compat_section};

tp_status tp_plugin_entry(tp_negotiate* negotiate, tp_error* err) {
  (void)err;
  offered_host_minor = negotiate->host_abi_minor;
  negotiate->plugin_abi_major = TP_ABI_MAJOR;
  negotiate->plugin_abi_minor = TP_ABI_MINOR;
  negotiate->plugin_min_host_minor = 0;
  negotiate->descriptor_count = 1;
  negotiate->descriptors = descriptors;
  return TP_OK;
}
