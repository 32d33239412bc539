// "Play it yourself" end to end: open the bandit view, pull every arm by keyboard (digit keys,
// then arrows + Enter), and check that the means are revealed, the worker's replay of every
// policy fills the regret table and the timeline, and the charts drew. Also: the seed field is
// checked with the field named, and "New bandit" draws another from the next seed.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { serve, launch, instrument, canvasInfo, artifacts } from './harness.mjs';

let server, ctx;
before(async () => { server = await serve(); ctx = await launch(); });
after(async () => { await ctx?.close(); server?.stop(); });

const status = (page) => page.textContent('[data-testid="play-status"]');

test('play it yourself: pull by keyboard, then regret beside every policy and a timeline', async () => {
  const page = await ctx.newPage();
  const { errors } = await instrument(page);
  await page.goto(server.url);
  await page.waitForSelector('[data-testid="train"]:not([disabled])', { timeout: 20000 });
  await page.selectOption('[data-testid="control-task"]', 'bandit');
  await page.waitForSelector('[data-testid="policy-thompson"]', { timeout: 20000 });
  await page.waitForSelector('[data-testid="play-arm-1"]');
  assert.equal(await page.locator('[data-testid^="play-arm-"]').count(), 2, 'one button per arm');
  // the button's name is its visible text (axe: label-content-name-mismatch)
  assert.match(await page.textContent('[data-testid="play-arm-0"]'), /^Arm 1\s*0 pulls · sum 0/);
  assert.match(await status(page), /Pull 0 of 100 · 100 left · total reward 0/);
  assert.equal(await page.locator('[data-testid="play-results"]').count(), 0, 'nothing revealed yet');
  assert.equal(await page.locator('[data-testid^="play-mean-"]').count(), 0);

  // keyboard: focus the first arm, digits pull arms 1 and 2
  await page.focus('[data-testid="play-arm-0"]');
  for (let i = 0; i < 50; i++) await page.keyboard.press(i % 3 === 0 ? '1' : '2');
  assert.match(await status(page), /Pull 50 of 100 · 50 left/);
  // a digit with no arm is refused with a message, not a pull
  await page.keyboard.press('7');
  assert.match(await page.textContent('[data-testid="play-note"]'), /2 arms: keys 1–2/);
  assert.match(await status(page), /Pull 50 of 100/);
  // arrows move the focus between arms, Enter pulls the focused one
  await page.keyboard.press('ArrowRight');
  await page.waitForFunction(() => document.activeElement?.dataset?.testid === 'play-arm-1');
  for (let i = 0; i < 49; i++) await page.keyboard.press('Enter');
  assert.match(await status(page), /Pull 99 of 100 · 1 left/);
  const stats = await page.textContent('[data-testid="play-arm-1"]');
  assert.match(stats, /\d+ pulls · sum \d+/);
  await page.keyboard.press('ArrowLeft');
  await page.waitForFunction(() => document.activeElement?.dataset?.testid === 'play-arm-0');
  await page.keyboard.press('Enter');
  assert.match(await status(page), /Pull 100 of 100 · 0 left/);

  // the end: means revealed, arms disabled, focus on "New bandit"
  await page.waitForSelector('[data-testid="play-results"]');
  assert.equal(await page.locator('[data-testid^="play-mean-"]').count(), 2);
  assert.match(await page.textContent('[data-testid="play-results"]'), /arm \d: 0\.(25|75) \(best\)/);
  assert.equal(await page.isDisabled('[data-testid="play-arm-0"]'), true);
  await page.waitForFunction(() => document.activeElement?.dataset?.testid === 'play-new');
  // the worker's replay: every policy of the evaluation table, plus you
  await page.waitForSelector('[data-testid="play-row-agent-maml"]', { timeout: 20000 });
  const names = await page.$$eval('[data-testid="play-table"] tbody tr', (rows) => rows.map((r) => r.dataset.testid));
  const policies = await page.$$eval('[data-testid="bandit-table"] tbody tr', (rows) => rows.map((r) => r.dataset.testid.replace('policy-', 'play-row-')));
  assert.deepEqual(names, ['play-row-you', ...policies]);
  assert.match(await page.textContent('[data-testid="play-table"] caption'), /agent at iteration 0/);
  assert.match(await page.textContent('[data-testid="play-verdict"]'),
    new RegExp(`^Your regret: \\d+\\.\\d\\d — lower than \\d+ of the ${policies.length} policies`));
  assert.match(await page.textContent('[data-testid="play-row-oracle"]'), /oracle\d+0\.00100%/);
  const you = await page.$$eval('[data-testid="play-row-you"] td', (tds) => tds.map((t) => t.textContent));
  assert.equal(you[0], 'you');
  assert.match(you[2], /^\d+\.\d\d$/, 'your regret as a figure');
  assert.equal(Number(you[2]) % 0.5, 0, 'medium arms: each pull of the worse arm costs 0.5');
  assert.match(await page.textContent('[data-testid="play-timeline-text"]'), /you: [12]/);
  for (const id of ['play-regret-chart', 'play-timeline']) {
    const info = await canvasInfo(page, id);
    assert.ok(info.drawn > 5000, `${id} has drawn pixels (${info.drawn})`);
  }
  await page.locator('[data-testid="play"]').screenshot({ path: join(artifacts, 'play-finished.png') });

  // the seed field: refused input names the field and the range; the game stays
  await page.fill('[data-testid="play-seed"]', 'abc');
  await page.dispatchEvent('[data-testid="play-seed"]', 'change');
  assert.match(await page.textContent('[data-testid="play-seed-problem"]'), /^Play seed: 'abc' is not a whole number.*0\.\.=4294967295/);
  assert.equal(await page.inputValue('[data-testid="play-seed"]'), '1');
  assert.match(await status(page), /Pull 100 of 100/);
  // New bandit: the next seed, a fresh game, focus back on the first arm
  await page.click('[data-testid="play-new"]');
  assert.equal(await page.inputValue('[data-testid="play-seed"]'), '2');
  assert.equal(await page.isHidden('[data-testid="play-seed-problem"]'), true);
  assert.match(await status(page), /Pull 0 of 100 · 100 left/);
  assert.equal(await page.locator('[data-testid="play-results"]').count(), 0);
  await page.waitForFunction(() => document.activeElement?.dataset?.testid === 'play-arm-0');
  // a typed seed draws that bandit; the same seed gives the same rewards
  const rewards = async (seed) => {
    await page.fill('[data-testid="play-seed"]', String(seed));
    await page.dispatchEvent('[data-testid="play-seed"]', 'change');
    await page.focus('[data-testid="play-arm-0"]');
    for (let i = 0; i < 10; i++) await page.keyboard.press('1');
    return status(page);
  };
  assert.equal(await rewards(77), await rewards(77));

  // a narrow page: finish the game and look at it
  await page.setViewportSize({ width: 360, height: 800 });
  await page.focus('[data-testid="play-arm-1"]');
  for (let i = 0; i < 90; i++) await page.keyboard.press('2');
  await page.waitForSelector('[data-testid="play-row-agent-maml"]', { timeout: 20000 });
  assert.match(await page.textContent('[data-testid="play-verdict"]'),
    new RegExp(`^Your regret: \\d+\\.\\d\\d — lower than \\d+ of the ${policies.length} policies`));
  await page.waitForTimeout(300);
  await page.locator('[data-testid="play"]').screenshot({ path: join(artifacts, 'play-360.png') });
  for (const id of ['play-regret-chart', 'play-timeline']) {
    assert.ok((await canvasInfo(page, id)).drawn > 3000, `${id} drawn at 360 px`);
  }
  assert.equal(await page.isHidden('[data-testid="error-banner"]'), true);
  assert.deepEqual(errors, []);
});

