// command.js: /command, the command center's wall display and desk.
// Communes shaded by open requests (switch ward ↔ former_ward), request
// pins/clusters coloured by category (vector tiles, GeoJSON fallback), live
// arrivals, counters, the most urgent and the oldest unassigned requests,
// team positions; desk mode: pick a request, see the nearest available
// teams, assign, mark a duplicate, cancel/reopen, export CSV, draw or upload
// hamlets.
//
// Wall mode (the default) is read from 5 m: list rows, headings, commune
// labels and the legend at 2rem (≥ 36 px at 1080p); the most urgent and the
// oldest unassigned lists have their own fixed share of the side, so "just
// arrived" can never push them off screen. Desk mode is dense.
//
// At 30,000 open requests and one arrival a second, the wall asks the server
// only for the rows it shows, sorted and limited there (GET /requests?
// status=new&limit=12 is "oldest unassigned": lists are in id order), then
// keeps them current from the event stream, refetching a list only when one
// of its rows leaves it. New pins show at once from the events (an overlay)
// and the request tiles are reloaded at most every 20 s (a conditional
// request each: unchanged tiles cost a 304).
//
// Features of the planned server are used when present and replaced when
// the server answers 400 or ignores them (see web/README.md, "Server
// features the pages use before the server has them"): priority=urgent (most
// urgent list), order=desc (the newest requests, to fill "just arrived"
// after a reload).
//
// Runs for days: every list is capped, timers are fixed, the event stream
// reconnects with a fresh ticket after a server restart.
import { initI18n, t, onLangChange, fmtAge, fmtAgeShort, fmtClock, fmtPeople, fmtDistance, fmtTime } from './i18n.js';
import { api, ApiError, errorText, normCode } from './api.js';
import { $, $$, h, icon, CATEGORIES, CAT_COLOR, OPEN, reqOf, throttle, debounce, bboxOf, isApprox, RELIEF_KINDS, RELIEF_COLOR } from './util.js';
import { pointIcon } from './flood.js';
import { createMap, addAreaLayer, areasGeoJSON, tileJSON, reloadTiles, labelsByZoom, CHORO_STEPS, choroplethColor, CONFIG } from './mapkit.js';
import { areaName, learnNames, ensureNames } from './names.js';
import { signIn } from './signin.js';
import { live } from './live.js';
import { flagsPanel } from './flags.js';
import { mountTeams } from './teamadmin.js';

const STR = {
  en: {
    title: 'Command center · Help map', level_group: 'Boundary layer', desk: 'Desk mode', signout: 'Sign out',
    signin_title: 'Coordinator sign-in', token: 'Sign-in token', signin: 'Sign in', map_label: 'District map',
    export: 'Export CSV', draw: 'Draw hamlet', upload: 'Upload hamlet boundaries (GeoJSON)', new_hamlet: 'New hamlet',
    h_code: 'Hamlet code', h_name: 'Hamlet name', h_parent: 'In commune', save: 'Save', cancel: 'Cancel', close: 'Close',
    arrivals: 'Just arrived', oldest: 'Waiting longest, no team', urgent: 'Most urgent', teams: 'Teams',
    'c.new': 'Waiting', 'c.assigned': 'Team assigned', 'c.in_progress': 'In progress', 'c.resolved': 'Resolved',
    'c.median': 'Median time to resolve', 'c.day': 'Last 24 h', 'c.min': '{n} min', 'c.closed': 'Cancelled / duplicate',
    'lg.open': 'Open requests', 'lg.teams': 'Team', 'lg.cluster': 'Group of requests', 'lg.per_ward': 'per commune',
    'p.responders': 'Nearest available teams',
    'p.dup': 'Duplicate of (code)', 'p.mark_dup': 'Mark duplicate', 'p.history': 'History', 'p.team': 'Team',
    'p.where': 'Where', 'p.contact': 'Contact', 'p.need': 'Need', 'p.source': 'Source', 'p.verified': 'Verified',
    'p.yes': 'yes', 'p.no': 'no', 'p.created': 'Created', 'p.former': 'former', 'p.hamlet': 'hamlet',
    'none_waiting': 'No request is waiting.', 'none_yet': 'Nothing yet.', 'k.note': 'Note', 'k.dup': 'Same as', 'k.vulnerable': 'Household',
    has_team: 'team on it',
    add_point: 'Add relief point', new_point: 'New relief point', p_kind: 'Kind', p_name: 'Name', p_address: 'Address',
    p_hours: 'Opening hours', p_capacity: 'Capacity (people)', points: 'Relief points', 'c.safe': 'Marked safe',
    'pt.click_map': 'Click the map where the relief point is.', 'pt.saved': 'Relief point saved.', 'pt.deleted': 'Relief point deleted.',
    'pt.delete': 'Delete', 'pt.confirm_delete': 'Again to delete', 'pt.none_yet': 'No relief point yet: add one on the map.',
    held: 'Teams paused from claiming', 'held.until': 'until {t}', 'held.why': 'claimed and released more than 10 requests within an hour',
  },
  vi: {
    'c.new': 'Chờ tiếp nhận', 'c.assigned': 'Đã có tổ nhận', 'c.in_progress': 'Đang hỗ trợ', 'c.resolved': 'Đã giải quyết',
    'c.median': 'Thời gian giải quyết (trung vị)', 'c.day': '24 giờ qua', 'c.min': '{n} phút', 'c.closed': 'Hủy / trùng',
    'lg.open': 'Yêu cầu đang mở', 'lg.teams': 'Tổ hỗ trợ', 'lg.cluster': 'Nhóm nhiều yêu cầu', 'lg.per_ward': 'theo xã',
    'p.responders': 'Tổ rảnh gần nhất',
    'p.dup': 'Trùng với (mã)', 'p.mark_dup': 'Đánh dấu trùng', 'p.history': 'Diễn biến', 'p.team': 'Tổ',
    'p.where': 'Nơi', 'p.contact': 'Liên hệ', 'p.need': 'Cần', 'p.source': 'Nguồn', 'p.verified': 'Đã xác minh',
    'p.yes': 'có', 'p.no': 'chưa', 'p.created': 'Gửi lúc', 'p.former': 'xã cũ', 'p.hamlet': 'ấp',
    'none_waiting': 'Không có yêu cầu nào đang chờ.', 'none_yet': 'Chưa có.', 'k.note': 'Ghi chú', 'k.dup': 'Trùng với', 'k.vulnerable': 'Trong nhà có',
    has_team: 'đã có tổ',
    'c.safe': 'Đã báo an toàn', 'pt.click_map': 'Bấm vào bản đồ tại vị trí điểm hỗ trợ.', 'pt.saved': 'Đã lưu điểm hỗ trợ.',
    'pt.deleted': 'Đã xóa điểm hỗ trợ.', 'pt.delete': 'Xóa', 'pt.confirm_delete': 'Bấm lần nữa để xóa',
    'pt.none_yet': 'Chưa có điểm hỗ trợ: thêm trên bản đồ.',
    held: 'Tổ tạm dừng nhận việc', 'held.until': 'đến {t}', 'held.why': 'đã nhận rồi trả lại hơn 10 yêu cầu trong một giờ',
  },
};
initI18n(STR);

