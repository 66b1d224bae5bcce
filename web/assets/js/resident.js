// resident.js: the resident page "/". Enhances the plain HTML form (which
// posts to /report without JavaScript) into: a map with a draggable pin
// centred on GPS when allowed, or a commune/hamlet picker when WebGL is
// missing; inline validation mirroring the server's errors; a JSON POST to
// /api/v1/requests; the code in large type and the private tracking link.
// On a slow phone: the commune outline and names come from the vector tiles
// (a few KB); without WebGL the communes are already in the HTML and only
// the hamlet names are asked for. A hamlet typed by name never blocks a
// request: matched to a known hamlet, or kept as address text. A double tap
// zooms without moving the pin; a single tap that moves it away from the GPS
// fix says so and offers the way back. A pasted map link or coordinates is
// read by the server and previewed as the pin before sending; "I am reporting
// for someone else" adds the reporter's own number; the nearest open relief
// points follow the pin, live.
// Every request is first kept on the phone (outbox.js) and sent with an
// Idempotency-Key: without a connection it waits, shown as "waiting to send",
// and goes out once when the connection returns. A service worker (/sw.js)
// keeps the page and its assets for use offline after the first visit.
import { initI18n, t, onLangChange, addStrings } from './i18n.js';
import { api, ApiError, errorText, phoneLooksValid } from './api.js';
import * as outbox from './outbox.js';
import { $, $$, h, featureAt, fold, debounce, throttle } from './util.js';
import { hasWebGL, createMap, addAreaLayer, areasGeoJSON, labelsByZoom, areaAt } from './mapkit.js';
import { placeSearch } from './places.js';
import { shareLink, SHARE_STRINGS } from './share.js';
import { geoParse, locMessage, nearestPoints, renderPoints } from './flood.js';
import { wardLabel, ensureNames } from './names.js';
import { live } from './live.js';

const STR = {
  en: {
    title: 'Help map', lead: 'In difficulty? Send a request and the nearest support team will contact you. In an emergency call the 1022 hotline.',
    where: '1. Where are you?', map_label: 'Map', use_gps: 'Use GPS position', no_map: 'Choose commune and hamlet instead',
    ward: 'Commune', ward_pick: '— Choose commune —', hamlet: 'Hamlet / quarter (if known)', use_map: 'Use the map',
    address: 'Address (house number, street, hamlet)', address_opt: 'Address or how to find you (optional)',
    what: '2. What do you need?', who: '3. How many people?', people_label: 'People needing help',
    vulnerable: 'In the household (if any):', contact: '4. Contact', phone: 'Phone number',
    name: 'Full name (optional)', note: 'Note (optional)', note_ph: 'E.g. two elderly people, out of rice since yesterday',
    privacy: 'Phone, name and note are shown only to the support team that takes the request.',
    send: 'Send request', sent_title: 'Request sent', your_code: 'Your request code:',
    code_hint: 'Write this code down. When calling the 1022 hotline, read it out for faster help.',
    track: 'Track my request', track_hint: 'Keep this link: only people with it can see or cancel the request.',
    again: 'Send another request', mine: 'Requests you sent', team_link: 'Support team sign-in',
    dup_hint: 'Your note was added to it. Use its tracking link, or call 1022 with the code.',
    search_label: 'Find where you are: hamlet, market, school, street…',
    search_ph: 'E.g. ap bau tre, cho phuoc thanh', places_attr: 'Place names: GeoNames (www.geonames.org)',
    gps_moved: 'The pin was moved away from your GPS position.', gps_back: 'Back to GPS position',
    call_1022: 'Call 1022', share: 'Share the tracking link', share_text: 'Help request {code}: follow it here',
    paste: 'Or paste a map link (Google Maps, OpenStreetMap, Apple Maps) or coordinates',
    for_other: 'I am reporting for someone else',
    for_other_hint: 'Reporting for a relative or a neighbour: your number here, theirs below (their phone may be off).',
    reporter_phone: 'Your phone number (the person reporting)', reporter_name: 'Your name (optional)',
    points_near: 'Relief points near you', phone_other: 'Phone number of the person in need',
    name_other: 'Name of the person in need (optional)',
    'paste.ok': 'Location read: {lat}, {lon}', 'paste.wait': 'Reading…',
    gps_is_yours: 'The GPS position is yours: if the person is elsewhere, paste their location or move the pin.',
    'f.reporter_phone_required': 'Enter your own number so the team can reach you if they cannot reach the person.',
    'outbox.title': 'Waiting to send',
    'outbox.hint': 'No connection: your request is kept on this phone and will be sent by itself when the connection returns. You may close the page; open it again later.',
    'outbox.item': '{cat} · kept at {time}', 'outbox.waiting': 'waiting to send',
    'outbox.retry': 'Try to send now', 'outbox.drop': 'Remove', 'outbox.again': 'Send another request',
    'outbox.refused': 'A request kept on the phone was not accepted: {why}',
  },
  vi: {
    phone: 'Số điện thoại', name: 'Họ tên (không bắt buộc)',
    phone_other: 'Số điện thoại người cần giúp', name_other: 'Họ tên người cần giúp (không bắt buộc)',
    'paste.ok': 'Đã đọc vị trí: {lat}, {lon}', 'paste.wait': 'Đang đọc…',
    gps_is_yours: 'Vị trí GPS là của bạn: nếu người cần giúp ở nơi khác, hãy dán vị trí của họ hoặc kéo ghim.',
    'f.reporter_phone_required': 'Hãy nhập số của bạn để tổ hỗ trợ gọi khi không liên lạc được người cần giúp.',
    address: 'Địa chỉ (số nhà, đường, ấp)', sent_title: 'Đã gửi yêu cầu',
    address_opt: 'Địa chỉ hoặc cách tìm nhà (không bắt buộc)',
    dup_hint: 'Ghi chú mới đã được thêm vào yêu cầu đó. Dùng liên kết theo dõi đã nhận, hoặc gọi 1022 và đọc mã.',
    gps_moved: 'Ghim đã được dời khỏi vị trí GPS.', gps_back: 'Về vị trí GPS',
    call_1022: 'Gọi 1022', share: 'Chia sẻ liên kết theo dõi', share_text: 'Yêu cầu hỗ trợ {code}: theo dõi tại đây',
    'outbox.title': 'Đang chờ gửi',
    'outbox.hint': 'Chưa có mạng: yêu cầu được giữ trên điện thoại và sẽ tự gửi khi có mạng trở lại. Bạn có thể đóng trang, lát nữa mở lại.',
    'outbox.item': '{cat} · lưu lúc {time}', 'outbox.waiting': 'đang chờ gửi',
    'outbox.retry': 'Thử gửi ngay', 'outbox.drop': 'Bỏ', 'outbox.again': 'Gửi yêu cầu khác',
    'outbox.refused': 'Một yêu cầu giữ trên máy không được nhận: {why}',
  },
};

