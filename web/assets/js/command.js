// command.js: /command, the command center's wall display and desk.
// Communes shaded by open requests (switch ward ↔ former_ward), request
// pins/clusters coloured by category (vector tiles, GeoJSON fallback), live
// arrivals, counters, the oldest unassigned requests, team positions; desk
// mode: pick a request, see the nearest available teams, assign, mark a
// duplicate, cancel/reopen, export CSV, draw or upload hamlets.
// Runs for days: every list is capped, timers are fixed, the event stream
// reconnects with a fresh ticket after a server restart.
import { initI18n, t, onLangChange, fmtAge, fmtPeople, fmtDistance, fmtTime } from './i18n.js';
import { api, ApiError, errorText, normCode } from './api.js';
import { $, $$, h, icon, CATEGORIES, CAT_COLOR, OPEN, reqOf, throttle, debounce, bboxOf } from './util.js';
import { createMap, addAreaLayer, areasGeoJSON, tileJSON, labelsByZoom, CHORO_STEPS } from './mapkit.js';
import { signIn } from './signin.js';
import { live } from './live.js';

const STR = {
  en: {
    title: 'Command center · Help map', level_group: 'Boundary layer', desk: 'Desk mode', signout: 'Sign out',
    signin_title: 'Coordinator sign-in', token: 'Sign-in token', signin: 'Sign in', map_label: 'District map',
    export: 'Export CSV', draw: 'Draw hamlet', upload: 'Upload hamlet boundaries (GeoJSON)', new_hamlet: 'New hamlet',
    h_code: 'Hamlet code', h_name: 'Hamlet name', h_parent: 'In commune', save: 'Save', cancel: 'Cancel', close: 'Close',
    by_cat: 'By need', arrivals: 'Just arrived', oldest: 'Waiting longest, no team yet',
    'c.new': 'Waiting', 'c.assigned': 'Team assigned', 'c.in_progress': 'In progress', 'c.resolved': 'Resolved',
    'c.median': 'Median time to resolve', 'c.day': 'Last 24 h', 'c.min': '{n} min', 'c.closed': 'Cancelled / duplicate',
    'lg.open': 'Open requests per commune', 'lg.teams': 'Team', 'p.responders': 'Nearest available teams',
    'p.dup': 'Duplicate of (code)', 'p.mark_dup': 'Mark duplicate', 'p.history': 'History', 'p.team': 'Team',
    'p.where': 'Where', 'p.contact': 'Contact', 'p.need': 'Need', 'p.source': 'Source', 'p.verified': 'Verified',
    'p.yes': 'yes', 'p.no': 'no', 'p.created': 'Created', 'p.former': 'former', 'p.hamlet': 'hamlet',
    'none_waiting': 'No request is waiting.', 'none_yet': 'Nothing yet.', 'k.note': 'Note', 'k.dup': 'Same as', 'k.vulnerable': 'Household',
  },
  vi: {
    'c.new': 'Chờ tiếp nhận', 'c.assigned': 'Đã có tổ nhận', 'c.in_progress': 'Đang hỗ trợ', 'c.resolved': 'Đã giải quyết',
    'c.median': 'Thời gian giải quyết (trung vị)', 'c.day': '24 giờ qua', 'c.min': '{n} phút', 'c.closed': 'Hủy / trùng',
    'lg.open': 'Yêu cầu đang mở theo xã', 'lg.teams': 'Tổ hỗ trợ', 'p.responders': 'Tổ rảnh gần nhất',
    'p.dup': 'Trùng với (mã)', 'p.mark_dup': 'Đánh dấu trùng', 'p.history': 'Diễn biến', 'p.team': 'Tổ',
    'p.where': 'Nơi', 'p.contact': 'Liên hệ', 'p.need': 'Cần', 'p.source': 'Nguồn', 'p.verified': 'Đã xác minh',
    'p.yes': 'có', 'p.no': 'chưa', 'p.created': 'Gửi lúc', 'p.former': 'xã cũ', 'p.hamlet': 'ấp',
    'none_waiting': 'Không có yêu cầu nào đang chờ.', 'none_yet': 'Chưa có.', 'k.note': 'Ghi chú', 'k.dup': 'Trùng với', 'k.vulnerable': 'Trong nhà có',
  },
};
initI18n(STR);

