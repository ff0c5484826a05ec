// The web page's cost in the browser under load: the real host fed by the
// agent simulator at --rate events/s (200), the page open in headless Chromium,
// and every --sample-secs (10) the renderer's main-thread busy share
// (Chrome's TaskDuration metric, the time the main thread ran tasks: the
// total a performance trace's top-level tasks add up to) and the JS heap
// after a forced GC.
// Usage: node bench/ui_page.mjs [--secs 90] [--minutes 10] [--rate 200]
//        [--host build/release/host/tpark-host]
//        [--sim build/release/examples/agent-sim/tpark-agent-sim]
// The default run is 90 s; --minutes 10 is the long run. Heap growth is
// measured from the first minute (or the first sample of a shorter run).
import { join } from 'node:path';
import { Host, launchBrowser, parseArgs, sourceRoot, startSimulator, request } from '../tests/browser/support.mjs';

const args = parseArgs(process.argv.slice(2));
const totalSecs = args.minutes ? Number(args.minutes) * 60 : Number(args.secs || 90);
const rate = Number(args.rate || 200);
const sampleSecs = Number(args['sample-secs'] || 10);
const TOKEN = 'bench-token';

const host = new Host({
  binary: args.host || join(sourceRoot, 'build/release/host/tpark-host'),
  env: { ARW_ADMIN_TOKEN: TOKEN, ARW_PERF_PRESET: 'balanced' },
});
const base = await host.start();
const sim = startSimulator(args.sim || join(sourceRoot, 'build/release/examples/agent-sim/tpark-agent-sim'), base, { rate, token: TOKEN });
const browser = await launchBrowser();
let failed = false;
try {
  const page = await browser.context.newPage();
  await page.goto(`${base}/ui/training`);
  await page.fill('#token-input', TOKEN);
  await page.click('#token-save');
  await page.locator('#badge[data-state="live"]').waitFor({ timeout: 15000 });
  const cdp = await browser.context.newCDPSession(page);
  await cdp.send('Performance.enable');
  const metrics = async () => {
    const { metrics: list } = await cdp.send('Performance.getMetrics');
    return Object.fromEntries(list.map((m) => [m.name, m.value]));
  };
  const heapAfterGc = async () => {
    await cdp.send('HeapProfiler.collectGarbage');
    return (await metrics()).JSHeapUsedSize;
  };

  console.log(`page under ${rate} events/s for ${totalSecs} s (samples every ${sampleSecs} s)`);
  console.log('t_s  busy_%  script_%  heap_MB  models_KB (the JSON the page holds)');
  const start = Date.now();
  let last = await metrics();
  let lastWall = Date.now();
  let baselineHeap = null;
  let finalHeap = null;
  const busy = [];
  while ((Date.now() - start) / 1000 < totalSecs) {
    await page.waitForTimeout(sampleSecs * 1000);
    const now = await metrics();
    const wall = (Date.now() - lastWall) / 1000;
    const busyShare = (now.TaskDuration - last.TaskDuration) / wall;
    const scriptShare = (now.ScriptDuration - last.ScriptDuration) / wall;
    last = now;
    lastWall = Date.now();
    const heap = await heapAfterGc();
    const t = Math.round((Date.now() - start) / 1000);
    if (baselineHeap === null && (t >= 60 || totalSecs < 120)) baselineHeap = heap;
    finalHeap = heap;
    busy.push(busyShare);
    const points = await page.locator('#recall-chart').getAttribute('data-points');
    // The read models' own size: growth there is data the host sends, not a leak.
    let modelBytes = 0;
    for (const id of ['training_metrics', 'actions', 'staging_actions', 'policy_leases', 'plugins'])
      modelBytes += JSON.stringify((await request(base, TOKEN, `/state/read_models/${id}`)).data.value).length;
    console.log(`${String(t).padStart(4)}  ${(100 * busyShare).toFixed(1).padStart(6)}  ${(100 * scriptShare).toFixed(1).padStart(8)}  ${(heap / 1048576).toFixed(2).padStart(7)}  ${(modelBytes / 1024).toFixed(1).padStart(9)}  chart points ${points}`);
  }
  const events = (await request(base, TOKEN, '/state/training/telemetry')).data.events.total;
  const meanBusy = busy.reduce((a, b) => a + b, 0) / busy.length;
  const growth = baselineHeap ? (finalHeap - baselineHeap) / baselineHeap : 0;
  console.log(`mean busy ${(100 * meanBusy).toFixed(1)}% (max ${(100 * Math.max(...busy)).toFixed(1)}%), ` +
    `heap ${(baselineHeap / 1048576).toFixed(2)} MB -> ${(finalHeap / 1048576).toFixed(2)} MB (${(100 * growth).toFixed(1)}%), ` +
    `${events} events journaled`);
  console.log(`targets: busy <= 10%: ${meanBusy <= 0.1 ? 'met' : 'MISSED'}; heap growth <= 10%: ${growth <= 0.1 ? 'met' : 'MISSED'}`);
} catch (err) {
  failed = true;
  console.error(`bench failed: ${err.stack || err}`);
} finally {
  await browser.close().catch(() => {});
  await sim.stop();
  await host.stop();
  host.cleanup();
}
process.exit(failed ? 1 : 0);
