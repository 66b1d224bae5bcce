// wall.test.mjs: /command as the wall display of a district with 30,000 open
// requests (helpmap demo) and a stream of arrivals: the bytes it uses per 40
// arrivals, the oldest unassigned request always on screen in rows legible
// from 5 m (≥ 36 px at 1080p), the most urgent list, "just arrived" filled
// again after a reload, and the dense desk mode at 1366×768.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, newPage, shot, mapReady, apiCall, byteMeter, wardPoints, sleep } from './helpers.mjs';

let server, browser, coord, points;
before(async () => {
  server = await startServer({ demo: { requests: 300000, teams: 200 } });
  browser = await launchBrowser();
  coord = await server.teamAdd('Ban chỉ huy', 'coordinator');
  points = await wardPoints(server);
});
after(async () => {
  await browser?.close();
  await server?.stop();
});

const CATS = ['food', 'cash', 'water', 'rescue', 'food', 'medical', 'shelter', 'other'];
let n = 0;
function arrive() {
  n++;
  const at = points[n % points.length];
  return apiCall(server, 'POST', '/api/v1/requests', {
    body: {
      lat: at.lat + ((n % 7) - 3) * 0.002, lon: at.lon + ((n % 5) - 2) * 0.002, category: CATS[n % CATS.length],
      people: 1 + (n % 6), phone: `0913 ${String(200000 + n).slice(-6)}`, location_precision: 'gps',
    },
  });
}

// Where the row is and whether it can be seen: inside the viewport, not
// clipped by its list, not covered by anything else.
async function rowState(page, sel) {
  return page.evaluate((s) => {
    const li = document.querySelector(s);
    if (!li || li.hidden) return { shown: false, why: 'missing' };
    const r = li.getBoundingClientRect();
    const fontPx = parseFloat(getComputedStyle(li.querySelector('.code') || li).fontSize);
    const cx = r.left + r.width / 2, cy = r.top + r.height / 2;
    const inView = r.top >= 0 && r.bottom <= innerHeight && r.left >= 0 && r.right <= innerWidth;
    const top = document.elementFromPoint(cx, cy);
    const ol = li.closest('ol,ul').getBoundingClientRect();
    const clipped = r.bottom > ol.bottom + 1 || r.top < ol.top - 1;
    return { shown: inView && !clipped && !!top && li.contains(top), height: r.height, fontPx, why: JSON.stringify({ inView, clipped, top: top?.className }) };
  }, sel);
}

test('wall at 1080p: 40 arrivals cost under 1 MB, the oldest unassigned stays on screen at 36 px', async (t) => {
  // Reduced motion: the pulsing rings cost a software-rendered test browser
  // more than the whole page (a wall's GPU does not mind).
  const p = await newPage(browser, server, { viewport: { width: 1920, height: 1080 }, cache: true, reducedMotion: 'reduce', storage: { 'helpmap.token.command': coord.token } });
  const { page } = p;
  const meter = await byteMeter(page);
  await page.goto(server.base + '/command');
  assert.equal(await mapReady(page), 'ready');
  const oldest = await apiCall(server, 'GET', '/api/v1/requests?status=new&limit=1', { token: coord.token });
  const oldCode = oldest.data.features[0].properties.code;
  const sel = `#oldest li[data-code="${oldCode}"]`;
  await page.locator(sel).waitFor({ timeout: 20000 });
  await page.locator('#urgent li[data-code]').first().waitFor({ timeout: 20000 });
  await sleep(3000);
  const mark = meter.mark();
  const codes = [];
  for (let i = 0; i < 40; i++) {
    const r = await arrive();
    assert.equal(r.status, 201, JSON.stringify(r.data));
    codes.push(r.data.request.code);
    await sleep(300);
    if (i % 8 === 7) {
      const st = await rowState(page, sel);
      assert.ok(st.shown, `oldest unassigned row shown after ${i + 1} arrivals: ${st.why}`);
    }
  }
  await page.locator(`#arrivals li[data-code="${codes[39]}"]`).waitFor({ timeout: 15000 });
  await sleep(3000);
  const used = meter.since(mark);
  t.diagnostic(`wall: ${used.bytes} bytes for 40 arrivals: ${JSON.stringify(used.byPath.slice(0, 8))}`);
  assert.ok(used.bytes < 1024 * 1024, `${used.bytes} bytes`);

  const st = await rowState(page, sel);
  assert.ok(st.shown, `oldest row shown: ${st.why}`);
  assert.ok(st.fontPx >= 36 && st.height >= 36, `row ${st.height} px tall, text ${st.fontPx} px`);
  // Every list row, heading and commune label is legible from 5 m.
  const small = await page.evaluate(() => [...document.querySelectorAll('.side li .code, .side h2, .area-label--ward .area-name, #legend li')]
    .filter((e) => e.getClientRects().length && parseFloat(getComputedStyle(e).fontSize) < 36)
    .map((e) => `${e.className || e.tagName}: ${getComputedStyle(e).fontSize}`));
  assert.deepEqual(small, []);
  // The most urgent list starts with urgent requests.
  const firstUrgent = await page.locator('#urgent li[data-code]').first().getAttribute('class');
  assert.match(firstUrgent, /urgent/);
  // "Just arrived" shows times, not "0 phút".
  const arrivalsText = await page.locator('#arrivals').textContent();
  assert.ok(!/0 phút/.test(arrivalsText), arrivalsText);
  await shot(page, 'wall-1080p');

  // After a reload the arrivals are still listed, newest first.
  await page.reload();
  try {
    await page.locator(`#arrivals li[data-code="${codes[39]}"]`).waitFor({ timeout: 40000 });
  } catch (e) {
    await shot(page, 'wall-reload-failed');
    throw e;
  }
  assert.equal(await page.locator('#arrivals li[data-code]').first().getAttribute('data-code'), codes[39]);
  await page.locator(sel).waitFor({ timeout: 20000 });
  p.assertClean(assert);
  await p.context.close();
});

test('desk mode at 1366×768 stays dense', async () => {
  const p = await newPage(browser, server, { viewport: { width: 1366, height: 768 }, storage: { 'helpmap.token.command': coord.token, 'helpmap.cmd.desk': '1' } });
  const { page } = p;
  await page.goto(server.base + '/command');
  assert.equal(await mapReady(page), 'ready');
  await page.locator('#oldest li[data-code]').first().waitFor({ timeout: 20000 });
  await sleep(1000);
  const rows = await page.evaluate(() => [...document.querySelectorAll('#oldest li[data-code]')].filter((li) => !li.hidden && li.getBoundingClientRect().bottom <= innerHeight).length);
  assert.ok(rows >= 6, `${rows} rows of the oldest list on a 768 px desk`);
  const font = await page.evaluate(() => parseFloat(getComputedStyle(document.querySelector('#oldest li .code')).fontSize));
  assert.ok(font < 20, `desk rows ${font} px`);
  await shot(page, 'wall-desk-1366');
  p.assertClean(assert);
  await p.context.close();
});
