// The WebGPU backend in Chromium. With --enable-unsafe-webgpu headless Chromium hands WebGPU
// its SwiftShader adapter (software, compute shaders run): backend=webgpu trains there and
// its meta-losses match the CPU's for the same link; backend=auto keeps the CPU on a software
// adapter and says why. Without the flag there is no adapter: backend=webgpu shows the
// fallback notice and trains on the CPU. Bandit experiments run their evaluation episodes
// there: all of the config's episodes on WebGPU (2000 on the CPU), agreeing with the CPU.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { serve, launch, instrument, canvasInfo, iteration, artifacts } from './harness.mjs';

const server = await serve();
const contexts = [];
after(async () => { for (const c of contexts) await c.close(); server.stop(); });

async function open(ctx, query) {
  const page = await ctx.newPage();
  const probe = await instrument(page);
  await page.goto(`${server.url}?${query}`);
  await page.waitForSelector('[data-testid="train"]:not([disabled])', { timeout: 20000 });
  return { page, ...probe };
}

/** The backend label once it matches `pattern` (the worker settles it asynchronously: the page
 * starts with the CPU's label, then "looking for a WebGPU adapter…"); the last label on timeout. */
async function backendSettled(page, pattern) {
  const source = pattern.source;
  try {
    await page.waitForFunction((source) => new RegExp(source).test(document.querySelector('[data-testid="backend"]').textContent),
      source, { timeout: 30000 });
  } catch { /* the caller's assertion shows the label */ }
  return page.textContent('[data-testid="backend"]');
}

async function trainTo(page, n, timeout = 90000) {
  await page.click('[data-testid="train"]');
  // to the end of every run (the runs train in parallel workers; the status shows the furthest)
  await page.waitForFunction((n) => Number(document.querySelector('[data-testid="iteration"]').textContent) >= n
    && document.querySelector('[data-testid="pause"]').disabled, n, { timeout });
}

/** The meta-training curves of the CSV export: run -> [[x, y], ...]. */
async function trainCurves(page) {
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.click('[data-testid="export-csv"]'),
  ]);
  const text = readFileSync(await download.path(), 'utf8');
  const curves = {};
  for (const line of text.trim().split('\n').slice(1)) {
    const [series, run, , x, y] = line.split(',');
    if (series !== 'meta_loss') continue;
    (curves[run] ??= []).push([Number(x), Number(y)]);
  }
  return curves;
}

const link = 'v=1&task=sine&runs=maml,fomaml&iters=200&seed=3';

test('backend=webgpu trains on the software adapter, matching the CPU meta-losses', async () => {
  const ctx = await launch({ webgpu: true });
  contexts.push(ctx);
  const gpu = await open(ctx, `${link}&backend=webgpu`);
  const label = await backendSettled(gpu.page, /WebGPU \(.*software\)/);
  assert.match(label, /WebGPU \(.*software\)/, `the status bar names the WebGPU adapter (${label})`);
  const t0 = Date.now();
  await trainTo(gpu.page, 200);
  const gpuSeconds = (Date.now() - t0) / 1000;
  assert.ok(await gpu.page.locator('[data-testid="backend-notice"]').count() === 0, 'no fallback notice');
  assert.ok((await canvasInfo(gpu.page, 'meta-loss-chart')).drawn > 5000, 'the meta-loss chart draws');
  assert.ok((await canvasInfo(gpu.page, 'fit-chart')).drawn > 5000, 'the fit chart draws');
  const validation = await gpu.page.textContent('[data-testid="validation-0"]');
  assert.match(validation, /val \d/, `validation MSE shown after 200 GPU iterations (${validation})`);
  await gpu.page.screenshot({ path: join(artifacts, 'webgpu.png'), fullPage: true });
  const onGpu = await trainCurves(gpu.page);

  const cpu = await open(ctx, `${link}&backend=cpu`);
  assert.match(await backendSettled(cpu.page, /^CPU/), /^CPU/);
  await trainTo(cpu.page, 200);
  const onCpu = await trainCurves(cpu.page);
  let worst = 0;
  for (const run of ['0', '1']) {
    assert.equal(onGpu[run].length, onCpu[run].length, `run ${run}: as many logged points`);
    onGpu[run].forEach(([x, y], i) => {
      assert.equal(x, onCpu[run][i][0]);
      worst = Math.max(worst, Math.abs(y - onCpu[run][i][1]) / Math.max(Math.abs(y), 1e-6));
    });
  }
  assert.ok(worst <= 1e-4, `GPU and CPU meta-losses agree within 1e-4 relative (worst ${worst.toExponential(2)})`);
  assert.deepEqual([...gpu.errors, ...cpu.errors], [], 'no page errors');
  console.log(JSON.stringify({ event: 'e2e_webgpu', adapter: label, gpu_seconds_200_iters: gpuSeconds,
    max_rel_diff_vs_cpu: worst }));
});

