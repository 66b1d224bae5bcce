// operator.js: /operator, the 1022 hotline desk. A keyboard-first intake form
// (phone first: the caller's earlier requests and likely duplicates show
// before saving; the place is found by the server's place search — communes,
// former communes, hamlets, place names, streets — or by a click on the map), and the list of unverified web requests to
// call back and mark verified.
// The whole call: a request is found by the code the caller reads out; the
// caller's earlier requests open, edit (PATCH /requests/{code}, hidden when
// the server answers 405) or cancel from the caller list; right after saving,
// the tracking link is shown to read out or send by SMS; a call-back records
// its outcome (reached, unreachable, no longer needed, false report: POST
// /verify with {verified, outcome, note}); the call-back list asks the server
// for the oldest unverified web requests (verified=false&source=web) and is
// kept current from events.
import { initI18n, t, onLangChange, fmtAge, fmtPeople, fmtTime } from './i18n.js';
import { api, ApiError, errorText, phoneLooksValid, normCode } from './api.js';
import { $, $$, h, icon, CATEGORIES, VULNERABLE, OPEN, reqOf, fold, featureAt, labelPoint, bboxOf, debounce, throttle, distanceM, isApprox } from './util.js';
import { createMap, addAreaLayer, areasGeoJSON, labelsByZoom } from './mapkit.js';
import { placeSearch, placeKind } from './places.js';
import { signIn } from './signin.js';
import { live } from './live.js';
import { geoParse, locMessage } from './flood.js';
import { mountImport } from './importcsv.js';

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
    find_code: 'Find a request by its code (the caller reads it out)', find: 'Find', close: 'Close',
    'op.track': 'Tracking link (read it out or send it by SMS):', 'op.copy': 'Copy', 'op.copied': 'Copied',
    'op.sms': 'SMS to the caller', 'op.sms_text': 'Help request {code} received. Follow it here: {url}',
    'op.open': 'Open', 'op.edit': 'Edit', 'op.cancel': 'Cancel request', 'op.cancelled': '{code} cancelled.',
    'op.no_edit': 'This server does not allow editing requests yet.', 'op.edit_saved': '{code} updated.',
    'op.edit_title': 'Edit request', 'op.note_add': 'Add to the note', 'op.save_edit': 'Save changes', 'op.nothing': 'Nothing changed.',
    'out.reached': 'Reached: verified', 'out.unreachable': 'Unreachable', 'out.no_longer_needed': 'No longer needed',
    'out.false_report': 'False report', 'op.out_note': 'Call-back note', 'op.outcome_saved': '{code}: {outcome}',
    'op.tried': 'unreachable at {t}', 'op.more': 'and more', 'op.callback': 'Call-back',
    'k.need': 'Need', 'k.where': 'Where', 'k.address': 'Address', 'k.contact': 'Contact', 'k.note': 'Note',
    'k.source': 'Source', 'k.created': 'Created', 'k.history': 'History', 'k.household': 'Household',
    for_other: 'The caller reports for someone else', reporter_phone: "Caller's phone", reporter_name: "Caller's name",
    phone_other: 'Phone of the person in need', paste: 'Or paste the map link / coordinates the caller sent',
    'op.link': 'Link: {lat}, {lon}', 'f.reporter_phone_required': "Enter the caller's phone.",
  },
  vi: {
    former: 'xã cũ', in: 'thuộc', 'op.reveal': 'Xem số điện thoại', phone: 'Số điện thoại người gọi',
    phone_other: 'Số điện thoại người cần giúp', 'op.link': 'Liên kết: {lat}, {lon}',
    'f.reporter_phone_required': 'Hãy nhập số điện thoại người gọi.',
    'op.track': 'Liên kết theo dõi (đọc cho người gọi hoặc gửi SMS):', 'op.copy': 'Sao chép', 'op.copied': 'Đã sao chép',
    'op.sms': 'Gửi SMS cho người gọi', 'op.sms_text': 'Yêu cầu hỗ trợ {code} đã được ghi nhận. Theo dõi tại: {url}',
    'op.open': 'Mở', 'op.edit': 'Sửa', 'op.cancel': 'Hủy yêu cầu', 'op.cancelled': 'Đã hủy {code}.',
    'op.no_edit': 'Máy chủ này chưa cho sửa yêu cầu.', 'op.edit_saved': 'Đã cập nhật {code}.',
    'op.edit_title': 'Sửa yêu cầu', 'op.note_add': 'Thêm vào ghi chú', 'op.save_edit': 'Lưu thay đổi', 'op.nothing': 'Không có gì thay đổi.',
    'out.reached': 'Đã liên lạc, xác minh', 'out.unreachable': 'Không liên lạc được', 'out.no_longer_needed': 'Không cần nữa',
    'out.false_report': 'Báo sai', 'op.out_note': 'Ghi chú cuộc gọi lại', 'op.outcome_saved': '{code}: {outcome}',
    'op.tried': 'gọi không được lúc {t}', 'op.more': 'còn nữa', 'op.callback': 'Gọi lại',
    'k.need': 'Cần', 'k.where': 'Nơi', 'k.address': 'Địa chỉ', 'k.contact': 'Liên hệ', 'k.note': 'Ghi chú',
    'k.source': 'Nguồn', 'k.created': 'Gửi lúc', 'k.history': 'Diễn biến', 'k.household': 'Trong nhà có',
  },
};
const OUTCOMES = ['reached', 'unreachable', 'no_longer_needed', 'false_report'];
const UNV_N = 100;
initI18n(STR);

