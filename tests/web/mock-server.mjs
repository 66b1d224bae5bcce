#!/usr/bin/env node
// mock-server.mjs: an in-memory stand-in for `helpmap` that speaks the SPEC's
// HTTP contract closely enough to develop and test the web frontend before the
// C server is ready. NOT the product: the browser tests run against
// build/helpmap unless HM_BIN points here (HM_BIN=tests/web/mock-server.mjs).
// CLI mirrors helpmap:  serve --db F --port N --web DIR [--rate-limit N]
//                       team add --db F --name N --role R
// Teams are kept in F + '.mock-teams.json' so `team add` works while serving.
// No vector tiles (404): the pages fall back to GeoJSON.
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { featureAt, labelPoint, distanceM } from '../../web/assets/js/util.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const argv = process.argv.slice(2);
const opt = (name, def) => { const i = argv.indexOf(name); return i >= 0 ? argv[i + 1] : def; };
const teamsFile = (db) => `${db}.mock-teams.json`;
const readTeams = (db) => { try { return JSON.parse(fs.readFileSync(teamsFile(db), 'utf8')); } catch { return []; } };
const sha = (s) => crypto.createHash('sha256').update(s).digest('hex');

if (argv[0] === 'team' && argv[1] === 'add') {
  const db = opt('--db'), name = opt('--name'), role = opt('--role');
  if (!db || !name || !['volunteer', 'operator', 'coordinator', 'admin'].includes(role)) {
    console.error('team add: --db, --name and --role volunteer|operator|coordinator|admin required'); process.exit(2);
  }
  const teams = readTeams(db);
  const token = crypto.randomBytes(24).toString('base64url');
  const t = { id: teams.length + 1, name, role, token_hash: sha(token), status: 'available', capabilities: [] };
  teams.push(t);
  fs.writeFileSync(teamsFile(db), JSON.stringify(teams));
  console.log(JSON.stringify({ id: t.id, name, role, token }));
  process.exit(0);
}
if (argv[0] !== 'serve') { console.error('usage: mock-server.mjs serve|team add …'); process.exit(2); }

const DB = opt('--db', '/tmp/mock.db');
const PORT = +opt('--port', '8080');
const WEB = path.resolve(opt('--web', 'web'));
const load = (f) => JSON.parse(fs.readFileSync(path.join(ROOT, 'geodata/data', f), 'utf8'));
const areas = { ward: load('cu_chi_communes_2025.geojson'), former_ward: load('cu_chi_communes.geojson'), hamlet: { type: 'FeatureCollection', features: [] } };
for (const lv of Object.keys(areas)) for (const f of areas[lv].features) f.properties.level = lv;

const reqs = new Map(); // code -> request (with token, history)
let nextId = 1, eventId = 0;
const subs = new Set();
const tickets = new Map();
const ALPH = '0123456789ABCDEGHKMNPQRSTVXY';
const CATS = ['food', 'water', 'medical', 'cash', 'shelter', 'rescue', 'other'];
const VUL = ['elderly', 'child', 'pregnant', 'disabled', 'sick'];
const OPEN = new Set(['new', 'assigned', 'in_progress']);
const CONTACT = ['name', 'phone', 'note', 'address'];
const now = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z');

class HErr extends Error { constructor(st, code, msg, field = null) { super(msg); this.st = st; this.code = code; this.field = field; } }
const bad = (field, msg) => new HErr(400, 'invalid_field', msg || `invalid ${field}`, field);