test('backend=auto keeps a small run on the CPU when the adapter is software, and says why', async () => {
  const ctx = await launch({ webgpu: true });
  contexts.push(ctx);
  const { page, errors } = await open(ctx, `${link}&backend=auto`);
  const label = await backendSettled(page, /auto: /);
  assert.match(label, /^CPU \(candle\) · auto: .*software/, `auto explains its choice (${label})`);
  await trainTo(page, 100);
  assert.ok(await page.locator('[data-testid="backend-notice"]').count() === 0, 'auto shows no fallback notice');
  // switching the backend control to WebGPU moves the runs to the adapter
  await page.selectOption('[data-testid="control-backend"]', 'webgpu');
  assert.match(await backendSettled(page, /^WebGPU/), /^WebGPU/);
  assert.match(page.url(), /backend=webgpu/, 'the link carries the backend');
  await trainTo(page, 50);
  assert.deepEqual(errors, [], 'no page errors');
});

test('without WebGPU, backend=webgpu falls back to the CPU with a notice and trains', async () => {
  const ctx = await launch();
  contexts.push(ctx);
  const { page, errors } = await open(ctx, `${link}&backend=webgpu`);
  await page.waitForSelector('[data-testid="backend-notice"]', { timeout: 20000 });
  const notice = await page.textContent('[data-testid="backend-notice"]');
  assert.match(notice, /WebGPU is not available here.*training on the CPU instead/, notice);
  assert.match(await backendSettled(page, /^CPU/), /^CPU/);
  await trainTo(page, 100);
  assert.ok((await iteration(page)) >= 100, 'trains on the CPU');
  await page.screenshot({ path: join(artifacts, 'webgpu-fallback.png'), fullPage: true });
  assert.deepEqual(errors, [], 'no page errors');
  assert.ok(await page.locator('[data-testid="error-banner"]').isHidden(), 'no error banner');
});

/** The bandit table: policy -> { mean, se }, and its caption. */
async function banditTable(page) {
  return page.evaluate(() => {
    const rows = {};
    for (const tr of document.querySelectorAll('[data-testid="bandit-table"] tbody tr')) {
      const [name, reward] = [...tr.querySelectorAll('td')].map((td) => td.textContent);
      const [mean, se] = reward.split('±').map(Number);
      rows[name] = { mean, se };
    }
    return { rows, caption: document.querySelector('[data-testid="bandit-table"] caption').textContent };
  });
}

const banditLink = 'v=1&task=bandit&setting=independent&arms=10&pulls=100&iters=200&episodes=10000&seed=4';

