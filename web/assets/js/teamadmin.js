// teamadmin.js: team accounts on /command (coordinators): the list of teams
// with their role, status and whether they are enabled; add a team (its
// one-time token is shown once, as text, as a QR code, and as a link that
// signs a phone in on /team: /team#token=…), rotate a token, disable, enable.
// The QR code is drawn on a canvas by qrcode-generator (vendored, MIT).
import { t, addStrings } from './i18n.js';
import { errorText } from './api.js';
import { h } from './util.js';

addStrings({
  vi: {
    'ta.title': 'Tổ hỗ trợ và tài khoản', 'ta.add': 'Thêm tổ', 'ta.name': 'Tên tổ', 'ta.role': 'Vai trò',
    'ta.caps': 'Khả năng (cách nhau bởi dấu phẩy: boat, medical, vehicle)', 'ta.create': 'Tạo tài khoản',
    'ta.rotate': 'Cấp mã mới', 'ta.disable': 'Khóa', 'ta.enable': 'Mở khóa', 'ta.disabled': 'đã khóa',
    'ta.token': 'Mã đăng nhập của {name} (chỉ hiện một lần):', 'ta.scan': 'Quét mã QR bằng điện thoại của tổ để đăng nhập, hoặc gửi liên kết:',
    'ta.close': 'Đóng', 'ta.confirm': 'Bấm lần nữa để xác nhận',
    'ts.available': 'Sẵn sàng', 'ts.busy': 'Đang bận', 'ts.off': 'Nghỉ',
    'role.volunteer': 'Tổ tình nguyện', 'role.operator': 'Tổng đài viên', 'role.coordinator': 'Điều phối viên', 'role.admin': 'Quản trị',
  },
  en: {
    'ta.title': 'Teams and accounts', 'ta.add': 'Add a team', 'ta.name': 'Team name', 'ta.role': 'Role',
    'ta.caps': 'Capabilities (comma-separated: boat, medical, vehicle)', 'ta.create': 'Create account',
    'ta.rotate': 'New token', 'ta.disable': 'Disable', 'ta.enable': 'Enable', 'ta.disabled': 'disabled',
    'ta.token': 'Sign-in token of {name} (shown once):', 'ta.scan': "Scan the QR code with the team's phone to sign it in, or send the link:",
    'ta.close': 'Close', 'ta.confirm': 'Click again to confirm',
    'ts.available': 'Available', 'ts.busy': 'Busy', 'ts.off': 'Off duty',
    'role.volunteer': 'Volunteer team', 'role.operator': 'Operator', 'role.coordinator': 'Coordinator', 'role.admin': 'Admin',
  },
});

let qrModule = null;
async function qrcode() {
  if (!qrModule) qrModule = import('/vendor/qrcode.mjs');
  return (await qrModule).default;
}

// A QR code of `text` on a canvas, 4 modules of quiet zone, `px` pixels a module.
async function qrCanvas(text, px = 6) {
  const QR = await qrcode();
  const qr = QR(0, 'M');
  qr.addData(text, 'Byte');
  qr.make();
  const n = qr.getModuleCount(), size = (n + 8) * px;
  const c = h('canvas', { width: String(size), height: String(size), class: 'qr', id: 'team-qr', 'aria-label': text });
  const g = c.getContext('2d');
  g.fillStyle = '#ffffff';
  g.fillRect(0, 0, size, size);
  g.fillStyle = '#000000';
  for (let r = 0; r < n; r++) for (let col = 0; col < n; col++) if (qr.isDark(r, col)) g.fillRect((col + 4) * px, (r + 4) * px, px, px);
  return c;
}

// The link that signs a phone in on /team (the page stores the token and drops it from the URL).
export function signInLink(token) {
  return `${location.origin}/team#token=${encodeURIComponent(token)}`;
}

