// RL² in the page: a link trains the recurrent agent in the worker on dependent arms; its
// training curve rises (exported CSV) and, re-evaluated on the same bandits, it earns more than
// Thompson sampling; its weights export as safetensors.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { serve, launch, instrument, canvasInfo, iteration, artifacts } from './harness.mjs';

let server, ctx;
before(async () => { server = await serve(); ctx = await launch(); });
after(async () => { await ctx?.close(); server?.stop(); });

const total = async (page, policy) => {
  const text = await page.textContent(`[data-testid="policy-${policy}"] td:nth-child(2)`);
  const m = text.match(/(\d+\.\d+) ± (\d+\.\d+)/);
  assert.ok(m, `${policy} row: ${text}`);
  return { mean: Number(m[1]), se: Number(m[2]) };
};

test('RL² trains in the worker, its curve rises and it passes Thompson sampling', async () => {
  const page = await ctx.newPage();
  const { errors } = await instrument(page);
  const iters = 600;
  await page.goto(`${server.url}?v=1&task=bandit&setting=dependent-medium&agent=rl2&iters=${iters}`);
  await page.waitForSelector('[data-testid="policy-agent-rl2"]', { timeout: 30000 });
  assert.match(await page.textContent('[data-testid="agent-note"]'), /RL² trains a recurrent network/);
  // RL²'s own settings show, the softmax agent's do not
  assert.equal(await page.isVisible('[data-testid="control-hidden"]'), true);
  assert.equal(await page.isVisible('[data-testid="control-inner-lr"]'), false);
  const untrained = await total(page, 'agent-rl2');
  const started = Date.now();
  await page.click('[data-testid="train"]');
  await page.waitForFunction((n) => Number(document.querySelector('[data-testid="iteration"]').textContent) >= n,
    iters, { timeout: 120000 });
  await page.waitForFunction((n) => new RegExp(`iteration ${n}`).test(document.querySelector('[data-testid="bandit-table"] caption').textContent),
    iters, { timeout: 30000 });
  const seconds = (Date.now() - started) / 1000;
  assert.equal(await iteration(page), iters);
  const trained = await total(page, 'agent-rl2');
  const thompson = await total(page, 'thompson');
  console.log(`RL² ${iters} iterations in ${seconds.toFixed(1)} s: ${trained.mean} ± ${trained.se} (untrained ${untrained.mean}), Thompson ${thompson.mean} ± ${thompson.se}`);
  assert.ok(trained.mean > untrained.mean + 10, `trained ${trained.mean} vs untrained ${untrained.mean}`);
  assert.ok(trained.mean - thompson.mean > 2 * Math.hypot(trained.se, thompson.se),
    `RL² ${trained.mean} ± ${trained.se} vs Thompson ${thompson.mean} ± ${thompson.se}`);
  // the exported training curve rises from the random policy's ½ per pull
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid="export-csv"]')]);
  const rows = readFileSync(await download.path(), 'utf8').trim().split('\n')
    .filter((r) => r.startsWith('meta_reward,'))
    .map((r) => Number(r.split(',')[4]));
  assert.ok(rows.length >= 10, `${rows.length} points`);
  assert.ok(rows[0] < 0.6 && rows[rows.length - 1] > 0.68, `curve ${rows[0]} → ${rows[rows.length - 1]}`);
  // the GRU's weights as safetensors
  const [params] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid="export-params"]')]);
  const bytes = readFileSync(await params.path());
  assert.match(bytes.subarray(0, 4000).toString('latin1'), /run0\.gru\.wh/);
  const info = await canvasInfo(page, 'bandit-train-chart');
  assert.ok(info.drawn > 5000, `training chart drawn (${info.drawn})`);
  await page.screenshot({ path: join(artifacts, 'rl2-trained.png'), fullPage: true });
  assert.equal(await page.isHidden('[data-testid="error-banner"]'), true);
  assert.deepEqual(errors, []);
});
