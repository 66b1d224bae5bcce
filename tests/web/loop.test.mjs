// loop.test.mjs: the resident closes the loop (issue 17) in Chromium.
// - Requests that survive a dead connection: "/" installs its service worker,
//   loads again with the browser offline, keeps a request made offline on the
//   phone as "đang chờ gửi", and sends it once the connection returns — exactly
//   one request stored (checked through the API), also when the phone sends it
//   again with the same Idempotency-Key.
// - The receipt on the tracking page, with and without JavaScript; the flag on
//   /command with the team's name and both amounts; /results.
// Screenshots in tests/artifacts/: loop-offline-waiting, loop-offline-sent,
// loop-track-receipt, loop-track-nojs, loop-command-flag (and -panel), loop-results.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { startServer, launchBrowser, newPage, shot, apiCall, mapReady, ROOT } from './helpers.mjs';

const run = promisify(execFile);
let server, browser, coord, team, op;

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  coord = await server.teamAdd('Trung tâm chỉ huy', 'coordinator');
  team = await server.teamAdd('Đội Nhuận Đức 1', 'volunteer');
  op = await server.teamAdd('Tổng đài viên', 'operator');
});
after(async () => {
  await browser?.close();
  await server?.stop();
});

let phoneSeq = 0;
const freshPhone = () => `0912 ${String(process.pid % 1000).padStart(3, '0')} ${String(++phoneSeq).padStart(3, '0')}`;

async function byPhone(phone) {
  const r = await apiCall(server, 'GET', `/api/v1/requests?status=all&phone=${encodeURIComponent(phone.replace(/\s/g, ''))}`, { token: op.token });
  assert.equal(r.status, 200);
  return r.data.features.map((f) => f.properties);
}

// A cash request resolved by the team with 1,000,000 đ delivered; {code, token}.
async function resolvedCash() {
  const c = await apiCall(server, 'POST', '/api/v1/requests', {
    body: { lat: 11.0392, lon: 106.4962, category: 'cash', people: 4, phone: freshPhone(), note: 'mất việc, hết tiền' },
  });
  assert.equal(c.status, 201);
  const { code } = c.data.request;
  for (const [p, body] of [['claim'], ['status', { status: 'in_progress' }],
    ['status', { status: 'resolved', note: 'đã trao tận tay', delivered: { amount_vnd: 1000000, items: 'tiền mặt' } }]]) {
    const r = await apiCall(server, 'POST', `/api/v1/requests/${code}/${p}`, { token: team.token, body });
    assert.equal(r.status, 200, JSON.stringify(r.data));
  }
  return { code, token: c.data.token };
}

test('offline: the page loads from the phone, a request waits and is sent once when the connection returns', async () => {
  const p = await newPage(browser, server);
  const { page, context } = p;
  await page.goto(server.base + '/');
  // The service worker installs and takes the page.
  await page.waitForFunction(() => !!navigator.serviceWorker?.controller, null, { timeout: 20000 });
  const cached = await page.evaluate(async () => (await caches.keys()).length);
  assert.ok(cached >= 1, 'the page and its assets are kept');

  await context.setOffline(true);
  await page.reload(); // from the phone: no connection
  await page.locator('#report').waitFor();
  assert.equal(await page.evaluate(() => navigator.onLine), false);
  // Without a connection the map cannot load: the commune list of the page itself.
  if (await page.locator('#no-map-btn').isVisible()) await page.click('#no-map-btn');
  await page.locator('#ward_code').waitFor({ state: 'visible' });
  const phone = freshPhone();
  await page.selectOption('#ward_code', '27511');
  await page.fill('#address', 'Số 12, đường Nguyễn Thị Lắng, ấp Bàu Tre');
  await page.locator('label.cat-food').click();
  await page.fill('#people', '5');
  await page.fill('#phone', phone);
  await page.fill('#note', 'Mất sóng, gửi khi có mạng');
  await page.click('#send-btn');
  await page.locator('#outbox').waitFor({ state: 'visible' });
  assert.match(await page.locator('#outbox').textContent(), /Đang chờ gửi/);
  assert.match(await page.locator('#outbox-list').textContent(), /đang chờ gửi/);
  const kept = await page.evaluate(() => JSON.parse(localStorage.getItem('helpmap.outbox') || '[]'));
  assert.equal(kept.length, 1);
  assert.match(kept[0].key, /^[0-9a-f]{32}$/);
  await shot(page, 'loop-offline-waiting');
  assert.deepEqual(await byPhone(phone), [], 'nothing reached the server while offline');

  // The connection returns: sent by itself, once.
  await context.setOffline(false);
  await page.locator('#result').waitFor({ state: 'visible', timeout: 20000 });
  const code = (await page.locator('#result-code').textContent()).trim();
  assert.match(code, /^CC-[0-9A-Z]{6}$/);
  assert.equal(await page.locator('#outbox').isVisible(), false);
  assert.equal(await page.evaluate(() => JSON.parse(localStorage.getItem('helpmap.outbox') || '[]').length), 0);
  await shot(page, 'loop-offline-sent');
  let stored = await byPhone(phone);
  assert.equal(stored.length, 1);
  assert.equal(stored[0].code, code);
  assert.equal(stored[0].ward_code, '27511');

  // The phone lost the answer and sends the same bytes with the same key again:
  // the first answer, nothing stored twice.
  const again = await page.evaluate(async (item) => {
    const r = await fetch('/api/v1/requests', {
      method: 'POST', headers: { 'Content-Type': 'application/json', 'Idempotency-Key': item.key }, body: item.text,
    });
    return { status: r.status, body: await r.json() };
  }, kept[0]);
  assert.equal(again.status, 201);
  assert.equal(again.body.request.code, code);
  stored = await byPhone(phone);
  assert.equal(stored.length, 1);

  // Offline problems are the test's doing; anything else is not.
  const other = p.problems.filter((x) => !/ERR_INTERNET_DISCONNECTED|net::ERR_/.test(x));
  assert.deepEqual(other, []);
  await context.close();
});

