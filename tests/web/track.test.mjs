// track.test.mjs: the resident's tracking page on a slow phone: it follows
// its own request only, through the server's own stream of that request
// (GET /api/v1/events?code=&token=): 60 other requests arriving cost it
// nothing but heartbeats (SPEC: under 15 KB), not one of their events
// reaches it, and it never falls back to polling; its own request's change
// comes through that stream; it offers a share button (Web Share API, or
// copy link / SMS), and names the team that holds the request (team_name).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, newPage, shot, apiCall, byteMeter, sleep, INSIDE } from './helpers.mjs';

let server, browser, vol, mine;
before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  vol = await server.teamAdd('Tổ Nhuận Đức 2', 'volunteer');
  const r = await apiCall(server, 'POST', '/api/v1/requests', {
    body: { lat: INSIDE.lat, lon: INSIDE.lon, category: 'water', people: 3, phone: '0909 555 111', note: 'Hết nước sạch', location_precision: 'gps' },
  });
  assert.equal(r.status, 201);
  mine = { code: r.data.request.code, token: r.data.token };
});
after(async () => {
  await browser?.close();
  await server?.stop();
});

const trackPath = () => `/track/${mine.code}?token=${mine.token}`;

// The messages of the page's event streams, from the DevTools protocol:
// [{url, event, data}] as they arrive.
async function streamLog(meter) {
  const urls = new Map(), log = [];
  meter.cdp.on('Network.requestWillBeSent', (e) => urls.set(e.requestId, e.request.url));
  meter.cdp.on('Network.eventSourceMessageReceived', (e) => {
    let data = null;
    try { data = JSON.parse(e.data); } catch { /* comments have no data */ }
    log.push({ url: urls.get(e.requestId) || '', event: e.eventName, data });
  });
  return log;
}

test('60 foreign events cost the tracking page under 15 KB; its own change comes on its own stream', async (t) => {
  const p = await newPage(browser, server, { cache: true });
  const { page } = p;
  const meter = await byteMeter(page);
  const log = await streamLog(meter);
  await page.goto(server.base + trackPath());
  await page.locator('#status[data-status="new"]').waitFor();
  await page.locator('#live:not(.off)').waitFor({ timeout: 15000 });
  await meter.throttle(400, 150);
  await sleep(1500);
  const mark = meter.mark();
  for (let i = 0; i < 60; i++) {
    const r = await apiCall(server, 'POST', '/api/v1/requests', {
      body: { lat: INSIDE.lat + 0.01 + (i % 10) * 0.001, lon: INSIDE.lon + 0.01, category: 'food', people: 1, phone: `0918 ${String(300000 + i).slice(-6)}` },
    });
    assert.equal(r.status, 201);
    await sleep(100);
  }
  await sleep(3000);
  const used = meter.since(mark);
  t.diagnostic(`track: ${used.bytes} bytes for 60 foreign events: ${JSON.stringify(used.byPath.slice(0, 5))}`);
  assert.ok(used.bytes < 15 * 1024, `${used.bytes} bytes`);
  // The server sent it none of the 60 events, and the page did not poll.
  const own = `/api/v1/events?code=${encodeURIComponent(mine.code)}`;
  assert.deepEqual(log.filter((m) => m.data?.code !== mine.code), [], 'no foreign event reached the page');
  assert.ok(!used.byPath.some(([path]) => path === '/api/v1/requests/{code}'), `no polling: ${JSON.stringify(used.byPath)}`);

  // A team claims it: the event comes on the page's own stream, and the page
  // turns to "assigned" naming the team.
  const c = await apiCall(server, 'POST', `/api/v1/requests/${mine.code}/claim`, { token: vol.token });
  assert.equal(c.status, 200, JSON.stringify(c.data));
  await page.locator('#status[data-status="assigned"]').waitFor({ timeout: 25000 });
  const got = log.filter((m) => m.data?.code === mine.code);
  assert.equal(got.length, 1, JSON.stringify(log));
  assert.ok(got[0].url.includes(own), got[0].url);
  assert.equal(got[0].event, 'request.updated');
  assert.equal(got[0].data.status, 'assigned');
  assert.equal(got[0].data.team_name, 'Tổ Nhuận Đức 2');
  for (const k of ['name', 'phone', 'note', 'address']) assert.ok(!(k in got[0].data), `no ${k} in the event`);
  await page.locator('#facts', { hasText: 'Tổ Nhuận Đức 2' }).waitFor({ timeout: 10000 });
  await shot(page, 'track-assigned');
  p.assertClean(assert);
  await p.context.close();
});

test('share: Web Share API when the phone has it, else copy link and SMS', async () => {
  const p = await newPage(browser, server, { cache: true });
  const { page, context } = p;
  await context.addInitScript(() => {
    window.__shared = null;
    if (location.search.includes('share=1')) navigator.share = async (d) => { window.__shared = d; };
  });
  await page.goto(server.base + trackPath() + '&share=1');
  await page.locator('#share-btn').click();
  const shared = await page.evaluate(() => window.__shared);
  assert.ok(shared?.url?.includes(`/track/${mine.code}?token=${mine.token}`), JSON.stringify(shared));
  assert.match(shared.text, new RegExp(mine.code));

  await page.goto(server.base + trackPath());
  await page.locator('#share-btn').click();
  const sms = page.locator('#share-box a[href^="sms:"]');
  await sms.waitFor();
  assert.ok(decodeURIComponent(await sms.getAttribute('href')).includes(`/track/${mine.code}?token=${mine.token}`));
  await page.locator('#share-box [data-act=copy]').waitFor();
  await shot(page, 'track-share');
  p.assertClean(assert);
  await p.context.close();
});

test('the team holding the request is named, from the server', async () => {
  const r = await apiCall(server, 'POST', '/api/v1/requests', {
    body: { lat: INSIDE.lat + 0.002, lon: INSIDE.lon, category: 'food', people: 2, phone: '0909 555 222', location_precision: 'gps' },
  });
  assert.equal(r.status, 201);
  const code = r.data.request.code, token = r.data.token;
  const p = await newPage(browser, server);
  const { page } = p;
  await page.goto(`${server.base}/track/${code}?token=${token}`);
  await page.locator('#status[data-status="new"]').waitFor();
  assert.ok(!(await page.locator('#facts').textContent()).includes('Tổ Nhuận Đức 2'), 'no team yet');
  await page.locator('#live:not(.off)').waitFor({ timeout: 15000 });
  const c = await apiCall(server, 'POST', `/api/v1/requests/${code}/claim`, { token: vol.token });
  assert.equal(c.status, 200, JSON.stringify(c.data));
  await page.locator('#facts', { hasText: 'Tổ Nhuận Đức 2' }).waitFor({ timeout: 10000 });
  await shot(page, 'track-team-name');
  // After a reload too: the name comes with the request itself.
  await page.reload();
  await page.locator('#facts', { hasText: 'Tổ Nhuận Đức 2' }).waitFor({ timeout: 10000 });
  p.assertClean(assert);
  await p.context.close();
});
