// resident.test.mjs: the resident page beyond the happy path: inline
// validation (bad phone on the client, outside the service area from the
// server's 422), the plain commune/hamlet picker when WebGL is missing, GPS
// centring, and the language toggle remembered across reloads.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, newPage, shot, mapReady, INSIDE } from './helpers.mjs';

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
