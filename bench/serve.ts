/**
 * `npm run bench -- serve [--clients N] [--seconds S] [--max-queue N] [--model DIR]`: the server
 * under load. Starts `inpaint serve` as its own process on 127.0.0.1 (the default model), and N
 * clients send inpaint requests back to back for S seconds: photos of three sizes with a hole each,
 * mostly 'ours' and some 'telea'. Every answer is checked: a 200 must be a PNG of the photo's size
 * whose pixels outside the (dilated) hole are the photo's own, exactly (so an answer meant for
 * another client is caught); a 503 past the queue limit is an answer (the client waits as
 * Retry-After says, at most 1 s, and goes on). Anything else (another status, a dropped
 * connection, a wrong image) counts as lost or wrong, and both must be 0.
 *
 * Reported: requests/s answered 200, p50 and p95 latency of those, the 503s, the server's peak
 * resident memory (VmHWM) and its resident memory after warm-up and at the end. The last line is
 * one JSON object.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { formBody, maskBytes, photoBytes, pixels } from '../src/server/testing.ts';
import { median, printTable } from './util.ts';

const { values } = parseArgs({
  options: {
    clients: { type: 'string', default: '8' },
    seconds: { type: 'string', default: '30' },
    'max-queue': { type: 'string', default: '4' },
    model: { type: 'string' },
  },
});
const clients = Number(values.clients);
const seconds = Number(values.seconds);
const maxQueue = Number(values['max-queue']);

interface Case {
  name: string;
  width: number;
  height: number;
  hole: { x: number; y: number; width: number; height: number };
  method: 'ours' | 'telea';
  photo: string;
}
const CASES: Case[] = [
  { name: '256 ours', width: 256, height: 256, hole: { x: 90, y: 100, width: 60, height: 40 }, method: 'ours', photo: 'python3-sklearn/china.jpg' },
  { name: '512x384 ours', width: 512, height: 384, hole: { x: 200, y: 150, width: 80, height: 60 }, method: 'ours', photo: 'python3-sklearn/flower.jpg' },
  { name: '1600x1200 ours', width: 1600, height: 1200, hole: { x: 700, y: 500, width: 120, height: 90 }, method: 'ours', photo: 'python3-skimage/astronaut.jpg' },
  { name: '512x384 telea', width: 512, height: 384, hole: { x: 100, y: 80, width: 50, height: 50 }, method: 'telea', photo: 'python3-skimage/coffee.jpg' },
];
const DILATE = 2;

const prepared = await Promise.all(
  CASES.map(async (c) => {
    const image = await photoBytes(c.width, c.height, 'png', c.photo);
    const form = await formBody({ image, mask: await maskBytes(c.width, c.height, c.hole), method: c.method, dilate: String(DILATE) });
    return { ...c, form, input: await pixels(image) };
  }),
);

/** Starts the server; resolves with its address once it listens. */
function startServer(): Promise<{ child: ChildProcess; address: string }> {
  const args = ['bin/inpaint.mjs', 'serve', '--port', '0', '--max-queue', String(maxQueue)];
  if (values.model) args.push('--model', values.model);
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk;
      const m = /open (http:\/\/\S+)/.exec(out);
      if (m) resolve({ child, address: m[1] });
    });
    child.on('exit', (code) => reject(new Error(`the server exited with ${code}: ${out}`)));
  });
}

/** KB -> MB of a /proc/<pid>/status field (Linux). */
function procMb(pid: number, field: 'VmHWM' | 'VmRSS'): number {
  const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Math.round(Number(m[1]) / 1024) : NaN;
}

/** Whether `answer` is the case's photo, filled: same size, every pixel outside the grown hole exact. */
async function isRightImage(c: (typeof prepared)[number], answer: Uint8Array): Promise<boolean> {
  const out = await pixels(answer);
  if (out.width !== c.width || out.height !== c.height || out.channels !== c.input.channels) return false;
  const m = DILATE + 1;
  const { x, y, width, height } = c.hole;
  for (let py = 0; py < c.height; py++) {
    for (let px = 0; px < c.width; px++) {
      if (px >= x - m && px < x + width + m && py >= y - m && py < y + height + m) continue;
      const i = (py * c.width + px) * out.channels;
      for (let k = 0; k < out.channels; k++) if (out.data[i + k] !== c.input.data[i + k]) return false;
    }
  }
  return true;
}

