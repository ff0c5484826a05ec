// The Training Park page (docs/ui.md). Data comes in over one LiveConnection
// (read models + control events); control goes out through the action routes.
// Rendering is batched to one animation frame, whatever the patch rate.
import uPlot from '/ui/vendor/uPlot.esm.js';
import { api, LiveConnection, Unauthorized } from '/ui/live.js';
import { el, clear, fmt, pct, ms, sparkline, describeError, morphChildren } from '/ui/dom.js';

const MODELS = ['training_metrics', 'actions', 'staging_actions', 'policy_leases', 'plugins'];
const PREFIXES = ['orchestrator.', 'logic.unit.', 'staging.', 'leases.', 'config.', 'preset.',
  'governor.', 'policy.'];
const JOB_FILTERS = ['all', 'queued', 'running', 'completed', 'failed', 'cancelled'];
const HISTORY_POINTS = 600;
const SPARK_POINTS = 60;
const RECENT_INLINE = 10;

const $ = (id) => document.getElementById(id);

const state = {
  token: sessionStorage.getItem('tpark.admin_token'),
  live: null,
  unauthorized: false,
  jobsLoaded: false, // until the first answer, the table says so instead of "no jobs"
  models: {},
  jobs: [],
  jobFilter: 'all',
  selectedJob: null,
  openJobs: new Set(),
  hiddenJobs: new Set(JSON.parse(localStorage.getItem('tpark.hidden_jobs') || '[]')),
  jobResults: new Map(), // job id -> {kind:'dry_run'|'apply'|'error', body}
  jobStatus: new Map(),
  recallPoints: new Map(), // journal id -> [t_s, score]
  sparks: {},
  serverHistory: [],
  localActions: [],
  timeline: [],
  presets: [],
  dirty: new Set(),
  frame: 0,
};

// ---------------------------------------------------------------- auth, errors

function setAuthState(message) {
  const banner = $('auth');
  state.unauthorized = Boolean(message);
  banner.hidden = !message;
  banner.textContent = message ? `Unauthorized: ${message}. Enter the admin token to continue.` : '';
  if (message) {
    setBadge('unauthorized');
    markDirty('jobs', 'recent');
  }
}

function showError(message) {
  const banner = $('error');
  banner.hidden = !message;
  banner.textContent = message || '';
}

// Every API call goes through here: 401 becomes the page's auth state.
async function call(path, options) {
  try {
    const result = await api(state.token, path, options);
    if (state.unauthorized) setAuthState(null);
    return result;
  } catch (err) {
    if (err instanceof Unauthorized) setAuthState(err.message);
    throw err;
  }
}

function setBadge(name, detail) {
  const badge = $('badge');
  badge.dataset.state = name;
  badge.textContent = name;
  badge.title = detail || '';
}

function askToken() {
  $('token-input').value = state.token || '';
  $('token-dialog').showModal();
}

function connect() {
  if (state.live) state.live.stop();
  state.live = new LiveConnection({
    token: state.token,
    models: MODELS,
    prefixes: PREFIXES,
    on: {
      model: onModel,
      event: onEvent,
      state: (name, detail) => {
        if (name === 'unauthorized') setAuthState(detail);
        else setBadge(name, detail);
        if (name === 'live') {
          showError(null);
          $('instance').textContent = `instance ${detail}`;
          refreshJobs();
          refreshHistory();
          refreshPresets();
        }
      },
    },
  });
  state.live.start();
}

// ---------------------------------------------------------------- data in

function onModel(id, value) {
  state.models[id] = value;
  if (id === 'training_metrics') {
    collectRecall(value);
    collectSparks(value);
    markDirty('cards', 'context', 'adjust', 'side');
  } else if (id === 'staging_actions') {
    markDirty('staging');
  } else if (id === 'policy_leases') {
    markDirty('leases');
  } else if (id === 'plugins') {
    markDirty('side');
  }
}

