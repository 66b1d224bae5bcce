// field.test.mjs: issue 14 in the browser — a team signed in by the link of its
// QR code is alerted (sound, vibration, a count in the title) when the command
// center assigns it a request, and sees it first with contact data; the hotline
// desk edits a caller's earlier request; /command lists the most urgent
// requests and adds a team, showing its one-time token as a QR code that
// decodes to the sign-in link; a CSV import with a refused row stores nothing.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import jsQR from 'jsqr';
import { startServer, launchBrowser, newPage, shot, apiCall, INSIDE } from './helpers.mjs';

let server, browser, coord, op, vol;
before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  coord = await server.teamAdd('Ban chỉ huy', 'coordinator');
  op = await server.teamAdd('Tổng đài viên 1', 'operator');
  vol = await server.teamAdd('Tổ Trung An', 'volunteer');
});
after(async () => {
  await browser?.close();
  await server?.stop();
});

async function create(body) {
  const r = await apiCall(server, 'POST', '/api/v1/requests', {
    body: { lat: INSIDE.lat, lon: INSIDE.lon, category: 'food', people: 2, phone: '0909 000 111', ...body },
  });
  assert.equal(r.status, 201, JSON.stringify(r.data));
  return r.data.request;
}

// Counts of sounds and vibrations, without changing the page.
async function recordAlerts(context) {
  await context.addInitScript(() => {
    window.__alerts = { tones: 0, vibrations: 0 };
    const Osc = window.OscillatorNode;
    if (Osc) {
      const start = Osc.prototype.start;
      Osc.prototype.start = function (...a) { window.__alerts.tones++; return start.apply(this, a); };
    }
    Object.defineProperty(navigator, 'vibrate', { configurable: true, value: () => { window.__alerts.vibrations++; return true; } });
  });
}

test('team: signed in by its link, alerted when the command center assigns it a request', async () => {
  const far = await create({ lat: 11.1017, lon: 106.4813, phone: '0909 222 333', note: 'Cụ bà sống một mình', vulnerable: ['elderly'] });
  const p = await newPage(browser, server, { viewport: { width: 412, height: 860 } });
  const { page, context } = p;
  await recordAlerts(context);
  await page.goto(`${server.base}/team#token=${vol.token}`);
  await page.locator('#app').waitFor({ state: 'visible', timeout: 10000 });
  assert.equal(new URL(page.url()).hash, '', 'the token left the address bar');
  assert.equal(await page.evaluate(() => localStorage.getItem('helpmap.token.team')), vol.token);
  await page.waitForFunction(() => { const l = document.querySelector('#live'); return l && !l.hidden && !l.classList.contains('off'); }, null, { timeout: 15000 });
  const title = await page.title();

  const r = await apiCall(server, 'POST', `/api/v1/requests/${far.code}/assign`, { token: coord.token, body: { team_id: vol.id } });
  assert.equal(r.status, 200, JSON.stringify(r.data));
  await page.waitForFunction(() => document.title.startsWith('(1) '), null, { timeout: 10000 });
  const card = page.locator(`#mine-list li[data-code="${far.code}"]`);
  await card.waitFor({ timeout: 10000 });
  assert.match(await card.textContent(), /0909222333|Cụ bà sống một mình/);
  const alerts = await page.evaluate(() => window.__alerts);
  assert.ok(alerts.tones >= 1, `a sound was played: ${JSON.stringify(alerts)}`);
  assert.ok(alerts.vibrations >= 1, `the phone vibrated: ${JSON.stringify(alerts)}`);
  assert.match(await page.locator('#alert-bar').textContent(), new RegExp(far.code));
  await shot(page, 'field-team-assigned');
  // Held requests come first, above the nearby list.
  const order = await page.evaluate(() => [...document.querySelectorAll('#mine-section, #nearby-list')].map((e) => e.id));
  assert.deepEqual(order, ['mine-section', 'nearby-list']);
  await page.mouse.click(5, 5);
  await page.waitForFunction((t) => document.title === t, title);
  p.assertClean(assert);
  await p.context.close();
});

test('operator: edit a caller\'s earlier request', async () => {
  const q = await create({ phone: '0912 345 678', people: 3, note: 'Hết gạo' });
  const p = await newPage(browser, server, { viewport: { width: 1600, height: 900 } });
  const { page } = p;
  await page.goto(server.base + '/operator');
  await page.fill('#token', op.token);
  await page.click('#signin button[type=submit]');
  await page.locator('#phone').fill('0912345678');
  const edit = page.locator(`#lookup [data-edit="${q.code}"]`);
  await edit.waitFor({ timeout: 10000 });
  await edit.click();
  const form = page.locator('#edit-form');
  await form.waitFor();
  await form.locator('input[name=people]').fill('6');
  await form.locator('select[name=category]').selectOption('medical');
  await form.locator('textarea[name=note]').fill('Gọi lại: thêm 3 người, có người bệnh');
  await shot(page, 'field-operator-edit');
  const [resp] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith(`/api/v1/requests/${q.code}`) && r.request().method() === 'PATCH'),
    page.click('#edit-save'),
  ]);
  assert.equal(resp.status(), 200, await resp.text());
  const got = (await apiCall(server, 'GET', `/api/v1/requests/${q.code}`, { token: op.token })).data.request;
  assert.equal(got.people, 6);
  assert.equal(got.category, 'medical');
  assert.equal(got.priority, 'urgent');
  assert.equal(got.note, 'Hết gạo\nGọi lại: thêm 3 người, có người bệnh');
  const edits = got.history.filter((h) => h.kind === 'edit');
  assert.deepEqual(edits.map((h) => h.field).sort(), ['category', 'note', 'people']);
  assert.ok(edits.every((h) => h.actor === 'Tổng đài viên 1'));
  p.assertClean(assert);
  await p.context.close();
});