const K = Math.max(1, Math.min(2.5, innerWidth / 1920)); // symbol scale: 4K walls get 2×
const LIST_N = 12, MAX_ARRIVALS = 8, MAX_PULSES = 30, PULSE_MS = 90000, MAX_CLUSTER_LABELS = 300, OLD_MS = 2 * 3600e3;
const TILE_RELOAD_MS = 20000, AREA_RELOAD_MS = 60000;
const S = {
  token: '', level: localStorage.getItem('helpmap.cmd.level') === 'former_ward' ? 'former_ward' : 'ward',
  map: null, lib: null, areas: {}, reqSourceLayer: null, reqGeoJSON: false,
  stats: null, oldest: [], urgent: [], arrivals: [], pulses: new Map(), teams: new Map(),
  live: new Map(), // code -> request: arrivals drawn over the tiles until the next tile reload
  dirty: false, areasDirty: false, tilesAt: 0,
  priority: null, order: null, // planned server features: true, false, or not yet known
  selected: null, clusterMarkers: [], session: null, desk: localStorage.getItem('helpmap.cmd.desk') === '1',
  points: [], addingPoint: false, newPoint: null,
};

async function call(path, opts = {}) {
  try { return await api(path, { ...opts, token: S.token }); } catch (e) {
    if (e instanceof ApiError && e.status === 401) S.session?.expired();
    throw e;
  }
}

// ---------- header ----------
function tickClock() {
  $('#clock').textContent = new Date().toLocaleTimeString('vi-VN', { hour: '2-digit', minute: '2-digit', second: '2-digit' });
}
for (const b of $$('.seg-btn')) b.addEventListener('click', () => setLevel(b.dataset.level));
$('#desk-toggle').addEventListener('click', () => setDesk(!S.desk));

function setDesk(on) {
  S.desk = on;
  localStorage.setItem('helpmap.cmd.desk', on ? '1' : '0');
  $('#desk-toggle').setAttribute('aria-pressed', String(on));
  $('#desk-tools').hidden = !on;
  document.body.classList.toggle('mode-desk', on);
  document.body.classList.toggle('mode-wall', !on);
  renderLists();
  $('#points-panel').hidden = !on;
  requestAnimationFrame(() => { S.map?.resize(); fitDistrict(); if (S.map) updateClusterLabels(); });
}

function setLevel(level) {
  S.level = level;
  localStorage.setItem('helpmap.cmd.level', level);
  for (const b of $$('.seg-btn')) b.setAttribute('aria-pressed', String(b.dataset.level === level));
  for (const [lv, hd] of Object.entries(S.areas)) if (lv !== 'hamlet') hd.setVisible(lv === level);
  refreshChoropleth();
  declutterSoon();
}

// ---------- map ----------
async function setupMap() {
  const { map, lib } = await createMap($('#map'), { dark: true, padding: 30 });
  S.map = map; S.lib = lib;
  for (const lv of ['ward', 'former_ward']) {
    S.areas[lv] = await addAreaLayer(map, lv, { dark: true, lib, counts: true, simplify: 50, onLabels: () => declutterSoon() });
  }
  S.areas.hamlet = await addAreaLayer(map, 'hamlet', { dark: true, lib, simplify: 20 });
  labelsByZoom(map, $('#map'), 'hamlet', 13);
  setLevel(S.level);
  refreshChoropleth();

  const empty = { type: 'FeatureCollection', features: [] };
  map.addSource('area-ok', { type: 'geojson', data: empty });
  map.addSource('area-bad', { type: 'geojson', data: empty });
  map.addLayer({ id: 'area-bad-fill', type: 'fill', source: 'area-bad', paint: { 'fill-color': '#ef4444', 'fill-opacity': 0.35 } });
  map.addLayer({ id: 'area-bad-line', type: 'line', source: 'area-bad', paint: { 'line-color': '#f87171', 'line-width': 3 * K } });
  map.addLayer({ id: 'area-ok-line', type: 'line', source: 'area-ok', paint: { 'line-color': '#4ade80', 'line-width': 3 * K } });

  map.addSource('teams', { type: 'geojson', data: empty });
  map.addLayer({
    id: 'teams', type: 'circle', source: 'teams',
    paint: {
      'circle-radius': 5 * K, 'circle-color': '#ffffff',
      'circle-stroke-width': 3 * K,
      'circle-stroke-color': ['match', ['get', 'status'], 'available', '#22c55e', 'busy', '#f59e0b', '#64748b'],
      'circle-opacity': ['case', ['get', 'stale'], 0.35, 1], 'circle-stroke-opacity': ['case', ['get', 'stale'], 0.35, 1],
    },
  });

  // Relief points: coloured by kind, faded when closed, ringed when full.
  map.addSource('points', { type: 'geojson', data: empty });
  map.addLayer({
    id: 'points', type: 'circle', source: 'points',
    paint: {
      'circle-radius': 7 * K,
      'circle-color': ['match', ['get', 'kind'], ...RELIEF_KINDS.flatMap((k) => [k, RELIEF_COLOR[k]]), RELIEF_COLOR.other],
      'circle-opacity': ['match', ['get', 'status'], 'closed', 0.35, 1],
      'circle-stroke-width': 3 * K,
      'circle-stroke-color': ['match', ['get', 'status'], 'open', '#ffffff', 'full', '#f59e0b', '#475569'],
    },
  });
  map.on('click', (e) => {
    if (!S.addingPoint) return;
    S.addingPoint = false;
    $('#point-btn').setAttribute('aria-pressed', 'false');
    openPointForm(e.lngLat.lat, e.lngLat.lng);
  });

  await addRequestLayers();
  map.addSource('selected', { type: 'geojson', data: empty });
  map.addLayer({ id: 'selected', type: 'circle', source: 'selected', paint: { 'circle-radius': 14 * K, 'circle-color': 'rgba(0,0,0,0)', 'circle-stroke-color': '#fde047', 'circle-stroke-width': 4 * K } });

  for (const id of ['req-points', 'req-live']) {
    map.on('click', id, (e) => {
      if (S.addingPoint || !$('#point-form').hidden) return;
      const f = e.features?.[0];
      if (f?.properties?.code) select(f.properties.code); else zoomCluster(f);
    });
  }
  map.on('click', 'req-clusters', (e) => zoomCluster(e.features?.[0]));
  for (const id of ['req-points', 'req-clusters', 'req-live']) {
    map.on('mouseenter', id, () => { map.getCanvas().style.cursor = 'pointer'; });
    map.on('mouseleave', id, () => { map.getCanvas().style.cursor = ''; });
  }
  map.on('idle', updateClusterLabels);
  map.on('idle', declutterSoon);
  // A wall display changes size only when it is set up: fit the district again.
  addEventListener('resize', debounce(() => { fitRowsAll(); if ($('#req-panel').hidden) fitDistrict(); }, 400));
  fitDistrict();
  document.documentElement.dataset.map = 'ready';
}

