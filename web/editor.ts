/**
 * The document being edited: the photo (the original, or the result of the last run), the mask
 * painted on it, and the history that undo and redo walk.
 *
 * The history is a list of operations, not of pictures: a stroke is its points, so a hundred
 * strokes on a 4000x3000 photo cost kilobytes, not a hundred 48 MB snapshots. The mask at any point
 * is rebuilt by replaying the strokes since the last reset (a clear, a mask file, a run). A run is
 * an operation too: undoing it brings back the photo and the mask it was run with.
 *
 * Three layers are painted: the hole, and the areas ours may only copy from (sample from) or must
 * never copy from (exclude). They share the history, so undo walks strokes on any of them in
 * order. A run resets the hole only: the steering areas stay for the next touch-up, until cleared.
 *
 * A stroke is a brush's path, or a lasso's outline: a closed shape filled (or, erasing, cut out)
 * when the pointer is released, for an object too large to paint over comfortably. An area is what
 * the wand selected with one click (`selectSimilar`), kept as its runs: replaying it needs no photo.
 */

import { cropImage, dilateMask, maskBoundingBox } from '../src/core/raster.ts';
import { type Area, areaOf } from '../src/core/select.ts';

/** The longer side of the previews the view draws when zoomed out (see `Editor.layers`). */
export const PREVIEW_SIDE = 2048;

/**
 * The layers painted on the photo: the hole, and the two that steer where ours copies from
 * (the API's `sampleFrom` and `exclude`).
 */
export type Layer = 'hole' | 'sampleFrom' | 'exclude';
export const LAYERS: readonly Layer[] = ['hole', 'sampleFrom', 'exclude'];

/**
 * Each layer is painted opaque in its colour; the view shows it half transparent. Light enough
 * (luminance above one half) that the server reads the layer as a mask by either of its rules:
 * alpha on a transparent layer, or luminance when nothing is transparent.
 */
export const LAYER_COLOURS: Record<Layer, string> = { hole: '#ff6b8a', sampleFrom: '#4ade80', exclude: '#60a5fa' };
export const MASK_COLOUR = LAYER_COLOURS.hole;
/** Where the last fill copied from, drawn over the photo on request (`Editor.lastRun.sources`). */
export const SOURCES_COLOUR = '#facc15';

/**
 * A brush stroke (a path of round dabs `size` wide) or a lasso (the outline, filled). The points
 * are in photo pixels, x and y interleaved.
 */
export interface Stroke {
  layer: Layer;
  erase: boolean;
  size: number;
  lasso: boolean;
  points: number[];
}

/** An area selected by colour (the wand), painted on a layer or, erasing, cut out of it. */
export interface AreaPaint {
  layer: Layer;
  erase: boolean;
  area: Area;
}

/** The operations that are plain data (points, runs, a layer): what `edits` gives and `replayEdits` takes. */
export type EditOp = ({ kind: 'stroke' } & Stroke) | ({ kind: 'area' } & AreaPaint) | { kind: 'clear'; layer: Layer };

/** Whether an operation paints (or erases): a stroke, a lasso or a wand's area, not a clear. */
export function isPaint(op: { kind: string }): op is Extract<EditOp, { kind: 'stroke' | 'area' }> {
  return op.kind === 'stroke' || op.kind === 'area';
}

export type Op =
  | EditOp
  | { kind: 'mask'; mask: HTMLCanvasElement }
  | { kind: 'result'; image: ImageBitmap; blob: Blob; before: ImageBitmap; sources?: HTMLCanvasElement };

/** One painted layer: the photo's size, and a preview of it (see `Editor.layers`). */
export interface LayerCanvas {
  readonly canvas: HTMLCanvasElement;
  readonly preview: HTMLCanvasElement;
  readonly ctx: CanvasRenderingContext2D;
  readonly previewCtx: CanvasRenderingContext2D;
  /** Whether anything was painted since its last reset (erasing does not unset it). */
  painted: boolean;
  /**
   * Whether it was ever drawn on: an untouched 12-megapixel canvas has no pixels yet, and clearing
   * it would allocate them (about 0.1 s each), so a layer never used costs nothing.
   */
  touched: boolean;
}