const MINE_KEY = 'helpmap.mine';
const form = $('#report');
const state = {
  mode: 'place', lat: null, lon: null, precision: null, placeName: null, gps: null,
  map: null, lib: null, marker: null, wards: null, wardLayer: null, hamlets: null, sending: false,
  link: null, pasteErr: null, resultPos: null, points: [], live: null,
};

addStrings(SHARE_STRINGS);
initI18n(STR);
form.noValidate = true; // our own messages, mirroring the server's
onLangChange(() => {
  updateAddressLabel(); updateContactLabels(); showPinStatus(); showPaste(); translateErrors();
  renderPoints($('#points-list'), state.points);
});

// ---------- modes ----------
function setMode(mode) {
  state.mode = mode;
  const map = mode === 'map';
  $('#map-block').hidden = !map;
  $('#place-block').hidden = map;
  $('#ward_code').disabled = map;
  $('#hamlet_code').disabled = map;
  $('#address').required = !map;
  $('#map-back').hidden = map || !hasWebGL();
  updateAddressLabel();
  clearError('where');
  if (!map) loadPlaceLists();
  else if (state.map) state.map.resize();
}

function updateAddressLabel() {
  $('#address-label').textContent = t(state.mode === 'map' || state.link ? 'address_opt' : 'address');
}

// ---------- plain picker (no WebGL) ----------
// The communes are in the HTML; hamlets (none until coordinators add them)
// come from the server, names only. The hamlet box stays free text unless
// hamlets are known, and typed text is matched against them on sending.
let hamletsPromise = null;
function loadHamlets() {
  if (!hamletsPromise) {
    hamletsPromise = areasGeoJSON('hamlet', { simplify: 5000 }).then((fc) => {
      state.hamlets = fc.features.map((f) => f.properties || {}).filter((p) => p.code)
        .map((p) => ({ code: String(p.code), name: String(p.name || p.code), parent: String(p.parent_code ?? '') }));
      return state.hamlets;
    });
  }
  return hamletsPromise;
}

