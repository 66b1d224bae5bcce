// api.js: JSON calls to /api/v1 with the SPEC's error shape
// {"error": {"code", "message", "field"}}, team tokens kept on the device.
import { t } from './i18n.js';

export const API = '/api/v1';
let TOKEN_KEY = 'helpmap.token.team';

// Each desk page keeps its own token (a volunteer and an operator may share a
// computer): scope is 'team', 'operator' or 'command'.
export function setTokenScope(scope) { TOKEN_KEY = `helpmap.token.${scope}`; }

export class ApiError extends Error {
  constructor(status, code, message, field, extra) {
    super(message || code || `HTTP ${status}`);
    this.status = status;        // 0: network failure
    this.code = code || (status ? `http_${status}` : 'network');
    this.field = field || null;
    this.retryAfter = extra?.retryAfter ?? null;
    this.body = extra?.body ?? null;
  }
}

export function getToken() {
  try { return localStorage.getItem(TOKEN_KEY) || ''; } catch { return ''; }
}
export function setToken(tok) {
  try {
    if (tok) localStorage.setItem(TOKEN_KEY, tok); else localStorage.removeItem(TOKEN_KEY);
  } catch { /* ignore */ }
}

// api('/requests', {method:'POST', body:{...}, token, query:{...}, headers, bodyText}) -> parsed JSON.
// Throws ApiError. token === undefined uses the stored team token; pass null
// for none (public calls). keepalive: the call outlives the page (sent while
// the page is being left).
export async function api(path, opts = {}) {
  const { method = 'GET', body, query, signal, raw = false, keepalive = false } = opts;
  const token = opts.token === undefined ? getToken() : opts.token;
  let url = path.startsWith('/api/') || path.startsWith('/tiles/') ? path : API + path;
  if (query) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== '') q.set(k, v);
    const s = q.toString();
    if (s) url += (url.includes('?') ? '&' : '?') + s;
  }
  const headers = { Accept: raw ? '*/*' : 'application/json', ...(opts.headers || {}) };
  if (token) headers.Authorization = `Bearer ${token}`;
  let payload;
  if (opts.bodyText !== undefined) {
    // JSON text sent as is (a request kept on the phone goes out byte for byte the same).
    headers['Content-Type'] = 'application/json';
    payload = opts.bodyText;
  } else if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    payload = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(url, { method, headers, body: payload, signal, cache: 'no-store', keepalive });
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new ApiError(0, 'network', t('err.network'));
  }
  if (raw && res.ok) return res;
  let data = null;
  const text = await res.text().catch(() => '');
  if (text) {
    try { data = JSON.parse(text); } catch { data = null; }
  }
  if (!res.ok) {
    const e = data && typeof data.error === 'object' && data.error ? data.error : {};
    const ra = parseInt(res.headers.get('Retry-After') || '', 10);
    throw new ApiError(res.status, e.code, e.message, e.field, {
      retryAfter: isFinite(ra) ? ra : null, body: data,
    });
  }
  return data;
}

// A message for the user, in the page language, for any ApiError.
export function errorText(err) {
  if (!(err instanceof ApiError)) return t('err.network');
  switch (err.code) {
    case 'network': return t('err.network');
    case 'rate_limited': return t('err.rate', { n: err.retryAfter ?? 60 });
    case 'unauthorized': return t('err.unauthorized');
    case 'forbidden': return t('err.forbidden');
    case 'not_found': return t('err.not_found');
    case 'invalid_transition': return t('err.invalid_transition');
    case 'already_claimed': return t('err.already_claimed');
    case 'claim_limit': return t('err.claim_limit');
    case 'too_large': return t('err.too_large');
    case 'unavailable': return t('err.unavailable');
    case 'outside_service_area': return t('err.outside');
    case 'receipt_limit': return t('err.receipt_limit');
    default:
      if (err.status >= 500) return t('err.server');
      if (err.field) {
        const k = `f.${err.field}`;
        const s = t(k);
        return s === k ? (err.message || t('f.invalid')) : s;
      }
      return err.message || t('err.server');
  }
}

// Phone check mirroring the server: Vietnamese (0xxxxxxxxx, 10-11 digits) or
// international (+ and 8-15 digits); spaces, dots, dashes and brackets allowed.
export function phoneLooksValid(s) {
  const p = String(s || '').replace(/[\s.\-()]/g, '');
  return /^0\d{9,10}$/.test(p) || /^\+\d{8,15}$/.test(p) || /^84\d{9,10}$/.test(p);
}

// Request codes: case and dashes are ignored on input.
export function normCode(s) {
  return String(s || '').toUpperCase().replace(/[^0-9A-Z]/g, '');
}
