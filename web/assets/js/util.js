// util.js: small DOM, icon and geometry helpers shared by the pages.
// No innerHTML with data: every text goes through textContent.

export const $ = (sel, root = document) => root.querySelector(sel);
export const $$ = (sel, root = document) => [...root.querySelectorAll(sel)];

// h('div', {class: 'x', dataset: {code}, onclick: fn}, child, 'text', ...)
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'class') el.className = v;
      else if (k === 'dataset') Object.assign(el.dataset, v);
      else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
      else if (k === 'text') el.textContent = v;
      else if (v === true) el.setAttribute(k, '');
      else el.setAttribute(k, v);
    }
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export const CATEGORIES = ['food', 'water', 'medical', 'cash', 'shelter', 'rescue', 'other'];
export const VULNERABLE = ['elderly', 'child', 'pregnant', 'disabled', 'sick'];
export const STATUSES = ['new', 'assigned', 'in_progress', 'resolved', 'cancelled', 'duplicate'];
export const OPEN = new Set(['new', 'assigned', 'in_progress']);

export const CAT_COLOR = {
  food: '#f59e0b', water: '#38bdf8', medical: '#ec4899', cash: '#22c55e',
  shelter: '#a78bfa', rescue: '#ef4444', other: '#94a3b8',
};

// 24x24 stroke icons (same drawings as the inline ones in index.html).
const ICON_PATHS = {
  food: 'M3 11h18a9 9 0 0 1-18 0zM8 8c0-1.5 1.5-2 1.5-3.5M12 8c0-1.5 1.5-2 1.5-3.5M16 8c0-1.5 1.5-2 1.5-3.5',
  water: 'M12 3s-6 7-6 11a6 6 0 0 0 12 0c0-4-6-11-6-11z',
  medical: 'M9 3h6v6h6v6h-6v6H9v-6H3V9h6z',
  cash: 'M2 6h20v12H2zM12 9a3 3 0 1 0 0 6a3 3 0 1 0 0-6M6 12h.01M18 12h.01',
  shelter: 'M3 11l9-8 9 8M5 10v10h14V10M10 20v-6h4v6',
  rescue: 'M12 3a9 9 0 1 0 0 18a9 9 0 1 0 0-18zM12 8a4 4 0 1 0 0 8a4 4 0 1 0 0-8zM5.6 5.6l3.6 3.6M14.8 14.8l3.6 3.6M18.4 5.6l-3.6 3.6M9.2 14.8l-3.6 3.6',
  other: 'M6 12h.01M12 12h.01M18 12h.01',
  pin: 'M12 22s7-6.3 7-12a7 7 0 0 0-14 0c0 5.7 7 12 7 12zM12 7a3 3 0 1 0 0 6a3 3 0 1 0 0-6',
  phone: 'M5 3h4l2 5-2.5 1.5a11 11 0 0 0 6 6L16 13l5 2v4a2 2 0 0 1-2 2A17 17 0 0 1 3 5a2 2 0 0 1 2-2z',
  sms: 'M4 4h16v12H8l-4 4z',
  gps: 'M12 2v3M12 19v3M2 12h3M19 12h3M12 6a6 6 0 1 0 0 12a6 6 0 1 0 0-12M12 10a2 2 0 1 0 0 4a2 2 0 1 0 0-4',
  charging: 'M13 2L5 14h6l-1 8 8-12h-6z',
  boat: 'M3 16h18l-3 4H6zM12 3v11M12 4l6 8h-6',
  link: 'M10 14a4 4 0 0 0 5.7 0l3-3a4 4 0 0 0-5.7-5.7l-1 1M14 10a4 4 0 0 0-5.7 0l-3 3a4 4 0 0 0 5.7 5.7l1-1',
};

// Relief points (shelters, food, water, medical posts, charging, boats).
export const RELIEF_KINDS = ['shelter', 'food', 'water', 'medical', 'charging', 'boat', 'other'];
export const RELIEF_COLOR = {
  shelter: '#a78bfa', food: '#f59e0b', water: '#38bdf8', medical: '#ec4899',
  charging: '#eab308', boat: '#0ea5e9', other: '#94a3b8',
};