let placeListsLoaded = false;
async function loadPlaceLists() {
  if (placeListsLoaded) return;
  placeListsLoaded = true;
  const hamlets = await loadHamlets();
  if (hamlets.length && $('#hamlet_code').tagName !== 'SELECT') {
    const hs = h('select', { id: 'hamlet_select', name: 'hamlet_code' });
    $('#hamlet_code').replaceWith(hs);
    hs.id = 'hamlet_code';
    fillHamlets();
    $('#ward_code').addEventListener('change', fillHamlets);
  }
}

// The hamlet the person typed, as a code when it names a known hamlet of the
// commune (by name, with or without "ấp", or by code), else null: the text
// then goes to the address.
function matchHamlet(text, ward) {
  const key = fold(text).replace(/^(ap|khu pho|kp)\s+/, '');
  if (!key) return null;
  for (const hm of state.hamlets || []) {
    if (ward && hm.parent && hm.parent !== ward) continue;
    const n = fold(hm.name).replace(/^(ap|khu pho|kp)\s+/, '');
    if (n === key || fold(hm.code) === fold(text)) return hm.code;
  }
  return null;
}

function fullWardName(p) {
  const n = String(p.name || p.code);
  return /^(xã|phường|thị trấn|đặc khu)\s/i.test(n) ? n : (p.type_vi ? `${p.type_vi} ${n}` : `Xã ${n}`);
}

function fillHamlets() {
  const hs = $('#hamlet_code');
  if (hs.tagName !== 'SELECT') return;
  const ward = $('#ward_code').value;
  hs.replaceChildren(h('option', { value: '' }, t('hamlet.none')));
  for (const p of state.hamlets.filter((x) => !ward || x.parent === ward)
    .sort((a, b) => a.name.localeCompare(b.name, 'vi', { numeric: true }))) {
    hs.append(h('option', { value: p.code }, p.name));
  }
}

// ---------- map mode ----------
const PIN_SVG = 'M12 22s7-6.3 7-12a7 7 0 0 0-14 0c0 5.7 7 12 7 12zM12 7a3 3 0 1 0 0 6a3 3 0 1 0 0-6';
function pinElement() {
  const el = h('div', { class: 'pin unset', 'aria-label': 'pin' });
  const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  const p = document.createElementNS('http://www.w3.org/2000/svg', 'path');
  p.setAttribute('d', PIN_SVG);
  svg.append(p);
  el.append(svg);
  return el;
}

async function startMap() {
  setMode('map');
  setStatus(t('map.loading'));
  try {
    const { map, lib, basemap } = await createMap($('#map'), { padding: 4 });
    state.map = map; state.lib = lib;
    $('#osm-attr').hidden = !basemap;
    globalThis.__hm = { map };
    state.wardLayer = await addAreaLayer(map, 'ward', { lib, simplify: 100 });
    addAreaLayer(map, 'hamlet', { lib, simplify: 20 }).catch(() => {});
    labelsByZoom(map, $('#map'), 'hamlet', 13);
    // Which commune the pin is in, once the tiles under it are there.
    map.on('idle', () => { if (state.lat != null && state.inWard === undefined) showPinStatus(); });
    const c = map.getCenter();
    state.marker = new lib.Marker({ element: pinElement(), draggable: true, anchor: 'bottom' })
      .setLngLat(state.lat != null ? [state.lon, state.lat] : [c.lng, c.lat]).addTo(map);
    state.marker.on('dragend', () => {
      const p = state.marker.getLngLat();
      movedByHand();
      setPin(p.lat, p.lng, 'pin', false);
    });
    // A tap places the pin, but only once it is clear it was not the first
    // tap of a double-tap zoom (or the start of a pinch): wait a moment.
    let pending = 0, last = { at: 0, x: 0, y: 0 }, place = null;
    const cancel = () => { clearTimeout(pending); pending = 0; place = null; };
    map.on('click', (e) => {
      const now = Date.now();
      const near = Math.hypot(e.point.x - last.x, e.point.y - last.y) < 40;
      const second = near && now - last.at < 350;
      last = { at: now, x: e.point.x, y: e.point.y };
      if (second) { cancel(); return; }
      if (pending) place?.(); // an earlier tap elsewhere: it stands
      const ll = e.lngLat;
      place = () => { clearTimeout(pending); pending = 0; place = null; movedByHand(); setPin(ll.lat, ll.lng, 'pin', false); };
      pending = setTimeout(place, 320);
    });
    // Sending right after a tap: the tap counts.
    state.flushTap = () => place?.();
    map.on('dblclick', cancel);
    map.on('zoomstart', (e) => { if (e.originalEvent) cancel(); });
    if (state.lat != null) setPin(state.lat, state.lon, state.precision, true);
    else showPinStatus();
    document.documentElement.dataset.map = 'ready';
  } catch (e) {
    state.map = null;
    setMode('place');
    showError('where', t('map.failed'));
    document.documentElement.dataset.map = 'failed';
  }
}

