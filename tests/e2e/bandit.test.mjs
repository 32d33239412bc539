// The bandit view end to end: switch the task to bandit, train the meta-learned agent in the
// worker, and check that the regret and arm charts draw and the agent is re-evaluated.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { serve, launch, instrument, canvasInfo, iteration, setControl, artifacts } from './harness.mjs';

let server, ctx;
before(async () => { server = await serve(); ctx = await launch(); });
after(async () => { await ctx?.close(); server?.stop(); });

test('bandit view: switch, train the agent, regret and arm charts draw', async () => {
  const page = await ctx.newPage();
  const { requests, errors } = await instrument(page);
  await page.goto(server.url);
  await page.waitForSelector('[data-testid="train"]:not([disabled])', { timeout: 20000 });
  await page.selectOption('[data-testid="control-task"]', 'bandit');
  await page.waitForSelector('[data-testid="regret-chart"]');
  for (const id of ['control-setting', 'control-arms', 'control-pulls', 'control-algo', 'arm-chart']) {
    assert.equal(await page.locator(`[data-testid="${id}"]`).count(), 1, id);
  }
  // the classical policies and the untrained agent are evaluated before any training
  await page.waitForSelector('[data-testid="policy-thompson"]', { timeout: 20000 });
  assert.match(await page.textContent('[data-testid="bandit-table"]'), /agent-maml/);
  await setControl(page, 'iters', 300);
  await page.waitForFunction(() => document.querySelector('[data-testid="iteration"]').textContent === '0');
  await page.waitForSelector('[data-testid="policy-agent-maml"]', { timeout: 20000 });
  assert.match(await page.textContent('[data-testid="bandit-table"] caption'), /iteration 0/);
  await page.click('[data-testid="train"]');
  await page.waitForFunction(() => Number(document.querySelector('[data-testid="iteration"]').textContent) >= 300,
    null, { timeout: 60000 });
  await page.waitForFunction(() => /iteration 300/.test(document.querySelector('[data-testid="bandit-table"] caption').textContent),
    null, { timeout: 20000 });
  assert.equal(await iteration(page), 300);
  // the table's agent row is the re-evaluated, trained agent (its caption says iteration 300)
  assert.match(await page.textContent('[data-testid="policy-agent-maml"]'), /agent-maml\d+\.\d+ ± \d/);
  await page.screenshot({ path: join(artifacts, 'bandit-trained.png'), fullPage: true });
  for (const id of ['regret-chart', 'arm-chart', 'bandit-train-chart']) {
    const info = await canvasInfo(page, id);
    assert.ok(info.drawn > 5000, `${id} has drawn pixels (${info.drawn})`);
  }
  // switching the setting to independent arms gives k = 10 and a fresh evaluation
  await page.selectOption('[data-testid="control-setting"]', 'independent');
  await page.waitForFunction(() => document.querySelector('[data-testid="control-arms"]').value === '10');
  await page.waitForSelector('[data-testid="policy-ucb1"]', { timeout: 20000 });
  await page.selectOption('[data-testid="control-setting"]', 'dependent-medium');
  await page.waitForSelector('[data-testid="policy-ucb1"]', { timeout: 20000 });
  // out-of-range input is refused with the field and range named
  await setControl(page, 'pulls', 20000);
  assert.match(await page.textContent('[data-testid="input-problem"]'), /Pulls n.*1\.\.=10000/);
  await page.setViewportSize({ width: 360, height: 800 });
  await page.waitForTimeout(300);
  await page.screenshot({ path: join(artifacts, 'bandit-360.png'), fullPage: true });
  assert.equal(await page.isHidden('[data-testid="error-banner"]'), true);
  assert.deepEqual(errors, []);
  const origin = new URL(server.url).origin;
  assert.deepEqual(requests.filter((u) => !u.startsWith(origin) && !u.startsWith('data:') && !u.startsWith('blob:')), []);
});
