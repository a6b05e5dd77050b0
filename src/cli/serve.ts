/**
 * `inpaint serve`: the web page and the HTTP API on one port (see src/server/app.ts). Loads the
 * model once; SIGTERM or Ctrl-C stops taking requests, finishes the running and waiting ones, then
 * exits.
 */
import { parseArgs } from 'node:util';
import { UsageError } from '../core/errors.ts';
import { createServer, DEFAULT_MAX_FILE_BYTES, DEFAULT_MAX_PIXELS, DEFAULT_MAX_QUEUE, DEFAULT_TIMEOUT_SECONDS } from '../server/app.ts';
import { findVggWeights } from '../features/weights-location.ts';
import { deviceAssets } from '../server/assets.ts';
import { Methods } from '../server/methods.ts';
import { type Command, integerAtLeast } from './args.ts';

/** A second stop signal sooner than this after the first is the first delivered twice (`serve`). */
const SAME_SIGNAL_MS = 500;

export const serveCommand: Command = {
  summary: 'paint the hole on a photo in a web page; the HTTP API (http://127.0.0.1:8080)',
  help: `Usage: inpaint serve [--port N] [--host ADDR] [--model DIR] [options]

Starts a web server with a page to open a photo, paint over what should go, run, compare and
download the result, and the HTTP API it uses (POST /api/v1/inpaint; the description is at
/api/v1/openapi.json). One inference runs at a time on the loaded model; up to --max-queue requests
wait and more are answered 503 with Retry-After. Nothing is written to disk. By default the page
runs the pipeline in the browser, on the user's device (it downloads the model's files from this
server once and caches them); a switch on the page sends runs to this server instead.
npm run build:web writes the page as a static folder that needs no server.

Options:
  --port N            the port (default 8080; 0 picks a free one)
  --host ADDR         the address to listen on (default 127.0.0.1, this machine only; 0.0.0.0 for
                      every network: there is no authentication)
  --model DIR         the model bundle folder (default: models/default of this package)
  --vgg FILE          the VGG19 weights (default: INPAINT_VGG_WEIGHTS, the cache, else downloaded once)
  --max-queue N       requests that may wait behind the running one (default ${DEFAULT_MAX_QUEUE})
  --max-pixels N      the largest image in pixels (default ${DEFAULT_MAX_PIXELS})
  --max-mb N          the largest uploaded image or mask in MB (default ${DEFAULT_MAX_FILE_BYTES / 2 ** 20})
  --timeout S         a request's time limit in seconds, waiting included (default ${DEFAULT_TIMEOUT_SECONDS})

Examples:
  inpaint serve                       then open http://127.0.0.1:8080
  curl -F image=@photo.jpg -F mask=@mask.png -F method=ours http://127.0.0.1:8080/api/v1/inpaint -o filled.jpg`,
  run: runServe,
};

async function runServe(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      model: { type: 'string' },
      vgg: { type: 'string' },
      'max-queue': { type: 'string' },
      'max-pixels': { type: 'string' },
      'max-mb': { type: 'string' },
      timeout: { type: 'string' },
    },
  });
  if (positionals.length > 0) throw new UsageError(`serve takes no arguments but received ${positionals.join(' ')}`);
  const port = values.port === undefined ? 8080 : integerAtLeast(values.port, '--port', 0);
  if (port > 65535) throw new UsageError(`Expected a port from 0 to 65535 for --port but received ${port}`);
  const host = values.host ?? '127.0.0.1';
  const maxQueue = values['max-queue'] === undefined ? DEFAULT_MAX_QUEUE : integerAtLeast(values['max-queue'], '--max-queue', 0);
  const maxPixels = values['max-pixels'] === undefined ? DEFAULT_MAX_PIXELS : integerAtLeast(values['max-pixels'], '--max-pixels', 1);
  const maxFileBytes = values['max-mb'] === undefined ? DEFAULT_MAX_FILE_BYTES : integerAtLeast(values['max-mb'], '--max-mb', 1) * 2 ** 20;
  const timeoutSeconds = values.timeout === undefined ? DEFAULT_TIMEOUT_SECONDS : integerAtLeast(values.timeout, '--timeout', 1);

  // Resolved once: the server's own inference and the page's device mode use the same file.
  const vggWeights = await findVggWeights(values.vgg);
  const methods = await Methods.load({ bundle: values.model, vggWeights });
  for (const n of methods.notices) console.error(`warning: ${n}`);
  const device = await deviceAssets({ bundleDir: methods.bundleDir, vggWeights, mode: 'server' }).catch((err: Error) => {
    console.error(`warning: the page cannot run on the device (it runs on the server): ${err.message}`);
    return undefined;
  });
  const server = await createServer({ methods, device, maxQueue, maxPixels, maxFileBytes, timeoutSeconds, log: (line) => console.log(`${new Date().toISOString()} ${line}`) });
  try {
    const address = await server.app.listen({ port, host });
    console.log(`inpaint serve: open ${address.replace('[::1]', 'localhost')} (model ${methods.bundleDir}); Ctrl-C to stop`);
  } catch (err) {
    await methods.dispose();
    throw new UsageError(`cannot listen on ${host}:${port}: ${(err as Error).message}`);
  }
  // Finish what was accepted, then exit. A second signal exits at once, unless it comes within half
  // a second: then it is the first one delivered twice, as when a service manager signals every
  // process of the service and bin/inpaint.mjs passes its copy on as well.
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      console.log(`${signal}: finishing ${server.queue.stats.waiting + (server.queue.stats.running ? 1 : 0)} request(s), then exiting`);
      const first = Date.now();
      const again = (name: NodeJS.Signals) => () => {
        if (Date.now() - first <= SAME_SIGNAL_MS) return;
        // Die by the signal itself: process.exit would tear the engine's worker thread down under a
        // running inference, which aborts in ONNX Runtime's native code.
        process.removeAllListeners(name);
        process.kill(process.pid, name);
      };
      process.on('SIGINT', again('SIGINT'));
      process.on('SIGTERM', again('SIGTERM'));
      resolve();
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
  await server.close();
  await methods.dispose();
  console.log('inpaint serve: stopped');
}
