/**
 * `createServer()`: the fastify app behind `inpaint serve`: the web page and the HTTP API.
 *
 *   GET  /                       the page (built from web/ by esbuild, see page.ts), its worker
 *                                and service worker, config.json and the device mode's fixed list
 *                                of files (model/, vgg/, ort/, heic/: see assets.ts)
 *   POST /api/v1/inpaint         multipart: image, mask and/or the field box (boxes drawn around
 *                                objects: GrabCut finds the hole in them), optional sampleFrom,
 *                                exclude, and the fields rotate and extend (straighten, add a
 *                                border: what they leave empty is filled too), method, ensemble,
 *                                dilate, resizeMask, format, stripMetadata, sources -> the filled
 *                                image (with sources: a multipart answer, the image and where the
 *                                fill copied from)
 *   POST /api/v1/select          multipart: image and the field box -> a PNG mask of the objects
 *                                GrabCut finds in the boxes (the hole box would fill; same queue)
 *   POST /api/v1/stylize         multipart: content, style, and the fields size, strength, format,
 *                                stripMetadata
 *                                -> the stylized content (same queue and limits)
 *   GET  /api/v1/health          status, the queue, memory
 *   GET  /api/v1/methods         the methods and what they take
 *   GET  /api/v1/openapi.json    the API's OpenAPI 3.1 description
 *
 * What keeps it up under any load: one inference at a time on the shared model, a bounded line of
 * waiting requests (a full line answers 503 with Retry-After), a time limit per request, byte limits
 * on the form parts and a pixel limit checked from the image headers before anything is decoded.
 * Requests are decoded only when their turn comes, so at most one decoded photo is in memory; a
 * waiting request holds only its uploaded bytes (at most 4 x maxFileBytes: image, mask, sampleFrom,
 * exclude). Nothing is ever written to disk and no field is a file-system path.
 */
import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { basename } from 'node:path';
import multipart from '@fastify/multipart';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import sharp, { type Metadata } from 'sharp';
import { encodeImage, encodeMask, type ImageFormat, isDecodable, lostMetadata, type MaskImage, READABLE_FORMATS, readImage, readImageWithAlpha, readMask, readMetadata, type RgbImage } from '../core/image.ts';
import { UsageError } from '../core/errors.ts';
import { type BoxInput, objectsInBoxes, parseBox } from '../core/grabcut.ts';
import { opaqueWhereFilled, toRgba8 } from '../core/raster.ts';
import { parseMargins, parseRotation, type ReframeOptions, reframes } from '../core/reframe.ts';
import { maskOfAreas } from '../core/select.ts';
import { fitMask, reframeHole } from '../inference/index.ts';
import { checkMethodName, type MethodName } from '../baselines/index.ts';
import { ApiError, TimeLimitError, toApiError } from './errors.ts';
import { type FillOptions, METHODS, Methods, type StyleOptions } from './methods.ts';
import { openApiDocument } from './openapi.ts';
import { type DeviceAssets, ISOLATION_HEADERS } from './assets.ts';
import { APP_FILES, buildPage } from './page.ts';
import { JobQueue } from './queue.ts';

export interface ServerOptions {
  /** The loaded methods (`Methods.load()`); the server does not dispose them. */
  methods: ServerMethods;
  /** How many requests may wait behind the running one before 503. Default 8. */
  maxQueue?: number;
  /** The largest image (and mask) in pixels, checked from its header. Default 50 megapixels. */
  maxPixels?: number;
  /** The largest image or mask part in bytes. Default 50 MB. */
  maxFileBytes?: number;
  /** A request's time limit, waiting included, in seconds. Default 300. */
  timeoutSeconds?: number;
  /** Serve the web page at /. Default true. */
  page?: boolean;
  /**
   * The files the page needs to run on the user's device (`deviceAssets()`): served from this fixed
   * list with config.json. Without it the page runs on the server only.
   */
  device?: DeviceAssets;
  /** Called with one line per answered inpaint request. */
  log?: (line: string) => void;
}

export interface InpaintServer {
  app: FastifyInstance;
  queue: JobQueue;
  /** Stops taking requests, lets the running and waiting ones finish, then closes. */
  close(): Promise<void>;
}

