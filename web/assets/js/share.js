// share.js: send a link from a phone. The Web Share API opens the phone's own
// sheet (Zalo, Messenger, SMS, …); without it, a box under the button offers
// "copy link" and an SMS with the link.
import { t } from './i18n.js';
import { h } from './util.js';

async function copy(text, input) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    input.focus();
    input.select();
    try { return document.execCommand('copy'); } catch { return false; }
  }
}

// shareLink({title, text, url}, box): box is the element that holds the
// fallback (hidden until needed).
export async function shareLink({ title, text, url }, box) {
  if (typeof navigator.share === 'function') {
    try {
      await navigator.share({ title, text, url });
      return;
    } catch (e) {
      if (e?.name === 'AbortError') return; // the person closed the sheet
    }
  }
  const input = h('input', { type: 'text', readonly: true, value: url, 'aria-label': t('share.link'), class: 'share-url' });
  input.addEventListener('focus', () => input.select());
  const msg = h('span', { class: 'hint', role: 'status' });
  const btn = h('button', { type: 'button', class: 'btn btn-small', dataset: { act: 'copy' } }, t('share.copy'));
  btn.addEventListener('click', async () => { msg.textContent = (await copy(url, input)) ? t('share.copied') : t('share.copy_manual'); });
  box.replaceChildren(input, h('div', { class: 'row' }, btn,
    h('a', { class: 'btn btn-small', href: `sms:?&body=${encodeURIComponent(`${text} ${url}`)}` }, t('share.sms')), msg));
  box.hidden = false;
}

export const SHARE_STRINGS = {
  vi: {
    'share.link': 'Liên kết', 'share.copy': 'Sao chép liên kết', 'share.copied': 'Đã sao chép.',
    'share.copy_manual': 'Giữ ngón tay trên liên kết để sao chép.', 'share.sms': 'Gửi qua SMS',
  },
  en: {
    'share.link': 'Link', 'share.copy': 'Copy link', 'share.copied': 'Copied.',
    'share.copy_manual': 'Press and hold the link to copy it.', 'share.sms': 'Send by SMS',
  },
};
