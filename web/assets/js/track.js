// track.js: /track/{code}?token=T, the resident's private tracking page:
// status in Vietnamese, history, cancel, share the link; the team's name once
// a team holds the request (when the server sends team_name).
// On a phone's data: it follows its own request only, through
// GET /api/v1/events?code=C&token=T (the server streams that request's events
// alone). A server that does not know the filter streams the whole district:
// the first event of another request shows it, the stream is closed and the
// page polls its request instead (every 20 s; every 2 min as a safety net
// while its own stream works). "I am safe now" in one tap and a confirmation;
// the nearest open relief points, live from point events only (?types=point).
// The server renders the same page without JavaScript (status, history, a
// cancel form and the receipt form); this script enhances it: two presses to
// cancel, the receipt sent as JSON with the error shown at the form.
import { initI18n, t, onLangChange, fmtTime, fmtPeople, addStrings } from './i18n.js';
import { api, ApiError, errorText, normCode } from './api.js';
import { $, h, OPEN, throttle } from './util.js';
import { live } from './live.js';
import { shareLink, SHARE_STRINGS } from './share.js';
import { nearestPoints, renderPoints } from './flood.js';

const STR = {
  en: {
    title: 'Help map', req_code: 'Request code', loading_s: 'Loading…', cancel: 'Cancel request',
    history: 'What happened', keep_link: 'Keep this link to come back. In an emergency call the 1022 hotline.',
    'hint.new': 'Your request is on the map, waiting for the nearest support team.',
    'hint.assigned': 'A support team has taken your request and will contact you.',
    'hint.in_progress': 'The support team is on the way or helping you now.',
    'hint.resolved': 'The team marked your request as resolved.',
    'hint.cancelled': 'This request was cancelled.',
    'hint.duplicate': 'This request repeats another one, which is followed instead.',
    'hint.duplicate_auto': 'Your request is being handled together with an earlier one sent with the same phone number.',
    'h.repeat': 'The same phone number sent this request again', 'h.purge': 'Contact details erased',
    'actor.unverified': 'unverified caller',
    'k.category': 'Need', 'k.people': 'People', 'k.vulnerable': 'Household', 'k.created': 'Sent',
    'k.updated': 'Updated', 'k.address': 'Address', 'k.note': 'Note', 'k.phone': 'Phone', 'k.dup': 'Same as',
    'h.created': 'Request sent', 'k.team': 'Support team', share: 'Share (Zalo, SMS…)',
    share_text: 'Help request {code}: follow it here',
    safe: 'I am safe now', 'confirm.safe': 'Press again to confirm you are safe',
    safe_hint: 'Safe now (the water went down, someone helped, you reached a shelter)? Press so that the team need not come.',
    'track.safe_ok': 'Thank you. The team is told you are safe.', points_near: 'Relief points near you',
    'r.all': 'All of it arrived', 'r.part': 'Only part of it arrived', 'r.nothing': 'Nothing arrived',
    'r.said': 'Resident reports: {what}', 'r.delivered': 'The team reports it delivered: {what}',
    'chain.broken': 'The history of this request was changed outside helpmap (from entry {n}). Do not rely on it; call 1022.',
  },
  vi: {
    cancel: 'Hủy yêu cầu',
    'hint.new': 'Yêu cầu đã lên bản đồ, đang chờ tổ hỗ trợ gần nhất tiếp nhận.',
    'hint.assigned': 'Tổ hỗ trợ đã nhận yêu cầu và sẽ liên hệ với bạn.',
    'hint.in_progress': 'Tổ hỗ trợ đang trên đường tới hoặc đang hỗ trợ bạn.',
    'hint.resolved': 'Tổ hỗ trợ đã báo yêu cầu được giải quyết.',
    'hint.cancelled': 'Yêu cầu này đã được hủy.',
    'hint.duplicate': 'Yêu cầu này trùng với một yêu cầu khác, được theo dõi ở yêu cầu kia.',
    'hint.duplicate_auto': 'Yêu cầu của bạn đang được xử lý cùng với một yêu cầu gửi trước đó từ cùng số điện thoại.',
    'h.repeat': 'Cùng số điện thoại đã gửi lại yêu cầu này', 'h.purge': 'Đã xóa thông tin liên hệ',
    'actor.unverified': 'người gửi chưa xác minh',
    'k.category': 'Cần', 'k.people': 'Số người', 'k.vulnerable': 'Trong nhà có', 'k.created': 'Gửi lúc',
    'k.updated': 'Cập nhật', 'k.address': 'Địa chỉ', 'k.note': 'Ghi chú', 'k.phone': 'Điện thoại', 'k.dup': 'Trùng với',
    'h.created': 'Đã gửi yêu cầu', 'k.team': 'Tổ hỗ trợ',
    share_text: 'Yêu cầu hỗ trợ {code}: theo dõi tại đây',
    safe: 'Tôi đã an toàn', 'confirm.safe': 'Bấm lần nữa để xác nhận bạn đã an toàn',
    'track.safe_ok': 'Cảm ơn bạn. Tổ hỗ trợ đã được báo là bạn an toàn.',
    'r.all': 'Đã nhận đủ', 'r.part': 'Chỉ nhận được một phần', 'r.nothing': 'Không nhận được gì',
    'r.said': 'Người dân báo: {what}', 'r.delivered': 'Tổ báo đã trao: {what}',
    'chain.broken': 'Lịch sử của yêu cầu này đã bị sửa ngoài hệ thống (từ mục {n}). Đừng dựa vào nó; hãy báo Tổng đài 1022.',
  },
};
addStrings(SHARE_STRINGS);
initI18n(STR);