const S = {
  token: '', place: null, areas: { ward: null, former_ward: null, hamlet: null }, index: [], names: new Map(),
  map: null, lib: null, pin: null, callerReqs: [], unverified: [], unvMore: false, tried: new Map(),
  contacts: new Map(), session: null, canEdit: null, view: null,
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
  const [ward, former, hamlet] = await Promise.all(['ward', 'former_ward', 'hamlet'].map((l) => areasGeoJSON(l, { simplify: 20 })));
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
    S.names.set(`former_ward:${p.code}`, p.name);
    S.index.push({ level: 'former_ward', code: String(p.code), name: p.name, ward: w?.properties?.code, sub: `${t('former')} → ${w?.properties?.name || ''}`, pt, f });
  }
  for (const f of hamlet.features) {
    const p = f.properties || {};
    S.names.set(`hamlet:${p.code}`, p.name);
    S.index.push({ level: 'hamlet', code: String(p.code), name: p.name, ward: String(p.parent_code ?? ''), sub: `${t('lvl.hamlet')} · ${S.names.get(`ward:${p.parent_code}`) || ''}`, f });
  }
  // Names are known now: lists and the open request say them.
  renderUnverified();
  if (S.view && !$('#req-view').hidden && !$('#edit-form')) renderView(S.view);
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
  $('#location_text').value = '';
  clearError('location_text');
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
  else if (p?.kind === 'link') {
    const w = S.areas.ward && featureAt(S.areas.ward, p.lon, p.lat);
    txt = `✓ ${t('op.link', { lat: p.lat.toFixed(5), lon: p.lon.toFixed(5) })}${w ? ` · ${w.properties.name}` : ` · ${t('err.outside_area_pick')}`}`;
  }
  else if (p?.kind === 'point') {
    const w = S.areas.ward && featureAt(S.areas.ward, p.lon, p.lat);
    txt = `✓ ${p.precision === 'pin' ? t('op.place_map', { lat: p.lat.toFixed(5), lon: p.lon.toFixed(5) }) : p.label}${w ? ` · ${w.properties.name}` : ` · ${t('err.outside_area_pick')}`}`;
  }
  $('#place-chosen').textContent = txt;
  if (S.pin) {
    if (p?.kind === 'point' || p?.kind === 'link') S.pin.setLngLat([p.lon, p.lat]).addTo(S.map);
    else S.pin.remove();
  }
  updateDups();
}

// ---------- a pasted link or coordinates (read by the server) ----------
let pasteErr = null, pasteSeq = 0;
async function readPaste() {
  const text = $('#location_text').value.trim();
  const seq = ++pasteSeq;
  clearError('location_text');
  pasteErr = null;
  if (!text) { if (S.place?.kind === 'link') { S.place = null; showPlace(); } return; }
  try {
    const g = await geoParse(text);
    if (seq !== pasteSeq) return;
    S.place = { kind: 'link', text, lat: g.lat, lon: g.lon };
    $('#place').value = '';
    clearError('where');
    showPlace();
    if (S.map) S.map.easeTo({ center: [g.lon, g.lat], zoom: Math.max(S.map.getZoom(), 13) });
  } catch (e) {
    if (seq !== pasteSeq) return;
    pasteErr = e;
    if (S.place?.kind === 'link') { S.place = null; showPlace(); }
    showError('location_text', locMessage(e));
  }
}
$('#location_text').addEventListener('input', debounce(readPaste, 350));