let jobsTimer = 0;
let historyTimer = 0;
function onEvent(kind, envelope) {
  state.timeline.unshift({ kind, time: envelope.time, id: envelope.id });
  state.timeline.length = Math.min(state.timeline.length, 50);
  markDirty('timeline');
  // Bursts of job events become one re-read.
  if (kind.startsWith('orchestrator.')) {
    clearTimeout(jobsTimer);
    jobsTimer = setTimeout(refreshJobs, 100);
  }
  if (kind.startsWith('logic.unit.')) {
    clearTimeout(historyTimer);
    historyTimer = setTimeout(refreshHistory, 100);
  }
}

async function refreshJobs() {
  try {
    const { data } = await call('/state/orchestrator/jobs?limit=100');
    state.jobs = data.items || [];
    state.jobsLoaded = true;
    for (const job of state.jobs) {
      const before = state.jobStatus.get(job.id);
      if (before && before !== job.status)
        $('job-status-live').textContent = `Job ${job.goal || job.id}: ${job.status_label || job.status}`;
      state.jobStatus.set(job.id, job.status);
    }
    markDirty('jobs');
  } catch (err) {
    if (!(err instanceof Unauthorized)) showError(`jobs: ${describeError(err)}`);
  }
}

async function refreshHistory() {
  try {
    const { data } = await call('/state/training/actions?limit=50');
    state.serverHistory = data.items || [];
    // A local entry stays until the server history holds its action.
    const known = new Set(state.serverHistory.map(historyKey));
    state.localActions = state.localActions.filter((a) => !known.has(historyKey(a)));
    markDirty('recent');
  } catch (err) {
    if (!(err instanceof Unauthorized)) showError(`history: ${describeError(err)}`);
  }
}

async function refreshPresets() {
  try {
    const { data } = await call('/state/presets');
    state.presets = data.items || [];
    const select = $('preset-select');
    const current = select.value;
    clear(select);
    for (const p of state.presets)
      select.append(el('option', { value: p.name }, `${p.name} (${p.kind}${p.risky ? ', risky' : ''})`));
    if (current) select.value = current;
    // Every hint the governor knows, set or not.
    const hints = await call('/admin/governor/hints');
    fillKeys($('hint-key'), Object.keys(hints.data || {}));
  } catch (err) {
    if (!(err instanceof Unauthorized)) showError(`presets: ${describeError(err)}`);
  }
}

function collectRecall(snapshot) {
  const recent = snapshot?.context?.recall_risk?.recent || [];
  for (const r of recent) {
    if (typeof r.score !== 'number' || state.recallPoints.has(r.id)) continue;
    state.recallPoints.set(r.id, [Date.parse(r.time) / 1000, r.score]);
  }
  if (state.recallPoints.size > HISTORY_POINTS) {
    const ids = [...state.recallPoints.keys()].sort((a, b) => a - b);
    for (const id of ids.slice(0, ids.length - HISTORY_POINTS)) state.recallPoints.delete(id);
  }
}

// One sample per new version of the snapshot, kept in the page across patches.
function collectSparks(snapshot) {
  const route = topRoute(snapshot);
  const add = (name, value) => {
    if (typeof value !== 'number') return;
    const series = (state.sparks[name] ||= []);
    series.push(value);
    if (series.length > SPARK_POINTS) series.shift();
  };
  add('ewma', route?.ewma_ms);
  add('p95', route?.p95_ms);
  add('tools', snapshot?.tools?.success_rate);
  add('cache', cacheHitRate(snapshot?.cache));
  add('events', snapshot?.events?.total);
}

function topRoute(snapshot) {
  const routes = snapshot?.routes || [];
  return routes.reduce((best, r) => (!best || r.hits > best.hits ? r : best), null);
}

function cacheHitRate(cache) {
  if (!cache) return null;
  const lookups = (cache.hit || 0) + (cache.miss || 0);
  return lookups ? cache.hit / lookups : null;
}

// ---------------------------------------------------------------- rendering

function markDirty(...parts) {
  for (const p of parts) state.dirty.add(p);
  if (!state.frame) state.frame = requestAnimationFrame(render);
}