// The district fits the part of the map the legend leaves free.
function fitDistrict() {
  if (!S.map) return;
  const b = S.areas.ward?.bounds || CONFIG.bounds;
  const lg = $('#legend');
  const bottom = lg && !lg.hidden ? lg.getBoundingClientRect().height + 24 : 30;
  const box = $('#map').getBoundingClientRect();
  if (box.height - bottom < 100) return;
  S.map.fitBounds([[b[0], b[1]], [b[2], b[3]]], { padding: { top: 24, bottom, right: 24, left: 24 }, duration: 0 });
}

const CAT_MATCH = ['match', ['get', 'category'], ...CATEGORIES.flatMap((c) => [c, CAT_COLOR[c]]), '#94a3b8'];
const POINT_PAINT = {
  'circle-color': ['case', ['has', 'category'], CAT_MATCH,
    ...CATEGORIES.flatMap((c) => [['>', ['coalesce', ['get', c], 0], 0], CAT_COLOR[c]]), '#94a3b8'],
  'circle-radius': ['interpolate', ['linear'], ['zoom'], 10, 6.5 * K, 15, 10 * K],
  'circle-stroke-color': ['case', ['==', ['get', 'priority'], 'urgent'], '#ffffff', '#0b1220'],
  'circle-stroke-width': ['case', ['==', ['get', 'priority'], 'urgent'], 2.5 * K, 1.5 * K],
};

async function addRequestLayers() {
  const map = S.map;
  const tj = await tileJSON('requests');
  let src = {};
  if (tj) {
    S.reqSourceLayer = tj.vector_layers?.[0]?.id || 'requests';
    map.addSource('requests', { type: 'vector', tiles: tj.tiles, minzoom: tj.minzoom ?? 0, maxzoom: tj.maxzoom ?? 16, ...(tj.bounds ? { bounds: tj.bounds } : {}) });
    src = { 'source-layer': S.reqSourceLayer };
  } else {
    S.reqGeoJSON = true;
    map.addSource('requests', { type: 'geojson', data: { type: 'FeatureCollection', features: [] }, cluster: true, clusterMaxZoom: 12, clusterRadius: 40 });
    loadRequestsGeoJSON();
  }
  // Clusters are dark discs ringed in white with their count: nothing like
  // a request's pin (a disc of its category's colour) or a team (white).
  map.addLayer({
    id: 'req-clusters', type: 'circle', source: 'requests', ...src, filter: ['>', ['coalesce', ['get', 'point_count'], 0], 1],
    paint: {
      'circle-color': '#1e293b', 'circle-opacity': 0.8, 'circle-stroke-color': '#e2e8f0', 'circle-stroke-width': 2 * K,
      'circle-stroke-opacity': 0.8,
      'circle-radius': ['*', K, ['step', ['get', 'point_count'], 9, 10, 12, 50, 15, 200, 19, 1000, 24]],
    },
  });
  // A "cluster" of one is drawn as the request it holds (coloured by the
  // category it counts when the feature has no category of its own).
  map.addLayer({
    id: 'req-points', type: 'circle', source: 'requests', ...src, filter: ['<=', ['coalesce', ['get', 'point_count'], 1], 1],
    paint: POINT_PAINT,
  });
  // Arrivals since the last tile reload, from the events.
  map.addSource('live', { type: 'geojson', data: { type: 'FeatureCollection', features: [] } });
  map.addLayer({ id: 'req-live', type: 'circle', source: 'live', paint: POINT_PAINT });
}

async function loadRequestsGeoJSON() {
  try {
    const fc = await call('/requests', { query: { status: 'open', limit: 10000 } });
    S.map.getSource('requests')?.setData(fc);
  } catch { /* retried on the next tick */ }
}

function drawLive() {
  const src = S.map?.getSource('live');
  if (!src) return;
  const features = [];
  for (const r of S.live.values()) {
    if (!Number.isFinite(r.lon) || !Number.isFinite(r.lat) || !OPEN.has(r.status)) continue;
    features.push({ type: 'Feature', geometry: { type: 'Point', coordinates: [r.lon, r.lat] }, properties: { code: r.code, category: r.category, priority: r.priority } });
  }
  src.setData({ type: 'FeatureCollection', features });
}

// Every TILE_RELOAD_MS at most, and only after a change: reload the request
// tiles (a conditional request each) and drop the overlay they now hold.
function reloadRequestTiles() {
  if (!S.map || !S.dirty) return;
  S.dirty = false;
  const at = Date.now();
  if (S.reqGeoJSON) loadRequestsGeoJSON();
  else reloadTiles(S.map, 'requests');
  S.map.once('idle', () => {
    for (const [code, r] of S.live) if (r._at < at) S.live.delete(code);
    drawLive();
  });
}

function zoomCluster(f) {
  if (!f) return;
  const c = f.geometry.coordinates;
  const src = S.map.getSource('requests');
  if (S.reqGeoJSON && src.getClusterExpansionZoom) {
    src.getClusterExpansionZoom(f.properties.cluster_id).then((z) => S.map.easeTo({ center: c, zoom: z + 0.5 })).catch(() => {});
  } else S.map.easeTo({ center: c, zoom: Math.min(S.map.getZoom() + 2, 16) });
}

// Cluster counts as HTML labels (no glyph server): a fixed pool of markers.
// Desk mode only: on the wall they would be too small to read from 5 m, and
// the commune counts say the same.
function updateClusterLabels() {
  if (!S.desk) { for (const m of S.clusterMarkers) m.remove(); return; }
  if (!S.map.getLayer('req-clusters')) return;
  const feats = S.map.queryRenderedFeatures({ layers: ['req-clusters'] });
  const seen = new Set(), list = [];
  for (const f of feats) {
    const c = f.geometry.coordinates;
    const key = `${c[0].toFixed(5)},${c[1].toFixed(5)}`;
    if (seen.has(key)) continue;
    seen.add(key);
    list.push({ c, n: f.properties.point_count_abbreviated ?? f.properties.point_count });
    if (list.length >= MAX_CLUSTER_LABELS) break;
  }
  const pool = S.clusterMarkers;
  while (pool.length < list.length) pool.push(new S.lib.Marker({ element: h('div', { class: 'cluster-label' }) }));
  list.forEach((x, i) => {
    const m = pool[i];
    m.getElement().textContent = String(x.n);
    m.setLngLat(x.c);
    if (!m._map) m.addTo(S.map);
  });
  for (let i = list.length; i < pool.length; i++) pool[i].remove();
}

