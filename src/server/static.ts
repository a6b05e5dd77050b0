/**
 * `npm run build:web`: the page as a static folder that any static host can serve, with no
 * server-side inference: index.html, the page, its device worker and service worker, the app's
 * manifest and icons, config.json
 * (mode 'static': the page hides its server switch), and the device mode's files (assets.ts): the
 * model bundle, onnxruntime-web's files and the VGG file when a local copy is configured (else the
 * page fetches it from its public origin at run time, the only other origin it ever asks).
 * `_headers` carries the isolation headers for hosts that read that file (Netlify, Cloudflare
 * Pages); elsewhere the service worker adds them.
 */
import { copyFile, mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { resolveVggWeights } from '../features/weights-location.ts';
import { checkoutVggWeights } from '../features/weights-location.ts';
import { type DeviceConfig, deviceAssets, ISOLATION_HEADERS } from './assets.ts';
import { buildPage } from './page.ts';

export interface StaticBuild {
  out: string;
  config: DeviceConfig;
  /** Bytes written, all files together. */
  bytes: number;
  /** Whether the VGG file was copied (else the page fetches it from its public origin). */
  vggCopied: boolean;
}

/**
 * The local VGG file a build copies: `explicit`, else INPAINT_VGG_WEIGHTS, else a development
 * checkout's shared/models copy, else the cache; undefined when there is none (nothing is downloaded).
 */
export async function localVggWeights(explicit?: string): Promise<string | undefined> {
  if (explicit !== undefined) return explicit;
  return resolveVggWeights({ path: process.env.INPAINT_VGG_WEIGHTS ? undefined : checkoutVggWeights(), download: false }).catch(() => undefined);
}

/**
 * Writes the static folder `out` (emptied first).
 * @throws Error when the device worker cannot be built or the bundle cannot be read
 */
export async function buildStatic(options: { out: string; bundleDir: string; vggWeights?: string }): Promise<StaticBuild> {
  const page = await buildPage();
  if (!page.worker) throw new Error(`the device worker could not be built: ${page.workerError}`);
  const assets = await deviceAssets({ bundleDir: options.bundleDir, vggWeights: options.vggWeights, mode: 'static' });
  await rm(options.out, { recursive: true, force: true });
  await mkdir(options.out, { recursive: true });
  let bytes = 0;
  const write = async (name: string, text: string | Buffer) => {
    await writeFile(join(options.out, name), text);
    bytes += Buffer.byteLength(text);
  };
  await write('index.html', page.html);
  await write('app.js', page.js);
  await write('app.css', page.css);
  await write('inpaint-worker.js', page.worker);
  await write('sw.js', page.sw);
  for (const [name, file] of page.files) await write(name, file.body);
  await write('config.json', JSON.stringify(assets.config, null, 2));
  await write('_headers', `/*\n${Object.entries(ISOLATION_HEADERS).map(([k, v]) => `  ${k}: ${v}`).join('\n')}\n`);
  for (const f of assets.files.values()) {
    const to = join(options.out, f.url);
    await mkdir(dirname(to), { recursive: true });
    await copyFile(f.path, to);
    bytes += f.bytes;
  }
  return { out: options.out, config: assets.config, bytes, vggCopied: options.vggWeights !== undefined };
}
