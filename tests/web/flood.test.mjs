// flood.test.mjs: what the 2024–2025 flood maps taught, on the resident page:
// a relative far away reports for someone else with a pasted map link (the pin
// is previewed before sending, a short link is refused in Vietnamese), and the
// nearest open relief points follow the position, live through point events.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, newPage, shot, mapReady, apiCall, INSIDE } from './helpers.mjs';

let server, browser, coord;
before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  coord = (await server.teamAdd('Trung tâm chỉ huy', 'coordinator')).token;
});
after(async () => {
  await browser?.close();
  await server?.stop();
});

// A shared Google Maps link to a house in Xã Nhuận Đức.
const LINK = 'https://www.google.com/maps/place/Nh%C3%A0+b%C3%A0+T%C6%B0/@11.0392,106.4962,17z/data=!3m1!4b1';

test('reporting for someone else with a pasted link', async () => {
  const p = await newPage(browser, server);
  const { page } = p;
  await page.goto(server.base + '/');
  assert.equal(await mapReady(page), 'ready');

  // The switch shows the reporter's own fields and relabels the person's phone.
  assert.equal(await page.locator('#reporter-block').isVisible(), false);
  await page.locator('label.switch').click();
  await page.locator('#reporter-block').waitFor();
  assert.match(await page.locator('#phone-label').textContent(), /người cần giúp/);
  await page.fill('#reporter_phone', '0912 000 111');
  await page.fill('#reporter_name', 'Chị Lan');

  // A short link is refused with what to do, in Vietnamese.
  await page.fill('#location_text', 'https://maps.app.goo.gl/AbCdEf');
  await page.locator('#paste-status.bad').waitFor();
  assert.match(await page.locator('#paste-status').textContent(), /liên kết rút gọn/);

  // The long link: previewed as the pin, with its commune.
  await page.fill('#location_text', LINK);
  const coords = page.locator('#paste-coords');
  await coords.waitFor();
  assert.match(await coords.textContent(), /11\.03920, 106\.49620/);
  await page.getByText('Nhuận Đức').first().waitFor();
  assert.match(await page.locator('#pin-coords').textContent(), /11\.03920, 106\.49620/);
  await shot(page, 'flood-pasted-link');

  await page.locator('label.cat-rescue').click();
  await page.fill('#phone', '0987 000 222');
  await page.fill('#note', 'Nhà chỉ có hai cháu nhỏ, không có đồ ăn từ sáng, điện thoại đã tắt');
  const [req] = await Promise.all([
    page.waitForRequest((r) => r.url().endsWith('/api/v1/requests') && r.method() === 'POST'),
    page.click('#send-btn'),
  ]);
  const body = req.postDataJSON();
  assert.equal(body.location_text, LINK);
  assert.equal(body.lat, undefined);
  assert.equal(body.ward_code, undefined);
  assert.deepEqual(body.reporter, { phone: '0912 000 111', name: 'Chị Lan' });
  await page.locator('#result').waitFor({ timeout: 10000 });
  const code = (await page.locator('#result-code').textContent()).trim();

  const r = await apiCall(server, 'GET', `/api/v1/requests/${code}`, { token: coord });
  assert.equal(r.status, 200);
  const q = r.data.request;
  assert.equal(q.location_precision, 'link');
  assert.equal(q.ward_code, '27511');
  assert.ok(Math.abs(q.lat - 11.0392) < 1e-6 && Math.abs(q.lon - 106.4962) < 1e-6);
  assert.equal(q.phone, '+84987000222');
  assert.deepEqual(q.reporter, { name: 'Chị Lan', phone: '+84912000111' });
  assert.equal(q.location_text, LINK);
  await shot(page, 'flood-sent-for-someone-else');
  p.assertClean(assert);
});

async function addPoint(body) {
  const r = await apiCall(server, 'POST', '/api/v1/points', { token: coord, body });
  assert.equal(r.status, 201, JSON.stringify(r.data));
  return r.data.id;
}

