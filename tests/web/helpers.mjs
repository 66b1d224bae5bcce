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

// startServer({demo: {requests, teams}, args: [...]}) -> {base, db, dir, teamAdd(name, role), stop()}
// demo fills the database with `helpmap demo` before the server starts; `args`
// go to `helpmap serve` (e.g. ['--basemap', file]).
export async function startServer(opts = {}) {
  if (!fs.existsSync(BIN)) {
    throw new Error(`helpmap binary not found at ${BIN}: build it (cmake -S . -B build && cmake --build build) or set HM_BIN`);
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hm-web-'));
  const db = path.join(dir, 't.db');
  const port = await freePort();
  if (opts.demo && !BIN.endsWith('.mjs')) {
    const [c, a] = binCmd(['demo', '--db', db, '--requests', String(opts.demo.requests ?? 2000), '--teams', String(opts.demo.teams ?? 50)]);
    await run(c, a, { cwd: ROOT });
  }
  // Every page of a test comes from 127.0.0.1, where a real district has thousands of
  // addresses: the per-address caps of connections and public streams are off.
  const [cmd, args] = binCmd(['serve', '--db', db, '--port', String(port), '--web', path.join(ROOT, 'web'), '--rate-limit', '0',
    '--max-connections-per-ip', '0', '--max-streams-per-ip', '0', ...(opts.args || [])]);
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
      '--disable-component-update', '--disable-sync', '--disable-quic',
      // No name resolves except loopback: nothing can leave the machine even
      // from a page that is watched rather than routed (see newPage's cache).
      '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost'],
  });
}

