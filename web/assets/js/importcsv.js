// importcsv.js: a list of requests from a CSV file (POST /api/v1/requests/import).
// Choosing a file checks it first (?dry_run=true) and shows the report: rows
// accepted, rows refused with their line and reason. The import button stays
// off while any row is refused (the server stores all rows or none), so the
// desk fixes the file and chooses it again. Used by /operator.
import { t, addStrings } from './i18n.js';
import { ApiError, errorText } from './api.js';
import { $, h } from './util.js';

addStrings({
  vi: {
    'imp.title': 'Nhập danh sách yêu cầu (CSV)',
    'imp.hint': 'Dòng đầu là tên cột: lat, lon, category, people, vulnerable, phone, name, address, note, ward_code, hamlet_code. Dòng không có tọa độ cần ward_code và address.',
    'imp.file': 'Chọn tệp CSV', 'imp.checking': 'Đang kiểm tra…',
    'imp.ok': '{n} dòng hợp lệ, sẵn sàng nhập.', 'imp.bad': '{n} dòng bị từ chối: sửa tệp rồi chọn lại. Chưa nhập dòng nào.',
    'imp.go': 'Nhập {n} yêu cầu', 'imp.done': 'Đã nhập {n} yêu cầu.', 'imp.line': 'Dòng', 'imp.field': 'Cột', 'imp.reason': 'Lý do',
  },
  en: {
    'imp.title': 'Import a list of requests (CSV)',
    'imp.hint': 'The first row names the columns: lat, lon, category, people, vulnerable, phone, name, address, note, ward_code, hamlet_code. Rows without coordinates need ward_code and address.',
    'imp.file': 'Choose a CSV file', 'imp.checking': 'Checking…',
    'imp.ok': '{n} rows are valid, ready to import.', 'imp.bad': '{n} rows refused: fix the file and choose it again. Nothing was imported.',
    'imp.go': 'Import {n} requests', 'imp.done': 'Imported {n} requests.', 'imp.line': 'Line', 'imp.field': 'Column', 'imp.reason': 'Reason',
  },
});

async function send(token, text, dryRun) {
  const res = await fetch(`/api/v1/requests/import${dryRun ? '?dry_run=true' : ''}`, {
    method: 'POST', cache: 'no-store',
    headers: { 'Content-Type': 'text/csv; charset=utf-8', Authorization: `Bearer ${token}`, Accept: 'application/json' },
    body: text,
  });
  const data = await res.json().catch(() => null);
  if (!res.ok) {
    const e = data?.error || {};
    throw new ApiError(res.status, e.code, e.message, e.field, { body: data });
  }
  return data;
}

// mountImport(container, {token(), onImported(report)})
export function mountImport(container, opts) {
  const input = h('input', { type: 'file', id: 'import-file', accept: '.csv,text/csv' });
  const out = h('div', { id: 'import-report', 'aria-live': 'polite' });
  const go = h('button', { type: 'button', class: 'btn', id: 'import-go', hidden: true });
  let text = '';
  container.append(h('h2', null, t('imp.title')), h('p', { class: 'hint' }, t('imp.hint')),
    h('label', { class: 'btn btn-small file' }, t('imp.file'), input), out, go);

  function show(rep, stored) {
    const rows = rep.refused.map((x) => h('tr', { dataset: { line: String(x.line) } },
      h('td', null, String(x.line)), h('td', null, x.field || ''), h('td', null, x.reason)));
    out.replaceChildren(
      h('p', { class: rep.refused.length ? 'form-error' : 'ok-banner', id: 'import-summary' },
        stored ? t('imp.done', { n: rep.accepted.length })
          : rep.refused.length ? t('imp.bad', { n: rep.refused.length }) : t('imp.ok', { n: rep.accepted.length })),
      rows.length ? h('table', { class: 'tbl', id: 'import-refused' },
        h('thead', null, h('tr', null, h('th', null, t('imp.line')), h('th', null, t('imp.field')), h('th', null, t('imp.reason')))),
        h('tbody', null, rows)) : null);
    go.hidden = stored || rep.refused.length > 0 || !rep.accepted.length;
    go.textContent = t('imp.go', { n: rep.accepted.length });
  }

  input.addEventListener('change', async () => {
    const file = input.files?.[0];
    input.value = '';
    if (!file) return;
    text = await file.text();
    go.hidden = true;
    out.replaceChildren(h('p', { class: 'hint' }, t('imp.checking')));
    try {
      show(await send(opts.token(), text, true), false);
    } catch (e) {
      out.replaceChildren(h('p', { class: 'form-error', id: 'import-summary' }, e instanceof ApiError ? e.message || errorText(e) : errorText(e)));
    }
  });
  go.addEventListener('click', async () => {
    go.disabled = true;
    try {
      const rep = await send(opts.token(), text, false);
      show(rep, rep.stored);
      if (rep.stored) opts.onImported?.(rep);
    } catch (e) {
      out.replaceChildren(h('p', { class: 'form-error', id: 'import-summary' }, errorText(e)));
    } finally { go.disabled = false; }
  });
  return { element: container, input: $('#import-file', container) };
}