export const DEFAULT_MAX_QUEUE = 8;
export const DEFAULT_MAX_PIXELS = 50_000_000;
export const DEFAULT_MAX_FILE_BYTES = 50 * 1024 * 1024;
export const DEFAULT_TIMEOUT_SECONDS = 300;

/** The answer's formats, by the names the `format` field takes. */
const FORMATS: Record<string, ImageFormat> = { png: 'png', jpeg: 'jpeg', jpg: 'jpeg', webp: 'webp', tiff: 'tiff', tif: 'tiff' };
const MIME: Record<ImageFormat, string> = { png: 'image/png', jpeg: 'image/jpeg', webp: 'image/webp', tiff: 'image/tiff' };
const FIELDS = ['method', 'ensemble', 'dilate', 'resizeMask', 'format', 'stripMetadata', 'sources', 'box', 'rotate', 'extend'];
/** The longest field value: room for a few dozen boxes; a longer one is refused, not cut short. */
const FIELD_BYTES = 1000;
const INPAINT_FILES = ['image', 'mask', 'sampleFrom', 'exclude'];
const STYLIZE_FIELDS = ['size', 'strength', 'format', 'stripMetadata'];
const STYLIZE_FILES = ['content', 'style'];
/** A stand-in for a mask part while the request is checked, before anything is decoded. */
const EMPTY_MASK: MaskImage = { width: 0, height: 0, data: new Uint8Array(0) };

/** What the server needs of `Methods` (tests wrap it to hold or count inferences). */
export type ServerMethods = Pick<Methods, 'fill' | 'stylize' | 'bundleDir'>;

/** A parsed, checked inpaint request: nothing decoded yet. */
interface InpaintRequest {
  image: Buffer;
  /** The hole: the mask, the objects in the boxes, or both, and what `frame` leaves empty (at least one of them). */
  mask?: Buffer;
  boxes: BoxInput[];
  /** The photo straightened or given a border first (`rotate`, `extend`). */
  frame: ReframeOptions;
  /** The optional sampling-region masks (ours only). */
  sampleFrom?: Buffer;
  exclude?: Buffer;
  method: MethodName;
  options: FillOptions;
  format: ImageFormat;
  /** Whether the answer carries the image's EXIF and XMP (`stripMetadata` not set). */
  keepMetadata: boolean;
}

/**
 * Builds the app (not listening yet: `server.app.listen(...)`, or `server.app.inject(...)` in tests).
 * @example
 * const methods = await Methods.load();
 * const server = await createServer({ methods });
 * await server.app.listen({ port: 8080, host: '127.0.0.1' });
 */