test('manifest and icons make "/" installable', async () => {
  const m = await apiCall(server, 'GET', '/manifest.webmanifest');
  assert.equal(m.status, 200);
  assert.equal(m.data.start_url, '/');
  assert.equal(m.data.display, 'standalone');
  const sizes = new Set(m.data.icons.map((i) => i.sizes));
  assert.ok(sizes.has('192x192') && sizes.has('512x512'));
  for (const icon of m.data.icons) {
    const r = await fetch(server.base + icon.src);
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('content-type'), 'image/png');
    const b = Buffer.from(await r.arrayBuffer());
    assert.equal(b.subarray(1, 4).toString(), 'PNG');
    assert.equal(b.readUInt32BE(16), Number(icon.sizes.split('x')[0]));
  }
  const html = await (await fetch(server.base + '/')).text();
  assert.match(html, /<link rel="manifest" href="\/manifest.webmanifest">/);
});

test('tracking page: the resident says what arrived; the flag reaches /command', async () => {
  const { code, token } = await resolvedCash();
  const p = await newPage(browser, server);
  const { page } = p;
  await page.goto(`${server.base}/track/${code}?token=${token}`);
  await page.locator('#status[data-status="resolved"]').waitFor();
  assert.match(await page.locator('#receipt h2').textContent(), /Bạn đã nhận được hỗ trợ chưa\?/);
  assert.match(await page.locator('#delivered-line').textContent(), /1\.000\.000 đ/);
  // With JavaScript the confirmation box of the plain cancel form is not needed.
  await page.locator('#receipt label', { hasText: 'Chỉ nhận được một phần' }).click();
  await page.fill('#amount_vnd', '800.000');
  await page.fill('#receipt-form textarea[name=note]', 'Chỉ nhận 800.000 đ, thiếu 200.000 đ');
  await Promise.all([page.waitForURL(/done=receipt/), page.click('#receipt-btn')]);
  await page.locator('#receipt-now[data-received="part"]').waitFor();
  assert.match(await page.locator('#notice').textContent(), /Đã ghi nhận/);
  await page.locator('#history li[data-kind="receipt"]').first().waitFor();
  assert.match(await page.locator('#history').textContent(), /800\.000/);
  await shot(page, 'loop-track-receipt');
  const g = await apiCall(server, 'GET', `/api/v1/requests/${code}?token=${token}`);
  assert.deepEqual(g.data.request.receipt.received, 'part');
  assert.equal(g.data.request.receipt.amount_vnd, 800000);
  assert.equal(g.data.request.history_verified, true);
  // A bad amount is refused at the form, in Vietnamese.
  await page.locator('#receipt label', { hasText: 'Chỉ nhận được một phần' }).click();
  await page.fill('#amount_vnd', 'tám trăm');
  await page.click('#receipt-btn');
  await page.locator('#receipt-error').waitFor({ state: 'visible' });
  assert.match(await page.locator('#receipt-error').textContent(), /Số tiền/);
  p.assertClean(assert);

  // The command center sees the flag: the team's name, its 1,000,000 đ, the 800,000 đ.
  const c = await newPage(browser, server, { viewport: { width: 1600, height: 900 }, storage: { 'helpmap.token.command': coord.token } });
  await c.page.goto(server.base + '/command');
  const row = c.page.locator(`#flags li[data-code="${code}"]`);
  await row.filter({ hasText: 'Đội Nhuận Đức 1' }).waitFor({ timeout: 20000 });
  const text = await row.textContent();
  assert.match(text, /Đội Nhuận Đức 1/);
  assert.match(text, /1\.000\.000 đ/);
  assert.match(text, /800\.000 đ/);
  await mapReady(c.page);
  await c.page.waitForTimeout(500);
  await shot(c.page, 'loop-command-flag');
  await c.page.locator('#flags-panel').screenshot({ path: path.join(ROOT, 'tests/artifacts/loop-command-flag-panel.png') });
  // Another resident reports nothing arrived while the wall is open: the event brings it.
  const second = await resolvedCash();
  const r = await apiCall(server, 'POST', `/api/v1/requests/${second.code}/receipt?token=${second.token}`, { body: { received: 'nothing' } });
  assert.equal(r.status, 200);
  await c.page.locator(`#flags li[data-code="${second.code}"]`).waitFor({ timeout: 15000 });
  assert.match(await c.page.locator(`#flags li[data-code="${second.code}"]`).textContent(), /không nhận được gì/);
  c.assertClean(assert);
});

