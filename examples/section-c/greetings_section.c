/* example.section.greetings: a telemetry section in plain C99 against the
 * installed tpark SDK. It counts the events whose kind starts with
 * "example.greeting" (live ones only: replayed rows fill no counter) and
 * renders {"greeting": <its config>, "count": N, "last_node": "..."}.
 *
 * Every callback of an instance runs serialised on the instance's executor
 * (tp_plugin.h "Threading contract"), so the state needs no lock. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tpark/tp_plugin.h>

#define GREETING_BYTES 64
#define NODE_BYTES 64

typedef struct greetings {
  char greeting[GREETING_BYTES];
  char last_node[NODE_BYTES];
  unsigned long long count;
  int changed;
} greetings;

/* Copies a borrowed tp_str into a NUL-terminated buffer, truncating. */
static void copy_str(char* dst, size_t dst_size, tp_str src) {
  size_t n = src.len < dst_size - 1 ? src.len : dst_size - 1;
  if (n > 0) memcpy(dst, src.ptr, n);
  dst[n] = '\0';
}

/* The config block is {"greeting":"..."} (defaults filled in by the host).
 * A real plugin would use a JSON parser; this one only needs one string
 * without escapes, and falls back to "hello". */
static void read_greeting(tp_str config, char* out, size_t out_size) {
  static const char key[] = "\"greeting\":\"";
  const char* end = config.ptr + config.len;
  const char* p = config.ptr;
  strcpy(out, "hello");
  for (; p + sizeof key - 1 <= end; ++p) {
    if (memcmp(p, key, sizeof key - 1) == 0) {
      const char* value = p + sizeof key - 1;
      const char* close = value;
      while (close < end && *close != '"' && *close != '\\') ++close;
      if (close < end && *close == '"') {
        tp_str s;
        s.ptr = value;
        s.len = (size_t)(close - value);
        copy_str(out, out_size, s);
      }
      return;
    }
  }
}

static tp_status create(const tp_host_api* api, tp_host* host, tp_str config_json, void** out_ctx,
                        tp_error* err) {
  greetings* g;
  (void)api, (void)host;
  g = (greetings*)calloc(1, sizeof *g);
  if (g == NULL) {
    if (err != NULL) snprintf(err->message, sizeof err->message, "out of memory");
    return TP_NO_MEMORY;
  }
  read_greeting(config_json, g->greeting, sizeof g->greeting);
  g->changed = 1;
  *out_ctx = g;
  return TP_OK;
}

static tp_status start(void* ctx, tp_error* err) {
  (void)ctx, (void)err;
  return TP_OK;
}

static tp_status stop(void* ctx, tp_error* err) {
  (void)ctx, (void)err;
  return TP_OK;
}

static tp_status destroy(void* ctx) {
  free(ctx);
  return TP_OK;
}

static tp_status reset(void* ctx) {
  greetings* g = (greetings*)ctx;
  g->count = 0;
  g->last_node[0] = '\0';
  g->changed = 1;
  return TP_OK;
}

static tp_status on_event(void* ctx, const tp_event_view* event) {
  greetings* g = (greetings*)ctx;
  if (event->flags & TP_EVENT_REPLAY) return TP_OK;
  ++g->count;
  copy_str(g->last_node, sizeof g->last_node, event->node);
  g->changed = 1;
  return TP_OK;
}

/* Writes a JSON string with the characters that need it escaped. */
static tp_status write_json_string(const tp_writer* out, const char* text) {
  char buffer[2 * NODE_BYTES + 8];
  size_t n = 0;
  tp_str bytes;
  buffer[n++] = '"';
  for (; *text != '\0'; ++text) {
    unsigned char c = (unsigned char)*text;
    if (c == '"' || c == '\\') {
      buffer[n++] = '\\';
      buffer[n++] = (char)c;
    } else if (c >= 0x20) {
      buffer[n++] = (char)c;
    }
  }
  buffer[n++] = '"';
  bytes.ptr = buffer;
  bytes.len = n;
  return out->write(out->writer_ctx, bytes);
}

static tp_status write_text(const tp_writer* out, const char* text) {
  tp_str bytes;
  bytes.ptr = text;
  bytes.len = strlen(text);
  return out->write(out->writer_ctx, bytes);
}

static tp_status render(void* ctx, const tp_writer* out, int32_t* out_changed) {
  greetings* g = (greetings*)ctx;
  char count[48];
  tp_status s;
  snprintf(count, sizeof count, ",\"count\":%llu,\"last_node\":", g->count);
  if ((s = write_text(out, "{\"greeting\":")) != TP_OK) return s;
  if ((s = write_json_string(out, g->greeting)) != TP_OK) return s;
  if ((s = write_text(out, count)) != TP_OK) return s;
  if (g->last_node[0] == '\0') {
    s = write_text(out, "null");
  } else {
    s = write_json_string(out, g->last_node);
  }
  if (s != TP_OK) return s;
  if ((s = write_text(out, "}")) != TP_OK) return s;
  *out_changed = g->changed;
  g->changed = 0;
  return TP_OK;
}

static const tp_section_desc greetings_section = {
    sizeof(tp_section_desc), TP_KIND_SECTION, "greetings", create, start, stop, destroy, reset,
    on_event, render, NULL};

static const tp_descriptor* const descriptors[] = {(const tp_descriptor*)&greetings_section};

tp_status tp_plugin_entry(tp_negotiate* negotiate, tp_error* err) {
  if (negotiate->host_abi_major != TP_ABI_MAJOR) {
    if (err != NULL) snprintf(err->message, sizeof err->message, "built for ABI major %d", TP_ABI_MAJOR);
    return TP_UNSUPPORTED;
  }
  negotiate->plugin_abi_major = TP_ABI_MAJOR;
  negotiate->plugin_abi_minor = TP_ABI_MINOR;
  negotiate->plugin_min_host_minor = 0;
  negotiate->descriptor_count = 1;
  negotiate->descriptors = descriptors;
  return TP_OK;
}
