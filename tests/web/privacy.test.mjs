// privacy.test.mjs: issue 11 (privacy and abuse, second round) in the browser. The tracking
// page of a public repeat of a phone's request says that it is handled together with an
// earlier one, in Vietnamese first, without naming that request; /command lists a volunteer
// team held for claiming and releasing too many requests.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, newPage, shot, apiCall, INSIDE } from './helpers.mjs';

let server, browser;
before(async () => {
  server = await startServer();
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await server?.stop();
});

test('the tracking page of an automatic duplicate names no earlier request', async () => {
  const body = { lat: INSIDE.lat, lon: INSIDE.lon, category: 'water', people: 2, phone: '0911 000 222' };
  const first = await apiCall(server, 'POST', '/api/v1/requests', { body: { ...body, note: 'lần đầu' } });
  assert.equal(first.status, 201);
  const again = await apiCall(server, 'POST', '/api/v1/requests', { body: { ...body, note: 'lần hai' } });
  assert.equal(again.status, 201, JSON.stringify(again.data));
  const { request, token } = again.data;
  assert.notEqual(request.code, first.data.request.code);

  const p = await newPage(browser, server);
  await p.page.goto(`${server.base}/track/${request.code}?token=${token}`);
  await p.page.locator('#status[data-status="duplicate"]').waitFor();
  assert.match(await p.page.locator('#status-hint').textContent(), /xử lý cùng với một yêu cầu gửi trước đó/);
  const text = await p.page.locator('main').textContent();
  assert.ok(!text.includes(first.data.request.code), 'the page names the earlier request');
  await shot(p.page, 'privacy-track-duplicate');
  p.assertClean(assert);
  await p.context.close();

  // The earlier request's own page shows no stranger's words.
  const q = await newPage(browser, server);
  await q.page.goto(`${server.base}/track/${first.data.request.code}?token=${first.data.token}`);
  await q.page.locator('#status[data-status="new"]').waitFor();
  await q.page.locator('#history li').first().waitFor();
  assert.ok(!(await q.page.locator('#history').textContent()).includes('lần hai'));
  q.assertClean(assert);
  await q.context.close();
});

test('/command lists a team held for claiming and releasing too many requests', async () => {
  const coord = await server.teamAdd('Ban chỉ huy', 'coordinator');
  const vol = await server.teamAdd('Tổ Thu Hoạch', 'volunteer');
  for (let i = 0; i < 11; i++) {
    const r = await apiCall(server, 'POST', '/api/v1/requests', {
      body: { lat: INSIDE.lat + 0.003 * i, lon: INSIDE.lon, category: 'food', phone: `0912 000 ${100 + i}` },
    });
    assert.equal(r.status, 201);
    const code = r.data.request.code;
    assert.equal((await apiCall(server, 'POST', `/api/v1/requests/${code}/claim`, { token: vol.token })).status, 200);
    assert.equal((await apiCall(server, 'POST', `/api/v1/requests/${code}/status`,
      { token: vol.token, body: { status: 'new' } })).status, 200);
  }
  const cmd = await newPage(browser, server, { viewport: { width: 1920, height: 1080 },
    storage: { 'helpmap.token.command': coord.token } });
  await cmd.page.goto(`${server.base}/command`);
  await cmd.page.locator('#held-panel:not([hidden])').waitFor({ timeout: 15000 });
  assert.match(await cmd.page.locator('#held').textContent(), /Tổ Thu Hoạch/);
  await shot(cmd.page, 'privacy-command-held');
  cmd.assertClean(assert);
  await cmd.context.close();
});