// mountTeams(panel, {call}) -> {open(), close()}
export function mountTeams(panel, { call }) {
  const list = h('tbody', { id: 'teams-body' });
  const secret = h('div', { id: 'team-secret', class: 'secret', hidden: true });
  const msg = h('p', { class: 'msg', id: 'teams-msg', hidden: true });
  const name = h('input', { id: 'ta-name', required: true, maxlength: '100' });
  const role = h('select', { id: 'ta-role' }, ['volunteer', 'operator', 'coordinator'].map((r) => h('option', { value: r }, t(`role.${r}`))));
  const caps = h('input', { id: 'ta-caps', maxlength: '200' });
  const form = h('form', { class: 'row', id: 'team-add' },
    h('label', { class: 'field' }, h('span', null, t('ta.name')), name),
    h('label', { class: 'field' }, h('span', null, t('ta.role')), role),
    h('label', { class: 'field' }, h('span', null, t('ta.caps')), caps),
    h('button', { type: 'submit', class: 'btn' }, t('ta.create')));
  const close = h('button', { type: 'button', class: 'close', id: 'teams-close', 'aria-label': t('ta.close') }, '×');
  panel.replaceChildren(close, h('h2', null, t('ta.title')), secret, h('h3', null, t('ta.add')), form, msg,
    h('table', { class: 'teams-tbl' }, list));

  const say = (text, bad) => { msg.textContent = text; msg.className = `msg${bad ? ' bad' : ''}`; msg.hidden = !text; };

  async function showSecret(team, token) {
    const link = signInLink(token);
    secret.replaceChildren(
      h('p', null, t('ta.token', { name: team.name })), h('p', { class: 'token', id: 'team-token' }, token),
      h('p', null, t('ta.scan')), await qrCanvas(link), h('p', null, h('a', { href: link, id: 'team-link', target: '_blank', rel: 'noopener' }, link)));
    secret.hidden = false;
  }

  async function refresh() {
    try {
      const fc = await call('/teams', { query: { disabled: 'true' } });
      list.replaceChildren(...(fc?.features || []).map((f) => row(f.properties)));
    } catch (e) { say(errorText(e), true); }
  }

  function action(team, what, label, cls) {
    const b = h('button', { type: 'button', class: `btn btn-small ${cls || ''}`, dataset: { act: what } }, label);
    b.addEventListener('click', async () => {
      if (what !== 'enable' && !b.classList.contains('armed')) { b.classList.add('armed'); b.textContent = t('ta.confirm'); return; }
      b.disabled = true;
      try {
        const res = await call(`/teams/${team.id}/${what}`, { method: 'POST' });
        if (res?.token) await showSecret(res.team, res.token); else secret.hidden = true;
        say('');
        await refresh();
      } catch (e) { say(errorText(e), true); b.disabled = false; }
    });
    return b;
  }

  function row(p) {
    return h('tr', { dataset: { team: String(p.id) }, class: p.disabled ? 'off' : '' },
      h('td', null, p.name), h('td', null, t(`role.${p.role}`)),
      h('td', null, p.disabled ? t('ta.disabled') : t(`ts.${p.status}`)),
      h('td', null, (p.capabilities || []).join(', ')),
      h('td', null, action(p, 'rotate', t('ta.rotate')),
        p.disabled ? action(p, 'enable', t('ta.enable')) : action(p, 'disable', t('ta.disable'), 'btn-danger')));
  }

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const body = { name: name.value.trim(), role: role.value, capabilities: caps.value.split(',').map((x) => x.trim()).filter(Boolean) };
    try {
      const res = await call('/teams', { method: 'POST', body });
      form.reset();
      say('');
      await showSecret(res.team, res.token);
      await refresh();
    } catch (e) { say(errorText(e), true); }
  });
  close.addEventListener('click', () => { panel.hidden = true; secret.replaceChildren(); secret.hidden = true; });

  return {
    open() { panel.hidden = false; refresh(); name.focus(); },
  };
}