// Commune names at 36 px do not all fit at district zoom: the areas with
// the most open requests keep their label, one that would overlap an
// earlier one (or the legend) is hidden until there is room.
function declutter() {
  const hd = S.areas[S.level];
  if (!hd || !S.map) return;
  const legend = $('#legend')?.getBoundingClientRect();
  const placed = legend && legend.width ? [legend] : [];
  const labels = hd.labels.filter((m) => !m.getElement().classList.contains('is-hidden'));
  for (const m of labels) m.getElement().classList.remove('is-crowded');
  labels.sort((a, b) => Number(b.getElement().dataset.open || 0) - Number(a.getElement().dataset.open || 0));
  const view = $('#map').getBoundingClientRect();
  const hits = (r) => placed.some((p) => r.left < p.right && r.right > p.left && r.top < p.bottom && r.bottom > p.top);
  const inset = (b) => ({ left: b.left + 4, right: b.right - 4, top: b.top + 4, bottom: b.bottom - 4 });
  for (const m of labels) {
    const el = m.getElement();
    const b = el.getBoundingClientRect();
    const r = inset(b);
    const out = r.right < view.left || r.left > view.right || r.bottom < view.top || r.top > view.bottom;
    if (out || !hits(r)) { placed.push(r); continue; }
    // Another place inside the area where it fits, else hidden for now.
    let moved = false;
    for (const [lon, lat] of hd.candidates(el.dataset.code)) {
      const p = S.map.project([lon, lat]);
      const c = inset({ left: view.left + p.x - b.width / 2, right: view.left + p.x + b.width / 2, top: view.top + p.y - b.height / 2, bottom: view.top + p.y + b.height / 2 });
      if (hits(c) || c.left < view.left || c.right > view.right || c.top < view.top || c.bottom > view.bottom) continue;
      m.setLngLat([lon, lat]);
      placed.push(c);
      moved = true;
      break;
    }
    if (!moved) el.classList.add('is-crowded');
  }
}
const declutterSoon = debounce(declutter, 120);

// ---------- choropleth, counters ----------
// Communes in force: the counts of /stats. Former communes: the counts their
// own tiles carry (reloaded with the tiles).
function refreshChoropleth() {
  const hd = S.areas.ward;
  if (!hd || !Array.isArray(S.stats?.wards)) return;
  const counts = new Map();
  for (const w of S.stats.wards) counts.set(String(w.code), Number(w.open) || 0);
  hd.setCounts(counts);
  declutterSoon();
}

async function refreshStats() {
  try {
    S.stats = await call('/stats');
    if (Array.isArray(S.stats?.wards)) learnNames('ward', S.stats.wards);
    renderLists(); // names and ages move on
    renderCounters();
    renderLegendCounts();
    refreshChoropleth();
    renderOldestCount();
  } catch { /* keep the last numbers */ }
}

function num(x) { const n = Number(x); return Number.isFinite(n) ? n : 0; }

function renderCounters() {
  const st = S.stats || {};
  const bs = st.totals?.by_status || st.by_status || {};
  const box = $('#counters');
  const items = ['new', 'assigned', 'in_progress', 'resolved'].map((s) => h('div', { class: `counter cnt-${s}`, dataset: { status: s } },
    h('span', { class: 'n' }, String(num(bs[s]))), h('span', { class: 'l' }, t(`c.${s}`))));
  const med = st.median_minutes_to_resolve;
  const hourly = Array.isArray(st.hourly) ? st.hourly : [];
  const day = hourly.reduce((a, x) => a + (typeof x === 'number' ? x : num(x?.count ?? x?.created ?? x?.n)), 0);
  items.push(h('div', { class: 'counter extra' },
    h('span', { class: 'n' }, med == null ? '–' : t('c.min', { n: Math.round(num(med)) })), h('span', { class: 'l' }, t('c.median'))));
  items.push(h('div', { class: 'counter extra' },
    h('span', { class: 'n' }, `${hourly.length ? day : '–'} · ${num(bs.cancelled) + num(bs.duplicate)}`),
    h('span', { class: 'l' }, `${t('c.day')} · ${t('c.closed')}`)));
  // "I am safe now", per commune.
  const safeWards = (Array.isArray(st.wards) ? st.wards : []).filter((w) => num(w.safe) > 0)
    .sort((a, b) => num(b.safe) - num(a.safe))
    .map((w) => `${areaName('ward', w.code) || w.name || w.code} ${num(w.safe)}`);
  items.push(h('div', { class: 'counter extra cnt-safe', dataset: { status: 'safe' } },
    h('span', { class: 'n' }, String(num(st.safe))),
    h('span', { class: 'l' }, t('c.safe'), h('span', { class: 'safe-wards', id: 'safe-wards' }, safeWards.join(' · ')))));
  box.replaceChildren(...items);
}

// ---------- lists: rows asked of the server, kept current from events ----------
const rowsOf = (fc) => (fc?.features || []).map(reqOf).filter((r) => r?.code);
const byId = (a, b) => num(a.id) - num(b.id);

// Oldest unassigned: lists come in id order, so the first rows of
// status=new are the ones waiting longest.
async function refreshOldest() {
  try {
    S.oldest = rowsOf(await call('/requests', { query: { status: 'new', limit: LIST_N } })).filter((r) => r.status === 'new');
    renderOldest();
  } catch { /* keep */ }
}

// Most urgent: requests no team has yet, urgent first, then the oldest (the
// urgent ones a team already holds are being handled; a wall list of them
// would hide the ones that are not).
async function refreshUrgent() {
  try {
    let urgent = null;
    if (S.priority !== false) {
      try {
        const rows = rowsOf(await call('/requests', { query: { status: 'new', priority: 'urgent', limit: LIST_N } }));
        // A server that does not know the filter answers with every priority.
        S.priority = rows.every((r) => r.priority === 'urgent');
        if (S.priority) urgent = rows;
      } catch (e) {
        if (!(e instanceof ApiError && e.status === 400)) throw e;
        S.priority = false;
      }
    }
    if (!urgent) {
      // Without the filter: rescue and medical are urgent by themselves.
      const lists = await Promise.all(['rescue', 'medical'].map((c) => call('/requests', { query: { status: 'new', category: c, limit: LIST_N } })));
      urgent = lists.flatMap(rowsOf).filter((r) => r.priority === 'urgent').sort(byId).slice(0, LIST_N);
    }
    let rows = urgent;
    if (rows.length < LIST_N) {
      const have = new Set(rows.map((r) => r.code));
      const fill = rowsOf(await call('/requests', { query: { status: 'new', limit: LIST_N * 2 } }))
        .filter((r) => !have.has(r.code)).sort((a, b) => (a.priority === 'urgent' ? 0 : 1) - (b.priority === 'urgent' ? 0 : 1) || byId(a, b));
      rows = [...rows, ...fill].slice(0, LIST_N);
    }
    S.urgent = rows;
    renderUrgent();
  } catch { /* keep */ }
}

// The newest requests, after a reload: order=desc where the server has it.
// Else the tail of the id order: ids follow creation and /stats counts the
// requests, so the rows after id (total - n) are the newest (a page or two).
async function refreshArrivals() {
  let rows = null;
  try {
    if (S.order !== false) {
      try {
        const got = rowsOf(await call('/requests', { query: { status: 'all', order: 'desc', limit: MAX_ARRIVALS } }));
        S.order = got.length < 2 || num(got[0].id) > num(got[1].id);
        if (S.order) rows = got;
      } catch (e) {
        if (!(e instanceof ApiError && e.status === 400)) throw e;
        S.order = false;
      }
    }
    if (!rows) {
      if (!S.stats) await refreshStats();
      const total = num(S.stats?.total);
      rows = [];
      let cursor = Math.max(0, total - MAX_ARRIVALS * 2);
      for (let page = 0; page < 5; page++) {
        const fc = await call('/requests', { query: { status: 'all', limit: 100, cursor } });
        rows.push(...rowsOf(fc));
        if (!fc?.next) break;
        cursor = fc.next;
      }
    }
  } catch { return; }
  const seen = new Map(S.arrivals.map((a) => [a.r.code, a]));
  for (const r of rows) if (!seen.has(r.code)) seen.set(r.code, { r, at: Date.parse(r.created_at) || 0 });
  S.arrivals = [...seen.values()].sort((a, b) => num(b.r.id) - num(a.r.id) || b.at - a.at).slice(0, MAX_ARRIVALS);
  renderArrivals();
}

