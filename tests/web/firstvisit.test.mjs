// firstvisit.test.mjs: the resident page's first visit on a slow phone link
// (SPEC "Performance, second round": ≤ 200 KiB gzipped before the map library,
// with the area outline). The network is throttled to 400 kbit/s with 150 ms
// of latency and the cache is empty; bytes are what arrives on the wire
// (tests/web/helpers.mjs byteMeter, headers included). Everything but the map
// library itself (maplibre-gl.mjs, its worker and its CSS) counts: the page,
// its modules and styles, the map style, the place names and the outline of
// the communes, whenever they arrive. The map library starts only once the
// form is usable. The time until the form is usable is reported (no timing
// assert: the machine is shared).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, newPage, mapReady, byteMeter, sleep, shot } from './helpers.mjs';

let server, browser;
before(async () => {
  server = await startServer();
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await server?.stop();
});

const MAP_LIBRARY = /^\/vendor\/maplibre-gl(-worker)?\.(mjs|css)$/;
const OUTLINE = /^\/api\/v1\/areas|^\/tiles\/(wards|former_wards|hamlets)\//;

test('first visit at 400 kbit/s: ≤ 200 KiB gzipped before the map library, outline included', async (t) => {
  const p = await newPage(browser, server, { cache: true });
  const { page } = p;
  const meter = await byteMeter(page);
  await meter.throttle(400, 150);
  const mark = meter.mark();
  await page.goto(server.base + '/');
  await page.waitForFunction(() => performance.getEntriesByName('helpmap:form-ready').length > 0, null, { timeout: 60000 });
  const atForm = meter.since(mark);
  // The form is usable: a category can be chosen and a phone typed.
  await page.locator('label.cat-food').click();
  await page.fill('#phone', '0912 345 678');

  assert.equal(await mapReady(page, 120000), 'ready');
  const timing = await page.evaluate(() => ({
    form: performance.getEntriesByName('helpmap:form-ready')[0]?.startTime,
    lib: performance.getEntriesByType('resource').find((e) => e.name.includes('/vendor/maplibre-gl.mjs'))?.startTime,
  }));
  await page.locator('.area-label--ward').first().waitFor({ timeout: 60000 });
  await sleep(3000); // outline tiles still on their way
  const used = meter.since(mark);
  const counted = used.byPath.filter(([k]) => !MAP_LIBRARY.test(k));
  const bytes = counted.reduce((a, x) => a + x[1], 0);
  const outline = counted.filter(([k]) => OUTLINE.test(k)).reduce((a, x) => a + x[1], 0);
  const library = used.byPath.filter(([k]) => MAP_LIBRARY.test(k)).reduce((a, x) => a + x[1], 0);
  t.diagnostic(`form usable at ${Math.round(timing.form)} ms (${atForm.bytes} bytes in by then); ` +
    `map library requested at ${Math.round(timing.lib)} ms`);
  t.diagnostic(`first visit without the map library: ${bytes} bytes (outline ${outline}); ` +
    `the map library: ${library} bytes`);
  t.diagnostic(JSON.stringify(counted));
  assert.ok(timing.form != null && timing.lib != null && timing.lib >= timing.form,
    `map library after the form: ${JSON.stringify(timing)}`);
  assert.ok(outline > 0, 'the outline of the communes arrived');
  assert.ok(bytes <= 200 * 1024, `${bytes} bytes before the map library: ${JSON.stringify(counted)}`);
  await shot(page, 'firstvisit-400kbit');
  p.assertClean(assert);
});