test('the nearest open relief points on the resident page, live', async () => {
  // Around the resident (INSIDE): a closed water point right there, an open shelter
  // about 300 m away, food about 2 km away, a medical post about 15 km away.
  await addPoint({ kind: 'water', name: 'Giếng nước ấp 2', lat: INSIDE.lat + 0.0004, lon: INSIDE.lon, status: 'closed' });
  const shelter = await addPoint({ kind: 'shelter', name: 'Trường tiểu học Nhuận Đức', lat: INSIDE.lat + 0.0027, lon: INSIDE.lon, hours: '24/7', capacity: 250, address: 'Ấp Bàu Chứa' });
  await addPoint({ kind: 'food', name: 'Bếp ăn nhà văn hoá', lat: INSIDE.lat - 0.018, lon: INSIDE.lon, hours: '10:00–19:00' });
  await addPoint({ kind: 'medical', name: 'Trạm y tế xã', lat: INSIDE.lat + 0.13, lon: INSIDE.lon });

  const p = await newPage(browser, server, { geolocation: INSIDE });
  const { page } = p;
  await page.goto(server.base + '/');
  assert.equal(await mapReady(page), 'ready');
  await page.locator('#pin-coords').waitFor({ timeout: 15000 });
  const items = page.locator('#points-list li.point');
  await items.first().waitFor({ timeout: 10000 });
  assert.equal(await items.count(), 3);
  const first = items.nth(0);
  assert.match(await first.textContent(), /Trường tiểu học Nhuận Đức/);
  assert.match(await first.locator('.dist').textContent(), /^\d{3} m$/);
  assert.match(await first.textContent(), /Giờ mở: 24\/7/);
  assert.match(await first.textContent(), /Sức chứa: 250/);
  assert.match(await first.textContent(), /Đang mở/);
  assert.match(await items.nth(1).textContent(), /Bếp ăn nhà văn hoá/);
  assert.match(await items.nth(1).locator('.dist').textContent(), /km/);
  assert.doesNotMatch(await page.locator('#points-list').textContent(), /Giếng nước/); // closed
  await shot(page, 'flood-nearest-points');

  // The shelter fills up: it leaves the list of open points without a reload, and
  // a new boat nearby appears.
  const r = await apiCall(server, 'PUT', `/api/v1/points/${shelter}`, { token: coord, body: { status: 'full' } });
  assert.equal(r.status, 200);
  await page.waitForFunction(() => !document.querySelector('#points-list').textContent.includes('Trường tiểu học'), null, { timeout: 10000 });
  await addPoint({ kind: 'boat', name: 'Ghe ông Sáu', lat: INSIDE.lat + 0.001, lon: INSIDE.lon });
  await page.locator('#points-list li.point').filter({ hasText: 'Ghe ông Sáu' }).waitFor({ timeout: 10000 });
  assert.match(await items.nth(0).textContent(), /Ghe ông Sáu/);

  // English: the same list, translated.
  await page.locator('.lang-toggle:visible').click();
  await page.getByText('Rescue boat').first().waitFor();
  assert.match(await page.locator('#points h2').textContent(), /Relief points near you/);
  p.assertClean(assert);
});