const K = Math.max(1, Math.min(2.5, innerWidth / 1920)); // symbol scale: 4K walls get 2×
const MAX_ARRIVALS = 8, MAX_PULSES = 30, PULSE_MS = 90000, MAX_CLUSTER_LABELS = 300, OLD_MS = 2 * 3600e3;
const S = {
  token: '', level: localStorage.getItem('helpmap.cmd.level') === 'former_ward' ? 'former_ward' : 'ward',
  map: null, lib: null, areas: {}, reqSourceLayer: null, reqTiles: null, reqGeoJSON: false, tileV: 0,
  stats: null, oldest: [], newTotal: 0, arrivals: [], pulses: new Map(), teams: new Map(), names: new Map(),
  selected: null, clusterMarkers: [], session: null, desk: localStorage.getItem('helpmap.cmd.desk') === '1',
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
}

function setLevel(level) {
  S.level = level;
  localStorage.setItem('helpmap.cmd.level', level);
  for (const b of $$('.seg-btn')) b.setAttribute('aria-pressed', String(b.dataset.level === level));
  for (const [lv, hd] of Object.entries(S.areas)) if (lv !== 'hamlet') hd.setVisible(lv === level);
  refreshChoropleth();
}

// ---------- map ----------
async function setupMap() {
  const { map, lib } = await createMap($('#map'), { dark: true, padding: 30 });
  S.map = map; S.lib = lib;
  for (const lv of ['ward', 'former_ward']) {
    S.areas[lv] = await addAreaLayer(map, lv, { dark: true, lib, counts: true, onLabels: () => refreshChoropleth() });
  }
  S.areas.hamlet = await addAreaLayer(map, 'hamlet', { dark: true, lib });
  labelsByZoom(map, $('#map'), 'hamlet', 13);
  setLevel(S.level);

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

  await addRequestLayers();
  map.addSource('selected', { type: 'geojson', data: empty });
  map.addLayer({ id: 'selected', type: 'circle', source: 'selected', paint: { 'circle-radius': 14 * K, 'circle-color': 'rgba(0,0,0,0)', 'circle-stroke-color': '#fde047', 'circle-stroke-width': 4 * K } });

  map.on('click', 'req-points', (e) => {
    const f = e.features?.[0];
    if (f?.properties?.code) select(f.properties.code); else zoomCluster(f);
  });
  map.on('click', 'req-clusters', (e) => zoomCluster(e.features?.[0]));
  for (const id of ['req-points', 'req-clusters']) {
    map.on('mouseenter', id, () => { map.getCanvas().style.cursor = 'pointer'; });
    map.on('mouseleave', id, () => { map.getCanvas().style.cursor = ''; });
  }
  map.on('idle', updateClusterLabels);
  // A wall display changes size only when it is set up: fit the district again.
  addEventListener('resize', debounce(() => { if ($('#req-panel').hidden) fitDistrict(); }, 400));
  document.documentElement.dataset.map = 'ready';
}

async function fitDistrict() {
  const b = bboxOf(await areasGeoJSON('ward'));
  if (b && S.map) S.map.fitBounds([[b[0], b[1]], [b[2], b[3]]], { padding: 30, duration: 0 });
}

const CAT_MATCH = ['match', ['get', 'category'], ...CATEGORIES.flatMap((c) => [c, CAT_COLOR[c]]), '#94a3b8'];

async function addRequestLayers() {
  const map = S.map;
  const tj = await tileJSON('requests');
  let src = {};
  if (tj) {
    S.reqTiles = tj.tiles;
    S.reqSourceLayer = tj.vector_layers?.[0]?.id || 'requests';
    map.addSource('requests', { type: 'vector', tiles: tj.tiles, minzoom: tj.minzoom ?? 0, maxzoom: tj.maxzoom ?? 16, ...(tj.bounds ? { bounds: tj.bounds } : {}) });
    src = { 'source-layer': S.reqSourceLayer };
  } else {
    S.reqGeoJSON = true;
    map.addSource('requests', { type: 'geojson', data: { type: 'FeatureCollection', features: [] }, cluster: true, clusterMaxZoom: 12, clusterRadius: 40 });
    loadRequestsGeoJSON();
  }
  // A "cluster" of one is drawn as the request it holds (coloured by the
  // category it counts when the feature has no category of its own).
  map.addLayer({
    id: 'req-clusters', type: 'circle', source: 'requests', ...src, filter: ['>', ['coalesce', ['get', 'point_count'], 0], 1],
    paint: {
      'circle-color': '#fbbf24', 'circle-opacity': 0.9, 'circle-stroke-color': '#0b1220', 'circle-stroke-width': 2 * K,
      'circle-radius': ['*', K, ['step', ['get', 'point_count'], 12, 10, 15, 50, 19, 200, 24, 1000, 30]],
    },
  });
  map.addLayer({
    id: 'req-points', type: 'circle', source: 'requests', ...src, filter: ['<=', ['coalesce', ['get', 'point_count'], 1], 1],
    paint: {
      'circle-color': ['case', ['has', 'category'], CAT_MATCH,
        ...CATEGORIES.flatMap((c) => [['>', ['coalesce', ['get', c], 0], 0], CAT_COLOR[c]]), '#94a3b8'],
      'circle-radius': ['interpolate', ['linear'], ['zoom'], 10, 6.5 * K, 15, 10 * K],
      'circle-stroke-color': ['case', ['==', ['get', 'priority'], 'urgent'], '#ffffff', '#0b1220'],
      'circle-stroke-width': ['case', ['==', ['get', 'priority'], 'urgent'], 2.5 * K, 1.5 * K],
    },
  });
}