export class Editor {
  readonly width: number;
  readonly height: number;
  readonly original: ImageBitmap;
  /** The original file: sent as is on the first run, so the server sees the photo's own bytes. */
  readonly originalBlob: Blob;
  /** For an original the browser cannot decode (a HEIC with a colour profile): a PNG of it as stored, with its profile. */
  readonly asStored?: Blob;
  readonly name: string;
  /**
   * The live layers: opaque colour where painted, transparent elsewhere; the photo's size. Each has
   * a preview at `previewScale`, painted alongside: drawing a 12-megapixel canvas on every frame of
   * a stroke costs a few hundred milliseconds without a GPU, the preview a few.
   */
  readonly layers: Record<Layer, LayerCanvas>;
  /** The preview's size over the photo's: its longer side is at most PREVIEW_SIDE. */
  readonly previewScale: number;
  #ops: Op[] = [];
  #cursor = 0;
  #version = 0;
  #stroke: Stroke | undefined;

  constructor(image: ImageBitmap, blob: Blob, name: string, asStored?: Blob) {
    this.original = image;
    this.originalBlob = blob;
    this.asStored = asStored;
    this.name = name;
    this.width = image.width;
    this.height = image.height;
    this.previewScale = Math.min(1, PREVIEW_SIDE / Math.max(this.width, this.height));
    const layer = (): LayerCanvas => {
      const canvas = document.createElement('canvas');
      canvas.width = this.width;
      canvas.height = this.height;
      const preview = document.createElement('canvas');
      preview.width = Math.max(1, Math.round(this.width * this.previewScale));
      preview.height = Math.max(1, Math.round(this.height * this.previewScale));
      const previewCtx = preview.getContext('2d')!;
      previewCtx.scale(preview.width / this.width, preview.height / this.height);
      return { canvas, preview, ctx: canvas.getContext('2d')!, previewCtx, painted: false, touched: false };
    };
    this.layers = { hole: layer(), sampleFrom: layer(), exclude: layer() };
  }

  /** The hole layer (the mask the server fills). */
  get mask(): HTMLCanvasElement {
    return this.layers.hole.canvas;
  }

  /** Changes with every change to the history or the layers: whether a copy made earlier is stale. */
  get version(): number {
    return this.#version;
  }

  get canUndo(): boolean {
    return this.#cursor > 0;
  }
  get canRedo(): boolean {
    return this.#cursor < this.#ops.length;
  }

  /** The last run before the cursor, if any. */
  get lastRun(): Extract<Op, { kind: 'result' }> | undefined {
    for (let i = this.#cursor - 1; i >= 0; i--) {
      const op = this.#ops[i];
      if (op.kind === 'result') return op;
    }
    return undefined;
  }

  /** The photo as it stands: the last run's result, else the original. */
  get image(): ImageBitmap {
    return this.lastRun?.image ?? this.original;
  }

  /** What a run sends: the last result's PNG, else the original file. */
  get imageBlob(): Blob {
    return this.lastRun?.blob ?? this.originalBlob;
  }

  /** Whether any hole is painted (tracked, not scanned: a 12 MP scan per stroke would stall). */
  get hasMask(): boolean {
    return this.layers.hole.painted;
  }

  /** Whether `layer` holds paint (tracked, like `hasMask`: painting and then erasing it all still counts). */
  hasPaint(layer: Layer): boolean {
    return this.layers[layer].painted;
  }

  /**
   * Whether `layer` holds any paint, by looking at its pixels: for the moment of a run only (it
   * reads the preview, at most PREVIEW_SIDE across, not the full-size layer).
   */
  isPainted(layer: Layer): boolean {
    const l = this.layers[layer];
    if (!l.painted) return false;
    const d = l.previewCtx.getImageData(0, 0, l.preview.width, l.preview.height).data;
    for (let i = 3; i < d.length; i += 4) if (d[i] !== 0) return true;
    return false;
  }

  beginStroke(x: number, y: number, size: number, erase: boolean, layer: Layer = 'hole', lasso = false): void {
    this.#stroke = { layer, erase, size, lasso, points: [x, y] };
    if (!lasso) this.#drawSegment(this.#stroke, x, y, x, y);
  }

  extendStroke(x: number, y: number): void {
    const s = this.#stroke;
    if (!s) return;
    const n = s.points.length;
    if (Math.hypot(x - s.points[n - 2], y - s.points[n - 1]) < 0.5) return;
    if (!s.lasso) this.#drawSegment(s, s.points[n - 2], s.points[n - 1], x, y);
    s.points.push(x, y);
  }

