// desks.test.mjs: the hotline desk (/operator) and the command center's desk
// mode (/command): verify a web request after a call-back, type in a phone
// call found by a former commune's name, the whole call on a 1366×768 desk
// (Save on screen, the tracking link to read out or text, a request found by
// its code, a caller's earlier request cancelled, edit shown only where the
// server edits, call-back outcomes, the oldest unverified first), assign to
// the nearest available team, mark a duplicate and reopen, export CSV, draw
// a hamlet and see the server's overlap answer, switch the choropleth level,
// and the 4K wall.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { startServer, launchBrowser, newPage, shot, mapReady, apiCall, INSIDE } from './helpers.mjs';

let server, browser, coord, op, vol;
const webReq = {};
before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  coord = await server.teamAdd('Ban chỉ huy', 'coordinator');
  op = await server.teamAdd('Tổng đài viên 1', 'operator');
  vol = await server.teamAdd('Tổ Phước Hiệp', 'volunteer');
  await apiCall(server, 'POST', '/api/v1/teams/me/location', { token: vol.token, body: { lat: INSIDE.lat + 0.002, lon: INSIDE.lon } });
  await apiCall(server, 'POST', '/api/v1/teams/me/status', { token: vol.token, body: { status: 'available' } });
  const r = await apiCall(server, 'POST', '/api/v1/requests', {
    body: { lat: INSIDE.lat, lon: INSIDE.lon, category: 'food', people: 5, vulnerable: ['child'], phone: '0938 765 432', name: 'Lê Văn Năm', note: 'Nhà 5 người', location_precision: 'pin' },
  });
  assert.equal(r.status, 201);
  webReq.code = r.data.request.code;
});
after(async () => {
  await browser?.close();
  await server?.stop();
});

test('operator: verify a web request, type in a call by former commune name', async () => {
  const p = await newPage(browser, server, { viewport: { width: 1600, height: 900 } });
  const { page } = p;
  await page.goto(server.base + '/operator');
  await page.fill('#token', op.token);
  await page.click('#signin button[type=submit]');
  const row = page.locator(`#unverified tr[data-code="${webReq.code}"]`);
  await row.waitFor({ timeout: 10000 });
  await row.locator('[data-reveal]').click();
  await row.locator('a[href^="tel:"]').waitFor();
  assert.match(await row.textContent(), /0938765432|938765432/);
  await mapReady(page);
  await shot(page, 'desks-operator-list');
  const [vreq] = await Promise.all([
    page.waitForRequest((r) => r.url().endsWith(`/requests/${webReq.code}/verify`)),
    row.locator('[data-outcome=reached]').click(),
  ]);
  assert.deepEqual(vreq.postDataJSON(), { verified: true, outcome: 'reached' });
  await row.waitFor({ state: 'detached', timeout: 10000 });
  const after1 = await apiCall(server, 'GET', `/api/v1/requests/${webReq.code}`, { token: op.token });
  assert.equal(after1.data.request.verified, true);

  // A call from the same phone: its open request is suggested as a duplicate.
  await page.locator('#phone').focus();
  await page.keyboard.type('0938765432');
  await page.locator('#lookup').getByText(webReq.code).waitFor({ timeout: 10000 });
  await page.keyboard.press('Tab');
  await page.keyboard.type('phuoc hiep');
  await page.locator('#place-list li', { hasText: 'Phước Hiệp' }).first().waitFor();
  await page.keyboard.press('Enter');
  assert.match(await page.locator('#place-chosen').textContent(), /Phước Hiệp/);
  await page.keyboard.type('Tổ 3, ấp Phước Hưng');
  await page.keyboard.press('Alt+2');
  await page.fill('#people', '2');
  await page.fill('#name', 'Lê Văn Năm');
  await page.locator('#dups').getByText(webReq.code).waitFor();
  await shot(page, 'desks-operator-intake');
  const [resp] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith('/api/v1/requests') && r.request().method() === 'POST'),
    page.keyboard.press('Control+Enter'),
  ]);
  assert.equal(resp.status(), 201, await resp.text());
  const saved = page.locator('#saved');
  await saved.waitFor();
  const code = /[A-Z]+-[0-9A-Z]{6}/.exec(await saved.textContent())[0];
  webReq.hotline = code;
  const got = await apiCall(server, 'GET', `/api/v1/requests/${code}`, { token: op.token });
  assert.equal(got.data.request.source, 'hotline');
  assert.equal(got.data.request.category, 'water');
  assert.equal(got.data.request.former_ward_code, '27529', 'placed in former Phước Hiệp');
  assert.equal(got.data.request.ward_code, '27496', 'which is now Xã Tân An Hội');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'phone', 'ready for the next call');
  await shot(page, 'desks-operator-saved');
  p.assertClean(assert);
});