const refillOldest = throttle(refreshOldest, 5000);
const refillUrgent = throttle(refreshUrgent, 5000);

// One request changed (or arrived): update the lists without asking the
// server, unless a row left a full list (then fetch its replacement).
function listsOnEvent(r, created) {
  // Oldest unassigned.
  const i = S.oldest.findIndex((x) => x.code === r.code);
  if (i >= 0 && r.status !== 'new') {
    S.oldest.splice(i, 1);
    refillOldest();
  } else if (i >= 0) S.oldest[i] = { ...S.oldest[i], ...r };
  else if (r.status === 'new' && (S.oldest.length < LIST_N || num(r.id) < num(S.oldest[S.oldest.length - 1].id))) {
    S.oldest = [...S.oldest, r].sort(byId).slice(0, LIST_N);
  }
  // Most urgent (no team yet).
  const j = S.urgent.findIndex((x) => x.code === r.code);
  if (j >= 0 && r.status !== 'new') {
    S.urgent.splice(j, 1);
    refillUrgent();
  } else if (j >= 0) S.urgent[j] = { ...S.urgent[j], ...r };
  else if (r.status === 'new') {
    const urgentRows = S.urgent.filter((x) => x.priority === 'urgent');
    const last = urgentRows[urgentRows.length - 1];
    if (r.priority === 'urgent' && (urgentRows.length < LIST_N || num(r.id) < num(last.id))) {
      S.urgent = [...urgentRows, r].sort(byId).concat(S.urgent.filter((x) => x.priority !== 'urgent')).slice(0, LIST_N);
    } else if (r.priority !== 'urgent' && S.urgent.length < LIST_N) {
      if (created) S.urgent = [...S.urgent, r];
      else refillUrgent(); // back to new: its place in the order is the server's to say
    }
  }
  // Just arrived: the row follows its request.
  for (const a of S.arrivals) if (a.r.code === r.code) Object.assign(a.r, r);
  renderLists();
}

function wardShort(r) {
  return areaName('ward', r.ward_code) || r.ward_code || '';
}

// A list row. kind: 'oldest' | 'urgent' | 'arrival'.
function reqItem(r, kind, fresh) {
  const age = Date.now() - Date.parse(r.created_at || new Date().toISOString());
  const held = r.status === 'assigned' || r.status === 'in_progress';
  const right = kind === 'arrival'
    ? h('span', { class: 'age time' }, fmtClock(r.created_at))
    : h('span', { class: `age${age > OLD_MS && !held ? ' old' : ''}`, title: age > OLD_MS ? t('cmd.flag_old') : '' }, held ? t('has_team') : fmtAgeShort(age));
  const li = h('li', {
    class: `li-${r.category}${r.priority === 'urgent' ? ' urgent' : ''}${fresh ? ' fresh' : ''}${held ? ' held' : ''}`,
    tabindex: '0', dataset: { code: r.code },
  },
  h('span', { class: `cat-ic ${r.category}` }, icon(r.category)),
  h('span', { class: 'code' }, r.code),
  h('span', { class: 'where' }, wardShort(r), h('span', { class: 'desk-only' }, ` · ${fmtPeople(r.people || 1)}`)),
  right);
  li.addEventListener('click', () => select(r.code));
  li.addEventListener('keydown', (e) => { if (e.key === 'Enter') select(r.code); });
  return li;
}

// Rows that do not fit whole in their list are hidden (never half a row).
function fitRows(ol) {
  const box = ol.getBoundingClientRect();
  let first = true;
  for (const li of ol.children) {
    li.hidden = false;
    if (!first && li.getBoundingClientRect().bottom > box.bottom + 0.5) li.hidden = true;
    first = false;
  }
}
function fitRowsAll() { for (const id of ['#urgent', '#oldest', '#arrivals']) fitRows($(id)); }

function renderOldestCount() {
  const n = num((S.stats?.totals?.by_status || S.stats?.by_status || {}).new);
  $('#new-count').textContent = n ? `(${n})` : '';
}

function renderOldest() {
  renderOldestCount();
  $('#oldest').replaceChildren(...(S.oldest.length ? S.oldest.map((r) => reqItem(r, 'oldest')) : [h('li', { class: 'empty' }, t('none_waiting'))]));
  fitRows($('#oldest'));
}

function renderUrgent() {
  $('#urgent').replaceChildren(...(S.urgent.length ? S.urgent.map((r) => reqItem(r, 'urgent')) : [h('li', { class: 'empty' }, t('none_waiting'))]));
  fitRows($('#urgent'));
}

function renderArrivals() {
  const now = Date.now();
  $('#arrivals').replaceChildren(...(S.arrivals.length
    ? S.arrivals.map((a) => reqItem(a.r, 'arrival', now - a.at < 5000))
    : [h('li', { class: 'empty' }, t('none_yet'))]));
  fitRows($('#arrivals'));
}

function renderLists() { renderUrgent(); renderOldest(); renderArrivals(); }

function arrival(r) {
  if (!r?.code) return;
  S.arrivals = [{ r, at: Date.now() }, ...S.arrivals.filter((a) => a.r.code !== r.code)].slice(0, MAX_ARRIVALS);
  if (S.map && Number.isFinite(r.lon) && Number.isFinite(r.lat)) {
    S.live.set(r.code, { ...r, _at: Date.now() });
    drawLive();
    if (S.pulses.size >= MAX_PULSES) {
      const [oldest] = S.pulses.keys();
      S.pulses.get(oldest).m.remove();
      S.pulses.delete(oldest);
    }
    S.pulses.get(r.code)?.m.remove();
    const m = new S.lib.Marker({ element: h('div', { class: 'arrival-wrap' }, h('div', { class: 'arrival' })) }).setLngLat([r.lon, r.lat]).addTo(S.map);
    S.pulses.set(r.code, { m, at: Date.now() });
  }
}

function expirePulses() {
  const now = Date.now();
  for (const [code, p] of S.pulses) if (now - p.at > PULSE_MS) { p.m.remove(); S.pulses.delete(code); }
}

// ---------- teams ----------
async function refreshTeams() {
  try {
    const fc = await call('/teams');
    const next = new Map();
    for (const f of fc?.features || []) {
      const p = f.properties || {};
      const c = f.geometry?.coordinates;
      next.set(String(p.id), { id: p.id, name: p.name, status: p.status, lon: c?.[0], lat: c?.[1], at: p.location_at || p.position_at || p.updated_at || p.last_seen || null, heldUntil: p.held_until || null });
    }
    S.teams = next;
    drawTeams();
    flags?.render(); // the teams' names on the residents' reports
    renderHeld();
  } catch { /* keep */ }
}

