/**
 * The canvas view: the photo under a zoom and pan, the painted layers over it (hole, sample from,
 * exclude), a running fill's previews over its hole, where the last fill copied from (on request), the brush cursor or the lasso being drawn, and the before/after
 * comparisons (the whole "before" while a key is held, or a split line to drag).
 * Draws only on the next animation frame after something changed.
 */
import type { Editor } from './editor.ts';

export class View {
  readonly canvas: HTMLCanvasElement;
  #ctx: CanvasRenderingContext2D;
  editor: Editor | undefined;
  /** Screen (CSS px) = image px * scale + (tx, ty). */
  scale = 1;
  tx = 0;
  ty = 0;
  /** The brush cursor in CSS px, and its diameter in image px (a cross for the lasso, the wand and the object tool); undefined hides it. */
  cursor: { x: number; y: number; size: number; erase: boolean; colour?: string; cross?: boolean } | undefined;
  /** The object tool's box being dragged, in image px (corner to corner); undefined when none. */
  box: { x0: number; y0: number; x1: number; y1: number } | undefined;
  /** Draw the painted layers (off in Stylize mode). */
  showLayers = true;
  /** Show the photo before the last run instead of the current one. */
  showBefore = false;
  /** Show where the last run copied from (when it says: `Editor.lastRun.sources`). */
  showSources = false;
  /** The split view's line, as a fraction of the view's width; undefined when off. */
  split: number | undefined;
  #pending = false;
  /** A running fill's previews: each region's coarser result, at its working size, cut to the hole; drawn over the region. */
  #fills: { canvas: HTMLCanvasElement; box: { x: number; y: number; width: number; height: number } }[] = [];
  /** Photos shrunk to the editor's preview size, made off the main thread on first use. */
  #previews = new WeakMap<ImageBitmap, ImageBitmap | 'pending'>();

  constructor(canvas: HTMLCanvasElement) {
    this.canvas = canvas;
    this.#ctx = canvas.getContext('2d')!;
    new ResizeObserver(() => this.invalidate()).observe(canvas);
  }

  get width(): number {
    return this.canvas.clientWidth;
  }
  get height(): number {
    return this.canvas.clientHeight;
  }

  toImage(clientX: number, clientY: number): { x: number; y: number } {
    const r = this.canvas.getBoundingClientRect();
    return { x: (clientX - r.left - this.tx) / this.scale, y: (clientY - r.top - this.ty) / this.scale };
  }

  toClient(x: number, y: number): { x: number; y: number } {
    const r = this.canvas.getBoundingClientRect();
    return { x: r.left + this.tx + x * this.scale, y: r.top + this.ty + y * this.scale };
  }

  fit(): void {
    if (!this.editor) return;
    const { width, height } = this.editor;
    this.scale = Math.min((this.width - 24) / width, (this.height - 24) / height, 4);
    this.tx = (this.width - width * this.scale) / 2;
    this.ty = (this.height - height * this.scale) / 2;
    this.invalidate();
  }

  /** Zooms by `factor` keeping the point under (cx, cy) (CSS px in the canvas) in place. */
  zoomAt(factor: number, cx: number, cy: number): void {
    const next = Math.min(32, Math.max(0.02, this.scale * factor));
    const f = next / this.scale;
    this.tx = cx - (cx - this.tx) * f;
    this.ty = cy - (cy - this.ty) * f;
    this.scale = next;
    this.invalidate();
  }

  panBy(dx: number, dy: number): void {
    this.tx += dx;
    this.ty += dy;
    this.invalidate();
  }

