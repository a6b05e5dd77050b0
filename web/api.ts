/**
 * The page's calls to the server: a run is one POST /api/v1/inpaint or /api/v1/stylize
 * (XMLHttpRequest, for upload progress), cancelled through an AbortSignal, which closes the connection: the server then drops
 * the request from its queue, or discards its result when it is already running.
 */

export interface RunRequest {
  image: Blob;
  imageName: string;
  mask: Blob;
  method: string;
  ensemble?: number;
  /** ours only: the layer ours may only copy from, and the one it must never copy from. */
  sampleFrom?: Blob;
  exclude?: Blob;
  /** ours only: also answer where the fill copied from (`RunResult.sources`). */
  sources?: boolean;
}

export interface StylizeRequest {
  content: Blob;
  contentName: string;
  style: Blob;
  styleName: string;
  /** The working size (the server's default, 256, when absent). */
  size?: number;
}

export type Progress = { phase: 'upload'; fraction: number } | { phase: 'working' };

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export interface RunResult {
  blob: Blob;
  notices: string[];
  seconds: number;
  /** Asked with `sources`: a PNG mask, the photo's size, white where the fill copied from. */
  sources?: Blob;
}

export function runInpaint(req: RunRequest, onProgress: (p: Progress) => void, signal: AbortSignal): Promise<RunResult> {
  const form = new FormData();
  form.append('image', req.image, req.imageName);
  form.append('mask', req.mask, 'mask.png');
  if (req.sampleFrom) form.append('sampleFrom', req.sampleFrom, 'sample-from.png');
  if (req.exclude) form.append('exclude', req.exclude, 'exclude.png');
  form.append('method', req.method);
  if (req.ensemble !== undefined) form.append('ensemble', String(req.ensemble));
  if (req.sources) form.append('sources', 'true');
  // PNG whatever the input: the page keeps editing the result, and PNG keeps its pixels exact.
  form.append('format', 'png');
  return post('/api/v1/inpaint', form, onProgress, signal);
}

/** POST /api/v1/stylize: the photo rendered in the style image's texture, the photo's size. */
export function runStylize(req: StylizeRequest, onProgress: (p: Progress) => void, signal: AbortSignal): Promise<RunResult> {
  const form = new FormData();
  form.append('content', req.content, req.contentName);
  form.append('style', req.style, req.styleName);
  if (req.size !== undefined) form.append('size', String(req.size));
  form.append('format', 'png');
  return post('/api/v1/stylize', form, onProgress, signal);
}

function post(url: string, form: FormData, onProgress: (p: Progress) => void, signal: AbortSignal): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', url);
    xhr.responseType = 'blob';
    xhr.upload.onprogress = (e) => onProgress({ phase: 'upload', fraction: e.lengthComputable ? e.loaded / e.total : 0 });
    xhr.upload.onload = () => onProgress({ phase: 'working' });
    xhr.onload = async () => {
      if (xhr.status === 200) {
        let notices: string[] = [];
        try {
          notices = JSON.parse(xhr.getResponseHeader('x-inpaint-notices') ?? '[]');
        } catch {
          // A missing or odd header only loses the notes.
        }
        const seconds = Number(xhr.getResponseHeader('x-inpaint-seconds') ?? 0);
        const type = xhr.getResponseHeader('content-type') ?? '';
        if (!type.startsWith('multipart/form-data')) return resolve({ blob: xhr.response as Blob, notices, seconds });
        // Asked for sources: the image and the sources mask, as parts.
        try {
          const form = await new Response(xhr.response as Blob, { headers: { 'content-type': type } }).formData();
          const [image, sources] = [form.get('image'), form.get('sources')];
          if (!(image instanceof Blob)) throw new Error('no image part');
          resolve({ blob: new Blob([image], { type: image.type }), notices, seconds, ...(sources instanceof Blob ? { sources } : {}) });
        } catch (err) {
          reject(new ApiError(xhr.status, 'http', `the server's answer could not be read: ${(err as Error).message}`));
        }
        return;
      }
      let body: { error?: string; message?: string } = {};
      try {
        body = JSON.parse(await (xhr.response as Blob).text());
      } catch {
        // Not JSON: a proxy's page, say.
      }
      const retry = xhr.getResponseHeader('retry-after');
      reject(new ApiError(xhr.status, body.error ?? 'http', (body.message ?? `HTTP ${xhr.status}`) + (retry ? ` (retry in ${retry} s)` : '')));
    };
    xhr.onerror = () => reject(new ApiError(0, 'network', 'the server could not be reached'));
    xhr.onabort = () => reject(new DOMException('cancelled', 'AbortError'));
    signal.addEventListener('abort', () => xhr.abort(), { once: true });
    xhr.send(form);
  });
}

export async function queueState(): Promise<{ waiting: number; running: boolean; meanSeconds: number } | undefined> {
  try {
    const health = await (await fetch('/api/v1/health')).json();
    return { waiting: health.queue.waiting, running: health.queue.running, meanSeconds: health.queue.mean_seconds };
  } catch {
    return undefined;
  }
}