test('play it yourself on ten independent arms: key 0 is arm 10, rewards as they come', async () => {
  const page = await ctx.newPage();
  const { errors } = await instrument(page);
  await page.goto(`${server.url}?v=1&task=bandit&setting=independent&arms=10&pulls=20`);
  await page.waitForSelector('[data-testid="policy-thompson"]', { timeout: 20000 });
  assert.equal(await page.locator('[data-testid^="play-arm-"]').count(), 10);
  await page.focus('[data-testid="play-arm-0"]');
  await page.keyboard.press('0');
  assert.match(await status(page), /Pull 1 of 20 · 19 left · total reward [01] · arm 10 paid [01]/);
  assert.match(await page.textContent('[data-testid="play-arm-9"]'), /^Arm 10\s*1 pulls · sum [01]/);
  for (let i = 0; i < 19; i++) await page.keyboard.press(String(1 + (i % 9)));
  await page.waitForSelector('[data-testid="play-row-agent-maml"]', { timeout: 20000 });
  assert.equal(await page.locator('[data-testid^="play-mean-"]').count(), 10);
  assert.equal(await page.locator('[data-testid="play-arms"] .arm.best').count(), 1, 'the best arm is marked');
  assert.ok((await canvasInfo(page, 'play-timeline')).drawn > 5000);
  await page.locator('[data-testid="play"]').screenshot({ path: join(artifacts, 'play-10-arms.png') });
  // another family: a fresh game on two arms, without a hitch
  await page.selectOption('[data-testid="control-setting"]', 'dependent-medium');
  await page.waitForFunction(() => document.querySelectorAll('[data-testid^="play-arm-"]').length === 2);
  assert.match(await status(page), /Pull 0 of 20 · 20 left/);
  assert.equal(await page.locator('[data-testid="play-results"]').count(), 0);
  assert.equal(await page.isHidden('[data-testid="error-banner"]'), true);
  assert.deepEqual(errors, []);
});
