/**
 * The web page: TypeScript and CSS under web/ in this repository, bundled by esbuild when the server
 * starts (about 0.1 s; no build step to forget, nothing fetched from a CDN), kept in memory.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

export const WEB_DIR = fileURLToPath(new URL('../../web/', import.meta.url));

export interface Page {
  html: string;
  js: string;
  css: string;
}

let built: Promise<Page> | undefined;

/** Bundles web/main.ts (and the CSS it imports) once per process. */
export function buildPage(): Promise<Page> {
  built ??= bundle();
  return built;
}

async function bundle(): Promise<Page> {
  const result = await build({
    entryPoints: { app: `${WEB_DIR}main.ts` },
    bundle: true,
    write: false,
    outdir: '/virtual',
    format: 'esm',
    target: ['chrome100', 'firefox100', 'safari15'],
    minify: true,
    sourcemap: false,
    logLevel: 'silent',
  });
  const out = (ext: string) => result.outputFiles.find((f) => f.path.endsWith(ext))?.text ?? '';
  return { html: await readFile(`${WEB_DIR}index.html`, 'utf8'), js: out('.js'), css: out('.css') };
}
