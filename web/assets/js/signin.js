// signin.js: token sign-in for the desk pages (/operator, /command): the
// page's <form id="signin"> is shown until a token is accepted (checked with
// POST /api/v1/events/ticket, which any team token may call), then kept in
// localStorage until "sign out".
import { t } from './i18n.js';
import { api, ApiError, errorText, getToken, setToken, setTokenScope } from './api.js';
import { $ } from './util.js';

export function signIn(scope, onReady) {
  setTokenScope(scope);
  const form = $('#signin'), app = $('#app'), out = $('#signout');
  const show = (signedIn) => {
    form.hidden = signedIn;
    app.hidden = !signedIn;
    if (out) out.hidden = !signedIn;
  };
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const tok = $('#token', form).value.trim();
    const err = $('#signin-error', form);
    if (!tok) return;
    err.hidden = true;
    try {
      await api('/events/ticket', { method: 'POST', token: tok });
      setToken(tok);
      $('#token', form).value = '';
      show(true);
      onReady(tok);
    } catch (e) {
      err.textContent = e instanceof ApiError && (e.status === 401 || e.status === 403) ? t('sign.bad') : errorText(e);
      err.hidden = false;
    }
  });
  out?.addEventListener('click', () => { setToken(''); location.reload(); });
  const tok = getToken();
  if (tok) { show(true); onReady(tok); } else { show(false); $('#token', form).focus(); }
  return {
    // 401 from any call: forget the token and ask again.
    expired() { setToken(''); show(false); const e = $('#signin-error', form); e.textContent = t('err.unauthorized'); e.hidden = false; },
  };
}