  /** Whether the last stroke (or area) recorded erased (or cut out) rather than painted. */
  get lastStrokeErased(): boolean {
    for (let i = this.#cursor - 1; i >= 0; i--) {
      const op = this.#ops[i];
      if (isPaint(op)) return op.erase;
    }
    return false;
  }

  /**
   * Where the last brush stroke before the cursor ended, for a straight line from it (Shift+click);
   * undefined after a reset of its layer, a lasso or an area, or when there is none.
   */
  get lastPoint(): { x: number; y: number; layer: Layer } | undefined {
    const op = this.#ops[this.#cursor - 1];
    if (op?.kind !== 'stroke' || op.lasso) return undefined;
    const n = op.points.length;
    return { x: op.points[n - 2], y: op.points[n - 1], layer: op.layer };
  }

  /** Paints (or cuts out) an area on a layer, as one undoable step. */
  paintArea(area: Area, layer: Layer, erase: boolean): void {
    const op: Extract<Op, { kind: 'area' }> = { kind: 'area', layer, erase, area };
    this.#drawArea(op);
    this.#push(op);
  }

  /** The outline of the lasso being drawn (photo pixels, x and y interleaved), for the view; undefined when none. */
  get lassoOutline(): readonly number[] | undefined {
    return this.#stroke?.lasso ? this.#stroke.points : undefined;
  }

  /**
   * Ends the stroke and records it (undoable). A lasso is filled now; one that encloses less than a
   * pixel (a click, a straight drag) is dropped, and the result says so (false).
   */
  endStroke(): boolean {
    const stroke = this.#stroke;
    if (!stroke) return false;
    this.#stroke = undefined;
    if (stroke.lasso) {
      if (polygonArea(stroke.points) < 1) return false;
      this.#fillLasso(stroke);
    }
    this.#push({ kind: 'stroke', ...stroke });
    return true;
  }