function teamMoved(d) {
  const p = d?.properties || d?.team || d || {};
  const c = d?.geometry?.coordinates;
  const id = p.id ?? p.team_id;
  if (id == null) return;
  const old = S.teams.get(String(id)) || {};
  S.teams.set(String(id), {
    ...old, id, name: p.name ?? old.name, status: p.status ?? old.status,
    lon: c?.[0] ?? p.lon ?? old.lon, lat: c?.[1] ?? p.lat ?? old.lat, at: p.at || p.location_at || new Date().toISOString(),
  });
  drawTeams();
}

// Teams the server holds from claiming (claim, read, release, over and over: a harvest of
// phone numbers). A small list; empty most of the time, and then hidden.
function renderHeld() {
  const now = Date.now();
  const held = [...S.teams.values()].filter((tm) => tm.heldUntil && Date.parse(tm.heldUntil) > now);
  $('#held-panel').hidden = !held.length;
  $('#held').replaceChildren(...held.map((tm) => h('li', { class: 'held-team', title: t('held.why') },
    h('span', { class: 'code' }, tm.name || `#${tm.id}`), h('span', { class: 'where' }, t('held.why')),
    h('span', { class: 'age' }, t('held.until', { t: fmtTime(tm.heldUntil) })))));
}

const drawTeams = throttle(() => {
  const src = S.map?.getSource('teams');
  if (!src) return;
  const now = Date.now();
  const features = [];
  for (const tm of S.teams.values()) {
    if (!Number.isFinite(tm.lon) || !Number.isFinite(tm.lat)) continue;
    const stale = tm.at ? now - Date.parse(tm.at) > 30 * 60e3 : false;
    features.push({ type: 'Feature', geometry: { type: 'Point', coordinates: [tm.lon, tm.lat] }, properties: { id: tm.id, name: tm.name || '', status: tm.status || 'available', stale } });
  }
  src.setData({ type: 'FeatureCollection', features });
}, 1000);
// ---------- desk: one request ----------
let selectSeq = 0;
async function select(code) {
  const seq = ++selectSeq;
  S.selected = code;
  const panel = $('#req-panel');
  panel.hidden = false;
  try {
    const res = await call(`/requests/${encodeURIComponent(code)}`);
    if (seq !== selectSeq) return;
    const r = reqOf(res);
    const missing = [['former_ward', r.former_ward_code], ['hamlet', r.hamlet_code]].filter(([lv, c]) => c && !areaName(lv, c));
    renderPanel(r);
    if (missing.length) {
      Promise.all(missing.map(([lv]) => ensureNames(lv))).then(() => {
        if (seq !== selectSeq) return;
        renderPanel(r);
        if (OPEN.has(r.status)) loadResponders(r, seq);
      });
    }
    if (Number.isFinite(r.lon)) {
      S.map?.getSource('selected')?.setData({ type: 'Feature', geometry: { type: 'Point', coordinates: [r.lon, r.lat] }, properties: {} });
      const b = S.map?.getBounds();
      if (b && !b.contains([r.lon, r.lat])) S.map.easeTo({ center: [r.lon, r.lat] });
    }
    if (OPEN.has(r.status)) loadResponders(r, seq);
  } catch (e) {
    if (seq !== selectSeq) return;
    $('#req-body').replaceChildren(h('p', { class: 'msg bad' }, errorText(e)));
  }
}

function closePanel() {
  selectSeq++;
  S.selected = null;
  $('#req-panel').hidden = true;
  S.map?.getSource('selected')?.setData({ type: 'FeatureCollection', features: [] });
}
$('#req-close').addEventListener('click', closePanel);
document.addEventListener('keydown', (e) => { if (e.key === 'Escape' && !$('#req-panel').hidden) closePanel(); });

function panelMsg(text, bad) {
  const m = $('#panel-msg');
  if (!m) return;
  m.textContent = text;
  m.className = `msg${bad ? ' bad' : ''}`;
  m.hidden = !text;
}

async function doAction(btn, path, body, okText) {
  btn.disabled = true;
  try {
    await call(path, { method: 'POST', body });
    await select(S.selected);
    panelMsg(okText);
    S.dirty = true; refreshStatsSoon(); refillOldest(); refillUrgent();
  } catch (e) {
    panelMsg(errorText(e), true);
  } finally { btn.disabled = false; }
}

function renderPanel(r) {
  const facts = [];
  const add = (k, v) => { if (v !== undefined && v !== null && v !== '') facts.push(h('dt', null, t(k)), h('dd', null, v)); };
  add('p.need', h('span', { class: `cat-ic ${r.category}` }, icon(r.category), `${t(`cat.${r.category}`)} · ${fmtPeople(r.people || 1)}`));
  if (r.vulnerable?.length) add('k.vulnerable', r.vulnerable.map((v) => t(`vul.${v}`)).join(', '));
  const where = [areaName('ward', r.ward_code) || r.ward_code,
    r.former_ward_code ? `${t('p.former')} ${areaName('former_ward', r.former_ward_code) || r.former_ward_code}` : '',
    r.hamlet_code ? `${t('p.hamlet')} ${areaName('hamlet', r.hamlet_code) || r.hamlet_code}` : ''].filter(Boolean).join(' · ');
  add('p.where', where);
  if (isApprox(r)) add('p.where', h('span', { class: 'badge approx' }, t('approx')));
  add('p.where', r.address);
  if (typeof r.place === 'string') add('p.where', r.place);
  add('k.location_text', r.location_text);
  add('p.contact', [r.name, r.phone].filter(Boolean).join(' · '));
  if (r.reporter) add('k.reporter', [r.reporter.name, r.reporter.phone].filter(Boolean).join(' · '));
  add('k.note', r.note);
  add('p.source', `${t(`src.${r.source}`)} · ${t(`prec.${r.location_precision}`)} · ${t('p.verified')}: ${t(r.verified ? 'p.yes' : 'p.no')}`);
  const tm = r.team_id != null ? S.teams.get(String(r.team_id)) : null;
  add('p.team', tm ? tm.name : r.team_id);
  add('k.dup', r.duplicate_of);
  add('p.created', r.created_at ? `${fmtTime(r.created_at)} · ${fmtAge(Date.now() - Date.parse(r.created_at))}` : '');

  const body = [
    h('p', { class: 'req-code' }, r.code),
    h('p', null, h('span', { class: `badge st-${r.status}`, dataset: { status: r.status } }, t(`st.${r.status}`)), ' ',
      r.priority === 'urgent' ? h('span', { class: 'badge urgent-b' }, t('prio.urgent')) : '', ' ',
      isApprox(r) ? h('span', { class: 'badge approx' }, t('approx')) : ''),
    h('dl', { class: 'facts' }, facts),
    h('p', { id: 'panel-msg', class: 'msg', hidden: true }),
  ];
  if (OPEN.has(r.status)) {
    body.push(h('h3', null, t('p.responders')), h('ul', { class: 'responders', id: 'responders' }, h('li', null, t('loading'))));
  }
  const acts = h('div', { class: 'row' });
  if (r.status === 'new') {
    const inp = h('input', { id: 'dup-of', placeholder: 'CC-…', 'aria-label': t('p.dup') });
    const b = h('button', { type: 'button', class: 'btn', id: 'dup-btn' }, t('p.mark_dup'));
    b.addEventListener('click', () => {
      const other = inp.value.trim();
      if (!other) { inp.focus(); return; }
      doAction(b, `/requests/${encodeURIComponent(r.code)}/status`, { status: 'duplicate', duplicate_of: other }, t('cmd.dup_ok', { code: other }));
    });
    body.push(h('h3', null, t('p.dup')), h('div', { class: 'row' }, inp, b));
  }
  if (OPEN.has(r.status)) {
    const b = h('button', { type: 'button', class: 'btn btn-danger', id: 'cancel-req' }, t('cmd.cancel'));
    b.addEventListener('click', () => {
      if (!b.classList.contains('armed')) { b.classList.add('armed'); b.textContent = t('confirm.cancel'); return; }
      doAction(b, `/requests/${encodeURIComponent(r.code)}/cancel`, undefined, t('st.cancelled'));
    });
    acts.append(b);
  } else {
    const b = h('button', { type: 'button', class: 'btn', id: 'reopen-req' }, t('cmd.reopen'));
    b.addEventListener('click', () => doAction(b, `/requests/${encodeURIComponent(r.code)}/status`, { status: 'new' }, t('st.new')));
    acts.append(b);
  }
  body.push(acts);
  const hist = Array.isArray(r.history) ? r.history.slice(-30).reverse() : [];
  body.push(h('h3', null, t('p.history')), h('ol', { class: 'hist' }, hist.map((e) => h('li', null,
    h('time', { datetime: e.at }, fmtTime(e.at)),
    e.kind === 'safe' ? `${t('h.safe')} · ` : '',
    e.to && e.from !== e.to ? `${e.from ? `${t(`st.${e.from}`)} → ` : ''}${t(`st.${e.to}`)}` : '',
    ` · ${e.actor === 'resident' || e.actor === 'system' ? t(`actor.${e.actor}`) : e.actor || ''}`,
    e.note ? ` — ${e.note}` : ''))));
  $('#req-body').replaceChildren(...body);
}