const rawCode = decodeURIComponent(location.pathname.replace(/^\/track\/?/, '').split('/')[0] || '');
const code = rawCode.trim();
const token = new URLSearchParams(location.search).get('token') || '';
let current = null;

// Rendered by the server (the page works without JavaScript): its status decides which forms
// the page carries; when it moves in or out of "open" or "resolved", the page is fetched again.
const serverStatus = $('#summary[data-server]') ? ($('#status')?.dataset.status || '') : null;
if (serverStatus === null) $('#code').textContent = code;
document.title = `${code} – ${document.title}`;
const confirmBox = $('#cancel-confirm');
if (confirmBox) { confirmBox.hidden = true; const c = $('input', confirmBox); if (c) c.required = false; }

const vnd = (n) => `${Number(n).toLocaleString('vi-VN')} đ`;

function showError(msg) {
  const e = $('#error');
  e.classList.remove('ok');
  e.textContent = msg || '';
  e.hidden = !msg;
}

let lastLoad = 0;
async function load() {
  lastLoad = Date.now();
  if (!code || !token) { showError(t('track.missing')); $('#status').textContent = ''; return; }
  try {
    const res = await api(`/requests/${encodeURIComponent(code)}`, { token: null, query: { token } });
    current = res?.request || res;
    showError('');
    render();
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
    if (e.status === 404) { $('#status').textContent = t('err.not_found'); showError(t('track.missing')); }
    else showError(errorText(e));
  }
}

