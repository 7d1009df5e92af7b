// The grid worker page's service worker: keeps the last copy of the page so that it opens
// without signal (in a stairwell, a basement). Results made offline are queued by the page in
// IndexedDB and sent when the signal returns (see grid_worker.html); this worker only serves
// the page itself, network first (a fresh page whenever there is signal), the cache otherwise.
const CACHE = "gridgate-grid-worker-v1";

self.addEventListener("install", (event) => { self.skipWaiting(); });
self.addEventListener("activate", (event) => { event.waitUntil(self.clients.claim()); });

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== location.origin || url.pathname !== "/pages/grid-worker") return;
  event.respondWith((async () => {
    const cache = await caches.open(CACHE);
    try {
      const fresh = await fetch(request);
      if (fresh.ok) await cache.put(url.pathname + url.search, fresh.clone());
      return fresh;
    } catch (err) {
      const kept = await cache.match(url.pathname + url.search);
      if (kept) return kept;
      throw err;
    }
  })());
});