function setPin(lat, lon, precision, recentre, placeName = null) {
  state.lat = +lat.toFixed(6); state.lon = +lon.toFixed(6); state.precision = precision;
  state.placeName = precision === 'place' ? placeName : null;
  if (precision !== 'place') search.clear();
  state.inWard = undefined;
  if (precision === 'gps') state.gps = { lat: state.lat, lon: state.lon };
  clearError('where');
  if (state.marker) {
    state.marker.setLngLat([state.lon, state.lat]);
    state.marker.getElement().classList.remove('unset');
    if (recentre) state.map.easeTo({ center: [state.lon, state.lat], zoom: Math.max(state.map.getZoom(), 13) });
  }
  showPinStatus();
}

let statusNote = '';
function setStatus(s) { statusNote = s; showPinStatus(); }

function showPinStatus() {
  const out = $('#map-status');
  out.replaceChildren();
  if (state.lat == null) {
    out.append(statusNote || t('map.drag'));
    return;
  }
  if (state.placeName) out.append(h('strong', { id: 'pin-place' }, t('places.chosen', { name: state.placeName })), ' · ');
  out.append(h('strong', { id: 'pin-coords' }, t('map.here', { lat: state.lat.toFixed(5), lon: state.lon.toFixed(5) })));
  const w = areaAt(state.map, state.wardLayer, state.lon, state.lat);
  state.inWard = w;
  if (w !== undefined) {
    out.append(' · ', w ? t('map.inside', { name: fullWardName(w) }) : h('span', { class: 'bad' }, t('map.outside')));
  }
  if (statusNote && state.precision === 'gps') out.append(h('br'), statusNote);
  if (state.gps && state.precision !== 'gps') {
    const back = h('button', { type: 'button', class: 'btn-link', id: 'gps-back' }, t('gps_back'));
    back.addEventListener('click', () => setPin(state.gps.lat, state.gps.lon, 'gps', true));
    out.append(h('br'), t('gps_moved'), ' ', back);
  }
  if (state.precision === 'gps' && $('#for_other').checked) out.append(h('br'), h('span', { class: 'bad' }, t('gps_is_yours')));
  refreshPointsSoon();
}

// ---------- place search: picking a place moves the pin there ----------
const search = placeSearch({
  input: $('#place-search'),
  list: $('#place-results'),
  near: () => (state.lat != null ? { lat: state.lat, lon: state.lon } : null),
  wardName: (code) => {
    const f = state.wards?.features?.find((x) => String(x.properties?.code) === String(code));
    return f ? fullWardName(f.properties) : '';
  },
  onPick: (p) => {
    movedByHand();
    setPin(p.lat, p.lon, 'place', false, p.name);
    if (!state.map) return;
    // An area shows whole; a street or a named place close up.
    if (p.level && Array.isArray(p.bbox)) {
      state.map.fitBounds([[p.bbox[0], p.bbox[1]], [p.bbox[2], p.bbox[3]]], { padding: 20, duration: 300, maxZoom: 16 });
    } else state.map.easeTo({ center: [p.lon, p.lat], zoom: Math.max(state.map.getZoom(), 15), duration: 300 });
  },
});

// ---------- a pasted link or coordinates, read by the server ----------
const paste = $('#location_text');
let parseSeq = 0, parseCtl = null;

