// basemap.test.mjs: the street map and the place search in the browser (SPEC
// "Places and a street map, offline"). The synthetic extract of
// tests/data/basemap (invented streets inside Củ Chi, names marked "giả lập")
// is built with `helpmap basemap build` and served with --basemap: `/` draws
// its streets with their names (queried from the rendered road-name layer),
// the place search on `/` moves the pin to an invented street and the request
// stands there (location_precision "place"), the operator desk finds the same
// street. Without a basemap, `/` shows the outlines and the shipped place
// names. No request may leave 127.0.0.1 (helpers.mjs fails the page on any).
// Skipped without Debian's osmium-tool and tilemaker (scripts/deps.sh).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { ROOT, BIN, startServer, launchBrowser, newPage, shot, mapReady, apiCall } from './helpers.mjs';

const run = promisify(execFile);
const STREET_1 = 'Đường Thử Nghiệm Một (đường giả lập)';
const STREET_2 = 'Đường Thử Nghiệm Hai (đường giả lập)';
const ON_STREET_1 = { lon: 106.5100, lat: 10.9855 };

function onPath(prog) {
  try { execFileSync('sh', ['-c', `command -v ${prog}`], { stdio: 'ignore' }); return true; } catch { return false; }
}
const tools = onPath('osmium') && onPath('tilemaker') && !BIN.endsWith('.mjs');
const skip = tools ? false : 'needs Debian\'s osmium-tool and tilemaker (scripts/deps.sh) and the helpmap binary';

let server, plain, browser, dir, mbtiles, op;
before(async () => {
  browser = await launchBrowser();
  plain = await startServer();
  if (!tools) return;
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hm-basemap-'));
  const pbf = path.join(dir, 'cuchi.osm.pbf');
  mbtiles = path.join(dir, 'cuchi.mbtiles');
  await run('osmium', ['cat', '--no-progress', '--overwrite', '-o', pbf, path.join(ROOT, 'tests/data/basemap/cuchi_synthetic.osm')]);
  await run(BIN, ['basemap', 'build', '--osm', pbf, '--out', mbtiles]);
  server = await startServer({ args: ['--basemap', mbtiles] });
  op = await server.teamAdd('Tổng đài viên', 'operator');
});
after(async () => {
  await browser?.close();
  await server?.stop();
  await plain?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

// Names drawn by the rendered layer `layer` of the page's map (after the map
// settled at `view`).
async function renderedNames(page, layer, view) {
  await page.evaluate(async (v) => {
    const map = document.getElementById('map').maplibreMap;
    map.jumpTo(v);
    await new Promise((r) => map.once('idle', r));
  }, view);
  const handle = await page.waitForFunction((l) => {
    const map = document.getElementById('map').maplibreMap;
    if (!map.getLayer(l)) return null;
    const names = map.queryRenderedFeatures({ layers: [l] }).map((f) => f.properties.name);
    return names.length ? names : null;
  }, layer, { timeout: 15000 });
  return handle.jsonValue();
}

test('/ draws the street map with its street names, from this server only', { skip }, async () => {
  const p = await newPage(browser, server, { geolocation: ON_STREET_1 });
  const { page } = p;
  const urls = [];
  page.on('request', (r) => urls.push(new URL(r.url()).pathname));
  await page.goto(server.base + '/');
  assert.equal(await mapReady(page), 'ready');
  const names = await renderedNames(page, 'basemap-road-name', { center: [ON_STREET_1.lon, ON_STREET_1.lat], zoom: 16 });
  assert.ok(names.includes(STREET_1), `street 1 labelled: ${names.join(', ')}`);
  // The street map's tiles, glyphs and icons came from helpmap itself.
  assert.ok(urls.some((u) => /^\/tiles\/basemap\/1[0-9]\/\d+\/\d+\.mvt$/.test(u)), 'basemap tiles fetched');
  assert.ok(urls.some((u) => u.startsWith('/fonts/Noto')), 'glyphs fetched');
  assert.ok(urls.some((u) => u.startsWith('/sprite')), 'sprite fetched');
  // The helpmap layers sit between the street map's fills and its labels.
  const order = await page.evaluate(() => document.getElementById('map').maplibreMap.getStyle().layers.map((l) => l.id));
  assert.ok(order.indexOf('basemap-road') < order.indexOf('areas-ward-fill'), order.join(' '));
  assert.ok(order.indexOf('areas-ward-fill') < order.indexOf('basemap-road-name'), order.join(' '));
  assert.match(await page.locator('.maplibregl-ctrl-attrib').textContent(), /OpenStreetMap/);
  assert.match(await page.locator('.maplibregl-ctrl-attrib').textContent(), /GeoNames/);
  assert.equal(await page.locator('#osm-attr').isVisible(), true);
  await shot(page, 'basemap-resident-street');
  p.assertClean(assert);
});

test('the place search on / moves the pin to an invented street', { skip }, async () => {
  const p = await newPage(browser, server, { geolocation: null });
  const { page } = p;
  await page.goto(server.base + '/');
  assert.equal(await mapReady(page), 'ready');
  // Typed without diacritics.
  await page.locator('#place-search').fill('duong thu nghiem hai');
  const item = page.locator('#place-results li', { hasText: STREET_2 });
  await item.waitFor();
  const hit = (await apiCall(server, 'GET', `/api/v1/places?q=${encodeURIComponent('duong thu nghiem hai')}`)).data.places[0];
  assert.equal(hit.name, STREET_2);
  await item.click();
  await page.locator('#pin-place', { hasText: STREET_2 }).waitFor();
  assert.match(await page.locator('#pin-coords').textContent(), new RegExp(`${hit.lat.toFixed(5)}.*${hit.lon.toFixed(5)}`));
  const pin = await page.evaluate(() => {
    const map = document.getElementById('map').maplibreMap;
    const el = document.querySelector('.pin');
    const r = el.getBoundingClientRect(), m = map.getContainer().getBoundingClientRect();
    const at = map.unproject([r.left + r.width / 2 - m.left, r.bottom - m.top]);
    return { lon: at.lng, lat: at.lat, zoom: map.getZoom() };
  });
  assert.ok(Math.abs(pin.lon - hit.lon) < 0.0005 && Math.abs(pin.lat - hit.lat) < 0.0005, JSON.stringify({ pin, hit }));
  await shot(page, 'basemap-resident-search');

  await page.locator('label.cat-food').click();
  await page.fill('#phone', '0911 222 333');
  const [resp] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith('/api/v1/requests') && r.request().method() === 'POST'),
    page.click('#send-btn'),
  ]);
  assert.equal(resp.status(), 201, await resp.text());
  const req = (await resp.json()).request;
  assert.equal(req.location_precision, 'place');
  const got = await apiCall(server, 'GET', `/api/v1/requests/${req.code}`, { token: op.token });
  assert.equal(got.data.request.lon, hit.lon);
  assert.equal(got.data.request.lat, hit.lat);
  p.assertClean(assert);
});

