// The page's one live connection: GET /events read with fetch() and a
// ReadableStream (the Authorization header goes with it; EventSource cannot
// send one), read-model patches applied client-side, resumed with
// Last-Event-ID. The client protocol is docs/live.md's: prime each model with
// GET /state/read_models/{id} after service.connected, apply a patch when its
// base_version is ours, ignore old ones, re-prime on a gap or a new instance.
import { applyPatch } from '/ui/vendor/core.mjs';

const STALE_AFTER_MS = 25000; // the host sends a keep-alive every 10 s
const MAX_BACKOFF_MS = 5000;

export class Unauthorized extends Error {}

// One API call with the token; throws Unauthorized on 401 and an Error
// carrying the problem body otherwise.
export async function api(token, path, { method = 'GET', body, signal } = {}) {
  const headers = {};
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(path, {
    method, headers, signal, cache: 'no-store',
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (res.status === 401) throw new Unauthorized('the admin token was refused');
  const type = res.headers.get('content-type') || '';
  const data = type.includes('json') ? await res.json() : await res.text();
  if (!res.ok) {
    const err = new Error((data && data.detail) || `${method} ${path}: HTTP ${res.status}`);
    err.status = res.status;
    err.problem = data;
    throw err;
  }
  return { status: res.status, data };
}

export class LiveConnection {
  // models: read-model ids; prefixes: event kind prefixes besides the patches.
  // on: {model(id, value), event(kind, envelope), state(name, detail)}
  constructor({ token, models, prefixes, on }) {
    this.token = token;
    this.models = models;
    this.prefixes = prefixes;
    this.on = on;
    this.lastEventId = null;
    this.instanceId = null;
    this.store = new Map(); // id -> {version, value}
    this.backoffMs = 500;
    this.stopped = false;
    this.controller = null;
    this.staleTimer = null;
  }

  start() {
    this.stopped = false;
    this.loop();
  }

  stop() {
    this.stopped = true;
    if (this.controller) this.controller.abort();
    clearTimeout(this.staleTimer);
  }

  async loop() {
    while (!this.stopped) {
      try {
        await this.connectOnce();
        if (this.stopped) return;
        this.on.state('retrying', 'the stream ended');
      } catch (err) {
        if (this.stopped) return;
        if (err instanceof Unauthorized) {
          this.on.state('unauthorized', err.message);
          return;
        }
        this.on.state('retrying', err.message || String(err));
      }
      await new Promise((resolve) => setTimeout(resolve, this.backoffMs));
      this.backoffMs = Math.min(MAX_BACKOFF_MS, this.backoffMs * 2);
    }
  }

  async connectOnce() {
    this.on.state('connecting');
    this.controller = new AbortController();
    const query = new URLSearchParams({
      read_models: this.models.join(','),
      prefix: ['state.read.model.patch', ...this.prefixes].join(','),
    });
    const headers = { Accept: 'text/event-stream' };
    if (this.token) headers.Authorization = `Bearer ${this.token}`;
    if (this.lastEventId !== null) headers['Last-Event-ID'] = this.lastEventId;
    const res = await fetch(`/events?${query}`, {
      headers, signal: this.controller.signal, cache: 'no-store',
    });
    if (res.status === 401) throw new Unauthorized('the admin token was refused');
    if (!res.ok || !res.body) throw new Error(`GET /events: HTTP ${res.status}`);

    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    this.armStale();
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        this.armStale();
        buffer += value;
        let end;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const frame = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          await this.handleFrame(frame);
        }
      }
    } finally {
      clearTimeout(this.staleTimer);
      reader.cancel().catch(() => {});
    }
  }

  // No byte for STALE_AFTER_MS: the connection is dead even if TCP says not.
  armStale() {
    clearTimeout(this.staleTimer);
    this.staleTimer = setTimeout(() => {
      this.on.state('stale', 'no data from the host');
      if (this.controller) this.controller.abort();
    }, STALE_AFTER_MS);
  }

  async handleFrame(frame) {
    let kind = 'message';
    let id = null;
    let data = '';
    for (const line of frame.split('\n')) {
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'event') kind = value;
      else if (field === 'id') id = value;
      else if (field === 'data') data += value;
    }
    if (id !== null) this.lastEventId = id;
    if (!data) return;
    const envelope = JSON.parse(data);
    if (kind === 'service.connected') {
      this.instanceId = envelope.payload.instance_id;
      await this.primeAll();
      this.backoffMs = 500;
      this.on.state('live', this.instanceId);
    } else if (kind === 'state.read.model.patch') {
      await this.applyModelPatch(envelope.payload);
    } else if (kind === 'events.lagged') {
      // The host closes after this frame; the reconnect resumes from its id.
    } else {
      this.on.event(kind, envelope);
    }
  }

  async primeAll() {
    await Promise.all(this.models.map((id) => this.prime(id)));
  }

  async prime(id) {
    const { data } = await api(this.token, `/state/read_models/${encodeURIComponent(id)}`, {
      signal: this.controller ? this.controller.signal : undefined,
    });
    this.instanceId = data.instance_id;
    this.store.set(id, { version: data.version, value: data.value });
    this.on.model(id, data.value);
  }

  async applyModelPatch(p) {
    const held = this.store.get(p.id);
    if (!held || p.instance_id !== this.instanceId) return this.prime(p.id);
    if (p.version <= held.version) return undefined;
    if (p.base_version !== held.version) return this.prime(p.id);
    let value;
    try {
      value = applyPatch(held.value, p.patch, false, true).newDocument;
    } catch (err) {
      return this.prime(p.id);
    }
    this.store.set(p.id, { version: p.version, value });
    this.on.model(p.id, value);
    return undefined;
  }
}