test('operator: a CSV list with a refused row imports nothing; fixed, it imports', async () => {
  const p = await newPage(browser, server, { viewport: { width: 1600, height: 900 } });
  const { page } = p;
  await page.goto(server.base + '/operator');
  await page.fill('#token', op.token);
  await page.click('#signin button[type=submit]');
  await page.locator('#import-file').waitFor({ state: 'attached' });
  const before = (await apiCall(server, 'GET', '/api/v1/requests?source=import&status=all')).data.features.length;
  const bad = 'lat,lon,category,people,phone,note\n11.0392,106.4962,food,2,0908 100 001,Danh sách ấp 2\n11.0392,106.4962,pizza,2,0908 100 002,\n';
  await page.setInputFiles('#import-file', { name: 'ap2.csv', mimeType: 'text/csv', buffer: Buffer.from('\ufeff' + bad) });
  const refused = page.locator('#import-refused tr[data-line="3"]');
  await refused.waitFor({ timeout: 10000 });
  assert.match(await refused.textContent(), /category/);
  assert.equal(await page.locator('#import-go').isVisible(), false);
  await shot(page, 'field-import-refused');
  assert.equal((await apiCall(server, 'GET', '/api/v1/requests?source=import&status=all')).data.features.length, before);

  const good = bad.replace('pizza', 'water');
  await page.setInputFiles('#import-file', { name: 'ap2.csv', mimeType: 'text/csv', buffer: Buffer.from(good) });
  await page.locator('#import-go').waitFor({ state: 'visible', timeout: 10000 });
  const [resp] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith('/api/v1/requests/import') && r.request().method() === 'POST'),
    page.click('#import-go'),
  ]);
  assert.equal(resp.status(), 201, await resp.text());
  await page.locator('#import-summary', { hasText: 'Đã nhập 2' }).waitFor({ timeout: 10000 });
  const after1 = (await apiCall(server, 'GET', '/api/v1/requests?source=import&status=all')).data.features;
  assert.equal(after1.length, before + 2);
  p.assertClean(assert);
  await p.context.close();
});

test('command: most urgent list, and a new team with its token as a QR code', async () => {
  const urgent = await create({ category: 'rescue', phone: '0909 444 555', lat: INSIDE.lat + 0.01 });
  const p = await newPage(browser, server, { viewport: { width: 1600, height: 900 } });
  const { page } = p;
  await page.goto(server.base + '/command');
  await page.fill('#token', coord.token);
  await page.click('#signin button[type=submit]');
  const first = page.locator('#urgent li').first();
  await first.waitFor({ timeout: 30000 });
  await page.waitForFunction(() => document.querySelector('#urgent li')?.dataset.code, null, { timeout: 30000 });
  const top = await page.locator('#urgent li').first().getAttribute('data-code');
  const topReq = (await apiCall(server, 'GET', `/api/v1/requests/${top}`, { token: coord.token })).data.request;
  assert.equal(topReq.priority, 'urgent');
  assert.ok(await page.locator(`#urgent li[data-code="${urgent.code}"]`).count() === 1);

  if (await page.locator('#desk-tools').isHidden()) await page.click('#desk-toggle');
  await page.click('#teams-btn');
  await page.fill('#ta-name', 'Đội xuồng Phú Hòa Đông');
  await page.fill('#ta-caps', 'boat, medical');
  await page.click('#team-add button[type=submit]');
  const canvas = page.locator('#team-qr');
  await canvas.waitFor({ timeout: 10000 });
  const token = (await page.locator('#team-token').textContent()).trim();
  const link = await page.locator('#team-link').getAttribute('href');
  assert.equal(link, `${server.base}/team#token=${token}`);
  const img = await canvas.evaluate((c) => {
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height);
    return { w: c.width, h: c.height, data: Array.from(d.data) };
  });
  const decoded = jsQR(Uint8ClampedArray.from(img.data), img.w, img.h);
  assert.ok(decoded, 'the QR code decodes');
  assert.equal(decoded.data, link);
  await shot(page, 'field-command-team-qr');
  const me = await apiCall(server, 'POST', '/api/v1/teams/me/status', { token, body: { status: 'available' } });
  assert.equal(me.status, 200);
  assert.equal(me.data.team.name, 'Đội xuồng Phú Hòa Đông');
  assert.deepEqual(me.data.team.capabilities, ['boat', 'medical']);

  // The phone opens the link: signed in on /team, the token gone from the address bar.
  const phone = await newPage(browser, server);
  await phone.page.goto(decoded.data);
  await phone.page.locator('#app').waitFor({ state: 'visible', timeout: 10000 });
  assert.equal(new URL(phone.page.url()).hash, '');
  await phone.context.close();

  // Disable (two clicks: arm, confirm): the token stops working.
  const row = page.locator(`#teams-body tr[data-team="${me.data.team.id}"]`);
  await row.locator('[data-act="disable"]').click();
  await row.locator('[data-act="disable"]').click();
  await page.locator(`#teams-body tr[data-team="${me.data.team.id}"] [data-act="enable"]`).waitFor({ timeout: 10000 });
  assert.equal((await apiCall(server, 'POST', '/api/v1/teams/me/status', { token, body: { status: 'available' } })).status, 401);
  p.assertClean(assert);
  await p.context.close();
});
