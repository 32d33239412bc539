// Figures for BENCHMARKS.md (reported, not asserted beyond sanity): ms per meta-iteration of the
// MAML paper setup in the worker, seconds until its one-step validation MSE is good, bundle sizes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { serve, launch, setControl, root } from './harness.mjs';

let server, ctx;
before(async () => { server = await serve(); ctx = await launch(); });
after(async () => { await ctx?.close(); server?.stop(); });

test('bundle size of the wasm files, and what one browser downloads', () => {
  const dist = join(root, 'dist');
  const wasm = readdirSync(dist).filter((f) => f.endsWith('.wasm')).sort();
  assert.equal(wasm.length, 3, 'app, worker and worker_relaxed');
  const sizes = Object.fromEntries(wasm.map((f) => {
    const bytes = readFileSync(join(dist, f));
    return [f, { raw: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length }];
  }));
  const app = wasm.find((f) => f.startsWith('app'));
  // a browser fetches the app and one of the two workers (src/ui/worker_build.rs)
  const perBrowser = Math.max(...['worker_bg.wasm', 'worker_relaxed_bg.wasm'].map((w) => sizes[app].gzip + sizes[w].gzip));
  console.log(JSON.stringify({ event: 'bundle', sizes, gzip_bytes_per_browser: perBrowser }));
  assert.ok(perBrowser < 1.5e6, `gzip per browser ${perBrowser} bytes`);
});

// The first load: every file fetched before the first chart is drawn (gzip -9 sizes, as a
// compressing host serves them), against the 450 KB budget; and everything fetched once
// training can start (the workers' wasm).
test('first load: what the page fetches before its first chart', async () => {
  const page = await ctx.newPage();
  await page.goto(server.url);
  await page.waitForFunction(() => performance.getEntriesByName('metaplay-first-chart').length > 0, null, { timeout: 20000 });
  await page.waitForSelector('[data-testid="train"]:not([disabled])', { timeout: 20000 });
  const { mark, resources } = await page.evaluate(() => ({
    mark: performance.getEntriesByName('metaplay-first-chart')[0].startTime,
    resources: performance.getEntriesByType('resource').map((r) => ({ name: r.name, start: r.startTime, end: r.responseEnd })),
  }));
  const dist = join(root, 'dist');
  const gz = (path) => gzipSync(readFileSync(join(dist, path)), { level: 9 }).length;
  const file = (url) => decodeURIComponent(new URL(url).pathname.replace(/^\//, '')) || 'index.html';
  const before = [{ name: `${server.url}/index.html`, end: 0 }, ...resources.filter((r) => r.end <= mark)];
  const after = resources.filter((r) => r.end > mark);
  const sum = (list) => list.reduce((n, r) => n + gz(file(r.name)), 0);
  // the workers fetch their own script and wasm (in their own timeline, not the page's):
  // Chromium has relaxed SIMD, so the page starts that build and never fetches the other
  assert.ok(after.some((r) => /worker_relaxed_loader\.js$/.test(r.name)), 'the relaxed-SIMD worker');
  assert.ok(!resources.some((r) => /\/worker_loader\.js$/.test(r.name)), 'not the strict worker too');
  const workerFiles = ['worker_relaxed.js', 'worker_relaxed_bg.wasm'];
  const first = sum(before), rest = sum(after) + workerFiles.reduce((n, f) => n + gz(f), 0);
  console.log(JSON.stringify({ event: 'first_load', first_chart_ms: Math.round(mark), gzip_bytes_before_first_chart: first,
    files_before: before.map((r) => file(r.name)), gzip_bytes_after: rest,
    files_after: [...new Set(after.map((r) => file(r.name)))].concat(workerFiles) }));
  assert.ok(after.some((r) => /_loader\.js$/.test(r.name) && r.start >= mark), 'the workers start after the first chart');
  assert.ok(!before.some((r) => /worker/.test(r.name)), 'nothing of the workers before the first chart');
  assert.ok(first <= 450_000, `${first} bytes gzip before the first chart`);
  await page.close();
});

test('MAML paper setup in the browser: ms per meta-iteration and time to a good one-step fit', async () => {
  const page = await ctx.newPage();
  await page.goto(server.url);
  await page.waitForSelector('[data-testid="train"]:not([disabled])', { timeout: 20000 });
  await page.click('[data-testid="run-1"] .run-remove');
  assert.equal(await page.locator('[data-testid^="run-"]').count(), 1);
  // more iterations than the sampling window can use: a fast machine must not finish the run
  // (and disable Pause) before the window ends
  await setControl(page, 'iters', 200000);
  await page.waitForFunction(() => document.querySelector('[data-testid="iteration"]').textContent === '0');
  await page.click('[data-testid="train"]');
  const t0 = Date.now();
  const target = Number(process.env.GOOD_FIT_MSE || 1.0);
  let seconds = null;
  const budget = Number(process.env.GOOD_FIT_BUDGET_S || 25);
  // keep training a while after the target: V8 finishes optimising the module in the
  // background during the first seconds, so early and later chunks are reported apart
  const steadyFrom = Number(process.env.STEADY_FROM_S || 8), steadyTo = Number(process.env.STEADY_TO_S || 12);
  const samples = [], steady = [];
  let status = '';
  while (true) {
    const t = (Date.now() - t0) / 1e3;
    if (t > Math.max(budget, steadyTo) || (seconds !== null && t > steadyTo)) break;
    const v = (await page.textContent('[data-testid="validation-0"]')).match(/val ([0-9.]+)/);
    status = await page.textContent('[data-testid="status"]');
    const m = Number(status.match(/([0-9.]+) ms\/it/)[1]);
    if (m > 0) (t >= steadyFrom ? steady : samples).push(m);
    if (seconds === null && v && Number(v[1]) <= target) seconds = t;
    await page.waitForTimeout(200);
  }
  samples.sort((a, b) => a - b);
  steady.sort((a, b) => a - b);
  const ms = samples[Math.floor(samples.length / 2)];
  const msSteady = steady.length ? steady[Math.floor(steady.length / 2)] : null;
  const iter = Number(await page.textContent('[data-testid="iteration"]'));
  if (await page.isEnabled('[data-testid="pause"]')) await page.click('[data-testid="pause"]');
  console.log(JSON.stringify({ event: 'browser_speed', ms_per_iter_median_of_chunks: ms, chunks_sampled: samples.length,
    ms_per_iter_median_after_8s: msSteady, steady_chunks_sampled: steady.length, iterations: iter,
    seconds_to_validation_mse: seconds, validation_target: target }));
  assert.ok(ms > 0 && iter > 100, status);
});
