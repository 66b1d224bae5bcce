// operator.js: /operator, the 1022 hotline desk. A keyboard-first intake form
// (phone first: the caller's earlier requests and likely duplicates show
// before saving; the place is found by the server's place search — communes,
// former communes, hamlets, place names, streets — or by a click on the map), and the list of unverified web requests to
// call back and mark verified.
import { initI18n, t, onLangChange, fmtAge, fmtPeople } from './i18n.js';
import { api, ApiError, errorText, phoneLooksValid } from './api.js';
import { $, $$, h, icon, CATEGORIES, VULNERABLE, OPEN, reqOf, featureAt, labelPoint, debounce, throttle, distanceM } from './util.js';
import { createMap, addAreaLayer, areasGeoJSON, labelsByZoom } from './mapkit.js';
import { placeSearch, placeKind } from './places.js';
import { signIn } from './signin.js';
import { live } from './live.js';

const STR = {
  en: {
    title: '1022 hotline · Intake', keys: 'Ctrl+Enter save · Esc clear · Alt+1…7 need', signout: 'Sign out',
    signin_title: 'Operator sign-in', token: 'Sign-in token', signin: 'Sign in', new_call: 'New call',
    phone: "Caller's phone", place: 'Commune, hamlet, place or street (type, ↑↓, Enter)', place_ph: 'E.g. Phuoc Hiep, hamlet 3 Trung An, cho Phuoc Thanh',
    address: 'Address (house number, street, hamlet)', category: 'Need', people: 'People', name: 'Name',
    vulnerable: 'Household has', note: 'Note', save: 'Save request (Ctrl+Enter)', clear: 'Clear (Esc)',
    map_hint: 'Click the map to set the exact position.', unverified: 'Unverified web requests',
    unverified_hint: 'Call the requester back, check the need, then mark verified. Oldest first.',
    'th.code': 'Code', 'th.need': 'Need', 'th.where': 'Where', 'th.phone': 'Phone', 'th.age': 'Waiting',
    former: 'former commune', in: 'in', 'op.reveal': 'Show phone',
  },
  vi: { former: 'xã cũ', in: 'thuộc', 'op.reveal': 'Xem số điện thoại' },
};
initI18n(STR);

const S = {
  token: '', place: null, areas: { ward: null, former_ward: null, hamlet: null }, index: [], names: new Map(),
  map: null, lib: null, pin: null, callerReqs: [], unverified: [], contacts: new Map(), session: null,
};

// ---------- static parts of the form ----------
CATEGORIES.forEach((c, i) => {
  $('#cats').append(h('label', { class: `cat cat-${c}` },
    h('input', { type: 'radio', name: 'category', value: c }), icon(c), h('span', { dataset: { i18n: `cat.${c}` } }, t(`cat.${c}`)),
    h('kbd', null, `Alt+${i + 1}`)));
});
for (const v of VULNERABLE) {
  $('#vuln').append(h('label', null, h('input', { type: 'checkbox', name: 'vulnerable', value: v }), ' ',
    h('span', { dataset: { i18n: `vul.${v}` } }, t(`vul.${v}`))));
}

let toastTimer = 0;
function toast(msg, bad = false) {
  const el = $('#toast');
  el.textContent = msg;
  el.classList.toggle('bad', bad);
  el.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { el.hidden = true; }, 6000);
}

async function call(path, opts = {}) {
  try { return await api(path, { ...opts, token: S.token }); } catch (e) {
    if (e instanceof ApiError && e.status === 401) S.session?.expired();
    throw e;
  }
}