export async function createServer(options: ServerOptions): Promise<InpaintServer> {
  const maxPixels = options.maxPixels ?? DEFAULT_MAX_PIXELS;
  const maxFileBytes = options.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
  const timeoutMs = 1000 * (options.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS);
  const queue = new JobQueue(options.maxQueue ?? DEFAULT_MAX_QUEUE);
  const { methods } = options;
  const started = Date.now();
  let closing = false;

  const app = Fastify({ logger: false, bodyLimit: 1024 * 1024, forceCloseConnections: 'idle', return503OnClosing: false });
  await app.register(multipart, {
    limits: { fileSize: maxFileBytes, files: INPAINT_FILES.length, fields: FIELDS.length, fieldSize: FIELD_BYTES, parts: INPAINT_FILES.length + FIELDS.length, headerPairs: 100 },
  });

  // While closing, every answer closes its connection: a kept-alive one would hold the close back
  // for the keep-alive timeout after the last request finished.
  app.addHook('onRequest', async () => {
    if (closing) throw new ApiError('closing', 'the server is shutting down; try again in a moment', { 'retry-after': '10' });
  });
  app.addHook('onSend', async (_request, reply, payload) => {
    if (closing) reply.header('connection', 'close');
    // Cross-origin isolated: onnxruntime-web's WASM threads need SharedArrayBuffer.
    reply.headers(ISOLATION_HEADERS);
    return payload;
  });
  app.setErrorHandler((err, _request, reply) => sendError(reply, toApiError(err)));
  app.setNotFoundHandler((request, reply) => sendError(reply, new ApiError('not_found', `no route ${request.method} ${request.url.split('?')[0]}`)));

  app.get('/api/v1/health', async () => {
    const q = queue.stats;
    return {
      status: closing ? 'closing' : 'ok',
      // The folder's name only: a client has no business with the server's paths.
      model: basename(methods.bundleDir.replace(/[\\/]+$/, '')),
      uptime_s: Math.round((Date.now() - started) / 1000),
      queue: { running: q.running, waiting: q.waiting, max_waiting: q.maxWaiting, mean_seconds: +q.meanSeconds.toFixed(3), completed: q.completed },
      limits: { max_pixels: maxPixels, max_file_bytes: maxFileBytes, timeout_s: timeoutMs / 1000 },
      rss_mb: Math.round(process.memoryUsage.rss() / 2 ** 20),
    };
  });
  app.get('/api/v1/methods', async () => ({ methods: METHODS, default: 'ours' }));
  app.get('/api/v1/openapi.json', async () => openApiDocument({ maxPixels, maxFileBytes, maxQueue: queue.maxWaiting }));

  /**
   * Runs `job` in the queue for one request: cancelled when the client goes away (the page's Cancel
   * aborts its upload) or time runs out; answers its bytes, or throws the ApiError.
   */
  const answer = async (reply: FastifyReply, t0: number, what: string, format: ImageFormat, job: () => Promise<{ body: Buffer; notices: string[]; sources?: Uint8Array }>) => {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new TimeLimitError(`the request took longer than its limit of ${timeoutMs / 1000} s`)), timeoutMs);
    const onClose = () => {
      if (!reply.raw.writableFinished) controller.abort(new Error('the client closed the connection'));
    };
    reply.raw.on('close', onClose);
    let waited = 0;
    try {
      const result = await queue.run(async () => {
        waited = performance.now() - t0;
        try {
          return await job();
        } catch (err) {
          throw toApiError(err, true);
        }
      }, controller.signal);
      options.log?.(`200 ${what} ${((performance.now() - t0) / 1000).toFixed(2)} s (waited ${(waited / 1000).toFixed(2)} s)`);
      const { type, body } = result.sources ? withSources(result.body, format, result.sources) : { type: MIME[format], body: result.body };
      return reply
        .code(200)
        .header('content-type', type)
        .header('cache-control', 'no-store')
        .header('x-inpaint-seconds', ((performance.now() - t0) / 1000).toFixed(3))
        .header('x-inpaint-notices', asciiJson(result.notices))
        .send(body);
    } catch (err) {
      const api = toApiError(err);
      options.log?.(`${api.status} ${what} ${api.code}: ${api.message}`);
      throw api;
    } finally {
      clearTimeout(timer);
      reply.raw.off('close', onClose);
    }
  };

  app.post('/api/v1/inpaint', async (request, reply) => {
    const t0 = performance.now();
    const req = await parseRequest(request, maxPixels);
    return answer(reply, t0, req.method, req.format, () => inpaintOne(methods, req, maxPixels));
  });

  app.post('/api/v1/select', async (request, reply) => {
    const t0 = performance.now();
    const req = await parseSelect(request, maxPixels);
    return answer(reply, t0, 'select', 'png', () => selectOne(req, maxPixels));
  });

  app.post('/api/v1/stylize', async (request, reply) => {
    const t0 = performance.now();
    const req = await parseStylize(request, maxPixels);
    return answer(reply, t0, 'stylize', req.format, () => stylizeOne(methods, req, maxPixels));
  });

  if (options.page !== false) {
    const page = buildPage();
    page.catch(() => undefined);
    const asset = (type: string, pick: (p: Awaited<typeof page>) => string) => async (_request: FastifyRequest, reply: FastifyReply) =>
      reply.header('content-type', type).header('cache-control', 'no-cache').send(pick(await page));
    app.get('/', asset('text/html; charset=utf-8', (p) => p.html));
    app.get('/app.js', asset('text/javascript; charset=utf-8', (p) => p.js));
    app.get('/app.css', asset('text/css; charset=utf-8', (p) => p.css));
    app.get('/sw.js', asset('text/javascript; charset=utf-8', (p) => p.sw));
    for (const name of APP_FILES) {
      app.get(`/${name}`, async (_request, reply) => {
        const file = (await page).files.get(name)!;
        return reply.header('content-type', file.type).header('cache-control', 'no-cache').send(file.body);
      });
    }
    const device = options.device;
    if (device) {
      app.get('/inpaint-worker.js', async (_request, reply) => {
        const p = await page;
        if (!p.worker) throw new ApiError('not_found', `the device worker could not be built: ${p.workerError}`);
        return reply.header('content-type', 'text/javascript; charset=utf-8').header('cache-control', 'no-cache').send(p.worker);
      });
      app.get('/config.json', async (_request, reply) => {
        const p = await page;
        // Without a worker there is no device mode: the page runs on the server.
        const config = p.worker ? device.config : { ...device.config, files: [], workerError: p.workerError };
        return reply.header('cache-control', 'no-cache').send(config);
      });
      // One route per folder, each file looked up by name in the fixed list: no client path reaches the disk.
      for (const folder of ['model', 'vgg', 'ort', 'heic']) {
        app.get(`/${folder}/:name`, async (request, reply) => {
          const file = device.files.get(`${folder}/${(request.params as { name: string }).name}`);
          if (!file) throw new ApiError('not_found', `no route GET ${request.url.split('?')[0]}`);
          const etag = `"${file.bytes.toString(36)}-${device.config.version}"`;
          reply.header('etag', etag).header('cache-control', 'no-cache').header('content-type', file.type);
          if (request.headers['if-none-match'] === etag) return reply.code(304).send();
          return reply.header('content-length', file.bytes).send(createReadStream(file.path));
        });
      }
    }
  }

  return {
    app,
    queue,
    async close() {
      closing = true;
      // fastify's close stops listening and waits for the requests in flight, each of which waits
      // for its turn in the queue; new requests on open connections are answered 503 'closing'.
      await app.close();
      await queue.whenIdle();
    },
  };
}

