// mapkit.js: MapLibre GL JS (from /vendor/, loaded on demand) over what
// helpmap serves itself, nothing from another host:
// - the street map when the server has one (`serve --basemap`): /style.json
//   gives its layers, glyphs (/fonts/…) and icons (/sprite); the helpmap
//   layers go between its fills and its labels;
// - otherwise the outline map: area polygons as the base, and the place names
//   the server ships (/api/v1/places/all, GeoNames) as a label layer;
// - area polygons as vector tiles /tiles/{layer}/… via TileJSON (GeoJSON
//   /api/v1/areas as fallback), area names as HTML labels.
// The map's attribution names GeoNames, and OpenStreetMap with a street map.
// An external basemap style is used when window.HELPMAP_CONFIG.basemapStyle
// is set (config.js).
//
// Data on phones: tiles are fetched here (protocol hmtile://), not by the
// map library, so a tile is loaded once and never reloaded by itself when its
// Cache-Control max-age runs out; pages reload a layer when they choose
// (reloadTiles(), a conditional request: unchanged tiles answer 304). Labels
// and area names come from the tiles already loaded, so no page downloads
// whole polygons just to write names.
import { labelPoint, bboxOf, geomContains } from './util.js';
import { learnNames } from './names.js';

export const CONFIG = Object.assign({
  basemapStyle: null,
  center: [106.51, 11.04],
  zoom: 10,
  bounds: [106.356484, 10.914484, 106.657216, 11.160309],
}, globalThis.HELPMAP_CONFIG || {});

const TILE_LAYER = { ward: 'wards', former_ward: 'former_wards', hamlet: 'hamlets' };

export function hasWebGL() {
  try {
    const c = document.createElement('canvas');
    return !!(c.getContext('webgl2') || c.getContext('webgl'));
  } catch { return false; }
}

// Tiles through fetch() on the page: the browser's cache answers with a
// conditional request, and no expiry is handed to the map library.
function tileProtocol(scheme) {
  return async (params, abortController) => {
    const url = `${scheme}://${params.url.slice(params.url.indexOf('://') + 3)}`;
    const res = await fetch(url, { signal: abortController.signal, cache: 'no-cache' });
    if (res.status === 204) return { data: new ArrayBuffer(0) };
    if (!res.ok) {
      const e = new Error(`tile ${res.status}`);
      e.status = res.status;
      throw e;
    }
    return { data: await res.arrayBuffer() };
  };
}

let libPromise = null;
export function loadMapLibre() {
  if (!libPromise) {
    if (!document.querySelector('link[data-maplibre-css]')) {
      const link = document.createElement('link');
      link.rel = 'stylesheet';
      link.href = '/vendor/maplibre-gl.css';
      link.dataset.maplibreCss = '';
      document.head.prepend(link);
    }
    libPromise = import('/vendor/maplibre-gl.mjs').then((lib) => {
      lib.addProtocol('hmtile', tileProtocol('http'));
      lib.addProtocol('hmtiles', tileProtocol('https'));
      return lib;
    });
    libPromise.catch(() => { libPromise = null; });
  }
  return libPromise;
}

export const GEONAMES_ATTRIBUTION = 'Tên địa danh: GeoNames (www.geonames.org)';

// A URL of the server's style as MapLibre wants it: absolute, with the page's
// own origin (the server never writes its Host header into what it sends).
const absolute = (u) => (typeof u === 'string' && u.startsWith('/') ? location.origin + u : u);

// The server's style (/style.json), once per page and colour scheme:
// {basemap: bool, style} or null when the server gives none.
const styleCache = new Map();
export function serverStyle(dark = false) {
  const key = dark ? 'dark' : 'light';
  if (!styleCache.has(key)) {
    styleCache.set(key, fetch(`/style.json${dark ? '?dark=1' : ''}`, { cache: 'no-cache' })
      .then((r) => (r.ok ? r.json() : null))
      .then((st) => (st && Array.isArray(st.layers) ? { basemap: !!st.sources?.basemap, style: st } : null))
      .catch(() => null));
  }
  return styleCache.get(key);
}

