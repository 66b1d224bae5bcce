// team.js: /team, the volunteer team's field view. Token sign-in kept in
// localStorage; open requests nearby sorted by distance, in a list and on the
// map; claim, start, resolve with a note, release; contact (tel:/sms:) once the
// team holds the request; the team's position reported every minute; live
// updates and alerts from /api/v1/events with a ticket.
import { initI18n, t, onLangChange, fmtDistance, fmtAge, fmtPeople } from './i18n.js';
import { api, ApiError, errorText, getToken, setToken, setTokenScope, normCode } from './api.js';
import { $, h, icon, OPEN, reqOf, throttle, distanceM } from './util.js';
import { createMap, addAreaLayer, labelsByZoom, CONFIG } from './mapkit.js';
import { live } from './live.js';

const STR = {
  en: {
    title: 'Support team', signout: 'Sign out', signin_title: 'Support team sign-in', token: 'Team sign-in token',
    signin: 'Sign in', signin_hint: 'The token is issued by the command center. It stays on this device until you sign out.',
    status: 'Status', 'ts.available': 'Available', 'ts.busy': 'Busy', 'ts.off': 'Off duty', radius: 'Radius',
    refresh: 'Refresh', mine: "My team's tasks", nearby: 'Requests near the team',
  },
};
initI18n(STR);
setTokenScope('team');

const MINE_KEY = 'helpmap.team.mine';
const TEAM_KEY = 'helpmap.team.me';
const POS_EVERY_MS = 60000;
const S = {
  token: getToken(), me: loadJSON(TEAM_KEY, {}), pos: null, posSource: null, lastSent: null,
  nearby: [], mine: new Map(), details: new Map(), map: null, lib: null, markers: new Map(),
  teamMarker: null, events: null, timers: [], watch: null, flash: new Set(),
};

function loadJSON(k, d) { try { return JSON.parse(localStorage.getItem(k)) ?? d; } catch { return d; } }
function saveJSON(k, v) { try { localStorage.setItem(k, JSON.stringify(v)); } catch { /* ignore */ } }
function mineCodes() { const v = loadJSON(MINE_KEY, []); return Array.isArray(v) ? v : []; }
function setMineCodes(list) { saveJSON(MINE_KEY, [...new Set(list)].slice(-20)); }

let toastTimer = 0;
function toast(msg, bad = false) {
  const el = $('#toast');
  el.textContent = msg;
  el.classList.toggle('bad', bad);
  el.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { el.hidden = true; }, 6000);
}

// ---------- sign-in ----------
$('#signin').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const tok = $('#token').value.trim();
  const err = $('#signin-error');
  if (!tok) return;
  err.hidden = true;
  try {
    await api('/events/ticket', { method: 'POST', token: tok });
    setToken(tok);
    S.token = tok;
    $('#token').value = '';
    start();
  } catch (e) {
    err.textContent = e instanceof ApiError && (e.status === 401 || e.status === 403) ? t('sign.bad') : errorText(e);
    err.hidden = false;
  }
});

$('#signout').addEventListener('click', () => signOut());

function signOut() {
  setToken('');
  S.token = '';
  S.events?.close();
  S.events = null;
  for (const id of S.timers) clearInterval(id);
  S.timers = [];
  if (S.watch != null) navigator.geolocation?.clearWatch(S.watch);
  S.watch = null;
  saveJSON(TEAM_KEY, {});
  saveJSON(MINE_KEY, []);
  S.me = {};
  $('#app').hidden = true;
  $('#signout').hidden = true;
  $('#live').hidden = true;
  $('#signin').hidden = false;
  $('#token').focus();
}

function onAuthError() { toast(t('err.unauthorized'), true); signOut(); }

// Calls with the team token; 401 signs out.
async function call(path, opts = {}) {
  try {
    return await api(path, { ...opts, token: S.token });
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) onAuthError();
    throw e;
  }
}

function learnMe(res) {
  const tm = res?.team || (res && res.id != null && res.role ? res : null);
  if (tm && tm.id != null) {
    S.me = { id: tm.id, name: tm.name || S.me.name };
    saveJSON(TEAM_KEY, S.me);
    $('#team-name').textContent = S.me.name || '';
  }
}