async function readPaste() {
  const text = paste.value.trim();
  const seq = ++parseSeq;
  parseCtl?.abort();
  clearError('location_text');
  state.pasteErr = null;
  if (!text) { state.link = null; showPaste(); updateAddressLabel(); return; }
  if (state.link?.text === text) return;
  $('#paste-status').textContent = t('paste.wait');
  parseCtl = new AbortController();
  try {
    const g = await geoParse(text, parseCtl.signal);
    if (seq !== parseSeq) return;
    state.link = { text, lat: g.lat, lon: g.lon, ward_code: g.ward_code, inside: g.inside };
    if (state.mode === 'map') setPin(g.lat, g.lon, 'link', true);
    else { state.lat = +g.lat.toFixed(6); state.lon = +g.lon.toFixed(6); state.precision = 'link'; refreshPointsSoon(); }
  } catch (e) {
    if (e.name === 'AbortError' || seq !== parseSeq) return;
    state.link = null;
    state.pasteErr = e;
  }
  showPaste();
  updateAddressLabel();
}
paste.addEventListener('input', debounce(readPaste, 400));
paste.addEventListener('change', () => readPaste());

// The pin moved by hand: the pasted text no longer says where.
function movedByHand() {
  if (!state.link && !paste.value) return;
  paste.value = '';
  state.link = null;
  state.pasteErr = null;
  showPaste();
  updateAddressLabel();
}

function showPaste() {
  const out = $('#paste-status');
  out.replaceChildren();
  out.classList.remove('bad');
  if (state.pasteErr) {
    out.classList.add('bad');
    out.textContent = locMessage(state.pasteErr);
    return;
  }
  const l = state.link;
  if (!l) return;
  out.append(h('strong', { id: 'paste-coords' }, t('paste.ok', { lat: l.lat.toFixed(5), lon: l.lon.toFixed(5) })), ' · ');
  if (!l.inside) { out.append(h('span', { class: 'bad' }, t('map.outside'))); return; }
  // Commune names from /stats (a few KB, kept a day), never the polygons.
  const name = wardLabel(l.ward_code);
  out.append(name ? t('map.inside', { name }) : l.ward_code);
  if (!name) ensureNames('ward').then(() => { if (wardLabel(l.ward_code)) showPaste(); });
}

// ---------- reporting for someone else ----------
function updateContactLabels() {
  const other = $('#for_other').checked;
  $('#reporter-block').hidden = !other;
  $('#reporter_phone').required = other;
  $('#phone-label').textContent = t(other ? 'phone_other' : 'phone');
  const nameLabel = $('[data-field="name"] > span');
  nameLabel.textContent = t(other ? 'name_other' : 'name');
}
$('#for_other').addEventListener('change', () => { updateContactLabels(); showPinStatus(); clearError('reporter.phone'); });

// ---------- the nearest relief points, live ----------
function pointsPos() {
  if (state.resultPos) return state.resultPos;
  if (state.lat != null) return { lat: state.lat, lon: state.lon };
  return null;
}

async function refreshPoints() {
  const pos = pointsPos();
  if (!pos) return;
  try {
    state.points = await nearestPoints(pos.lat, pos.lon, { limit: 3 });
  } catch { return; }
  renderPoints($('#points-list'), state.points);
  $('#points').hidden = false;
  if (!state.live) state.live = live({ types: 'point', onEvent: () => refreshPointsSoon(), onResync: () => refreshPointsSoon() });
}
const refreshPointsSoon = throttle(refreshPoints, 1500);