function render() {
  state.frame = 0;
  const dirty = state.dirty;
  state.dirty = new Set();
  if (dirty.has('cards')) renderCards();
  if (dirty.has('context')) renderContext();
  if (dirty.has('adjust')) renderAdjustKeys();
  if (dirty.has('jobs')) renderJobs();
  if (dirty.has('recent')) renderRecent();
  if (dirty.has('staging')) renderStaging();
  if (dirty.has('leases')) renderLeases();
  if (dirty.has('side')) renderSideLanes();
  if (dirty.has('timeline')) renderTimeline();
}

function card(title, rows, spark, extra) {
  const body = el('dl', {}, ...rows.flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, v)]));
  return el('article', { class: 'card', 'aria-label': title }, el('h3', {}, title), body,
    spark ? sparkline(spark, `${title} trend`) : null, extra || null);
}

function renderCards() {
  const s = state.models.training_metrics;
  const cards = $('cards');
  if (!s) return;
  const route = topRoute(s);
  const cache = s.cache || {};
  const gov = s.governor || {};
  const hints = Object.entries(gov.hints || {}).filter(([, v]) => v !== null);
  const caps = s.capsules || {};
  const fb = s.feedback || {};
  const cfg = s.config || {};
  const ctx = cfg.context || {};
  morphChildren(cards, el('div', {},
    card('Route latency', [
      ['route', route ? route.path : '—'],
      ['ewma', route ? ms(route.ewma_ms) : '—'],
      ['p95', route ? ms(route.p95_ms) : '—'],
    ], state.sparks.ewma),
    card('Tools', [
      ['success rate', pct(s.tools?.success_rate)],
      ['runs', fmt(s.tools?.total_runs)],
      ['failed', fmt(s.tools?.failed)],
    ], state.sparks.tools),
    card('Cache', [
      ['hit rate', pct(cacheHitRate(cache))],
      ['stampede suppression', pct(cache.stampede_suppression_rate)],
      ['entries', fmt(cache.entries)],
    ], state.sparks.cache),
    card('Bus', [
      ['published', fmt(s.bus?.published)],
      ['lagged', fmt(s.bus?.lagged)],
      ['no receivers', fmt(s.bus?.no_receivers)],
    ], state.sparks.events),
    el('article', { class: 'card', id: 'governor-card', 'aria-label': 'Governor' },
      el('h3', {}, 'Governor'),
      el('dl', {}, el('dt', {}, 'profile'), el('dd', {}, gov.profile || '—'),
        ...hints.flatMap(([k, v]) => [el('dt', {}, k), el('dd', { 'data-hint': k }, String(v))])),
      hints.length ? null : el('p', { class: 'muted' }, 'no hints set')),
    card('Capsules', [
      ['active', fmt(caps.count)],
      ['expiring soon', fmt(caps.expiring_soon)],
      ...(caps.sample || []).slice(0, 3).map((c) => [c.id || c.capsule_id || 'capsule', c.status_label || '']),
    ], null, el('p', { class: 'muted' }, caps.accessible_summary || '')),
    card('Feedback', [
      ['signals', fmt(fb.signals?.count)],
      ['suggestions', fmt(fb.suggestions?.count)],
      ['latest cue', fb.signals?.recent?.[0]?.kind || '—'],
    ]),
    el('article', { class: 'card', id: 'config-card', 'aria-label': 'Config' },
      el('h3', {}, 'Config'),
      el('dl', {},
        el('dt', {}, 'perf preset'), el('dd', {}, cfg.perf_preset?.applied || cfg.perf_preset?.boot || '—'),
        el('dt', {}, 'context preset'), el('dd', {}, cfg.context_preset || '—'),
        ...['ARW_CONTEXT_K', 'ARW_CONTEXT_DIVERSITY_LAMBDA', 'ARW_CONTEXT_MIN_SCORE', 'ARW_CONTEXT_EXPAND_PER_SEED']
          .flatMap((k) => [el('dt', {}, k), el('dd', { 'data-key': k }, fmt(ctx[k]))]),
        el('dt', {}, 'config version'), el('dd', {}, fmt(cfg.version)))),
  ));
}

