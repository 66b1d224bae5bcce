// resident.test.mjs: the resident page beyond the happy path: inline
// validation (bad phone on the client, outside the service area from the
// server's 422, shown at the map), the plain commune/hamlet picker when WebGL
// is missing (a hamlet typed by name never blocks the request), GPS centring,
// double-tap zoom that keeps the pin, the area outline's weight on a slow
// link, a busy server that does not blame the user, and the language toggle
// remembered across reloads.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, newPage, shot, mapReady, byteMeter, sleep, INSIDE } from './helpers.mjs';

let server, browser;
before(async () => {
  server = await startServer();
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await server?.stop();
});

test('bad phone and a pin outside the service area show the messages', async () => {
  const p = await newPage(browser, server);
  const { page } = p;
  await page.goto(server.base + '/');
  assert.equal(await mapReady(page), 'ready');

  // Nothing filled: location, category and phone are asked for.
  await page.click('#send-btn');
  await page.locator('#where .field-error').waitFor();
  assert.match(await page.locator('[data-field=category] .field-error').textContent(), /loại hỗ trợ/);
  assert.match(await page.locator('[data-field=phone] .field-error').textContent(), /số điện thoại/i);

  // A bad phone number.
  await page.locator('#map').click(); // the middle of the view: Củ Chi
  await page.locator('label.cat-water').click();
  await page.fill('#phone', '12ab');
  await page.click('#send-btn');
  const phoneErr = page.locator('[data-field=phone] .field-error');
  await phoneErr.waitFor();
  assert.match(await phoneErr.textContent(), /Số điện thoại không hợp lệ/);
  await shot(page, 'resident-bad-phone');

  // A pin in the top-left corner of the view: outside Củ Chi. The page warns,
  // and the server's 422 outside_service_area is shown at the map.
  await page.fill('#phone', '0912 345 678');
  await page.locator('#map').click({ position: { x: 12, y: 12 } });
  await page.getByText('Ngoài khu vực hỗ trợ').waitFor({ timeout: 10000 });
  const [resp] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith('/api/v1/requests') && r.request().method() === 'POST'),
    page.click('#send-btn'),
  ]);
  assert.equal(resp.status(), 422);
  assert.equal((await resp.json()).error.code, 'outside_service_area');
  const whereErr = page.locator('#where .field-error');
  await whereErr.waitFor();
  assert.match(await whereErr.textContent(), /ngoài khu vực hỗ trợ/);
  // The message sits at the map, above the address box.
  assert.ok(await page.evaluate(() => {
    const e = document.querySelector('#where .field-error'), a = document.querySelector('[data-field=address]');
    return !!(e.compareDocumentPosition(a) & Node.DOCUMENT_POSITION_FOLLOWING);
  }), 'location error above the address box');
  assert.equal(await page.locator('#phone').inputValue(), '0912 345 678', 'the form keeps what was typed');
  await shot(page, 'resident-outside-area');
  p.assertClean(assert);
});

test('GPS allowed: the pin starts at the GPS position', async () => {
  const p = await newPage(browser, server, { geolocation: INSIDE });
  await p.page.goto(server.base + '/');
  assert.equal(await mapReady(p.page), 'ready');
  const coords = p.page.locator('#pin-coords');
  await coords.waitFor({ timeout: 15000 });
  assert.match(await coords.textContent(), new RegExp(`${INSIDE.lat.toFixed(3)}\\d*, ${INSIDE.lon.toFixed(3)}`));
  await p.page.getByText(/GPS/).first().waitFor();
  await p.page.waitForTimeout(800);
  await shot(p.page, 'resident-gps');
  p.assertClean(assert);
});

test('without WebGL: commune picker and address, sent as ward_code', async () => {
  const p = await newPage(browser, server);
  const { page, context } = p;
  await context.addInitScript(() => {
    const orig = HTMLCanvasElement.prototype.getContext;
    HTMLCanvasElement.prototype.getContext = function (type, ...rest) {
      return /webgl/i.test(type) ? null : orig.call(this, type, ...rest);
    };
  });
  const urls = [];
  page.on('request', (r) => urls.push(r.url()));
  await page.goto(server.base + '/');
  await page.locator('#place-block').waitFor();
  assert.equal(await page.locator('#map-block').isVisible(), false);
  await page.waitForFunction(() => document.querySelectorAll('#ward_code option').length >= 8);
  await page.selectOption('#ward_code', '27511');
  await page.fill('#address', '12 đường Nguyễn Văn Khạ, ấp 5');
  await page.locator('label.cat-medical').click();
  await page.fill('#phone', '0987 654 321');
  await page.fill('#note', 'Cần thuốc hạ sốt');
  const [req] = await Promise.all([
    page.waitForRequest((r) => r.url().endsWith('/api/v1/requests') && r.method() === 'POST'),
    page.click('#send-btn'),
  ]);
  const body = req.postDataJSON();
  assert.equal(body.ward_code, '27511');
  assert.equal(body.lat, undefined);
  assert.equal(body.address, '12 đường Nguyễn Văn Khạ, ấp 5');
  await page.locator('#result').waitFor({ timeout: 10000 });
  assert.match(await page.locator('#result-code').textContent(), /-?[0-9A-Z]{6}$/);
  await shot(page, 'resident-no-webgl');
  assert.ok(!urls.some((u) => u.includes('/api/v1/areas?level=ward')), `the commune list is in the page: ${urls.join(' ')}`);

  // Another request with a hamlet typed by name while no hamlet is known:
  // accepted, the name kept in the address.
  await page.click('#again-btn');
  await page.selectOption('#ward_code', '27496');
  await page.fill('#hamlet_code', 'Ấp Phú Lợi');
  await page.fill('#address', 'Số 7, tổ 2');
  await page.locator('label.cat-food').click();
  await page.fill('#phone', '0987 654 322');
  const [req2] = await Promise.all([
    page.waitForRequest((r) => r.url().endsWith('/api/v1/requests') && r.method() === 'POST'),
    page.click('#send-btn'),
  ]);
  const b2 = req2.postDataJSON();
  assert.equal(b2.hamlet_code, undefined);
  assert.match(b2.address, /Ấp Phú Lợi/);
  assert.match(b2.address, /Số 7, tổ 2/);
  await page.locator('#result').waitFor({ timeout: 10000 });
  await shot(page, 'resident-hamlet-by-name');
  p.assertClean(assert);
});