async function loadResponders(r, seq) {
  let list = [];
  try {
    const res = await call(`/requests/${encodeURIComponent(r.code)}/responders`, { query: { k: 5 } });
    list = (Array.isArray(res) ? res : res?.features || res?.teams || res?.responders || []).map((x) => x.properties ? { ...x.properties } : x);
  } catch (e) {
    if (seq === selectSeq && $('#responders')) $('#responders').replaceChildren(h('li', null, errorText(e)));
    return;
  }
  if (seq !== selectSeq || !$('#responders')) return;
  if (!list.length) { $('#responders').replaceChildren(h('li', null, t('cmd.no_responders'))); return; }
  $('#responders').replaceChildren(...list.map((tm) => {
    const b = h('button', { type: 'button', class: 'btn', dataset: { team: String(tm.id ?? tm.team_id) } }, t('cmd.assign'));
    b.addEventListener('click', () => doAction(b, `/requests/${encodeURIComponent(r.code)}/assign`, { team_id: tm.id ?? tm.team_id }, t('cmd.assigned', { team: tm.name })));
    return h('li', null, h('span', { class: 'nm' }, tm.name || `#${tm.id}`), h('span', null, fmtDistance(tm.distance_m)),
      tm.capabilities?.length ? h('span', { class: 'muted' }, tm.capabilities.join(', ')) : '', b);
  }));
}
// ---------- desk tools ----------
function toolMsg(text, bad) {
  const m = $('#tool-msg');
  m.textContent = text || '';
  m.classList.toggle('bad', !!bad);
}

$('#export-btn').addEventListener('click', async () => {
  const b = $('#export-btn');
  b.disabled = true;
  try {
    const res = await api('/export', { token: S.token, query: { format: 'csv' }, raw: true });
    const blob = await res.blob();
    const url = URL.createObjectURL(blob);
    const stamp = new Date().toISOString().slice(0, 16).replace(/[-:T]/g, '');
    const a = h('a', { href: url, download: `helpmap-${stamp}.csv` });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
    toolMsg(t('done'));
  } catch (e) {
    toolMsg(`${t('cmd.export_fail')} ${errorText(e)}`, true);
  } finally { b.disabled = false; }
});

let drawMod = null;
async function drawTools() {
  if (!drawMod) {
    const m = await import('./draw.js');
    drawMod = m.setupDraw({
      map: S.map, call, toolMsg,
      wards: () => areasGeoJSON('ward'),
      hamlets: () => areasGeoJSON('hamlet', { fresh: true }),
      onSaved: () => {
        S.areas.hamlet?.refreshGeoJSON();
        areasGeoJSON('hamlet', { fresh: true }); // names of the new hamlets
      },
    });
  }
  return drawMod;
}
// Team accounts (teamadmin.js): add with a one-time token shown as a QR code, rotate, disable.
let teamsPanel = null;
$('#teams-btn').addEventListener('click', () => {
  teamsPanel ||= mountTeams($('#teams-panel'), { call });
  teamsPanel.open();
});
$('#draw-btn').addEventListener('click', async () => {
  try { (await drawTools()).start(); } catch (e) { toolMsg(String(e?.message || e), true); }
});
$('#upload').addEventListener('change', async (ev) => {
  const file = ev.target.files?.[0];
  ev.target.value = '';
  if (!file) return;
  try { await (await drawTools()).upload(file); } catch (e) { toolMsg(String(e?.message || e), true); }
});

// ---------- relief points ----------
async function refreshPoints() {
  try {
    const fc = await call('/points');
    S.points = (fc?.features || []).map((f) => ({ ...(f.properties || {}), id: f.id ?? f.properties?.id }));
    S.map?.getSource('points')?.setData(fc);
    renderPointsAdmin();
  } catch { /* keep */ }
}
const refreshPointsSoon = throttle(refreshPoints, 1000);

function renderPointsAdmin() {
  const ul = $('#points-admin');
  if (!S.points.length) { ul.replaceChildren(h('li', { class: 'empty' }, t('pt.none_yet'))); return; }
  ul.replaceChildren(...S.points.map((p) => {
    const acts = h('span', { class: 'acts' }, ['open', 'full', 'closed'].map((st) => {
      const b = h('button', { type: 'button', class: `tool s-${st}`, 'aria-pressed': String(p.status === st), dataset: { status: st } }, t(`rs.${st}`));
      b.addEventListener('click', () => pointWrite(b, 'PUT', `/points/${p.id}`, { status: st }));
      return b;
    }));
    const del = h('button', { type: 'button', class: 'tool', dataset: { del: String(p.id) } }, t('pt.delete'));
    del.addEventListener('click', () => {
      if (!del.classList.contains('armed')) { del.classList.add('armed'); del.textContent = t('pt.confirm_delete'); return; }
      pointWrite(del, 'DELETE', `/points/${p.id}`, undefined, t('pt.deleted'));
    });
    acts.append(del);
    return h('li', { dataset: { id: String(p.id), status: p.status } },
      h('span', { class: 'nm' }, pointIcon(p.kind), p.name),
      h('span', { class: 'sub' }, [t(`rk.${p.kind}`), p.hours, p.capacity != null ? t('pt.capacity', { n: p.capacity }) : ''].filter(Boolean).join(' · ')),
      acts);
  }));
}

