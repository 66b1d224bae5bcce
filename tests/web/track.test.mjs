// track.test.mjs: the resident's tracking page on a slow phone: it follows
// its own request only (60 other requests arriving cost it under 15 KB),
// still turns by itself when its own request changes, offers a share button
// (Web Share API, or copy link / SMS), and names the team that holds it when
// the request carries team_name.
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

test('60 foreign events cost the tracking page under 15 KB; its own change still shows', async (t) => {
  const p = await newPage(browser, server, { cache: true });
  const { page } = p;
  const meter = await byteMeter(page);
  await page.goto(server.base + trackPath());
  await page.locator('#status[data-status="new"]').waitFor();
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

  // A team claims it: the page turns to "assigned" by itself.
  const c = await apiCall(server, 'POST', `/api/v1/requests/${mine.code}/claim`, { token: vol.token });
  assert.equal(c.status, 200, JSON.stringify(c.data));
  await page.locator('#status[data-status="assigned"]').waitFor({ timeout: 25000 });
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

test('the team holding the request is named when the server sends team_name', async () => {
  const p = await newPage(browser, server);
  const { page } = p;
  await page.route(`**/api/v1/requests/${mine.code}?token=*`, async (route) => {
    const res = await route.fetch();
    const body = await res.json();
    body.request.team_name = 'Tổ Nhuận Đức 2';
    await route.fulfill({ response: res, json: body });
  });
  await page.goto(server.base + trackPath());
  await page.locator('#facts', { hasText: 'Tổ Nhuận Đức 2' }).waitFor({ timeout: 10000 });
  await shot(page, 'track-team-name');
  p.assertClean(assert);
  await p.context.close();
});