test('double-tap zoom keeps the GPS pin; a single tap moves it, saying so', async () => {
  const p = await newPage(browser, server, { geolocation: INSIDE, hasTouch: true, isMobile: true });
  const { page } = p;
  await page.goto(server.base + '/');
  assert.equal(await mapReady(page), 'ready');
  const coords = page.locator('#pin-coords');
  await coords.waitFor({ timeout: 15000 });
  await sleep(1200); // the map eases to the GPS position
  const before = await coords.textContent();
  const zoom0 = await page.evaluate(() => window.__hm?.map?.getZoom());
  const box = await page.locator('#map').boundingBox();
  const x = box.x + box.width * 0.3, y = box.y + box.height * 0.7;
  await page.touchscreen.tap(x, y);
  await sleep(120);
  await page.touchscreen.tap(x, y);
  await sleep(1500);
  const zoom1 = await page.evaluate(() => window.__hm?.map?.getZoom());
  assert.ok(zoom1 > zoom0, `double tap zoomed in: ${zoom0} → ${zoom1}`);
  assert.equal(await coords.textContent(), before, 'the pin stays at the GPS position');
  await shot(page, 'resident-double-tap');

  await page.touchscreen.tap(x, y);
  await page.waitForFunction((b) => document.querySelector('#pin-coords')?.textContent !== b, before, { timeout: 5000 });
  await page.locator('#gps-back').waitFor();
  await page.locator('#gps-back').click();
  await page.waitForFunction((b) => document.querySelector('#pin-coords')?.textContent === b, before, { timeout: 5000 });
  p.assertClean(assert);
});

test('on a 400 kbit/s link the commune outline weighs under 60 KB', async (t) => {
  const p = await newPage(browser, server, { cache: true });
  const { page } = p;
  const meter = await byteMeter(page);
  await meter.throttle(400, 150);
  const mark = meter.mark();
  await page.goto(server.base + '/');
  assert.equal(await mapReady(page, 60000), 'ready');
  await page.locator('.area-label--ward').first().waitFor({ timeout: 20000 });
  await sleep(6000); // the map library would reload expiring tiles by now
  const used = meter.since(mark);
  const areas = used.byPath.filter(([k]) => k.includes('/areas') || /^\/tiles\/(wards|former_wards|hamlets)/.test(k));
  const bytes = areas.reduce((a, x) => a + x[1], 0);
  t.diagnostic(`resident: area outline ${bytes} bytes: ${JSON.stringify(areas)}`);
  assert.ok(bytes < 60 * 1024, `${bytes} bytes`);
  // The commune is still named under the pin.
  await page.locator('#map').click();
  await page.getByText(/Thuộc Xã/).waitFor({ timeout: 10000 });
  p.assertClean(assert);
});

test('a busy server: no blame, the 1022 hotline offered', async () => {
  const p = await newPage(browser, server);
  const { page } = p;
  await page.route('**/api/v1/requests', (route) => (route.request().method() === 'POST'
    ? route.fulfill({ status: 429, headers: { 'Retry-After': '30' }, json: { error: { code: 'rate_limited', message: 'slow down', field: null } } })
    : route.continue()));
  await page.goto(server.base + '/');
  assert.equal(await mapReady(page), 'ready');
  await page.locator('#map').click();
  await page.locator('label.cat-food').click();
  await page.fill('#phone', '0912 345 679');
  await page.click('#send-btn');
  const err = page.locator('#form-error');
  await err.waitFor();
  const text = await err.textContent();
  assert.ok(!/Bạn gửi quá nhiều/.test(text), text);
  assert.match(text, /1022/);
  assert.match(text, /30 giây/);
  await page.locator('#form-error a[href="tel:1022"]').waitFor();
  await shot(page, 'resident-busy');
  p.assertClean(assert);
});

test('English toggle is remembered', async () => {
  const p = await newPage(browser, server);
  const { page } = p;
  await page.goto(server.base + '/');
  await page.locator('.lang-toggle:visible').click();
  await page.getByText('Send request').waitFor();
  assert.equal(await page.locator('html').getAttribute('lang'), 'en');
  assert.match(await page.locator('label.cat-rescue').textContent(), /Emergency rescue/);
  await page.reload();
  await page.getByText('What do you need?', { exact: false }).waitFor();
  await mapReady(page);
  await shot(page, 'resident-english');
  await page.locator('.lang-toggle:visible').click();
  await page.getByText('Gửi yêu cầu').first().waitFor();
  p.assertClean(assert);
});