function sendError(reply: FastifyReply, err: ApiError): FastifyReply {
  return reply.code(err.status).headers(err.headers).send(err.body);
}

/** JSON in a header value: only printable ASCII survives every HTTP stack. */
const asciiJson = (value: unknown) => JSON.stringify(value).replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

/** A form's parts by name: the files' bytes and the fields' text. */
interface Form {
  files: Record<string, Buffer>;
  fields: Record<string, string>;
}

/**
 * Reads a multipart form whose file parts must be among `fileNames` and whose fields among
 * `fieldNames`, each at most once; `required` files must be there and not empty. `expected` names
 * the parts a request that is no form is told to send.
 * @throws ApiError 400 or 415
 */
async function readForm(request: FastifyRequest, fileNames: readonly string[], fieldNames: readonly string[], required: readonly string[], expected = required.join(' and ')): Promise<Form> {
  if (!request.isMultipart()) {
    throw new ApiError('unsupported_media_type', `expected multipart/form-data with the parts ${expected}, but the request is ${request.headers['content-type'] ?? 'without a content type'}`);
  }
  const files: Record<string, Buffer> = {};
  const fields: Record<string, string> = {};
  for await (const part of request.parts()) {
    if (part.type === 'file') {
      if (!fileNames.includes(part.fieldname)) {
        await part.toBuffer().catch(() => undefined);
        throw new ApiError('bad_request', `unknown file part ${JSON.stringify(part.fieldname)}; expected ${fileNames.join(', ')}`);
      }
      if (files[part.fieldname]) throw new ApiError('bad_request', `the part ${part.fieldname} was sent twice`);
      files[part.fieldname] = await part.toBuffer();
    } else {
      if (!fieldNames.includes(part.fieldname)) throw new ApiError('bad_request', `unknown field ${JSON.stringify(part.fieldname)}; expected ${fieldNames.join(', ')}`);
      if (part.fieldname in fields) throw new ApiError('bad_request', `the field ${part.fieldname} was sent twice`);
      if (part.valueTruncated) throw new ApiError('bad_request', `the field ${part.fieldname} is longer than ${FIELD_BYTES} bytes`);
      fields[part.fieldname] = String(part.value);
    }
  }
  for (const name of required) {
    if (!files[name]) throw new ApiError('bad_request', `missing the ${name} part (a ${READABLE_FORMATS} file)`);
  }
  for (const [name, bytes] of Object.entries(files)) if (bytes.length === 0) throw new ApiError('bad_request', `the ${name} part is empty`);
  return { files, fields };
}

