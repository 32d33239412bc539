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
// The page starts one of two worker builds (src/ui/worker_build.rs): `worker_relaxed` where
// this module, the same bytes as RELAXED_SIMD_PROBE there, validates; `worker` otherwise.
// Only the one this browser starts is precached (a `simd=strict` link on a browser with
// relaxed SIMD fetches the other once, and the fetch handler keeps it).
const RELAXED_SIMD_PROBE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7b,
  0x03, 0x02, 0x01, 0x00, 0x0a, 0x1c, 0x01, 0x1a, 0x00, 0x43, 0x00, 0x00, 0x80, 0x3f, 0xfd,
  0x13, 0x43, 0x00, 0x00, 0x80, 0x3f, 0xfd, 0x13, 0x43, 0x00, 0x00, 0x80, 0x3f, 0xfd, 0x13,
  0xfd, 0x85, 0x02, 0x0b,
]);
const RELAXED = typeof WebAssembly === "object" && WebAssembly.validate(RELAXED_SIMD_PROBE);
const OTHER_WORKER = RELAXED ? /^\.\/worker(\.js|_bg\.wasm|_loader\.js)$/ : /^\.\/worker_relaxed/;
const PRECACHE = MANIFEST.files.filter((f) => !OTHER_WORKER.test(f));

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches.open(CACHE)
      .then((cache) => cache.addAll(["./", ...PRECACHE]))
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
      cache.match(request, { ignoreSearch: true }).then((hit) =>
        hit || fetch(request).then((response) => {
          // a file not precached (the other worker build) is kept once fetched
          if (response.ok) {
            cache.put(request, response.clone());
          }
          return response;
        })
      )
    ),
  );
});