// ---------- start ----------
async function start() {
  $('#signin').hidden = true;
  $('#app').hidden = false;
  $('#signout').hidden = false;
  $('#team-name').textContent = S.me.name || '';
  setupMap();
  startPosition();
  call('/teams/me/status', { method: 'POST', body: { status: $('#team-status').value } }).then(learnMe).catch(() => {});
  S.events = live({
    token: S.token,
    onEvent,
    onState(s) {
      const el = $('#live');
      el.hidden = false;
      el.textContent = t(s === 'live' ? 'live.on' : s === 'down' ? 'live.off' : 'live.connecting');
      el.classList.toggle('off', s !== 'live');
    },
    onResync: () => refreshAll(),
    onAuthError,
  });
  S.timers.push(setInterval(sendPosition, POS_EVERY_MS));
  S.timers.push(setInterval(() => refreshAll(), 60000));
  refreshAll();
}

$('#team-status').addEventListener('change', async () => {
  try {
    learnMe(await call('/teams/me/status', { method: 'POST', body: { status: $('#team-status').value } }));
    toast(t('saved'));
  } catch (e) { toast(errorText(e), true); }
});
$('#radius').addEventListener('change', () => refreshNearby());
$('#refresh').addEventListener('click', () => refreshAll());

// ---------- position ----------
function startPosition() {
  const fallback = () => {
    if (S.pos) return;
    const c = CONFIG.center;
    setPos(c[1], c[0], 'manual');
    $('#map-note').textContent = t('team.pos_manual');
  };
  if (!navigator.geolocation) { fallback(); return; }
  S.watch = navigator.geolocation.watchPosition((p) => {
    const first = !S.pos || S.posSource !== 'gps';
    setPos(p.coords.latitude, p.coords.longitude, 'gps');
    $('#map-note').textContent = '';
    if (first) { sendPosition(); refreshNearby(); if (S.map) S.map.easeTo({ center: [S.pos.lon, S.pos.lat], zoom: 13 }); }
  }, () => { fallback(); refreshNearby(); }, { enableHighAccuracy: true, maximumAge: 30000, timeout: 20000 });
  setTimeout(() => { if (!S.pos) { fallback(); refreshNearby(); } }, 8000);
}

function setPos(lat, lon, source) {
  S.pos = { lat, lon };
  S.posSource = source;
  if (S.teamMarker) S.teamMarker.setLngLat([lon, lat]);
}

async function sendPosition() {
  if (!S.pos || !S.token) return;
  try {
    learnMe(await call('/teams/me/location', { method: 'POST', body: { lat: +S.pos.lat.toFixed(6), lon: +S.pos.lon.toFixed(6) } }));
    S.lastSent = new Date();
    $('#pos-status').textContent = t('team.pos_sent', { t: S.lastSent.toLocaleTimeString('vi-VN', { hour: '2-digit', minute: '2-digit' }) });
  } catch (e) {
    $('#pos-status').textContent = errorText(e);
  }
}

// ---------- data ----------
const refreshAll = throttle(async () => { await Promise.all([refreshNearby(), refreshMine()]); }, 1500);

async function refreshNearby() {
  if (!S.pos || !S.token) return;
  try {
    const fc = await call('/requests/nearby', {
      query: { lat: S.pos.lat.toFixed(6), lon: S.pos.lon.toFixed(6), radius_m: $('#radius').value, limit: 50 },
    });
    S.nearby = (fc?.features || []).map(reqOf).filter(Boolean);
    for (const r of S.nearby) if (isMine(r) && !S.mine.has(r.code)) { S.mine.set(r.code, r); addMine(r.code); }
    render();
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
    if (e.status !== 401) toast(errorText(e), true);
  }
}

async function refreshMine() {
  const codes = mineCodes();
  await Promise.all(codes.map(refreshOne));
  render();
}

async function refreshOne(code) {
  try {
    const res = await call(`/requests/${encodeURIComponent(code)}`);
    const r = reqOf(res);
    if (!r) return;
    if (!OPEN.has(r.status) || (S.me.id != null && r.team_id != null && r.team_id !== S.me.id)) {
      S.mine.delete(code);
      S.details.delete(code);
      setMineCodes(mineCodes().filter((c) => c !== code));
    } else {
      S.mine.set(code, r);
      S.details.set(code, r);
    }
  } catch (e) {
    if (e instanceof ApiError && (e.status === 404 || e.status === 403)) {
      S.mine.delete(code);
      setMineCodes(mineCodes().filter((c) => c !== code));
    }
  }
}

function addMine(code) { setMineCodes([...mineCodes(), code]); }

function isMine(r) {
  if (S.me.id != null && r.team_id != null) return r.team_id === S.me.id;
  return mineCodes().includes(r.code) && r.status !== 'new';
}

