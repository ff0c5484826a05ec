// The Training Park page in a real headless Chromium against a real
// tpark-host fed by the agent simulator (docs/ui.md "Tests").
// Usage: node training_page.mjs --host BIN --sim BIN --out DIR
// Fails on any console error, page error or failed request outside the
// windows where one is the point of the step (401s, the host restart).
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Host, launchBrowser, parseArgs, request, startSimulator, waitFor } from './support.mjs';

const args = parseArgs(process.argv.slice(2));
if (!args.host || !args.sim || !args.out) {
  console.error('usage: training_page.mjs --host BIN --sim BIN --out DIR');
  process.exit(2);
}
const TOKEN = 'browser-test-token';
mkdirSync(args.out, { recursive: true });

const host = new Host({
  binary: args.host,
  env: { ARW_ADMIN_TOKEN: TOKEN, ARW_PERF_PRESET: 'balanced', ARW_TRAINING_STAGE_DELAY_MS: '200' },
});
let sim = null;
let browser = null;
const problems = []; // console errors, page errors, failed requests
let expectFailures = null; // a predicate on URLs whose failure a step expects

// closing.now: the test is closing the page, which aborts its open stream.
function watch(page, label, closing = { now: false }) {
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    const url = m.location()?.url || '';
    if (expectFailures && expectFailures(url, m.text())) return;
    problems.push(`${label} console: ${m.text()} (${url})`);
  });
  page.on('pageerror', (e) => problems.push(`${label} page error: ${e.message}`));
  page.on('requestfailed', (r) => {
    if (closing.now && r.failure()?.errorText === 'net::ERR_ABORTED') return;
    if (expectFailures && expectFailures(r.url(), r.failure()?.errorText || '')) return;
    // A download's blob URL and the stream cancelled on page close are not failures.
    if (r.url().startsWith('blob:')) return;
    problems.push(`${label} request failed: ${r.method()} ${r.url()} ${r.failure()?.errorText}`);
  });
  page.on('response', (r) => {
    if (r.status() < 400) return;
    if (expectFailures && expectFailures(r.url(), String(r.status()))) return;
    problems.push(`${label} HTTP ${r.status()}: ${r.request().method()} ${r.url()}`);
  });
}

async function step(name, fn) {
  const started = Date.now();
  await fn();
  console.log(`ok - ${name} (${Date.now() - started} ms)`);
}

async function enterToken(page, token) {
  await page.locator('#token-dialog').waitFor({ state: 'visible' });
  await page.fill('#token-input', token);
  await page.click('#token-save');
}

const text = (page, selector) => page.locator(selector).first().innerText();