// ---------- a caller who reports for someone else ----------
function updateReporter() {
  const other = $('#for_other').checked;
  $('#reporter-block').hidden = !other;
  $('#phone-label').textContent = t(other ? 'phone_other' : 'phone');
}
$('#for_other').addEventListener('change', updateReporter);

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
    renderCallerList();
  } catch (e) {
    box.replaceChildren(h('span', { class: 'field-error' }, errorText(e)));
    S.callerReqs = [];
  }
  updateDups();
}, 350);
$('#phone').addEventListener('input', lookup);

// The caller's earlier requests, each to open, edit or cancel.
function renderCallerList() {
  const box = $('#lookup');
  if (!S.callerReqs.length) {
    box.replaceChildren(phoneLooksValid($('#phone').value) ? h('span', { class: 'hint' }, t('op.lookup_none')) : '');
    return;
  }
  box.replaceChildren(h('div', null, h('strong', null, t('op.lookup_found', { n: S.callerReqs.length })),
    h('ul', { class: 'caller-list' }, S.callerReqs.slice(0, 8).map((r) => {
      // Out of the Tab order: Tab from the phone goes on to the place.
      const open = h('button', { type: 'button', class: 'btn-link', tabindex: '-1', dataset: { open: r.code } }, t('op.open'));
      open.addEventListener('click', () => openRequest(r.code));
      const acts = [open];
      if (OPEN.has(r.status) && S.canEdit !== false) {
        const ed = h('button', { type: 'button', class: 'btn-link', tabindex: '-1', dataset: { edit: r.code } }, t('op.edit'));
        ed.addEventListener('click', () => openRequest(r.code, { edit: true }));
        acts.push(ed);
      }
      if (OPEN.has(r.status)) acts.push(cancelButton(r.code, 'btn-link', -1));
      return h('li', { dataset: { code: r.code } }, h('strong', null, r.code), ` · ${t(`cat.${r.category}`)} · `,
        h('span', { class: `badge st-${r.status}` }, t(`st.${r.status}`)), ` · ${fmtAge(Date.now() - Date.parse(r.created_at))}`,
        r.address ? ` · ${r.address}` : '', ' ', h('span', { class: 'acts' }, acts));
    }))));
}

// Cancel with a second press to confirm (no window.confirm on a busy desk).
function cancelButton(code, cls = 'btn btn-small btn-danger', tabindex) {
  const b = h('button', { type: 'button', class: cls, tabindex: tabindex == null ? undefined : String(tabindex), dataset: { cancel: code } }, t('op.cancel'));
  let timer = 0;
  b.addEventListener('click', async () => {
    if (!b.classList.contains('armed')) {
      b.classList.add('armed');
      b.textContent = t('confirm.cancel');
      timer = setTimeout(() => { b.classList.remove('armed'); b.textContent = t('op.cancel'); }, 5000);
      return;
    }
    clearTimeout(timer);
    b.disabled = true;
    try {
      await call(`/requests/${encodeURIComponent(code)}/cancel`, { method: 'POST' });
      toast(t('op.cancelled', { code }));
      for (const r of S.callerReqs) if (r.code === code) r.status = 'cancelled';
      renderCallerList();
      updateDups();
      if (S.view?.code === code) openRequest(code);
    } catch (e) { toast(errorText(e), true); b.disabled = false; }
  });
  return b;
}

// ---------- one request: found by code, opened from a list ----------
$('#code-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const q = normCode($('#code-q').value);
  if (!q) return;
  openRequest(q);
});
$('#req-view-close').addEventListener('click', () => { S.view = null; $('#req-view').hidden = true; });

async function openRequest(code, opts = {}) {
  const err = $('#code-error');
  err.hidden = true;
  try {
    const r = reqOf(await call(`/requests/${encodeURIComponent(code)}`));
    S.view = r;
    renderView(r, opts);
    $('#req-view').hidden = false;
    $('#req-view').scrollIntoView({ block: 'nearest' });
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
    err.textContent = errorText(e);
    err.hidden = false;
  }
}

