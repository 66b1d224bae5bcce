// draw.js: hamlet boundaries on /command, drawn with @mapbox/mapbox-gl-draw
// (from npm, served from /vendor/, working on MapLibre with its class names)
// or uploaded as GeoJSON, then POST /api/v1/areas. The server validates,
// repairs, clips to the commune and refuses overlaps (409 overlap naming the
// other hamlets): the stored (clipped) shape is outlined green, the hamlets in
// conflict are filled red.
import { t } from './i18n.js';
import { ApiError, errorText } from './api.js';
import { $, h, featureAt, labelPoint, fold } from './util.js';

let Draw = null;
async function loadDraw() {
  if (Draw) return Draw;
  if (!document.querySelector('link[data-draw-css]')) {
    const link = h('link', { rel: 'stylesheet', href: '/vendor/mapbox-gl-draw.css', 'data-draw-css': '' });
    document.head.append(link);
  }
  await import('/vendor/mapbox-gl-draw.js');
  Draw = globalThis.MapboxDraw;
  if (!Draw) throw new Error('mapbox-gl-draw did not load');
  const c = Draw.constants.classes;
  c.CANVAS = 'maplibregl-canvas';
  c.CONTROL_BASE = 'maplibregl-ctrl';
  c.CONTROL_PREFIX = 'maplibregl-ctrl-';
  c.CONTROL_GROUP = 'maplibregl-ctrl-group';
  c.ATTRIBUTION = 'maplibregl-ctrl-attrib';
  return Draw;
}

const FC = (features) => ({ type: 'FeatureCollection', features });

export function setupDraw({ map, call, toolMsg, wards, hamlets, onSaved }) {
  let draw = null, pending = null;
  const form = $('#area-form');

  async function ensure() {
    if (draw) return draw;
    const D = await loadDraw();
    draw = new D({ displayControlsDefault: false, controls: {}, defaultMode: 'simple_select', boxSelect: false });
    map.addControl(draw);
    // Draw binds its events only once map.loaded() is true, which is false
    // while tiles reload (they do on every new request): wait for its layers,
    // or the first clicks are lost.
    for (let i = 0; i < 300 && !map.getStyle().layers.some((l) => l.id.startsWith('gl-draw')); i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    map.on('draw.create', (e) => { pending = e.features[0]; openForm(pending); });
    map.on('draw.update', (e) => { pending = e.features[0]; });
    return draw;
  }

  async function openForm(f) {
    const sel = $('#area-parent');
    const fc = await wards();
    sel.replaceChildren(...fc.features.map((w) => h('option', { value: String(w.properties.code) }, w.properties.name)));
    const pt = labelPoint(f.geometry);
    const w = pt && featureAt(fc, pt[0], pt[1]);
    if (w) sel.value = String(w.properties.code);
    $('#area-error').hidden = true;
    form.hidden = false;
    $('#area-code').focus();
  }

  function closeForm() {
    form.hidden = true;
    if (pending && draw) draw.delete(pending.id);
    pending = null;
  }
  $('#area-cancel').addEventListener('click', closeForm);

  // POST one hamlet; show the outcome on the map. Returns true when stored.
  async function save(feature) {
    const body = { type: 'Feature', geometry: feature.geometry, properties: { ...feature.properties, level: 'hamlet' } };
    try {
      const res = await call('/areas', { method: 'POST', body });
      const stored = res?.area || res?.feature || (res?.type === 'Feature' ? res : null) || body;
      map.getSource('area-ok')?.setData(FC([stored]));
      map.getSource('area-bad')?.setData(FC([]));
      const notes = [t('cmd.area_saved', { code: body.properties.code })];
      const flags = { ...res, ...(stored.properties || {}) };
      if (flags.clipped) notes.push(t('cmd.area_clipped'));
      if (flags.repaired) notes.push(t('cmd.area_repaired'));
      if (Array.isArray(res?.warnings)) notes.push(...res.warnings.map(String));
      if (stored.properties?.note) notes.push(String(stored.properties.note));
      if (res?.reassigned) notes.push(`(${res.reassigned})`);
      toolMsg(notes.join(' '));
      await onSaved?.();
      return { ok: true };
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
      if (e.code === 'overlap') {
        const others = await conflicting(e);
        map.getSource('area-bad')?.setData(FC(others));
        const names = others.length ? others.map((f) => `${f.properties.name} (${f.properties.code})`).join(', ') : e.message;
        return { ok: false, msg: t('cmd.overlap', { names }) };
      }
      return { ok: false, msg: e.field ? `${e.field}: ${e.message}` : errorText(e) };
    }
  }

  // The hamlets a 409 overlap names: codes listed in the body if any, else
  // codes or names found in the message.
  async function conflicting(e) {
    const fc = await hamlets();
    const err = e.body?.error || {};
    const listed = new Set([...(err.overlaps || err.conflicts || err.codes || [])].map((x) => String(x?.code ?? x)));
    const msg = fold(e.message);
    return fc.features.filter((f) => {
      const p = f.properties || {};
      if (listed.size) return listed.has(String(p.code));
      return (p.code && msg.includes(fold(String(p.code)))) || (p.name && msg.includes(fold(p.name)));
    });
  }

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (!pending) return;
    const f = draw.get(pending.id) || pending;
    const props = { code: $('#area-code').value.trim(), name: $('#area-name').value.trim(), parent_code: $('#area-parent').value };
    const r = await save({ type: 'Feature', geometry: f.geometry, properties: props });
    if (r.ok) {
      draw.delete(pending.id);
      pending = null;
      form.hidden = true;
      $('#area-code').value = '';
      $('#area-name').value = '';
    } else {
      const box = $('#area-error');
      box.textContent = r.msg;
      box.hidden = false;
      draw.changeMode('direct_select', { featureId: pending.id });
    }
  });

  return {
    async start() {
      const d = await ensure();
      toolMsg(t('cmd.draw_hint'));
      d.changeMode('draw_polygon');
    },
    async upload(file) {
      let data;
      try { data = JSON.parse(await file.text()); } catch { toolMsg('GeoJSON?', true); return; }
      const feats = data?.type === 'FeatureCollection' ? data.features : data?.type === 'Feature' ? [data] : [];
      const wfc = await wards();
      let ok = 0;
      const bad = [];
      for (const f of feats.slice(0, 500)) {
        if (!f?.geometry || !/Polygon$/.test(f.geometry.type)) { bad.push('?'); continue; }
        const p = { ...(f.properties || {}) };
        p.code = String(p.code ?? p.ma ?? p.id ?? '');
        p.name = String(p.name ?? p.ten ?? p.code);
        if (!p.parent_code) {
          const pt = labelPoint(f.geometry);
          const w = pt && featureAt(wfc, pt[0], pt[1]);
          if (w) p.parent_code = w.properties.code;
        }
        const r = await save({ type: 'Feature', geometry: f.geometry, properties: p });
        if (r.ok) ok++; else bad.push(`${p.code}: ${r.msg}`);
      }
      toolMsg(`${t('cmd.upload_done', { ok, n: feats.length })}${bad.length ? ` ${bad.slice(0, 5).join(' · ')}` : ''}`, bad.length > 0);
    },
  };
}