function normPhone(p) {
  let s = String(p ?? '').replace(/[\s.\-()]/g, '');
  if (/^0\d{9,10}$/.test(s)) s = '+84' + s.slice(1);
  else if (/^84\d{9,10}$/.test(s)) s = '+' + s;
  if (!/^\+\d{8,15}$/.test(s)) throw bad('phone', 'phone must be a Vietnamese or international number');
  return s;
}
function authTeam(req, url) {
  const m = /^Bearer (.+)$/.exec(req.headers.authorization || '');
  if (!m) return null;
  const t = readTeams(DB).find((x) => x.token_hash === sha(m[1]));
  if (!t) throw new HErr(401, 'unauthorized', 'bad token');
  return t;
}
const teamState = new Map(); // id -> {status, lat, lon, at}
function teamFull(t) { return { ...t, ...(teamState.get(t.id) || {}), token_hash: undefined }; }
function need(team, roles) {
  if (!team) throw new HErr(401, 'unauthorized', 'token required');
  if (!roles.includes(team.role)) throw new HErr(403, 'forbidden', 'not allowed');
}
const teamName = (id) => (id == null ? null : readTeams(DB).find((x) => x.id === id)?.name ?? null);
function view(r, who) { // who: 'public' | 'resident' | team
  const o = { ...r, place: null }; delete o.token; delete o.history; delete o.viewers;
  let contact = who === 'resident';
  if (who && typeof who === 'object') contact = ['operator', 'coordinator', 'admin'].includes(who.role) || r.team_id === who.id;
  if (!contact) for (const k of CONTACT) delete o[k];
  if (who === 'public') { o.lat = Math.round(o.lat * 1000) / 1000; o.lon = Math.round(o.lon * 1000) / 1000; }
  return o;
}
function feature(o, extra) { return { type: 'Feature', geometry: { type: 'Point', coordinates: [o.lon, o.lat] }, properties: { ...o, ...extra } }; }
function emit(type, r) {
  const id = ++eventId;
  for (const s of subs) {
    if (type === 'team.moved' && !(s.team && ['coordinator', 'admin'].includes(s.team.role))) continue;
    // A request's own stream (the tracking page): its events only, without contact data.
    if (s.code) {
      if (type === 'team.moved' || r.code !== s.code) continue;
      const own = view(r, 'nocontact');
      s.res.write(`event: ${type}\nid: ${id}\ndata: ${JSON.stringify({ ...own, team_name: teamName(r.team_id) })}\n\n`);
      continue;
    }
    const data = type === 'team.moved' ? r : view(r, s.team || 'public');
    s.res.write(`event: ${type}\nid: ${id}\ndata: ${JSON.stringify(data)}\n\n`);
  }
  if (type === 'request.created') {
    for (const s of subs) if (s.team && !s.code) s.res.write(`event: request.alert\nid: ${id}\ndata: ${JSON.stringify(view(r, s.team))}\n\n`);
  }
}
function move(r, to, actor, note, extra = {}) {
  const from = r.status;
  const ok = { new: ['assigned', 'cancelled', 'duplicate'], assigned: ['assigned', 'in_progress', 'new', 'cancelled'], in_progress: ['assigned', 'resolved', 'new', 'cancelled'], resolved: ['new'], cancelled: ['new'], duplicate: ['new'] };
  if (!ok[from]?.includes(to)) throw new HErr(409, 'invalid_transition', `cannot go from ${from} to ${to}`);
  r.status = to; Object.assign(r, extra); r.updated_at = now();
  if (to === 'new') r.team_id = null;
  r.history.push({ at: r.updated_at, actor, from, to, note: note || null });
  emit('request.updated', r);
}
function locate(lat, lon) {
  const w = featureAt(areas.ward, lon, lat);
  if (!w) throw new HErr(422, 'outside_service_area', 'point is outside every ward', 'lat');
  return { ward_code: w.properties.code, former_ward_code: featureAt(areas.former_ward, lon, lat)?.properties.code ?? null, hamlet_code: featureAt(areas.hamlet, lon, lat)?.properties.code ?? null };
}
function createRequest(b, team) {
  if (typeof b !== 'object' || !b) throw new HErr(400, 'bad_json', 'object expected');
  if (!CATS.includes(b.category)) throw bad('category');
  if (!Number.isInteger(b.people) || b.people < 1 || b.people > 500) throw bad('people');
  const vul = b.vulnerable ?? [];
  if (!Array.isArray(vul) || vul.some((v) => !VUL.includes(v))) throw bad('vulnerable');
  for (const [k, n] of [['note', 500], ['name', 100], ['address', 200]]) if (b[k] != null && (typeof b[k] !== 'string' || [...b[k]].length > n)) throw bad(k);
  const phone = normPhone(b.phone);
  let lat, lon, prec = b.location_precision || 'pin', loc;
  if (b.lat !== undefined || b.lon !== undefined) {
    lat = b.lat; lon = b.lon;
    if (typeof lat !== 'number' || !isFinite(lat) || lat < -90 || lat > 90) throw bad('lat');
    if (typeof lon !== 'number' || !isFinite(lon) || lon < -180 || lon > 180) throw bad('lon');
    if (!['gps', 'pin', 'address'].includes(prec)) throw bad('location_precision');
    loc = locate(lat, lon);
  } else {
    if (!b.ward_code) throw bad('lat', 'lat/lon or ward_code required');
    if (!b.address) throw bad('address', 'address required');
    // Like helpmap: a hamlet by code or name; a name that matches none goes into the address.
    if (b.hamlet_code) {
      const fold = (x) => String(x).normalize('NFD').replace(/[\u0300-\u036f]/g, '').replace(/[đĐ]/g, 'd').toLowerCase().replace(/^(ap|khu pho|kp)\s+/, '').trim();
      const h = areas.hamlet.features.find((x) => x.properties.parent_code === String(b.ward_code) && (x.properties.code === b.hamlet_code || fold(x.properties.name) === fold(b.hamlet_code)));
      if (h) b.hamlet_code = h.properties.code;
      else { if (!fold(b.address).includes(fold(b.hamlet_code))) b.address = `${b.address}, ${b.hamlet_code}`.slice(0, 200); delete b.hamlet_code; }
    }
    const lvl = b.hamlet_code ? 'hamlet' : 'ward';
    const f = areas[lvl].features.find((x) => x.properties.code === String(lvl === 'hamlet' ? b.hamlet_code : b.ward_code));
    if (!f) throw bad(lvl === 'hamlet' ? 'hamlet_code' : 'ward_code');
    [lon, lat] = labelPoint(f.geometry); prec = 'address'; loc = locate(lat, lon);
  }
  for (const r of reqs.values()) {
    if (r.phone === phone && r.category === b.category && OPEN.has(r.status) && distanceM(r.lon, r.lat, lon, lat) < 200) {
      r.history.push({ at: now(), actor: 'resident', from: r.status, to: r.status, note: b.note || null });
      return { dup: r };
    }
  }
  let code;
  do { code = 'CC-' + Array.from(crypto.randomBytes(6), (x) => ALPH[x % ALPH.length]).join(''); } while (reqs.has(code));
  const at = now();
  const urgent = ['rescue', 'medical'].includes(b.category) || vul.length > 0;
  const r = { id: nextId++, code, lat, lon, location_precision: prec, category: b.category, people: b.people, vulnerable: vul, priority: urgent ? 'urgent' : 'normal', note: b.note ?? null, name: b.name ?? null, address: b.address ?? null, phone, status: 'new', ...loc, source: team && team.role === 'operator' ? 'hotline' : 'web', verified: false, team_id: null, duplicate_of: null, created_at: at, updated_at: at, token: crypto.randomBytes(16).toString('base64url'), history: [{ at, actor: team ? team.name : 'resident', from: null, to: 'new', note: null }] };
  reqs.set(code, r);
  emit('request.created', r);
  return { r };
}
const findReq = (c) => reqs.get(String(c).toUpperCase().replace(/[^0-9A-Z]/g, '').replace(/^CC/, 'CC-')) || (() => { throw new HErr(404, 'not_found', 'no such request'); })();
function fc(list, who, extra) { return { type: 'FeatureCollection', features: list.map((r) => feature(view(r, who), extra?.(r))) }; }
function areaFC(level) {
  const out = { type: 'FeatureCollection', features: [] };
  for (const f of areas[level].features) {
    const code = f.properties.code;
    const key = level === 'ward' ? 'ward_code' : level === 'former_ward' ? 'former_ward_code' : 'hamlet_code';
    const mine = [...reqs.values()].filter((r) => r[key] === code);
    const open = mine.filter((r) => OPEN.has(r.status));
    const by = {}; for (const r of open) by[r.category] = (by[r.category] || 0) + 1;
    out.features.push({ type: 'Feature', geometry: f.geometry, properties: { code, name: f.properties.name, level, parent_code: f.properties.parent_code ?? null, open: open.length, resolved: mine.filter((r) => r.status === 'resolved').length, open_by_category: by } });
  }
  return out;
}

