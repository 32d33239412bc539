// One worker per run: a comparison's runs train in parallel workers, with the same curves as in
// one worker, and pause / step / reset / exports as before. Times are reported for
// BENCHMARKS.md, not asserted.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { serve, launch, instrument, iteration } from './harness.mjs';

let server, ctx;
before(async () => { server = await serve(); ctx = await launch(); });
after(async () => { await ctx?.close(); server?.stop(); });

const LINK = 'v=1&task=sine&runs=maml,fomaml&k=10&iters=1500&seed=3';

async function open(query) {
  const page = await ctx.newPage();
  const watch = await instrument(page);
  await page.goto(`${server.url}/?${query}`);
  await page.waitForSelector('[data-testid="train"]:not([disabled])', { timeout: 20000 });
  return { page, ...watch };
}

/** Trains to the end; returns the wall seconds and the exported CSV. */
async function trainAndExport(page, total) {
  const t0 = Date.now();
  await page.click('[data-testid="train"]');
  await page.waitForFunction((n) => Number(document.querySelector('[data-testid="iteration"]').textContent) >= n
    && document.querySelector('[data-testid="pause"]').disabled, total, { timeout: 120000 });
  const seconds = (Date.now() - t0) / 1e3;
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid="export-csv"]')]);
  return { seconds, csv: readFileSync(await download.path(), 'utf8') };
}

test('two runs in two workers give the curves of one worker, bit for bit', async () => {
  const cores = await (await ctx.newPage()).evaluate(() => navigator.hardwareConcurrency);
  const spread = await open(`${LINK}&workers=2`);
  assert.equal((await spread.page.textContent('[data-testid="workers"]')).trim(), '2 workers');
  const one = await open(`${LINK}&workers=1`);
  assert.equal(await one.page.isHidden('[data-testid="workers"]'), true);
  const a = await trainAndExport(one.page, 1500);
  const b = await trainAndExport(spread.page, 1500);
  const rows = (csv) => csv.trim().split('\n').filter((r) => /^(meta_loss|validation_mse),/.test(r));
  assert.equal(rows(a.csv).length, 2 * 150 + 2 * 15);
  assert.deepEqual(rows(b.csv), rows(a.csv));
  // the link's own default (one worker per run as the cores allow) says how many it used
  const auto = await open(LINK);
  const shown = await auto.page.isHidden('[data-testid="workers"]') ? 1
    : Number((await auto.page.textContent('[data-testid="workers"]')).match(/(\d+) workers/)[1]);
  console.log(JSON.stringify({ event: 'workers_speed', runs: 2, iters: 1500, cores, default_workers: shown,
    one_worker_s: a.seconds, two_workers_s: b.seconds, speedup: a.seconds / b.seconds }));
  assert.deepEqual([...one.errors, ...spread.errors], []);
});

test('pause, step, reset and the parameter file work across workers', async () => {
  const { page, errors } = await open(`v=1&task=sine&runs=maml,fomaml,reptile&iters=200000&workers=2`);
  assert.equal((await page.textContent('[data-testid="workers"]')).trim(), '2 workers');
  await page.click('[data-testid="train"]');
  await page.waitForFunction(() => Number(document.querySelector('[data-testid="iteration"]').textContent) > 50);
  await page.click('[data-testid="pause"]');
  await page.waitForSelector('[data-testid="train"]:not([disabled])');
  await page.waitForTimeout(300);
  // every run stops where its worker stopped; the runs' list shows each one's iteration
  const paused = await iteration(page);
  const perRun = async () => Promise.all([0, 1, 2].map(async (i) =>
    Number((await page.textContent(`[data-testid="run-${i}"]`)).match(/([\d,]+) it/)[1].replace(/,/g, ''))));
  const before = await perRun();
  assert.equal(Math.max(...before), paused);
  await page.click('[data-testid="step"]');
  await page.waitForFunction((n) => Number(document.querySelector('[data-testid="iteration"]').textContent) === n + 1, paused);
  assert.deepEqual(await perRun(), before.map((n) => n + 1));
  // the file holds the three runs, numbered as in the experiment
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid="export-params"]')]);
  const bytes = readFileSync(await download.path());
  const header = JSON.parse(bytes.subarray(8, 8 + Number(bytes.readBigUInt64LE(0))).toString('utf8'));
  for (const run of ['run0', 'run1', 'run2']) assert.ok(header[`${run}.w0`], `${run} in ${Object.keys(header)}`);
  await page.setInputFiles('[data-testid="import-params"]', { name: 'p.safetensors', mimeType: 'application/octet-stream', buffer: bytes });
  await page.waitForSelector('[data-testid="import-status"]');
  assert.match(await page.textContent('[data-testid="import-status"]'), /3 run\(s\) loaded/);
  await page.click('[data-testid="reset"]');
  await page.waitForFunction(() => document.querySelector('[data-testid="iteration"]').textContent === '0');
  assert.deepEqual(await perRun(), [0, 0, 0]);
  assert.deepEqual(errors, []);
});