const { child, address } = await startServer();
const stats = { ok: 0, busy: 0, wrong: 0, lost: 0 };
const latencies: number[] = [];
const perCase = new Map<string, number[]>(CASES.map((c) => [c.name, []]));
const problems: string[] = [];
let rssWarm = NaN;
try {
  // Warm-up: one of each, so the first-call costs (sessions per size) are not in the figures.
  for (const c of prepared) {
    const res = await fetch(`${address}/api/v1/inpaint`, { method: 'POST', body: c.form.body, headers: c.form.headers });
    if (res.status !== 200 || !(await isRightImage(c, new Uint8Array(await res.arrayBuffer())))) throw new Error(`warm-up ${c.name} failed: ${res.status}`);
  }
  rssWarm = procMb(child.pid!, 'VmRSS');
  const end = performance.now() + seconds * 1000;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async (_, k) => {
      for (let n = k; performance.now() < end; n++) {
        const c = prepared[n % prepared.length];
        const t0 = performance.now();
        try {
          const res = await fetch(`${address}/api/v1/inpaint`, { method: 'POST', body: c.form.body, headers: c.form.headers });
          const body = new Uint8Array(await res.arrayBuffer());
          if (res.status === 200) {
            if (await isRightImage(c, body)) {
              stats.ok++;
              const ms = performance.now() - t0;
              latencies.push(ms);
              perCase.get(c.name)!.push(ms);
            } else {
              stats.wrong++;
              problems.push(`${c.name}: a wrong image`);
            }
          } else if (res.status === 503) {
            stats.busy++;
            const wait = Math.min(1, Number(res.headers.get('retry-after') ?? 1));
            await new Promise((r) => setTimeout(r, wait * 1000));
          } else {
            stats.lost++;
            problems.push(`${c.name}: HTTP ${res.status} ${new TextDecoder().decode(body).slice(0, 200)}`);
          }
        } catch (err) {
          stats.lost++;
          problems.push(`${c.name}: ${(err as Error).message}`);
        }
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  const rssEnd = procMb(child.pid!, 'VmRSS');
  const peak = procMb(child.pid!, 'VmHWM');
  const sorted = [...latencies].sort((a, b) => a - b);
  const pct = (p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] / 1000 : NaN);
  printTable(
    ['case', 'answered 200', 'median s'],
    CASES.map((c) => [c.name, String(perCase.get(c.name)!.length), perCase.get(c.name)!.length ? (median(perCase.get(c.name)!) / 1000).toFixed(2) : '-']),
  );
  console.log();
  printTable(
    ['clients', 'seconds', 'ok', '503 busy', 'wrong', 'lost', 'req/s', 'p50 s', 'p95 s', 'RSS warm MB', 'RSS end MB', 'peak RSS MB'],
    [[String(clients), elapsed.toFixed(0), String(stats.ok), String(stats.busy), String(stats.wrong), String(stats.lost), (stats.ok / elapsed).toFixed(2), pct(0.5).toFixed(2), pct(0.95).toFixed(2), String(rssWarm), String(rssEnd), String(peak)]],
  );
  for (const p of problems.slice(0, 10)) console.log(`problem: ${p}`);
  console.log(`server: ${address}, --max-queue ${maxQueue}; a 503 is an answer (the queue was full), not a loss.`);
  console.log(
    JSON.stringify({
      clients,
      seconds: +elapsed.toFixed(1),
      max_queue: maxQueue,
      ok: stats.ok,
      busy_503: stats.busy,
      wrong: stats.wrong,
      lost: stats.lost,
      requests_per_s: +(stats.ok / elapsed).toFixed(3),
      p50_s: +pct(0.5).toFixed(3),
      p95_s: +pct(0.95).toFixed(3),
      rss_warm_mb: rssWarm,
      rss_end_mb: rssEnd,
      peak_rss_mb: peak,
    }),
  );
  if (stats.wrong + stats.lost > 0) process.exitCode = 1;
} finally {
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
}