test('"I am safe now" on the tracking page tells the holding team; /command manages relief points', async () => {
  const vol = await server.teamAdd('Tổ Nhuận Đức', 'volunteer');
  const r = await apiCall(server, 'POST', '/api/v1/requests', {
    body: { lat: INSIDE.lat, lon: INSIDE.lon, category: 'rescue', people: 3, phone: '0938 000 111', reporter: { name: 'Anh Ba', phone: '0938 000 999' } },
  });
  assert.equal(r.status, 201);
  const { code } = r.data.request;
  const { token } = r.data;
  assert.equal((await apiCall(server, 'POST', `/api/v1/requests/${code}/claim`, { token: vol.token })).status, 200);

  // The team holding it sees both numbers, the person in need's first.
  const team = await newPage(browser, server, { geolocation: INSIDE, storage: { 'helpmap.token.team': vol.token, 'helpmap.team.mine': JSON.stringify([code]) } });
  await team.page.goto(server.base + '/team');
  const card = team.page.locator(`#mine-list li[data-code="${code}"]`);
  await card.waitFor({ timeout: 15000 });
  const calls = await card.locator('a[href^="tel:"]').evaluateAll((as) => as.map((a) => a.getAttribute('href')));
  assert.deepEqual(calls, ['tel:+84938000111', 'tel:+84938000999']);
  await team.page.locator('#live:not(.off)').waitFor({ timeout: 15000 });

  // The resident says they are safe: two taps.
  const res = await newPage(browser, server);
  await res.page.goto(`${server.base}/track/${code}?token=${token}`);
  const safe = res.page.locator('#safe-btn');
  await safe.waitFor();
  assert.match(await safe.textContent(), /Tôi đã an toàn/);
  await safe.click();
  assert.match(await safe.textContent(), /xác nhận/);
  await safe.click();
  await res.page.locator('#status[data-status="cancelled"]').waitFor({ timeout: 10000 });
  assert.equal(await safe.isVisible(), false);
  await res.page.getByText('Đã báo an toàn').first().waitFor();
  await shot(res.page, 'flood-track-safe');

  // The team is told at once, and the request leaves its tasks.
  const notice = team.page.locator('#alert-bar .alert-text').filter({ hasText: code });
  await notice.waitFor({ timeout: 10000 });
  assert.match(await notice.textContent(), /an toàn/);
  await card.waitFor({ state: 'detached', timeout: 10000 });
  team.assertClean(assert);
  res.assertClean(assert);

  // The command desk: safe check-ins per commune, and relief points managed in one tap.
  const coordTeam = await server.teamAdd('Điều phối 2', 'coordinator');
  const cmd = await newPage(browser, server, { viewport: { width: 1600, height: 900 }, storage: { 'helpmap.token.command': coordTeam.token, 'helpmap.cmd.desk': '1' } });
  await cmd.page.goto(server.base + '/command');
  assert.equal(await mapReady(cmd.page), 'ready');
  await cmd.page.locator('.cnt-safe .safe-wards').filter({ hasText: 'Nhuận Đức 1' }).waitFor({ timeout: 15000 });
  const row = cmd.page.locator('#points-admin li').filter({ hasText: 'Bếp ăn nhà văn hoá' });
  await row.waitFor({ timeout: 10000 });
  await row.locator('button[data-status="full"]').click();
  await row.locator('button[data-status="full"][aria-pressed="true"]').waitFor({ timeout: 10000 });
  const pts = await apiCall(server, 'GET', '/api/v1/points?kind=food');
  assert.equal(pts.data.features.find((f) => f.properties.name === 'Bếp ăn nhà văn hoá').properties.status, 'full');
  // Add one by clicking the map.
  await cmd.page.click('#point-btn');
  await cmd.page.locator('#map').click({ position: { x: 500, y: 400 } });
  await cmd.page.locator('#point-form').waitFor();
  await cmd.page.selectOption('#point-kind', 'charging');
  await cmd.page.fill('#point-name', 'Sạc pin UBND xã');
  await cmd.page.fill('#point-hours', '7:00–21:00');
  await cmd.page.click('#point-form button[type=submit]');
  await cmd.page.locator('#points-admin li').filter({ hasText: 'Sạc pin UBND xã' }).waitFor({ timeout: 10000 });
  const all = await apiCall(server, 'GET', '/api/v1/points?kind=charging');
  assert.equal(all.data.features.length, 1);
  assert.equal(all.data.features[0].properties.hours, '7:00–21:00');
  await shot(cmd.page, 'flood-command-points');
  cmd.assertClean(assert);
});
