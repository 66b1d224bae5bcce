// outbox.js: requests that survive a dead connection (issue 17). A request is
// written to the phone (localStorage) before it is sent, with a random
// Idempotency-Key; it leaves only when the server answered it (or refused it
// for good). Sent again after a lost answer, or when the connection returns,
// the same key and the same bytes make the server answer its first answer
// again and store nothing twice.
import { api, ApiError } from './api.js';

const KEY = 'helpmap.outbox';
const MAX = 20;

function read() {
  try {
    const v = JSON.parse(localStorage.getItem(KEY) || '[]');
    return Array.isArray(v) ? v.filter((m) => m && m.key && typeof m.text === 'string') : [];
  } catch { return []; }
}
function write(list) {
  try { localStorage.setItem(KEY, JSON.stringify(list.slice(-MAX))); } catch { /* private mode: kept in memory only */ }
}

// 128 random bits as hex (crypto.randomUUID needs a secure context; this does not).
function newKey() {
  const b = new Uint8Array(16);
  crypto.getRandomValues(b);
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

export function pending() { return read(); }

// Keep `body` on the phone; returns the item {key, text, at, category}.
export function keep(body) {
  const item = { key: newKey(), text: JSON.stringify(body), at: new Date().toISOString(), category: body.category };
  write([...read(), item]);
  return item;
}

export function drop(key) { write(read().filter((m) => m.key !== key)); }

// Worth trying again later: no connection, the server busy or limiting.
export function retryable(e) {
  return e instanceof ApiError && (e.status === 0 || e.status === 429 || e.status >= 500);
}

// Send one item; resolves with the server's answer and removes it, rejects with an ApiError
// (the item stays when retryable(e), and is removed when the server refused it for good).
export async function send(item) {
  try {
    const res = await api('/requests', {
      method: 'POST', token: null, bodyText: item.text, headers: { 'Idempotency-Key': item.key },
    });
    drop(item.key);
    return res;
  } catch (e) {
    if (!retryable(e)) drop(item.key);
    throw e;
  }
}

let flushing = false;
// Send every waiting item, oldest first; onSent(item, answer) for each sent,
// onRefused(item, error) for each refused for good. Stops at the first retryable failure.
export async function flush(onSent, onRefused) {
  if (flushing || navigator.onLine === false) return;
  flushing = true;
  try {
    for (const item of read()) {
      try {
        onSent(item, await send(item));
      } catch (e) {
        if (retryable(e)) break;
        onRefused(item, e);
      }
    }
  } finally {
    flushing = false;
  }
}