const SVGNS = 'http://www.w3.org/2000/svg';
export function icon(name, cls = 'icon') {
  const svg = document.createElementNS(SVGNS, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('class', cls);
  svg.setAttribute('aria-hidden', 'true');
  const p = document.createElementNS(SVGNS, 'path');
  p.setAttribute('d', ICON_PATHS[name] || ICON_PATHS.other);
  svg.append(p);
  return svg;
}

// ---- geometry (lon/lat, GeoJSON order) ----

function ringContains(ring, x, y) {
  let inside = false;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    const [xi, yi] = ring[i];
    const [xj, yj] = ring[j];
    if ((yi > y) !== (yj > y) && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

function polygons(geom) {
  if (!geom) return [];
  if (geom.type === 'Polygon') return [geom.coordinates];
  if (geom.type === 'MultiPolygon') return geom.coordinates;
  return [];
}

export function geomContains(geom, lon, lat) {
  for (const poly of polygons(geom)) {
    if (!poly.length || !ringContains(poly[0], lon, lat)) continue;
    let inHole = false;
    for (let k = 1; k < poly.length; k++) if (ringContains(poly[k], lon, lat)) { inHole = true; break; }
    if (!inHole) return true;
  }
  return false;
}

// The feature of `fc` containing the point; lower code wins on shared borders,
// as on the server.
export function featureAt(fc, lon, lat) {
  let best = null;
  for (const f of fc?.features || []) {
    if (!geomContains(f.geometry, lon, lat)) continue;
    const code = String(f.properties?.code ?? '');
    if (!best || code < String(best.properties?.code ?? '')) best = f;
  }
  return best;
}

export function bboxOf(fc) {
  const b = [Infinity, Infinity, -Infinity, -Infinity];
  const walk = (c) => {
    if (typeof c[0] === 'number') {
      if (c[0] < b[0]) b[0] = c[0];
      if (c[1] < b[1]) b[1] = c[1];
      if (c[0] > b[2]) b[2] = c[0];
      if (c[1] > b[3]) b[3] = c[1];
    } else for (const x of c) walk(x);
  };
  for (const f of fc?.features || (fc?.geometry ? [fc] : [])) if (f.geometry) walk(f.geometry.coordinates);
  return isFinite(b[0]) ? b : null;
}

function segDist2(px, py, ax, ay, bx, by) {
  let dx = bx - ax, dy = by - ay;
  let tt = dx || dy ? ((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy) : 0;
  tt = Math.max(0, Math.min(1, tt));
  dx = ax + tt * dx - px; dy = ay + tt * dy - py;
  return dx * dx + dy * dy;
}

// A label point well inside the polygon: the grid point (refined twice)
// farthest from the largest polygon's edges. Good enough for a few hundred
// areas and deterministic.
export function labelPoint(geom) {
  let poly = null, bestArea = -1;
  for (const p of polygons(geom)) {
    const bb = bboxOf({ geometry: { coordinates: p[0] } });
    if (!bb) continue;
    const a = (bb[2] - bb[0]) * (bb[3] - bb[1]);
    if (a > bestArea) { bestArea = a; poly = p; }
  }
  if (!poly) return null;
  const bb = bboxOf({ geometry: { coordinates: poly[0] } });
  const score = (x, y) => {
    if (!ringContains(poly[0], x, y)) return -1;
    for (let k = 1; k < poly.length; k++) if (ringContains(poly[k], x, y)) return -1;
    let m = Infinity;
    for (const ring of poly) {
      for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
        const d = segDist2(x, y, ring[j][0], ring[j][1], ring[i][0], ring[i][1]);
        if (d < m) m = d;
      }
    }
    return m;
  };
  let best = [(bb[0] + bb[2]) / 2, (bb[1] + bb[3]) / 2], bestScore = score(best[0], best[1]);
  let cx = best[0], cy = best[1], w = bb[2] - bb[0], hgt = bb[3] - bb[1];
  for (let round = 0; round < 3; round++) {
    const n = 12;
    for (let i = 0; i <= n; i++) {
      for (let j = 0; j <= n; j++) {
        const x = cx - w / 2 + (w * i) / n, y = cy - hgt / 2 + (hgt * j) / n;
        const s = score(x, y);
        if (s > bestScore) { bestScore = s; best = [x, y]; }
      }
    }
    [cx, cy] = best; w /= 4; hgt /= 4;
  }
  return bestScore >= 0 ? best : poly[0][0];
}

// Haversine metres (display only; the server computes geodesic distances).
export function distanceM(lon1, lat1, lon2, lat2) {
  const R = 6371008.8, r = Math.PI / 180;
  const dLat = (lat2 - lat1) * r, dLon = (lon2 - lon1) * r;
  const a = Math.sin(dLat / 2) ** 2 + Math.cos(lat1 * r) * Math.cos(lat2 * r) * Math.sin(dLon / 2) ** 2;
  return 2 * R * Math.asin(Math.sqrt(a));
}

// Fold Vietnamese diacritics for search ("phuoc hiep" finds "Phước Hiệp").
export function fold(s) {
  return String(s || '').normalize('NFD').replace(/[\u0300-\u036f]/g, '')
    .replace(/đ/g, 'd').replace(/Đ/g, 'D').toLowerCase().trim();
}

export function debounce(fn, ms) {
  let timer = 0;
  return (...args) => { clearTimeout(timer); timer = setTimeout(() => fn(...args), ms); };
}

// Run fn at most once per `ms`, trailing call kept.
export function throttle(fn, ms) {
  let last = 0, timer = 0;
  return (...args) => {
    const now = Date.now(), wait = last + ms - now;
    clearTimeout(timer);
    if (wait <= 0) { last = now; fn(...args); } else timer = setTimeout(() => { last = Date.now(); fn(...args); }, wait);
  };
}

// Where a request stands is only approximate unless it came from the
// phone's GPS or a pin put on the map: an address, a place name, a pasted
// link all stand at some central point.
export function isApprox(r) {
  return !!r && !['gps', 'pin'].includes(r.location_precision || 'pin');
}

export function props(feature) { return feature?.properties || feature || {}; }

// Request objects come as Features (lists) or plain objects; give back a
// plain object with lon/lat filled from the geometry when missing.
export function reqOf(x) {
  if (!x) return null;
  if (x.type === 'Feature') {
    const p = { ...(x.properties || {}) };
    const c = x.geometry?.coordinates;
    if (c && p.lon == null) { p.lon = c[0]; p.lat = c[1]; }
    return p;
  }
  return x.request ? reqOf(x.request) : x;
}