  invalidate(): void {
    if (this.#pending) return;
    this.#pending = true;
    requestAnimationFrame(() => {
      this.#pending = false;
      this.#draw();
    });
  }

  /**
   * Shows a region of a running fill as a coarser scale left it (`image`, at that scale's size,
   * kept so: a 4000x3000 region costs no more than its 1024 px preview), cut to the painted hole
   * (`hole`, the photo's size) and stretched over `box`, until `clearPreviews`. It replaces the
   * region's earlier preview.
   */
  showPreview(image: ImageBitmap, box: { x: number; y: number; width: number; height: number }, hole: HTMLCanvasElement): void {
    const canvas = document.createElement('canvas');
    canvas.width = image.width;
    canvas.height = image.height;
    const ctx = canvas.getContext('2d')!;
    ctx.drawImage(image, 0, 0);
    ctx.globalCompositeOperation = 'destination-in';
    ctx.drawImage(hole, box.x, box.y, box.width, box.height, 0, 0, image.width, image.height);
    image.close();
    this.#fills = [...this.#fills.filter((f) => f.box.x !== box.x || f.box.y !== box.y), { canvas, box }];
    this.invalidate();
  }

  clearPreviews(): void {
    if (this.#fills.length === 0) return;
    this.#fills = [];
    this.invalidate();
  }

  /** How many regions show a preview (for the tests). */
  get fillPreviews(): number {
    return this.#fills.length;
  }

  /** Makes the preview of a photo about to be shown, so that its first frame is a cheap one. */
  async prepare(img: ImageBitmap, scale: number): Promise<void> {
    if (scale >= 1 || this.#previews.has(img)) return;
    this.#previews.set(img, 'pending');
    try {
      const size = { resizeWidth: Math.max(1, Math.round(img.width * scale)), resizeHeight: Math.max(1, Math.round(img.height * scale)) };
      this.#previews.set(img, await createImageBitmap(img, { ...size, resizeQuality: 'medium' }));
      this.invalidate();
    } catch {
      this.#previews.delete(img);
    }
  }

  #preview(img: ImageBitmap, scale: number): ImageBitmap | undefined {
    const known = this.#previews.get(img);
    if (known === undefined) void this.prepare(img, scale);
    return known === 'pending' ? undefined : known;
  }

  #draw(): void {
    const dpr = window.devicePixelRatio || 1;
    const w = Math.round(this.width * dpr);
    const h = Math.round(this.height * dpr);
    if (this.canvas.width !== w || this.canvas.height !== h) {
      this.canvas.width = w;
      this.canvas.height = h;
    }
    const ctx = this.#ctx;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, w, h);
    const ed = this.editor;
    if (!ed) return;
    ctx.setTransform(dpr * this.scale, 0, 0, dpr * this.scale, dpr * this.tx, dpr * this.ty);
    // Sharp pixels when zoomed in far enough to see them.
    ctx.imageSmoothingEnabled = this.scale < 2;
    const before = ed.lastRun?.before;
    // Zoomed out, the previews look the same and draw in a fraction of the time.
    const small = ed.previewScale < 1 && this.scale * dpr <= ed.previewScale;
    const drawPhoto = (img: ImageBitmap) => {
      const preview = small ? this.#preview(img, ed.previewScale) : undefined;
      if (preview) ctx.drawImage(preview, 0, 0, ed.width, ed.height);
      else ctx.drawImage(img, 0, 0);
    };
    drawPhoto(this.showBefore && before ? before : ed.image);
    if (this.split !== undefined && before && !this.showBefore) {
      // Left of the line: before; right: after.
      const lineX = this.split * this.width;
      ctx.save();
      ctx.beginPath();
      ctx.rect(-this.tx / this.scale, -this.ty / this.scale, lineX / this.scale, this.height / this.scale);
      ctx.clip();
      drawPhoto(before);
      ctx.restore();
    }
    if (!this.showBefore && this.showLayers) {
      // The steering layers under the hole, each in its own colour.
      ctx.globalAlpha = 0.5;
      for (const layer of ['sampleFrom', 'exclude', 'hole'] as const) {
        const l = ed.layers[layer];
        if (!l.painted) continue;
        if (small) ctx.drawImage(l.preview, 0, 0, ed.width, ed.height);
        else ctx.drawImage(l.canvas, 0, 0);
      }
      ctx.globalAlpha = 1;
    }
    if (!this.showBefore) for (const { canvas, box } of this.#fills) ctx.drawImage(canvas, box.x, box.y, box.width, box.height);
    const sources = this.showSources && !this.showBefore ? ed.lastRun?.sources : undefined;
    if (sources) {
      ctx.globalAlpha = 0.6;
      ctx.drawImage(sources, 0, 0, ed.width, ed.height);
      ctx.globalAlpha = 1;
    }
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    if (this.split !== undefined && before && !this.showBefore) {
      const x = Math.round(this.split * this.width) + 0.5;
      ctx.strokeStyle = '#fff';
      ctx.lineWidth = 2;
      ctx.beginPath();
      ctx.moveTo(x, 0);
      ctx.lineTo(x, this.height);
      ctx.stroke();
      ctx.fillStyle = '#fff';
      ctx.beginPath();
      ctx.arc(x, this.height / 2, 9, 0, 2 * Math.PI);
      ctx.fill();
      ctx.fillStyle = '#333';
      ctx.font = '11px system-ui';
      ctx.textAlign = 'center';
      ctx.fillText('⇔', x, this.height / 2 + 4);
      label(ctx, 'before', x - 8, 'right');
      label(ctx, 'after', x + 8, 'left');
    }
    if (this.showBefore) label(ctx, 'before', 10, 'left');
    const outline = ed.lassoOutline;
    if (outline && !this.showBefore) {
      // The outline so far, and (fainter) the edge that will close it: dark under light, seen on any photo.
      ctx.beginPath();
      for (let k = 0; k < outline.length; k += 2) ctx.lineTo(this.tx + outline[k] * this.scale, this.ty + outline[k + 1] * this.scale);
      ctx.lineWidth = 3;
      ctx.strokeStyle = 'rgba(0,0,0,0.7)';
      ctx.stroke();
      ctx.lineWidth = 1.5;
      ctx.strokeStyle = this.cursor?.erase ? '#9ad' : (this.cursor?.colour ?? '#fff');
      ctx.stroke();
      ctx.setLineDash([4, 4]);
      ctx.beginPath();
      ctx.moveTo(this.tx + outline[outline.length - 2] * this.scale, this.ty + outline[outline.length - 1] * this.scale);
      ctx.lineTo(this.tx + outline[0] * this.scale, this.ty + outline[1] * this.scale);
      ctx.stroke();
      ctx.setLineDash([]);
    }
    if (this.box && !this.showBefore) {
      // The box being dragged: dashed, dark under light, seen on any photo.
      const { x0, y0, x1, y1 } = this.box;
      const [left, top] = [this.tx + Math.min(x0, x1) * this.scale, this.ty + Math.min(y0, y1) * this.scale];
      const [w, h] = [Math.abs(x1 - x0) * this.scale, Math.abs(y1 - y0) * this.scale];
      ctx.lineWidth = 3;
      ctx.strokeStyle = 'rgba(0,0,0,0.7)';
      ctx.strokeRect(left, top, w, h);
      ctx.lineWidth = 1.5;
      ctx.strokeStyle = this.cursor?.erase ? '#9ad' : (this.cursor?.colour ?? '#fff');
      ctx.setLineDash([6, 4]);
      ctx.strokeRect(left, top, w, h);
      ctx.setLineDash([]);
    }
    const c = this.cursor;
    if (c?.cross) {
      // A cross: the lasso's line follows its centre; the wand takes the colour under it.
      ctx.lineCap = 'round';
      for (const [width, colour] of [[3, 'rgba(0,0,0,0.8)'], [1, c.erase ? '#9ad' : (c.colour ?? '#fff')]] as const) {
        ctx.lineWidth = width;
        ctx.strokeStyle = colour;
        ctx.beginPath();
        ctx.moveTo(c.x - 7, c.y);
        ctx.lineTo(c.x + 7, c.y);
        ctx.moveTo(c.x, c.y - 7);
        ctx.lineTo(c.x, c.y + 7);
        ctx.stroke();
      }
    } else if (c) {
      const r = Math.max(1, (c.size / 2) * this.scale);
      ctx.lineWidth = 1;
      ctx.strokeStyle = 'rgba(0,0,0,0.8)';
      ctx.beginPath();
      ctx.arc(c.x, c.y, r + 1, 0, 2 * Math.PI);
      ctx.stroke();
      ctx.strokeStyle = c.erase ? '#9ad' : (c.colour ?? '#fff');
      ctx.setLineDash(c.erase ? [4, 3] : []);
      ctx.beginPath();
      ctx.arc(c.x, c.y, r, 0, 2 * Math.PI);
      ctx.stroke();
      ctx.setLineDash([]);
    }
  }
}

function label(ctx: CanvasRenderingContext2D, text: string, x: number, align: CanvasTextAlign): void {
  ctx.font = '12px system-ui';
  ctx.textAlign = align;
  ctx.fillStyle = 'rgba(0,0,0,0.6)';
  const w = ctx.measureText(text).width + 10;
  ctx.fillRect(align === 'right' ? x - w : x, 8, w, 20);
  ctx.fillStyle = '#fff';
  ctx.fillText(text, align === 'right' ? x - 5 : x + 5, 22);
}
