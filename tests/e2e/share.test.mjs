// Links, embedding, export and hostile input, end to end in Chromium.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { serve, launch, instrument, iteration, canvasInfo, artifacts } from './harness.mjs';

let server, ctx;
before(async () => { server = await serve(); ctx = await launch(); });
after(async () => { await ctx?.close(); server?.stop(); });

const LINK = 'v=1&task=sine&runs=maml,fomaml&k=5&inner_lr=0.02&iters=300&seed=7&meta_batch=10&app=0.0.9';

async function open(path) {
  const page = await ctx.newPage();
  const watch = await instrument(page);
  await page.goto(`${server.url}${path}`);
  await page.waitForSelector('[data-testid="train"]:not([disabled])', { timeout: 20000 });
  return { page, ...watch };
}

async function trainToEnd(page, total) {
  await page.click('[data-testid="train"]');
  await page.waitForFunction((n) => Number(document.querySelector('[data-testid="iteration"]').textContent) >= n
    && document.querySelector('[data-testid="pause"]').disabled, total, { timeout: 60000 });
}

async function exportFile(page, testid) {
  const [download] = await Promise.all([page.waitForEvent('download'), page.click(`[data-testid="${testid}"]`)]);
  return readFileSync(await download.path(), 'utf8');
}

test('a link opens with its values, and runs twice to identical exports', async () => {
  const csvs = [];
  for (let round = 0; round < 2; round++) {
    const { page, requests, errors } = await open(`/?${LINK}`);
    assert.equal(await page.inputValue('[data-testid="control-k"]'), '5');
    assert.equal(await page.inputValue('[data-testid="control-inner-lr"]'), '0.02');
    assert.equal(await page.inputValue('[data-testid="control-seed"]'), '7');
    assert.equal(await page.locator('[data-testid^="run-"]').count(), 2);
    assert.match(await page.textContent('[data-testid="link-note"]'), /Reproduced from a link \(made with Metaplay 0\.0\.9; this is Metaplay \d+\.\d+\.\d+, so results may differ/);
    // the page writes its own version into the link
    assert.match(page.url(), /&app=\d+\.\d+\.\d+$/);
    assert.equal(await page.locator('[data-testid="link-problems"]').count(), 0);
    // the URL keeps the experiment (rewritten in the page's own canonical order)
    const url = new URL(page.url());
    assert.equal(url.searchParams.get('k'), '5');
    assert.equal(url.searchParams.get('runs'), 'maml,fomaml');
    await trainToEnd(page, 300);
    const csv = await exportFile(page, 'export-csv');
    const json = JSON.parse(await exportFile(page, 'export-json'));
    // the files match the page: 30 logged points per run up to the iteration shown
    const rows = csv.trim().split('\n');
    assert.equal(rows[0], 'series,run,label,x,y,stderr');
    assert.equal(rows.filter((r) => r.startsWith('meta_loss,0,maml,')).length, 30);
    assert.equal(rows.filter((r) => r.startsWith('meta_loss,1,fomaml,')).length, 30);
    assert.equal(rows.filter((r) => r.startsWith('validation_mse,0,')).length, 3);
    assert.equal(Math.max(...rows.slice(1).map((r) => Number(r.split(',')[3]))), await iteration(page));
    assert.equal(json.config.runs[0].k, 5);
    assert.equal(json.version.length > 0, true);
    assert.match(json.link, /k=5/);
    if (round === 0) {
      await page.click('[data-testid="copy-link"]');
      assert.match(await page.inputValue('[data-testid="share-url"]'), /\?v=1&task=sine&runs=maml,fomaml&/);
      const pngs = [];
      page.on('download', (d) => pngs.push(d.suggestedFilename()));
      await page.click('[data-testid="export-png"]');
      await page.waitForTimeout(500);
      assert.deepEqual(pngs.sort(), ['metaplay-fit-chart.png', 'metaplay-meta-loss-chart.png']);
    }
    csvs.push(csv);
    assert.deepEqual(errors, []);
    const origin = new URL(server.url).origin;
    assert.deepEqual(requests.filter((u) => !u.startsWith(origin) && !u.startsWith('data:') && !u.startsWith('blob:')), []);
    await page.close();
  }
  assert.equal(csvs[0], csvs[1], 'the same link gives bit-identical curves');
});

test('a hostile link shows what it ignored and leaves a working page', async () => {
  const runs = Array(3000).fill('maml').join(',');
  const hostile = `/?v=9&k=NaN&hidden=99999x-1&iters=1e99&meta_batch=-5&inner_lr=inf&pts=1:2;x:y;99:1&n=100000&zzz=%3Cscript%3E&seed=-1&runs=${runs}`;
  const { page, errors } = await open(hostile);
  const banner = await page.textContent('[data-testid="link-problems"]');
  for (const needle of ['`v`', 'at most 4', 'only the first', '`k`', '`hidden`', '`iters`', '`meta_batch`', '`inner_lr`', '`pts`', '`n`', '`zzz`', '`seed`', '1..=100']) {
    assert.ok(banner.includes(needle), `banner mentions ${needle}: ${banner}`);
  }
  assert.equal(await page.locator('[data-testid^="run-"]').count(), 4);
  assert.equal(await page.inputValue('[data-testid="control-k"]'), '10');
  await page.screenshot({ path: join(artifacts, 'hostile-link.png'), fullPage: true });
  await page.click('[data-testid="train"]');
  await page.waitForFunction(() => Number(document.querySelector('[data-testid="iteration"]').textContent) >= 20);
  await page.click('[data-testid="pause"]');
  assert.equal(await page.isHidden('[data-testid="error-banner"]'), true);
  assert.deepEqual(errors, []);
  // garbage that is not even key=value
  const g = await open('/?%%%&&==&\u0000&' + 'x'.repeat(20000));
  assert.equal(await g.page.isHidden('[data-testid="error-banner"]'), true);
  assert.ok((await g.page.textContent('[data-testid="link-problems"]')).includes('only the first'));
});

test('a diverging configuration stops with a message and the page stays usable', async () => {
  const { page } = await open('/?v=1&task=sine&runs=maml&inner_lr=10&inner_steps=5&iters=2000&hide=k,seed');
  // a link without app= (typed by hand) claims no reproduction
  assert.equal(await page.locator('[data-testid="link-note"]').count(), 0);
  // hide= removes the named controls, and only those
  assert.equal(await page.locator('[data-testid="control-k"]').isHidden(), true);
  assert.equal(await page.locator('[data-testid="control-seed"]').isHidden(), true);
  assert.equal(await page.locator('[data-testid="control-inner-lr"]').isVisible(), true);
  await page.click('[data-testid="train"]');
  await page.waitForSelector('[data-testid="divergence"]', { timeout: 30000 });
  assert.match(await page.textContent('[data-testid="divergence"]'), /diverged at iteration \d+.*learning rate/);
  await page.fill('[data-testid="control-inner-lr"]', '0.01');
  await page.dispatchEvent('[data-testid="control-inner-lr"]', 'change');
  await page.waitForFunction(() => !document.querySelector('[data-testid="divergence"]'));
  await page.click('[data-testid="train"]');
  await page.waitForFunction(() => Number(document.querySelector('[data-testid="iteration"]').textContent) >= 20);
});

test('the example course page embeds three presets that train', async () => {
  const page = await ctx.newPage();
  const { requests } = await instrument(page);
  await page.goto(`${server.url}/embed.html`);
  const ids = ['embed-maml', 'embed-cnp', 'embed-bandit'];
  for (const id of ids) {
    const frame = page.frameLocator(`[data-testid="${id}"]`);
    await frame.locator('[data-testid="open-full"]').waitFor({ timeout: 30000 });
    // autoplay: each trains on its own
    await page.waitForFunction((id) => {
      const doc = document.querySelector(`[data-testid="${id}"]`).contentDocument;
      const it = doc && doc.querySelector('[data-testid="iteration"]');
      return it && Number(it.textContent) > 10;
    }, id, { timeout: 60000 });
    if (id !== 'embed-cnp') assert.equal(await frame.locator('aside').isHidden(), true, 'embed mode hides the settings');
    const href = await frame.locator('[data-testid="open-full"]').getAttribute('href');
    assert.ok(!href.includes('embed=1'), href);
  }
  await page.screenshot({ path: join(artifacts, 'embed-page.png'), fullPage: true });
  const origin = new URL(server.url).origin;
  assert.deepEqual(requests.filter((u) => !u.startsWith(origin) && !u.startsWith('data:') && !u.startsWith('blob:')), []);
});

test('wasm memory of the workers stays flat over a 20,000-iteration run of two runs', async () => {
  // two runs: two workers where there are two cores (the memory shown is their sum)
  const { page } = await open('/?v=1&task=sine&runs=maml,fomaml&iters=20000&meta_batch=25');
  await page.click('[data-testid="train"]');
  const mb = async () => Number((await page.textContent('[data-testid="memory"]')).replace(' MB', ''));
  await page.waitForFunction(() => Number(document.querySelector('[data-testid="iteration"]').textContent) >= 2000, null, { timeout: 60000 });
  const warm = await mb();
  await page.waitForFunction(() => Number(document.querySelector('[data-testid="iteration"]').textContent) >= 20000
    && document.querySelector('[data-testid="pause"]').disabled, null, { timeout: 180000 });
  await page.waitForTimeout(300);
  const end = await mb();
  console.log(JSON.stringify({ event: 'worker_memory', mb_after_2000: warm, mb_after_20000: end }));
  assert.ok(end <= warm * 1.05 + 0.5, `memory grew from ${warm} MB to ${end} MB`);
});

test('meta-parameters export as safetensors and import into a fresh page; a corrupted file is refused', async () => {
  const a = await open(`/?${LINK}`);
  await trainToEnd(a.page, 300);
  await a.page.waitForTimeout(300);
  const trainedFit = await canvasInfo(a.page, 'fit-chart');
  const [download] = await Promise.all([a.page.waitForEvent('download'), a.page.click('[data-testid="export-params"]')]);
  const bytes = readFileSync(await download.path());
  assert.equal(download.suggestedFilename(), 'metaplay-params.safetensors');
  const header = JSON.parse(bytes.subarray(8, 8 + Number(bytes.readBigUInt64LE(0))).toString('utf8'));
  assert.deepEqual(header['run0.w0'].shape, [1, 40]);
  assert.equal(header.__metadata__.app, 'metaplay');
  // a fresh page with the same link: untrained, then the import gives the trained fit at once
  const b = await open(`/?${LINK}`);
  await b.page.waitForTimeout(300);
  assert.notEqual((await canvasInfo(b.page, 'fit-chart')).hash, trainedFit.hash);
  await b.page.setInputFiles('[data-testid="import-params"]', { name: 'p.safetensors', mimeType: 'application/octet-stream', buffer: bytes });
  await b.page.waitForSelector('[data-testid="import-status"]');
  assert.match(await b.page.textContent('[data-testid="import-status"]'), /2 run\(s\) loaded/);
  await b.page.waitForFunction((h) => {
    const c = document.querySelector('[data-testid="fit-chart"]');
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let hash = 0;
    for (let i = 0; i < d.length; i += 4) hash = (hash * 31 + d[i] + 7 * d[i + 1] + 13 * d[i + 2] + 17 * d[i + 3]) | 0;
    return hash === h;
  }, trainedFit.hash, { timeout: 10000 });
  // corrupted: the header length no longer matches
  const bad = Buffer.from(bytes);
  bad[2] ^= 0x55;
  await b.page.setInputFiles('[data-testid="import-params"]', { name: 'bad.safetensors', mimeType: 'application/octet-stream', buffer: bad });
  await b.page.waitForSelector('[data-testid="error-banner"]:not([hidden])');
  assert.match(await b.page.textContent('[data-testid="error-banner"]'), /parameter file rejected: not a safetensors file/);
  // another configuration: the file is refused naming the tensor and the shapes
  const c = await open('/?v=1&task=sine&runs=maml,fomaml&hidden=20x20&iters=300');
  await c.page.setInputFiles('[data-testid="import-params"]', { name: 'p.safetensors', mimeType: 'application/octet-stream', buffer: bytes });
  await c.page.waitForSelector('[data-testid="error-banner"]:not([hidden])');
  assert.match(await c.page.textContent('[data-testid="error-banner"]'), /`run0.w0` has shape \[1, 40\]; the current settings need \[1, 20\]/);
});
