// names.js: names of areas (commune, former commune, hamlet) by level and
// code, learnt from whatever a page already has (vector tiles in view, /stats,
// GeoJSON) and kept on the device for a day, so a phone names "Xã Nhuận Đức ·
// Ấp 3" on a request card without downloading polygons. ensureNames() asks
// the server only for a level it knows nothing of, for a light outline
// (simplify=…, see SPEC "Field readiness") of which only the names are kept.

const KEY = 'helpmap.names';
const MAX_AGE = 24 * 3600e3;
const LEVELS = ['ward', 'former_ward', 'hamlet'];
const mem = Object.fromEntries(LEVELS.map((l) => [l, new Map()])); // code -> {name, parent}
const fetchedAt = Object.fromEntries(LEVELS.map((l) => [l, 0]));

try {
  const saved = JSON.parse(localStorage.getItem(KEY) || 'null');
  if (saved && typeof saved === 'object') {
    for (const l of LEVELS) {
      const s = saved[l];
      if (!s || Date.now() - (s.at || 0) > MAX_AGE) continue;
      fetchedAt[l] = s.fetched || 0;
      for (const [code, name, parent] of s.items || []) mem[l].set(String(code), { name, parent });
    }
  }
} catch { /* storage blocked or corrupt: start empty */ }

let saveTimer = 0;
function save() {
  clearTimeout(saveTimer);
  saveTimer = setTimeout(() => {
    const out = {};
    for (const l of LEVELS) {
      out[l] = { at: Date.now(), fetched: fetchedAt[l], items: [...mem[l]].slice(0, 3000).map(([c, v]) => [c, v.name, v.parent ?? null]) };
    }
    try { localStorage.setItem(KEY, JSON.stringify(out)); } catch { /* full or blocked */ }
  }, 500);
}

// learnNames('ward', [{code, name, parent_code}, ...])
export function learnNames(level, items) {
  const m = mem[level];
  if (!m) return;
  let changed = false;
  for (const p of items || []) {
    if (p?.code == null || !p.name) continue;
    const code = String(p.code);
    const old = m.get(code);
    if (old && old.name === p.name) continue;
    m.set(code, { name: String(p.name), parent: p.parent_code != null ? String(p.parent_code) : old?.parent ?? null });
    changed = true;
  }
  if (changed) save();
}

export function areaName(level, code) {
  if (code == null || code === '') return '';
  return mem[level]?.get(String(code))?.name || '';
}

export function knownNames(level) { return mem[level]?.size || 0; }

// Commune names read in full: "Xã Nhuận Đức" (names are stored bare).
export function wardLabel(code) {
  const n = areaName('ward', code);
  if (!n) return '';
  return /^(xã|phường|thị trấn|đặc khu)\s/i.test(n) ? n : `Xã ${n}`;
}

const inflight = new Map();
// Make sure a level's names are known: /stats for communes (a few KB), else
// a simplified outline of the level (names kept, polygons dropped).
export function ensureNames(level, { fetchFn = fetch } = {}) {
  if (!mem[level] || Date.now() - fetchedAt[level] < MAX_AGE) return Promise.resolve();
  if (inflight.has(level)) return inflight.get(level);
  const url = level === 'ward' ? '/api/v1/stats' : `/api/v1/areas?level=${level}&simplify=5000`;
  const p = fetchFn(url, { cache: 'no-cache' }).then((r) => (r.ok ? r.json() : null)).then((d) => {
    const items = level === 'ward' ? d?.wards : (d?.features || []).map((f) => f.properties || {});
    if (Array.isArray(items)) {
      fetchedAt[level] = Date.now();
      learnNames(level, items);
      save();
    }
  }).catch(() => {}).finally(() => inflight.delete(level));
  inflight.set(level, p);
  return p;
}

// Where a request is, in words, without contact data: "Xã Nhuận Đức · ấp 3 ·
// Phước Hiệp cũ" plus the server's public place hint when it sends one.
export function placeParts(r, t) {
  const parts = [];
  const w = wardLabel(r.ward_code);
  if (w) parts.push(w);
  const hm = areaName('hamlet', r.hamlet_code);
  if (hm) parts.push(/^(ấp|khu phố|kp)\s/i.test(hm) ? hm : t('place.hamlet', { name: hm }));
  const fw = areaName('former_ward', r.former_ward_code);
  if (fw && fw !== areaName('ward', r.ward_code)) parts.push(t('place.former', { name: fw }));
  if (typeof r.place === 'string' && r.place.trim()) parts.push(r.place.trim());
  else if (r.place && typeof r.place === 'object' && r.place.name) parts.push(String(r.place.name));
  return parts;
}