async function pointWrite(btn, method, path, body, okText) {
  btn.disabled = true;
  try {
    await call(path, { method, body });
    if (okText) toolMsg(okText);
    refreshPoints();
  } catch (e) {
    toolMsg(errorText(e), true);
  } finally { btn.disabled = false; }
}

for (const k of RELIEF_KINDS) $('#point-kind').append(h('option', { value: k }, t(`rk.${k}`)));
$('#point-btn').addEventListener('click', () => {
  S.addingPoint = !S.addingPoint;
  $('#point-btn').setAttribute('aria-pressed', String(S.addingPoint));
  toolMsg(S.addingPoint ? t('pt.click_map') : '');
});
function openPointForm(lat, lon) {
  S.newPoint = { lat: +lat.toFixed(6), lon: +lon.toFixed(6) };
  $('#point-where').textContent = `${S.newPoint.lat}, ${S.newPoint.lon}`;
  $('#point-error').hidden = true;
  $('#point-form').hidden = false;
  toolMsg('');
  $('#point-name').focus();
}
$('#point-cancel').addEventListener('click', () => { $('#point-form').hidden = true; $('#point-form').reset(); });
$('#point-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const body = { kind: $('#point-kind').value, name: $('#point-name').value.trim(), ...S.newPoint };
  for (const k of ['address', 'hours']) { const v = $(`#point-${k}`).value.trim(); if (v) body[k] = v; }
  const cap = $('#point-capacity').value.trim();
  if (cap) body.capacity = Number(cap);
  try {
    await call('/points', { method: 'POST', body });
    $('#point-form').hidden = true;
    $('#point-form').reset();
    toolMsg(t('pt.saved'));
    refreshPoints();
  } catch (e) {
    const el = $('#point-error');
    el.textContent = errorText(e);
    el.hidden = false;
  }
});

// ---------- legend (beside the district, never over it) ----------
function renderLegend() {
  const steps = CHORO_STEPS;
  const ramp = h('div', { class: 'ramp' },
    h('span', { class: 'ramp-bar' }, steps.map((s, i) => h('span', { class: `sw sw${i}`, title: String(s) }))),
    h('span', { class: 'ramp-lab' }, h('span', null, '0'), h('span', null, `${steps[steps.length - 1]}+`)));
  $('#legend').replaceChildren(
    h('h3', null, `${t('lg.open')}:`),
    h('ul', { id: 'by-cat' }, CATEGORIES.map((c) => h('li', { dataset: { category: c } },
      h('span', { class: `dot ${c}` }), h('span', { class: 'nm' }, t(`cat.${c}`)), h('span', { class: 'num' }, '')))),
    h('ul', { class: 'lg-extra' },
      h('li', null, h('span', { class: 'dot cluster' }), h('span', { class: 'nm' }, t('lg.cluster'))),
      h('li', null, h('span', { class: 'dot team' }), h('span', { class: 'nm' }, t('lg.teams')))),
    h('div', { class: 'lg-ramp' }, h('span', { class: 'nm' }, t('lg.per_ward')), ramp));
  renderLegendCounts();
}

function renderLegendCounts() {
  const st = S.stats || {};
  const bc = st.totals?.open_by_category || st.open_by_category || {};
  for (const li of $$('#by-cat li')) $('.num', li).textContent = String(num(bc[li.dataset.category]));
}

// ---------- live ----------
const refreshStatsSoon = throttle(refreshStats, 5000);
const reselect = throttle(() => { if (S.selected) select(S.selected); }, 1500);

let flags = null;
function onEvent(type, data) {
  if (type === 'team.moved') { teamMoved(data); return; }
  if (type === 'request.flagged') { flags?.onEvent(type, data); return; }
  if (type.startsWith('point.')) { refreshPointsSoon(); return; }
  const r = reqOf(data);
  if (!r?.code || !type.startsWith('request.')) return;
  if (type === 'request.created') arrival(r);
  if (S.live.has(r.code)) {
    S.live.set(r.code, { ...S.live.get(r.code), ...r });
    drawLive();
  }
  S.dirty = true;
  S.areasDirty = true;
  refreshStatsSoon();
  listsOnEvent(r, type === 'request.created');
  if (S.selected && normCode(r.code) === normCode(S.selected)) reselect();
}

function refreshAll() {
  refreshPoints();
  flags?.refresh();
  refreshStats();
  refreshOldest();
  refreshUrgent();
  refreshArrivals();
  refreshTeams();
  S.dirty = true;
  reloadRequestTiles();
}

onLangChange(() => {
  renderCounters(); renderLists(); renderLegend(); renderPointsAdmin(); flags?.render();
  for (const o of $$('#point-kind option')) o.textContent = t(`rk.${o.value}`);
  if (S.selected) select(S.selected);
});

S.session = signIn('command', async (tok) => {
  S.token = tok;
  document.body.classList.toggle('mode-desk', S.desk);
  document.body.classList.toggle('mode-wall', !S.desk);
  $('#desk-toggle').setAttribute('aria-pressed', String(S.desk));
  $('#desk-tools').hidden = !S.desk;
  $('#points-panel').hidden = !S.desk;
  tickClock();
  setInterval(tickClock, 1000);
  renderLegend();
  renderCounters();
  renderLists();
  flags = flagsPanel({
    call, teamName: (id) => S.teams.get(String(id))?.name, whereName: wardShort, onSelect: (code) => select(code),
  });
  flags.refresh();
  live({
    token: tok,
    onEvent,
    onState(s) {
      const el = $('#live');
      el.hidden = false;
      el.textContent = t(s === 'live' ? 'live.on' : s === 'down' ? 'live.off' : 'live.connecting');
      el.classList.toggle('off', s !== 'live');
    },
    onResync: refreshAll,
    onAuthError: () => S.session.expired(),
  });
  refreshStats();
  refreshOldest();
  refreshUrgent();
  refreshArrivals();
  try { await setupMap(); } catch (e) {
    document.documentElement.dataset.map = 'failed';
    $('#map').replaceChildren(h('p', { class: 'msg bad' }, t('map.failed')));
  }
  refreshTeams();
  refreshPoints(); // after the map: its source takes them
  setInterval(refreshStats, 15000);
  setInterval(refreshOldest, 60000);
  setInterval(refreshUrgent, 60000);
  setInterval(refreshTeams, 5 * 60000);
  setInterval(reloadRequestTiles, TILE_RELOAD_MS);
  setInterval(() => {
    if (!S.areasDirty) return;
    S.areasDirty = false;
    S.areas[S.level]?.reload();
  }, AREA_RELOAD_MS);
  setInterval(() => { expirePulses(); renderLists(); drawTeams(); }, 30000);
});
