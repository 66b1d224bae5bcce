// places.js: the place search of the resident page and the operator desk —
// a type-ahead over GET /api/v1/places (areas of every level, the shipped
// GeoNames names, a district's own list, the streets of the street map;
// Vietnamese typed with or without diacritics). Picking a result calls
// onPick(place) with the server's {name, kind, level?, code?, lon, lat,
// bbox?, ward_code}.
import { t } from './i18n.js';
import { api } from './api.js';
import { h, debounce } from './util.js';

// The kind of a place in the reader's language ("Chợ", "Đường", ...).
export function placeKind(p) {
  const key = `kind.${p.level || p.kind}`;
  const s = t(key);
  return s === key ? String(p.kind || '') : s;
}

// placeSearch({input, list, onPick, near, wardName, limit}) wires an <input>
// (role=combobox) and a <ul> (role=listbox): results while typing, ↑/↓ and
// Enter, Esc to close. `near()` may return {lat, lon} to order equal matches
// by distance; `wardName(code)` names a result's commune.
export function placeSearch({ input, list, onPick, near, wardName, limit = 8, delay = 150 }) {
  // items: the results shown, for the text `shownFor`; pickFirst: Enter came before the
  // results of the text typed, so the first of those is picked when they come.
  let items = [], active = -1, seq = 0, shownFor = '', pickFirst = false;

  function render() {
    list.replaceChildren(...items.map((p, i) => {
      const ward = p.ward_code && wardName ? wardName(p.ward_code) : '';
      const li = h('li', { role: 'option', id: `${list.id}-${i}`, 'aria-selected': String(i === active) },
        h('span', { class: 'place-name' }, p.name),
        h('small', null, [placeKind(p), ward].filter(Boolean).join(' · ')));
      li.addEventListener('mousedown', (e) => { e.preventDefault(); pick(p); });
      return li;
    }));
    if (!items.length && input.value.trim()) list.append(h('li', { class: 'none' }, t('places.none')));
    list.hidden = !input.value.trim() || list.childElementCount === 0;
    input.setAttribute('aria-expanded', String(!list.hidden));
    input.setAttribute('aria-activedescendant', active >= 0 ? `${list.id}-${active}` : '');
  }

  function close() {
    list.hidden = true;
    input.setAttribute('aria-expanded', 'false');
  }

  function pick(p) {
    input.value = p.name;
    items = [];
    close();
    onPick(p);
  }

  async function search() {
    const text = input.value.trim();
    const mine = ++seq;
    if (!text) { items = []; shownFor = ''; render(); return; }
    const query = { q: text, limit };
    const pt = near?.();
    if (pt && pt.lat != null && pt.lon != null) { query.lat = pt.lat.toFixed(5); query.lon = pt.lon.toFixed(5); }
    let res = null;
    try { res = await api('/places', { query, token: null }); } catch { res = null; }
    if (mine !== seq) return; // a newer query is on its way
    items = Array.isArray(res?.places) ? res.places : [];
    shownFor = text;
    active = items.length ? 0 : -1;
    if (pickFirst) {
      pickFirst = false;
      if (items.length) { pick(items[0]); return; }
    }
    render();
  }
  const run = debounce(search, delay);

  function move(d) {
    if (!items.length) return;
    active = (active + d + items.length) % items.length;
    render();
    document.getElementById(`${list.id}-${active}`)?.scrollIntoView({ block: 'nearest' });
  }

  input.setAttribute('role', 'combobox');
  input.setAttribute('aria-autocomplete', 'list');
  input.setAttribute('aria-controls', list.id);
  input.setAttribute('aria-expanded', 'false');
  input.addEventListener('input', () => { pickFirst = false; run(); });
  input.addEventListener('keydown', (e) => {
    const open = !list.hidden;
    if (e.key === 'ArrowDown') { e.preventDefault(); if (open) move(1); else run(); }
    else if (e.key === 'ArrowUp') { e.preventDefault(); move(-1); }
    else if (e.key === 'Enter') {
      e.preventDefault(); // never submits the form
      if (input.value.trim() !== shownFor) { pickFirst = true; search(); } // still typing
      else if (open && active >= 0 && items[active]) pick(items[active]);
    } else if (e.key === 'Escape' && open) { e.preventDefault(); e.stopPropagation(); close(); }
  });
  input.addEventListener('blur', () => setTimeout(close, 150));
  return { close, clear() { input.value = ''; items = []; close(); } };
}