function placeText(r) {
  return [S.names.get(`ward:${r.ward_code}`) || r.ward_code,
    r.former_ward_code ? `${t('former')} ${S.names.get(`former_ward:${r.former_ward_code}`) || r.former_ward_code}` : '',
    r.hamlet_code ? `${t('lvl.hamlet')} ${S.names.get(`hamlet:${r.hamlet_code}`) || r.hamlet_code}` : ''].filter(Boolean).join(' · ');
}

function renderView(r, opts = {}) {
  const facts = [];
  const add = (k, ...v) => { if (v.some((x) => x !== undefined && x !== null && x !== '')) facts.push(h('dt', null, t(k)), h('dd', null, ...v)); };
  add('k.need', `${t(`cat.${r.category}`)} · ${fmtPeople(r.people || 1)}`);
  if (r.vulnerable?.length) add('k.household', r.vulnerable.map((v) => t(`vul.${v}`)).join(', '));
  add('k.where', placeText(r), isApprox(r) ? h('span', { class: 'badge approx' }, t('approx')) : '');
  add('k.address', r.address);
  add('k.contact', [r.name, r.phone].filter(Boolean).join(' · '));
  add('k.note', r.note);
  add('k.source', `${t(`src.${r.source}`)} · ${t('op.verified')}: ${r.verified ? '✓' : '–'}`);
  add('k.created', r.created_at ? `${fmtTime(r.created_at)} · ${fmtAge(Date.now() - Date.parse(r.created_at))}` : '');
  const acts = h('div', { class: 'row' });
  if (OPEN.has(r.status) && S.canEdit !== false) {
    const ed = h('button', { type: 'button', class: 'btn btn-small', id: 'edit-btn' }, t('op.edit'));
    ed.addEventListener('click', () => renderView(r, { edit: true }));
    acts.append(ed);
  }
  if (OPEN.has(r.status)) acts.append(cancelButton(r.code));
  const body = [
    h('h2', null, r.code, ' ', h('span', { class: `badge st-${r.status}`, dataset: { status: r.status } }, t(`st.${r.status}`)),
      r.priority === 'urgent' ? h('span', { class: 'badge urgent' }, t('prio.urgent')) : ''),
    h('dl', { class: 'facts' }, facts), acts,
  ];
  if (OPEN.has(r.status) && !r.verified) body.push(h('h3', null, t('op.callback')), outcomeBox(r));
  if (opts.edit && OPEN.has(r.status) && S.canEdit !== false) body.push(editForm(r));
  const hist = Array.isArray(r.history) ? r.history.slice(-10).reverse() : [];
  if (hist.length) {
    body.push(h('h3', null, t('k.history')), h('ol', { class: 'hist' }, hist.map((e) => h('li', null,
      h('time', { datetime: e.at }, fmtTime(e.at)), ' ',
      e.to && e.from !== e.to ? `${e.from ? `${t(`st.${e.from}`)} → ` : ''}${t(`st.${e.to}`)}` : (e.kind || ''),
      ` · ${e.actor === 'resident' || e.actor === 'system' ? t(`actor.${e.actor}`) : e.actor || ''}`, e.note ? ` — ${e.note}` : ''))));
  }
  $('#req-view-body').replaceChildren(...body);
  if (opts.edit) $('#req-view form select, #req-view form input')?.focus();
}