let recallPlot = null;
function renderContext() {
  const ctx = state.models.training_metrics?.context;
  const chartBox = $('recall-chart');
  const points = [...state.recallPoints.entries()].sort((a, b) => a[0] - b[0]);
  const xs = points.map(([, p]) => p[0]);
  const ys = points.map(([, p]) => p[1]);
  const latest = ctx?.recall_risk?.latest;
  chartBox.dataset.points = String(points.length);
  chartBox.dataset.lastId = points.length ? String(points[points.length - 1][0]) : '';
  if (latest) {
    $('recall-summary').textContent = `latest ${fmt(latest.score)} (${latest.level}${latest.at_risk ? ', at risk' : ''}); ` +
      `average ${fmt(ctx.recall_risk.avg_score)}, at risk ${pct(ctx.recall_risk.at_risk_ratio)} of ${fmt(ctx.recall_risk.sampled)}`;
  }
  const width = Math.max(240, chartBox.clientWidth || 480);
  if (!recallPlot) {
    recallPlot = new uPlot({
      width, height: 200,
      scales: { y: { range: [0, 1] } },
      series: [{}, { label: 'recall risk', stroke: '#b4461c', width: 1.5, points: { show: false } }],
      axes: [{}, { values: (u, v) => v.map((x) => x.toFixed(1)) }],
      legend: { show: false },
    }, [xs, ys], chartBox);
  } else {
    recallPlot.setData([xs, ys]);
    if (Math.abs(recallPlot.width - width) > 8) recallPlot.setSize({ width, height: 200 });
  }

  const cov = ctx?.coverage;
  if (cov?.latest) {
    $('coverage-summary').textContent = `coverage: ${cov.latest.needs_more ? 'needs more' : 'sufficient'}; ` +
      `needs more in ${pct(cov.needs_more_ratio)} of ${fmt(cov.samples)}`;
  }
  const bars = el('div');
  const gaps = new Map((ctx?.recall_risk?.top_slots || []).map((s) => [s.slot, s.avg_gap]));
  const slots = (cov?.top_slots || []).slice(0, 6);
  const max = Math.max(1, ...slots.map((s) => s.count));
  for (const s of slots) {
    const gap = gaps.has(s.slot) ? `, average gap ${fmt(gaps.get(s.slot))}` : '';
    bars.append(el('div', { class: 'bar-row' },
      el('span', { class: 'bar-label' }, s.slot),
      el('span', { class: 'bar', style: { '--w': `${(100 * s.count) / max}%` } }),
      el('span', { class: 'bar-value' }, `${s.count} under-filled${gap}`)));
  }
  if (!slots.length) bars.append(el('p', { class: 'muted' }, 'no under-filled slots'));
  morphChildren($('slot-bars'), bars);
}

function renderAdjustKeys() {
  const s = state.models.training_metrics;
  fillKeys($('context-key'), Object.keys(s?.config?.context || {}));
}

function fillKeys(select, keys) {
  if (select.options.length === keys.length) return;
  const current = select.value;
  clear(select);
  for (const k of keys) select.append(el('option', { value: k }, k));
  if (current) select.value = current;
}

function visibleJobs() {
  return state.jobs.filter((j) => !state.hiddenJobs.has(j.id) &&
    (state.jobFilter === 'all' || j.status === state.jobFilter));
}