// True when the server draws a street map (its style has the basemap source).
export async function hasBasemap() {
  return !!(await serverStyle())?.basemap;
}

// The style a page starts from: the server's street map (its background and
// basemap-* layers; the pages add the area and request layers themselves), or
// the plain outline background. Glyphs and sprite from the server either way.
async function baseStyle(dark) {
  const info = await serverStyle(dark);
  const st = info?.style;
  const bg = st?.layers?.find((l) => l.type === 'background')
    || { id: 'background', type: 'background', paint: { 'background-color': dark ? '#0b1220' : '#dfe7ec' } };
  const style = { version: 8, sources: {}, layers: [bg] };
  if (st?.glyphs) style.glyphs = absolute(st.glyphs);
  if (st?.sprite && info.basemap) style.sprite = absolute(st.sprite);
  if (info?.basemap) {
    const tj = await tileJSON('basemap');
    if (tj) {
      style.sources.basemap = {
        type: 'vector', tiles: tj.tiles, minzoom: tj.minzoom ?? 0, maxzoom: tj.maxzoom ?? 14,
        ...(tj.bounds ? { bounds: tj.bounds } : {}), ...(tj.attribution ? { attribution: tj.attribution } : {}),
      };
      style.layers.push(...st.layers.filter((l) => l.source === 'basemap'));
      return { style, basemap: true };
    }
  }
  return { style, basemap: false };
}

// createMap(container, {dark}) -> Promise<{map, lib, basemap}> resolved once
// the style is loaded. Rejects when WebGL or the library is missing. The map
// is also container.maplibreMap (for the console and the browser tests).
export async function createMap(container, opts = {}) {
  if (!hasWebGL()) throw new Error('webgl');
  const dark = !!opts.dark;
  const [lib, base] = await Promise.all([loadMapLibre(),
    CONFIG.basemapStyle ? { style: CONFIG.basemapStyle, basemap: false } : baseStyle(dark)]);
  const style = base.style;
  const map = new lib.Map({
    container,
    style,
    bounds: opts.bounds || CONFIG.bounds,
    fitBoundsOptions: { padding: opts.padding ?? 8 },
    attributionControl: false,
    maxZoom: 19,
    dragRotate: false,
    pitchWithRotate: false,
    touchPitch: false,
    cooperativeGestures: false,
    ...(opts.mapOptions || {}),
  });
  map.touchZoomRotate?.disableRotation?.();
  map.addControl(new lib.AttributionControl({ compact: true, customAttribution: GEONAMES_ATTRIBUTION }));
  container.maplibreMap = map;
  map.helpmapBasemap = base.basemap;
  await new Promise((resolve, reject) => {
    if (map.loaded()) return resolve();
    map.once('load', resolve);
    map.once('error', (e) => { if (!map.loaded()) reject(e?.error || new Error('map')); });
  });
  // The attribution starts folded (an "i" button) so that it never covers a
  // phone's small map; the pages' footers name the sources too.
  container.querySelector('.maplibregl-ctrl-attrib')?.classList.remove('maplibregl-compact-show');
  // Without a street map the shipped place names are the map's only names.
  if (!base.basemap && !CONFIG.basemapStyle && style.glyphs && opts.places !== false) addPlaceLabels(map, dark);
  // Tile fetches fail while the server restarts (warn, the map retries);
  // anything else is a bug in a style or layer (error).
  map.on('error', (e) => {
    const err = e?.error || e;
    const net = err?.name === 'AJAXError' || err?.name === 'AbortError' || err?.status !== undefined
      || /fetch|network|load|abort/i.test(String(err?.message));
    (net ? console.warn : console.error)('map:', err?.message || err);
  });
  return { map, lib, basemap: base.basemap };
}