test('operator, the whole call at 1366×768: link to read out, code lookup, caller list, outcomes, edit where the server has it', async () => {
  const web2 = await apiCall(server, 'POST', '/api/v1/requests', {
    body: { lat: INSIDE.lat + 0.01, lon: INSIDE.lon, category: 'cash', people: 2, phone: '0944 222 333', location_precision: 'pin' },
  });
  assert.equal(web2.status, 201);
  const p = await newPage(browser, server, { viewport: { width: 1366, height: 768 }, storage: { 'helpmap.token.operator': op.token } });
  const { page } = p;
  const listReq = page.waitForRequest((r) => /\/api\/v1\/requests\?.*verified=false/.test(r.url()));
  const probe = page.waitForResponse((r) => r.request().method() === 'PATCH');
  await page.goto(server.base + '/operator');
  assert.match((await listReq).url(), /status=open/);
  // Issue 14: this server edits (PATCH of an unknown code is 404, not 405).
  assert.equal((await probe).status(), 404, 'this server edits');
  const save = await page.locator('#save').boundingBox();
  assert.ok(save && save.y + save.height <= 768, `Save at ${JSON.stringify(save)}`);
  await mapReady(page);

  // Call-back: unreachable is recorded with its outcome and note.
  const row = page.locator(`#unverified tr[data-code="${web2.data.request.code}"]`);
  await row.waitFor({ timeout: 10000 });
  await row.locator('.out-note').fill('máy bận');
  const [oreq] = await Promise.all([
    page.waitForRequest((r) => r.url().endsWith(`/requests/${web2.data.request.code}/verify`)),
    row.locator('[data-outcome=unreachable]').click(),
  ]);
  assert.deepEqual(oreq.postDataJSON(), { verified: false, outcome: 'unreachable', note: 'máy bận' });

  // A new call: saved, with the tracking link to read out or send by SMS.
  await page.locator('#phone').fill('0966 123 456');
  await page.locator('#place').fill('nhuan duc');
  await page.locator('#place-list li', { hasText: 'Nhuận Đức' }).first().waitFor();
  await page.keyboard.press('Enter');
  await page.locator('#address').fill('Số 9, ấp Bến Đò');
  await page.keyboard.press('Alt+1');
  await page.locator('#save').click();
  const link = page.locator('#saved-track');
  await link.waitFor({ timeout: 10000 });
  const href = await link.getAttribute('href');
  const m = /\/track\/([^?]+)\?token=([0-9a-f]+)/.exec(href);
  assert.ok(m, href);
  const code = decodeURIComponent(m[1]);
  const tracked = await apiCall(server, 'GET', `/api/v1/requests/${code}?token=${m[2]}`);
  assert.equal(tracked.status, 200, 'the link works');
  const sms = await page.locator('#saved-sms').getAttribute('href');
  assert.match(sms, /^sms:\+?8?4?0?966123456\?&body=/);
  assert.ok(decodeURIComponent(sms).includes(href));
  await shot(page, 'desks-operator-tracking-link');

  // The caller reads the code out (any case, no dash).
  await page.locator('#code-q').fill(code.toLowerCase().replace('-', ''));
  await page.keyboard.press('Enter');
  await page.locator('#req-view h2', { hasText: code }).waitFor();
  assert.match(await page.locator('#req-view').textContent(), /Số 9, ấp Bến Đò/);
  assert.match(await page.locator('#req-view').textContent(), /vị trí gần đúng/, 'placed at the commune');

  // The same caller again: the earlier request, with an edit button (this server edits);
  // cancel it.
  await page.locator('#phone').fill('0966123456');
  const item = page.locator(`#lookup li[data-code="${code}"]`);
  await item.waitFor({ timeout: 10000 });
  assert.equal(await item.locator('[data-edit]').count(), 1, 'an edit button where PATCH is answered');
  await item.locator('[data-cancel]').click();
  await item.locator('[data-cancel]').click();
  await page.locator(`#lookup li[data-code="${code}"] .st-cancelled`).waitFor({ timeout: 10000 });
  const after = await apiCall(server, 'GET', `/api/v1/requests/${code}`, { token: op.token });
  assert.equal(after.data.request.status, 'cancelled');
  await shot(page, 'desks-operator-caller');
  p.assertClean(assert);
  await p.context.close();

  // A server that edits (PATCH answered, here stood in for): the edit form
  // sends only what changed.
  const q = await newPage(browser, server, { viewport: { width: 1366, height: 768 }, storage: { 'helpmap.token.operator': op.token } });
  let patched = null;
  await q.page.route('**/api/v1/requests/*', (route) => {
    const r = route.request();
    if (r.method() !== 'PATCH') return route.continue();
    if (r.url().endsWith('/CC-000000')) return route.fulfill({ status: 404, json: { error: { code: 'not_found', message: 'no', field: null } } });
    patched = r.postDataJSON();
    return route.fulfill({ status: 200, json: { request: {} } });
  });
  await q.page.goto(server.base + '/operator');
  await q.page.locator('#code-q').fill(web2.data.request.code);
  await q.page.keyboard.press('Enter');
  await q.page.locator('#edit-btn').click();
  await q.page.locator('#edit-form input[name=people]').fill('4');
  await q.page.locator('#edit-form textarea[name=note]').fill('Gọi lại: nhà có 4 người');
  await q.page.locator('#edit-save').click();
  await q.page.waitForFunction(() => true);
  for (let i = 0; i < 50 && !patched; i++) await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual(patched, { people: 4, note: 'Gọi lại: nhà có 4 người' });
  await shot(q.page, 'desks-operator-edit');
  q.assertClean(assert);
  await q.context.close();
});