function renderJobs() {
  const box = $('jobs');
  clear(box);
  if (state.unauthorized) {
    box.append(el('p', { class: 'unauthorized', role: 'alert' }, 'Unauthorized: jobs cannot be listed without a valid admin token.'));
    return;
  }
  if (!state.jobsLoaded) {
    box.append(el('p', { class: 'muted' }, 'Loading jobs…'));
    return;
  }
  const jobs = visibleJobs();
  if (!jobs.length) {
    box.append(el('p', { class: 'muted' }, state.jobFilter === 'all' ? 'No training jobs yet.' : `No ${state.jobFilter} jobs.`));
    return;
  }
  if (!jobs.some((j) => j.id === state.selectedJob)) state.selectedJob = jobs[0].id;
  const table = el('table', { role: 'grid', 'aria-label': 'Training jobs' },
    el('thead', {}, el('tr', {}, ...['Goal', 'Status', 'Progress', 'Hints', 'Created'].map((h) => el('th', { scope: 'col' }, h)))));
  const tbody = el('tbody');
  for (const job of jobs) {
    const selected = job.id === state.selectedJob;
    const row = el('tr', {
      class: `job ${selected ? 'selected' : ''}`, 'data-job': job.id, 'data-status': job.status,
      'aria-selected': String(selected),
    },
    el('td', {}, job.goal || job.id),
    el('td', {}, el('span', { class: `status status-${job.status_slug || job.status}` }, job.status_label || job.status)),
    el('td', {}, el('progress', { max: '1', value: String(job.progress || 0), 'aria-label': `progress ${pct(job.progress)}` }),
      ` ${pct(job.progress)}${job.stage ? ` · ${job.stage}` : ''}`),
    el('td', { class: 'hints' }, Object.entries(job.hints || {}).filter(([k]) => k !== 'goal').map(([k, v]) => `${k}=${v}`).join(' ')),
    el('td', {}, (job.created || '').replace('T', ' ').slice(0, 19)));
    row.addEventListener('click', () => { state.selectedJob = job.id; toggleDetails(job.id); });
    tbody.append(row);
    if (state.openJobs.has(job.id)) tbody.append(jobDetails(job));
  }
  table.append(tbody);
  box.append(table);
}

function jobDetails(job) {
  const unit = job.result?.logic_unit;
  const result = state.jobResults.get(job.id);
  const running = job.status === 'queued' || job.status === 'running';
  const buttons = el('div', { class: 'row' },
    unit ? el('button', { type: 'button', 'data-act': 'dry-run' }, 'Dry-run') : null,
    unit ? el('button', { type: 'button', 'data-act': 'apply' }, 'Apply') : null,
    el('button', { type: 'button', 'data-act': 'hide' }, 'Hide'),
    running ? el('button', { type: 'button', 'data-act': 'cancel' }, 'Cancel') : null);
  buttons.addEventListener('click', (e) => {
    const act = e.target.dataset.act;
    if (act) jobAction(job, act);
  });
  const cell = el('td', { colspan: '5' },
    unit ? el('p', {}, el('strong', {}, unit.name || unit.id), ` — ${unit.metrics?.expected_effect || ''}`) : null,
    job.error ? el('p', { class: 'error-text' }, `error: ${job.error}`) : null,
    buttons,
    result ? resultView(result) : null,
    el('details', {}, el('summary', {}, 'Payload'), el('pre', {}, JSON.stringify(job, null, 2))));
  return el('tr', { class: 'job-details', 'data-details-for': job.id }, cell);
}

function resultView(result) {
  if (result.kind === 'error') return el('p', { class: 'error-text', role: 'alert' }, result.message);
  const body = result.body;
  const title = result.kind === 'dry_run' ? 'Dry-run: would change' : body.staged ? 'Staged for approval' : 'Applied';
  const diff = body.diff_summary || body.evidence?.diff_summary || [];
  return el('div', { class: `result-box result-${result.kind}`, 'data-result': result.kind },
    el('p', {}, el('strong', {}, title), body.applied_snapshot_id ? ` (snapshot ${body.applied_snapshot_id})` : ''),
    diffTable(diff));
}

function diffTable(diff) {
  if (!diff.length) return el('p', { class: 'muted' }, 'no change');
  return el('table', { class: 'diff' },
    el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, 'target'), el('th', { scope: 'col' }, 'before'), el('th', { scope: 'col' }, 'after'))),
    el('tbody', {}, ...diff.map((d) => el('tr', {}, el('td', {}, d.target),
      el('td', {}, JSON.stringify(d.before)), el('td', {}, JSON.stringify(d.after))))));
}

function toggleDetails(id) {
  if (state.openJobs.has(id)) state.openJobs.delete(id);
  else state.openJobs.add(id);
  markDirty('jobs');
}