async function loadRequestsGeoJSON() {
  try {
    const fc = await call('/requests', { query: { status: 'open', limit: 10000 } });
    S.map.getSource('requests')?.setData(fc);
  } catch { /* retried on the next event or tick */ }
}

// New and changed requests: reload the request tiles (or GeoJSON), at most every 2 s.
const reloadRequests = throttle(() => {
  const s = S.map?.getSource('requests');
  if (!s) return;
  if (S.reqGeoJSON) loadRequestsGeoJSON();
  else s.setTiles(S.reqTiles.map((u) => `${u}${u.includes('?') ? '&' : '?'}v=${++S.tileV}`));
}, 2000);

function zoomCluster(f) {
  if (!f) return;
  const c = f.geometry.coordinates;
  const src = S.map.getSource('requests');
  if (S.reqGeoJSON && src.getClusterExpansionZoom) {
    src.getClusterExpansionZoom(f.properties.cluster_id).then((z) => S.map.easeTo({ center: c, zoom: z + 0.5 })).catch(() => {});
  } else S.map.easeTo({ center: c, zoom: Math.min(S.map.getZoom() + 2, 16) });
}

// Cluster counts as HTML labels (no glyph server): a fixed pool of markers.
function updateClusterLabels() {
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

// ---------- choropleth, counters, lists ----------
const refreshChoropleth = throttle(async () => {
  const hd = S.areas[S.level];
  if (!hd) return;
  let counts = new Map();
  if (S.level === 'ward' && Array.isArray(S.stats?.wards)) {
    for (const w of S.stats.wards) counts.set(String(w.code), Number(w.open) || 0);
  } else {
    const fc = await areasGeoJSON(S.level, { fresh: true });
    for (const f of fc.features) counts.set(String(f.properties?.code), Number(f.properties?.open) || 0);
  }
  hd.setCounts(counts);
}, 1000);

async function refreshStats() {
  try {
    S.stats = await call('/stats');
    renderCounters();
    refreshChoropleth();
  } catch { /* keep the last numbers */ }
}

function num(x) { const n = Number(x); return Number.isFinite(n) ? n : 0; }

function renderCounters() {
  const st = S.stats || {};
  const bs = st.totals?.by_status || st.by_status || {};
  const bc = st.totals?.open_by_category || st.open_by_category || st.totals?.by_category || st.by_category || {};
  const box = $('#counters');
  const items = ['new', 'assigned', 'in_progress', 'resolved'].map((s) => h('div', { class: `counter cnt-${s}`, dataset: { status: s } },
    h('span', { class: 'n' }, String(num(bs[s]))), h('span', { class: 'l' }, t(`c.${s}`))));
  const med = st.median_minutes_to_resolve;
  const hourly = Array.isArray(st.hourly) ? st.hourly : [];
  const day = hourly.reduce((a, x) => a + (typeof x === 'number' ? x : num(x?.count ?? x?.created ?? x?.n)), 0);
  items.push(h('div', { class: 'counter wide' },
    h('span', { class: 'l' }, t('c.median')), h('span', { class: 'n' }, med == null ? '–' : t('c.min', { n: Math.round(num(med)) }))));
  items.push(h('div', { class: 'counter wide' },
    h('span', { class: 'l' }, `${t('c.day')} · ${t('c.closed')}`),
    h('span', { class: 'n' }, `${hourly.length ? day : '–'} · ${num(bs.cancelled) + num(bs.duplicate)}`)));
  box.replaceChildren(...items);
  const max = Math.max(1, ...CATEGORIES.map((c) => num(bc[c])));
  $('#by-cat').replaceChildren(...CATEGORIES.map((c) => h('li', { dataset: { category: c } },
    h('span', { class: `lab cat-ic ${c}` }, icon(c), t(`cat.${c}`)),
    h('span', { class: 'track' }, h('span', { class: `fill ${c} w${Math.round((num(bc[c]) / max) * 20)}` })),
    h('span', { class: 'num' }, String(num(bc[c]))))));
}

async function refreshOldest() {
  try {
    const fc = await call('/requests', { query: { status: 'new', limit: 5000 } });
    const list = (fc?.features || []).map(reqOf).filter((r) => r && r.status === 'new');
    S.newTotal = list.length + (fc?.next ? '+' : '');
    list.sort((a, b) => String(a.created_at).localeCompare(String(b.created_at)));
    S.oldest = list.slice(0, 12);
    renderOldest();
  } catch { /* keep */ }
}

function whereName(r) {
  return S.names.get(`ward:${r.ward_code}`) || r.ward_code || '';
}

function reqItem(r, fresh) {
  const age = Date.now() - Date.parse(r.created_at || new Date().toISOString());
  const li = h('li', {
    class: `li-${r.category}${r.priority === 'urgent' ? ' urgent' : ''}${fresh ? ' fresh' : ''}`,
    tabindex: '0', dataset: { code: r.code },
  },
  h('span', { class: `cat-ic ${r.category}` }, icon(r.category)),
  h('span', null, h('span', { class: 'code' }, r.code), ' ', h('span', { class: 'where' }, `${whereName(r)} · ${fmtPeople(r.people || 1)}`)),
  h('span', { class: `age${age > OLD_MS ? ' old' : ''}`, title: age > OLD_MS ? t('cmd.flag_old') : '' }, fmtAge(age, false)));
  li.addEventListener('click', () => select(r.code));
  li.addEventListener('keydown', (e) => { if (e.key === 'Enter') select(r.code); });
  return li;
}

function renderOldest() {
  $('#new-count').textContent = S.newTotal ? `(${S.newTotal})` : '';
  $('#oldest').replaceChildren(...(S.oldest.length ? S.oldest.map((r) => reqItem(r)) : [h('li', { class: 'empty' }, t('none_waiting'))]));
}

function renderArrivals() {
  const now = Date.now();
  $('#arrivals').replaceChildren(...(S.arrivals.length
    ? S.arrivals.map((a) => reqItem(a.r, now - a.at < 5000))
    : [h('li', { class: 'empty' }, t('none_yet'))]));
}

function arrival(r) {
  if (!r?.code) return;
  S.arrivals = [{ r, at: Date.now() }, ...S.arrivals.filter((a) => a.r.code !== r.code)].slice(0, MAX_ARRIVALS);
  renderArrivals();
  if (S.map && Number.isFinite(r.lon) && Number.isFinite(r.lat)) {
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
      next.set(String(p.id), { id: p.id, name: p.name, status: p.status, lon: c?.[0], lat: c?.[1], at: p.location_at || p.position_at || p.updated_at || p.last_seen || null });
    }
    S.teams = next;
    drawTeams();
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
    renderPanel(r);
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
    reloadRequests(); refreshStatsSoon(); refreshOldestSoon();
  } catch (e) {
    panelMsg(errorText(e), true);
  } finally { btn.disabled = false; }
}

