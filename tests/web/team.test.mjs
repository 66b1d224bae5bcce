// team.test.mjs: /team on a volunteer's phone in a crisis, with a district
// full of open requests (helpmap demo): the data it uses while requests
// arrive outside its radius (on a 400 kbit/s link), batched alerts (20
// nearby requests in 8 s vibrate at most 5 times, never covering a button),
// approximate places labelled before directions (with the server's place
// hint on the card), contact data only after the claim, and an undo window for "resolved" that leaving the page still sends.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, newPage, shot, mapReady, apiCall, byteMeter, wardPoints, sleep, INSIDE } from './helpers.mjs';
import { distanceM } from '../../web/assets/js/util.js';

let server, browser, vol, op;
let far = [];
before(async () => {
  server = await startServer({ demo: { requests: 30000, teams: 50 } });
  browser = await launchBrowser();
  vol = await server.teamAdd('Tổ Nhuận Đức 1', 'volunteer');
  op = await server.teamAdd('Tổng đài viên', 'operator');
  // Places at least 5 km from the team: arrivals "elsewhere".
  far = (await wardPoints(server)).filter((p) => distanceM(p.lon, p.lat, INSIDE.lon, INSIDE.lat) > 5000);
  assert.ok(far.length >= 3, 'communes away from the team');
});
after(async () => {
  await browser?.close();
  await server?.stop();
});

let phoneN = 0;
function post(at, extra = {}) {
  phoneN++;
  return apiCall(server, 'POST', '/api/v1/requests', {
    body: { lat: at.lat, lon: at.lon, category: 'food', people: 2, phone: `0912 ${String(100000 + phoneN).slice(-6)}`, location_precision: 'gps', ...extra },
  });
}

async function openTeam(opts = {}) {
  const p = await newPage(browser, server, {
    geolocation: opts.at || INSIDE, cache: true,
    storage: { 'helpmap.token.team': vol.token, 'helpmap.team.radius': String(opts.radius || 2000) },
    ...opts.page,
  });
  if (opts.init) await p.context.addInitScript(opts.init);
  p.meter = await byteMeter(p.page);
  await p.page.goto(server.base + '/team');
  await p.page.locator('#live:not(.off)').waitFor({ timeout: 15000 });
  await p.page.locator('#nearby-list li').first().waitFor({ timeout: 15000 });
  return p;
}

test('30 arrivals outside the radius cost the phone under 100 KB', async (t) => {
  const p = await openTeam();
  const { page } = p;
  assert.equal(await mapReady(page), 'ready');
  const { meter } = p;
  await meter.throttle(400, 150);
  await sleep(1500);
  const mark = meter.mark();
  for (let i = 0; i < 30; i++) {
    const at = far[i % far.length];
    const r = await post({ lat: at.lat + (i % 5) * 0.001, lon: at.lon - (i % 3) * 0.001 });
    assert.equal(r.status, 201, JSON.stringify(r.data));
    await sleep(250);
  }
  await sleep(4000);
  const used = meter.since(mark);
  t.diagnostic(`team: ${used.bytes} bytes for 30 arrivals outside the radius: ${JSON.stringify(used.byPath.slice(0, 6))}`);
  assert.ok(used.bytes < 100 * 1024, `${used.bytes} bytes`);
  assert.ok(used.bytes > 0, 'the events themselves arrive');
  await shot(page, 'team-nearby');
  p.assertClean(assert);
  await p.context.close();
});