function render() {
  const r = current;
  if (!r) return;
  const st = r.status || 'new';
  const s = $('#status');
  s.textContent = t(`st.${st}`);
  s.className = `status-big badge st-${st}`;
  s.dataset.status = st;
  // A repeat of an earlier request of the same phone, stored as its duplicate: the server does
  // not say which one (duplicate_of is null), and neither does this page.
  $('#status-hint').textContent = t(st === 'duplicate' && !r.duplicate_of ? 'hint.duplicate_auto' : `hint.${st}`);
  if (r.code) $('#code').textContent = r.code;
  const facts = [];
  const add = (k, v) => { if (v !== undefined && v !== null && v !== '') facts.push(h('dt', null, t(k)), h('dd', null, v)); };
  add('k.team', r.team_name);
  add('k.category', r.category ? t(`cat.${r.category}`) : '');
  add('k.people', r.people ? fmtPeople(r.people) : '');
  add('k.vulnerable', (r.vulnerable || []).map((v) => t(`vul.${v}`)).join(', '));
  add('k.address', r.address);
  add('k.location_text', r.location_text);
  if (r.reporter) add('k.reporter', [r.reporter.name, r.reporter.phone].filter(Boolean).join(' · '));
  add('k.note', r.note);
  add('k.dup', r.duplicate_of);
  add('k.created', r.created_at ? fmtTime(r.created_at) : '');
  add('k.updated', r.updated_at && r.updated_at !== r.created_at ? fmtTime(r.updated_at) : '');
  $('#facts').replaceChildren(...facts);
  const hist = Array.isArray(r.history) ? r.history : [];
  $('#history').replaceChildren(...hist.slice().reverse().map((e) => {
    const who = e.actor === 'resident' || e.actor === 'system' ? t(`actor.${e.actor}`)
      : e.actor === 'unverified caller' ? t('actor.unverified') : (e.actor || '');
    const d = e.detail || {};
    let what = e.kind === 'safe' ? t('h.safe')
      : e.to && e.from !== e.to ? (e.from ? `${t(`st.${e.from}`)} → ${t(`st.${e.to}`)}` : t('h.created'))
      : e.kind === 'repeat' ? t('h.repeat') : e.kind === 'purge' ? t('h.purge') : '';
    if (e.kind === 'receipt') {
      what = t('r.said', { what: t(`r.${d.received}`) + (d.amount_vnd != null ? ` — ${vnd(d.amount_vnd)}` : '') });
    }
    const delivered = e.to === 'resolved' && e.detail
      ? [d.delivered_vnd != null ? vnd(d.delivered_vnd) : '', d.items || ''].filter(Boolean).join(' — ') : '';
    return h('li', { 'data-kind': e.kind }, h('time', { datetime: e.at }, fmtTime(e.at)),
      h('strong', null, what || e.note || ''), who ? ` · ${who}` : '',
      delivered ? h('div', null, t('r.delivered', { what: delivered })) : null,
      e.note && what ? h('div', null, e.note) : null);
  }));
  const warn = $('#chain-warning');
  if (r.history_verified === false) {
    const text = t('chain.broken', { n: (r.history_broken_at ?? 0) + 1 });
    if (warn) warn.textContent = text;
    else $('#error').after(h('p', { class: 'form-error', id: 'chain-warning', role: 'alert' }, text));
  } else warn?.remove();
  const form = $('#cancel-form');
  const btn = $('#cancel-btn');
  if (form) form.hidden = !OPEN.has(st); else if (btn) btn.hidden = !OPEN.has(st);
  $('#safe-btn').hidden = !OPEN.has(st);
  $('#safe-hint').hidden = !OPEN.has(st);
  disarm();
  refreshPointsSoon();
  // The server's forms follow the status it rendered: fetch the page again when that changed.
  if (serverStatus !== null && serverStatus !== '' && !reloading &&
      (OPEN.has(serverStatus) !== OPEN.has(st) || (serverStatus === 'resolved') !== (st === 'resolved'))) {
    reloading = true;
    location.reload();
  }
}
let reloading = false;

// ---------- the nearest open relief points ----------
let points = [];
async function refreshPoints() {
  if (!current || !Number.isFinite(current.lat)) return;
  try { points = await nearestPoints(current.lat, current.lon, { limit: 3 }); } catch { return; }
  renderPoints($('#points-list'), points);
  $('#points').hidden = false;
  // Relief points change rarely: a stream of their events only, once they are shown.
  pointStream ||= live({ types: 'point', onEvent: () => refreshPointsSoon(), onResync: () => refreshPointsSoon() });
}
let pointStream = null;
const refreshPointsSoon = throttle(refreshPoints, 1500);

// "I am safe now": two presses, like cancel.
let safeTimer = 0;
function disarmSafe() {
  const b = $('#safe-btn');
  b.classList.remove('armed');
  b.textContent = t('safe');
  clearTimeout(safeTimer);
}
$('#safe-btn').addEventListener('click', async () => {
  const b = $('#safe-btn');
  if (!b.classList.contains('armed')) {
    b.classList.add('armed');
    b.textContent = t('confirm.safe');
    safeTimer = setTimeout(disarmSafe, 5000);
    return;
  }
  b.disabled = true;
  try {
    await api(`/requests/${encodeURIComponent(code)}/safe`, { method: 'POST', token: null, query: { token } });
    disarmSafe();
    await load();
    const e = $('#error');
    e.textContent = t('track.safe_ok');
    e.hidden = false;
    e.classList.add('ok');
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
    showError(errorText(e));
    load();
  } finally {
    b.disabled = false;
  }
});