function send(res, st, obj, headers = {}) {
  const body = typeof obj === 'string' ? obj : JSON.stringify(obj);
  res.writeHead(st, { 'Content-Type': typeof obj === 'string' ? 'text/html; charset=utf-8' : 'application/json', 'Cache-Control': 'no-store', ...headers });
  res.end(body);
}
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; worker-src 'self' blob:; child-src 'self' blob:; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";
const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.mjs': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8', '.svg': 'image/svg+xml', '.json': 'application/json', '.txt': 'text/plain' };
function serveFile(res, rel) {
  const p = path.resolve(WEB, '.' + rel);
  if (!p.startsWith(WEB) || !fs.existsSync(p) || fs.statSync(p).isDirectory()) return send(res, 404, { error: { code: 'not_found', message: 'not found', field: null } });
  res.writeHead(200, { 'Content-Type': TYPES[path.extname(p)] || 'application/octet-stream', 'Content-Security-Policy': CSP, 'X-Content-Type-Options': 'nosniff' });
  fs.createReadStream(p).pipe(res);
}
async function readBody(req) {
  const chunks = []; let n = 0;
  for await (const c of req) { n += c.length; if (n > 16384) throw new HErr(413, 'too_large', 'body too large'); chunks.push(c); }
  return Buffer.concat(chunks).toString('utf8');
}
async function json(req) { const s = await readBody(req); try { return JSON.parse(s || 'null'); } catch { throw new HErr(400, 'bad_json', 'invalid JSON'); } }
const esc = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