  /** Forgets the stroke being painted (a second finger turned it into a pinch). */
  abandonStroke(): void {
    if (!this.#stroke) return;
    this.#stroke = undefined;
    this.#replay();
  }

  /** Empties one layer (undoable). */
  clear(layer: Layer = 'hole'): void {
    this.#push({ kind: 'clear', layer });
    this.#replay();
  }

  /** Replaces the mask with a mask image: white (or, on a transparent layer, opaque) = hole. */
  loadMask(source: CanvasImageSource & { width: number; height: number }): void {
    const canvas = document.createElement('canvas');
    canvas.width = this.width;
    canvas.height = this.height;
    const ctx = canvas.getContext('2d', { willReadFrequently: true })!;
    ctx.drawImage(source, 0, 0, this.width, this.height);
    const pixels = ctx.getImageData(0, 0, this.width, this.height);
    const d = pixels.data;
    // The server's rule: on a layer with transparent pixels, alpha marks the hole; else luminance.
    let transparent = false;
    for (let i = 3; i < d.length; i += 4) {
      if (d[i] < 128) {
        transparent = true;
        break;
      }
    }
    const hex = parseInt(LAYER_COLOURS.hole.slice(1), 16);
    const [r, g, b] = [hex >> 16, (hex >> 8) & 0xff, hex & 0xff];
    for (let i = 0; i < d.length; i += 4) {
      const hole = transparent ? d[i + 3] >= 128 : 0.2126 * d[i] + 0.7152 * d[i + 1] + 0.0722 * d[i + 2] > 127.5;
      d[i] = r;
      d[i + 1] = g;
      d[i + 2] = b;
      d[i + 3] = hole ? 255 : 0;
    }
    ctx.putImageData(pixels, 0, 0);
    this.#push({ kind: 'mask', mask: canvas });
    this.#replay();
  }

  /**
   * Grows the hole by `radius` photo pixels (a disc), undoable like a mask file: to cover an
   * object's outline, its shadow's edge, or what a hand-drawn stroke left of it. Only the hole's
   * box (grown) is dilated.
   * @returns false when there is no hole to grow
   */
  growHole(radius: number): boolean {
    const l = this.layers.hole;
    if (!l.painted) return false;
    const { width, height } = this;
    const d = l.ctx.getImageData(0, 0, width, height).data;
    const data = new Uint8Array(width * height);
    for (let i = 0; i < data.length; i++) data[i] = d[4 * i + 3] >= 128 ? 1 : 0;
    const hole = maskBoundingBox({ width, height, data });
    if (!hole) return false;
    const x = Math.max(0, hole.x - radius);
    const y = Math.max(0, hole.y - radius);
    const box = { x, y, width: Math.min(width, hole.x + hole.width + radius) - x, height: Math.min(height, hole.y + hole.height + radius) - y };
    const grown = dilateMask(cropImage({ width, height, data }, box), radius);
    const canvas = document.createElement('canvas');
    canvas.width = width;
    canvas.height = height;
    const ctx = canvas.getContext('2d')!;
    ctx.drawImage(l.canvas, 0, 0);
    const patch = ctx.createImageData(box.width, box.height);
    const hex = parseInt(LAYER_COLOURS.hole.slice(1), 16);
    for (let i = 0; i < grown.data.length; i++) {
      if (!grown.data[i]) continue;
      patch.data.set([hex >> 16, (hex >> 8) & 0xff, hex & 0xff, 255], 4 * i);
    }
    ctx.putImageData(patch, box.x, box.y);
    this.#push({ kind: 'mask', mask: canvas });
    this.#replay();
    return true;
  }

  /**
   * Records a run's result: it becomes the photo, and the hole starts empty (the other layers stay).
   * @param sources where the fill copied from (white on black, any size), for `sourcesOverlay`
   */
  addResult(image: ImageBitmap, blob: Blob, sources?: CanvasImageSource & { width: number; height: number }): void {
    this.#push({ kind: 'result', image, blob, before: this.image, ...(sources ? { sources: this.#sourcesOverlay(sources) } : {}) });
    this.#replay();
  }

  /**
   * Where the last run copied from (`addResult`'s sources), as an area of the photo: its overlay, at
   * the previews' size, scaled up. Undefined when the last run did not say.
   */
  get lastSources(): Area | undefined {
    const overlay = this.lastRun?.sources;
    if (!overlay) return undefined;
    const d = overlay.getContext('2d')!.getImageData(0, 0, overlay.width, overlay.height).data;
    // Each photo pixel takes the overlay pixel it lies in.
    const column = Int32Array.from({ length: this.width }, (_, x) => Math.min(overlay.width - 1, Math.floor((x * overlay.width) / this.width)));
    const data = new Uint8Array(this.width * this.height);
    for (let y = 0; y < this.height; y++) {
      const row = Math.min(overlay.height - 1, Math.floor((y * overlay.height) / this.height)) * overlay.width;
      for (let x = 0; x < this.width; x++) data[y * this.width + x] = d[4 * (row + column[x]) + 3] >= 128 ? 1 : 0;
    }
    return areaOf({ width: this.width, height: this.height, data });
  }

  /**
   * The sources mask as an overlay to draw over the photo: SOURCES_COLOUR where the fill copied
   * from, transparent elsewhere, at the previews' size (a highlight needs no more).
   */
  #sourcesOverlay(mask: CanvasImageSource & { width: number; height: number }): HTMLCanvasElement {
    const canvas = document.createElement('canvas');
    canvas.width = Math.max(1, Math.round(this.width * this.previewScale));
    canvas.height = Math.max(1, Math.round(this.height * this.previewScale));
    const ctx = canvas.getContext('2d', { willReadFrequently: true })!;
    ctx.drawImage(mask, 0, 0, canvas.width, canvas.height);
    const pixels = ctx.getImageData(0, 0, canvas.width, canvas.height);
    const d = pixels.data;
    const hex = parseInt(SOURCES_COLOUR.slice(1), 16);
    for (let i = 0; i < d.length; i += 4) {
      const v = d[i];
      d[i] = hex >> 16;
      d[i + 1] = (hex >> 8) & 0xff;
      d[i + 2] = hex & 0xff;
      d[i + 3] = v;
    }
    ctx.putImageData(pixels, 0, 0);
    return canvas;
  }