// The place names of the server (GeoNames and a district's own list) as a
// label layer "places-labels", from zoom 11 (district view stays readable).
async function addPlaceLabels(map, dark) {
  let fc;
  try {
    const r = await fetch('/api/v1/places/all', { cache: 'no-cache' });
    if (!r.ok) return;
    fc = await r.json();
  } catch { return; }
  if (!fc || !Array.isArray(fc.features) || !map.getStyle()) return;
  map.addSource('places', { type: 'geojson', data: { type: 'FeatureCollection', features: fc.features } });
  map.addLayer({
    id: 'places-labels', type: 'symbol', source: 'places', minzoom: 11,
    layout: {
      'text-field': ['get', 'name'], 'text-font': ['Noto Sans Regular'], 'text-size': 12,
      'text-max-width': 8, 'text-padding': 4, 'text-optional': true,
    },
    paint: {
      'text-color': dark ? '#cbd5e1' : '#334155',
      'text-halo-color': dark ? '#0b1220' : '#ffffff', 'text-halo-width': 1.4,
    },
  }, firstLabelLayer(map, 'places-labels'));
}

// The first label layer of the base (street names, place names): helpmap's
// fills and lines go under it.
function firstLabelLayer(map, except) {
  return map.getStyle()?.layers?.find((l) => l.type === 'symbol' && l.id !== except
    && (l.id.startsWith('basemap-') || l.id === 'places-labels'))?.id;
}

