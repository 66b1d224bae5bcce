// team.js: /team, the volunteer team's field view. Token sign-in kept in
// localStorage; open requests nearby sorted by distance, in a list and on the
// map; claim, start, resolve with a note, release; contact (tel:/sms:) once the
// team holds the request; the team's position reported every minute; live
// updates and alerts from /api/v1/events with a ticket.
//
// In a crisis, on a cheap phone:
// - The nearby list is kept current from the events themselves; an event
//   outside the team's radius costs nothing more than the event. The list is
//   fetched again only when the team moves, changes its radius, reconnects,
//   or every 5 minutes as a safety net.
// - Alerts are batched: at most one vibration (and beep) per 10 s, a count,
//   the nearest request's distance and place, only within the radius the team
//   chose; they show in a bar of the header that is always there, so they
//   never cover a button.
// - Requests whose place is approximate (not GPS or a pin) say so on the card,
//   on the map and before directions; the commune, hamlet and the server's
//   public place hint are shown before the claim (never contact data).
// - Requests another team holds are listed apart from those to claim.
// - "Resolved" and "Release" are sent after a 5 s undo window; leaving the
//   page sends them at once.
import { initI18n, t, onLangChange, fmtDistance, fmtAge, fmtPeople } from './i18n.js';
import { api, ApiError, errorText, getToken, setToken, setTokenScope, normCode } from './api.js';
import { $, h, icon, OPEN, reqOf, throttle, distanceM, isApprox } from './util.js';
import { createMap, addAreaLayer, labelsByZoom, CONFIG } from './mapkit.js';
import { ensureNames, placeParts, wardLabel } from './names.js';
import { live } from './live.js';
import { nearestPoints, renderPoints } from './flood.js';

const STR = {
  en: {
    title: 'Support team', signout: 'Sign out', signin_title: 'Support team sign-in', token: 'Team sign-in token',
    signin: 'Sign in', signin_hint: 'The token is issued by the command center. It stays on this device until you sign out.',
    status: 'Status', 'ts.available': 'Available', 'ts.busy': 'Busy', 'ts.off': 'Off duty', radius: 'Radius',
    refresh: 'Refresh', mine: "My team's tasks", nearby: 'Requests to take near the team',
    'a.count': '{n} new requests near the team', 'a.one': '1 new request near the team',
    'a.near': 'nearest {code} · {dist}', 'a.see': 'Show', 'a.close': 'Close', 'a.idle': 'Alerts for new requests within {r}.',
    'a.assigned': 'The command center gave your team {code}',
    others: 'Held by other teams ({n})', 'u.resolve': 'Marked resolved: sent in {n} s', 'u.release': 'Released: sent in {n} s',
    undo: 'Undo', 'dir.approx': 'Find the address (approximate place)', 'dir.approx_note': 'Approximate place ({place}): call the person and ask the way before setting off.',
    release_hint: 'Another team can take it then.',
    points_near: 'Relief points near the team', reporter: 'Reported by', call_reporter: 'Call the reporter',
  },
  vi: {
    'a.count': '{n} yêu cầu mới gần tổ', 'a.one': '1 yêu cầu mới gần tổ',
    'a.near': 'gần nhất {code} · {dist}', 'a.see': 'Xem', 'a.close': 'Đóng', 'a.idle': 'Báo khi có yêu cầu mới trong {r}.',
    'a.assigned': 'Ban chỉ huy giao cho tổ yêu cầu {code}',
    others: 'Tổ khác đang xử lý ({n})', 'u.resolve': 'Đã giải quyết: gửi sau {n} giây', 'u.release': 'Trả lại: gửi sau {n} giây',
    undo: 'Hoàn tác', 'dir.approx': 'Tìm theo địa chỉ (vị trí gần đúng)', 'dir.approx_note': 'Vị trí gần đúng ({place}): gọi người dân hỏi đường trước khi đi.',
    release_hint: 'Tổ khác sẽ nhận được yêu cầu này.',
    reporter: 'Người báo giúp', call_reporter: 'Gọi người báo giúp',
  },
};
initI18n(STR);
setTokenScope('team');

