// Metaplay's service worker: once the playground has been opened, it works offline.
//
// The build (scripts/sw-manifest, a Trunk post-build hook) replaces the MANIFEST line with the
// release's files and a version made from their hashed names. Installing caches all of them;
// activating drops the caches of other versions, so a new release replaces the old one.
// Pages (navigations) go to the network first, so a new release is seen as soon as it is
// online, and fall back to the cached page; the other files have content-hashed names and are
// served from the cache first.
const MANIFEST = { version: "dev", files: [] };
const CACHE = "metaplay-" + MANIFEST.version;

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches.open(CACHE)
      .then((cache) => cache.addAll(["./", ...MANIFEST.files]))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(
        keys.filter((k) => k.startsWith("metaplay-") && k !== CACHE).map((k) => caches.delete(k)),
      ))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET" || new URL(request.url).origin !== self.location.origin) {
    return;
  }
  if (request.mode === "navigate") {
    // any link of the playground (its query is the experiment) is the same page
    event.respondWith(
      fetch(request).catch(() =>
        caches.open(CACHE).then((cache) =>
          cache.match(request, { ignoreSearch: true }).then((hit) => hit || cache.match("./"))
        )
      ),
    );
    return;
  }
  event.respondWith(
    caches.open(CACHE).then((cache) =>
      cache.match(request, { ignoreSearch: true }).then((hit) => hit || fetch(request))
    ),
  );
});
