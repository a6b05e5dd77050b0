/**
 * The web page: TypeScript and CSS under web/ in this repository, bundled by esbuild when the server
 * starts (no build step to forget, nothing fetched from a CDN), kept in memory; `npm run build:web`
 * writes the same bundles to a static folder. Three entries: the page (app.js, app.css), the Web
 * Worker that runs the pipeline on the device (inpaint-worker.js, a module worker that bundles the
 * library and onnxruntime-web's JavaScript), and the service worker (sw.js: offline, the
 * cross-origin isolation headers on hosts that cannot set them, and photos shared to the installed
 * app). Beside them, what makes the page an installable app: its manifest and icons (`files`; the
 * PNG icons drawn from web/icon.svg).
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BuildOptions, type BuildResult, build, type Plugin } from 'esbuild';
import sharp from 'sharp';

export const WEB_DIR = fileURLToPath(new URL('../../web/', import.meta.url));

export interface Page {
  html: string;
  js: string;
  css: string;
  /** The device worker's bundle; empty when it cannot be built (the page then runs on the server). */
  worker: string;
  /** Why the worker could not be built, if it could not. */
  workerError?: string;
  sw: string;
  /** The app's manifest and icons, by the name they are served under. */
  files: ReadonlyMap<(typeof APP_FILES)[number], { type: string; body: string | Buffer }>;
}

let built: Promise<Page> | undefined;

/** Bundles web/main.ts (and the CSS it imports), the worker and the service worker once per process. */
export function buildPage(): Promise<Page> {
  built ??= bundle();
  return built;
}

const COMMON: BuildOptions = {
  bundle: true,
  write: false,
  outdir: '/virtual',
  format: 'esm',
  target: ['chrome100', 'firefox100', 'safari15'],
  minify: true,
  sourcemap: false,
  logLevel: 'silent',
};

/**
 * The page and its worker import the library from its sources (the worker ../src/web.ts and the
 * platform-free modules it runs besides, PatchMatch; the page the EXIF of its downloads); the
 * installed package has no sources but their compiled dist/*.js, which this plugin puts in their
 * place.
 */
const LIBRARY: Plugin = {
  name: 'library-sources',
  setup(b) {
    const [src, dist] = [resolve(WEB_DIR, '../src'), resolve(WEB_DIR, '../dist')];
    b.onResolve({ filter: /\/src\/.+\.ts$/ }, (args) => {
      const sources = resolve(args.resolveDir, args.path);
      const compiled = join(dist, relative(src, sources)).replace(/\.ts$/, '.js');
      return { path: existsSync(sources) || !existsSync(compiled) ? sources : compiled };
    });
  },
};

async function bundle(): Promise<Page> {
  const [page, sw] = await Promise.all([
    build({ ...COMMON, entryPoints: { app: `${WEB_DIR}main.ts` }, plugins: [LIBRARY] }),
    build({ ...COMMON, entryPoints: { sw: `${WEB_DIR}sw.ts` } }),
  ]);
  const out = (result: BuildResult, ext: string) => result.outputFiles?.find((f) => f.path.endsWith(ext))?.text ?? '';
  let worker = '';
  let workerError: string | undefined;
  try {
    // The library and onnxruntime-web's JavaScript; ORT loads its .wasm and .mjs from the wasmPaths it is given.
    const result = await build({ ...COMMON, entryPoints: { 'inpaint-worker': `${WEB_DIR}inpaint-worker.ts` }, target: ['chrome110', 'firefox115', 'safari16.4'], plugins: [LIBRARY] });
    worker = out(result, '.js');
  } catch (err) {
    workerError = (err as Error).message.split('\n').slice(0, 3).join(' ');
  }
  return { html: await readFile(`${WEB_DIR}index.html`, 'utf8'), js: out(page, '.js'), css: out(page, '.css'), worker, workerError, sw: out(sw, '.js'), files: await appFiles() };
}

/** The names the app's manifest and icons are served under, beside the page (`Page.files`). */
export const APP_FILES = ['manifest.webmanifest', 'icon.svg', 'icon-192.png', 'icon-512.png'] as const;

/** The manifest that makes the page an installable app, and its icons: the SVG, and PNGs drawn from it. */
async function appFiles(): Promise<Map<(typeof APP_FILES)[number], { type: string; body: string | Buffer }>> {
  const svg = await readFile(`${WEB_DIR}icon.svg`);
  const png = (size: number) => sharp(svg, { density: 300 }).resize(size, size).png().toBuffer();
  return new Map<(typeof APP_FILES)[number], { type: string; body: string | Buffer }>([
    ['manifest.webmanifest', { type: 'application/manifest+json', body: await readFile(`${WEB_DIR}manifest.webmanifest`, 'utf8') }],
    ['icon.svg', { type: 'image/svg+xml', body: svg }],
    ['icon-192.png', { type: 'image/png', body: await png(192) }],
    ['icon-512.png', { type: 'image/png', body: await png(512) }],
  ]);
}
