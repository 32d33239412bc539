// Course features end to end: explanations with MathML formulas, lessons, the embed builder,
// keyboard-only use, text alternatives of the charts, axe-core on the three pages, offline use
// after the first visit, the gradient check, and the screenshots a reviewer looks at.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { serve, launch, instrument, iteration, artifacts } from './harness.mjs';

const require = createRequire(import.meta.url);
const AXE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

let server, ctx;
before(async () => { server = await serve(); ctx = await launch(); });
after(async () => { await ctx?.close(); server?.stop(); });

const ready = (page) => page.waitForSelector('[data-testid="train"]:not([disabled])', { timeout: 30000 });

/** Serious and critical axe-core violations on the page as it is now. */
async function axeViolations(page) {
  await page.addScriptTag({ content: AXE });
  const result = await page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const r = await axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.slice(0, 3).map((n) => n.target.join(' ')) }));
  });
  return result.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}

test('explanations render with MathML formulas laid out, and collapse', async () => {
  const page = await ctx.newPage();
  const { errors } = await instrument(page);
  await page.goto(`${server.url}?v=1&task=sine&runs=maml,cnp&iters=200`);
  await ready(page);
  for (const key of ['maml', 'cnp']) {
    const panel = page.locator(`[data-testid="explain-${key}"]`);
    assert.ok(await panel.isVisible(), `${key} explained`);
    assert.equal(await panel.getAttribute('open'), '', `${key} open by default`);
  }
  // MathML laid out natively: a subscript sits lower and is smaller than its base
  const layout = await page.$eval('[data-testid="explain-maml"] math', (m) => {
    const box = m.getBoundingClientRect();
    const sub = m.querySelector('msubsup, msub');
    const base = sub.firstElementChild.getBoundingClientRect();
    const script = sub.children[1].getBoundingClientRect();
    return { w: box.width, h: box.height, baseTop: base.top, scriptTop: script.top, baseH: base.height, scriptH: script.height,
      ns: m.namespaceURI };
  });
  assert.equal(layout.ns, 'http://www.w3.org/1998/Math/MathML');
  assert.ok(layout.w > 100 && layout.h > 10, `formula has a box (${layout.w}×${layout.h})`);
  assert.ok(layout.scriptTop > layout.baseTop && layout.scriptH < layout.baseH,
    `the subscript is set lower and smaller (${JSON.stringify(layout)})`);
  assert.ok(await page.locator('[data-testid="explain-maml"] a[href="https://arxiv.org/abs/1703.03400"]').count() === 1);
  // collapsing hides the body
  await page.click('[data-testid="explain-maml"] > summary');
  assert.equal(await page.locator('[data-testid="explain-maml"] .formula').isVisible(), false);
  // the embed mode shows one line per learner
  await page.goto(`${server.url}?v=1&task=sine&runs=maml,cnp&iters=200&embed=1`);
  await ready(page);
  assert.match(await page.textContent('p[data-testid="explain-maml"]'), /initialisation/);
  assert.equal(await page.locator('.embed math').count(), 0, 'no formulas in the one-line version');
  assert.deepEqual(errors, []);
  await page.close();
});

test('a lesson link opens its experiment and its steps; the lesson list links them all', async () => {
  const page = await ctx.newPage();
  await page.goto(`${server.url}#lessons`);
  await ready(page);
  const links = page.locator('[data-testid="lesson-list"] a[data-testid^="lesson-link-"]');
  assert.equal(await links.count(), 6);
  assert.equal(await page.getAttribute('[data-testid="lesson-list"]', 'open'), '');
  await page.click('[data-testid="lesson-link-model-based"]');
  await page.waitForURL(/lesson=model-based/);
  await ready(page);
  assert.match(await page.textContent('[data-testid="lesson"] h2'), /neural process/);
  assert.equal(await page.locator('[data-testid="lesson-steps"] li').count(), 3);
  assert.equal(await page.locator('[data-testid^="run-"]').count(), 2, 'MAML and the CNP');
  assert.equal(await page.inputValue('[data-testid="control-iters"]'), '8000');
  // the link keeps the lesson as the experiment changes
  assert.match(await page.inputValue('[data-testid="share-url"]'), /lesson=model-based/);
  await page.screenshot({ path: join(artifacts, 'course-lesson.png'), fullPage: false });
  await page.close();
});