test('20 nearby requests in 8 s: at most 5 vibrations, a count, distance and place, no button covered', async () => {
  const p = await openTeam({
    init: () => {
      window.__vibrations = 0;
      Object.defineProperty(navigator, 'vibrate', { value: () => { window.__vibrations++; return true; }, configurable: true });
    },
  });
  const { page } = p;
  await page.locator('#pos-status', { hasText: /Đã báo vị trí/ }).waitFor({ timeout: 15000 });
  const t0 = Date.now();
  for (let i = 0; i < 20; i++) {
    const r = await post({ lat: INSIDE.lat + 0.0004 * (i % 5), lon: INSIDE.lon + 0.0004 * Math.floor(i / 5), category: i % 2 ? 'water' : 'food' });
    assert.equal(r.status, 201);
    await sleep(Math.max(0, t0 + (i + 1) * 380 - Date.now()));
  }
  await sleep(Math.max(0, t0 + 8000 - Date.now()));
  const n = await page.evaluate(() => window.__vibrations);
  assert.ok(n >= 1, 'the team was alerted');
  assert.ok(n <= 5, `${n} vibrations in 8 s`);
  const bar = page.locator('#alert-bar');
  await bar.locator('.alert-count').waitFor();
  const text = await bar.textContent();
  assert.match(text, /\d+ yêu cầu mới/, text);
  assert.match(text, /\d+ m|\d+,\d km/, `distance in the alert: ${text}`);
  assert.match(text, /Nhuận Đức/, `place in the alert: ${text}`);
  // The alert covers no button of the page.
  const overlap = await page.evaluate(() => {
    const a = document.querySelector('#alert-bar').getBoundingClientRect();
    return [...document.querySelectorAll('main button, main a.btn')].filter((b) => {
      if (b.closest('#alert-bar')) return false;
      const r = b.getBoundingClientRect();
      if (!r.width || !r.height) return false;
      return r.left < a.right && r.right > a.left && r.top < a.bottom && r.bottom > a.top;
    }).map((b) => b.textContent);
  });
  assert.deepEqual(overlap, []);
  await shot(page, 'team-alerts');
  p.assertClean(assert);
  await p.context.close();
});

test('an address-only request is labelled approximate; contact only after the claim; resolve can be undone', async () => {
  const made = await apiCall(server, 'POST', '/api/v1/requests', {
    token: op.token,
    body: { ward_code: '27511', address: 'Nhà bà Sáu, gần chợ, tổ 4', category: 'medical', people: 1, phone: '0977 000 111', name: 'Bà Sáu', note: 'cần thuốc' },
  });
  assert.equal(made.status, 201, JSON.stringify(made.data));
  const r = made.data.request;
  assert.equal(r.location_precision, 'address');
  const p = await openTeam({ at: { lat: r.lat + 0.0005, lon: r.lon } });
  const { page } = p;
  const card = page.locator(`#nearby-list li[data-code="${r.code}"]`);
  await card.waitFor({ timeout: 15000 });
  assert.match(await card.textContent(), /vị trí gần đúng/);
  assert.match(await card.textContent(), /Nhuận Đức/, 'the commune is named before the claim');
  // The server's public place hint (the nearest named place) is on the card too.
  assert.equal(typeof r.place, 'string', JSON.stringify(r));
  assert.ok((await card.textContent()).includes(r.place), `the place hint ${r.place} on the card`);
  assert.ok(!(await card.textContent()).includes('Bà Sáu') && !(await card.textContent()).includes('0977'), 'no contact before the claim');
  await shot(page, 'team-approximate');
  await card.locator('[data-act=claim]').click();
  const mine = page.locator(`#mine-list li[data-code="${r.code}"]`);
  await mine.locator('a[href^="tel:"]').waitFor({ timeout: 10000 });
  const dirText = await mine.locator('.directions').textContent();
  assert.match(dirText, /gần đúng/, `directions say approximate: ${dirText}`);
  await mine.locator('[data-act=start]').click();
  await page.locator(`#mine-list li[data-code="${r.code}"][data-status="in_progress"]`).waitFor({ timeout: 10000 });

  // Resolve, then undo within the window: nothing is sent.
  await page.locator(`#mine-list li[data-code="${r.code}"] [data-act=resolve]`).click();
  const undo = page.locator(`#mine-list li[data-code="${r.code}"] [data-act=undo]`);
  await undo.waitFor();
  await shot(page, 'team-undo');
  await undo.click();
  await sleep(6000); // past the 5 s window
  let got = await apiCall(server, 'GET', `/api/v1/requests/${r.code}`, { token: op.token });
  assert.equal(got.data.request.status, 'in_progress', 'undone');

  // Resolve and leave the page at once: the resolve is still sent.
  await page.locator(`#mine-list li[data-code="${r.code}"] textarea`).fill('Đã đưa thuốc');
  await page.locator(`#mine-list li[data-code="${r.code}"] [data-act=resolve]`).click();
  await undo.waitFor();
  await page.goto(server.base + '/');
  for (let i = 0; i < 50; i++) {
    got = await apiCall(server, 'GET', `/api/v1/requests/${r.code}`, { token: op.token });
    if (got.data.request.status === 'resolved') break;
    await sleep(100);
  }
  assert.equal(got.data.request.status, 'resolved', 'sent when the page was left');
  assert.ok(got.data.request.history.some((h) => h.note === 'Đã đưa thuốc'), 'with its note');
  p.assertClean(assert);
  await p.context.close();
});