/** The answer's format from the field `format`, else the input's (PNG for a GIF or AVIF input). */
function formatField(value: string | undefined, input: ImageFormat): ImageFormat {
  if (value === undefined) return input;
  const format = FORMATS[value.toLowerCase()];
  if (!format) throw new ApiError('bad_request', `Expected png, jpeg, webp or tiff for format but received ${JSON.stringify(value)}`);
  return format;
}

/**
 * Reads the form and checks everything that needs no decoding: the parts, the options (with the
 * `inpaint run` command's rules and messages), the image types and sizes from their headers.
 * @throws ApiError 400, 413 or 415
 */
async function parseRequest(request: FastifyRequest, maxPixels: number): Promise<InpaintRequest> {
  const { files, fields } = await readForm(request, INPAINT_FILES, FIELDS, ['image'], 'image and mask');
  if (!files.mask && fields.box === undefined && fields.rotate === undefined && fields.extend === undefined) {
    throw new ApiError('bad_request', `missing the mask part (a ${READABLE_FORMATS} file) or the box field ("X,Y,W,H": a box drawn around the object to remove; several separated by ";"): send either, or both (or rotate or extend, to fill what straightening or a border leaves empty)`);
  }
  let method: MethodName;
  let boxes: BoxInput[] = [];
  const frame: ReframeOptions = {};
  const options: FillOptions = {};
  const keepMetadata = keepMetadataField(fields);
  try {
    if (fields.box !== undefined) boxes = fields.box.split(';').map((text) => ({ text, box: parseBox(text, 'box') }));
    if (fields.rotate !== undefined) frame.rotate = parseRotation(fields.rotate, 'rotate');
    if (fields.extend !== undefined) frame.extend = parseMargins(fields.extend, 'extend');
    method = checkMethodName(fields.method ?? 'ours');
    if (fields.ensemble !== undefined) options.ensemble = integerField(fields.ensemble, 'ensemble');
    if (fields.dilate !== undefined) options.dilate = integerField(fields.dilate, 'dilate');
    if (fields.resizeMask !== undefined) options.resizeMask = booleanField(fields.resizeMask, 'resizeMask');
    if (fields.sources !== undefined) options.sources = booleanField(fields.sources, 'sources');
    // Checked by presence here; decoded with the rest when the request's turn comes.
    if (files.sampleFrom) options.sampleFrom = EMPTY_MASK;
    if (files.exclude) options.exclude = EMPTY_MASK;
    Methods.check(method, options);
  } catch (err) {
    throw toApiError(err, false);
  }
  const image = await inspect('image', files.image, maxPixels);
  for (const name of ['mask', 'sampleFrom', 'exclude']) if (files[name]) await inspect(name, files[name], maxPixels);
  const format = formatField(fields.format, image.format);
  return { image: files.image, mask: files.mask, boxes, frame, sampleFrom: files.sampleFrom, exclude: files.exclude, method, options, format, keepMetadata };
}

/**
 * Reads a select form (image, box) and checks it without decoding.
 * @throws ApiError 400, 413 or 415
 */
async function parseSelect(request: FastifyRequest, maxPixels: number): Promise<{ image: Buffer; boxes: BoxInput[] }> {
  const { files, fields } = await readForm(request, ['image'], ['box'], ['image']);
  if (fields.box === undefined) throw new ApiError('bad_request', 'missing the field box ("X,Y,W,H": a box drawn around the object to select; several separated by ";")');
  let boxes: BoxInput[];
  try {
    boxes = fields.box.split(';').map((text) => ({ text, box: parseBox(text, 'box') }));
  } catch (err) {
    throw toApiError(err, false);
  }
  await inspect('image', files.image, maxPixels);
  return { image: files.image, boxes };
}

/** The mask of the objects in the boxes, as a PNG (what `boxHole` makes the hole of), in the queue. */
async function selectOne(req: { image: Buffer; boxes: BoxInput[] }, maxPixels: number): Promise<{ body: Buffer; notices: string[] }> {
  const image = await readImage(req.image, { maxPixels }).catch(label('image'));
  const notices: string[] = [];
  return { body: Buffer.from(await encodeMask(boxHole(image, req.boxes, undefined, false, notices))), notices };
}

/** A parsed, checked stylize request: nothing decoded yet. */
interface StylizeRequest {
  content: Buffer;
  style: Buffer;
  options: StyleOptions;
  format: ImageFormat;
  /** Whether the answer carries the content's EXIF and XMP (`stripMetadata` not set). */
  keepMetadata: boolean;
}

