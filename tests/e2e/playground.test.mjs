// The playground end to end: two runs train in the worker while the page stays responsive,
// both charts draw, a click on the fit chart adds a support point and changes the fit.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { serve, launch, instrument, canvasInfo, iteration, setControl, artifacts } from './harness.mjs';

let server, ctx;
before(async () => { server = await serve(); ctx = await launch(); });
after(async () => { await ctx?.close(); server?.stop(); });

test('two runs train in a worker, charts draw, clicks add support points', async () => {
  const page = await ctx.newPage();
  const { requests, errors } = await instrument(page);
  const t0 = Date.now();
  await page.goto(server.url);
  await page.waitForSelector('[data-testid="train"]:not([disabled])', { timeout: 20000 });
  // the fit chart draws as soon as the worker answers
  await page.waitForFunction(() => {
    const c = document.querySelector('[data-testid="fit-chart"]');
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    for (let i = 3; i < d.length; i += 4) if (d[i] > 0) return true;
    return false;
  });
  const firstDrawMs = Date.now() - t0;

  assert.equal(await page.locator('[data-testid^="run-"]').count(), 2, 'MAML and pre-training');
  await setControl(page, 'iters', 400);
  await page.waitForFunction(() => document.querySelector('[data-testid="iteration"]').textContent === '0');
  const loadLongtasks = await page.evaluate(() => window.__longtasks.splice(0));
  await page.click('[data-testid="train"]');
  await page.waitForFunction(() => Number(document.querySelector('[data-testid="iteration"]').textContent) >= 50);
  const a = await iteration(page);
  await page.waitForTimeout(300);
  const b = await iteration(page);
  assert.ok(b > a, `the iteration counter advances while training (${a} -> ${b})`);
  // responsiveness: frames keep coming during training
  const frames = await page.evaluate(() => new Promise((resolve) => {
    let n = 0; const end = performance.now() + 500;
    const tick = (t) => { n++; if (t < end) requestAnimationFrame(tick); else resolve(n); };
    requestAnimationFrame(tick);
  }));
  await page.waitForFunction(() => Number(document.querySelector('[data-testid="iteration"]').textContent) >= 400,
    null, { timeout: 60000 });
  const longtasks = await page.evaluate(() => window.__longtasks.filter((d) => d > 50));
  assert.ok(frames >= 10, `the page keeps painting while training (${frames} frames in 500 ms)`);
  assert.deepEqual(longtasks, [], 'no main-thread task over 50 ms during training');

  const loss = await canvasInfo(page, 'meta-loss-chart');
  assert.ok(loss.drawn > 5000, `meta-loss chart has drawn pixels (${loss.drawn})`);
  const fitBefore = await canvasInfo(page, 'fit-chart');
  assert.ok(fitBefore.drawn > 5000, `fit chart has drawn pixels (${fitBefore.drawn})`);

  // click on the fit chart, in an empty spot near the top: a new support point, a new fit
  const count = async () => Number((await page.textContent('[data-testid="point-count"]')).split(' ')[0]);
  const n0 = await count();
  await page.locator('[data-testid="fit-chart"]').scrollIntoViewIfNeeded();
  const box = await page.locator('[data-testid="fit-chart"]').boundingBox();
  await page.mouse.click(box.x + box.width * 0.52, box.y + box.height * 0.12);
  await page.waitForFunction((n) => Number(document.querySelector('[data-testid="point-count"]').textContent.split(' ')[0]) === n + 1, n0);
  await page.waitForTimeout(300);
  const fitAfter = await canvasInfo(page, 'fit-chart');
  assert.notEqual(fitAfter.hash, fitBefore.hash, 'the adapted curves change');
  // clicking the same point again removes it
  await page.mouse.click(box.x + box.width * 0.52, box.y + box.height * 0.12);
  await page.waitForFunction((n) => Number(document.querySelector('[data-testid="point-count"]').textContent.split(' ')[0]) === n, n0);

  await page.screenshot({ path: join(artifacts, 'playground.png'), fullPage: true });
  assert.deepEqual(errors, [], 'no page errors');
  assert.ok(await page.locator('[data-testid="error-banner"]').isHidden(), 'no error banner');
  const origin = new URL(server.url).origin;
  assert.deepEqual(requests.filter((u) => !u.startsWith(origin) && !u.startsWith('data:')), [], 'no request leaves the origin');
  console.log(JSON.stringify({ event: 'e2e_playground', first_chart_ms: firstDrawMs, frames_in_500ms: frames, load_longtasks_ms: loadLongtasks }));
});

test('narrow iframe width: a 360 px viewport has no horizontal scroll', async () => {
  const page = await ctx.newPage();
  await page.setViewportSize({ width: 360, height: 740 });
  await page.goto(server.url);
  await page.waitForSelector('[data-testid="train"]:not([disabled])', { timeout: 20000 });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert.ok(overflow <= 0, `no horizontal overflow (${overflow}px)`);
  await page.screenshot({ path: join(artifacts, 'playground-360.png'), fullPage: true });
});

test('dark colour scheme', async () => {
  const page = await ctx.newPage();
  await page.emulateMedia({ colorScheme: 'dark' });
  await page.goto(server.url);
  await page.waitForSelector('[data-testid="train"]:not([disabled])', { timeout: 20000 });
  const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  assert.equal(bg, 'rgb(11, 18, 32)', 'dark background');
  await page.click('[data-testid="step"]');
  await page.waitForFunction(() => document.querySelector('[data-testid="iteration"]').textContent === '1');
  await page.screenshot({ path: join(artifacts, 'playground-dark.png'), fullPage: true });
});

test('an out-of-range value is refused with the field and its range', async () => {
  const page = await ctx.newPage();
  await page.goto(server.url);
  await page.waitForSelector('[data-testid="train"]:not([disabled])', { timeout: 20000 });
  await setControl(page, 'meta-batch', 100000);
  const msg = await page.textContent('[data-testid="input-problem"]');
  assert.match(msg, /Meta-batch.*1.*128/);
  assert.equal(await page.inputValue('[data-testid="control-meta-batch"]'), '25');
});
