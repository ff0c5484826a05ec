// What the browser tests and the page benchmark share: a real tpark-host (and
// the agent simulator) as child processes, a Chromium driven by
// playwright-core, and small HTTP helpers.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const sourceRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

// playwright-core lives in ui/node_modules (ui/package.json, npm ci).
export async function loadChromium() {
  const entry = join(sourceRoot, 'ui/node_modules/playwright-core/index.mjs');
  const { chromium } = await import(pathToFileURL(entry).href);
  return chromium;
}

export const CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic',
  '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

// A fresh profile per run (launchPersistentContext's user-data-dir).
export async function launchBrowser(viewport = { width: 1280, height: 800 }) {
  const chromium = await loadChromium();
  const profile = mkdtempSync(join(tmpdir(), 'tpark-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.TPARK_CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: CHROMIUM_FLAGS,
    viewport,
    acceptDownloads: true,
  });
  return {
    context,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

export function parseArgs(argv) {
  const out = {};
  for (let i = 0; i < argv.length; i++) {
    if (!argv[i].startsWith('--')) continue;
    const key = argv[i].slice(2);
    const next = argv[i + 1];
    if (next === undefined || next.startsWith('--')) out[key] = true;
    else { out[key] = next; i++; }
  }
  return out;
}

// tpark-host on `listen` (port 0 picks one), resolved once it logs
// "listening on ADDR". The state dir survives stop(), so a restart on the
// same address and state dir is the same host coming back.
export class Host {
  constructor({ binary, env = {}, stateDir, listen = '127.0.0.1:0' }) {
    this.binary = binary;
    this.env = env;
    this.stateDir = stateDir || mkdtempSync(join(tmpdir(), 'tpark-ui-state-'));
    this.listen = listen;
    this.log = '';
    this.child = null;
  }

  async start() {
    this.log = '';
    this.child = spawn(this.binary, ['--listen', this.listen, '--state-dir', this.stateDir], {
      env: { ...process.env, ...this.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.exited = exited;
    const bound = await new Promise((resolvePromise, reject) => {
      const timer = setTimeout(() => reject(new Error(`tpark-host did not listen:\n${this.log}`)), 20000);
      const onData = (chunk) => {
        this.log += chunk;
        const m = /listening on (\S+)/.exec(this.log);
        if (m) { clearTimeout(timer); resolvePromise(m[1]); }
      };
      this.child.stdout.on('data', onData);
      this.child.stderr.on('data', onData);
      exited.then((code) => { clearTimeout(timer); reject(new Error(`tpark-host exited ${code}:\n${this.log}`)); });
    });
    this.listen = bound;
    this.base = `http://${bound}`;
    return this.base;
  }

  async stop() {
    if (!this.child || this.child.exitCode !== null) return;
    this.child.kill('SIGTERM');
    await this.exited;
  }

  cleanup() {
    rmSync(this.stateDir, { recursive: true, force: true });
  }
}

export function startSimulator(binary, base, { rate, token }) {
  const child = spawn(binary, ['--target', base, '--rate', String(rate)], {
    env: { ...process.env, ARW_ADMIN_TOKEN: token },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  child.stderr.on('data', (c) => { log += c; });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  return {
    log: () => log,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

export async function request(base, token, path, { method = 'GET', body, contentType } = {}) {
  const headers = { Authorization: `Bearer ${token}` };
  if (body !== undefined) headers['Content-Type'] = contentType || 'application/json';
  const res = await fetch(base + path, {
    method, headers,
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let data = text;
  try { data = JSON.parse(text); } catch { /* not JSON */ }
  return { status: res.status, headers: res.headers, data };
}

export async function waitFor(what, predicate, timeoutMs = 10000, intervalMs = 100) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await predicate();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