// ---------- actions ----------
async function act(r, what, btn, card) {
  const code = r.code;
  btn.disabled = true;
  try {
    let res;
    if (what === 'claim') {
      res = await call(`/requests/${encodeURIComponent(code)}/claim`, { method: 'POST' });
      const got = reqOf(res);
      if (got?.team_id != null && S.me.id == null) { S.me.id = got.team_id; saveJSON(TEAM_KEY, S.me); }
      addMine(code);
    } else {
      const note = card.querySelector('textarea')?.value.trim() || undefined;
      const status = { start: 'in_progress', resolve: 'resolved', release: 'new' }[what];
      res = await call(`/requests/${encodeURIComponent(code)}/status`, { method: 'POST', body: { status, note } });
      if (what !== 'start') { setMineCodes(mineCodes().filter((c) => c !== code)); S.mine.delete(code); S.details.delete(code); }
    }
    toast(`${code}: ${t(`st.${{ claim: 'assigned', start: 'in_progress', resolve: 'resolved', release: 'new' }[what]}`)}`);
    if (what === 'claim' || what === 'start') await refreshOne(code);
    await refreshNearby();
    render();
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
    toast(`${code}: ${errorText(e)}`, true);
    refreshAll();
  } finally {
    btn.disabled = false;
  }
}

// ---------- rendering ----------
function card(r, mine) {
  const d = S.details.get(r.code) || r;
  const dist = r.distance_m ?? (S.pos ? distanceM(S.pos.lon, S.pos.lat, r.lon, r.lat) : null);
  const li = h('li', {
    class: `req req-cat-${r.category}${r.priority === 'urgent' ? ' is-urgent' : ''}${mine ? ' is-mine' : ''}${S.flash.has(r.code) ? ' flash' : ''}`,
    dataset: { code: r.code, status: r.status }, id: `req-${normCode(r.code)}`,
  });
  li.append(h('div', { class: 'req-head' },
    h('span', { class: `cat-ic ${r.category}` }, icon(r.category), t(`cat.${r.category}`)),
    h('span', { class: 'code-s' }, r.code),
    h('span', { class: `badge st-${r.status}` }, t(`st.${r.status}`)),
    r.priority === 'urgent' ? h('span', { class: 'badge urgent' }, t('prio.urgent')) : null,
    h('span', { class: 'dist' }, fmtDistance(dist))));
  const meta = [fmtPeople(r.people || 1)];
  if (r.vulnerable?.length) meta.push(r.vulnerable.map((v) => t(`vul.${v}`)).join(', '));
  if (r.created_at) meta.push(fmtAge(Date.now() - Date.parse(r.created_at)));
  li.append(h('p', { class: 'req-meta' }, meta.join(' · ')));
  if (mine && (d.phone || d.name || d.address || d.note)) {
    const c = h('div', { class: 'contact' }, h('strong', null, t('team.contact'), ': '), d.name || '');
    if (d.address) c.append(h('div', null, d.address));
    if (d.note) c.append(h('p', { class: 'req-note' }, d.note));
    if (d.phone) {
      c.append(h('div', { class: 'req-actions' },
        h('a', { class: 'btn btn-small', href: `tel:${d.phone}` }, icon('phone'), `${t('team.call')} ${d.phone}`),
        h('a', { class: 'btn btn-small', href: `sms:${d.phone}` }, icon('sms'), t('team.sms')),
        h('a', { class: 'btn btn-small', href: `geo:${r.lat},${r.lon}` }, icon('pin'), t('team.directions'))));
    }
    li.append(c);
  }
  const acts = h('div', { class: 'req-actions' });
  const btn = (what, label, cls) => {
    const b = h('button', { type: 'button', class: `btn ${cls || ''}`, dataset: { act: what } }, t(label));
    b.addEventListener('click', () => act(r, what, b, li));
    return b;
  };
  if (r.status === 'new') acts.append(btn('claim', 'team.claim'));
  else if (mine) {
    acts.append(h('textarea', { rows: '2', placeholder: t('team.note_ph'), 'aria-label': t('team.note_ph') }));
    if (r.status === 'assigned') acts.append(btn('start', 'team.start'), btn('resolve', 'team.resolve', 'btn-ok'));
    if (r.status === 'in_progress') acts.append(btn('resolve', 'team.resolve', 'btn-ok'));
    acts.append(btn('release', 'team.release', 'btn-warn'));
  } else acts.append(h('span', { class: 'hint' }, t('team.other')));
  li.append(acts);
  return li;
}