async function jobAction(job, act) {
  const unitId = job.logic_unit_id || job.result?.logic_unit_id;
  try {
    if (act === 'hide') {
      state.hiddenJobs.add(job.id);
      localStorage.setItem('tpark.hidden_jobs', JSON.stringify([...state.hiddenJobs]));
    } else if (act === 'cancel') {
      await call(`/orchestrator/jobs/${encodeURIComponent(job.id)}/cancel`, { method: 'POST', body: { reason: 'cancelled from the page' } });
    } else if (unitId && (act === 'dry-run' || act === 'apply')) {
      const dryRun = act === 'dry-run';
      const { data } = await call('/logic-units/apply', { method: 'POST', body: { id: unitId, dry_run: dryRun, via: 'ui' } });
      state.jobResults.set(job.id, { kind: dryRun ? 'dry_run' : 'apply', body: data });
      state.openJobs.add(job.id);
      state.localActions.unshift({ kind: dryRun ? 'logic.unit.dry_run' : data.staged ? 'logic.unit.staged' : 'logic.unit.applied',
        time: new Date().toISOString(), payload: { id: unitId, diff_summary: data.diff_summary }, local: true });
      markDirty('recent');
      refreshHistory();
    }
  } catch (err) {
    state.jobResults.set(job.id, { kind: 'error', message: describeError(err) });
    state.openJobs.add(job.id);
  }
  markDirty('jobs');
}

function historyKey(item) {
  return `${item.kind}|${item.payload?.id}`;
}

function renderRecent() {
  const list = $('recent-actions');
  clear(list);
  if (state.unauthorized) {
    list.append(el('li', { class: 'unauthorized' }, 'Unauthorized: the history cannot be read without a valid admin token.'));
    return;
  }
  const items = [...state.localActions, ...state.serverHistory].slice(0, RECENT_INLINE);
  if (!items.length) list.append(el('li', { class: 'muted' }, 'No logic-unit actions yet.'));
  for (const item of items) {
    const changes = (item.payload?.diff_summary || []).map((d) => `${d.target} → ${JSON.stringify(d.after)}`).join(', ');
    list.append(el('li', { 'data-kind': item.kind },
      el('span', { class: 'action-kind' }, item.kind.replace('logic.unit.', '')),
      ` ${item.payload?.id || ''} `,
      el('span', { class: 'muted' }, `${(item.time || '').slice(11, 19)}${item.local ? ' (pending)' : ''}`),
      changes ? el('div', { class: 'changes' }, changes) : null));
  }
}

// ---------------------------------------------------------------- lanes

const LANES = ['timeline', 'context', 'policy', 'metrics', 'models'];
function setupLanes() {
  const tabs = document.querySelector('.lane-tabs');
  for (const lane of LANES) {
    const button = el('button', { type: 'button', role: 'tab', id: `tab-${lane}`, 'aria-controls': `lane-${lane}`,
      'aria-selected': String(lane === 'timeline') }, lane[0].toUpperCase() + lane.slice(1));
    button.addEventListener('click', () => showLane(lane));
    tabs.append(button);
  }
}

function showLane(name) {
  for (const lane of LANES) {
    $(`lane-${lane}`).hidden = lane !== name;
    $(`tab-${lane}`).setAttribute('aria-selected', String(lane === name));
  }
}

function renderTimeline() {
  const list = $('timeline');
  clear(list);
  if (!state.timeline.length) list.append(el('li', { class: 'muted' }, 'No control events yet (jobs, logic units, staging, leases, config).'));
  for (const e of state.timeline)
    list.append(el('li', {}, el('span', { class: 'muted' }, (e.time || '').slice(11, 19)), ` ${e.kind}`));
}

function renderStaging() {
  const staging = $('staging');
  clear(staging);
  const pending = state.models.staging_actions?.items || [];
  if (!pending.length) staging.append(el('p', { class: 'muted' }, 'Nothing waits for approval.'));
  for (const item of pending) {
    const box = el('div', { class: 'staged', 'data-staging': item.id },
      el('p', {}, el('strong', {}, item.action_kind), ` ${JSON.stringify(item.action_input)} `, el('span', { class: 'status' }, 'pending approval')),
      diffTable(item.evidence?.diff_summary || []),
      el('div', { class: 'row' },
        el('button', { type: 'button', 'data-decide': 'approve' }, 'Approve'),
        el('button', { type: 'button', 'data-decide': 'deny' }, 'Deny')));
    box.addEventListener('click', (e) => {
      const decide = e.target.dataset.decide;
      if (decide) decideStaged(item.id, decide);
    });
    staging.append(box);
  }

}