test('the embed builder: chosen controls, size, snippet, and the snippet loads with exactly those controls', async () => {
  const page = await ctx.newPage();
  await page.goto(`${server.url}?v=1&task=sine&runs=maml,pretrain&iters=300`);
  await ready(page);
  await page.click('[data-testid="embed-this"]');
  await page.check('[data-testid="embed-show-k"]');
  await page.check('[data-testid="embed-show-iters"]');
  await page.uncheck('[data-testid="embed-autoplay"]');
  await page.fill('[data-testid="embed-width"]', '640');
  await page.dispatchEvent('[data-testid="embed-width"]', 'change');
  await page.fill('[data-testid="embed-height"]', '99999');
  await page.dispatchEvent('[data-testid="embed-height"]', 'change');
  assert.match(await page.textContent('[data-testid="embed-problem"]'), /Height: '99999' is not a whole number of pixels from 300 to 2400/);
  const snippet = await page.inputValue('[data-testid="embed-snippet"]');
  assert.match(snippet, /^<iframe src="http:\/\/127\.0\.0\.1:\d+\/\?v=1&amp;task=sine/);
  assert.match(snippet, /width="640" height="660"/);
  assert.match(snippet, /embed=1/);
  await page.waitForFunction(() => {
    const f = document.querySelector('[data-testid="embed-preview"]');
    return f && f.contentDocument && f.contentDocument.querySelector('[data-testid="train"]:not([disabled])');
  }, null, { timeout: 30000 });
  await page.screenshot({ path: join(artifacts, 'course-embed-builder.png'), fullPage: true });
  // the snippet, pasted into a course page
  const course = await ctx.newPage();
  await course.goto(`${server.url}embed.html`);
  await course.setContent(`<!doctype html><html lang="en"><head><title>course</title></head><body><h1>Course</h1>${snippet}</body></html>`);
  const frame = await (await course.waitForSelector('iframe')).contentFrame();
  await frame.waitForSelector('[data-testid="train"]:not([disabled])', { timeout: 30000 });
  const visible = await frame.$$eval('[data-testid^="control-"]', (els) =>
    els.filter((e) => e.offsetParent !== null).map((e) => e.dataset.testid).sort());
  assert.deepEqual(visible, ['control-iters', 'control-k']);
  assert.equal(await frame.locator('[data-testid="share-url"]').count(), 0, 'no share bar in the embed');
  await course.close();
  await page.close();
});

test('keyboard only: train, pause, change a setting, add a support point', async () => {
  const page = await ctx.newPage();
  await page.goto(`${server.url}?v=1&task=sine&runs=maml&iters=100000`);
  await ready(page);
  // Tab reaches Train first among the toolbar's buttons, with a visible focus ring
  let focused = '';
  for (let i = 0; i < 30 && focused !== 'train'; i++) {
    await page.keyboard.press('Tab');
    focused = await page.evaluate(() => document.activeElement?.dataset?.testid || '');
  }
  assert.equal(focused, 'train');
  const ring = await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
  assert.notEqual(ring, 'none', 'focus ring visible');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => Number(document.querySelector('[data-testid="iteration"]').textContent) > 20);
  // Pause is the next button
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.dataset.testid), 'pause');
  await page.keyboard.press('Enter');
  await page.waitForSelector('[data-testid="train"]:not([disabled])');
  const paused = await iteration(page);
  await page.waitForTimeout(400);
  assert.equal(await iteration(page), paused, 'paused');
  // a setting, by keyboard: focus K, type, Tab away (change)
  await page.focus('[data-testid="control-k"]');
  await page.keyboard.press('Control+A');
  await page.keyboard.type('7');
  await page.keyboard.press('Tab');
  await page.waitForFunction(() => document.querySelector('[data-testid="share-url"]').value.includes('k=7'));
  // a support point, by keyboard
  const count = async () => Number((await page.textContent('[data-testid="point-count"]')).split(' ')[0]);
  const n0 = await count();
  await page.focus('[data-testid="point-x"]');
  await page.keyboard.type('1.5');
  await page.keyboard.press('Tab');
  await page.keyboard.type('-2');
  await page.keyboard.press('Enter');
  await page.waitForFunction((n) => Number(document.querySelector('[data-testid="point-count"]').textContent.split(' ')[0]) === n + 1, n0);
  assert.match(await page.inputValue('[data-testid="share-url"]'), /pts=[^&]*1\.5:-2/);
  // the live region speaks the state, not every iteration
  assert.match(await page.textContent('[data-testid="status-announcement"]'), /^(Paused|Ready to train): iteration/);
  await page.close();
});