// ---------- areas and the place search ----------
async function loadAreas() {
  const [ward, former, hamlet] = await Promise.all(['ward', 'former_ward', 'hamlet'].map((l) => areasGeoJSON(l)));
  S.areas = { ward, former_ward: former, hamlet };
  S.index = [];
  for (const f of ward.features) {
    const p = f.properties || {};
    S.names.set(`ward:${p.code}`, p.name);
    S.index.push({ level: 'ward', code: String(p.code), name: p.name, sub: t('lvl.ward'), f });
  }
  for (const f of former.features) {
    const p = f.properties || {};
    const pt = labelPoint(f.geometry);
    const w = pt && featureAt(ward, pt[0], pt[1]);
    S.index.push({ level: 'former_ward', code: String(p.code), name: p.name, ward: w?.properties?.code, sub: `${t('former')} → ${w?.properties?.name || ''}`, pt, f });
  }
  for (const f of hamlet.features) {
    const p = f.properties || {};
    S.index.push({ level: 'hamlet', code: String(p.code), name: p.name, ward: String(p.parent_code ?? ''), sub: `${t('lvl.hamlet')} · ${S.names.get(`ward:${p.parent_code}`) || ''}`, f });
  }
}

// The place search of the server (/api/v1/places): communes, former communes,
// hamlets, the shipped place names, a district's own list and the streets of
// the street map, typed with or without diacritics.
placeSearch({
  input: $('#place'),
  list: $('#place-list'),
  limit: 12,
  delay: 120,
  near: () => (S.map ? { lat: S.map.getCenter().lat, lon: S.map.getCenter().lng } : null),
  wardName: (code) => S.names.get(`ward:${code}`) || '',
  onPick: choose,
});

// A commune or a hamlet is sent as such (the request stands at its point, or
// at the place its address names); a former commune at its point (precision
// "address", as the area it is); any other place at its point (precision
// "place").
function choose(p) {
  clearError('where');
  const ward = S.names.get(`ward:${p.ward_code}`) || '';
  if (p.level === 'ward') S.place = { kind: 'area', ward_code: p.code, label: p.name };
  else if (p.level === 'hamlet') S.place = { kind: 'area', ward_code: p.ward_code, hamlet_code: p.code, label: `${p.name} · ${ward}` };
  else if (p.level === 'former_ward') S.place = { kind: 'point', lat: p.lat, lon: p.lon, precision: 'address', label: `${p.name} (${t('former')})` };
  else S.place = { kind: 'point', lat: p.lat, lon: p.lon, precision: 'place', label: `${p.name} (${placeKind(p)})` };
  showPlace();
  if (S.map) {
    if (Array.isArray(p.bbox) && p.level) S.map.fitBounds([[p.bbox[0], p.bbox[1]], [p.bbox[2], p.bbox[3]]], { padding: 30, duration: 300 });
    else S.map.easeTo({ center: [p.lon, p.lat], zoom: Math.max(S.map.getZoom(), 15), duration: 300 });
  }
  $('#address').focus();
}

function showPlace() {
  const p = S.place;
  let txt = '';
  if (p?.kind === 'area') txt = `✓ ${p.label}`;
  else if (p?.kind === 'point') {
    const w = S.areas.ward && featureAt(S.areas.ward, p.lon, p.lat);
    txt = `✓ ${p.precision === 'pin' ? t('op.place_map', { lat: p.lat.toFixed(5), lon: p.lon.toFixed(5) }) : p.label}${w ? ` · ${w.properties.name}` : ` · ${t('err.outside_area_pick')}`}`;
  }
  $('#place-chosen').textContent = txt;
  if (S.pin) {
    if (p?.kind === 'point') S.pin.setLngLat([p.lon, p.lat]).addTo(S.map);
    else S.pin.remove();
  }
  updateDups();
}