function renderSideLanes() {
  const s = state.models.training_metrics;
  const caps = $('capsules');
  clear(caps);
  caps.append(el('p', {}, s?.capsules?.accessible_summary || 'No capsule data.'));

  const ctx = s?.context;
  const ctxLane = $('lane-context');
  clear(ctxLane);
  ctxLane.append(el('h3', {}, 'Coverage reasons'),
    el('ul', {}, ...(ctx?.coverage?.top_reasons || []).map((r) => el('li', {}, `${r.reason}: ${r.count}`))),
    el('h3', {}, 'Assembled'),
    el('p', {}, ctx?.assembled?.context_preview || '—'));

  const metrics = $('lane-metrics');
  clear(metrics);
  metrics.append(el('dl', {},
    ...[['events', s?.events?.total], ['bus receivers', s?.bus?.receivers], ['cache entries', s?.cache?.entries],
      ['routes', (s?.routes || []).length]].flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, fmt(v))])),
  el('p', {}, el('a', { href: '/metrics' }, 'Prometheus /metrics')));

  const models = $('lane-models');
  clear(models);
  models.append(el('ul', {}, ...(state.models.plugins?.items || []).map((p) =>
    el('li', {}, `${p.id} ${p.version || ''} — ${p.status || p.health || (p.ok === false ? 'unhealthy' : 'ok')}`))));
}

function renderLeases() {
  const leases = $('leases');
  clear(leases);
  const now = Date.now();
  const items = state.models.policy_leases?.items || [];
  if (!items.length) leases.append(el('li', { class: 'muted' }, 'No leases.'));
  for (const l of items)
    leases.append(el('li', { 'data-capability': l.capability },
      `${l.capability} — ${l.status}, ${Math.max(0, Math.round((l.ttl_until_ms - now) / 1000))} s left`));
}

async function decideStaged(id, decision) {
  try {
    const body = decision === 'approve' ? { decided_by: 'ui' } : { reason: 'denied from the page' };
    await call(`/staging/actions/${encodeURIComponent(id)}/${decision}`, { method: 'POST', body });
    $('control-result').textContent = `Staged action ${decision === 'approve' ? 'approved' : 'denied'}.`;
  } catch (err) {
    $('control-result').textContent = describeError(err);
  }
}

// ---------------------------------------------------------------- controls

function parseValue(text) {
  const t = text.trim();
  if (t === '') return null;
  try { return JSON.parse(t); } catch { return t; }
}

async function submitAction(kind, input, label) {
  const out = $('control-result');
  try {
    const { data } = await call('/actions', { method: 'POST', body: { kind, input } });
    if (data.staged) {
      out.textContent = `${label}: staged, waiting for approval in the Policy lane.`;
      showLane('policy');
    } else {
      out.textContent = `${label}: ${data.state}.`;
    }
  } catch (err) {
    out.textContent = `${label}: ${describeError(err)}`;
  }
}