// Edit through PATCH /requests/{code}: only the fields that changed; the
// note is appended by the server.
function editForm(r) {
  const f = h('form', { class: 'edit-form', id: 'edit-form' }, h('h3', null, t('op.edit_title')));
  const cat = h('select', { name: 'category' }, CATEGORIES.map((c) => h('option', { value: c, selected: c === r.category }, t(`cat.${c}`))));
  const people = h('input', { type: 'number', name: 'people', min: '1', max: '500', value: String(r.people || 1) });
  const vul = h('div', { class: 'checks' }, VULNERABLE.map((v) => h('label', null,
    h('input', { type: 'checkbox', name: 'vulnerable', value: v, checked: (r.vulnerable || []).includes(v) }), ' ', t(`vul.${v}`))));
  const name = h('input', { name: 'name', maxlength: '100', value: r.name || '' });
  const phone = h('input', { name: 'phone', type: 'tel', value: r.phone || '' });
  const address = h('input', { name: 'address', maxlength: '200', value: r.address || '' });
  const note = h('textarea', { name: 'note', rows: '2', maxlength: '500' });
  const msg = h('p', { class: 'field-error', role: 'alert', hidden: true });
  const field = (k, el) => h('label', { class: 'field' }, h('span', null, t(k)), el);
  f.append(h('div', { class: 'two' }, field('category', cat), field('people', people)), vul,
    h('div', { class: 'two' }, field('name', name), field('phone', phone)), field('address', address),
    field('op.note_add', note), msg, h('div', { class: 'row' }, h('button', { type: 'submit', class: 'btn', id: 'edit-save' }, t('op.save_edit'))));
  f.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const body = {};
    if (cat.value !== r.category) body.category = cat.value;
    if (Number(people.value) !== Number(r.people)) body.people = Number(people.value);
    const v = $$('input[name=vulnerable]:checked', f).map((x) => x.value);
    if (v.slice().sort().join() !== (r.vulnerable || []).slice().sort().join()) body.vulnerable = v;
    for (const [k, el] of [['name', name], ['phone', phone], ['address', address]]) if (el.value.trim() !== (r[k] || '')) body[k] = el.value.trim();
    if (note.value.trim()) body.note = note.value.trim();
    if (!Object.keys(body).length) { msg.textContent = t('op.nothing'); msg.hidden = false; return; }
    try {
      await call(`/requests/${encodeURIComponent(r.code)}`, { method: 'PATCH', body });
      toast(t('op.edit_saved', { code: r.code }));
      openRequest(r.code);
      lookup();
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
      if (e.status === 405) { setCanEdit(false); msg.textContent = t('op.no_edit'); }
      else msg.textContent = e.field && t(`f.${e.field}`) !== `f.${e.field}` ? t(`f.${e.field}`) : errorText(e);
      msg.hidden = false;
    }
  });
  return f;
}

function setCanEdit(v) {
  S.canEdit = v;
  renderCallerList();
  if (S.view && !$('#req-view').hidden) renderView(S.view);
}

// Whether the server edits requests: PATCH on a code that cannot exist
// answers 404 (or 400) where it does, 405 where it does not; nothing is
// changed either way.
async function probeEdit() {
  try {
    await call('/requests/CC-000000', { method: 'PATCH', body: {} });
    setCanEdit(true);
  } catch (e) {
    setCanEdit(!(e instanceof ApiError && (e.status === 405 || e.status === 0)));
  }
}

// A call-back's outcome. "No longer needed" and "false report" also close
// the request (unless the server already did).
function outcomeBox(r, onDone) {
  const note = h('input', { class: 'out-note', placeholder: t('op.out_note'), 'aria-label': t('op.out_note'), maxlength: '500' });
  const box = h('div', { class: 'outcomes' });
  for (const o of OUTCOMES) {
    const b = h('button', { type: 'button', class: `btn btn-small out-${o}`, dataset: o === 'reached' ? { outcome: o, verify: r.code } : { outcome: o } }, t(`out.${o}`));
    b.addEventListener('click', () => sendOutcome(r, o, note.value.trim(), b, onDone));
    box.append(b);
  }
  box.append(note);
  return box;
}

async function sendOutcome(r, outcome, note, btn, onDone) {
  btn.disabled = true;
  try {
    const res = await call(`/requests/${encodeURIComponent(r.code)}/verify`, {
      method: 'POST', body: { verified: outcome === 'reached', outcome, ...(note ? { note } : {}) },
    });
    let got = reqOf(res) || {};
    if ((outcome === 'no_longer_needed' || outcome === 'false_report') && OPEN.has(got.status || r.status)) {
      got = reqOf(await call(`/requests/${encodeURIComponent(r.code)}/cancel`, { method: 'POST' })) || got;
    }
    toast(t('op.outcome_saved', { code: r.code, outcome: t(`out.${outcome}`) }));
    if (outcome === 'unreachable' && got.verified === false && OPEN.has(got.status || r.status)) {
      S.tried.set(r.code, new Date().toISOString());
    } else S.unverified = S.unverified.filter((x) => x.code !== r.code);
    renderUnverified();
    onDone?.();
    if (S.view?.code === r.code) openRequest(r.code);
  } catch (e) {
    toast(errorText(e), true);
    btn.disabled = false;
  }
}