// Two presses cancel: no window.confirm (blocked in some webviews).
let armTimer = 0;
function disarm() {
  const btn = $('#cancel-btn');
  if (!btn) return; // no cancel form: the request is not open
  btn.classList.remove('armed');
  btn.textContent = t('cancel');
  clearTimeout(armTimer);
}
async function cancelPressed(ev) {
  ev?.preventDefault();
  const btn = $('#cancel-btn');
  if (!btn.classList.contains('armed')) {
    btn.classList.add('armed');
    btn.textContent = t('confirm.cancel');
    armTimer = setTimeout(disarm, 5000);
    return;
  }
  btn.disabled = true;
  try {
    await api(`/requests/${encodeURIComponent(code)}/cancel`, { method: 'POST', token: null, query: { token } });
    await load();
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
    showError(errorText(e));
    load();
  } finally {
    btn.disabled = false;
  }
}
if ($('#cancel-form')) $('#cancel-form').addEventListener('submit', cancelPressed);
else $('#cancel-btn')?.addEventListener('click', cancelPressed);

// The receipt: sent as JSON; the server's page (with its thanks) comes back afterwards.
$('#receipt-form')?.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const f = ev.currentTarget;
  const fd = new FormData(f);
  const out = $('#receipt-error');
  const body = { received: String(fd.get('received') || '') };
  const amount = String(fd.get('amount_vnd') || '').replace(/[\s.,]/g, '');
  if (amount) body.amount_vnd = /^\d+$/.test(amount) ? Number(amount) : amount;
  const note = String(fd.get('note') || '').trim();
  if (note) body.note = note;
  const btn = $('#receipt-btn');
  btn.disabled = true;
  try {
    await api(`/requests/${encodeURIComponent(code)}/receipt`, { method: 'POST', token: null, query: { token }, body });
    location.replace(`/track/${encodeURIComponent(code)}?token=${encodeURIComponent(token)}&done=receipt`);
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
    out.textContent = errorText(e);
    out.hidden = false;
    btn.disabled = false;
  }
});

onLangChange(() => { render(); disarmSafe(); renderPoints($('#points-list'), points); });

const reload = throttle(load, 1000);
const liveEl = $('#live');
let pollEvery = 120000, stream = null, opened = false;

function showState(s) {
  liveEl.hidden = false;
  liveEl.textContent = t(s === 'live' ? 'live.on' : s === 'down' ? 'live.off' : 'live.connecting');
  liveEl.classList.toggle('off', s !== 'live');
}

if (code && token) {
  stream = live({
    url: `/api/v1/events?code=${encodeURIComponent(code)}&token=${encodeURIComponent(token)}`,
    onEvent(type, data) {
      const r = data?.request || data;
      const c = r?.code || data?.properties?.code;
      if (!c) return;
      if (normCode(c) !== normCode(code)) {
        // The server sends the whole district: stop, and poll instead.
        stream?.close();
        stream = null;
        pollEvery = 20000;
        showState('live');
        return;
      }
      if (current && r.status && r.status !== current.status) {
        current = { ...current, ...r, history: current.history };
        render();
      }
      reload(); // the history comes with the request itself
    },
    onState(st) {
      showState(st);
      // A stream that does not open (a server refusing the filter, or down):
      // poll as often as without it, until it opens.
      if (st === 'live') { opened = true; if (stream) pollEvery = 120000; }
      else if (st === 'down' && !opened) pollEvery = 20000;
    },
    onResync: reload,
  });
}
setInterval(() => {
  if (!document.hidden && Date.now() - lastLoad >= pollEvery - 500) load();
}, 5000);
document.addEventListener('visibilitychange', () => { if (!document.hidden) reload(); });

$('#share-btn').hidden = false; // the server's page shows it only to a script
$('#share-btn').addEventListener('click', () => {
  const url = new URL(location.pathname + location.search, location.href).href;
  shareLink({ title: document.title, text: t('share_text', { code: current?.code || code }), url }, $('#share-box'));
});
load();
