/**
 * The page's service worker: offline use, and cross-origin isolation on hosts that cannot set
 * headers (a plain static host).
 *
 * - Isolation: every same-origin response it hands the page gets `Cross-Origin-Opener-Policy:
 *   same-origin` and `Cross-Origin-Embedder-Policy: require-corp` (and a same-origin resource
 *   policy), the headers a server would send; the page reloads once when the worker first takes
 *   control, and is then `crossOriginIsolated`, so onnxruntime-web can use WASM threads.
 * - Offline: the page's own files (index.html, app.js, app.css, the workers, config.json, ORT's
 *   .mjs loaders) are fetched from the network when it answers, and kept; without a network they
 *   come from the cache. The large files (the model, VGG, ORT's .wasm) are kept by the device
 *   worker itself in Cache Storage; this worker answers them from there when they are.
 * - Sharing: a photo shared to the installed app from another app (the manifest's share_target, a
 *   POST of the form to ./share) is kept in Cache Storage, and the page is opened with `?shared`,
 *   which opens it (`web/main.ts`).
 * - The API (/api/) and other origins pass through untouched.
 */
const sw = self as unknown as {
  addEventListener(type: 'install' | 'activate', listener: (e: { waitUntil(p: Promise<unknown>): void }) => void): void;
  addEventListener(type: 'fetch', listener: (e: { request: Request; respondWith(r: Promise<Response>): void }) => void): void;
  skipWaiting(): Promise<void>;
  clients: { claim(): Promise<void> };
  location: Location;
};

const SHELL_CACHE = 'inpaint-shell-v1';
const ISOLATION: Record<string, string> = {
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-embedder-policy': 'require-corp',
  'cross-origin-resource-policy': 'same-origin',
};

sw.addEventListener('install', (e) => e.waitUntil(sw.skipWaiting()));
sw.addEventListener('activate', (e) => e.waitUntil(sw.clients.claim()));

/**
 * Types that must be right whatever the host says: a module script of another type is refused, and
 * WebAssembly streams only from application/wasm.
 */
const TYPES: Record<string, string> = { '.mjs': 'text/javascript', '.js': 'text/javascript', '.wasm': 'application/wasm' };

/** The same response with the isolation headers (a status 0 opaque or a redirect stays as it is). */
function isolated(res: Response, path: string): Response {
  if (res.status === 0 || res.type === 'opaqueredirect') return res;
  const headers = new Headers(res.headers);
  for (const [k, v] of Object.entries(ISOLATION)) headers.set(k, v);
  const type = TYPES[/\.[a-z]+$/.exec(path)?.[0] ?? ''];
  if (type && res.ok) headers.set('content-type', type);
  return new Response(res.body, { status: res.status, statusText: res.statusText, headers });
}

/** The page's own small files: fresh from the network when there is one. */
function isShell(path: string): boolean {
  return !/\/(model|vgg)\/[^/]+$/.test(path) && !path.endsWith('.wasm');
}

async function answer(request: Request): Promise<Response> {
  const url = new URL(request.url);
  const scopePath = new URL('./', sw.location.href).pathname;
  const path = url.pathname.slice(scopePath.length - 1);
  if (isShell(path)) {
    try {
      const res = await fetch(request);
      if (res.ok) {
        const cache = await caches.open(SHELL_CACHE);
        await cache.put(request.mode === 'navigate' ? new URL('./', sw.location.href).href : request, res.clone()).catch(() => undefined);
      }
      return isolated(res, path);
    } catch (err) {
      const cached = await caches.match(request.mode === 'navigate' ? new URL('./', sw.location.href).href : request, { ignoreSearch: true });
      if (cached) return isolated(cached, path);
      throw err;
    }
  }
  // The large files: the device worker's cache, else the network (the worker keeps them itself).
  const cached = await caches.match(request, { ignoreSearch: true });
  return isolated(cached ?? (await fetch(request)), path);
}

/** Where a shared photo waits for the page: a cache of one entry (`SHARED_PHOTO` in web/main.ts). */
const SHARED_CACHE = 'inpaint-shared';

/** Keeps the photo of a share (the form field `photo`) for the page, and sends the browser to it. */
async function receiveShare(request: Request): Promise<Response> {
  const photo = (await request.formData()).get('photo');
  if (photo instanceof File) {
    const headers = { 'content-type': photo.type, 'x-name': encodeURIComponent(photo.name) };
    await (await caches.open(SHARED_CACHE)).put(new URL('./shared-photo', sw.location.href).href, new Response(photo, { headers }));
  }
  return Response.redirect(new URL('./?shared', sw.location.href).href, 303);
}

sw.addEventListener('fetch', (e) => {
  const url = new URL(e.request.url);
  if (e.request.method === 'POST' && url.href === new URL('./share', sw.location.href).href) return e.respondWith(receiveShare(e.request));
  if (e.request.method !== 'GET' || url.origin !== sw.location.origin || url.pathname.includes('/api/')) return;
  e.respondWith(answer(e.request));
});