// ---------- caller lookup and duplicate suggestions ----------
const lookup = debounce(async () => {
  const phone = $('#phone').value.trim();
  const box = $('#lookup');
  if (!phoneLooksValid(phone)) { box.replaceChildren(); S.callerReqs = []; updateDups(); return; }
  try {
    const fc = await call('/requests', { query: { phone, status: 'all', limit: 50 } });
    if ($('#phone').value.trim() !== phone) return;
    S.callerReqs = (fc?.features || []).map(reqOf).filter(Boolean)
      .sort((a, b) => String(b.created_at).localeCompare(String(a.created_at)));
    box.replaceChildren(S.callerReqs.length
      ? h('div', null, h('strong', null, t('op.lookup_found', { n: S.callerReqs.length })),
        h('ul', null, S.callerReqs.slice(0, 8).map((r) => h('li', null, `${r.code} · ${t(`cat.${r.category}`)} · `,
          h('span', { class: `badge st-${r.status}` }, t(`st.${r.status}`)), ` · ${fmtAge(Date.now() - Date.parse(r.created_at))}`,
          r.address ? ` · ${r.address}` : ''))))
      : h('span', { class: 'hint' }, t('op.lookup_none')));
  } catch (e) {
    box.replaceChildren(h('span', { class: 'field-error' }, errorText(e)));
    S.callerReqs = [];
  }
  updateDups();
}, 350);
$('#phone').addEventListener('input', lookup);

function placePoint() {
  const p = S.place;
  if (p?.kind === 'point') return [p.lon, p.lat];
  if (p?.kind === 'area') {
    const it = S.index.find((x) => x.level === (p.hamlet_code ? 'hamlet' : 'ward') && x.code === (p.hamlet_code || p.ward_code));
    return it ? labelPoint(it.f.geometry) : null;
  }
  return null;
}

function updateDups() {
  const box = $('#dups');
  const open = S.callerReqs.filter((r) => OPEN.has(r.status));
  if (!open.length) { box.hidden = true; return; }
  const cat = $('input[name=category]:checked')?.value;
  const pt = placePoint();
  box.replaceChildren(h('strong', null, t('op.dup_hint')), h('ul', null, open.map((r) => {
    const near = pt && r.lon != null ? distanceM(pt[0], pt[1], r.lon, r.lat) : null;
    const hot = cat === r.category && (near == null || near < 200 || S.place?.kind === 'area');
    return h('li', { class: hot ? 'hot' : '' }, `${r.code} · ${t(`cat.${r.category}`)} · ${fmtPeople(r.people)} · ${t(`st.${r.status}`)}`,
      near != null ? ` · ${Math.round(near)} m` : '', r.note ? ` · “${r.note}”` : '');
  })));
  box.hidden = false;
}
$('#cats').addEventListener('change', updateDups);

// ---------- validation and saving ----------
function fieldBox(f) { return $(`[data-field="${['lat', 'lon', 'ward_code', 'hamlet_code', 'location_precision'].includes(f) ? 'where' : f}"]`, $('#intake')); }
function showError(f, text) {
  const box = fieldBox(f);
  if (!box) { const e = $('#form-error'); e.textContent = text; e.hidden = false; return; }
  box.classList.add('invalid');
  let p = $(':scope > .field-error', box);
  if (!p) { p = h('p', { class: 'field-error', role: 'alert' }); box.append(p); }
  p.textContent = text;
}
function clearError(f) {
  const box = fieldBox(f);
  if (!box) return;
  box.classList.remove('invalid');
  $(':scope > .field-error', box)?.remove();
}
function clearErrors() { for (const b of $$('#intake .invalid')) clearError(b.dataset.field); $('#form-error').hidden = true; }

function validate() {
  clearErrors();
  let ok = true;
  const fail = (f, k) => { showError(f, t(k)); ok = false; };
  const phone = $('#phone').value.trim();
  if (!phone) fail('phone', 'f.phone_required'); else if (!phoneLooksValid(phone)) fail('phone', 'f.phone');
  if (!S.place) fail('where', 'op.no_place');
  if (S.place?.kind === 'area' && !$('#address').value.trim()) fail('address', 'f.address_required');
  if (!$('input[name=category]:checked')) fail('category', 'f.category');
  const n = Number($('#people').value);
  if (!Number.isInteger(n) || n < 1 || n > 500) fail('people', 'f.people');
  return ok;
}