  /**
   * What makes the layers as they stand, over the photo as it stands: the hole's strokes and clears
   * since its last reset (with the mask file it was reset to, if that was one), and every stroke
   * and clear of the steering layers (a run does not reset them). A copy kept elsewhere (`saved.ts`)
   * rebuilds the page's work from these, the original and the last result.
   */
  get edits(): { maskFile?: HTMLCanvasElement; ops: EditOp[] } {
    let holeStart = 0;
    let maskFile: HTMLCanvasElement | undefined;
    for (let i = this.#cursor - 1; i >= 0; i--) {
      const op = this.#ops[i];
      if (op.kind === 'result' || op.kind === 'mask') {
        holeStart = i + 1;
        maskFile = op.kind === 'mask' ? op.mask : undefined;
        break;
      }
    }
    const ops: EditOp[] = [];
    for (let i = 0; i < this.#cursor; i++) {
      const op = this.#ops[i];
      if ((isPaint(op) || op.kind === 'clear') && (op.layer !== 'hole' || i >= holeStart)) ops.push(op);
    }
    return { maskFile, ops };
  }

  /** Applies `edits`' operations (after the photo, its result and its mask file are in place), each undoable. */
  replayEdits(ops: readonly EditOp[]): void {
    for (const op of ops) this.#push(op.kind === 'stroke' ? { ...op, points: [...op.points] } : { ...op });
    this.#replay();
  }

  undo(): boolean {
    if (!this.canUndo) return false;
    this.#cursor--;
    this.#replay();
    return true;
  }

  redo(): boolean {
    if (!this.canRedo) return false;
    this.#cursor++;
    this.#replay();
    return true;
  }

  /**
   * The mask layer as it is, opaque colour on transparent, which the server reads as a mask (alpha
   * marks the hole): no full-size compositing, which costs hundreds of milliseconds on a large photo.
   */
  maskLayerPng(layer: Layer = 'hole'): Promise<Blob> {
    return toBlob(this.layers[layer].canvas, 'image/png');
  }

  /** The mask as a file to keep: white hole on black, the photo's size. */
  async maskPng(): Promise<Blob> {
    const out = document.createElement('canvas');
    out.width = this.width;
    out.height = this.height;
    const ctx = out.getContext('2d')!;
    ctx.drawImage(this.mask, 0, 0);
    ctx.globalCompositeOperation = 'source-in';
    ctx.fillStyle = '#fff';
    ctx.fillRect(0, 0, this.width, this.height);
    ctx.globalCompositeOperation = 'destination-over';
    ctx.fillStyle = '#000';
    ctx.fillRect(0, 0, this.width, this.height);
    return toBlob(out, 'image/png');
  }