test('a bandit experiment evaluates its episodes on WebGPU, agreeing with the CPU', async () => {
  const ctx = await launch({ webgpu: true });
  contexts.push(ctx);
  const gpu = await open(ctx, `${banditLink}&backend=webgpu`);
  const label = await backendSettled(gpu.page, /^evaluation on WebGPU/);
  assert.match(label, /^evaluation on WebGPU \(.*software\)/, `the status bar says where the evaluation runs (${label})`);
  await gpu.page.waitForSelector('[data-testid="policy-thompson"]', { timeout: 30000 });
  assert.match((await banditTable(gpu.page)).caption, /^10000 episodes per policy.*iteration 0/);
  const t0 = Date.now();
  await trainTo(gpu.page, 200);
  await gpu.page.waitForFunction(() => /iteration 200/.test(document.querySelector('[data-testid="bandit-table"] caption').textContent),
    null, { timeout: 30000 });
  const gpuSeconds = (Date.now() - t0) / 1000;
  const onGpu = await banditTable(gpu.page);
  assert.match(onGpu.caption, /^10000 episodes per policy/);
  assert.ok(await gpu.page.locator('[data-testid="backend-notice"]').count() === 0, 'no fallback notice');
  for (const id of ['regret-chart', 'arm-chart', 'bandit-train-chart']) {
    assert.ok((await canvasInfo(gpu.page, id)).drawn > 5000, `${id} draws`);
  }
  await gpu.page.screenshot({ path: join(artifacts, 'webgpu-bandit.png'), fullPage: true });

  const cpu = await open(ctx, `${banditLink}&backend=cpu`);
  assert.match(await backendSettled(cpu.page, /^CPU/), /^CPU/);
  await trainTo(cpu.page, 200);
  await cpu.page.waitForFunction(() => /iteration 200/.test(document.querySelector('[data-testid="bandit-table"] caption').textContent),
    null, { timeout: 30000 });
  const onCpu = await banditTable(cpu.page);
  assert.match(onCpu.caption, /^2000 episodes per policy/);
  const z = {};
  for (const [policy, c] of Object.entries(onCpu.rows)) {
    const g = onGpu.rows[policy];
    assert.ok(g, `${policy} evaluated on both`);
    // the table rounds to 0.01: allow for it beside the standard errors
    z[policy] = (c.mean - g.mean) / Math.hypot(c.se, g.se, 0.01);
    assert.ok(Math.abs(z[policy]) <= 4, `${policy}: CPU ${c.mean} ± ${c.se}, GPU ${g.mean} ± ${g.se}`);
  }
  assert.ok(onGpu.rows.thompson.se < onCpu.rows.thompson.se, 'five times the episodes: a smaller standard error');

  // auto times both on this adapter and names the timings
  const auto = await open(ctx, `${banditLink}&backend=auto`);
  const autoLabel = await backendSettled(auto.page, /auto: /);
  assert.match(autoLabel, /auto: CPU [\d.]+ ms\/1000 episodes, WebGPU [\d.]+ ms\/1000 episodes/, autoLabel);
  assert.deepEqual([...gpu.errors, ...cpu.errors, ...auto.errors], [], 'no page errors');
  console.log(JSON.stringify({ event: 'e2e_webgpu_bandit', adapter: label, gpu_seconds_200_iters: gpuSeconds,
    z_gpu_vs_cpu: z, auto: autoLabel }));
});

test('without WebGPU, a bandit experiment with backend=webgpu evaluates on the CPU with a notice', async () => {
  const ctx = await launch();
  contexts.push(ctx);
  const { page, errors } = await open(ctx, `${banditLink}&backend=webgpu`);
  await page.waitForSelector('[data-testid="backend-notice"]', { timeout: 20000 });
  const notice = await page.textContent('[data-testid="backend-notice"]');
  assert.match(notice, /WebGPU is not available here.*bandit evaluation runs on the CPU instead/, notice);
  await page.waitForSelector('[data-testid="policy-thompson"]', { timeout: 20000 });
  assert.match((await banditTable(page)).caption, /^2000 episodes per policy/);
  await trainTo(page, 100);
  assert.deepEqual(errors, [], 'no page errors');
});