function askGPS(auto) {
  if (!navigator.geolocation) { if (!auto) setStatus(t('map.gps_no')); return; }
  setStatus(t('map.gps_wait'));
  navigator.geolocation.getCurrentPosition((pos) => {
    if (auto && state.link) return; // a pasted location wins over the phone's own
    statusNote = t('map.gps_ok', { n: Math.round(pos.coords.accuracy || 0) });
    setPin(pos.coords.latitude, pos.coords.longitude, 'gps', true);
  }, () => {
    setStatus(t('map.gps_no'));
  }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
}

// ---------- validation ----------
const FIELD_OF = { lat: 'where', lon: 'where', location_precision: 'where', location: 'where', reporter: 'reporter.phone' };
const shown = new Map(); // field -> {key, vars, text}

function fieldBox(field) {
  const f = FIELD_OF[field] || field;
  return f === 'where' ? $('#where') : $(`[data-field="${CSS.escape(f)}"]`, form);
}

// A location error is shown where the location is chosen (under the map or
// the commune list), not at the bottom of the fieldset under the address.
function errorAnchor(box) {
  if (box.id !== 'where') return null;
  return state.mode === 'map' ? $('#map-status') : $('#place-block');
}

function showError(field, text, key, extra) {
  const box = fieldBox(field) || $('#form-error');
  if (box.id === 'form-error') { box.replaceChildren(text, ...(extra ? [' ', extra] : [])); box.hidden = false; return; }
  box.classList.add('invalid');
  let p = $('.field-error[data-for]', box);
  if (p && p.dataset.for !== (FIELD_OF[field] || field)) p = null;
  if (!p) {
    p = h('p', { class: 'field-error', role: 'alert', dataset: { for: FIELD_OF[field] || field } });
    const anchor = errorAnchor(box);
    if (anchor) anchor.after(p); else box.append(p);
  }
  p.textContent = text;
  shown.set(FIELD_OF[field] || field, { key, text });
}

function clearError(field) {
  const box = fieldBox(field);
  if (!box) return;
  const key = FIELD_OF[field] || field;
  box.classList.remove('invalid');
  for (const p of $$(`.field-error[data-for="${key}"]`, box)) p.remove();
  shown.delete(key);
}

function clearAll() {
  for (const f of [...shown.keys()]) clearError(f);
  $('#form-error').hidden = true;
}

function busyHelp() {
  return h('a', { href: 'tel:1022', class: 'btn btn-small' }, t('call_1022'));
}

function translateErrors() {
  for (const [f, v] of shown) if (v.key) showError(f, t(v.key), v.key);
}

function fail(field, key) { showError(field, t(key), key); return false; }

function validate() {
  clearAll();
  let ok = true;
  const fd = new FormData(form);
  const pasted = paste.value.trim();
  if (pasted) {
    if (state.pasteErr || !state.link) { showError('location_text', locMessage(state.pasteErr)); ok = false; }
    else if (!state.link.inside) ok = fail('location_text', 'err.outside');
  } else if (state.mode === 'map') {
    if (state.lat == null) ok = fail('where', 'f.location');
  } else if (!$('#ward_code').value) ok = fail('ward_code', 'f.ward_code');
  const addr = String(fd.get('address') || '').trim();
  if (state.mode !== 'map' && !pasted && !addr) ok = fail('address', 'f.address_required');
  if ($('#for_other').checked) {
    const rp = String(fd.get('reporter_phone') || '').trim();
    if (!rp) ok = fail('reporter.phone', 'f.reporter_phone_required');
    else if (!phoneLooksValid(rp)) ok = fail('reporter.phone', 'f.reporter.phone');
    if (String(fd.get('reporter_name') || '').length > 100) ok = fail('reporter.name', 'f.reporter.name');
  }
  if (addr.length > 200) ok = fail('address', 'f.address');
  if (!fd.get('category')) ok = fail('category', 'f.category');
  const people = Number(fd.get('people'));
  if (!Number.isInteger(people) || people < 1 || people > 500) ok = fail('people', 'f.people');
  const phone = String(fd.get('phone') || '').trim();
  if (!phone) ok = fail('phone', 'f.phone_required');
  else if (!phoneLooksValid(phone)) ok = fail('phone', 'f.phone');
  if (String(fd.get('name') || '').length > 100) ok = fail('name', 'f.name');
  if (String(fd.get('note') || '').length > 500) ok = fail('note', 'f.note');
  return ok;
}

function focusFirstError() {
  const box = $('.invalid', form) || $('#form-error');
  if (!box) return;
  box.scrollIntoView({ block: 'center' });
  const input = box.matches('input,select,textarea') ? box : $('input:not([type=hidden]):not(:disabled),select:not(:disabled),textarea', box);
  (input || box).focus?.({ preventScroll: true });
}

async function buildBody() {
  const fd = new FormData(form);
  const body = {
    category: String(fd.get('category')),
    people: Number(fd.get('people')),
    vulnerable: fd.getAll('vulnerable').map(String),
    phone: String(fd.get('phone')).trim(),
  };
  for (const k of ['name', 'note', 'address']) {
    const v = String(fd.get(k) || '').trim();
    if (v) body[k] = v;
  }
  if ($('#for_other').checked) {
    body.reporter = { phone: String(fd.get('reporter_phone')).trim() };
    const rn = String(fd.get('reporter_name') || '').trim();
    if (rn) body.reporter.name = rn;
  }
  if (state.link) {
    body.location_text = state.link.text; // the server reads it again and keeps it
  } else if (state.mode === 'map') {
    body.lat = state.lat; body.lon = state.lon; body.location_precision = state.precision || 'pin';
  } else {
    body.ward_code = $('#ward_code').value;
    const hc = String($('#hamlet_code').value || '').trim();
    if (hc && $('#hamlet_code').tagName === 'SELECT') body.hamlet_code = hc;
    else if (hc) {
      await loadHamlets();
      const code = matchHamlet(hc, body.ward_code);
      if (code) body.hamlet_code = code;
      else body.address = hamletIntoAddress(hc, body.address);
    }
  }
  return body;
}

// "Ấp Phú Lợi" + "Số 7, tổ 2" -> "Số 7, tổ 2, Ấp Phú Lợi" (kept once, within
// the 200 characters of an address).
function hamletIntoAddress(hamlet, address) {
  const a = String(address || '').trim();
  if (fold(a).includes(fold(hamlet))) return a;
  return (a ? `${a}, ${hamlet}` : hamlet).slice(0, 200);
}

// ---------- submit ----------
form.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  if (state.sending) return;
  state.flushTap?.();
  if (paste.value.trim() && state.link?.text !== paste.value.trim()) await readPaste();
  if (!validate()) { focusFirstError(); return; }
  const btn = $('#send-btn');
  state.sending = true;
  btn.disabled = true;
  btn.firstElementChild.textContent = t('sending');
  let item = null;
  try {
    let body = await buildBody();
    item = outbox.keep(body); // on the phone first: whatever happens to the connection
    let res;
    if (navigator.onLine === false) throw new ApiError(0, 'network', t('err.network'));
    try {
      res = await outbox.send(item);
    } catch (e) {
      // A hamlet the server does not know is never a reason to refuse:
      // send again with its name in the address.
      if (!(e instanceof ApiError && e.status === 400 && e.field === 'hamlet_code' && body.hamlet_code)) throw e;
      const name = state.hamlets?.find((x) => x.code === body.hamlet_code)?.name || body.hamlet_code;
      body = { ...body, address: hamletIntoAddress(name, body.address) };
      delete body.hamlet_code;
      item = outbox.keep(body);
      res = await outbox.send(item);
    }
    showResult(res);
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
    // No connection: the request waits on the phone. A busy server: it is not kept (the
    // resident is told to try again or call 1022), so that pressing Send again makes one.
    if (e.status === 0) { showQueued(); return; }
    if (item && outbox.retryable(e)) outbox.drop(item.key);
    if (e.code === 'outside_service_area') showError(state.link ? 'location_text' : 'where', t('err.outside'), 'err.outside');
    else if (e.code === 'rate_limited' || e.code === 'unavailable' || e.status >= 500) showError('form', errorText(e), null, busyHelp());
    else if (e.status === 400 && e.field === 'location_text') showError('location_text', locMessage(e));
    else if (e.status === 400 && e.field && fieldBox(e.field)) {
      const key = `f.${e.field}`;
      showError(e.field, t(key) === key ? (e.message || t('f.invalid')) : t(key), t(key) === key ? null : key);
    } else showError('form', errorText(e));
    focusFirstError();
  } finally {
    state.sending = false;
    btn.disabled = false;
    btn.firstElementChild.textContent = t('send');
  }
});