function placePoint() {
  const p = S.place;
  if (p?.kind === 'point' || p?.kind === 'link') return [p.lon, p.lat];
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
function fieldBox(f) {
  const k = ['lat', 'lon', 'ward_code', 'hamlet_code', 'location_precision'].includes(f) ? 'where' : f === 'reporter' ? 'reporter.phone' : f;
  return $(`[data-field="${CSS.escape(k)}"]`, $('#intake'));
}
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
  if (!S.place) {
    if ($('#location_text').value.trim()) { showError('location_text', locMessage(pasteErr)); ok = false; } else fail('where', 'op.no_place');
  }
  if ($('#for_other').checked) {
    const rp = $('#reporter_phone').value.trim();
    if (!rp) fail('reporter.phone', 'f.reporter_phone_required'); else if (!phoneLooksValid(rp)) fail('reporter.phone', 'f.reporter.phone');
  }
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
  if ($('#for_other').checked) {
    b.reporter = { phone: $('#reporter_phone').value.trim() };
    const rn = $('#reporter_name').value.trim();
    if (rn) b.reporter.name = rn;
  }
  const p = S.place;
  if (p.kind === 'link') b.location_text = p.text;
  else if (p.kind === 'point') { b.lat = +p.lat.toFixed(6); b.lon = +p.lon.toFixed(6); b.location_precision = p.precision; }
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
    const sent = body();
    const res = await call('/requests', { method: 'POST', body: sent });
    const code = res?.request?.code || '';
    const msg = res?.duplicate ? t('op.dup_saved', { code }) : t('op.saved', { code });
    resetForm();
    showSaved(msg, code, res?.token, sent.phone);
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
    if (e.code === 'outside_service_area') showError(S.place?.kind === 'link' ? 'location_text' : 'where', t('err.outside_area_pick'));
    else if (e.status === 400 && e.field === 'location_text') showError('location_text', locMessage(e));
    else if (e.status === 400 && e.field && fieldBox(e.field)) {
      const k = `f.${e.field}`;
      showError(e.field, t(k) === k ? e.message || t('f.invalid') : t(k));
    } else showError('form', errorText(e));
  } finally {
    saving = false;
    $('#save').disabled = false;
  }
});

// After saving: the code, and the tracking link (the token is in the 201
// answer only) to read out or send to the caller by SMS.
function showSaved(msg, code, token, phone) {
  const box = $('#saved');
  const parts = [h('div', { class: 'saved-msg' }, msg)];
  if (token) {
    const url = new URL(`/track/${encodeURIComponent(code)}?token=${encodeURIComponent(token)}`, location.href).href;
    const copy = h('button', { type: 'button', class: 'btn btn-small', dataset: { act: 'copy' } }, t('op.copy'));
    copy.addEventListener('click', async () => {
      try { await navigator.clipboard.writeText(url); copy.textContent = t('op.copied'); } catch { /* select it by hand */ }
    });
    const tel = String(phone || '').replace(/[^\d+]/g, '');
    parts.push(h('div', { class: 'track-line' }, t('op.track')),
      h('a', { class: 'track-url', id: 'saved-track', href: url, target: '_blank', rel: 'noopener' }, url),
      h('div', { class: 'row' }, copy,
        h('a', { class: 'btn btn-small', id: 'saved-sms', href: `sms:${tel}?&body=${encodeURIComponent(t('op.sms_text', { code, url }))}` }, t('op.sms'))));
  }
  box.replaceChildren(...parts);
  box.hidden = false;
}