function renderPanel(r) {
  const facts = [];
  const add = (k, v) => { if (v !== undefined && v !== null && v !== '') facts.push(h('dt', null, t(k)), h('dd', null, v)); };
  add('p.need', h('span', { class: `cat-ic ${r.category}` }, icon(r.category), `${t(`cat.${r.category}`)} · ${fmtPeople(r.people || 1)}`));
  if (r.vulnerable?.length) add('k.vulnerable', r.vulnerable.map((v) => t(`vul.${v}`)).join(', '));
  const where = [S.names.get(`ward:${r.ward_code}`) || r.ward_code,
    r.former_ward_code ? `${t('p.former')} ${S.names.get(`former_ward:${r.former_ward_code}`) || r.former_ward_code}` : '',
    r.hamlet_code ? `${t('p.hamlet')} ${S.names.get(`hamlet:${r.hamlet_code}`) || r.hamlet_code}` : ''].filter(Boolean).join(' · ');
  add('p.where', where);
  add('p.where', r.address);
  add('p.contact', [r.name, r.phone].filter(Boolean).join(' · '));
  add('k.note', r.note);
  add('p.source', `${t(`src.${r.source}`)} · ${t(`prec.${r.location_precision}`)} · ${t('p.verified')}: ${t(r.verified ? 'p.yes' : 'p.no')}`);
  const tm = r.team_id != null ? S.teams.get(String(r.team_id)) : null;
  add('p.team', tm ? tm.name : r.team_id);
  add('k.dup', r.duplicate_of);
  add('p.created', r.created_at ? `${fmtTime(r.created_at)} · ${fmtAge(Date.now() - Date.parse(r.created_at))}` : '');

  const body = [
    h('p', { class: 'req-code' }, r.code),
    h('p', null, h('span', { class: `badge st-${r.status}`, dataset: { status: r.status } }, t(`st.${r.status}`)), ' ',
      r.priority === 'urgent' ? h('span', { class: 'badge urgent-b' }, t('prio.urgent')) : ''),
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
      onSaved: async () => {
        S.areas.hamlet?.refreshGeoJSON();
        const fc = await areasGeoJSON('hamlet');
        for (const f of fc.features) S.names.set(`hamlet:${f.properties?.code}`, f.properties?.name);
      },
    });
  }
  return drawMod;
}
$('#draw-btn').addEventListener('click', async () => {
  try { (await drawTools()).start(); } catch (e) { toolMsg(String(e?.message || e), true); }
});
$('#upload').addEventListener('change', async (ev) => {
  const file = ev.target.files?.[0];
  ev.target.value = '';
  if (!file) return;
  try { await (await drawTools()).upload(file); } catch (e) { toolMsg(String(e?.message || e), true); }
});

