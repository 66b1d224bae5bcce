// sw.js: the resident page "/" works without a connection after the first visit (issue 17).
// The page, its scripts, styles, icons and the commune outlines are kept in the Cache
// Storage and served from it when the network fails or hangs; online, the network answers
// first (so a new version arrives at once) and refreshes the copy. Requests themselves
// (POST /api/v1/requests) never go through the cache: outbox.js keeps them on the phone and
// sends them when the connection returns. Tracking pages, team and desk pages and every
// other API call go to the network as usual (a tracking link carries a secret; it is not
// kept). Served from the root so that its scope is "/".
const CACHE = 'helpmap-resident-v1';
const SHELL = [
  '/', '/config.js', '/manifest.webmanifest', '/assets/css/app.css',
  '/assets/js/resident.js', '/assets/js/i18n.js', '/assets/js/api.js', '/assets/js/util.js',
  '/assets/js/mapkit.js', '/assets/js/names.js', '/assets/js/places.js', '/assets/js/share.js',
  '/assets/js/flood.js', '/assets/js/live.js', '/assets/js/outbox.js', '/assets/icon.svg',
  '/assets/icons/icon-192.png', '/assets/icons/icon-512.png',
];
// A navigation that has not answered within this time is served from the cache (a link that
// is up but carries nothing); the network's answer still refreshes the copy.
const NAV_WAIT_MS = 4000;

self.addEventListener('install', (ev) => {
  ev.waitUntil(caches.open(CACHE).then((c) => c.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener('activate', (ev) => {
  ev.waitUntil(caches.keys()
    .then((keys) => Promise.all(keys.filter((k) => k.startsWith('helpmap-') && k !== CACHE).map((k) => caches.delete(k))))
    .then(() => self.clients.claim()));
});

function kept(url, req) {
  if (req.method !== 'GET' || url.origin !== self.location.origin) return null;
  const p = url.pathname;
  if (req.mode === 'navigate') return p === '/' || p === '/index.html' ? '/' : null;
  if (SHELL.includes(p) || p.startsWith('/assets/') || p.startsWith('/vendor/')) return req;
  if (p === '/api/v1/areas' && (url.searchParams.get('level') === 'ward' || url.searchParams.get('level') === 'hamlet')) return req;
  return null;
}

async function fromNetwork(req, key, cache) {
  const res = await fetch(req);
  if (res.ok && res.type === 'basic') await cache.put(key, res.clone());
  return res;
}

async function answer(req, key, navigation) {
  const cache = await caches.open(CACHE);
  const net = fromNetwork(req, key, cache);
  net.catch(() => {}); // handled below; not an unhandled rejection when the copy answers
  const wait = navigation
    ? Promise.race([net, new Promise((resolve) => { setTimeout(() => resolve(null), NAV_WAIT_MS); })])
    : net;
  try {
    const res = await wait;
    if (res) return res;
  } catch { /* no connection: the copy */ }
  const hit = await cache.match(key, { ignoreVary: true });
  if (hit) return hit;
  return net; // nothing kept: the network's own answer or failure
}

self.addEventListener('fetch', (ev) => {
  const url = new URL(ev.request.url);
  const key = kept(url, ev.request);
  if (!key) return;
  ev.respondWith(answer(ev.request, key, ev.request.mode === 'navigate'));
});