test('command desk: assign, duplicate, reopen, export, draw a hamlet, levels, 4K', async () => {
  const p = await newPage(browser, server, { viewport: { width: 1920, height: 1080 }, storage: { 'helpmap.token.command': coord.token } });
  const { page } = p;
  await page.goto(server.base + '/command');
  assert.equal(await mapReady(page), 'ready');
  await page.locator('#desk-toggle').click();

  // Assign the web request to the nearest available team.
  await page.locator(`#oldest li[data-code="${webReq.code}"]`).click();
  const panel = page.locator('#req-panel');
  await panel.locator('.req-code', { hasText: webReq.code }).waitFor();
  await panel.locator('#responders li', { hasText: 'Tổ Phước Hiệp' }).waitFor({ timeout: 10000 });
  await shot(page, 'desks-command-responders');
  await panel.locator(`#responders [data-team="${vol.id}"]`).click();
  await panel.locator('[data-status="assigned"]').waitFor({ timeout: 10000 });
  assert.match(await panel.textContent(), /Tổ Phước Hiệp/);

  // The hotline request: mark it a duplicate of the web one, then reopen it.
  const hot = webReq.hotline;
  await page.locator(`#oldest li[data-code="${hot}"]`).click();
  await panel.locator('.req-code', { hasText: hot }).waitFor();
  await panel.locator('#dup-of').fill(webReq.code);
  await panel.locator('#dup-btn').click();
  await panel.locator('[data-status="duplicate"]').waitFor({ timeout: 10000 });
  await panel.locator('#reopen-req').click();
  await panel.locator('[data-status="new"]').waitFor({ timeout: 10000 });
  await page.click('#req-close');

  // Export CSV through the Bearer-authenticated download.
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#export-btn')]);
  const csv = fs.readFileSync(await download.path(), 'utf8');
  assert.ok(csv.includes(webReq.code) && csv.includes(hot), 'the export lists both requests');

  // Draw a hamlet around the middle of the view, then an overlapping one.
  const box = await page.locator('#map').boundingBox();
  const cx = box.x + box.width / 2, cy = box.y + box.height / 2;
  async function drawSquare(dx) {
    await page.click('#draw-btn');
    await page.locator('#tool-msg', { hasText: /đỉnh/ }).waitFor();
    const pts = [[-14, -14], [14, -14], [14, 14], [-14, 14]];
    for (const [x, y] of pts) {
      await page.mouse.move(cx + dx + x, cy + y, { steps: 4 });
      await page.mouse.down();
      await page.mouse.up();
      await page.waitForTimeout(250);
    }
    await page.mouse.move(cx + dx - 14, cy - 14, { steps: 4 }); // back on the first corner closes the ring
    await page.mouse.down();
    await page.mouse.up();
    try {
      await page.locator('#area-form').waitFor({ timeout: 5000 });
    } catch (e) {
      await shot(page, 'desks-command-draw-failed');
      throw e;
    }
  }
  await drawSquare(0);
  await page.fill('#area-code', 'ND-AP1');
  await page.fill('#area-name', 'Ấp Thử Một');
  await page.locator('#area-form button[type=submit]').click();
  await page.locator('#tool-msg', { hasText: 'Đã lưu ấp ND-AP1' }).waitFor({ timeout: 10000 });
  await page.locator('#area-form').waitFor({ state: 'hidden', timeout: 10000 });
  const hamlets = await apiCall(server, 'GET', '/api/v1/areas?level=hamlet');
  const stored = hamlets.data.features.find((f) => f.properties.code === 'ND-AP1');
  assert.ok(stored, 'hamlet stored');
  await page.waitForTimeout(500);
  await shot(page, 'desks-command-hamlet-saved');
  await drawSquare(10);
  await page.fill('#area-code', 'ND-AP2');
  await page.fill('#area-name', 'Ấp Thử Hai');
  await page.locator('#area-form button[type=submit]').click();
  const err = page.locator('#area-error');
  await err.waitFor({ timeout: 10000 });
  assert.match(await err.textContent(), /Chồng lấn.*ND-AP1|ND-AP1/);
  await page.waitForTimeout(500);
  await shot(page, 'desks-command-overlap');
  await page.click('#area-cancel');

  // The 2019 communes.
  await page.click('.seg-btn[data-level="former_ward"]');
  await page.locator('.area-label--former_ward:not(.is-hidden)', { hasText: 'Phước Hiệp' }).waitFor();
  assert.equal(await page.locator('.area-label--ward', { hasText: 'Tân An Hội' }).first().isVisible(), false);
  await page.waitForTimeout(1200);
  await shot(page, 'desks-command-former-wards');
  await page.click('.seg-btn[data-level="ward"]');

  // The 4K wall: type twice as large.
  await page.setViewportSize({ width: 3840, height: 2160 });
  await page.waitForTimeout(1500);
  const fs4k = await page.evaluate(() => parseFloat(getComputedStyle(document.documentElement).fontSize));
  assert.ok(fs4k >= 30, `root font size at 4K: ${fs4k}`);
  await shot(page, 'desks-command-4k');
  p.assertClean(assert);
});
