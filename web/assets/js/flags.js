// flags.js: on /command, what residents say did not arrive (issue 17) — resolved
// requests whose resident answered "only part" or "nothing", with the team that
// resolved them and, side by side, what the team said it delivered and what the
// resident says arrived. From GET /api/v1/requests?flag=receipt (coordinators),
// refreshed on "request.flagged" events and every minute.
import { t, addStrings, fmtTime } from './i18n.js';
import { h, $ } from './util.js';

addStrings({
  vi: {
    'fl.title': 'Người dân báo chưa nhận đủ', 'fl.team': 'Tổ', 'fl.none_team': 'không rõ tổ',
    'fl.delivered': 'Tổ báo trao', 'fl.received': 'Dân báo nhận', 'fl.part': 'một phần', 'fl.nothing': 'không nhận được gì',
    'fl.no_amount': 'không ghi số tiền',
  },
  en: {
    'fl.title': 'Residents say it did not all arrive', 'fl.team': 'Team', 'fl.none_team': 'team unknown',
    'fl.delivered': 'Team says it gave', 'fl.received': 'Resident says received', 'fl.part': 'only part', 'fl.nothing': 'nothing',
    'fl.no_amount': 'no amount given',
  },
});

const vnd = (n) => (n == null ? t('fl.no_amount') : `${Number(n).toLocaleString('vi-VN')} đ`);

// flagsPanel({call, teamName(id), whereName(r), onSelect(code)}) -> {refresh(), onEvent(type, data), render()}
export function flagsPanel({ call, teamName, whereName, onSelect }) {
  const box = $('#flags-panel');
  let rows = [];
  const names = new Map(); // team id -> name from the events

  function render() {
    if (!box) return;
    box.hidden = !rows.length;
    $('#flags-count').textContent = rows.length ? `(${rows.length})` : '';
    $('#flags').replaceChildren(...rows.map((r) => {
      const rc = r.receipt || {};
      const team = names.get(String(r.team_id)) || teamName(r.team_id) || t('fl.none_team');
      return h('li', { class: `flag ${r.category || 'other'}`, tabindex: 0, 'data-code': r.code, onclick: () => onSelect(r.code),
        onkeydown: (ev) => { if (ev.key === 'Enter') onSelect(r.code); } },
      h('span', { class: 'code' }, r.code),
      h('span', { class: 'who' }, h('span', { class: 'label' }, `${t('fl.team')}: `), h('strong', { class: 'team-name' }, team),
        h('span', { class: 'where-s' }, ` · ${whereName(r)}`)),
      h('span', { class: 'age' }, rc.at ? fmtTime(rc.at) : ''),
      h('span', { class: 'side-by-side' },
        h('span', { class: 'gave' }, `${t('fl.delivered')}: `, h('b', null, r.delivered ? vnd(r.delivered.amount_vnd) : '—')),
        h('span', { class: 'got' }, `${t('fl.received')}: `, h('b', null, rc.received === 'nothing' ? t('fl.nothing') : vnd(rc.amount_vnd)),
          rc.received === 'part' ? ` (${t('fl.part')})` : '')));
    }));
  }

  async function refresh() {
    try {
      const fc = await call('/requests', { query: { flag: 'receipt', limit: 200 } });
      rows = (fc?.features || []).map((f) => f.properties || {}).reverse(); // newest first
      render();
      // A team the page does not know yet (its list comes after the map): ask for the names.
      if (rows.some((r) => r.team_id != null && !names.has(String(r.team_id)) && !teamName(r.team_id))) {
        const teams = await call('/teams');
        for (const f of teams?.features || []) {
          const p = f.properties || {};
          if (p.id != null && p.name) names.set(String(p.id), p.name);
        }
        render();
      }
    } catch { /* the next event or minute tries again */ }
  }

  function onEvent(type, data) {
    if (type !== 'request.flagged') return;
    if (data?.team_id != null && data?.team_name) names.set(String(data.team_id), data.team_name);
    refresh();
  }

  setInterval(refresh, 60000);
  return { refresh, onEvent, render };
}