async function main() {
  const base = await host.start();
  for (const capability of ['context:tune', 'logic:apply'])
    assert.equal((await request(base, TOKEN, '/leases', { method: 'POST', body: { capability, ttl_secs: 3600 } })).status, 201);
  sim = startSimulator(args.sim, base, { rate: 50, token: TOKEN });
  browser = await launchBrowser();

  await step('serving: / redirects to the page, which carries a strict CSP', async () => {
    const res = await fetch(`${base}/`, { redirect: 'manual' });
    assert.equal(res.status, 302);
    assert.equal(res.headers.get('location'), '/ui/training');
    const page = await fetch(`${base}/ui/training`);
    assert.match(page.headers.get('content-security-policy'), /script-src 'self'/);
  });

  await step('without a token and with a wrong one the page says unauthorized, not "no jobs"', async () => {
    expectFailures = (url, what) => /401|Unauthorized/.test(what);
    for (const token of ['', 'wrong-token']) {
      const tab = await browser.context.newPage(); // a new tab: empty session storage
      const closing = { now: false };
      watch(tab, `unauthorized (${token || 'no token'})`, closing);
      await tab.goto(`${base}/`);
      await enterToken(tab, token);
      await tab.locator('#auth').waitFor({ state: 'visible' });
      assert.match(await text(tab, '#auth'), /Unauthorized/);
      assert.equal(await tab.locator('#badge').getAttribute('data-state'), 'unauthorized');
      // The banner shows at once; the panels follow on the next frame.
      await tab.waitForFunction(() =>
        /Unauthorized/.test(document.querySelector('#jobs').textContent) &&
        /Unauthorized/.test(document.querySelector('#recent-actions').textContent));
      assert.match(await text(tab, '#jobs'), /Unauthorized/);
      assert.doesNotMatch(await text(tab, '#jobs'), /No training jobs/);
      assert.match(await text(tab, '#recent-actions'), /Unauthorized/);
      closing.now = true;
      await tab.close();
    }
    expectFailures = null;
  });

  const page = await browser.context.newPage();
  watch(page, 'page');

  await step('load with the token: cards fill, the chart has points, the badge says live', async () => {
    await page.goto(`${base}/`);
    assert.ok(page.url().endsWith('/ui/training'));
    await enterToken(page, TOKEN);
    await page.locator('#badge[data-state="live"]').waitFor({ timeout: 10000 });
    await waitFor('eight cards', async () => (await page.locator('#cards .card').count()) >= 8);
    await page.waitForFunction(() => Number(document.querySelector('#recall-chart').dataset.points) > 0, null, { timeout: 10000 });
    assert.ok((await page.locator('#recall-chart canvas').count()) >= 1, 'uPlot drew a canvas');
    assert.notEqual(await text(page, '#cards .card dd'), '—');
  });

  await step('a context event moves the recall-risk chart within 2 s, without a reload', async () => {
    const summary = { iteration: 0, summary: { target_limit: 8, selected: 3, lanes_requested: 2, lane_counts: { semantic: 3 },
      slots: { budgets: { instructions: 2 } }, avg_cscore: 0.25, max_cscore: 0.3, min_score: 0.6 } };
    const before = Number(await page.locator('#recall-chart').getAttribute('data-last-id'));
    const sent = Date.now();
    const res = await request(base, TOKEN, '/events/ingest', {
      method: 'POST', contentType: 'application/x-ndjson',
      body: `${JSON.stringify({ kind: 'context.recall.risk', payload: summary })}\n`,
    });
    assert.equal(res.status, 200);
    const ingestedId = res.data.last_id;
    assert.ok(ingestedId > before, `the ingested id ${ingestedId} is past the chart's ${before}`);
    await page.waitForFunction((id) => Number(document.querySelector('#recall-chart').dataset.lastId) >= id,
      ingestedId, { timeout: 2000 });
    console.log(`   chart moved ${Date.now() - sent} ms after the ingest`);
  });

  let jobId = '';
  await step('start a job from the controls: it appears, runs through its stages and completes', async () => {
    await page.fill('#goal', 'browser test job');
    await page.locator('#diversity').fill('0.35');
    await page.click('#start-training');
    await waitFor('the job id', async () => {
      const m = /Training job (\S+) queued/.exec(await text(page, '#control-result'));
      jobId = m ? m[1] : '';
      return jobId;
    });
    const seen = new Set();
    await waitFor('the job to complete', async () => {
      const row = page.locator(`tr.job[data-job="${jobId}"]`);
      if (!(await row.count())) return false;
      const status = await row.getAttribute('data-status');
      seen.add(status);
      return status === 'completed';
    }, 30000, 50);
    assert.ok(seen.has('running') || seen.has('queued'), `statuses seen: ${[...seen]}`);
    assert.match(await page.locator(`tr.job[data-job="${jobId}"] .status`).innerText(), /Completed/);
  });

  await step('keyboard: ↓ to the job, Shift+D shows the dry-run diff, Shift+A applies it', async () => {
    await page.focus('#jobs');
    await page.keyboard.press('ArrowUp');
    for (let i = 0; i < 20; i++) {
      if ((await page.locator('tr.job.selected').getAttribute('data-job')) === jobId) break;
      await page.keyboard.press('ArrowDown');
    }
    assert.equal(await page.locator('tr.job.selected').getAttribute('data-job'), jobId);
    await page.keyboard.press('Enter');
    await page.locator(`tr[data-details-for="${jobId}"]`).waitFor();
    await page.keyboard.press('Shift+D');
    await page.locator(`tr[data-details-for="${jobId}"] [data-result="dry_run"] table.diff`).waitFor();
    await page.keyboard.press('Shift+A');
    await page.locator(`tr[data-details-for="${jobId}"] [data-result="apply"]`).waitFor();
    await page.locator('#recent-actions li[data-kind="logic.unit.dry_run"]').first().waitFor();
    await page.locator('#recent-actions li[data-kind="logic.unit.applied"]').first().waitFor();
    // The governor card shows the hints the unit set, once the patch arrives.
    const hints = (await request(base, TOKEN, '/admin/governor/hints')).data;
    assert.equal(hints.retrieval_div, 0.35);
    await page.locator('#governor-card [data-hint="retrieval_div"]', { hasText: '0.35' }).waitFor({ timeout: 5000 });
  });

  await step('a governor hint without its lease: the 403 shows its explain.message', async () => {
    expectFailures = (url, what) => url.endsWith('/actions') || /status of 403/.test(what);
    await page.selectOption('#hint-key', 'retrieval_k');
    await page.fill('#hint-value', '12');
    await page.click('#hint-set');
    await page.locator('#control-result', { hasText: 'lease_required' }).waitFor();
    assert.match(await text(page, '#control-result'), /requires capability governor:write/);
    expectFailures = null;
  });

  await step('the shortcuts help opens with ?', async () => {
    await page.keyboard.press('?');
    await page.locator('#help').waitFor({ state: 'visible' });
    await page.keyboard.press('?');
    await page.locator('#help').waitFor({ state: 'hidden' });
  });

  await step('apply the turbo preset: staged with its diff, approved, ARW_CONTEXT_K 32', async () => {
    await page.selectOption('#preset-select', 'turbo');
    await page.click('#preset-apply');
    await page.locator('#control-result', { hasText: 'staged' }).waitFor();
    const staged = page.locator('#staging .staged', { hasText: 'preset.apply' });
    await staged.waitFor();
    await staged.locator('td', { hasText: 'env.ARW_CONTEXT_K' }).waitFor();
    await staged.locator('button[data-decide="approve"]').click();
    await page.locator('#config-card [data-key="ARW_CONTEXT_K"]', { hasText: /^32$/ }).waitFor({ timeout: 10000 });
  });

  await step('a live adjustment through context.set reaches the config card; job filters filter', async () => {
    await page.selectOption('#context-key', 'ARW_CONTEXT_MIN_SCORE');
    await page.fill('#context-value', '0.2');
    await page.click('#context-set');
    await page.locator('#control-result', { hasText: 'context.set ARW_CONTEXT_MIN_SCORE' }).waitFor();
    await page.locator('#config-card [data-key="ARW_CONTEXT_MIN_SCORE"]', { hasText: /^0\.2$/ }).waitFor({ timeout: 10000 });
    await page.click('#job-filters button[data-filter="failed"]');
    await page.locator('#jobs', { hasText: 'No failed jobs.' }).waitFor();
    await page.click('#job-filters button[data-filter="completed"]');
    await page.locator(`tr.job[data-job="${jobId}"]`).waitFor();
    await page.click('#job-filters button[data-filter="all"]');
  });

  await step('download the history as CSV: a header and one row per action', async () => {
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('button.download[data-format="csv"]')]);
    const file = join(args.out, 'training-actions.csv');
    await download.saveAs(file);
    const lines = readFileSync(file, 'utf8').split(/\r?\n/).filter((l) => l.length);
    const history = (await request(base, TOKEN, '/state/training/actions?limit=1000')).data;
    assert.equal(lines[0], 'seq,time,kind,id,job_id,action_id,snapshot_id,via,changed,payload');
    assert.equal(lines.length - 1, history.total);
    assert.deepEqual(lines.slice(1).map((l) => Number(l.split(',')[0])), history.items.map((i) => i.seq));
    assert.ok(history.total >= 3, 'suggested, dry run and applied');
  });

  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: join(args.out, 'training-page.png'), fullPage: false });
  await page.screenshot({ path: join(args.out, 'training-page-full.png'), fullPage: true });

  await step('restart the host under the page: retrying, then live, numbers equal a fresh GET', async () => {
    await sim.stop();
    expectFailures = (url, what) => /\/events|\/state\/|ERR_CONNECTION|ERR_EMPTY|ERR_INCOMPLETE|Failed to fetch|network/i.test(url + what);
    await host.stop();
    await page.locator('#badge[data-state="retrying"]').waitFor({ timeout: 10000 });
    await host.start();
    await page.locator('#badge[data-state="live"]').waitFor({ timeout: 15000 });
    expectFailures = null;
    const about = (await request(base, TOKEN, '/about')).data;
    await page.locator('#instance', { hasText: about.instance_id }).waitFor();
    await waitFor('the page to equal a fresh GET', async () => {
      const snapshot = (await request(base, TOKEN, '/state/read_models/training_metrics')).data.value;
      const k = await text(page, '#config-card [data-key="ARW_CONTEXT_K"]');
      const published = await page.locator('#cards .card[aria-label="Bus"] dd').first().innerText();
      return k === String(snapshot.config.context.ARW_CONTEXT_K) && published === String(snapshot.bus.published);
    }, 5000);
  });

  await step('phone width: the page still lays out', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.screenshot({ path: join(args.out, 'training-page-phone.png'), fullPage: false });
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(width <= 400, `no horizontal scroll at phone width (scrollWidth ${width})`);
  });

  await step('a host without a token (loopback only): the same-origin page passes the browser screening', async () => {
    const open = new Host({ binary: args.host, env: { ARW_ADMIN_TOKEN: '', ARW_PERF_PRESET: 'balanced' } });
    const openBase = await open.start();
    const tab = await browser.context.newPage();
    const closing = { now: false };
    watch(tab, 'no-token host', closing);
    try {
      await tab.goto(`${openBase}/`);
      await enterToken(tab, '');
      await tab.locator('#badge[data-state="live"]').waitFor({ timeout: 10000 });
      // A POST from the page carries Origin and Sec-Fetch-Site: same-origin.
      await tab.click('#tab-policy');
      await tab.selectOption('#lease-capability', 'governor:write');
      await tab.click('#lease-grant');
      await tab.locator('#control-result', { hasText: 'Lease governor:write granted' }).waitFor();
      await tab.locator('#leases li[data-capability="governor:write"]').waitFor();
    } finally {
      closing.now = true;
      await tab.close();
      await open.stop();
      open.cleanup();
    }
  });

  assert.deepEqual(problems, [], 'no console errors or failed requests');
}

try {
  await main();
  console.log('all browser checks passed');
} catch (err) {
  console.error(`FAILED: ${err.stack || err}`);
  if (problems.length) console.error(`console/request problems:\n  ${problems.join('\n  ')}`);
  console.error(`host log tail:\n${host.log.split('\n').slice(-30).join('\n')}`);
  process.exitCode = 1;
} finally {
  if (browser) await browser.close().catch(() => {});
  if (sim) await sim.stop().catch(() => {});
  await host.stop().catch(() => {});
  host.cleanup();
}