test('the operator desk finds the invented street and saves the request there', { skip }, async () => {
  const p = await newPage(browser, server, { viewport: { width: 1280, height: 800 }, storage: { 'helpmap.token.operator': op.token } });
  const { page } = p;
  await page.goto(server.base + '/operator');
  assert.equal(await mapReady(page), 'ready');
  await page.fill('#phone', '0933 444 555');
  await page.locator('#place').click();
  await page.keyboard.type('thu nghiem mot');
  await page.locator('#place-list li', { hasText: STREET_1 }).first().waitFor();
  await page.keyboard.press('Enter');
  assert.match(await page.locator('#place-chosen').textContent(), /Thử Nghiệm Một/);
  await page.fill('#address', 'nhà số 5');
  await page.keyboard.press('Alt+1');
  const [resp] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith('/api/v1/requests') && r.request().method() === 'POST'),
    page.keyboard.press('Control+Enter'),
  ]);
  assert.equal(resp.status(), 201, await resp.text());
  const req = (await resp.json()).request;
  assert.equal(req.location_precision, 'place');
  assert.equal(req.ward_code, '27553');
  p.assertClean(assert);
});

test('without a street map / shows the outlines and the shipped place names', async () => {
  const p = await newPage(browser, plain, { geolocation: null });
  const { page } = p;
  const urls = [];
  page.on('request', (r) => urls.push(new URL(r.url()).pathname));
  await page.goto(plain.base + '/');
  assert.equal(await mapReady(page), 'ready');
  // Xóm Đồn (GeoNames) in Xã Thái Mỹ.
  const names = await renderedNames(page, 'places-labels', { center: [106.46667, 11.05], zoom: 13 });
  assert.ok(names.includes('Xóm Đồn'), names.join(', '));
  assert.ok(!urls.some((u) => u.startsWith('/tiles/basemap')), 'no street map asked for');
  assert.match(await page.locator('.maplibregl-ctrl-attrib').textContent(), /GeoNames/);
  assert.equal(await page.locator('#osm-attr').isVisible(), false);
  // The search works on the outline map too: the former commune Phước Hiệp.
  await page.locator('#place-search').fill('PHUOC HIEP');
  await page.locator('#place-results li', { hasText: 'Phước Hiệp' }).first().click();
  await page.locator('#pin-place', { hasText: 'Phước Hiệp' }).waitFor();
  await shot(page, 'basemap-none-labels');
  p.assertClean(assert);
});
