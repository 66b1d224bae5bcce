// flow.test.mjs: the main path through every face of helpmap. A resident
// drops a pin and gets a code; the request appears on /command within 2 s
// without reload; a volunteer team signs in, claims, starts and resolves it;
// the resident's tracking page turns to "Đã giải quyết" by itself.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, newPage, shot, mapReady, apiCall, INSIDE } from './helpers.mjs';

let server, browser;
const pages = [];
before(async () => {
  server = await startServer();
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await server?.stop();
});

async function open(opts, path) {
  const p = await newPage(browser, server, opts);
  pages.push(p);
  await p.page.goto(server.base + path);
  return p;
}

test('resident → command center → team → tracking page', async () => {
  const volunteer = await server.teamAdd('Tổ Nhuận Đức 1', 'volunteer');
  const coord = await server.teamAdd('Ban chỉ huy', 'coordinator');

  // The wall display, signed in and live before the request arrives.
  const cmd = await open({ viewport: { width: 1920, height: 1080 }, storage: { 'helpmap.token.command': coord.token } }, '/command');
  assert.equal(await mapReady(cmd.page), 'ready');
  await cmd.page.locator('#live:not(.off)').waitFor({ timeout: 10000 });

  // Resident on a phone, GPS refused: taps the middle of the map (Củ Chi).
  const res = await open({}, '/');
  const form = res.page.locator('#report');
  await form.waitFor();
  assert.equal(await mapReady(res.page), 'ready', 'WebGL map on the resident page');
  await res.page.waitForTimeout(500);
  const box = await res.page.locator('#map').boundingBox();
  await res.page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
  await res.page.locator('#pin-coords').waitFor();
  await res.page.getByText(/Thuộc Xã/).waitFor({ timeout: 10000 });
  await res.page.locator('label.cat-food').click();
  await res.page.fill('#people', '3');
  await res.page.locator('input[name=vulnerable][value=elderly]').check();
  await res.page.fill('#phone', '0909 123 456');
  await res.page.fill('#name', 'Nguyễn Thị Tư');
  await res.page.fill('#note', 'Nhà có 2 cụ già, hết gạo từ hôm qua');
  await shot(res.page, 'flow-1-resident-form');
  const [created] = await Promise.all([
    res.page.waitForResponse((r) => r.url().endsWith('/api/v1/requests') && r.request().method() === 'POST'),
    res.page.click('#send-btn'),
  ]);
  assert.equal(created.status(), 201, await created.text());
  const sentAt = Date.now();
  await res.page.locator('#result').waitFor();
  const code = (await res.page.locator('#result-code').textContent()).trim();
  assert.match(code, /^[A-Z]{1,4}-?[0-9ABCDEGHKMNPQRSTVXY]{6}$/);
  const trackHref = await res.page.locator('#track-link').getAttribute('href');
  assert.match(trackHref, new RegExp(`^/track/${code}\\?token=.+`));
  await shot(res.page, 'flow-2-resident-code');

  // The command center shows it within 2 s, without reload.
  await cmd.page.locator(`#arrivals li[data-code="${code}"]`).waitFor({ timeout: 2000 });
  assert.ok(Date.now() - sentAt <= 2500, 'arrival shown within 2 s');
  await cmd.page.locator(`#oldest li[data-code="${code}"]`).waitFor({ timeout: 10000 });
  await cmd.page.waitForTimeout(1500);
  await shot(cmd.page, 'flow-3-command-arrival');

  // The tracking page, open while the team works.
  const track = await open({}, trackHref);
  await track.page.locator('#status[data-status="new"]').waitFor();
  assert.equal((await track.page.locator('#code').textContent()).trim(), code);
  await shot(track.page, 'flow-4-track-new');

  // A volunteer team near the pin signs in with its token.
  const team = await open({ geolocation: INSIDE }, '/team');
  await team.page.fill('#token', volunteer.token);
  await team.page.click('#signin button[type=submit]');
  const card = team.page.locator(`#nearby-list li[data-code="${code}"]`);
  await card.waitFor({ timeout: 15000 });
  assert.ok(!(await card.textContent()).includes('0909'), 'no contact before the claim');
  await shot(team.page, 'flow-5-team-nearby');
  await card.locator('[data-act=claim]').click();
  const mine = team.page.locator(`#mine-list li[data-code="${code}"]`);
  await mine.waitFor({ timeout: 10000 });
  await mine.locator('a[href^="tel:"]').waitFor();
  assert.match(await mine.locator('a[href^="tel:"]').getAttribute('href'), /^tel:\+?8?4?0?909123456$/);
  await mine.locator('a[href^="sms:"]').waitFor();
  await shot(team.page, 'flow-6-team-claimed');
  await mine.locator('[data-act=start]').click();
  await team.page.locator(`#mine-list li[data-code="${code}"][data-status="in_progress"]`).waitFor({ timeout: 10000 });
  await team.page.locator(`#mine-list li[data-code="${code}"] textarea`).fill('Đã phát 10 kg gạo và mì');
  await team.page.locator(`#mine-list li[data-code="${code}"] [data-act=resolve]`).click();
  await team.page.locator(`#mine-list li[data-code="${code}"]`).waitFor({ state: 'detached', timeout: 10000 });
  await shot(team.page, 'flow-7-team-resolved');

  // The team's position was reported.
  const teams = await apiCall(server, 'GET', '/api/v1/teams', { token: coord.token });
  assert.equal(teams.status, 200);
  const me = teams.data.features.find((f) => String(f.properties?.id) === String(volunteer.id));
  assert.ok(me?.geometry?.coordinates, 'team position reported');

  // The tracking page turned to resolved by itself.
  await track.page.locator('#status[data-status="resolved"]').waitFor({ timeout: 35000 });
  assert.match(await track.page.locator('#status').textContent(), /Đã giải quyết/);
  assert.match(await track.page.locator('#history').textContent(), /Đã phát 10 kg gạo/);
  await shot(track.page, 'flow-8-track-resolved');

  // Reloaded, still resolved; no cancel button on a closed request.
  await track.page.reload();
  await track.page.locator('#status[data-status="resolved"]').waitFor();
  assert.equal(await track.page.locator('#cancel-btn').isVisible(), false);

  await cmd.page.locator('#counters [data-status="resolved"] .n', { hasText: '1' }).waitFor({ timeout: 20000 });
  await shot(cmd.page, 'flow-9-command-after');

  for (const p of pages) p.assertClean(assert);
});