function setupControls() {
  for (const id of ['diversity', 'recency', 'compression']) {
    const input = $(id);
    input.addEventListener('input', () => { input.nextElementSibling.value = input.value; });
  }
  $('preset-apply').addEventListener('click', () => {
    const preset = $('preset-select').value;
    if (preset) submitAction('preset.apply', { preset }, `preset ${preset}`);
  });
  $('training-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const body = {
      goal: $('goal').value,
      diversity: Number($('diversity').value),
      recency: Number($('recency').value),
      compression: Number($('compression').value),
    };
    const preset = $('preset-select').value;
    if (preset) body.preset = preset;
    if ($('persona').value.trim()) body.persona_id = $('persona').value.trim();
    try {
      const { data } = await call('/orchestrator/mini_agents/start_training', { method: 'POST', body });
      $('control-result').textContent = `Training job ${data.id} ${data.status}.`;
      state.selectedJob = data.id;
      refreshJobs();
    } catch (err) {
      $('control-result').textContent = `start training: ${describeError(err)}`;
    }
  });
  $('context-set').addEventListener('click', () => {
    const key = $('context-key').value;
    if (key) submitAction('context.set', { vars: { [key]: parseValue($('context-value').value) } }, `context.set ${key}`);
  });
  $('hint-set').addEventListener('click', () => {
    const key = $('hint-key').value;
    if (key) submitAction('governor.hints.set', { hints: { [key]: parseValue($('hint-value').value) } }, `hint ${key}`);
  });
  $('lease-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const capability = $('lease-capability').value;
    try {
      await call('/leases', { method: 'POST', body: { capability, ttl_secs: Number($('lease-ttl').value) } });
      $('control-result').textContent = `Lease ${capability} granted.`;
    } catch (err) {
      $('control-result').textContent = `lease: ${describeError(err)}`;
    }
  });
  const filters = $('job-filters');
  for (const f of JOB_FILTERS) {
    const b = el('button', { type: 'button', 'data-filter': f, 'aria-pressed': String(f === state.jobFilter) }, f);
    b.addEventListener('click', () => {
      state.jobFilter = f;
      for (const other of filters.children) other.setAttribute('aria-pressed', String(other.dataset.filter === f));
      markDirty('jobs');
    });
    filters.append(b);
  }
  for (const b of document.querySelectorAll('button.download'))
    b.addEventListener('click', () => download(b.dataset.format));
}

async function download(format) {
  try {
    const headers = state.token ? { Authorization: `Bearer ${state.token}` } : {};
    const res = await fetch(`/state/training/actions?format=${format}&download=1`, { headers, cache: 'no-store' });
    if (res.status === 401) { setAuthState('the admin token was refused'); return; }
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    const blob = await res.blob();
    const url = URL.createObjectURL(blob);
    const a = el('a', { href: url, download: `training-actions.${format}` });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  } catch (err) {
    showError(`download: ${describeError(err)}`);
  }
}

// ---------------------------------------------------------------- keyboard

function setupKeyboard() {
  $('jobs').addEventListener('keydown', (e) => {
    const jobs = visibleJobs();
    const index = jobs.findIndex((j) => j.id === state.selectedJob);
    const job = jobs[index];
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      e.preventDefault();
      const next = Math.max(0, Math.min(jobs.length - 1, index + (e.key === 'ArrowDown' ? 1 : -1)));
      if (jobs[next]) state.selectedJob = jobs[next].id;
      markDirty('jobs');
    } else if (e.key === 'Enter' && job) {
      e.preventDefault();
      toggleDetails(job.id);
    } else if (e.shiftKey && (e.key === 'D' || e.key === 'A') && job) {
      e.preventDefault();
      jobAction(job, e.key === 'D' ? 'dry-run' : 'apply');
    }
  });
  document.addEventListener('keydown', (e) => {
    if (e.key !== '?' || e.target.matches('input, select, textarea')) return;
    e.preventDefault();
    toggleHelp();
  });
  $('help-button').addEventListener('click', toggleHelp);
}

function toggleHelp() {
  const help = $('help');
  help.hidden = !help.hidden;
  $('help-button').setAttribute('aria-expanded', String(!help.hidden));
}

// ---------------------------------------------------------------- start

function start() {
  setupLanes();
  setupControls();
  setupKeyboard();
  $('token-button').addEventListener('click', askToken);
  // Closing the dialog without a token still connects: a host without a
  // token admits the page, and one with a token answers 401, shown as such.
  $('token-dialog').addEventListener('cancel', () => {
    if (!state.live) {
      state.token = '';
      connect();
    }
  });
  $('token-form').addEventListener('submit', () => {
    state.token = $('token-input').value.trim();
    sessionStorage.setItem('tpark.admin_token', state.token);
    setAuthState(null);
    connect();
  });
  markDirty('jobs', 'recent', 'staging', 'leases', 'side', 'timeline');
  if (state.token === null) askToken();
  else connect();
  window.addEventListener('resize', () => markDirty('context'));
  // Lease countdowns tick without a patch.
  setInterval(() => markDirty('leases'), 1000);
}

start();