async function route(req, res, url) {
  const p = url.pathname, m = req.method, q = url.searchParams;
  if (p === '/healthz') return send(res, 200, { ok: true });
  if (p === '/report' && m === 'POST') {
    const f = new URLSearchParams(await readBody(req));
    try {
      const b = { ward_code: f.get('ward_code'), hamlet_code: f.get('hamlet_code') || undefined, address: f.get('address'), category: f.get('category'), people: parseInt(f.get('people'), 10), vulnerable: f.getAll('vulnerable'), phone: f.get('phone'), name: f.get('name') || undefined, note: f.get('note') || undefined };
      const out = createRequest(b, null);
      const r = out.r || out.dup;
      const link = out.r ? `<p><a href="/track/${r.code}?token=${r.token}">Theo dõi</a></p>` : '';
      return send(res, out.r ? 201 : 200, `<!doctype html><meta charset=utf-8><title>${r.code}</title><h1>Đã gửi yêu cầu</h1><p>Mã: <strong id="code">${esc(r.code)}</strong></p>${link}`);
    } catch (e) {
      if (!(e instanceof HErr)) throw e;
      return send(res, e.st, `<!doctype html><meta charset=utf-8><title>Lỗi</title><p class="error">${esc(e.message)} (${esc(e.field || e.code)})</p><a href="/">Quay lại</a>`);
    }
  }
  if (p.startsWith('/tiles/')) return send(res, 404, { error: { code: 'not_found', message: 'no tiles in the mock', field: null } });
  // No street map, no glyphs: the outline map without place labels.
  if (p === '/style.json') return send(res, 200, { version: 8, sources: {}, layers: [{ id: 'background', type: 'background', paint: { 'background-color': '#dfe7ec' } }] });
  if (!p.startsWith('/api/v1/')) {
    if (m !== 'GET' && m !== 'HEAD') throw new HErr(405, 'method_not_allowed', 'GET only');
    if (p === '/') return serveFile(res, '/index.html');
    if (p.startsWith('/track/')) return serveFile(res, '/track.html');
    if (['/team', '/operator', '/command'].includes(p)) return serveFile(res, p + '.html');
    return serveFile(res, p);
  }
  const a = p.slice(7);
  const team = authTeam(req, url);
  if (m === 'PATCH') throw new HErr(405, 'method_not_allowed', 'PATCH is not allowed here');
  let mm;
  if (a === '/requests' && m === 'POST') {
    if (team) need(team, ['operator', 'coordinator', 'admin']);
    const out = createRequest(await json(req), team);
    if (out.dup) return send(res, 200, { duplicate: true, request: view(out.dup, 'public') });
    return send(res, 201, { request: view(out.r, team || 'resident'), token: out.r.token });
  }
  if (a === '/requests' && m === 'GET') {
    let list = [...reqs.values()];
    const st = q.get('status') || 'open';
    if (st === 'open') list = list.filter((r) => OPEN.has(r.status)); else if (st !== 'all') list = list.filter((r) => r.status === st);
    if (q.get('phone')) { need(team, ['operator', 'coordinator', 'admin']); const ph = normPhone(q.get('phone')); list = [...reqs.values()].filter((r) => r.phone === ph); }
    if (q.get('category')) list = list.filter((r) => r.category === q.get('category'));
    if (q.get('verified')) list = list.filter((r) => String(r.verified) === q.get('verified'));
    if (q.get('priority')) list = list.filter((r) => r.priority === q.get('priority'));
    if (q.get('source')) list = list.filter((r) => r.source === q.get('source'));
    if (q.get('since')) list = list.filter((r) => r.updated_at >= q.get('since'));
    if (q.get('cursor')) list = list.filter((r) => r.id > +q.get('cursor'));
    if (q.get('order') === 'desc') list = list.reverse();
    // Like helpmap: lists carry contact data only for a phone lookup.
    return send(res, 200, fc(list.slice(0, +(q.get('limit') || 1000)), team ? (q.get('phone') ? team : 'nocontact') : 'public'));
  }
  if (a === '/requests/nearby') {
    need(team, ['volunteer', 'coordinator', 'admin']);
    const lat = +q.get('lat'), lon = +q.get('lon'), rad = +(q.get('radius_m') || 5000);
    if (!isFinite(lat) || !q.get('lat')) throw bad('lat'); if (!isFinite(lon) || !q.get('lon')) throw bad('lon');
    const list = [...reqs.values()].filter((r) => OPEN.has(r.status)).map((r) => [r, distanceM(lon, lat, r.lon, r.lat)]).filter(([, d]) => d <= rad).sort((x, y) => x[1] - y[1]).slice(0, +(q.get('limit') || 50));
    return send(res, 200, { type: 'FeatureCollection', features: list.map(([r, d]) => feature(view(r, team), { distance_m: Math.round(d) })) });
  }
  if ((mm = /^\/requests\/([^/]+)$/.exec(a)) && m === 'GET') {
    const r = findReq(decodeURIComponent(mm[1]));
    const tok = q.get('token');
    if (tok) { if (tok !== r.token) throw new HErr(404, 'not_found', 'no such request'); return send(res, 200, { request: { ...view(r, 'resident'), team_name: teamName(r.team_id), history: r.history } }); }
    need(team, ['volunteer', 'operator', 'coordinator', 'admin']);
    return send(res, 200, { request: { ...view(r, team), team_name: teamName(r.team_id), history: r.history } });
  }
  if ((mm = /^\/requests\/([^/]+)\/(\w+)$/.exec(a)) && m === 'POST') {
    const r = findReq(decodeURIComponent(mm[1])), op = mm[2];
    if (op === 'cancel') {
      if (q.get('token')) { if (q.get('token') !== r.token) throw new HErr(404, 'not_found', 'no'); move(r, 'cancelled', 'resident'); }
      else { need(team, ['operator', 'coordinator', 'admin']); move(r, 'cancelled', team.name); }
      return send(res, 200, { request: view(r, team || 'resident') });
    }
    if (op === 'verify') { need(team, ['operator', 'coordinator', 'admin']); r.verified = true; r.updated_at = now(); emit('request.updated', r); return send(res, 200, { request: view(r, team) }); }
    if (op === 'claim') {
      need(team, ['volunteer', 'coordinator', 'admin']);
      if (r.status !== 'new') throw new HErr(409, r.status === 'assigned' ? 'already_claimed' : 'invalid_transition', 'not new');
      move(r, 'assigned', team.name, null, { team_id: team.id });
      return send(res, 200, { request: view(r, team) });
    }
    if (op === 'status') {
      need(team, ['volunteer', 'operator', 'coordinator', 'admin']);
      const b = await json(req);
      if (!['new', 'in_progress', 'resolved', 'duplicate', 'cancelled'].includes(b?.status)) throw bad('status');
      if (team.role === 'volunteer' && r.team_id !== team.id) throw new HErr(403, 'forbidden', 'not your request');
      if (b.status === 'duplicate') { need(team, ['coordinator', 'admin']); findReq(b.duplicate_of || ''); }
      move(r, b.status, team.name, b.note, b.status === 'duplicate' ? { duplicate_of: b.duplicate_of } : {});
      return send(res, 200, { request: view(r, team) });
    }
    if (op === 'assign') {
      need(team, ['coordinator', 'admin']);
      const b = await json(req); const tm = readTeams(DB).find((x) => x.id === b?.team_id);
      if (!tm) throw bad('team_id');
      move(r, 'assigned', team.name, `→ ${tm.name}`, { team_id: tm.id });
      return send(res, 200, { request: view(r, team) });
    }
  }
  if ((mm = /^\/requests\/([^/]+)\/responders$/.exec(a))) {
    need(team, ['coordinator', 'admin']);
    const r = findReq(decodeURIComponent(mm[1]));
    const list = readTeams(DB).map(teamFull).filter((x) => x.lat != null && (x.status || 'available') === 'available').map((x) => ({ ...x, distance_m: Math.round(distanceM(r.lon, r.lat, x.lon, x.lat)) })).sort((x, y) => x.distance_m - y.distance_m).slice(0, +(q.get('k') || 5));
    return send(res, 200, { type: 'FeatureCollection', features: list.map((x) => ({ type: 'Feature', geometry: { type: 'Point', coordinates: [x.lon, x.lat] }, properties: { id: x.id, name: x.name, status: x.status, capabilities: x.capabilities, distance_m: x.distance_m } })) });
  }
  if (a === '/teams/me/location' && m === 'POST') {
    need(team, ['volunteer', 'operator', 'coordinator', 'admin']);
    const b = await json(req); if (typeof b?.lat !== 'number') throw bad('lat'); if (typeof b?.lon !== 'number') throw bad('lon');
    teamState.set(team.id, { ...(teamState.get(team.id) || { status: 'available' }), lat: b.lat, lon: b.lon, at: now() });
    emit('team.moved', { id: team.id, name: team.name, ...teamState.get(team.id) });
    return send(res, 200, { ok: true });
  }
  if (a === '/teams/me/status' && m === 'POST') {
    need(team, ['volunteer', 'operator', 'coordinator', 'admin']);
    const b = await json(req); if (!['available', 'busy', 'off'].includes(b?.status)) throw bad('status');
    teamState.set(team.id, { ...(teamState.get(team.id) || {}), status: b.status });
    return send(res, 200, { team: teamFull(team) });
  }
  if (a === '/teams') {
    need(team, ['coordinator', 'admin']);
    return send(res, 200, { type: 'FeatureCollection', features: readTeams(DB).map(teamFull).map((x) => ({ type: 'Feature', geometry: x.lat != null ? { type: 'Point', coordinates: [x.lon, x.lat] } : null, properties: { id: x.id, name: x.name, role: x.role, status: x.status || 'available', capabilities: x.capabilities, updated_at: x.at || null } })) });
  }
  // Places: the areas only (no GeoNames in the mock), every word a prefix.
  if (a === '/places' && m === 'GET') {
    const fold = (x) => String(x).normalize('NFD').replace(/[\u0300-\u036f]/g, '').replace(/[đĐ]/g, 'd').toLowerCase();
    const words = fold(q.get('q') || '').split(/[^0-9a-z]+/).filter(Boolean);
    if (!words.length) throw bad('q');
    const limit = Number(q.get('limit') || 10);
    if (!Number.isInteger(limit) || limit < 1 || limit > 50) throw bad('limit');
    const places = [];
    for (const lv of ['ward', 'former_ward', 'hamlet']) {
      for (const f of areas[lv].features) {
        const nw = fold(f.properties.name).split(/[^0-9a-z]+/);
        if (!words.every((w) => nw.some((x) => x.startsWith(w)))) continue;
        const [lon, lat] = labelPoint(f.geometry);
        places.push({ name: f.properties.name, kind: lv, level: lv, code: f.properties.code, lon, lat, ward_code: lv === 'ward' ? f.properties.code : featureAt(areas.ward, lon, lat)?.properties.code ?? null });
      }
    }
    return send(res, 200, { places: places.slice(0, limit), attribution: 'GeoNames (www.geonames.org)' });
  }
  if (a === '/places/all' && m === 'GET') return send(res, 200, { type: 'FeatureCollection', features: [], attribution: 'GeoNames (www.geonames.org)' });
  if (a === '/areas' && m === 'GET') {
    const lv = q.get('level') || 'ward'; if (!areas[lv]) throw bad('level');
    return send(res, 200, areaFC(lv));
  }
  if (a === '/areas' && m === 'POST') {
    need(team, ['coordinator', 'admin']);
    const f = await json(req); const pr = f?.properties || {};
    if (pr.level !== 'hamlet' || !pr.code || !pr.parent_code) throw bad('properties');
    const lp = labelPoint(f.geometry);
    const hit = areas.hamlet.features.filter((x) => featureAt({ features: [x] }, lp[0], lp[1]));
    if (hit.length) throw new HErr(409, 'overlap', `overlaps ${hit.map((x) => x.properties.code + ' ' + x.properties.name).join(', ')}`, 'geometry');
    areas.hamlet.features.push({ type: 'Feature', geometry: f.geometry, properties: { code: pr.code, name: pr.name, parent_code: pr.parent_code, level: 'hamlet' } });
    return send(res, 201, { area: { type: 'Feature', geometry: f.geometry, properties: { code: pr.code, name: pr.name, parent_code: pr.parent_code, level: 'hamlet' } }, clipped: false, repaired: false });
  }
  if (a === '/stats') {
    const by_status = {}, by_category = {};
    for (const r of reqs.values()) { by_status[r.status] = (by_status[r.status] || 0) + 1; if (OPEN.has(r.status)) by_category[r.category] = (by_category[r.category] || 0) + 1; }
    return send(res, 200, { total: reqs.size, totals: { by_status, by_category }, wards: areaFC('ward').features.map((f) => ({ code: f.properties.code, name: f.properties.name, open: f.properties.open, resolved: f.properties.resolved })), median_minutes_to_resolve: null, hourly: [] });
  }
  if (a === '/events/ticket' && m === 'POST') {
    need(team, ['volunteer', 'operator', 'coordinator', 'admin']);
    const tk = crypto.randomBytes(16).toString('hex'); tickets.set(tk, team.id);
    return send(res, 200, { ticket: tk, expires_in: 60 });
  }
  if (a === '/events') {
    let t = team, code = null;
    // One request's own stream: its tracking token, or 404 as for GET /requests/{code}.
    if (q.get('code')) {
      const r = findReq(q.get('code'));
      if (q.get('token') !== r.token) throw new HErr(404, 'not_found', 'no such request');
      code = r.code; t = null;
    } else if (q.get('token')) throw bad('code', 'a tracking token follows one request: give its code');
    if (q.get('ticket')) { const id = tickets.get(q.get('ticket')); tickets.delete(q.get('ticket')); if (!id) throw new HErr(401, 'unauthorized', 'bad ticket'); t = readTeams(DB).find((x) => x.id === id); }
    res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-store', Connection: 'keep-alive' });
    res.write(': hello\n\n');
    const s = { res, team: t, code }; subs.add(s);
    const hb = setInterval(() => res.write(': hb\n\n'), 15000);
    req.on('close', () => { subs.delete(s); clearInterval(hb); });
    return;
  }
  if (a === '/export') {
    need(team, ['coordinator', 'admin']);
    const cols = ['code', 'status', 'category', 'people', 'lat', 'lon', 'ward_code', 'phone', 'name', 'created_at'];
    const rows = [cols.join(','), ...[...reqs.values()].map((r) => cols.map((c) => JSON.stringify(r[c] ?? '')).join(','))];
    res.writeHead(200, { 'Content-Type': 'text/csv; charset=utf-8', 'Content-Disposition': 'attachment; filename="helpmap.csv"' });
    return res.end(rows.join('\n') + '\n');
  }
  throw new HErr(404, 'not_found', 'no such endpoint');
}

http.createServer(async (req, res) => {
  const url = new URL(req.url, 'http://x');
  try { await route(req, res, url); } catch (e) {
    if (e instanceof HErr) return send(res, e.st, { error: { code: e.code, message: e.message, field: e.field } });
    console.error(e);
    send(res, 500, { error: { code: 'internal', message: 'internal error', field: null } });
  }
}).listen(PORT, '127.0.0.1', () => console.error(`mock helpmap on 127.0.0.1:${PORT}`));
