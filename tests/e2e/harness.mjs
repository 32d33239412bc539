// Shared helpers for the e2e tests: serve dist/ on 127.0.0.1, launch Debian's Chromium headless
// through playwright-core (no browser download), and read canvases.
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
export const root = join(here, '..', '..');
export const artifacts = join(here, 'artifacts');
mkdirSync(artifacts, { recursive: true });

export async function serve(dir = join(root, 'dist')) {
  const port = 8700 + Math.floor(Math.random() * 200);
  const proc = spawn('python3', ['-m', 'http.server', String(port), '--bind', '127.0.0.1', '--directory', dir],
    { stdio: 'ignore' });
  const url = `http://127.0.0.1:${port}/`;
  for (let i = 0; i < 100; i++) {
    try { if ((await fetch(url)).ok) return { url, stop: () => proc.kill() }; } catch {}
    await new Promise((r) => setTimeout(r, 100));
  }
  proc.kill();
  throw new Error('static server did not start');
}

/** Headless Chromium; `{ webgpu: true }` lets it hand WebGPU its software (SwiftShader) adapter. */
export async function launch({ webgpu = false } = {}) {
  return chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'metaplay-e2e-')), {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    viewport: { width: 1280, height: 900 },
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-dev-shm-usage',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      ...(webgpu ? ['--enable-unsafe-webgpu'] : [])],
  });
}

/** Records long main-thread tasks and every request's origin. */
export async function instrument(page) {
  await page.addInitScript(() => {
    window.__longtasks = [];
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) window.__longtasks.push(e.duration);
    }).observe({ type: 'longtask', buffered: true });
  });
  const requests = [];
  page.on('request', (r) => requests.push(r.url()));
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  return { requests, errors };
}

/** Number of non-transparent pixels of a canvas and a hash of its pixels. */
export async function canvasInfo(page, testid) {
  return page.$eval(`[data-testid="${testid}"]`, (c) => {
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let drawn = 0, hash = 0;
    for (let i = 0; i < d.length; i += 4) {
      if (d[i + 3] > 0) drawn++;
      hash = (hash * 31 + d[i] + 7 * d[i + 1] + 13 * d[i + 2] + 17 * d[i + 3]) | 0;
    }
    return { drawn, hash };
  });
}

export async function iteration(page) {
  return Number(await page.textContent('[data-testid="iteration"]'));
}

export async function setControl(page, name, value) {
  const el = page.locator(`[data-testid="control-${name}"]`);
  await el.fill(String(value));
  await el.dispatchEvent('change');
}
