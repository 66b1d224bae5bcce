// nojs.test.mjs: "/" with JavaScript off is a plain form posting to /report
// that answers with the code; the page and its form weigh under 30 KiB; the
// first view with JavaScript weighs at most 300 KiB gzipped before the map
// library, which loads after the form is usable.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { startServer, launchBrowser, newPage, shot, mapReady, apiCall } from './helpers.mjs';

let server, browser;
before(async () => {
  server = await startServer();
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await server?.stop();
});

// Bytes on the wire for a GET with Accept-Encoding: gzip.
function wireSize(url) {
  return new Promise((resolve, reject) => {
    http.get(url, { headers: { 'Accept-Encoding': 'gzip' } }, (res) => {
      let n = 0;
      res.on('data', (c) => { n += c.length; });
      res.on('end', () => resolve({ status: res.statusCode, bytes: n, gzip: res.headers['content-encoding'] === 'gzip' }));
    }).on('error', reject);
  });
}

test('JavaScript off: the plain form posts to /report and shows the code', async () => {
  const raw = await fetch(server.base + '/');
  const html = await raw.text();
  assert.ok(Buffer.byteLength(html) < 30 * 1024, `index.html is ${Buffer.byteLength(html)} bytes`);
  assert.match(html, /<form[^>]+method="post"[^>]+action="\/report"/);
  for (const name of ['ward_code', 'hamlet_code', 'address', 'category', 'people', 'vulnerable', 'phone', 'name', 'note']) {
    assert.match(html, new RegExp(`name="${name}"`), `field ${name}`);
  }
  for (const code of ['27496', '27508', '27511', '27526', '27541', '27544', '27553']) assert.match(html, new RegExp(`value="${code}"`));

  const p = await newPage(browser, server, { javaScriptEnabled: false });
  const { page } = p;
  await page.goto(server.base + '/');
  assert.equal(await page.locator('#map-block').isVisible(), false);
  await page.selectOption('select[name=ward_code]', '27496');
  await page.fill('input[name=address]', 'Số 5, đường Tỉnh lộ 8, khu phố 2');
  await page.locator('label.cat-food').click();
  await page.fill('input[name=people]', '4');
  await page.locator('input[name=vulnerable][value=child]').check();
  await page.locator('input[name=vulnerable][value=elderly]').check();
  await page.fill('input[name=phone]', '0903 111 222');
  await page.fill('input[name=name]', 'Trần Văn Ba');
  await page.fill('textarea[name=note]', 'Hết gạo, có 2 cháu nhỏ');
  await shot(page, 'nojs-form');
  const [resp] = await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
  assert.ok([200, 201].includes(resp.status()), `POST /report answered ${resp.status()}`);
  const body = await page.textContent('body');
  const m = /[A-Z]{1,4}-[0-9ABCDEGHKMNPQRSTVXY]{6}/.exec(body);
  assert.ok(m, `a request code on the answer page: ${body.slice(0, 300)}`);
  await shot(page, 'nojs-answer');

  // Stored with the commune, the two vulnerable people and the phone.
  const op = await server.teamAdd('Tổng đài viên', 'operator');
  const found = await apiCall(server, 'GET', '/api/v1/requests?status=all&phone=0903111222', { token: op.token });
  assert.equal(found.status, 200);
  const r = found.data.features.map((f) => f.properties).find((x) => x.code === m[0]);
  assert.ok(r, 'the request is stored');
  assert.equal(r.ward_code, '27496');
  assert.deepEqual([...r.vulnerable].sort(), ['child', 'elderly']);
  assert.equal(r.people, 4);
  p.assertClean(assert);
});

test('first view: ≤ 300 KiB gzipped before the map library, which comes after the form', async () => {
  const p = await newPage(browser, server);
  const { page } = p;
  const urls = [];
  page.on('request', (r) => urls.push(r.url()));
  await page.goto(server.base + '/');
  assert.equal(await mapReady(page), 'ready');
  const order = await page.evaluate(() => ({
    form: performance.getEntriesByName('helpmap:form-ready')[0]?.startTime,
    lib: performance.getEntriesByType('resource').find((e) => e.name.includes('/vendor/maplibre-gl.mjs'))?.startTime,
  }));
  assert.ok(order.form != null && order.lib != null && order.lib >= order.form, `map library after the form: ${JSON.stringify(order)}`);
  const firstView = [...new Set(urls)].filter((u) => !u.includes('/vendor/maplibre-gl') && !u.includes('/tiles/') && !u.includes('/api/'));
  let total = 0;
  for (const u of firstView) {
    const s = await wireSize(u);
    assert.equal(s.status, 200, u);
    total += s.bytes;
  }
  assert.ok(total <= 300 * 1024, `first view ${total} bytes gzipped: ${firstView.join(' ')}`);
  const html = await wireSize(server.base + '/');
  assert.ok(html.bytes < 30 * 1024);
  await shot(page, 'nojs-first-view-with-js');
  p.assertClean(assert);
});