test('tracking page without JavaScript: receipt and cancel as plain forms', async () => {
  const { code, token } = await resolvedCash();
  const p = await newPage(browser, server, { javaScriptEnabled: false });
  const { page } = p;
  await page.goto(`${server.base}/track/${code}?token=${token}`);
  assert.match(await page.locator('#status').textContent(), /Đã giải quyết/);
  assert.ok(await page.locator('#history li').count() >= 4);
  await page.locator('#receipt label', { hasText: 'Đã nhận đủ' }).click();
  await Promise.all([page.waitForNavigation(), page.click('#receipt-btn')]);
  assert.match(page.url(), /done=receipt/);
  await page.locator('#receipt-now[data-received="all"]').waitFor();
  await shot(page, 'loop-track-nojs');
  // An open request: the cancel form asks for the box to be ticked, then cancels.
  const c = await apiCall(server, 'POST', '/api/v1/requests', { body: { lat: 11.0392, lon: 106.4962, category: 'water', phone: freshPhone() } });
  await page.goto(`${server.base}/track/${c.data.request.code}?token=${c.data.token}`);
  assert.equal(await page.locator('#status').getAttribute('data-status'), 'new');
  await page.check('#cancel-confirm input');
  await Promise.all([page.waitForNavigation(), page.click('#cancel-btn')]);
  assert.equal(await page.locator('#status').getAttribute('data-status'), 'cancelled');
  assert.match(await page.locator('#notice').textContent(), /Đã hủy/);
  p.assertClean(assert);
});

test('/results: per commune and former commune, printable, no script', async () => {
  // A realistic load next to the requests above (the running server follows the file).
  await run(process.env.HM_BIN ? path.resolve(ROOT, process.env.HM_BIN) : path.join(ROOT, 'build/helpmap'),
    ['demo', '--db', server.db, '--requests', '3000', '--teams', '20'], { cwd: ROOT });
  await new Promise((r) => setTimeout(r, 1500)); // the follower reloads the counts
  const p = await newPage(browser, server, { javaScriptEnabled: false, viewport: { width: 1100, height: 900 } });
  const { page } = p;
  const resp = await page.goto(`${server.base}/results`);
  assert.equal(resp.status(), 200);
  const body = await resp.body();
  assert.ok(body.length < 30 * 1024, `/results is ${body.length} bytes`);
  assert.equal(await page.locator('script').count(), 0);
  assert.equal(await page.locator('#wards tbody tr').count(), 7);
  assert.equal(await page.locator('#former-wards tbody tr').count(), 21);
  assert.equal(await page.locator('#wards svg.bar').count(), 7);
  const received = Number((await page.locator('#district dd').first().textContent()).trim());
  assert.ok(received > 2500, `received ${received}`); // 3,000 and ours, less the duplicates
  await page.screenshot({ path: path.join(ROOT, 'tests/artifacts/loop-results.png'), fullPage: true });
  p.assertClean(assert);
});