  #push(op: Op): void {
    this.#version++;
    this.#ops.length = this.#cursor;
    this.#ops.push(op);
    this.#cursor++;
    // Keep at most 10 runs' pictures; strokes are small.
    let runs = 0;
    for (let i = this.#ops.length - 1; i >= 0; i--) {
      if (this.#ops[i].kind === 'result' && ++runs > 10) {
        this.#ops.splice(0, i + 1);
        this.#cursor = this.#ops.length;
        break;
      }
    }
  }

  /** Rebuilds each layer at the cursor: from its last reset, every stroke on it since. */
  #replay(): void {
    this.#version++;
    for (const layer of LAYERS) {
      const l = this.layers[layer];
      // A clear of the layer resets it; a mask file and a run reset the hole.
      const resets = (op: Op) => (op.kind === 'clear' && op.layer === layer) || (layer === 'hole' && (op.kind === 'result' || op.kind === 'mask'));
      let start = 0;
      let base: HTMLCanvasElement | undefined;
      for (let i = this.#cursor - 1; i >= 0; i--) {
        const op = this.#ops[i];
        if (resets(op)) {
          start = i + 1;
          base = op.kind === 'mask' ? op.mask : undefined;
          break;
        }
      }
      const strokes: Extract<Op, { kind: 'stroke' | 'area' }>[] = [];
      for (let i = start; i < this.#cursor; i++) {
        const op = this.#ops[i];
        if (isPaint(op) && op.layer === layer) strokes.push(op);
      }
      l.painted = base !== undefined;
      if (!l.touched && !base && strokes.length === 0) continue;
      l.touched = true;
      for (const ctx of [l.ctx, l.previewCtx]) {
        ctx.globalCompositeOperation = 'source-over';
        ctx.clearRect(0, 0, this.width, this.height);
        if (base) ctx.drawImage(base, 0, 0);
      }
      for (const op of strokes) {
        if (op.kind === 'area') {
          this.#drawArea(op);
          continue;
        }
        const p = op.points;
        if (op.lasso) {
          this.#fillLasso(op);
          continue;
        }
        this.#drawSegment(op, p[0], p[1], p[0], p[1]);
        for (let k = 2; k < p.length; k += 2) this.#drawSegment(op, p[k - 2], p[k - 1], p[k], p[k + 1]);
      }
    }
  }

  /** Fills a lasso's outline on its layer (or cuts it out, erasing); the nonzero rule, so a loop crossing itself fills both parts. */
  #fillLasso(s: Stroke): void {
    const l = this.layers[s.layer];
    l.touched = true;
    const p = s.points;
    for (const ctx of [l.ctx, l.previewCtx]) {
      ctx.globalCompositeOperation = s.erase ? 'destination-out' : 'source-over';
      ctx.fillStyle = LAYER_COLOURS[s.layer];
      ctx.beginPath();
      ctx.moveTo(p[0], p[1]);
      for (let k = 2; k < p.length; k += 2) ctx.lineTo(p[k], p[k + 1]);
      ctx.closePath();
      ctx.fill('nonzero');
      ctx.globalCompositeOperation = 'source-over';
    }
    if (!s.erase) l.painted = true;
  }

  /** Draws an area's runs on its layer, in its colour (or cuts them out). */
  #drawArea(op: AreaPaint): void {
    const l = this.layers[op.layer];
    l.touched = true;
    const { x, y, width, height, runs } = op.area;
    const pixels = new ImageData(width, height);
    const hex = parseInt(LAYER_COLOURS[op.layer].slice(1), 16);
    const colour = (255 << 24) | ((hex & 0xff) << 16) | (hex & 0xff00) | (hex >> 16);
    const words = new Uint32Array(pixels.data.buffer);
    for (let k = 0; k < runs.length; k += 2) words.fill(colour, runs[k], runs[k] + runs[k + 1]);
    const stamp = document.createElement('canvas');
    stamp.width = width;
    stamp.height = height;
    stamp.getContext('2d')!.putImageData(pixels, 0, 0);
    for (const ctx of [l.ctx, l.previewCtx]) {
      ctx.globalCompositeOperation = op.erase ? 'destination-out' : 'source-over';
      ctx.drawImage(stamp, x, y);
      ctx.globalCompositeOperation = 'source-over';
    }
    if (!op.erase) l.painted = true;
  }

  #drawSegment(s: Pick<Stroke, 'layer' | 'erase' | 'size'>, x0: number, y0: number, x1: number, y1: number): void {
    const l = this.layers[s.layer];
    l.touched = true;
    const colour = LAYER_COLOURS[s.layer];
    for (const ctx of [l.ctx, l.previewCtx]) {
      ctx.globalCompositeOperation = s.erase ? 'destination-out' : 'source-over';
      ctx.strokeStyle = colour;
      ctx.fillStyle = colour;
      ctx.lineWidth = s.size;
      ctx.lineCap = 'round';
      ctx.lineJoin = 'round';
      ctx.beginPath();
      if (x0 === x1 && y0 === y1) {
        ctx.arc(x0, y0, s.size / 2, 0, 2 * Math.PI);
        ctx.fill();
      } else {
        ctx.moveTo(x0, y0);
        ctx.lineTo(x1, y1);
        ctx.stroke();
      }
      ctx.globalCompositeOperation = 'source-over';
    }
    if (!s.erase) l.painted = true;
  }
}

/** The area a closed outline encloses (the shoelace formula, its absolute value; x and y interleaved). */
export function polygonArea(points: readonly number[]): number {
  let twice = 0;
  const n = points.length;
  for (let k = 0; k < n; k += 2) {
    const j = (k + 2) % n;
    twice += points[k] * points[j + 1] - points[j] * points[k + 1];
  }
  return Math.abs(twice) / 2;
}

export function toBlob(canvas: HTMLCanvasElement, type: string, quality?: number): Promise<Blob> {
  return new Promise((resolve, reject) => canvas.toBlob((b) => (b ? resolve(b) : reject(new Error(`could not encode ${type}`))), type, quality));
}