/**
 * Reads a stylize form (content, style, size, strength, format) and checks it without decoding.
 * @throws ApiError 400, 413 or 415
 */
async function parseStylize(request: FastifyRequest, maxPixels: number): Promise<StylizeRequest> {
  const { files, fields } = await readForm(request, STYLIZE_FILES, STYLIZE_FIELDS, STYLIZE_FILES);
  const options: StyleOptions = {};
  try {
    if (fields.size !== undefined) options.size = integerField(fields.size, 'size');
    if (fields.strength !== undefined) options.strength = numberField(fields.strength, 'strength');
    Methods.checkStyle(options);
  } catch (err) {
    throw toApiError(err, false);
  }
  const content = await inspect('content', files.content, maxPixels);
  await inspect('style', files.style, maxPixels);
  return { content: files.content, style: files.style, options, format: formatField(fields.format, content.format), keepMetadata: keepMetadataField(fields) };
}

function numberField(value: string, name: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) throw new ApiError('bad_request', `Expected a number for ${name} but received ${JSON.stringify(value)}`);
  return n;
}

function integerField(value: string, name: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isSafeInteger(n) || n < 0) throw new ApiError('bad_request', `Expected a non-negative integer for ${name} but received ${JSON.stringify(value)}`);
  return n;
}

/** Whether an answer keeps its image's EXIF and XMP: unless the field `stripMetadata` is true. */
function keepMetadataField(fields: Record<string, string>): boolean {
  return fields.stripMetadata === undefined || !booleanField(fields.stripMetadata, 'stripMetadata');
}

function booleanField(value: string, name: string): boolean {
  if (value === 'true' || value === '1') return true;
  if (value === 'false' || value === '0') return false;
  throw new ApiError('bad_request', `Expected true or false for ${name} but received ${JSON.stringify(value)}`);
}

/**
 * The type and size of an uploaded image from its header. The messages are the library's (its
 * readers fail on the header too, so asking them costs nothing).
 * @throws ApiError 415 when the library cannot read it, 413 when it has more than maxPixels pixels
 */
async function inspect(part: string, bytes: Buffer, maxPixels: number): Promise<{ format: ImageFormat }> {
  const libraryMessage = async () => readImage(bytes, { maxPixels }).then(() => 'unreadable', (err: Error) => err.message);
  let meta: Metadata;
  try {
    meta = await sharp(bytes, { limitInputPixels: false }).metadata();
  } catch {
    throw new ApiError('unsupported_media_type', `${part}: ${await libraryMessage()}`);
  }
  if (!isDecodable(meta)) throw new ApiError('unsupported_media_type', `${part}: ${await libraryMessage()}`);
  if (meta.width * meta.height > maxPixels) throw new ApiError('payload_too_large', `${part}: ${await libraryMessage()}`);
  return { format: FORMATS[meta.format] ?? 'png' };
}

/** Prefixes a reading error's message with the form part it is about. */
const label = (part: string) => (err: unknown): never => {
  if (err instanceof Error) err.message = `${part}: ${err.message}`;
  throw err;
};

/** Decodes, fills and encodes one request: the part that runs in the queue, one at a time. */
async function inpaintOne(methods: ServerMethods, req: InpaintRequest, maxPixels: number): Promise<{ body: Buffer; notices: string[]; sources?: Uint8Array }> {
  // In the photo's own colour space, written back with its profile (`encode`).
  let { image, alpha } = await readImageWithAlpha(req.image, { maxPixels, keepProfile: true }).catch(label('image'));
  const sent = req.mask && (await readMask(req.mask, { maxPixels }).catch(label('mask')));
  const options = { ...req.options };
  if (req.sampleFrom) options.sampleFrom = await readMask(req.sampleFrom, { maxPixels }).catch(label('sampleFrom'));
  if (req.exclude) options.exclude = await readMask(req.exclude, { maxPixels }).catch(label('exclude'));
  const notices: string[] = [];
  let mask = req.boxes.length > 0 ? boxHole(image, req.boxes, sent, options.resizeMask ?? false, notices) : sent;
  if (reframes(req.frame)) {
    const masks = { sampleFrom: options.sampleFrom as MaskImage | undefined, exclude: options.exclude as MaskImage | undefined };
    const framed = reframeHole({ image, alpha }, mask, masks, req.frame, { resize: options.resizeMask ?? false, maxPixels, flags: { rotate: 'rotate', extend: 'extend' } }, notices);
    ({ photo: { image, alpha }, hole: mask } = framed);
    if (framed.sampleFrom) options.sampleFrom = framed.sampleFrom;
    if (framed.exclude) options.exclude = framed.exclude;
  }
  const result = await methods.fill(req.method, image, mask!, options);
  result.notices.unshift(...notices);
  const body = await encode(result.image, req.image, req.format, alpha && opaqueWhereFilled(alpha, mask!, image.width, image.height), req.keepMetadata, result.notices, true);
  return { body, notices: result.notices, ...(result.sources ? { sources: await encodeMask(result.sources) } : {}) };
}