// A sign-in link from the command center (its QR code): keep the token, drop it from the URL
// (and so from the history and from photos of the screen).
{
  const m = /(?:^#|&)token=([0-9A-Za-z_-]{16,128})(?:&|$)/.exec(location.hash);
  if (m) {
    setToken(m[1]);
    history.replaceState(null, '', location.pathname + location.search);
  }
}

const MINE_KEY = 'helpmap.team.mine';
const TEAM_KEY = 'helpmap.team.me';
const RADIUS_KEY = 'helpmap.team.radius';
const POS_EVERY_MS = 60000;
const SAFETY_REFRESH_MS = 5 * 60000;
const REFETCH_MOVED_M = 500;
const ALERT_GAP_MS = 10000;
const ALERT_FORGET_MS = 3 * 60000;
const UNDO_MS = 5000;
const NEARBY_LIMIT = 50;

const S = {
  token: getToken(), me: loadJSON(TEAM_KEY, {}), pos: null, posSource: null, lastSent: null, fetchedAt: null,
  nearby: [], mine: new Map(), details: new Map(), map: null, lib: null, markers: new Map(),
  teamMarker: null, events: null, timers: [], watch: null, flash: new Set(),
  undo: new Map(), // code -> {what, note, deadline, timer}
  cardMsg: new Map(), // code -> {text, bad}
};
const A = { items: [], lastBuzz: 0, timer: 0, unbuzzed: 0, msg: null, msgTimer: 0, forgetTimer: 0 };

function loadJSON(k, d) { try { return JSON.parse(localStorage.getItem(k)) ?? d; } catch { return d; } }
function saveJSON(k, v) { try { localStorage.setItem(k, JSON.stringify(v)); } catch { /* ignore */ } }
function mineCodes() { const v = loadJSON(MINE_KEY, []); return Array.isArray(v) ? v : []; }
function setMineCodes(list) { saveJSON(MINE_KEY, [...new Set(list)].slice(-20)); }
function radius() { return Number($('#radius').value) || 5000; }

{
  const saved = loadJSON(RADIUS_KEY, null);
  if (saved && [...$('#radius').options].some((o) => o.value === String(saved))) $('#radius').value = String(saved);
}

// ---------- the header bar: alerts and messages, never over the page ----------
function toast(msg, bad = false) {
  A.msg = { text: msg, bad };
  clearTimeout(A.msgTimer);
  A.msgTimer = setTimeout(() => { A.msg = null; renderBar(); }, 5000);
  renderBar();
}

function renderBar() {
  const bar = $('#alert-bar');
  bar.classList.toggle('bad', !!A.msg?.bad);
  bar.classList.toggle('on', !!A.items.length && !A.msg);
  if (A.msg) { bar.replaceChildren(h('span', { class: 'alert-text' }, A.msg.text)); return; }
  if (!A.items.length) {
    bar.replaceChildren(h('span', { class: 'alert-idle' }, t('a.idle', { r: fmtDistance(radius()) })));
    return;
  }
  const near = A.items.reduce((a, b) => ((b.d ?? Infinity) < (a.d ?? Infinity) ? b : a));
  const r = near.r;
  const where = placeParts(r, t).slice(0, 2).join(' · ');
  const see = h('button', { type: 'button', class: 'btn btn-small', dataset: { act: 'see-alert' } }, t('a.see'));
  see.addEventListener('click', () => {
    const c = document.getElementById(`req-${normCode(r.code)}`);
    if (c) { c.scrollIntoView({ block: 'center', behavior: 'smooth' }); c.classList.remove('flash'); void c.offsetWidth; c.classList.add('flash'); }
  });
  const close = h('button', { type: 'button', class: 'alert-close', 'aria-label': t('a.close'), title: t('a.close') }, '×');
  close.addEventListener('click', forgetAlerts);
  bar.replaceChildren(
    h('span', { class: 'alert-text' },
      h('strong', { class: 'alert-count' }, A.items.length === 1 ? t('a.one') : t('a.count', { n: A.items.length })),
      ' · ', t('a.near', { code: r.code, dist: `${isApprox(r) ? '≈ ' : ''}${fmtDistance(near.d)}` }),
      ` · ${t(`cat.${r.category}`)}`, where ? ` · ${where}` : ''),
    see, close);
}

function forgetAlerts() {
  A.items = [];
  A.unbuzzed = 0;
  clearTimeout(A.timer);
  A.timer = 0;
  renderBar();
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
  flushUndo();
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
  $('#alert-bar').hidden = true;
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
  $('#alert-bar').hidden = false;
  renderBar();
  $('#team-name').textContent = S.me.name || '';
  setupMap();
  startPosition();
  // Names for the cards: communes from /stats, hamlets (names only) once a day.
  Promise.all([ensureNames('ward'), ensureNames('hamlet')]).then(() => renderSoon());
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
  S.timers.push(setInterval(() => refreshAll(), SAFETY_REFRESH_MS));
  S.timers.push(setInterval(tickUndo, 1000));
  refreshAll();
}

$('#team-status').addEventListener('change', async () => {
  try {
    learnMe(await call('/teams/me/status', { method: 'POST', body: { status: $('#team-status').value } }));
    toast(t('saved'));
  } catch (e) { toast(errorText(e), true); }
});
$('#radius').addEventListener('change', () => {
  saveJSON(RADIUS_KEY, radius());
  // Alerts beyond the new radius no longer concern the team.
  A.items = A.items.filter((x) => x.d == null || x.d <= radius());
  renderBar();
  refreshNearby();
});
$('#refresh').addEventListener('click', () => refreshAll());

// ---------- position ----------
function startPosition() {
  const fallback = () => {
    if (S.pos) return;
    const c = CONFIG.center;
    setPos(c[1], c[0], 'manual');
    $('#map-note').textContent = t('team.pos_manual');
  };
  if (!navigator.geolocation) { fallback(); refreshNearby(); return; }
  S.watch = navigator.geolocation.watchPosition((p) => {
    const first = !S.pos || S.posSource !== 'gps';
    setPos(p.coords.latitude, p.coords.longitude, 'gps');
    $('#map-note').textContent = '';
    if (first) { sendPosition(); refreshNearby(); refreshPoints(); if (S.map) S.map.easeTo({ center: [S.pos.lon, S.pos.lat], zoom: 13 }); }
    else if (S.fetchedAt && distanceM(S.fetchedAt.lon, S.fetchedAt.lat, S.pos.lon, S.pos.lat) > REFETCH_MOVED_M) refreshNearbySoon();
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
const refreshAll = throttle(async () => { await Promise.all([refreshNearby(), refreshMine(), refreshPoints()]); }, 1500);
const refreshNearbySoon = throttle(() => refreshNearby(), 10000);

// The nearest relief points to the team (shelters to bring people to, boats, charging).
let points = [];
async function refreshPoints() {
  if (!S.pos) return;
  try { points = await nearestPoints(S.pos.lat, S.pos.lon, { limit: 5, all: true }); } catch { return; }
  renderPoints($('#points-list'), points);
  $('#points').hidden = false;
}
const refreshPointsSoon = throttle(refreshPoints, 2000);

async function refreshNearby() {
  if (!S.pos || !S.token) return;
  const at = { ...S.pos };
  try {
    const fc = await call('/requests/nearby', {
      query: { lat: at.lat.toFixed(6), lon: at.lon.toFixed(6), radius_m: radius(), limit: NEARBY_LIMIT },
    });
    S.fetchedAt = at;
    S.nearby = (fc?.features || []).map(reqOf).filter(Boolean);
    for (const r of S.nearby) if (isMine(r) && !S.mine.has(r.code)) { S.mine.set(r.code, r); addMine(r.code); }
    render();
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
    if (e.status !== 401) toast(errorText(e), true);
  }
}

// What the team holds, whoever gave it (a claim here or the command center): one call to
// GET /teams/me/requests, contact data included (the server records that the team saw it).
async function refreshMine() {
  if (!S.token) return;
  try {
    const fc = await call('/teams/me/requests');
    const held = (fc?.features || []).map(reqOf).filter(Boolean);
    S.mine = new Map(held.map((r) => [r.code, r]));
    for (const r of held) S.details.set(r.code, r);
    setMineCodes(held.map((r) => r.code));
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
    if (e.status !== 404) return;
    await Promise.all(mineCodes().map(refreshOne)); // a server without the route
  }
  render();
}

// Assignments not yet seen: counted in the page title until the page is touched.
const BASE_TITLE = document.title;
let unseen = 0;
function badge() { document.title = unseen ? `(${unseen}) ${BASE_TITLE}` : BASE_TITLE; }
function seen() { if (unseen) { unseen = 0; badge(); } }
addEventListener('pointerdown', seen);
addEventListener('keydown', seen);

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

function distanceTo(r) {
  if (!S.pos || r.lat == null || r.lon == null) return null;
  return distanceM(S.pos.lon, S.pos.lat, r.lon, r.lat);
}

// An event changes the list in place. Outside the radius: nothing to do.
function applyEvent(r) {
  const i = S.nearby.findIndex((x) => x.code === r.code);
  if (i >= 0) {
    if (!OPEN.has(r.status)) S.nearby.splice(i, 1);
    else S.nearby[i] = { ...S.nearby[i], ...r, distance_m: S.nearby[i].distance_m };
    renderSoon();
    return;
  }
  if (!OPEN.has(r.status)) return;
  const d = distanceTo(r);
  if (d == null || d > radius()) return;
  S.nearby.push({ ...r, distance_m: Math.round(d) });
  S.nearby.sort((a, b) => (a.distance_m ?? 0) - (b.distance_m ?? 0));
  if (S.nearby.length > NEARBY_LIMIT) S.nearby.length = NEARBY_LIMIT;
  renderSoon();
}

// ---------- actions ----------
const ACT_STATUS = { start: 'in_progress', resolve: 'resolved', release: 'new' };

async function act(r, what, btn, card) {
  const code = r.code;
  if (what === 'resolve' || what === 'release') {
    const note = card.querySelector('textarea')?.value.trim() || undefined;
    const u = { what, note, deadline: Date.now() + UNDO_MS, timer: 0 };
    u.timer = setTimeout(() => commit(code), UNDO_MS);
    S.undo.set(code, u);
    S.cardMsg.delete(code);
    render();
    return;
  }
  btn.disabled = true;
  S.cardMsg.delete(code);
  try {
    if (what === 'claim') {
      const res = await call(`/requests/${encodeURIComponent(code)}/claim`, { method: 'POST' });
      const got = reqOf(res);
      if (got?.team_id != null && S.me.id == null) { S.me.id = got.team_id; saveJSON(TEAM_KEY, S.me); }
      addMine(code);
      if (got) { S.mine.set(code, got); applyEvent(got); }
    } else {
      const res = await call(`/requests/${encodeURIComponent(code)}/status`, { method: 'POST', body: { status: ACT_STATUS[what] } });
      const got = reqOf(res);
      if (got) applyEvent(got);
    }
    await refreshOne(code);
    render();
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
    S.cardMsg.set(code, { text: errorText(e), bad: true });
    if (e.code === 'already_claimed' || e.code === 'invalid_transition') refreshOne(code).then(() => refreshNearby());
    render();
  } finally {
    btn.disabled = false;
  }
}

function undo(code) {
  const u = S.undo.get(code);
  if (!u) return;
  clearTimeout(u.timer);
  S.undo.delete(code);
  render();
}

// Send a resolve/release whose undo window has run out (or at once when the
// page is being left: keepalive lets the call outlive the page).
async function commit(code, leaving = false) {
  const u = S.undo.get(code);
  if (!u) return;
  clearTimeout(u.timer);
  S.undo.delete(code);
  const body = { status: ACT_STATUS[u.what], note: u.note };
  if (leaving) {
    api(`/requests/${encodeURIComponent(code)}/status`, { method: 'POST', body, token: S.token, keepalive: true }).catch(() => {});
    return;
  }
  try {
    const res = await call(`/requests/${encodeURIComponent(code)}/status`, { method: 'POST', body });
    setMineCodes(mineCodes().filter((c) => c !== code));
    S.mine.delete(code);
    S.details.delete(code);
    const got = reqOf(res);
    if (got) applyEvent(got);
    toast(`${code}: ${t(`st.${body.status}`)}`);
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
    S.cardMsg.set(code, { text: errorText(e), bad: true });
    refreshOne(code);
  }
  render();
}

function flushUndo() { for (const code of [...S.undo.keys()]) commit(code, true); }
addEventListener('pagehide', flushUndo);
addEventListener('beforeunload', flushUndo);
document.addEventListener('visibilitychange', () => { if (document.visibilityState === 'hidden') flushUndo(); });

function tickUndo() {
  for (const [code, u] of S.undo) {
    const el = document.querySelector(`#req-${normCode(code)} .undo-text`);
    if (el) el.textContent = t(`u.${u.what}`, { n: Math.max(0, Math.ceil((u.deadline - Date.now()) / 1000)) });
  }
}

// ---------- rendering ----------
function card(r, kind) {
  const mine = kind === 'mine';
  const d = S.details.get(r.code) || r;
  const dist = r.distance_m ?? distanceTo(r);
  const approx = isApprox(r);
  const li = h('li', {
    class: `req req-cat-${r.category}${r.priority === 'urgent' ? ' is-urgent' : ''}${mine ? ' is-mine' : ''}${kind === 'other' ? ' is-other' : ''}${S.flash.has(r.code) ? ' flash' : ''}`,
    dataset: { code: r.code, status: r.status }, id: `req-${normCode(r.code)}`,
  });
  li.append(h('div', { class: 'req-head' },
    h('span', { class: `cat-ic ${r.category}` }, icon(r.category), t(`cat.${r.category}`)),
    h('span', { class: 'code-s' }, r.code),
    h('span', { class: `badge st-${r.status}` }, t(`st.${r.status}`)),
    r.priority === 'urgent' ? h('span', { class: 'badge urgent' }, t('prio.urgent')) : null,
    h('span', { class: 'dist' }, dist == null ? '' : `${approx ? '≈ ' : ''}${fmtDistance(dist)}`)));
  const place = placeParts(r, t);
  li.append(h('p', { class: 'req-place' },
    approx ? h('span', { class: 'badge approx', title: t(`prec.${r.location_precision}`) }, t('approx')) : null,
    approx && place.length ? ' ' : null, place.join(' · ')));
  const meta = [fmtPeople(r.people || 1)];
  if (r.vulnerable?.length) meta.push(r.vulnerable.map((v) => t(`vul.${v}`)).join(', '));
  if (r.created_at) meta.push(fmtAge(Date.now() - Date.parse(r.created_at)));
  li.append(h('p', { class: 'req-meta' }, meta.join(' · ')));
  if (mine && (d.phone || d.name || d.address || d.note || d.reporter)) {
    const c = h('div', { class: 'contact' }, h('strong', null, t('team.contact'), ': '), d.name || '');
    if (d.address) c.append(h('div', null, d.address));
    if (d.note) c.append(h('p', { class: 'req-note' }, d.note));
    if (d.phone) {
      c.append(h('div', { class: 'req-actions' },
        h('a', { class: 'btn btn-small', href: `tel:${d.phone}` }, icon('phone'), `${t('team.call')} ${d.phone}`),
        h('a', { class: 'btn btn-small', href: `sms:${d.phone}` }, icon('sms'), t('team.sms'))));
    }
    // Someone reported for them: the person in need's number first, then the reporter's.
    if (d.reporter?.phone) {
      c.append(h('div', { class: 'reporter-line' }, h('strong', null, `${t('reporter')}: `), d.reporter.name || '',
        h('div', { class: 'req-actions' },
          h('a', { class: 'btn btn-small', href: `tel:${d.reporter.phone}` }, icon('phone'), `${t('call_reporter')} ${d.reporter.phone}`))));
    }
    c.append(directions(r, d, place));
    li.append(c);
  }
  const m = S.cardMsg.get(r.code);
  if (m) li.append(h('p', { class: `card-msg${m.bad ? ' bad' : ''}`, role: 'alert' }, m.text));
  const acts = h('div', { class: 'req-actions' });
  const btn = (what, label, cls) => {
    const b = h('button', { type: 'button', class: `btn ${cls || ''}`, dataset: { act: what } }, t(label));
    b.addEventListener('click', () => act(r, what, b, li));
    return b;
  };
  const u = S.undo.get(r.code);
  if (u) {
    const b = h('button', { type: 'button', class: 'btn btn-undo', dataset: { act: 'undo' } }, t('undo'));
    b.addEventListener('click', () => undo(r.code));
    acts.append(h('span', { class: 'undo-text', role: 'status' }, t(`u.${u.what}`, { n: Math.max(0, Math.ceil((u.deadline - Date.now()) / 1000)) })), b);
    li.classList.add('is-pending');
    li.append(acts);
    return li;
  }
  if (r.status === 'new') acts.append(btn('claim', 'team.claim'));
  else if (mine) {
    acts.append(h('textarea', { rows: '2', placeholder: t('team.note_ph'), 'aria-label': t('team.note_ph') }));
    if (r.status === 'assigned') acts.append(btn('start', 'team.start'), btn('resolve', 'team.resolve', 'btn-ok'));
    if (r.status === 'in_progress') acts.append(btn('resolve', 'team.resolve', 'btn-ok'));
  } else acts.append(h('span', { class: 'hint' }, t('team.other')));
  li.append(acts);
  // Release sits apart from "resolved", on its own row.
  if (mine) li.append(h('div', { class: 'req-release' }, h('span', { class: 'hint' }, t('release_hint')), btn('release', 'team.release', 'btn-warn btn-small')));
  return li;
}

// Directions: to the pin when it is where the person is; by the address
// text, said to be approximate, when the pin only stands for an area.
function directions(r, d, place) {
  const box = h('div', { class: 'directions' });
  if (!isApprox(r)) {
    box.append(h('a', { class: 'btn btn-small', href: `geo:${r.lat},${r.lon}` }, icon('pin'), t('team.directions')));
    return box;
  }
  const where = place.length ? place.join(', ') : wardLabel(r.ward_code);
  const q = [d.address, where].filter(Boolean).join(', ');
  box.append(h('p', { class: 'approx-note' }, t('dir.approx_note', { place: where || t('approx') })),
    h('a', { class: 'btn btn-small', href: `geo:${r.lat},${r.lon}?q=${encodeURIComponent(q)}` }, icon('pin'), t('dir.approx')));
  return box;
}

let renderTimer = 0;
function renderSoon() {
  if (!renderTimer) renderTimer = setTimeout(() => { renderTimer = 0; render(); }, 250);
}

function render() {
  clearTimeout(renderTimer);
  renderTimer = 0;
  const mine = [...S.mine.values()].filter((r) => OPEN.has(r.status));
  const mineSet = new Set(mine.map((r) => r.code));
  // keep typed notes, and the note being typed, across re-renders
  const notes = new Map();
  for (const ta of document.querySelectorAll('.req textarea')) if (ta.value) notes.set(ta.closest('.req').dataset.code, ta.value);
  const active = document.activeElement?.matches?.('.req textarea') ? document.activeElement : null;
  const typing = active && { code: active.closest('.req').dataset.code, start: active.selectionStart, end: active.selectionEnd };
  $('#mine-section').hidden = !mine.length;
  $('#mine-list').replaceChildren(...mine.map((r) => card({ ...r, ...(S.nearby.find((x) => x.code === r.code) || {}), ...(S.mine.get(r.code) || {}) }, 'mine')));
  const rest = S.nearby.filter((r) => !mineSet.has(r.code)).sort((a, b) => (a.distance_m ?? 0) - (b.distance_m ?? 0));
  const free = rest.filter((r) => r.status === 'new');
  const taken = rest.filter((r) => r.status !== 'new');
  $('#nearby-list').replaceChildren(...(free.length ? free.map((r) => card(r, 'free')) : [h('li', { class: 'hint' }, t('team.none'))]));
  $('#others-section').hidden = !taken.length;
  $('#others-title').textContent = t('others', { n: taken.length });
  $('#others-list').replaceChildren(...taken.map((r) => card(r, 'other')));
  for (const ta of document.querySelectorAll('.req textarea')) {
    const code = ta.closest('.req').dataset.code;
    const v = notes.get(code);
    if (v) ta.value = v;
    if (typing && code === typing.code) {
      ta.focus({ preventScroll: true });
      ta.setSelectionRange(typing.start, typing.end);
    }
  }
  S.flash.clear();
  renderMarkers([...mine, ...rest], mineSet);
  renderBar();
}

function renderMarkers(list, mineSet) {
  if (!S.map) return;
  const keep = new Set();
  for (const r of list) {
    if (r.lat == null) continue;
    keep.add(r.code);
    let m = S.markers.get(r.code);
    if (!m) {
      const el = h('button', { type: 'button', class: `req-dot ${r.category}` });
      el.addEventListener('click', () => {
        const c = document.getElementById(`req-${normCode(r.code)}`);
        if (c) { c.scrollIntoView({ block: 'center', behavior: 'smooth' }); c.classList.remove('flash'); void c.offsetWidth; c.classList.add('flash'); }
      });
      m = new S.lib.Marker({ element: el }).setLngLat([r.lon, r.lat]).addTo(S.map);
      S.markers.set(r.code, m);
    }
    const el = m.getElement();
    el.title = `${r.code} · ${t(`cat.${r.category}`)}${isApprox(r) ? ` · ${t('approx')}` : ''}`;
    el.classList.toggle('mine', mineSet.has(r.code));
    el.classList.toggle('approx', isApprox(r));
    el.classList.toggle('taken', !mineSet.has(r.code) && r.status !== 'new');
  }
  for (const [code, m] of S.markers) if (!keep.has(code)) { m.remove(); S.markers.delete(code); }
}

async function setupMap() {
  if (S.map) return;
  try {
    const { map, lib } = await createMap($('#map'));
    S.map = map; S.lib = lib;
    await addAreaLayer(map, 'ward', { lib, simplify: 50, onLabels: () => renderSoon() });
    addAreaLayer(map, 'hamlet', { lib, simplify: 20 }).catch(() => {});
    labelsByZoom(map, $('#map'), 'hamlet', 13);
    const el = h('div', { class: 'team-dot', title: 'team' });
    const p = S.pos || { lat: CONFIG.center[1], lon: CONFIG.center[0] };
    S.teamMarker = new lib.Marker({ element: el, draggable: true }).setLngLat([p.lon, p.lat]).addTo(map);
    S.teamMarker.on('dragend', () => {
      const ll = S.teamMarker.getLngLat();
      setPos(ll.lat, ll.lng, 'manual');
      sendPosition();
      refreshNearby();
      refreshPointsSoon();
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

// One vibration and beep for whatever arrived since the last one, at most
// every ALERT_GAP_MS; the bar counts them meanwhile.
function buzz() {
  A.timer = 0;
  if (!A.unbuzzed) return;
  A.unbuzzed = 0;
  A.lastBuzz = Date.now();
  navigator.vibrate?.([200, 100, 200]);
  beep();
}

function queueAlert(r, d) {
  A.items = [{ r, d, at: Date.now() }, ...A.items.filter((x) => x.r.code !== r.code)].slice(0, 99);
  A.unbuzzed++;
  S.flash.add(r.code);
  const wait = A.lastBuzz + ALERT_GAP_MS - Date.now();
  if (wait <= 0) buzz();
  else if (!A.timer) A.timer = setTimeout(buzz, wait);
  clearTimeout(A.forgetTimer);
  A.forgetTimer = setTimeout(forgetAlerts, ALERT_FORGET_MS);
  A.msg = null;
  renderBar();
}

function onEvent(type, data) {
  if (type.startsWith('point.')) { refreshPointsSoon(); return; }
  const r = reqOf(data);
  if (!r?.code) return;
  if (type === 'request.assigned') {
    addMine(r.code);
    unseen++;
    badge();
    refreshMine();
    queueAlert(r, distanceTo(r));
    toast(t('a.assigned', { code: r.code }));
  }
  if (type === 'request.safe') {
    // The resident is safe: told at once, and it leaves the team's queue.
    toast(t('safe.notice', { code: r.code }));
    navigator.vibrate?.([100, 50, 100]);
    S.mine.delete(r.code);
    S.details.delete(r.code);
    setMineCodes(mineCodes().filter((c) => c !== r.code));
    render();
  }
  if (type === 'request.alert' && OPEN.has(r.status || 'new')) {
    const d = distanceTo(r);
    // The team's radius is also its alert radius.
    if (d == null || d <= radius()) queueAlert(r, d);
  }
  if (type === 'request.updated' && S.mine.has(r.code)) refreshOne(r.code).then(render);
  if (type.startsWith('request.')) applyEvent(r);
}

onLangChange(() => render());

if (S.token) start();
else { $('#signin').hidden = false; $('#token').focus(); }
