// live.js: Server-Sent Events from /api/v1/events that survive server
// restarts. With a team token, each connection uses a fresh one-use ticket
// from POST /api/v1/events/ticket (EventSource cannot send headers), so the
// browser's own reconnect (which would reuse a spent ticket) is replaced by
// ours: close, back off 1 s → 30 s with jitter, new ticket, reconnect, and
// tell the page to resynchronise (events missed while away are not replayed
// across connections).
import { api, ApiError } from './api.js';

const TYPES = ['request.created', 'request.updated', 'request.alert', 'request.assigned', 'request.safe',
  'request.flagged', 'team.moved', 'point.created', 'point.updated', 'point.deleted'];

// live({token, url, types, onEvent(type, data, id), onState('connecting'|'live'|'down'),
//       onResync(), onAuthError()}) -> {close()}
// url: another stream than /api/v1/events (e.g. one request's own events).
// types: the families of events the page wants ('point', 'request,point'); all when absent,
// so that a page showing only relief points is spared every request's event.
export function live(opts) {
  let es = null, closed = false, timer = 0, backoff = 1000, everOpen = false;

  function schedule() {
    if (closed) return;
    clearTimeout(timer);
    const wait = Math.min(backoff, 30000) * (0.75 + Math.random() * 0.5);
    backoff = Math.min(backoff * 2, 30000);
    timer = setTimeout(connect, wait);
  }

  async function connect() {
    if (closed) return;
    opts.onState?.('connecting');
    let url = opts.url || '/api/v1/events';
    if (opts.token) {
      try {
        const r = await api('/events/ticket', { method: 'POST', token: opts.token });
        url += `${url.includes('?') ? '&' : '?'}ticket=${encodeURIComponent(r.ticket)}`;
      } catch (e) {
        opts.onState?.('down');
        if (e instanceof ApiError && e.status === 401) { opts.onAuthError?.(); return; }
        schedule();
        return;
      }
    }
    if (closed) return;
    if (opts.types) url += `${url.includes('?') ? '&' : '?'}types=${encodeURIComponent(opts.types)}`;
    const src = new EventSource(url);
    es = src;
    src.onopen = () => {
      backoff = 1000;
      opts.onState?.('live');
      if (everOpen) opts.onResync?.();
      everOpen = true;
    };
    src.onerror = () => {
      // Public streams could let the browser retry, but a ticket is spent
      // once used: always reconnect ourselves.
      if (es !== src) return;
      src.close();
      es = null;
      opts.onState?.('down');
      schedule();
    };
    const handle = (ev) => {
      let data = null;
      try { data = ev.data ? JSON.parse(ev.data) : null; } catch { return; }
      opts.onEvent?.(ev.type, data, ev.lastEventId);
    };
    for (const tp of TYPES) src.addEventListener(tp, handle);
    src.onmessage = handle; // unnamed events, if any
  }

  connect();
  const onOnline = () => { if (!es && !closed) { backoff = 1000; clearTimeout(timer); connect(); } };
  addEventListener('online', onOnline);
  return {
    close() {
      closed = true;
      clearTimeout(timer);
      removeEventListener('online', onOnline);
      if (es) es.close();
      es = null;
    },
  };
}