test('the charts have text alternatives and data tables', async () => {
  const page = await ctx.newPage();
  await page.goto(`${server.url}?v=1&task=sine&runs=maml,pretrain&iters=600`);
  await ready(page);
  await page.click('[data-testid="train"]');
  // both runs to the end (they train in parallel workers: either may finish first)
  await page.waitForFunction(() => /after 600 iterations;.*after 600 iterations/.test(
    document.querySelector('[data-testid="loss-summary"]').textContent), null, { timeout: 60000 });
  const summary = await page.textContent('[data-testid="loss-summary"]');
  assert.match(summary, /^Meta-loss chart: MAML \(solid\)'s validation loss is [\d.]+ after 600 iterations; Pre-training \(dashed\)'s validation loss is/);
  assert.match(await page.textContent('[data-testid="fit-summary"]'), /^Fit chart: 10 support points; after 10 steps/);
  assert.equal(await page.getAttribute('[data-testid="meta-loss-chart"]', 'aria-describedby'), 'loss-summary');
  await page.click('[data-testid="loss-table-toggle"]');
  const rows = await page.locator('[data-testid="loss-table"] tbody tr').count();
  assert.ok(rows >= 2, `validation rows (${rows})`);
  await page.click('[data-testid="fit-table-toggle"]');
  assert.ok(await page.locator('[data-testid="fit-table"] tbody tr').count() >= 10);
  // axe on the sine page with every panel open
  await page.click('[data-testid="embed-this"]');
  const sine = await axeViolations(page);
  assert.deepEqual(sine, [], `sine page: ${JSON.stringify(sine)}`);
  await page.close();
});

test('axe-core: no serious or critical violation on the bandit and the embed pages', async () => {
  const page = await ctx.newPage();
  await page.goto(`${server.url}?v=1&task=bandit&setting=dependent-medium&agent=rl2&iters=50`);
  await ready(page);
  const bandit = await axeViolations(page);
  assert.deepEqual(bandit, [], `bandit page: ${JSON.stringify(bandit)}`);
  await page.goto(`${server.url}embed.html`);
  const frame = await (await page.waitForSelector('iframe[data-testid="embed-maml"]')).contentFrame();
  await frame.waitForSelector('[data-testid="train"]', { timeout: 30000 });
  const embed = await axeViolations(page);
  assert.deepEqual(embed, [], `embed page: ${JSON.stringify(embed)}`);
  await page.close();
});

test('the gradient check: exact below 1e-4, a visible gap for first-order MAML', async () => {
  const page = await ctx.newPage();
  await page.goto(`${server.url}?v=1&task=sine&runs=maml,fomaml&iters=100`);
  await ready(page);
  await page.click('[data-testid="check-gradients"]');
  await page.waitForSelector('[data-testid="gradient-check-result"]', { timeout: 30000 });
  const exact = Number(await page.textContent('[data-testid="gradient-check-exact"]'));
  assert.ok(exact < 1e-4, `exact meta-gradient error ${exact}`);
  const gap = await page.textContent('[data-testid="gradient-check-gap"]');
  const percent = Number(gap.match(/by ([\d.]+)%/)[1]);
  assert.ok(percent > 1, `first-order gap ${gap}`);
  await page.screenshot({ path: join(artifacts, 'course-gradient-check.png'), fullPage: true });
  await page.close();
});

test('offline after the first visit: the page loads and trains with the network cut', async () => {
  const context = await launch();
  try {
    const page = await context.newPage();
    const link = `${server.url}?v=1&task=sine&runs=maml&iters=60`;
    await page.goto(link);
    await ready(page);
    await page.evaluate(async () => { await navigator.serviceWorker.ready; });
    await page.waitForFunction(async () => (await caches.keys()).some((k) => k.startsWith('metaplay-')));
    await context.setOffline(true);
    await page.reload();
    await ready(page);
    await page.click('[data-testid="train"]');
    await page.waitForFunction(() => Number(document.querySelector('[data-testid="iteration"]').textContent) >= 60,
      null, { timeout: 30000 });
    assert.equal(await page.locator('[data-testid="error-banner"]:not([hidden])').count(), 0);
  } finally {
    await context.close();
  }
});

test('screenshots: explanations, dark mode, 360 px, print', async () => {
  const page = await ctx.newPage();
  await page.goto(`${server.url}?v=1&task=sine&runs=maml,metasgd-momentum&iters=300&inner_steps=5&clip=100`);
  await ready(page);
  await page.click('[data-testid="train"]');
  await page.waitForFunction(() => Number(document.querySelector('[data-testid="iteration"]').textContent) >= 300, null, { timeout: 60000 });
  await page.locator('[data-testid="explanations"]').screenshot({ path: join(artifacts, 'course-explanations.png') });
  await page.emulateMedia({ colorScheme: 'dark' });
  await page.screenshot({ path: join(artifacts, 'course-dark.png'), fullPage: true });
  await page.emulateMedia({ colorScheme: 'light', media: 'print' });
  await page.screenshot({ path: join(artifacts, 'course-print.png'), fullPage: true });
  await page.pdf({ path: join(artifacts, 'course-print.pdf'), format: 'A4' });
  await page.emulateMedia({ media: 'screen' });
  await page.setViewportSize({ width: 360, height: 800 });
  await page.waitForTimeout(300);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  await page.screenshot({ path: join(artifacts, 'course-360.png'), fullPage: true });
  assert.ok(overflow <= 1, `no horizontal scroll at 360 px (${overflow} px)`);
  await page.close();
});