function body() {
  const b = {
    category: $('input[name=category]:checked').value,
    people: Number($('#people').value),
    vulnerable: $$('input[name=vulnerable]:checked').map((x) => x.value),
    phone: $('#phone').value.trim(),
  };
  for (const k of ['name', 'note', 'address']) { const v = $(`#${k}`).value.trim(); if (v) b[k] = v; }
  const p = S.place;
  if (p.kind === 'point') { b.lat = +p.lat.toFixed(6); b.lon = +p.lon.toFixed(6); b.location_precision = p.precision; }
  else { b.ward_code = p.ward_code; if (p.hamlet_code) b.hamlet_code = p.hamlet_code; }
  return b;
}

let saving = false;
$('#intake').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  if (saving) return;
  $('#saved').hidden = true;
  if (!validate()) { $('#intake .invalid input, #intake .invalid')?.focus?.(); return; }
  saving = true;
  $('#save').disabled = true;
  try {
    const res = await call('/requests', { method: 'POST', body: body() });
    const code = res?.request?.code || '';
    const msg = res?.duplicate ? t('op.dup_saved', { code }) : t('op.saved', { code });
    resetForm();
    const s = $('#saved');
    s.textContent = msg;
    s.hidden = false;
    refreshUnverified();
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
    if (e.code === 'outside_service_area') showError('where', t('err.outside_area_pick'));
    else if (e.status === 400 && e.field && fieldBox(e.field)) {
      const k = `f.${e.field}`;
      showError(e.field, t(k) === k ? e.message || t('f.invalid') : t(k));
    } else showError('form', errorText(e));
  } finally {
    saving = false;
    $('#save').disabled = false;
  }
});

function resetForm() {
  $('#intake').reset();
  S.place = null;
  S.callerReqs = [];
  $('#lookup').replaceChildren();
  $('#place-chosen').textContent = '';
  $('#dups').hidden = true;
  S.pin?.remove();
  clearErrors();
  $('#phone').focus();
}
$('#clear').addEventListener('click', () => { $('#saved').hidden = true; resetForm(); });

document.addEventListener('keydown', (e) => {
  if ($('#app').hidden) return;
  if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) { e.preventDefault(); $('#intake').requestSubmit(); }
  else if (e.key === 'Escape' && $('#place-list').hidden) { e.preventDefault(); $('#saved').hidden = true; resetForm(); }
  else if (e.altKey && /^[1-7]$/.test(e.key)) {
    e.preventDefault();
    const r = $(`input[name=category][value=${CATEGORIES[+e.key - 1]}]`);
    r.checked = true;
    r.focus();
    updateDups();
  }
});

// ---------- unverified web requests ----------
async function refreshUnverified() {
  try {
    const fc = await call('/requests', { query: { status: 'open', limit: 2000 } });
    S.unverified = (fc?.features || []).map(reqOf).filter((r) => r && r.verified === false && (r.source || 'web') === 'web')
      .sort((a, b) => String(a.created_at).localeCompare(String(b.created_at)));
    renderUnverified();
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
  }
}

// Lists carry no contact data; the phone is fetched on demand (the server
// records who saw it in the request's history).
function contactCell(r) {
  const d = S.contacts.get(r.code) || r;
  if (d.phone) {
    return h('span', null, h('a', { href: `tel:${d.phone}`, class: 'tel' }, d.phone), d.name ? h('div', null, d.name) : null,
      d.address ? h('div', { class: 'hint' }, d.address) : null);
  }
  const b = h('button', { type: 'button', class: 'btn btn-small', dataset: { reveal: r.code } }, t('op.reveal'));
  b.addEventListener('click', async () => {
    b.disabled = true;
    try {
      const full = reqOf(await call(`/requests/${encodeURIComponent(r.code)}`));
      S.contacts.set(r.code, full);
      if (S.contacts.size > 500) S.contacts.delete(S.contacts.keys().next().value);
      b.replaceWith(contactCell(full));
    } catch (e) { toast(errorText(e), true); b.disabled = false; }
  });
  return b;
}