for (const el of $$('input,select,textarea', form)) {
  el.addEventListener('change', () => {
    const box = el.closest('[data-field]');
    if (box && box.classList.contains('invalid')) clearError(box.dataset.field);
  });
}

function trackURL(code, token) {
  return `/track/${encodeURIComponent(code)}?token=${encodeURIComponent(token)}`;
}

function showResult(res) {
  const req = res?.request || {};
  const code = req.code || '';
  const dup = !!res?.duplicate;
  let token = res?.token;
  if (token) saveMine(code, token);
  else token = loadMine().find((m) => m.code === code)?.token;
  $('#result-title').textContent = dup ? t('dup.title') : t('sent_title');
  $('#result-code').textContent = code;
  const link = $('#track-link');
  link.hidden = !token;
  $('#track-hint').hidden = !token;
  $('#track-url').textContent = token ? new URL(trackURL(code, token), location.href).href : t('dup_hint');
  if (token) link.href = trackURL(code, token);
  $('#share-btn').hidden = !token;
  $('#share-box').hidden = true;
  state.shareURL = token ? new URL(trackURL(code, token), location.href).href : null;
  state.shareCode = code;
  if (Number.isFinite(req.lat) && Number.isFinite(req.lon)) { state.resultPos = { lat: req.lat, lon: req.lon }; refreshPoints(); }
  form.hidden = true;
  $('.lead').hidden = true;
  const r = $('#result');
  r.hidden = false;
  r.focus();
  window.scrollTo(0, 0);
  renderMine();
}

