/** Helpers for the server's tests and the serve benchmark: form bodies and test images. */
import sharp from 'sharp';
import type { Box } from '../core/image.ts';
import { photoPixels } from '../inference/testing.ts';
import type { ServerMethods } from './app.ts';
import type { Methods } from './methods.ts';

/** Debian's chromium, which the browser test drives through playwright-core. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** A multipart/form-data body as `inject` and `fetch` take it. */
export async function formBody(parts: Record<string, Uint8Array | string | { bytes: Uint8Array; type: string }>): Promise<{ body: Buffer; headers: Record<string, string> }> {
  const form = new FormData();
  for (const [name, value] of Object.entries(parts)) {
    if (typeof value === 'string') form.append(name, value);
    else if (value instanceof Uint8Array) form.append(name, new Blob([value]), `${name}.bin`);
    else form.append(name, new Blob([value.bytes], { type: value.type }), `${name}.bin`);
  }
  const encoded = new Response(form);
  return { body: Buffer.from(await encoded.arrayBuffer()), headers: { 'content-type': encoded.headers.get('content-type')! } };
}

/** A real photo at `width` x `height` as PNG bytes (or JPEG). */
export async function photoBytes(width: number, height: number, format: 'png' | 'jpeg' = 'png', file?: string): Promise<Buffer> {
  const raw = await photoPixels(width, height, file);
  const s = sharp(raw.data, { raw: { width, height, channels: 3 } });
  return format === 'png' ? s.png().toBuffer() : s.jpeg({ quality: 95 }).toBuffer();
}

/** A white-on-black mask PNG with the given rectangles as holes. */
export async function maskBytes(width: number, height: number, ...holes: Box[]): Promise<Buffer> {
  const grey = Buffer.alloc(width * height);
  for (const b of holes) for (let y = b.y; y < b.y + b.height; y++) grey.fill(255, y * width + b.x, y * width + b.x + b.width);
  return sharp(grey, { raw: { width, height, channels: 1 } }).png().toBuffer();
}

/** Decoded interleaved pixels of encoded bytes. */
export async function pixels(bytes: Uint8Array): Promise<{ data: Buffer; width: number; height: number; channels: number }> {
  const { data, info } = await sharp(bytes).raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: info.channels };
}

/** Wraps the methods so a test can hold inferences back, see how many ran at once and what the last fill was given. */
export function gated(methods: Methods) {
  let open = true;
  let waiters: (() => void)[] = [];
  const state: { running: number; maxRunning: number; calls: number; last?: Parameters<ServerMethods['fill']> } = { running: 0, maxRunning: 0, calls: 0 };
  const held = async <T>(work: () => Promise<T>): Promise<T> => {
    state.calls++;
    state.running++;
    state.maxRunning = Math.max(state.maxRunning, state.running);
    try {
      while (!open) await new Promise<void>((r) => waiters.push(r));
      return await work();
    } finally {
      state.running--;
    }
  };
  const wrapped: ServerMethods = {
    get bundleDir() {
      return methods.bundleDir;
    },
    fill(...args) {
      // The last call's arguments, for a test to see what the server passed on.
      state.last = args;
      return held(() => methods.fill(...args));
    },
    stylize(...args) {
      return held(() => methods.stylize(...args));
    },
  };
  return {
    wrapped,
    state,
    hold: () => (open = false),
    release: () => {
      open = true;
      for (const w of waiters.splice(0)) w();
      waiters = [];
    },
  };
}