function resetForm() {
  $('#intake').reset();
  S.place = null;
  pasteErr = null;
  updateReporter();
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
// The oldest first, asked of the server (verified=false; source=web where
// the server filters by source, else filtered here and paged on).
async function refreshUnverified() {
  try {
    const out = [];
    let cursor, more = false;
    for (let page = 0; page < 5 && out.length <= UNV_N; page++) {
      let fc;
      try {
        fc = await call('/requests', { query: { status: 'open', verified: 'false', source: S.noSource ? undefined : 'web', limit: UNV_N + 1, cursor } });
      } catch (e) {
        // A server that refuses the source filter: filter here.
        if (!(e instanceof ApiError && e.status === 400 && e.field === 'source') || S.noSource) throw e;
        S.noSource = true;
        fc = await call('/requests', { query: { status: 'open', verified: 'false', limit: UNV_N + 1, cursor } });
      }
      out.push(...(fc?.features || []).map(reqOf).filter((r) => r && r.verified === false && (r.source || 'web') === 'web'));
      more = !!fc?.next;
      if (!more) break;
      cursor = fc.next;
    }
    S.unvMore = more || out.length > UNV_N;
    S.unverified = out.slice(0, UNV_N);
    renderUnverified();
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
  }
}
const refreshUnverifiedSoon = throttle(refreshUnverified, 5000);

// Events keep the list current: a new unverified web request joins the end
// (when the list holds the whole tail), a verified or closed one leaves.
function unverifiedOnEvent(type, r) {
  const i = S.unverified.findIndex((x) => x.code === r.code);
  if (i >= 0) {
    if (r.verified || !OPEN.has(r.status)) {
      S.unverified.splice(i, 1);
      if (S.unvMore && S.unverified.length < UNV_N / 2) refreshUnverifiedSoon();
    } else Object.assign(S.unverified[i], r);
    renderUnverified();
  } else if (type === 'request.created' && r.verified === false && (r.source || 'web') === 'web' && OPEN.has(r.status)) {
    if (!S.unvMore && S.unverified.length < UNV_N) S.unverified.push(r);
    else S.unvMore = true;
    renderUnverified();
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
      // The list may have been drawn again meanwhile: draw it from the state.
      renderUnverified();
    } catch (e) { toast(errorText(e), true); b.disabled = false; }
  });
  return b;
}

function renderUnverified() {
  $('#unv-count').textContent = `${S.unverified.length}${S.unvMore ? '+' : ''}`;
  const rows = S.unverified.map((r) => {
    const age = Date.now() - Date.parse(r.created_at);
    const tried = S.tried.get(r.code);
    return h('tr', { dataset: { code: r.code } },
      h('td', null, h('strong', null, r.code)),
      h('td', null, h('span', { class: `cat-ic ${r.category}` }, icon(r.category), t(`cat.${r.category}`)), ' · ', fmtPeople(r.people),
        r.note ? h('div', { class: 'hint' }, r.note) : null),
      h('td', null, S.names.get(`ward:${r.ward_code}`) || r.ward_code || '', r.address ? h('div', { class: 'hint' }, r.address) : null),
      h('td', null, contactCell(r), tried ? h('div', { class: 'hint tried' }, t('op.tried', { t: fmtTime(tried) })) : null),
      h('td', { class: age > 2 * 3600e3 ? 'age-old' : '' }, fmtAge(age, false)),
      h('td', null, outcomeBox(r)));
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
      $('#location_text').value = '';
      clearError('location_text');
      clearError('where');
      showPlace();
    });
    document.documentElement.dataset.map = 'ready';
  } catch {
    $('#map').hidden = true;
    document.documentElement.dataset.map = 'failed';
  }
}

onLangChange(() => { renderUnverified(); renderCallerList(); loadAreas(); if (S.view) renderView(S.view); updateReporter(); });

S.session = signIn('operator', (tok) => {
  S.token = tok;
  loadAreas();
  setupMap();
  refreshUnverified();
  probeEdit();
  mountImport($('#import-card'), { token: () => S.token, onImported: () => refreshUnverified() });
  const reopen = throttle(() => { if (S.view && !$('#req-view').hidden && !$('#edit-form')) openRequest(S.view.code); }, 2000);
  live({
    token: tok,
    onEvent: (type, data) => {
      const r = reqOf(data);
      if (!r?.code || !type.startsWith('request.')) return;
      unverifiedOnEvent(type, r);
      const c = S.callerReqs.find((x) => x.code === r.code);
      if (c) { Object.assign(c, r); renderCallerList(); }
      if (S.view?.code === r.code) reopen();
    },
    onState(s) {
      const el = $('#live');
      el.hidden = false;
      el.textContent = t(s === 'live' ? 'live.on' : s === 'down' ? 'live.off' : 'live.connecting');
      el.classList.toggle('off', s !== 'live');
    },
    onResync: refreshUnverified,
    onAuthError: () => S.session.expired(),
  });
  setInterval(refreshUnverified, 5 * 60000);
  $('#phone').focus();
});