// ---------- legend ----------
function renderLegend() {
  const ramp = CHORO_STEPS.map((s, i) => h('span', null, h('span', { class: `sw sw${i}` }),
    i + 1 < CHORO_STEPS.length ? (CHORO_STEPS[i + 1] - 1 > s ? `${s}–${CHORO_STEPS[i + 1] - 1}` : `${s}`) : `${s}+`));
  $('#legend').replaceChildren(
    h('div', null, h('strong', null, t('lg.open'))),
    h('div', { class: 'row' }, ramp),
    h('div', { class: 'row' }, CATEGORIES.map((c) => h('span', null, h('span', { class: `dot ${c}` }), t(`cat.${c}`))),
      h('span', null, h('span', { class: 'dot team' }), t('lg.teams'))));
}

// ---------- names ----------
async function loadNames() {
  for (const lv of ['ward', 'former_ward', 'hamlet']) {
    const fc = await areasGeoJSON(lv);
    for (const f of fc.features) S.names.set(`${lv}:${f.properties?.code}`, f.properties?.name);
  }
  renderOldest();
  renderArrivals();
}

// ---------- live ----------
const refreshStatsSoon = throttle(refreshStats, 3000);
const refreshOldestSoon = throttle(refreshOldest, 5000);
const reselect = throttle(() => { if (S.selected) select(S.selected); }, 1500);

function onEvent(type, data) {
  if (type === 'team.moved') { teamMoved(data); return; }
  const r = reqOf(data);
  if (type === 'request.created') arrival(r);
  if (type.startsWith('request.')) {
    reloadRequests();
    refreshStatsSoon();
    refreshOldestSoon();
    if (r?.code && S.selected && normCode(r.code) === normCode(S.selected)) reselect();
    if (r?.code) for (const a of S.arrivals) if (a.r.code === r.code) Object.assign(a.r, r);
  }
}

function refreshAll() {
  refreshStats();
  refreshOldest();
  refreshTeams();
  reloadRequests();
}

onLangChange(() => { renderCounters(); renderOldest(); renderArrivals(); renderLegend(); if (S.selected) select(S.selected); });

S.session = signIn('command', async (tok) => {
  S.token = tok;
  setDesk(S.desk);
  tickClock();
  setInterval(tickClock, 1000);
  renderLegend();
  renderCounters();
  renderArrivals();
  loadNames();
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
  try { await setupMap(); } catch (e) {
    document.documentElement.dataset.map = 'failed';
    $('#map').replaceChildren(h('p', { class: 'msg bad' }, t('map.failed')));
  }
  refreshAll();
  setInterval(refreshStats, 15000);
  setInterval(refreshOldest, 30000);
  setInterval(refreshTeams, 60000);
  setInterval(() => { expirePulses(); renderOldest(); renderArrivals(); drawTeams(); }, 30000);
});