function render() {
  const mine = [...S.mine.values()].filter((r) => OPEN.has(r.status));
  const mineSet = new Set(mine.map((r) => r.code));
  // keep typed notes across re-renders
  const notes = new Map();
  for (const ta of document.querySelectorAll('.req textarea')) if (ta.value) notes.set(ta.closest('.req').dataset.code, ta.value);
  $('#mine-section').hidden = !mine.length;
  $('#mine-list').replaceChildren(...mine.map((r) => card({ ...r, ...(S.nearby.find((x) => x.code === r.code) || {}) }, true)));
  const others = S.nearby.filter((r) => !mineSet.has(r.code)).sort((a, b) => (a.distance_m ?? 0) - (b.distance_m ?? 0));
  $('#nearby-list').replaceChildren(...(others.length ? others.map((r) => card(r, false)) : [h('li', { class: 'hint' }, t('team.none'))]));
  for (const ta of document.querySelectorAll('.req textarea')) {
    const v = notes.get(ta.closest('.req').dataset.code);
    if (v) ta.value = v;
  }
  S.flash.clear();
  renderMarkers([...mine, ...others], mineSet);
}

function renderMarkers(list, mineSet) {
  if (!S.map) return;
  const keep = new Set();
  for (const r of list) {
    if (r.lat == null) continue;
    keep.add(r.code);
    let m = S.markers.get(r.code);
    if (!m) {
      const el = h('button', { type: 'button', class: `req-dot ${r.category}`, title: `${r.code} · ${t(`cat.${r.category}`)}` });
      el.addEventListener('click', () => {
        const c = document.getElementById(`req-${normCode(r.code)}`);
        if (c) { c.scrollIntoView({ block: 'center', behavior: 'smooth' }); c.classList.remove('flash'); void c.offsetWidth; c.classList.add('flash'); }
      });
      m = new S.lib.Marker({ element: el }).setLngLat([r.lon, r.lat]).addTo(S.map);
      S.markers.set(r.code, m);
    }
    m.getElement().classList.toggle('mine', mineSet.has(r.code));
  }
  for (const [code, m] of S.markers) if (!keep.has(code)) { m.remove(); S.markers.delete(code); }
}

async function setupMap() {
  if (S.map) return;
  try {
    const { map, lib } = await createMap($('#map'));
    S.map = map; S.lib = lib;
    await addAreaLayer(map, 'ward', { lib });
    addAreaLayer(map, 'hamlet', { lib }).catch(() => {});
    labelsByZoom(map, $('#map'), 'hamlet', 13);
    const el = h('div', { class: 'team-dot', title: 'team' });
    const p = S.pos || { lat: CONFIG.center[1], lon: CONFIG.center[0] };
    S.teamMarker = new lib.Marker({ element: el, draggable: true }).setLngLat([p.lon, p.lat]).addTo(map);
    S.teamMarker.on('dragend', () => {
      const ll = S.teamMarker.getLngLat();
      setPos(ll.lat, ll.lng, 'manual');
      sendPosition();
      refreshNearby();
    });
    if (S.pos) map.jumpTo({ center: [S.pos.lon, S.pos.lat], zoom: 12 });
    document.documentElement.dataset.map = 'ready';
    render();
  } catch {
    $('#map').hidden = true;
    document.documentElement.dataset.map = 'failed';
  }
}

// ---------- live ----------
function beep() {
  try {
    const ctx = new AudioContext();
    const o = ctx.createOscillator();
    const g = ctx.createGain();
    o.frequency.value = 880;
    g.gain.value = 0.1;
    o.connect(g).connect(ctx.destination);
    o.start();
    o.stop(ctx.currentTime + 0.25);
    o.onended = () => ctx.close();
  } catch { /* no audio */ }
}

function onEvent(type, data) {
  const r = reqOf(data);
  if (type === 'request.alert' && r?.code) {
    toast(t('team.alert', { code: r.code }));
    S.flash.add(r.code);
    navigator.vibrate?.([200, 100, 200]);
    beep();
  }
  if (type === 'request.updated' && r?.code && S.mine.has(r.code)) refreshOne(r.code).then(render);
  if (type.startsWith('request.')) refreshNearbySoon();
}
const refreshNearbySoon = throttle(() => refreshNearby(), 2000);

onLangChange(() => render());

if (S.token) start();
else { $('#signin').hidden = false; $('#token').focus(); }