$('#again-btn').addEventListener('click', () => {
  state.resultPos = null;
  $('#result').hidden = true;
  $('.lead').hidden = false;
  form.hidden = false;
  $('#note').value = '';
  if (state.map) state.map.resize();
});

// ---------- requests sent from this phone ----------
function loadMine() {
  try {
    const v = JSON.parse(localStorage.getItem(MINE_KEY) || '[]');
    return Array.isArray(v) ? v.filter((m) => m && m.code && m.token) : [];
  } catch { return []; }
}
function saveMine(code, token) {
  if (!code || !token) return;
  const list = [{ code, token, at: new Date().toISOString() }, ...loadMine().filter((m) => m.code !== code)].slice(0, 10);
  try { localStorage.setItem(MINE_KEY, JSON.stringify(list)); } catch { /* private mode */ }
}
function renderMine() {
  const list = loadMine();
  $('#mine').hidden = !list.length;
  $('#mine-list').replaceChildren(...list.map((m) => h('li', null,
    h('a', { href: trackURL(m.code, m.token) }, m.code), ' · ', new Date(m.at).toLocaleString('vi-VN'))));
}

// ---------- requests waiting on the phone for a connection ----------
let refusedNote = '';
function renderOutbox() {
  const list = outbox.pending();
  const box = $('#outbox');
  box.hidden = !list.length && !refusedNote;
  $('#outbox-list').replaceChildren(...list.map((m) => h('li', { 'data-key': m.key },
    t('outbox.item', { cat: t(`cat.${m.category}`), time: new Date(m.at).toLocaleTimeString('vi-VN', { hour: '2-digit', minute: '2-digit' }) }),
    ' — ', h('span', { class: 'waiting' }, t('outbox.waiting')), ' ',
    h('button', { type: 'button', class: 'btn-link', onclick: () => { outbox.drop(m.key); renderOutbox(); } }, t('outbox.drop')))));
  $('#outbox-refused').textContent = refusedNote;
  $('#outbox-refused').hidden = !refusedNote;
  $('#outbox-retry').hidden = !list.length;
}

function showQueued() {
  form.hidden = true;
  $('.lead').hidden = true;
  $('#result').hidden = true;
  renderOutbox();
  $('#outbox').focus?.();
  window.scrollTo(0, 0);
}

function flushOutbox() {
  if (!outbox.pending().length) return;
  outbox.flush((item, res) => {
    renderOutbox();
    if (form.hidden) showResult(res);
    else { saveMine(res?.request?.code || '', res?.token); renderMine(); }
  }, (item, e) => {
    refusedNote = t('outbox.refused', { why: errorText(e) });
    renderOutbox();
  }).then(renderOutbox);
}

$('#outbox-retry').addEventListener('click', flushOutbox);
$('#outbox-again').addEventListener('click', () => {
  $('#outbox').hidden = !outbox.pending().length;
  $('#result').hidden = true;
  $('.lead').hidden = false;
  form.hidden = false;
  $('#note').value = '';
});
addEventListener('online', flushOutbox);
document.addEventListener('visibilitychange', () => { if (!document.hidden) flushOutbox(); });
setInterval(flushOutbox, 15000);

// ---------- start ----------
updateContactLabels();
$('#no-map-btn').addEventListener('click', () => setMode('place'));
$('#map-btn').addEventListener('click', () => { if (state.map) setMode('map'); else startMap(); });
$('#gps-btn').addEventListener('click', () => askGPS(false));
$('#share-btn').addEventListener('click', () => {
  if (state.shareURL) shareLink({ title: document.title, text: t('share_text', { code: state.shareCode }), url: state.shareURL }, $('#share-box'));
});
renderMine();
renderOutbox();
flushOutbox();
performance.mark('helpmap:form-ready');
// The page and its assets for the next visit without a connection (after the first view).
if ('serviceWorker' in navigator) {
  const reg = () => navigator.serviceWorker.register('/sw.js').catch(() => {});
  if (document.readyState === 'complete') reg(); else addEventListener('load', reg, { once: true });
}

if (hasWebGL()) {
  setMode('map');
  // The form is usable right away; the map library (~450 KiB gzipped) comes after.
  const go = () => startMap();
  if (document.readyState === 'complete') setTimeout(go, 0); else addEventListener('load', go, { once: true });
  askGPS(true);
} else {
  setMode('place');
}