/**
 * The hole a request with boxes asks for: the object GrabCut finds in each box, united with the mask
 * when one was sent. A notice says how many pixels each box took.
 * @throws ApiError 400 a box outside the image or over all of it, or one in which nothing stands out
 * @throws UsageError (422) a mask of another size without resizeMask
 */
function boxHole(image: RgbImage, boxes: BoxInput[], mask: MaskImage | undefined, resize: boolean, notices: string[]): MaskImage {
  const painted = mask && fitMask(mask, image, resize, notices);
  try {
    return maskOfAreas(objectsInBoxes({ width: image.width, height: image.height, data: toRgba8(image) }, boxes, 'box', (n) => notices.push(n)), image.width, image.height, painted);
  } catch (err) {
    // About the request, not the image's content: 400, where a UsageError in the job is 422.
    throw err instanceof UsageError ? new ApiError('bad_request', err.message) : err;
  }
}

/**
 * The answer to a request that asked for `sources`: multipart/form-data (what `Response.formData()`
 * reads) with the parts `image` (the filled image) and `sources` (a PNG mask, the image's size,
 * white where the fill copied from).
 */
function withSources(image: Buffer, format: ImageFormat, sources: Uint8Array): { type: string; body: Buffer } {
  const boundary = `inpaint-${randomUUID()}`;
  const part = (name: string, file: string, type: string, bytes: Uint8Array) => [
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${name}"; filename="${file}"\r\nContent-Type: ${type}\r\n\r\n`),
    bytes,
    Buffer.from('\r\n'),
  ];
  const ext = format === 'jpeg' ? 'jpg' : format === 'tiff' ? 'tif' : format;
  const body = Buffer.concat([...part('image', `inpainted.${ext}`, MIME[format], image), ...part('sources', 'sources.png', 'image/png', sources), Buffer.from(`--${boundary}--\r\n`)]);
  return { type: `multipart/form-data; boundary=${boundary}`, body };
}

/** Decodes, stylizes and encodes one request, in the queue like an inpainting. */
async function stylizeOne(methods: ServerMethods, req: StylizeRequest, maxPixels: number): Promise<{ body: Buffer; notices: string[] }> {
  const { image: content, alpha } = await readImageWithAlpha(req.content, { maxPixels }).catch(label('content'));
  const style = await readImage(req.style, { maxPixels }).catch(label('style'));
  const result = await methods.stylize(content, style, req.options);
  return { body: await encode(result.image, req.content, req.format, alpha, req.keepMetadata, result.notices), notices: result.notices };
}

/**
 * Encodes the answer as `encodeImage` does, with what it keeps of its input: the alpha channel (the
 * library fills colour only), the bit depth, with `keepProfile` (for pixels read with it) the ICC
 * profile and, when `keepMetadata`, the EXIF and XMP (`readMetadata`).
 */
async function encode(img: RgbImage, input: Buffer, format: ImageFormat, alpha: Float32Array | undefined, keepMetadata: boolean, notices: string[], keepProfile = false): Promise<Buffer> {
  const { exif, xmp, iptc, bits, icc, grey } = await readMetadata(input, { keepProfile, onNotice: (n) => keepMetadata && notices.push(n) });
  const lost = keepMetadata && lostMetadata({ iptc, xmp }, format);
  if (lost) notices.push(`the image: ${lost}`);
  return Buffer.from(await encodeImage(img, format, { alpha, bits, icc, grey, ...(keepMetadata ? { exif, xmp, iptc } : {}) }));
}