// Tile URLs of our own server go through the hmtile protocol above.
function viaProtocol(u) {
  return u.replace(/^http(s?):\/\//, (m, s) => `hmtile${s}://`);
}

// TileJSON for a tile layer, tiles made absolute (the map's worker resolves
// relative URLs against its own script) and routed through our loader. null
// when the server has none.
export async function tileJSON(layer) {
  try {
    const res = await fetch(`/tiles/${layer}.json`, { cache: 'no-cache' });
    if (!res.ok) return null;
    const tj = await res.json();
    if (!Array.isArray(tj.tiles) || !tj.tiles.length) return null;
    // new URL() would percent-encode the {z}/{x}/{y} placeholders.
    tj.tiles = tj.tiles.map((u) => viaProtocol(/^https?:/.test(u) ? u : u.startsWith('/') ? location.origin + u
      : new URL(u, location.href).href.replace(/%7B/gi, '{').replace(/%7D/gi, '}')));
    return tj;
  } catch { return null; }
}

// Reload the tiles of a vector source in place (same URLs: a conditional
// request per tile, 304 when unchanged).
export function reloadTiles(map, sourceId) {
  const s = map?.getSource(sourceId);
  if (s?.setTiles && s.tiles) s.setTiles(s.tiles.slice());
}

// GeoJSON of a level, for the pages that need whole polygons (the operator's
// place search, hamlet drawing, the GeoJSON fallback without tiles).
// simplify: metres of outline tolerance the server may use (ignored by a
// server that does not know it).
const geojsonCache = new Map(); // level|simplify -> Promise<FeatureCollection>
export function areasGeoJSON(level, { fresh = false, simplify = 0 } = {}) {
  const key = `${level}|${simplify}`;
  if (fresh || !geojsonCache.has(key)) {
    const q = `level=${encodeURIComponent(level)}`;
    const get = (s) => fetch(`/api/v1/areas?${q}${s ? `&simplify=${s}` : ''}`, { cache: 'no-cache' });
    // A server that refuses simplify= (400) gets the plain question.
    const p = get(simplify).then((r) => (r.status === 400 && simplify ? get(0) : r))
      .then((r) => (r.ok ? r.json() : { type: 'FeatureCollection', features: [] }))
      .then((fc) => (fc && Array.isArray(fc.features) ? fc : { type: 'FeatureCollection', features: [] }))
      .catch(() => ({ type: 'FeatureCollection', features: [] }));
    p.then((fc) => learnNames(level, fc.features.map((f) => f.properties || {})));
    geojsonCache.set(key, p);
  }
  return geojsonCache.get(key);
}

const COLORS = {
  light: { fill: '#f8fafc', fillOpacity: 0.75, line: '#475569', hamletLine: '#64748b' },
  dark: { fill: '#16213a', fillOpacity: 0.85, line: '#7c8db5', hamletLine: '#56607a' },
};
// Over a street map the fills are light washes, so that its streets show.
const BASEMAP_FILL_OPACITY = { light: 0.25, dark: 0.45 };

// Add one level of areas as a base layer. Returns an object with
// {sourceId, sourceLayer, fillId, lineId, setCounts(map code->n), labels}.
// opts: {dark, lib, labels (default true), counts (choropleth + counts in
// the labels), simplify (GeoJSON fallback), onLabels(), beforeId}
export async function addAreaLayer(map, level, opts = {}) {
  const dark = !!opts.dark;
  const c = COLORS[dark ? 'dark' : 'light'];
  const sourceId = `areas-${level}`;
  const layerName = TILE_LAYER[level];
  let sourceLayer, bounds = null;
  const tj = opts.geojsonOnly ? null : await tileJSON(layerName);
  if (tj) {
    sourceLayer = tj.vector_layers?.[0]?.id || layerName;
    bounds = Array.isArray(tj.bounds) && tj.bounds.length === 4 ? tj.bounds : null;
    map.addSource(sourceId, {
      type: 'vector', tiles: tj.tiles, minzoom: tj.minzoom ?? 0, maxzoom: tj.maxzoom ?? 14,
      ...(tj.bounds ? { bounds: tj.bounds } : {}),
    });
  } else {
    const fc = await areasGeoJSON(level, { simplify: opts.simplify || 0 });
    map.addSource(sourceId, { type: 'geojson', data: fc });
    bounds = bboxOf(fc);
  }
  const src = sourceLayer ? { 'source-layer': sourceLayer } : {};
  const isHamlet = level === 'hamlet';
  const fillId = `${sourceId}-fill`, lineId = `${sourceId}-line`;
  const beforeId = opts.beforeId ?? firstLabelLayer(map);
  // With counts, the fill follows each area's own `open` count (tiles and
  // GeoJSON carry it) until setCounts() gives fresher numbers.
  const openExpr = ['coalesce', ['to-number', ['get', 'open']], 0];
  const byOpen = ['step', openExpr, ...CHORO_STEPS.flatMap((s, i) => (i ? [s, choroplethColor(s, dark)] : [choroplethColor(0, dark)]))];
  map.addLayer({
    id: fillId, type: 'fill', source: sourceId, ...src,
    paint: {
      'fill-color': isHamlet ? 'rgba(0,0,0,0)' : opts.counts ? byOpen : c.fill,
      'fill-opacity': isHamlet ? 1 : map.helpmapBasemap ? BASEMAP_FILL_OPACITY[dark ? 'dark' : 'light'] : c.fillOpacity,
    },
  }, beforeId);
  map.addLayer({
    id: lineId, type: 'line', source: sourceId, ...src,
    paint: {
      'line-color': isHamlet ? c.hamletLine : c.line,
      'line-width': isHamlet ? ['interpolate', ['linear'], ['zoom'], 11, 0.5, 15, 1.5]
        : ['interpolate', ['linear'], ['zoom'], 9, 1, 14, 2.5],
      ...(isHamlet ? { 'line-dasharray': [3, 2] } : {}),
    },
  }, beforeId);

  const handle = {
    level, sourceId, sourceLayer, fillId, lineId, tiled: !!tj, bounds,
    labels: [], byCode: new Map(), props: new Map(), pieces: new Map(), counts: null, visible: true,
    // Other good places for a label inside its area, best first (for a page
    // that moves a label out of another's way).
    candidates(code, n = 12) {
      const polys = handle.pieces.get(code) || [];
      const pts = [];
      for (const poly of polys) {
        const bb = bboxOf({ geometry: { coordinates: poly[0] } });
        if (!bb) continue;
        const steps = 10;
        for (let i = 1; i < steps; i++) {
          for (let j = 1; j < steps; j++) {
            const x = bb[0] + ((bb[2] - bb[0]) * i) / steps, y = bb[1] + ((bb[3] - bb[1]) * j) / steps;
            const d = edgeDistance(poly, x, y);
            if (d > 0) pts.push([x, y, d]);
          }
        }
      }
      return pts.sort((a, b) => b[2] - a[2]).slice(0, n).map(([x, y]) => [x, y]);
    },
    setVisible(v) {
      handle.visible = v;
      for (const id of [fillId, lineId]) if (map.getLayer(id)) map.setLayoutProperty(id, 'visibility', v ? 'visible' : 'none');
      for (const m of handle.labels) m.getElement().classList.toggle('is-hidden', !v);
    },
    // counts: Map code -> open requests; colours the fill by steps.
    setCounts(counts) {
      handle.counts = counts;
      const stops = [];
      for (const [code, n] of counts) stops.push(String(code), choroplethColor(n, dark));
      const expr = stops.length
        ? ['match', ['to-string', ['get', 'code']], ...stops, choroplethColor(0, dark)]
        : choroplethColor(0, dark);
      map.setPaintProperty(fillId, 'fill-color', expr);
      showCounts(handle);
    },
    // The open count of an area: given counts first, else the tile's own.
    count(code) {
      if (handle.counts?.has(code)) return handle.counts.get(code);
      const n = Number(handle.props.get(code)?.open);
      return Number.isFinite(n) ? n : null;
    },
    reload() {
      if (tj) reloadTiles(map, sourceId);
      else handle.refreshGeoJSON();
    },
    remove() {
      for (const m of handle.labels) m.remove();
      handle.labels = [];
      handle.byCode.clear();
      for (const id of [fillId, lineId]) if (map.getLayer(id)) map.removeLayer(id);
      if (map.getSource(sourceId)) map.removeSource(sourceId);
    },
    async refreshGeoJSON() {
      if (tj) {
        reloadTiles(map, sourceId);
        return null;
      }
      const fc = await areasGeoJSON(level, { fresh: true, simplify: opts.simplify || 0 });
      map.getSource(sourceId)?.setData?.(fc);
      if (opts.labels !== false) await placeLabels(opts.lib, map, handle, featuresByCode(fc.features), opts);
      return fc;
    },
  };
  if (opts.labels !== false) {
    if (tj) {
      // Labels from the tiles in view, placed again when new tiles arrive.
      let timer = 0;
      const soon = () => {
        if (timer) return;
        timer = setTimeout(() => {
          timer = 0;
          if (!map.getSource(sourceId)) return;
          const feats = map.querySourceFeatures(sourceId, { sourceLayer });
          placeLabels(opts.lib, map, handle, featuresByCode(feats), opts);
        }, 150);
      };
      map.on('sourcedata', (e) => { if (e.sourceId === sourceId && e.isSourceLoaded) soon(); });
      map.on('moveend', soon);
      soon();
    } else {
      areasGeoJSON(level, { simplify: opts.simplify || 0 })
        .then((fc) => placeLabels(opts.lib, map, handle, featuresByCode(fc.features), opts));
    }
  }
  return handle;
}

function polygonsOf(geom) {
  if (!geom) return [];
  if (geom.type === 'Polygon') return [geom.coordinates];
  if (geom.type === 'MultiPolygon') return geom.coordinates;
  return [];
}

// Distance (in degrees) from a point inside a polygon to its nearest edge;
// 0 outside.
function edgeDistance(poly, x, y) {
  if (!geomContains({ type: 'Polygon', coordinates: poly }, x, y)) return 0;
  let m = Infinity;
  for (const ring of poly) {
    for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
      const [ax, ay] = ring[j], [bx, by] = ring[i];
      let dx = bx - ax, dy = by - ay;
      let u = dx || dy ? ((x - ax) * dx + (y - ay) * dy) / (dx * dx + dy * dy) : 0;
      u = Math.max(0, Math.min(1, u));
      dx = ax + u * dx - x; dy = ay + u * dy - y;
      m = Math.min(m, dx * dx + dy * dy);
    }
  }
  return Math.sqrt(m);
}