function renderUnverified() {
  $('#unv-count').textContent = String(S.unverified.length);
  const rows = S.unverified.slice(0, 200).map((r) => {
    const age = Date.now() - Date.parse(r.created_at);
    const b = h('button', { type: 'button', class: 'btn btn-ok', dataset: { verify: r.code } }, t('op.verify'));
    b.addEventListener('click', async () => {
      b.disabled = true;
      try {
        await call(`/requests/${encodeURIComponent(r.code)}/verify`, { method: 'POST' });
        toast(`${r.code}: ${t('op.verified')}`);
        S.unverified = S.unverified.filter((x) => x.code !== r.code);
        renderUnverified();
      } catch (e) { toast(errorText(e), true); b.disabled = false; }
    });
    return h('tr', { dataset: { code: r.code } },
      h('td', null, h('strong', null, r.code)),
      h('td', null, h('span', { class: `cat-ic ${r.category}` }, icon(r.category), t(`cat.${r.category}`)), ' · ', fmtPeople(r.people),
        r.note ? h('div', { class: 'hint' }, r.note) : null),
      h('td', null, S.names.get(`ward:${r.ward_code}`) || r.ward_code || '', r.address ? h('div', { class: 'hint' }, r.address) : null),
      h('td', null, contactCell(r)),
      h('td', { class: age > 2 * 3600e3 ? 'age-old' : '' }, fmtAge(age, false)),
      h('td', null, b));
  });
  $('#unverified').replaceChildren(...rows);
}

// ---------- map ----------
async function setupMap() {
  try {
    const { map, lib } = await createMap($('#map'));
    S.map = map; S.lib = lib;
    const ward = await addAreaLayer(map, 'ward', { lib });
    const former = await addAreaLayer(map, 'former_ward', { lib, labels: true });
    map.setPaintProperty(former.fillId, 'fill-opacity', 0);
    map.setPaintProperty(former.lineId, 'line-color', '#94a3b8');
    map.setPaintProperty(former.lineId, 'line-dasharray', [2, 2]);
    map.setPaintProperty(former.lineId, 'line-width', 1);
    labelsByZoom(map, $('#map'), 'former_ward', 11);
    addAreaLayer(map, 'hamlet', { lib }).catch(() => {});
    labelsByZoom(map, $('#map'), 'hamlet', 13);
    void ward;
    S.pin = new lib.Marker({ element: h('div', { class: 'op-pin' }) }).setLngLat([0, 0]);
    map.on('click', (e) => {
      S.place = { kind: 'point', lat: e.lngLat.lat, lon: e.lngLat.lng, precision: 'pin' };
      $('#place').value = '';
      clearError('where');
      showPlace();
    });
    document.documentElement.dataset.map = 'ready';
  } catch {
    $('#map').hidden = true;
    document.documentElement.dataset.map = 'failed';
  }
}

onLangChange(() => { renderUnverified(); loadAreas(); });

S.session = signIn('operator', (tok) => {
  S.token = tok;
  loadAreas();
  setupMap();
  refreshUnverified();
  const soon = throttle(refreshUnverified, 3000);
  live({
    token: tok,
    onEvent: (type) => { if (type.startsWith('request.')) soon(); },
    onState(s) {
      const el = $('#live');
      el.hidden = false;
      el.textContent = t(s === 'live' ? 'live.on' : s === 'down' ? 'live.off' : 'live.connecting');
      el.classList.toggle('off', s !== 'live');
    },
    onResync: soon,
    onAuthError: () => S.session.expired(),
  });
  setInterval(refreshUnverified, 30000);
  $('#phone').focus();
});