// newPage(browser, server, opts) -> {page, context, problems, assertClean()}
// opts: {viewport, javaScriptEnabled, geolocation: {lat, lon} | null, storage: {key: value},
//        hasTouch, isMobile, reducedMotion, cache}
// Requests to any other host are aborted through routing, which also turns the
// browser's HTTP cache off; with cache: true they are only watched (and fail
// to resolve, see launchBrowser), so the cache works as on a real phone:
// that is how data budgets are measured.
export async function newPage(browser, server, opts = {}) {
  const context = await browser.newContext({
    viewport: opts.viewport || { width: 360, height: 640 },
    deviceScaleFactor: opts.deviceScaleFactor || 1,
    javaScriptEnabled: opts.javaScriptEnabled !== false,
    locale: 'vi-VN',
    timezoneId: 'Asia/Ho_Chi_Minh',
    hasTouch: !!opts.hasTouch,
    isMobile: !!opts.isMobile,
    ...(opts.reducedMotion ? { reducedMotion: opts.reducedMotion } : {}),
    ...(opts.geolocation ? { geolocation: { latitude: opts.geolocation.lat, longitude: opts.geolocation.lon, accuracy: 10 }, permissions: ['geolocation'] } : {}),
  });
  const problems = [];
  const origin = new URL(server.base).origin;
  const foreign = (url) => {
    const u = new URL(url);
    if (u.protocol === 'data:' || u.protocol === 'blob:') return false;
    return u.origin !== origin || u.hostname !== '127.0.0.1';
  };
  if (opts.cache) {
    context.on('request', (r) => { if (foreign(r.url())) problems.push(`request to another host: ${r.url()}`); });
  } else {
    await context.route('**/*', (route) => {
      if (foreign(route.request().url())) {
        problems.push(`request to another host: ${route.request().url()}`);
        return route.abort();
      }
      return route.continue();
    });
  }
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

// Bytes on the wire seen by the page (CDP Network domain: encodedDataLength,
// headers included), per request, so that long-lived event streams count as
// their data arrives. meter.mark() -> a snapshot; meter.since(mark) ->
// {bytes, byPath: [[path, bytes, count], ...]} for what arrived after it.
export async function byteMeter(page) {
  const cdp = await page.context().newCDPSession(page);
  const reqs = new Map(); // [session:]requestId -> {url, recv, fin}
  // Requests sent before the meter started are counted too, under their URL
  // when the response names it.
  // A worker's own script is fetched before its session's Network.enable
  // lands (under load, always): what a worker session receives without a
  // known URL is counted under the worker's script URL.
  const workerUrl = new Map(); // sessionId -> the script the worker runs
  const get = (id) => {
    if (!reqs.has(id)) {
      const session = id.includes(':') ? id.slice(0, id.indexOf(':')) : '';
      reqs.set(id, { url: workerUrl.get(session) || 'http://unknown/(opened before the meter)', guessed: true, recv: 0, fin: 0 });
    }
    return reqs.get(id);
  };
  const on = (prefix, method, e) => {
    const id = prefix + e.requestId;
    if (method === 'Network.requestWillBeSent') {
      const old = reqs.get(id);
      reqs.set(id, { url: e.request.url, recv: old ? old.recv : 0, fin: 0 });
    } else if (method === 'Network.responseReceived') {
      const r = get(id);
      if (r.guessed) { r.url = e.response.url; r.guessed = false; }
    } else if (method === 'Network.dataReceived') get(id).recv += e.encodedDataLength;
    else if (method === 'Network.loadingFinished') get(id).fin = e.encodedDataLength;
  };
  for (const m of ['Network.requestWillBeSent', 'Network.responseReceived', 'Network.dataReceived', 'Network.loadingFinished']) {
    cdp.on(m, (e) => on('', m, e));
  }
  // Dedicated workers (the map library fetches in one) have their own
  // network: attach to them (non-flat, messages come through this session).
  let msgId = 1e6, conditions = null;
  const workers = new Set();
  const sendTo = (sessionId, method, params) => cdp.send('Target.sendMessageToTarget', { sessionId, message: JSON.stringify({ id: msgId++, method, params }) }).catch(() => {});
  cdp.on('Target.attachedToTarget', (e) => {
    workers.add(e.sessionId);
    if (e.targetInfo?.url) workerUrl.set(e.sessionId, e.targetInfo.url);
    sendTo(e.sessionId, 'Network.enable');
    if (conditions) sendTo(e.sessionId, 'Network.emulateNetworkConditions', conditions);
    sendTo(e.sessionId, 'Runtime.runIfWaitingForDebugger');
  });
  cdp.on('Target.detachedFromTarget', (e) => workers.delete(e.sessionId));
  cdp.on('Target.receivedMessageFromTarget', (e) => {
    let m;
    try { m = JSON.parse(e.message); } catch { return; }
    if (m.method?.startsWith('Network.')) on(`${e.sessionId}:`, m.method, m.params);
  });
  await cdp.send('Network.enable');
  await cdp.send('Target.setAutoAttach', { autoAttach: true, waitForDebuggerOnStart: false, flatten: false });
  const now = () => { const m = new Map(); for (const [id, r] of reqs) m.set(id, Math.max(r.recv, r.fin)); return m; };
  return {
    cdp,
    mark: now,
    since(mark) {
      const cur = now();
      const by = new Map();
      let bytes = 0;
      for (const [id, n] of cur) {
        const d = n - (mark.get(id) || 0);
        if (d <= 0 && mark.has(id)) continue;
        bytes += d;
        const u = new URL(reqs.get(id).url);
        const key = u.pathname.replace(/\/\d+\/\d+\/\d+\.mvt$/, '/{z}/{x}/{y}.mvt').replace(/CC-[0-9A-Z]{6}/, '{code}');
        const e = by.get(key) || [key, 0, 0];
        e[1] += d; e[2] += mark.has(id) ? 0 : 1;
        by.set(key, e);
      }
      return { bytes, byPath: [...by.values()].sort((a, b) => b[1] - a[1]) };
    },
    // A slow phone link, e.g. throttle(400, 150): 400 kbit/s, 150 ms latency.
    async throttle(kbps, latencyMs = 100) {
      const bps = (kbps * 1000) / 8;
      conditions = { offline: false, latency: latencyMs, downloadThroughput: bps, uploadThroughput: bps };
      await cdp.send('Network.emulateNetworkConditions', conditions);
      for (const w of workers) sendTo(w, 'Network.emulateNetworkConditions', conditions);
    },
  };
}

// Points well inside each commune of Củ Chi (from /api/v1/areas), to post
// requests at chosen places: [{code, name, lat, lon}].
export async function wardPoints(server) {
  const { labelPoint } = await import('../../web/assets/js/util.js');
  const r = await fetch(`${server.base}/api/v1/areas?level=ward`);
  const fc = await r.json();
  return fc.features.map((f) => {
    const [lon, lat] = labelPoint(f.geometry);
    return { code: String(f.properties.code), name: f.properties.name, lat, lon };
  });
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