function ringArea(ring) {
  let a = 0;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) a += (ring[j][0] - ring[i][0]) * (ring[j][1] + ring[i][1]);
  return Math.abs(a / 2);
}

// Features (whole polygons, or the pieces of them that tiles carry) grouped
// by area code: code -> {props, polys: [polygon coordinates]}.
function featuresByCode(features) {
  const by = new Map();
  for (const f of features) {
    const p = f.properties || {};
    const code = String(p.code ?? '');
    if (!code) continue;
    let e = by.get(code);
    if (!e) by.set(code, (e = { props: p, polys: [] }));
    e.props = { ...e.props, ...p };
    for (const poly of polygonsOf(f.geometry)) if (poly.length && poly[0].length > 3) e.polys.push(poly);
  }
  return by;
}

async function placeLabels(lib, map, handle, byCode, opts) {
  lib = lib || (await loadMapLibre());
  learnNames(handle.level, [...byCode.values()].map((e) => e.props));
  for (const [code, e] of byCode) {
    handle.props.set(code, e.props);
    if (!e.polys.length) continue;
    handle.pieces.set(code, e.polys);
    let m = handle.byCode.get(code);
    // A label stays where it is while that place is still inside the area.
    if (m) {
      const ll = m.getLngLat();
      if (e.polys.some((poly) => geomContains({ type: 'Polygon', coordinates: poly }, ll.lng, ll.lat))) continue;
    }
    let best = null, bestArea = -1;
    for (const poly of e.polys) {
      const a = ringArea(poly[0]);
      if (a > bestArea) { bestArea = a; best = poly; }
    }
    const pt = labelPoint({ type: 'Polygon', coordinates: best });
    if (!pt) continue;
    if (!m) {
      const el = document.createElement('div');
      el.className = `area-label area-label--${handle.level}${handle.visible ? '' : ' is-hidden'}`;
      el.dataset.code = code;
      const name = document.createElement('span');
      name.className = 'area-name';
      name.textContent = e.props.name || code;
      el.append(name);
      if (opts.counts) {
        const cnt = document.createElement('span');
        cnt.className = 'area-count';
        el.append(cnt);
      }
      m = new lib.Marker({ element: el, anchor: 'center' }).setLngLat(pt).addTo(map);
      handle.labels.push(m);
      handle.byCode.set(code, m);
    } else m.setLngLat(pt);
  }
  showCounts(handle);
  opts.onLabels?.(handle);
}

