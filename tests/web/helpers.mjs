// helpers.mjs: shared set-up for the browser tests in tests/web/*.test.mjs.
// Each test file starts its own helpmap server (binary from $HM_BIN, default
// build/helpmap) on a free 127.0.0.1 port with a fresh database, and drives
// Debian's chromium through playwright-core. Pages fail the test on any
// console error, uncaught exception, request to another host, or failed
// load of a page asset; API 4xx answers are the app's business and allowed.
import { spawn, execFile } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { chromium } from 'playwright-core';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const ARTIFACTS = path.join(ROOT, 'tests/artifacts');
export const BIN = path.resolve(ROOT, process.env.HM_BIN || 'build/helpmap');
const run = promisify(execFile);

// A point well inside Củ Chi (Xã Nhuận Đức), one outside (Ho Chi Minh City centre).
export const INSIDE = { lat: 11.0392, lon: 106.4962 };
export const OUTSIDE = { lat: 10.7769, lon: 106.7009 };

function binCmd(args) {
  return BIN.endsWith('.mjs') ? [process.execPath, [BIN, ...args]] : [BIN, args];
}

async function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

// startServer({args}) -> {base, db, dir, teamAdd(name, role), stop()}; `args`
// go to `helpmap serve` (e.g. ['--basemap', file]).
export async function startServer({ args: extra = [] } = {}) {
  if (!fs.existsSync(BIN)) {
    throw new Error(`helpmap binary not found at ${BIN}: build it (cmake -S . -B build && cmake --build build) or set HM_BIN`);
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hm-web-'));
  const db = path.join(dir, 't.db');
  const port = await freePort();
  const [cmd, args] = binCmd(['serve', '--db', db, '--port', String(port), '--web', path.join(ROOT, 'web'), '--rate-limit', '0', ...extra]);
  const log = fs.openSync(path.join(dir, 'server.log'), 'a');
  const proc = spawn(cmd, args, { cwd: ROOT, stdio: ['ignore', log, log] });
  let exited = null;
  proc.on('exit', (code, sig) => { exited = { code, sig }; });
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 20000;
  for (;;) {
    if (exited) throw new Error(`helpmap exited (${JSON.stringify(exited)}): ${fs.readFileSync(path.join(dir, 'server.log'), 'utf8').slice(-2000)}`);
    try {
      const r = await fetch(`${base}/healthz`);
      if (r.status === 200) break;
    } catch { /* not up yet */ }
    if (Date.now() > deadline) { proc.kill('SIGKILL'); throw new Error('helpmap did not answer /healthz within 20 s'); }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    base, db, dir, port,
    async teamAdd(name, role, extra = []) {
      const [c, a] = binCmd(['team', 'add', '--db', db, '--name', name, '--role', role, ...extra]);
      const { stdout } = await run(c, a, { cwd: ROOT });
      const line = stdout.trim().split('\n').find((l) => l.trim().startsWith('{'));
      if (!line) throw new Error(`team add printed no JSON: ${stdout}`);
      return JSON.parse(line);
    },
    async stop() {
      if (exited) return;
      proc.kill('SIGTERM');
      await Promise.race([new Promise((r) => proc.once('exit', r)), new Promise((r) => setTimeout(r, 3000))]);
      if (!exited) proc.kill('SIGKILL');
    },
  };
}

export async function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.HM_CHROMIUM || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--disable-quic'],
  });
}

// newPage(browser, server, opts) -> {page, context, problems, assertClean()}
// opts: {viewport, javaScriptEnabled, geolocation: {lat, lon} | null, storage: {key: value}}
export async function newPage(browser, server, opts = {}) {
  const context = await browser.newContext({
    viewport: opts.viewport || { width: 360, height: 640 },
    deviceScaleFactor: opts.deviceScaleFactor || 1,
    javaScriptEnabled: opts.javaScriptEnabled !== false,
    locale: 'vi-VN',
    timezoneId: 'Asia/Ho_Chi_Minh',
    ...(opts.geolocation ? { geolocation: { latitude: opts.geolocation.lat, longitude: opts.geolocation.lon, accuracy: 10 }, permissions: ['geolocation'] } : {}),
  });
  const problems = [];
  const origin = new URL(server.base).origin;
  await context.route('**/*', (route) => {
    const u = new URL(route.request().url());
    if (u.protocol === 'data:' || u.protocol === 'blob:') return route.continue();
    if (u.origin !== origin || u.hostname !== '127.0.0.1') {
      problems.push(`request to another host: ${u.href}`);
      return route.abort();
    }
    return route.continue();
  });
  if (opts.storage) {
    await context.addInitScript((kv) => { for (const [k, v] of Object.entries(kv)) localStorage.setItem(k, v); }, opts.storage);
  }
  const page = await context.newPage();
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    const text = m.text();
    const st = /Failed to load resource: the server responded with a status of (\d+)/.exec(text);
    if (st) {
      const url = m.location()?.url || '';
      const code = +st[1];
      if (url.includes('/api/') && code < 500) return; // API answers are handled by the page
      if (/\/tiles\/[^/]+\.json/.test(url) && code === 404) return; // no TileJSON: GeoJSON fallback
    }
    problems.push(`console error: ${text} ${m.location()?.url || ''}`);
  });
  page.on('response', (r) => {
    const u = new URL(r.url());
    if (r.status() >= 500) problems.push(`HTTP ${r.status()} ${u.pathname}`);
    else if (r.status() >= 400 && !u.pathname.startsWith('/api/') && !/^\/tiles\/[^/]+\.json$/.test(u.pathname) && u.pathname !== '/report') {
      problems.push(`HTTP ${r.status()} ${u.pathname}`);
    }
  });
  return {
    page, context, problems,
    assertClean(assert) {
      assert.deepEqual(problems, [], `browser problems:\n${problems.join('\n')}`);
    },
  };
}

export async function shot(page, name) {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`) });
}

// Wait until the page's map has drawn (data-map attribute set by the page).
export async function mapReady(page, timeout = 30000) {
  await page.waitForFunction(() => ['ready', 'failed'].includes(document.documentElement.dataset.map), null, { timeout });
  return page.evaluate(() => document.documentElement.dataset.map);
}

export async function apiCall(server, method, p, { token, body } = {}) {
  const headers = {};
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const r = await fetch(server.base + p, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await r.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = text; }
  return { status: r.status, data };
}