function showCounts(handle) {
  for (const m of handle.labels) {
    const el = m.getElement();
    const cnt = el.querySelector('.area-count');
    if (!cnt) continue;
    const n = handle.count(el.dataset.code);
    cnt.textContent = n ? String(n) : '';
    el.dataset.open = String(n || 0);
  }
}

const STEPS = [0, 1, 5, 20, 50, 100, 250];
const LIGHT_RAMP = ['#f8fafc', '#fef3c7', '#fde68a', '#fdba74', '#fb923c', '#ef4444', '#b91c1c'];
const DARK_RAMP = ['#16213a', '#3b3a1e', '#6b5a12', '#9a5b0c', '#c2410c', '#dc2626', '#ff1f4b'];
export function choroplethColor(n, dark) {
  const ramp = dark ? DARK_RAMP : LIGHT_RAMP;
  let i = 0;
  while (i + 1 < STEPS.length && n >= STEPS[i + 1]) i++;
  return ramp[i];
}
export const CHORO_STEPS = STEPS;

export function fitTo(map, fc, padding = 20) {
  const b = bboxOf(fc);
  if (b) map.fitBounds([[b[0], b[1]], [b[2], b[3]]], { padding, duration: 0 });
}

// The area of a level under a point, from the tiles loaded (or the GeoJSON
// of the fallback): its properties, or null when unknown or outside.
export function areaAt(map, handle, lon, lat) {
  if (!map || !handle || !map.getSource(handle.sourceId)) return undefined;
  const feats = map.querySourceFeatures(handle.sourceId, handle.sourceLayer ? { sourceLayer: handle.sourceLayer } : undefined);
  if (!feats.length) return undefined;
  let best = null;
  for (const f of feats) {
    if (!geomContains(f.geometry, lon, lat)) continue;
    const code = String(f.properties?.code ?? '');
    if (!best || code < String(best.code ?? '')) best = f.properties;
  }
  return best;
}

// Hide HTML labels of a level below a zoom (hamlet names at district zoom).
export function labelsByZoom(map, container, level, minZoom) {
  const apply = () => container.classList.toggle(`hide-${level}-labels`, map.getZoom() < minZoom);
  map.on('zoomend', apply);
  apply();
}
