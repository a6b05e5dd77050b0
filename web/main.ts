/**
 * The page of `inpaint serve`: open a photo, paint the hole (and, for ours, where it may or may not
 * copy from), run, compare, download; or, in Stylize mode, render the photo in a style image's texture. The pieces:
 * `Editor` (the photo, the mask and the undo history), `View` (drawing, zoom and pan), `runInpaint`
 * (the API call) or `DeviceEngine` (the same pipeline in a Web Worker on this device, the default
 * when the browser can); this file wires them to the toolbar, the pointer and the keyboard.
 */
import './style.css';
import { cleanExif, exifOf, withExif } from '../src/core/exif.ts';
import { rgbProfileOf, withRgbProfile } from '../src/core/icc.ts';
import { cleanIptc, iptcAsXmp, iptcOf, withIptc } from '../src/core/iptc.ts';
import { selectObject } from '../src/core/grabcut.ts';
import { DEFAULT_MAX_PIXELS, imageFromPixels, type MaskImage, toRgba8 } from '../src/core/raster.ts';
import { type MarginsInput, MAX_ROTATION, parseMargins, parseRotation, reframe, reframes, resolveMargins } from '../src/core/reframe.ts';
import { type Area, areaOf, areaSize, selectSimilar } from '../src/core/select.ts';
import { decodeTiff, isTiff } from '../src/core/tiff.ts';
import { cleanXmp, withXmp, xmpOf } from '../src/core/xmp.ts';
import { type Progress, queueState, runInpaint, runStylize } from './api.ts';
import { DeviceEngine, type DeviceConfigFile, type DevicePreview, type DeviceStep, deviceUnsupported, type LoadProgress, readDeviceConfig, WorkerStartError } from './device.ts';
import { Editor, isPaint, LAYER_COLOURS, type Layer, LAYERS, PREVIEW_SIDE, toBlob } from './editor.ts';
import { decodeHeic, isHeic, pngWithIcc } from './heic.ts';
import { forgetWork, loadWork, saveEdits, savePhoto, type SavedEdits, type SavedPhoto } from './saved.ts';
import { View } from './view.ts';

type Tool = 'brush' | 'lasso' | 'wand' | 'object' | 'eraser';
const TOOLS: readonly Tool[] = ['brush', 'lasso', 'wand', 'object', 'eraser'];
/** The tools that take a point or a box, not a brush's width: a cross for a cursor. */
const CROSS_TOOLS: readonly Tool[] = ['lasso', 'wand', 'object'];

/**
 * A choice remembered across visits (localStorage), or undefined. Where the browser refuses storage
 * (cookies blocked, some private windows: reading it throws), the page works on, forgetting.
 */
function remembered(key: string): string | undefined {
  try {
    return localStorage.getItem(key) ?? undefined;
  } catch {
    return undefined;
  }
}

function rememberChoice(key: string, value: string): void {
  try {
    localStorage.setItem(key, value);
  } catch {
    // Storage refused: the choice holds for this visit only.
  }
}

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
const stage = $('stage');
const view = new View($<HTMLCanvasElement>('view'));
const ui = {
  open: $<HTMLButtonElement>('open'),
  openEmpty: $<HTMLButtonElement>('open-empty'),
  file: $<HTMLInputElement>('file'),
  modeRemove: $<HTMLButtonElement>('mode-remove'),
  modeStylize: $<HTMLButtonElement>('mode-stylize'),
  removeTools: $('remove-tools'),
  stylizeTools: $('stylize-tools'),
  openStyle: $<HTMLButtonElement>('open-style'),
  styleFile: $<HTMLInputElement>('style-file'),
  styleName: $('style-name'),
  styleSize: $<HTMLSelectElement>('style-size'),
  layerHint: $('layer-hint'),
  layers: Object.fromEntries(LAYERS.map((l) => [l, $<HTMLButtonElement>(`layer-${l}`)])) as Record<Layer, HTMLButtonElement>,
  tools: Object.fromEntries(TOOLS.map((t) => [t, $<HTMLButtonElement>(`tool-${t}`)])) as Record<Tool, HTMLButtonElement>,
  size: $<HTMLInputElement>('size'),
  sizeOut: $<HTMLOutputElement>('size-out'),
  sizeLabel: $('size-label'),
  tolerance: $<HTMLInputElement>('tolerance'),
  toleranceOut: $<HTMLOutputElement>('tolerance-out'),
  toleranceLabel: $('tolerance-label'),
  undo: $<HTMLButtonElement>('undo'),
  redo: $<HTMLButtonElement>('redo'),
  clear: $<HTMLButtonElement>('clear'),
  grow: $<HTMLButtonElement>('grow'),
  loadMask: $<HTMLButtonElement>('load-mask'),
  straighten: $<HTMLButtonElement>('straighten'),
  straightenPanel: $<HTMLDialogElement>('straighten-panel'),
  straightenForm: $<HTMLFormElement>('straighten-form'),
  straightenAngle: $<HTMLInputElement>('straighten-angle'),
  straightenDegrees: $<HTMLInputElement>('straighten-degrees'),
  straightenSides: (['left', 'top', 'right', 'bottom'] as const).map((side) => $<HTMLInputElement>(`extend-${side}`)),
  straightenShape: $<HTMLSelectElement>('extend-shape'),
  straightenCancel: $<HTMLButtonElement>('straighten-cancel'),
  straightenApply: $<HTMLButtonElement>('straighten-apply'),
  straightenFrame: $('straighten-frame'),
  levelLine: $('level-line'),
  maskFile: $<HTMLInputElement>('mask-file'),
  method: $<HTMLSelectElement>('method'),
  run: $<HTMLButtonElement>('run'),
  autoRun: $<HTMLButtonElement>('auto-run'),
  cancel: $<HTMLButtonElement>('cancel'),
  compare: $<HTMLButtonElement>('compare'),
  split: $<HTMLButtonElement>('split'),
  sources: $<HTMLButtonElement>('sources'),
  rerunElsewhere: $<HTMLButtonElement>('rerun-elsewhere'),
  fit: $<HTMLButtonElement>('fit'),
  download: $<HTMLButtonElement>('download'),
  downloadFormat: $<HTMLSelectElement>('download-format'),
  share: $<HTMLButtonElement>('share'),
  help: $<HTMLButtonElement>('help'),
  helpDialog: $<HTMLDialogElement>('help-dialog'),
  empty: $('empty'),
  restore: $('restore'),
  restoreText: $('restore-text'),
  restoreYes: $<HTMLButtonElement>('restore-yes'),
  restoreNo: $<HTMLButtonElement>('restore-no'),
  status: $('status'),
  info: $('info'),
  progress: $('progress'),
  engineDevice: $<HTMLButtonElement>('engine-device'),
  engineServer: $<HTMLButtonElement>('engine-server'),
  engineStatus: $('engine-status'),
  loadProgress: $('load-progress'),
};

let editor: Editor | undefined;
/** The picture last downloaded as PNG or JPEG. */
let downloaded: ImageBitmap | undefined;
/** Photos being decoded: the isolation reload waits (a photo being opened would be lost). */
let opening = 0;
/**
 * What a drag does: paint with the round brush, outline an area to fill (the lasso; with Alt, to
 * cut out), draw a box around an object to select it (the object tool), or erase; what a click
 * does with the wand: select the area of the colour clicked.
 */
let tool: Tool = 'brush';
/** The layer the brush paints: the hole, or where ours may (sampleFrom) or may not (exclude) copy from. */
let layer: Layer = 'hole';
let mode: 'remove' | 'stylize' = 'remove';
/** The style image for Stylize mode (kept across photos). */
let style: { blob: Blob; name: string } | undefined;
const LAYER_NAMES: Record<Layer, string> = { hole: 'hole', sampleFrom: 'sample from', exclude: 'exclude' };
let running: AbortController | undefined;
/** Run as soon as a stroke on the hole is let go (remembered), as object-removal tools do; off by default, so several strokes make one hole. */
let autoRun = remembered('inpaint-auto-run') === '1';
/** Whether Straighten's Apply is at work (turning the photo, opening the result). */
let straightening = false;
let spaceDown = false;

/**
 * Where runs happen: 'device' (the default when this browser can: the pipeline in a Web Worker,
 * the photo never leaves the page) or 'server' (the HTTP API of `inpaint serve`). A static copy
 * (`npm run build:web`) has no server.
 */
let engine: 'device' | 'server' = 'server';
let device: DeviceEngine | undefined;
let deviceConfig: DeviceConfigFile | undefined;
/** The model's state on the device, for the status bar and the tests. */
const deviceState: { state: 'off' | 'idle' | 'loading' | 'ready' | 'error'; downloaded: number; total: number; loadSeconds?: number; backend?: string; threads?: boolean; message?: string } = { state: 'off', downloaded: 0, total: 0 };
/** The last device run's seconds as the page saw them (for the tests' measurements). */
let lastDeviceRunSeconds: number | undefined;
/** The last step the last device fill reported (for the tests). */
let lastDeviceStep: DeviceStep | undefined;
/** The last preview of the last device fill (for the tests): where, at which scale and size. */
let lastDevicePreview: { box: DevicePreview['box']; scale: number; width: number; height: number } | undefined;
/** Methods the device runs: ours, its ensembles and PatchMatch (Telea is the server's: OpenCV's, 10 MB of WebAssembly). */
const DEVICE_METHODS = new Set(['ours', 'ours:2', 'ours:4', 'patchmatch']);
/** The largest photo the device takes, in pixels (a tab's memory, not the pipeline, is the limit). */
const DEVICE_MAX_PIXELS = 25_000_000;

function setStatus(text: string, state: 'idle' | 'busy' | 'done' | 'error' = 'idle'): void {
  ui.status.textContent = text;
  ui.status.dataset.state = state;
}

function brushSize(): number {
  return Number(ui.size.value);
}

function setBrushSize(size: number): void {
  ui.size.value = String(Math.round(Math.min(Number(ui.size.max), Math.max(Number(ui.size.min), size))));
  ui.sizeOut.textContent = ui.size.value;
  if (view.cursor) view.cursor.size = brushSize();
  view.invalidate();
}

function setTool(next: Tool): void {
  tool = next;
  for (const t of TOOLS) ui.tools[t].setAttribute('aria-pressed', String(t === next));
  // The wand has a tolerance where the brushes have a size; the object tool has neither.
  ui.sizeLabel.hidden = next === 'wand' || next === 'object';
  ui.toleranceLabel.hidden = next !== 'wand';
  if (view.cursor) Object.assign(view.cursor, { erase: next === 'eraser', cross: CROSS_TOOLS.includes(next) });
  if (next === 'wand' && editor) setStatus('Wand: click what should go to select the area of its colour (Shift+click: that colour anywhere; Alt+click takes an area out); Tolerance sets how alike.');
  if (next === 'object' && editor) setStatus('Object: drag a box around what should go, with some of what surrounds it inside; what stands apart from its surroundings is selected (Alt+drag takes an object out).');
  view.invalidate();
}

function tolerance(): number {
  return Number(ui.tolerance.value);
}

function setTolerance(value: number): void {
  ui.tolerance.value = String(Math.round(Math.min(Number(ui.tolerance.max), Math.max(Number(ui.tolerance.min), value))));
  ui.toleranceOut.textContent = ui.tolerance.value;
}

/** The pixels of the photo as it stands, for the wand and the object tool: read once per picture (a 12-megapixel photo takes a tenth of a second). */
let wandPixels: { image: ImageBitmap; pixels: ImageData } | undefined;

function photoPixels(ed: Editor): ImageData {
  const image = ed.image;
  if (wandPixels?.image !== image) wandPixels = { image, pixels: pixelsOf(image) };
  return wandPixels.pixels;
}

/**
 * The wand's click: the area of the clicked colour painted on the layer (or, erasing, taken out of
 * it); `everywhere` (Shift), that colour anywhere in the photo, not only where it touches the click.
 */
function wandAt(ed: Editor, at: { x: number; y: number }, erase: boolean, everywhere: boolean): void {
  const area = selectSimilar(photoPixels(ed), at.x, at.y, tolerance(), !everywhere);
  if (!area) return;
  paintSelection(
    ed,
    area,
    erase,
    `like the colour clicked${everywhere ? ', anywhere in the photo' : ''}, at tolerance ${tolerance()}.` +
      (erase ? '' : ' Too much? Undo and lower the tolerance; too little? Click again, or raise it. Grow (G) covers the outline.'),
  );
}

/** A selection (the wand's, the object tool's) painted on the layer or taken out of it, said in the status. */
function paintSelection(ed: Editor, area: Area, erase: boolean, how: string): void {
  ed.paintArea(area, layer, erase);
  const size = areaSize(area);
  const share = (100 * size) / (ed.width * ed.height);
  setStatus(`${erase ? 'Took out' : 'Selected'} ${size.toLocaleString('en')} px (${share < 1 ? share.toFixed(1) : Math.round(share)}% of the photo) ${how}`);
  if (autoRun && layer === 'hole' && !erase) void run();
}

/**
 * The object tool's box, let go: the object GrabCut finds in it (`selectObject`: what stands apart
 * from the box's surroundings, grown a little to take its outline), painted on the layer or, with
 * Alt, taken out of it. A box too small to be a drag is a click, and says how to use the tool.
 */
async function objectIn(ed: Editor, box: { x0: number; y0: number; x1: number; y1: number }, erase: boolean): Promise<void> {
  const x = Math.max(0, Math.min(box.x0, box.x1));
  const y = Math.max(0, Math.min(box.y0, box.y1));
  const width = Math.min(ed.width, Math.max(box.x0, box.x1)) - x;
  const height = Math.min(ed.height, Math.max(box.y0, box.y1)) - y;
  if (!(width >= 4 && height >= 4)) {
    setStatus('Object: drag a box around what should go (a click selects nothing), with some of what surrounds it inside.');
    return;
  }
  setStatus('Selecting the object in the box…', 'busy');
  // Let the status show before the work (a few tenths of a second) holds the page.
  await new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve)));
  let area: Area | undefined;
  try {
    area = selectObject(photoPixels(ed), { x, y, width, height });
  } catch (e) {
    setStatus((e as Error).message, 'error');
    return;
  }
  if (!area) {
    setStatus('Nothing in the box stands apart from what surrounds it: draw the box closer around the object, or paint it with the brush.');
    return;
  }
  paintSelection(ed, area, erase, 'as the object in the box. Missed a part? Add it with the brush, or drag another box; too much? Alt+drag or the eraser takes it out.');
  refresh();
}

function cursorColour(): string | undefined {
  return layer === 'hole' ? undefined : LAYER_COLOURS[layer];
}

function setLayer(next: Layer): void {
  if (mode !== 'remove') setMode('remove');
  layer = next;
  for (const l of LAYERS) ui.layers[l].setAttribute('aria-pressed', String(l === next));
  if (view.cursor) view.cursor.colour = cursorColour();
  if (next === 'sampleFrom') setStatus('Sample from (green): paint the only area the fill may copy from. Used by Ours.');
  else if (next === 'exclude') setStatus('Exclude (blue): paint what the fill must never copy from nor carry into the hole, e.g. a person beside the one removed, or a second object like it. Used by Ours.');
  refresh();
}

function setMode(next: 'remove' | 'stylize'): void {
  if (running) return;
  mode = next;
  ui.modeRemove.setAttribute('aria-pressed', String(next === 'remove'));
  ui.modeStylize.setAttribute('aria-pressed', String(next === 'stylize'));
  ui.removeTools.hidden = next !== 'remove';
  ui.stylizeTools.hidden = next !== 'stylize';
  if (next !== 'remove') closeStraighten();
  // The painted layers mean nothing to a stylization: they are hidden (and kept) meanwhile.
  view.showLayers = next === 'remove';
  if (editor) {
    if (next === 'stylize') setStatus(style ? 'Run to render the photo in the style image\'s texture.' : 'Open a style image (Style…), then Run.');
    else setStatus('Paint over what should go (or draw around it with the Lasso, L, click it with the Wand, W, or drag a box around it with Object, M), then Run.');
  }
  refresh();
}

/** Enables what makes sense now. */
function refresh(): void {
  const has = editor !== undefined;
  const busy = running !== undefined;
  ui.undo.disabled = !has || busy || !editor!.canUndo;
  ui.redo.disabled = !has || busy || !editor!.canRedo;
  ui.clear.disabled = !has || busy || !editor!.hasPaint(layer);
  ui.clear.textContent = `Clear ${LAYER_NAMES[layer]}`;
  ui.grow.disabled = !has || busy || !editor!.hasMask || mode !== 'remove';
  ui.loadMask.disabled = !has || busy;
  ui.straighten.disabled = !has || busy;
  ui.straightenApply.disabled = !has || busy || straightening;
  ui.openStyle.disabled = busy;
  ui.run.disabled = !has || busy || (mode === 'remove' ? !editor!.hasMask : !style);
  ui.layerHint.hidden = !(mode === 'remove' && has && (layer !== 'hole' || editor!.hasPaint('sampleFrom') || editor!.hasPaint('exclude')));
  ui.run.hidden = busy;
  ui.cancel.hidden = !busy;
  const before = has && editor!.lastRun !== undefined;
  ui.compare.disabled = !before;
  ui.split.disabled = !before;
  if (!before && view.split !== undefined) toggleSplit(false);
  const sources = has && editor!.lastRun?.sources !== undefined;
  ui.sources.disabled = !sources || busy;
  if (!sources && view.showSources) toggleSources(false);
  ui.fit.disabled = !has;
  ui.download.disabled = !has || busy;
  ui.share.disabled = !has || busy;
  ui.engineDevice.setAttribute('aria-pressed', String(engine === 'device'));
  ui.engineServer.setAttribute('aria-pressed', String(engine === 'server'));
  ui.engineDevice.disabled = busy || !device;
  ui.engineServer.disabled = busy || deviceConfig?.mode === 'static';
  for (const o of ui.method.options) {
    o.disabled = engine === 'device' && !DEVICE_METHODS.has(o.value);
    o.title = o.disabled ? 'on the server only' : '';
  }
  ui.empty.hidden = has;
  // The brush's cursor (none of the pointer's) while painting; not over Straighten's preview.
  stage.classList.toggle('paint', has && !spaceDown && !ui.straightenPanel.open);
  stage.classList.toggle('pan', has && spaceDown);
  if (has) ui.info.textContent = `${editor!.name} · ${editor!.width}×${editor!.height} · ${Math.round(view.scale * 100)}%`;
  view.invalidate();
  keepWork();
}

// ---------------------------------------------------------------------------------------------
// Opening photos and masks

/** The photo being opened, if one is: a mask given meanwhile waits for it instead of being dropped. */
let photoOpening: Promise<void> = Promise.resolve();

/** How a photo made on the page (a straightened one) is opened; a photo from a file needs none of it. */
interface OpenOptions {
  /** Whether the caller already asked before a result not downloaded goes (and was told yes). */
  asked?: boolean;
  /** The file whose EXIF, XMP and IPTC the downloads keep, when not the photo's own (`metadataFrom`). */
  metadataFrom?: Blob;
  /** Before the photo is shown: what goes with it (the painted layers a straightened photo carries). */
  prepare?: (next: Editor) => void;
  /** The status once it is open, in place of the usual one; `erased`, its transparent pixels (the hole). */
  opened?: (next: Editor, erased: number) => string;
}

/** Opens a photo; whether it was opened (not when refused, or while a run goes on). */
function openPhoto(file: Blob, name: string, options: OpenOptions = {}): Promise<boolean> {
  const opened = openPhotoNow(file, name, options);
  photoOpening = opened.then(() => undefined);
  return opened;
}

/**
 * A photo as a bitmap, decoded off the main thread with its EXIF orientation applied, as the server
 * applies it; a HEIC that the browser cannot decode goes through libheif (`heic.ts`).
 */
async function decodePhoto(file: Blob, name: string): Promise<{ bitmap: ImageBitmap; asStored?: Blob }> {
  try {
    return { bitmap: await createImageBitmap(file, { imageOrientation: 'from-image' }) };
  } catch (err) {
    const head = new Uint8Array(await file.slice(0, 12).arrayBuffer());
    if (isTiff(head)) {
      setStatus(`Opening ${name}: decoding TIFF…`, 'busy');
      return decodeTiffPhoto(file).catch((tiffErr: unknown) => {
        throw new DecodeError(`${name} is a TIFF this page cannot decode: ${(tiffErr as Error).message}.`);
      });
    }
    if (!isHeic(head)) throw err;
    setStatus(`Opening ${name}: decoding HEIC…`, 'busy');
    return decodeHeic(file).catch((heicErr: unknown) => {
      throw new DecodeError(`${name} is a HEIC photo that could not be decoded here (${(heicErr as Error).message}): save it as JPEG first, or use the command line.`);
    });
  }
}

/**
 * A TIFF (which no browser decodes), by `decodeTiff`; with a colour profile, also `asStored`: a PNG
 * of the pixels as stored, carrying that profile (as a HEIC's), which the device fills and the
 * browser shows converted.
 */
async function decodeTiffPhoto(file: Blob): Promise<{ bitmap: ImageBitmap; asStored?: Blob }> {
  const { width, height, rgba, icc } = await decodeTiff(new Uint8Array(await file.arrayBuffer()));
  const pixels = new ImageData(rgba, width, height);
  if (!icc) return { bitmap: await createImageBitmap(pixels) };
  const asStored = await pngWithIcc(pixels, icc);
  return { bitmap: await createImageBitmap(asStored), asStored };
}

/** A HEIC or TIFF that could not be decoded (or a decoder that could not be fetched): its message is the status. */
class DecodeError extends Error {}

async function openPhotoNow(file: Blob, name: string, options: OpenOptions = {}): Promise<boolean> {
  if (running) return false;
  if (editor && !options.asked && unsavedResult() && !confirm(`The result of your edits on ${editor.name} has not been downloaded. Open ${name} anyway and lose it?`)) {
    setStatus(`Kept ${editor.name}: download its result first (Ctrl+S), then open ${name}.`);
    return false;
  }
  setStatus(`Opening ${name}…`, 'busy');
  opening++;
  let opened = false;
  try {
    const { bitmap, asStored } = await decodePhoto(file, name);
    const next = new Editor(bitmap, file, name, asStored);
    // A photo with a part erased in an image editor (left transparent): that part is the hole.
    const erased = /^image\/(jpeg|heic|heif)$/.test(file.type) ? undefined : await transparentArea(bitmap);
    // Another photo opened instead of the work offered for restoring: that work goes.
    if (!ui.restore.hidden) void forgetWork().catch(() => undefined);
    if (erased) next.loadMask(erased.layer);
    options.prepare?.(next);
    if (options.metadataFrom) metadataFrom.set(next, options.metadataFrom);
    await show(next);
    opened = true;
    if (options.opened) setStatus(options.opened(next, erased?.pixels ?? 0));
    else if (erased) setStatus(`The photo's transparent area (${erased.pixels.toLocaleString('en')} pixels, erased in an image editor?) is the hole: Run to fill it, or Clear hole (Delete).`);
    else setStatus('Paint over what should go (or draw around it with the Lasso, L, click it with the Wand, W, or drag a box around it with Object, M), then Run.');
  } catch (err) {
    const message = err instanceof DecodeError ? err.message : `${name} is not an image this page can read (JPEG, PNG, WebP, GIF, AVIF, HEIC or TIFF).`;
    setStatus(message, 'error');
  } finally {
    opening--;
  }
  refresh();
  return opened;
}

/**
 * Where a photo is transparent (alpha under one half), as a layer opaque there; undefined when
 * nowhere, or everywhere. A copy at most 256 px across (averaged), made off the main thread, is looked at first:
 * an opaque photo costs no full-size pass.
 */
async function transparentArea(bitmap: ImageBitmap): Promise<{ layer: HTMLCanvasElement; pixels: number } | undefined> {
  const scale = Math.min(1, 256 / Math.max(bitmap.width, bitmap.height));
  const small = await createImageBitmap(bitmap, { resizeWidth: Math.max(1, Math.round(bitmap.width * scale)), resizeHeight: Math.max(1, Math.round(bitmap.height * scale)), resizeQuality: 'high' });
  const probe = new OffscreenCanvas(small.width, small.height).getContext('2d')!;
  probe.drawImage(small, 0, 0);
  small.close();
  const alpha = probe.getImageData(0, 0, probe.canvas.width, probe.canvas.height).data;
  let opaque = true;
  for (let i = 3; i < alpha.length && opaque; i += 4) opaque = alpha[i] === 255;
  if (opaque) return undefined;
  const layer = document.createElement('canvas');
  layer.width = bitmap.width;
  layer.height = bitmap.height;
  const ctx = layer.getContext('2d', { willReadFrequently: true })!;
  ctx.drawImage(bitmap, 0, 0);
  const img = ctx.getImageData(0, 0, layer.width, layer.height);
  const d = img.data;
  let pixels = 0;
  for (let i = 3; i < d.length; i += 4) {
    const hole = d[i] < 128;
    if (hole) pixels++;
    d[i - 3] = d[i - 2] = d[i - 1] = 255;
    d[i] = hole ? 255 : 0;
  }
  // Transparent everywhere (a layer saved at low opacity): as the hole it would leave nothing to fill from.
  if (pixels === 0 || pixels === bitmap.width * bitmap.height) return undefined;
  ctx.putImageData(img, 0, 0);
  return { layer, pixels };
}

/** Whether the photo as it stands is a run's result that was never downloaded: work that leaving, or opening another photo, would lose. */
function unsavedResult(): boolean {
  return editor?.lastRun !== undefined && editor.image !== downloaded;
}

/** Makes `next` the photo being edited (a photo opened, or work restored). */
async function show(next: Editor): Promise<void> {
  await view.prepare(next.image, next.previewScale);
  // A panel opened for the photo before this one is closed, its preview with it.
  closeStraighten();
  editor = next;
  view.editor = editor;
  view.split = undefined;
  view.fit();
  ui.restore.hidden = true;
  // First use: the model starts downloading (or loading from the cache) while the hole is painted.
  if (engine === 'device') void loadDevice().catch(() => undefined);
}

// ---------------------------------------------------------------------------------------------
// The work kept in this browser (saved.ts), and taken up again on the next visit

/** What the browser's copy holds: of which editor, which result and which mask file (written when they change). */
let kept: { editor: Editor; id: string; result?: Blob; maskCanvas?: HTMLCanvasElement; maskBlob?: Blob; version?: number; downloaded?: boolean; forgotten?: boolean } | undefined;
let keepTimer: ReturnType<typeof setTimeout> | undefined;
let keeping = Promise.resolve();

/** Writes the work to the browser's copy soon after a change (a burst of changes, once). */
function keepWork(): void {
  if (!editor || (kept?.editor === editor && kept.version === editor.version && kept.downloaded === !unsavedResult())) return;
  clearTimeout(keepTimer);
  keepTimer = setTimeout(() => {
    keeping = keeping.then(keepNow);
  }, 300);
}

async function keepNow(): Promise<void> {
  const ed = editor;
  if (!ed) return;
  try {
    const version = ed.version;
    const { maskFile, ops } = ed.edits;
    // Kept only while something would be lost: a photo downloaded and not touched since is not left
    // in the browser (a shared computer's next user would be offered it).
    if (!unsavedResult() && !maskFile && !ops.some(isPaint)) {
      if (kept && !kept.forgotten) await forgetWork();
      kept = { editor: ed, id: '', version, downloaded: true, forgotten: true };
      return;
    }
    const result = ed.lastRun?.blob;
    if (kept?.editor !== ed || kept.forgotten || kept.result !== result) {
      const id = kept?.editor === ed && !kept.forgotten ? kept.id : `${Date.now()}-${Math.random().toString(36).slice(2)}`;
      await savePhoto({ id, name: ed.name, original: ed.originalBlob, result, metadataFrom: metadataFrom.get(ed) });
      kept = { editor: ed, id, result };
    }
    if (maskFile !== kept.maskCanvas) {
      kept.maskCanvas = maskFile;
      kept.maskBlob = maskFile && (await toBlob(maskFile, 'image/png'));
    }
    const downloaded = !unsavedResult();
    await saveEdits({ id: kept.id, maskFile: kept.maskBlob, ops, downloaded, savedAt: Date.now() });
    Object.assign(kept, { version, downloaded });
  } catch (err) {
    // Private windows and full disks refuse; the page works on without the copy.
    console.warn('could not keep the work in this browser:', err);
  }
}

/** Offers to take up work kept from an earlier visit that would otherwise be lost: a result not downloaded, or strokes. */
async function offerRestore(): Promise<void> {
  const work = await loadWork().catch(() => undefined);
  if (!work || editor) return;
  const { photo, edits } = work;
  const strokes = edits.ops.filter(isPaint).length;
  const parts = [];
  if (photo.result && !edits.downloaded) parts.push('a result not downloaded');
  if (strokes > 0) parts.push(`${strokes} stroke${strokes === 1 ? '' : 's'}`);
  if (edits.maskFile) parts.push('a mask file');
  if (parts.length === 0) return;
  const when = new Date(edits.savedAt).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
  ui.restoreText.textContent = `Your work on ${photo.name} (${parts.join(', ')}; ${when}) was kept in this browser.`;
  ui.restore.hidden = false;
  ui.restoreYes.onclick = () => void restoreWork(photo, edits);
  ui.restoreNo.onclick = () => {
    ui.restore.hidden = true;
    void forgetWork().catch(() => undefined);
  };
}

async function restoreWork(photo: SavedPhoto, edits: SavedEdits): Promise<void> {
  if (running || editor) return;
  ui.restore.hidden = true;
  setStatus(`Restoring your work on ${photo.name}…`, 'busy');
  opening++;
  try {
    const { bitmap, asStored } = await decodePhoto(photo.original, photo.name);
    const next = new Editor(bitmap, photo.original, photo.name, asStored);
    if (photo.metadataFrom) metadataFrom.set(next, photo.metadataFrom);
    if (photo.result) next.addResult(await createImageBitmap(photo.result), photo.result);
    if (edits.maskFile) next.loadMask(await createImageBitmap(edits.maskFile));
    next.replayEdits(edits.ops);
    await show(next);
    // The copy already holds this photo and result: only the edits are written again.
    kept = { editor: next, id: photo.id, result: photo.result };
    if (edits.downloaded) downloaded = next.image;
    setStatus(`Restored your work on ${photo.name}: undo and redo start here.`);
  } catch (err) {
    setStatus(`Your work on ${photo.name} could not be restored (${(err as Error).message}).`, 'error');
  } finally {
    opening--;
  }
  refresh();
}

async function openMask(file: Blob): Promise<void> {
  await photoOpening;
  if (!editor) return;
  try {
    const { bitmap } = await decodePhoto(file, 'the mask');
    if (bitmap.width !== editor.width || bitmap.height !== editor.height) {
      setStatus(`The mask is ${bitmap.width}×${bitmap.height}, the photo ${editor.width}×${editor.height}: it was stretched to fit.`);
    } else setStatus('Mask loaded: white is the hole.');
    editor.loadMask(bitmap);
  } catch {
    setStatus('That mask file is not an image this browser can read.', 'error');
  }
  refresh();
}

ui.open.onclick = () => ui.file.click();
ui.openEmpty.onclick = () => ui.file.click();
ui.file.onchange = () => {
  const f = ui.file.files?.[0];
  if (f) void openPhoto(f, f.name);
  ui.file.value = '';
};
ui.openStyle.onclick = () => ui.styleFile.click();
ui.styleFile.onchange = () => {
  const f = ui.styleFile.files?.[0];
  if (f) {
    style = { blob: f, name: f.name };
    ui.styleName.textContent = f.name;
    if (editor) setStatus(`Style: ${f.name}. Run to render the photo in its texture.`);
  }
  ui.styleFile.value = '';
  refresh();
};
ui.loadMask.onclick = () => ui.maskFile.click();
ui.maskFile.onchange = () => {
  const f = ui.maskFile.files?.[0];
  if (f) void openMask(f);
  ui.maskFile.value = '';
};
window.addEventListener('dragover', (e) => {
  e.preventDefault();
  stage.classList.add('dragover');
});
window.addEventListener('dragleave', () => stage.classList.remove('dragover'));
window.addEventListener('drop', (e) => {
  e.preventDefault();
  stage.classList.remove('dragover');
  const f = e.dataTransfer?.files?.[0];
  if (f) void openPhoto(f, f.name);
});
window.addEventListener('paste', (e) => {
  const item = [...(e.clipboardData?.items ?? [])].find((i) => i.type.startsWith('image/'));
  const f = item?.getAsFile();
  if (f) void openPhoto(f, f.name && f.name !== 'image.png' ? f.name : 'pasted.png');
});

// ---------------------------------------------------------------------------------------------
// Straighten: the photo turned about its centre and/or given a border (`reframe`, as `inpaint run
// --rotate / --extend`), opened as a photo whose empty pixels are transparent, so that they are the hole

const SIDES = ['left', 'top', 'right', 'bottom'] as const;
/** The view's zoom and pan when the panel opened: the preview zooms out to show a border, and closing puts them back. */
let viewBeforeStraighten: { scale: number; tx: number; ty: number } | undefined;

function openStraighten(): void {
  if (!editor || running || straightening) return;
  if (mode !== 'remove') setMode('remove');
  if (ui.straightenPanel.open) {
    ui.straightenDegrees.focus();
    return;
  }
  ui.straightenAngle.value = ui.straightenDegrees.value = '0';
  ui.straightenShape.value = '';
  ui.straightenSides.forEach((input, i) => {
    input.value = '0';
    input.max = String(i % 2 === 0 ? editor!.width : editor!.height);
  });
  ui.straightenPanel.show();
  ui.straighten.setAttribute('aria-expanded', 'true');
  viewBeforeStraighten = { scale: view.scale, tx: view.tx, ty: view.ty };
  // Painting, the brush's cursor and zooming wait while the panel is open: the view shows the preview.
  view.cursor = undefined;
  ui.straightenDegrees.focus();
  ui.straightenDegrees.select();
  refresh();
  straightenPreview();
  setStatus('Straighten: drag along the horizon (or anything that should be level or upright), or set the angle (degrees clockwise; negative turns it counter-clockwise), and/or add a border; then Apply (Enter), or Cancel (Esc).');
}

/** Closes the panel and its preview; `said`, the status to leave (none: the status stays). */
function closeStraighten(said?: string): void {
  const wasOpen = ui.straightenPanel.open;
  if (wasOpen) ui.straightenPanel.close();
  ui.straighten.setAttribute('aria-expanded', 'false');
  view.canvas.style.transform = '';
  view.canvas.style.transformOrigin = '';
  ui.straightenFrame.hidden = true;
  if (viewBeforeStraighten) Object.assign(view, viewBeforeStraighten);
  viewBeforeStraighten = undefined;
  if (wasOpen && said !== undefined) setStatus(said);
  if (wasOpen) refresh();
}

/** The side's border as typed, when it is a whole number of pixels from 0 to `across`; else undefined. */
function sideValue(input: HTMLInputElement, across: number): number | undefined {
  // Text a number input cannot read has the value '': not a 0.
  if (input.validity.badInput) return undefined;
  const text = input.value.trim();
  const px = text === '' ? 0 : Number(text);
  return Number.isInteger(px) && px >= 0 && px <= across ? px : undefined;
}

/**
 * The preview while the panel is open: the view's canvas turned by CSS about the photo's centre, and
 * the frame the photo will have (a border added outside it) outlined, what falls outside darkened.
 * Costs nothing whatever the photo's size; a value not (yet) valid previews as 0.
 */
function straightenPreview(): void {
  const ed = editor;
  if (!ed || !ui.straightenPanel.open) return;
  const degrees = Number(ui.straightenDegrees.value);
  const turn = ui.straightenDegrees.value.trim() !== '' && Math.abs(degrees) <= MAX_ROTATION ? degrees : 0;
  const [left, top, right, bottom] = ui.straightenSides.map((input, i) => sideValue(input, i % 2 === 0 ? ed.width : ed.height) ?? 0);
  const [frameW, frameH] = [ed.width + left + right, ed.height + top + bottom];
  // A border that does not fit the view: zoomed out to show all of the frame (without one, the view
  // stays as it is, zoomed in on the horizon maybe).
  if (left + top + right + bottom > 0 && (view.tx - left * view.scale < 0 || view.ty - top * view.scale < 0 || view.tx + (ed.width + right) * view.scale > view.width || view.ty + (ed.height + bottom) * view.scale > view.height)) {
    const fit = Math.min((view.width - 24) / frameW, (view.height - 24) / frameH, 4);
    Object.assign(view, { scale: fit, tx: (view.width - frameW * fit) / 2 + left * fit, ty: (view.height - frameH * fit) / 2 + top * fit });
    refresh();
  }
  const { scale, tx, ty } = view;
  view.canvas.style.transformOrigin = `${tx + (ed.width / 2) * scale}px ${ty + (ed.height / 2) * scale}px`;
  view.canvas.style.transform = turn ? `rotate(${turn}deg)` : '';
  Object.assign(ui.straightenFrame.style, { left: `${tx - left * scale}px`, top: `${ty - top * scale}px`, width: `${frameW * scale}px`, height: `${frameH * scale}px` });
  ui.straightenFrame.hidden = false;
}

/** A painted layer of the photo as a mask (opaque = 1), for `reframe` to move with the photo. */
function layerMask(ed: Editor, layer: Layer): MaskImage {
  const d = ed.layers[layer].ctx.getImageData(0, 0, ed.width, ed.height).data;
  const data = new Uint8Array(ed.width * ed.height);
  for (let i = 0; i < data.length; i++) data[i] = d[4 * i + 3] >= 128 ? 1 : 0;
  return { width: ed.width, height: ed.height, data };
}

/** The pixels of a bitmap as drawn on a canvas (a photo's stored values when made with colorSpaceConversion 'none'). */
function pixelsOf(image: ImageBitmap): ImageData {
  const c = document.createElement('canvas');
  c.width = image.width;
  c.height = image.height;
  const ctx = c.getContext('2d', { willReadFrequently: true })!;
  ctx.drawImage(image, 0, 0);
  return ctx.getImageData(0, 0, c.width, c.height);
}

/** "turned 5° clockwise and given a border of 20 px on the right", for the status. */
function describeReframe(degrees: number, sides: number[]): string {
  const parts: string[] = [];
  if (degrees !== 0) parts.push(`turned ${Math.abs(degrees)}° ${degrees > 0 ? 'clockwise' : 'counter-clockwise'}`);
  const added = SIDES.map((side, i) => (sides[i] > 0 ? `${sides[i]} px on the ${side}` : '')).filter(Boolean);
  if (added.length === 4 && sides.every((px) => px === sides[0])) parts.push(`given a border of ${sides[0]} px on every side`);
  else if (added.length) parts.push(`given a border of ${added.join(', ')}`);
  return parts.join(' and ');
}

/**
 * Apply: the photo as it stands (the original, or the last run's result) turned and given the
 * border, by `reframe`; the pixels that leaves empty made transparent, and the PNG opened as the new
 * photo, whose transparent area is the hole (as a photo erased in an image editor). A photo with a
 * colour profile is turned in its stored values and keeps its profile; the new PNG carries the
 * photo's EXIF and XMP, and the downloads take them (and the IPTC record) from the photo's own file.
 * The painted layers are turned with it. Whatever fails leaves the photo as it was, and says why.
 */
async function applyStraighten(): Promise<void> {
  const ed = editor;
  if (!ed || running || straightening || !ui.straightenPanel.open) return;
  let degrees: number;
  try {
    const typed = ui.straightenDegrees;
    degrees = parseRotation(typed.validity.badInput ? 'not a number' : typed.value.trim() || '0', 'the angle');
  } catch (err) {
    setStatus((err as Error).message, 'error');
    return;
  }
  const sides: number[] = [];
  for (const [i, side] of SIDES.entries()) {
    const input = ui.straightenSides[i];
    const across = i % 2 === 0 ? ed.width : ed.height;
    const px = sideValue(input, across);
    if (px === undefined) {
      const typed = Number(input.value);
      setStatus(
        Number.isInteger(typed) && typed > across
          ? `The ${side} border of ${typed} px is more than the photo is ${i % 2 === 0 ? 'wide' : 'tall'} (${across} px): add at most ${across} px on that side (fill it, then straighten again to add more). The photo is unchanged.`
          : `The ${side} border must be a whole number of pixels, 0 or more (not ${JSON.stringify(input.value)}). The photo is unchanged.`,
        'error',
      );
      input.focus();
      return;
    }
    sides.push(px);
  }
  const extend = sides.map((value) => ({ value, percent: false })) as MarginsInput;
  if (!reframes({ rotate: degrees, extend })) {
    setStatus('Nothing to straighten: the angle is 0 and no border is added. Set an angle or a border, or Cancel (Esc).');
    return;
  }
  const [outW, outH] = [ed.width + sides[0] + sides[2], ed.height + sides[1] + sides[3]];
  const limit = engine === 'device' ? DEVICE_MAX_PIXELS : DEFAULT_MAX_PIXELS;
  if (outW * outH > limit) {
    setStatus(`With that border the photo would be ${outW}×${outH} (${((outW * outH) / 1e6).toFixed(1)} megapixels), more than the ${limit / 1e6} this page takes${engine === 'device' ? ' on this device' : ''}: add a narrower border. The photo is unchanged.`, 'error');
    return;
  }
  // Straightened, the photo starts a new history: a result not downloaded could no longer be had.
  if (unsavedResult() && !confirm(`The result of your edits on ${ed.name} has not been downloaded: once straightened, undo cannot bring it back. Straighten it anyway?`)) {
    setStatus(`Kept ${ed.name} as it is: download its result first (Ctrl+S), then straighten it.`);
    return;
  }
  straightening = true;
  refresh();
  setStatus('Straightening…', 'busy');
  // Let the status show before the work (a second on a large photo) holds the page.
  await new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve)));
  try {
    const own = await ownColours(ed);
    const pixels = own ? pixelsOf(own.image) : photoPixels(ed);
    own?.image.close();
    const layers = LAYERS.filter((l) => ed.isPainted(l));
    const out = reframe(
      imageFromPixels({ width: ed.width, height: ed.height, channels: 4, data: pixels.data, max: 255 }),
      undefined,
      { rotate: degrees, extend },
      { maxPixels: limit, alongside: layers.map((l) => layerMask(ed, l)), flags: { rotate: 'the angle', extend: 'the border' } },
    );
    const { width, height } = out.photo.image;
    // Empty: transparent, which opens as the hole. Elsewhere opaque, or the photo's own alpha (a cut-out).
    const rgba = toRgba8(out.photo.image);
    const alpha = out.photo.alpha;
    for (let i = 0; i < width * height; i++) rgba[4 * i + 3] = out.hole.data[i] ? 0 : alpha ? Math.round(alpha[i] * 255) : 255;
    const c = document.createElement('canvas');
    c.width = width;
    c.height = height;
    c.getContext('2d')!.putImageData(new ImageData(rgba as Uint8ClampedArray<ArrayBuffer>, width, height), 0, 0);
    let blob = await toBlob(c, 'image/png');
    if (own) blob = new Blob([(await withRgbProfile(new Uint8Array(await blob.arrayBuffer()), 'png', own.icc)) as Uint8Array<ArrayBuffer>], { type: 'image/png' });
    // The photo's metadata in the new file too: the server's result and the copy kept in the browser carry it.
    const source = metadataSource(ed);
    blob = await withMetadataOf(source, width, height, blob, 'png');
    const stem = ed.name.replace(/\.[^.]+$/, '').replace(/-(straightened|extended)$/, '') || 'photo';
    const name = `${stem}-${degrees !== 0 ? 'straightened' : 'extended'}.png`;
    const what = describeReframe(degrees, sides);
    const carried = layers.filter((_, k) => out.alongside[k].data.includes(1));
    const opened = await openPhoto(blob, name, {
      asked: true,
      metadataFrom: source,
      prepare: (next) => {
        for (const [k, l] of layers.entries()) {
          const area = areaOf(out.alongside[k]);
          if (area) next.paintArea(area, l, false);
        }
      },
      opened: () =>
        `${ed.name} ${what} (now ${width}×${height}): the ${out.empty.toLocaleString('en')} pixels left empty are the hole` +
        (carried.length ? ` (what you painted, ${carried.map((l) => LAYER_NAMES[l]).join(' and ')}, was turned with the photo)` : '') +
        (autoRun ? '; filling it (Auto).' : '. Run (Enter) to fill it, or paint more of the hole first.'),
    });
    if (opened && autoRun && mode === 'remove') void run();
  } catch (err) {
    // A refused angle or border (UsageError), or a tab out of memory: the photo stays as it was.
    const message = (err as Error).message;
    setStatus(`${message}${/[.!?]$/.test(message) ? '' : '.'} The photo is unchanged.`, 'error');
  } finally {
    straightening = false;
    refresh();
  }
}

/** The line being dragged over Straighten's preview, from where the drag began to `to` (the window's pixels). */
function levelLine(from: { x: number; y: number }, to: { clientX: number; clientY: number }): void {
  const r = stage.getBoundingClientRect();
  const [dx, dy] = [to.clientX - from.x, to.clientY - from.y];
  Object.assign(ui.levelLine.style, {
    left: `${from.x - r.left}px`,
    top: `${from.y - r.top}px`,
    width: `${Math.hypot(dx, dy)}px`,
    transform: `rotate(${Math.atan2(dy, dx)}rad)`,
  });
  ui.levelLine.hidden = false;
}

/**
 * The angle that makes a line dragged over the preview level, or upright when it is nearer
 * upright (a wall, a mast): the line's slope on the screen, where the preview already shows the
 * photo turned by the angle set, is taken off that angle. Clockwise on the screen is clockwise in
 * `reframe`, as CSS turns.
 */
function levelAlong(from: { x: number; y: number }, to: { clientX: number; clientY: number }): void {
  const [dx, dy] = [to.clientX - from.x, to.clientY - from.y];
  if (Math.hypot(dx, dy) < 10) {
    setStatus('Drag along a line that should be level (a horizon) or upright (a wall), at least a few pixels long: the photo is turned to make it so.');
    return;
  }
  // The line's angle, clockwise from the right, in (-90, 90]: a line has no direction.
  let slope = (Math.atan2(dy, dx) * 180) / Math.PI;
  if (slope > 90) slope -= 180;
  else if (slope <= -90) slope += 180;
  const upright = Math.abs(slope) > 45;
  const off = upright ? slope - Math.sign(slope) * 90 : slope;
  const current = Number(ui.straightenDegrees.value) || 0;
  const next = Math.round(10 * Math.min(MAX_ROTATION, Math.max(-MAX_ROTATION, current - off))) / 10;
  ui.straightenAngle.value = ui.straightenDegrees.value = String(next);
  straightenPreview();
  setStatus(
    Math.abs(current - off) > MAX_ROTATION
      ? `That line would need a turn of ${(current - off).toFixed(1)}°, past ${MAX_ROTATION}°: turned ${next}°, as far as Straighten goes.`
      : `Turned ${next}° so that the line is ${upright ? 'upright' : 'level'}: Apply (Enter) to straighten, drag again to correct it, or Cancel (Esc).`,
  );
}

ui.straighten.onclick = () => (ui.straightenPanel.open ? closeStraighten('Straighten cancelled: the photo is unchanged.') : openStraighten());
ui.straightenCancel.onclick = () => closeStraighten('Straighten cancelled: the photo is unchanged.');
ui.straightenForm.onsubmit = (e) => {
  e.preventDefault();
  void applyStraighten();
};
ui.straightenAngle.oninput = () => {
  ui.straightenDegrees.value = ui.straightenAngle.value;
  straightenPreview();
};
ui.straightenDegrees.oninput = () => {
  const degrees = Number(ui.straightenDegrees.value);
  if (ui.straightenDegrees.value.trim() !== '' && Math.abs(degrees) <= MAX_ROTATION) ui.straightenAngle.value = String(degrees);
  straightenPreview();
};
for (const input of ui.straightenSides) {
  input.oninput = () => {
    // A side typed by hand: the border is no longer the shape's.
    ui.straightenShape.value = '';
    straightenPreview();
  };
}
ui.straightenShape.onchange = () => {
  const ed = editor;
  if (!ed || ui.straightenShape.value === '') return;
  // The turn keeps the photo's size, so the shape's border is the photo's own (as `inpaint run --extend W:H`).
  try {
    const margins = resolveMargins(parseMargins(ui.straightenShape.value), ed.width, ed.height, 'the shape');
    SIDES.forEach((side, i) => (ui.straightenSides[i].value = String(margins[side])));
    setStatus(margins.left + margins.top + margins.right + margins.bottom === 0 ? `The photo is ${ui.straightenShape.value} already: no border is needed.` : `A border that makes the photo ${ui.straightenShape.value}: ${describeReframe(0, SIDES.map((side) => margins[side]))}.`);
  } catch (err) {
    ui.straightenShape.value = '';
    setStatus(`${(err as Error).message} The border is as it was.`, 'error');
  }
  straightenPreview();
};
window.addEventListener('resize', straightenPreview);

// ---------------------------------------------------------------------------------------------
// Painting, zooming and panning: pointer events, so mouse, pen and touch all paint

type Gesture =
  | { kind: 'paint'; id: number }
  | { kind: 'wand'; id: number; at: { x: number; y: number }; erase: boolean; everywhere: boolean }
  | { kind: 'box'; id: number; erase: boolean }
  | { kind: 'pan'; id: number; x: number; y: number }
  | { kind: 'split'; id: number }
  | { kind: 'pinch'; distance: number; mid: { x: number; y: number } }
  /** A line dragged along what should be level, over Straighten's preview: in the window's pixels (the preview is turned by CSS). */
  | { kind: 'level'; id: number; x: number; y: number };
const pointers = new Map<number, { x: number; y: number }>();
let gesture: Gesture | undefined;
const canvas = view.canvas;

function local(e: { clientX: number; clientY: number }): { x: number; y: number } {
  const r = canvas.getBoundingClientRect();
  return { x: e.clientX - r.left, y: e.clientY - r.top };
}

function pinchOf(): { distance: number; mid: { x: number; y: number } } {
  const [a, b] = [...pointers.values()];
  return { distance: Math.hypot(a.x - b.x, a.y - b.y), mid: { x: (a.x + b.x) / 2, y: (a.y + b.y) / 2 } };
}

function nearSplit(x: number): boolean {
  return view.split !== undefined && editor?.lastRun !== undefined && Math.abs(x - view.split * view.width) < 12;
}

canvas.addEventListener('pointerdown', (e) => {
  if (!editor) return;
  // While Straighten's panel is open the view is its preview (turned by CSS): nothing is painted on
  // it, and a drag draws a line along what should be level.
  if (ui.straightenPanel.open) {
    if (!gesture && (e.button === 0 || e.pointerType !== 'mouse')) {
      canvas.setPointerCapture(e.pointerId);
      gesture = { kind: 'level', id: e.pointerId, x: e.clientX, y: e.clientY };
      levelLine(gesture, e);
    }
    return;
  }
  const p = local(e);
  pointers.set(e.pointerId, p);
  canvas.setPointerCapture(e.pointerId);
  if (pointers.size === 2 && e.pointerType === 'touch') {
    // A second finger: the first one's stroke was the start of a pinch, not paint.
    if (gesture?.kind === 'paint') editor.abandonStroke();
    if (gesture?.kind === 'box') view.box = undefined;
    gesture = { kind: 'pinch', ...pinchOf() };
    return;
  }
  if (gesture) return;
  if (spaceDown || e.button === 1) {
    gesture = { kind: 'pan', id: e.pointerId, ...p };
    stage.classList.add('panning');
  } else if (nearSplit(p.x)) {
    gesture = { kind: 'split', id: e.pointerId };
  } else if ((e.button === 0 || e.pointerType === 'pen') && !running && mode === 'remove') {
    const at = view.toImage(e.clientX, e.clientY);
    // Alt, or a pen's eraser end, erases with any tool: the lasso then cuts the outlined area out.
    const erase = tool === 'eraser' || e.altKey || (e.buttons & 32) !== 0;
    if (tool === 'wand') {
      // Selected when let go: a finger that was the start of a pinch selects nothing.
      gesture = { kind: 'wand', id: e.pointerId, at, erase, everywhere: e.shiftKey };
      return;
    }
    if (tool === 'object') {
      gesture = { kind: 'box', id: e.pointerId, erase };
      view.box = { x0: at.x, y0: at.y, x1: at.x, y1: at.y };
      view.invalidate();
      return;
    }
    gesture = { kind: 'paint', id: e.pointerId };
    // Shift+click draws a straight line from where the last brush stroke on this layer ended.
    const from = e.shiftKey && tool !== 'lasso' ? editor.lastPoint : undefined;
    if (from?.layer === layer) {
      editor.beginStroke(from.x, from.y, brushSize(), erase, layer);
      editor.extendStroke(at.x, at.y);
    } else editor.beginStroke(at.x, at.y, brushSize(), erase, layer, tool === 'lasso');
  }
  view.invalidate();
});

canvas.addEventListener('pointermove', (e) => {
  const p = local(e);
  if (e.pointerType !== 'touch') view.cursor = mode === 'remove' && !ui.straightenPanel.open ? { ...p, size: brushSize(), erase: tool === 'eraser' || e.altKey, colour: cursorColour(), cross: CROSS_TOOLS.includes(tool) } : undefined;
  stage.classList.toggle('split-hover', !gesture && nearSplit(p.x));
  if (pointers.has(e.pointerId)) pointers.set(e.pointerId, p);
  const g = gesture;
  if (g?.kind === 'level' && g.id === e.pointerId) levelLine(g, e);
  else if (g?.kind === 'paint' && g.id === e.pointerId) {
    // Coalesced events: every sample of a fast pen or mouse, not one per frame.
    for (const c of e.getCoalescedEvents?.() ?? [e]) {
      const at = view.toImage(c.clientX, c.clientY);
      editor!.extendStroke(at.x, at.y);
    }
  } else if (g?.kind === 'box' && g.id === e.pointerId && view.box) {
    const at = view.toImage(e.clientX, e.clientY);
    Object.assign(view.box, { x1: at.x, y1: at.y });
  } else if (g?.kind === 'pan' && g.id === e.pointerId) {
    view.panBy(p.x - g.x, p.y - g.y);
    g.x = p.x;
    g.y = p.y;
  } else if (g?.kind === 'split' && g.id === e.pointerId) {
    view.split = Math.min(1, Math.max(0, p.x / view.width));
  } else if (g?.kind === 'pinch' && pointers.size >= 2) {
    const now = pinchOf();
    view.panBy(now.mid.x - g.mid.x, now.mid.y - g.mid.y);
    view.zoomAt(now.distance / Math.max(1, g.distance), now.mid.x, now.mid.y);
    Object.assign(g, now);
    refresh();
  }
  view.invalidate();
});

function pointerEnd(e: PointerEvent): void {
  pointers.delete(e.pointerId);
  const g = gesture;
  if (g?.kind === 'paint' && g.id === e.pointerId) {
    gesture = undefined;
    const lasso = editor?.lassoOutline !== undefined;
    // A lasso the browser took over (pointercancel) is dropped, not filled half drawn.
    if (e.type === 'pointercancel' && lasso) editor?.abandonStroke();
    else if (editor) {
      const recorded = editor.endStroke();
      if (lasso && !recorded) setStatus('The lasso enclosed no area: draw around what should go, and let go to fill it.');
      else if (recorded && autoRun && layer === 'hole' && !editor.lastStrokeErased) void run();
    }
  } else if (g?.kind === 'wand' && g.id === e.pointerId) {
    gesture = undefined;
    if (e.type === 'pointerup' && editor) wandAt(editor, g.at, g.erase, g.everywhere);
  } else if (g?.kind === 'box' && g.id === e.pointerId) {
    gesture = undefined;
    const box = view.box;
    view.box = undefined;
    if (e.type === 'pointerup' && editor && box) void objectIn(editor, box, g.erase);
  } else if (g?.kind === 'level' && g.id === e.pointerId) {
    gesture = undefined;
    ui.levelLine.hidden = true;
    if (e.type === 'pointerup') levelAlong(g, e);
  } else if ((g?.kind === 'pan' || g?.kind === 'split') && g.id === e.pointerId) {
    gesture = undefined;
  } else if (g?.kind === 'pinch' && pointers.size < 2) {
    gesture = undefined;
  }
  stage.classList.remove('panning');
  refresh();
}
canvas.addEventListener('pointerup', pointerEnd);
canvas.addEventListener('pointercancel', pointerEnd);
canvas.addEventListener('pointerleave', (e) => {
  if (e.pointerType !== 'touch' && !gesture) {
    view.cursor = undefined;
    view.invalidate();
  }
});
canvas.addEventListener(
  'wheel',
  (e) => {
    if (!editor) return;
    e.preventDefault();
    // The preview's frame is drawn for the view as it stands: zooming waits for the panel to close.
    if (ui.straightenPanel.open) return;
    const p = local(e);
    // Trackpad pinches arrive as wheel events with ctrlKey; both zoom about the pointer.
    view.zoomAt(Math.exp(-e.deltaY * (e.ctrlKey ? 0.01 : 0.0015)), p.x, p.y);
    refresh();
  },
  { passive: false },
);

// ---------------------------------------------------------------------------------------------
// Running

function methodChoice(): { method: string; ensemble?: number } {
  const [method, ensemble] = ui.method.value.split(':');
  return { method, ensemble: ensemble ? Number(ensemble) : undefined };
}

async function run(): Promise<void> {
  if (!editor || running) return;
  if (mode === 'stylize' && !style) {
    setStatus('Open a style image first (Style…).', 'error');
    return;
  }
  if (mode === 'remove' && !editor.hasMask) {
    setStatus('Paint over what should go first.', 'error');
    return;
  }
  const ed = editor;
  // Run pressed with Straighten's panel open: the panel goes, the photo as it stands is filled.
  closeStraighten();
  const controller = new AbortController();
  running = controller;
  refresh();
  const started = performance.now();
  let phase = 'Uploading';
  const tick = setInterval(async () => {
    if (phase === 'Uploading') return;
    const q = await queueState();
    const ahead = q && q.waiting > 0 ? ` · ${q.waiting} waiting in the server's queue` : '';
    const estimate = q && q.meanSeconds > 0 ? ` (usually ${q.meanSeconds.toFixed(1)} s)` : '';
    if (running === controller) setStatus(`${phase}… ${((performance.now() - started) / 1000).toFixed(0)} s${estimate}${ahead}`, 'busy');
  }, 1000);
  const onProgress = (p: Progress) => {
    ui.progress.hidden = false;
    const bar = ui.progress.firstElementChild as HTMLElement;
    if (p.phase === 'upload') {
      ui.progress.classList.remove('indeterminate');
      bar.style.width = `${Math.round(p.fraction * 100)}%`;
      setStatus(`Uploading… ${Math.round(p.fraction * 100)}%`, 'busy');
    } else {
      phase = mode === 'stylize' ? 'Stylizing' : 'Inpainting';
      ui.progress.classList.add('indeterminate');
      bar.style.width = '';
      setStatus(`${phase}…`, 'busy');
    }
  };
  try {
    if (engine === 'device') {
      try {
        await runOnDevice(ed, controller, started);
        return;
      } catch (err) {
        // A worker that cannot start leaves the server (loadDevice switched to it); anything else is the run's error.
        if (!(err instanceof WorkerStartError) || device !== undefined) throw err;
      }
    }
    onProgress({ phase: 'upload', fraction: 0 });
    let result;
    let ignored = '';
    if (mode === 'stylize') {
      result = await runStylize({ content: ed.imageBlob, contentName: ed.name, style: style!.blob, styleName: style!.name, size: Number(ui.styleSize.value) }, onProgress, controller.signal);
    } else {
      const mask = await ed.maskLayerPng();
      const choice = methodChoice();
      // The steering layers, when painted, go with ours (and its ensembles) only: nothing else copies patches.
      const steering: { sampleFrom?: Blob; exclude?: Blob } = {};
      for (const l of ['sampleFrom', 'exclude'] as const) {
        if (!ed.isPainted(l)) continue;
        if (choice.method === 'ours') steering[l] = await ed.maskLayerPng(l);
        else ignored = ` The sample-from and exclude areas apply to Ours only: ${ui.method.selectedOptions[0]?.textContent ?? choice.method} ignored them.`;
      }
      result = await runInpaint({ image: ed.imageBlob, imageName: ed.name, mask, ...choice, ...steering, sources: choice.method === 'ours' }, onProgress, controller.signal);
    }
    const bitmap = await createImageBitmap(result.blob);
    if (bitmap.width !== ed.width || bitmap.height !== ed.height) throw new Error(`the server answered a ${bitmap.width}×${bitmap.height} image for a ${ed.width}×${ed.height} photo`);
    await view.prepare(bitmap, ed.previewScale);
    const sources = result.sources && (await createImageBitmap(result.sources));
    ed.addResult(bitmap, result.blob, sources);
    sources?.close();
    const notes = result.notices.length ? ` Note: ${result.notices.join('; ')}` : '';
    setStatus(`Done in ${result.seconds.toFixed(1)} s. Hold C (or Compare) to see the before; ${mode === 'stylize' ? 'Ctrl+Z undoes it' : 'paint again to touch up'}.${ignored}${notes}`, 'done');
  } catch (err) {
    if ((err as Error).name === 'AbortError') setStatus(engine === 'device' ? 'Cancelled.' : 'Cancelled. (If the server had already started, it finishes and drops the result.)');
    else setStatus((err as Error).message, 'error');
  } finally {
    clearInterval(tick);
    running = undefined;
    ui.progress.hidden = true;
    refresh();
  }
}

/**
 * The photo as stored, in the colour space of its ICC profile (an iPhone's Display P3), and that
 * profile: a fill on the device is made there and its PNG carries the profile, as the server's
 * does, so no colour of the photo is clipped to sRGB. A HEIC's comes from the PNG libheif's pixels
 * were put in (`Editor.asStored`). Undefined for a photo without an RGB profile: it is filled as
 * shown, in sRGB.
 */
async function ownColours(ed: Editor): Promise<{ image: ImageBitmap; icc: Uint8Array } | undefined> {
  const blob = ed.lastRun?.blob ?? ed.asStored ?? ed.originalBlob;
  const icc = await rgbProfileOf(new Uint8Array(await blob.arrayBuffer()));
  if (!icc) return undefined;
  const image = await createImageBitmap(blob, { colorSpaceConversion: 'none', imageOrientation: 'from-image' }).catch(() => undefined);
  if (image && (image.width !== ed.width || image.height !== ed.height)) {
    image.close();
    return undefined;
  }
  return image && { image, icc };
}

/** A run in the device worker: the model loads first if it has not (with the download's bar). */
async function runOnDevice(ed: Editor, controller: AbortController, started: number): Promise<void> {
  if (ed.width * ed.height > DEVICE_MAX_PIXELS) {
    throw new Error(`The photo has ${((ed.width * ed.height) / 1e6).toFixed(0)} megapixels; on this device at most ${DEVICE_MAX_PIXELS / 1e6} (switch to the server, or open a smaller photo).`);
  }
  const phase = mode === 'stylize' ? 'Stylizing' : 'Inpainting';
  // Where a fill stands: its steps (one scale of the pyramid each) fill the progress bar.
  let step = '';
  const busy = () => setStatus(`${phase} on this device…${step} ${((performance.now() - started) / 1000).toFixed(0)} s`, 'busy');
  const onStep = (s: DeviceStep) => {
    lastDeviceStep = s;
    if (running !== controller || s.done === s.total) return;
    step = ` step ${s.done + 1} of ${s.total} (${s.scale} px),`;
    ui.progress.classList.remove('indeterminate');
    (ui.progress.firstElementChild as HTMLElement).style.width = `${Math.round((100 * s.done) / s.total)}%`;
    busy();
  };
  // A region's coarser scales, over its hole while the finer ones run (a large photo's fill takes tens of seconds here).
  const onPreview = (p: DevicePreview) => {
    lastDevicePreview = { box: p.box, scale: p.scale, width: p.image.width, height: p.image.height };
    if (running === controller) view.showPreview(p.image, p.box, ed.layers.hole.canvas);
  };
  const tick = setInterval(() => {
    if (running === controller && deviceState.state === 'ready') busy();
  }, 1000);
  try {
    if (deviceState.state !== 'ready') setStatus('Loading the model on this device…', 'busy');
    // Cancel ends the run at once; the download goes on for the next one.
    const cancelled = new Promise<never>((_, reject) => controller.signal.addEventListener('abort', () => reject(new DOMException('cancelled', 'AbortError')), { once: true }));
    cancelled.catch(() => undefined);
    await Promise.race([loadDevice(), cancelled]);
    const runStarted = performance.now();
    setStatus(`${phase} on this device…`, 'busy');
    ui.progress.hidden = false;
    ui.progress.classList.add('indeterminate');
    let result;
    let ignored = '';
    if (mode === 'stylize') {
      result = await device!.stylize({ content: ed.image, style: style!.blob, size: Number(ui.styleSize.value) }, controller.signal);
    } else {
      const choice = methodChoice();
      const name = ui.method.selectedOptions[0]?.textContent ?? choice.method;
      if (choice.method !== 'ours' && choice.method !== 'patchmatch') throw new Error(`${name} runs on the server only: choose Ours or PatchMatch, or switch to the server.`);
      const steering: { sampleFrom?: HTMLCanvasElement; exclude?: HTMLCanvasElement } = {};
      for (const l of ['sampleFrom', 'exclude'] as const) {
        if (!ed.isPainted(l)) continue;
        if (choice.method === 'ours') steering[l] = ed.layers[l].canvas;
        else ignored = ` The sample-from and exclude areas apply to Ours only: ${name} ignored them.`;
      }
      lastDeviceStep = undefined;
      lastDevicePreview = undefined;
      const own = await ownColours(ed);
      result = await device!.fill({ image: own?.image ?? ed.image, icc: own?.icc, mask: ed.mask, ensemble: choice.ensemble, method: choice.method, ...steering, sourcesSide: PREVIEW_SIDE }, controller.signal, { onStep, onPreview });
      own?.image.close();
      // The worker's bitmap holds the stored values; drawn, they need the profile its PNG carries.
      if (own) result = { ...result, image: await createImageBitmap(result.blob) };
    }
    if (result.image.width !== ed.width || result.image.height !== ed.height) throw new Error(`the worker answered a ${result.image.width}×${result.image.height} image for a ${ed.width}×${ed.height} photo`);
    await view.prepare(result.image, ed.previewScale);
    ed.addResult(result.image, result.blob, result.sources);
    result.sources?.close();
    lastDeviceRunSeconds = (performance.now() - runStarted) / 1000;
    const notes = result.notices.length ? ` Note: ${result.notices.join('; ')}` : '';
    setStatus(`Done in ${result.seconds.toFixed(1)} s on this device. Hold C (or Compare) to see the before; ${mode === 'stylize' ? 'Ctrl+Z undoes it' : 'paint again to touch up'}.${ignored}${notes}`, 'done');
  } finally {
    clearInterval(tick);
    view.clearPreviews();
  }
}

function showLoad(p: LoadProgress): void {
  deviceState.downloaded = p.loaded;
  deviceState.total = p.total;
  const bar = ui.loadProgress.firstElementChild as HTMLElement;
  ui.loadProgress.hidden = p.total === 0;
  bar.style.width = `${p.total ? Math.round((100 * p.loaded) / p.total) : 0}%`;
  const mb = (n: number) => (n / 1e6).toFixed(1);
  ui.engineStatus.textContent = p.total ? `Downloading the model: ${mb(p.loaded)} / ${mb(p.total)} MB` : 'Loading the model…';
}

/** Loads the model in the device worker once (downloads what the cache lacks); shows its progress. */
async function loadDevice(): Promise<void> {
  if (!device) throw new Error('this page cannot run on the device');
  if (deviceState.state !== 'ready') {
    deviceState.state = 'loading';
    ui.engineStatus.textContent = 'Loading the model…';
  }
  try {
    const r = await device.load(showLoad);
    deviceState.downloaded = r.downloaded;
    deviceState.backend = r.backend;
    deviceState.threads = r.threads;
    deviceState.loadSeconds = r.seconds;
    // Said again after every (re)load: a cancelled run's worker is replaced by one loading from the cache.
    const how = r.backend === 'webgpu' ? 'WebGPU' : r.threads ? 'WASM, threads' : 'WASM, one thread';
    const notes = r.notices.length ? ` Note: ${r.notices.join('; ')}` : '';
    ui.engineStatus.textContent = `Model ready on this device (${how}; ${r.downloaded ? `${(r.downloaded / 1e6).toFixed(1)} MB downloaded` : 'from the cache'} in ${r.seconds.toFixed(1)} s).${notes}`;
    deviceState.state = 'ready';
  } catch (err) {
    deviceState.state = 'error';
    deviceState.message = (err as Error).message;
    if (err instanceof WorkerStartError && deviceConfig?.mode !== 'static') {
      // The browser cannot run the worker: the server takes the runs, as when the checks at start fail.
      device = undefined;
      engine = 'server';
      ui.engineStatus.textContent = `Runs on the server: ${err.message}.`;
      refresh();
      throw err;
    }
    ui.engineStatus.textContent = `The model could not be loaded on this device: ${(err as Error).message}${deviceConfig?.mode === 'static' ? '' : ' (the server can run it: On the server)'}`;
    throw err;
  } finally {
    ui.loadProgress.hidden = true;
  }
}

function setEngine(next: 'device' | 'server', remember = true): void {
  if (running || (next === 'device' && !device) || (next === 'server' && deviceConfig?.mode === 'static')) return;
  engine = next;
  if (remember) rememberChoice('inpaint-engine', next);
  if (next === 'device' && !DEVICE_METHODS.has(ui.method.value)) ui.method.value = 'ours';
  if (next === 'device') {
    if (editor) void loadDevice().catch(() => undefined);
    if (deviceState.state !== 'ready') ui.engineStatus.textContent = 'Runs on this device: the photo stays in the browser.';
  } else ui.engineStatus.textContent = 'Runs on the server.';
  refresh();
}

/**
 * Chooses where runs happen: the device when config.json offers it and this browser can (the
 * default), else the server, with a notice saying why. Registers the service worker (offline use,
 * and isolation headers where the host sends none).
 */
async function startEngines(): Promise<void> {
  deviceConfig = await readDeviceConfig();
  const why = deviceUnsupported(deviceConfig);
  if (deviceConfig?.mode === 'static') {
    ui.engineServer.title = 'There is no server: this is a static copy of the page';
  }
  if (!why) {
    try {
      device = new DeviceEngine(deviceConfig!);
      deviceState.state = 'idle';
      device.onUnload = () => {
        deviceState.state = 'idle';
        if (engine === 'device') ui.engineStatus.textContent = 'The model was unloaded after a while unused, to free memory; the next run loads it again from the cache.';
      };
    } catch (err) {
      deviceState.message = (err as Error).message;
    }
  }
  if (deviceConfig && 'serviceWorker' in navigator) {
    const controlled = navigator.serviceWorker.controller !== null;
    navigator.serviceWorker.register('sw.js').catch(() => undefined);
    // A static host sends no isolation headers: the service worker adds them, from the first load it controls.
    // Once per tab (sessionStorage); where storage is refused, never, rather than reloading in a loop.
    let reloaded: string | null = '1';
    try {
      reloaded = sessionStorage.getItem('inpaint-isolation-reload');
    } catch {
      // storage refused
    }
    if (!crossOriginIsolated && !controlled && deviceConfig.mode === 'static' && !reloaded) {
      navigator.serviceWorker.addEventListener('controllerchange', () => {
        sessionStorage.setItem('inpaint-isolation-reload', '1');
        if (!running && !editor && !opening) location.reload();
      });
    }
  }
  const wanted = new URLSearchParams(location.search).get('engine') ?? remembered('inpaint-engine');
  if (device) setEngine(wanted === 'server' && deviceConfig?.mode !== 'static' ? 'server' : 'device', false);
  else {
    engine = 'server';
    const msg = `Runs on the server: ${why ?? deviceState.message}.`;
    ui.engineStatus.textContent = deviceConfig?.mode === 'static' ? `This page cannot run here: ${why ?? deviceState.message}.` : msg;
  }
  refresh();
}

ui.run.onclick = () => void run();
ui.engineDevice.onclick = () => setEngine('device');
ui.engineServer.onclick = () => setEngine('server');
ui.cancel.onclick = () => running?.abort();

// ---------------------------------------------------------------------------------------------
// Compare, download, history, help

function toggleSplit(on = view.split === undefined): void {
  view.split = on ? 0.5 : undefined;
  ui.split.setAttribute('aria-pressed', String(on));
  view.invalidate();
}

/** Shows (or hides) where the last fill copied from, and says what to do about a wrong source. */
function toggleSources(on = !view.showSources): void {
  if (on && editor?.lastRun?.sources === undefined) return;
  view.showSources = on;
  ui.sources.setAttribute('aria-pressed', String(on));
  ui.rerunElsewhere.hidden = !on;
  if (on) setStatus('Yellow: where the last fill copied from. Took the wrong thing? Undo (Ctrl+Z), paint Exclude (3) over that place and Run again; or Fill again elsewhere, never copying from any of it.');
  view.invalidate();
}

/** Undoes the last fill and fills again with where it copied from excluded (as an Exclude area, undoable). */
function rerunElsewhere(): void {
  const ed = editor;
  const area = ed?.lastSources;
  if (!ed || !area || running) return;
  toggleSources(false);
  ed.undo();
  ed.paintArea(area, 'exclude', false);
  refresh();
  void run();
}

function holdBefore(on: boolean): void {
  view.showBefore = on && editor?.lastRun !== undefined;
  view.invalidate();
}
ui.compare.addEventListener('pointerdown', () => holdBefore(true));
for (const ev of ['pointerup', 'pointerleave', 'pointercancel']) ui.compare.addEventListener(ev, () => holdBefore(false));
ui.split.onclick = () => toggleSplit();
ui.sources.onclick = () => toggleSources();
ui.rerunElsewhere.onclick = rerunElsewhere;
ui.fit.onclick = () => {
  view.fit();
  refresh();
};

function save(blob: Blob, name: string): void {
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
}

/**
 * `image` (a PNG or JPEG of the photo's size) with the photo's EXIF and XMP, as the command line
 * and the server keep them: the date, camera and place, upright, without the thumbnail
 * (`cleanExif`); the title, caption, keywords, creator and copyright (`cleanXmp`, or made from
 * the IPTC record where the photo has no XMP: `iptcAsXmp`); and in a JPEG its IPTC-IIM record
 * (`cleanIptc`: PNG has no place for it). Where the image has them already (the server's PNG),
 * it is left as it is.
 */
function withPhotoMetadata(ed: Editor, image: Blob, format: 'png' | 'jpeg'): Promise<Blob> {
  return withMetadataOf(metadataSource(ed), ed.width, ed.height, image, format);
}

/**
 * The file whose metadata an editor's downloads keep: the photo opened, or for a photo made from
 * one on the page (straightened, given a border) the file that one came from (`OpenOptions.metadataFrom`).
 */
const metadataFrom = new WeakMap<Editor, Blob>();
const metadataSource = (ed: Editor): Blob => metadataFrom.get(ed) ?? ed.originalBlob;

/** `image` (a PNG or JPEG of `width` x `height` pixels) with the metadata of the photo `source`, as `withPhotoMetadata` says. */
async function withMetadataOf(source: Blob, width: number, height: number, image: Blob, format: 'png' | 'jpeg'): Promise<Blob> {
  const original = new Uint8Array(await source.arrayBuffer());
  const exif = exifOf(original);
  const cleanedExif = exif && cleanExif(exif, width, height);
  let cleanedXmp: string | undefined;
  try {
    const xmp = await xmpOf(original);
    cleanedXmp = xmp === undefined ? undefined : cleanXmp(xmp);
  } catch {
    cleanedXmp = undefined; // not well formed: left out, as the command line does
  }
  const iptc = iptcOf(original);
  const cleanedIptc = iptc && cleanIptc(iptc);
  // Described in IIM alone: the same in XMP, which the PNG keeps too (as `readMetadata` does).
  const fromIptc = cleanedIptc && !cleanedXmp ? iptcAsXmp(cleanedIptc) : undefined;
  if (fromIptc) cleanedXmp = cleanXmp(fromIptc);
  if (!cleanedExif && !cleanedXmp && !cleanedIptc) return image;
  let bytes: Uint8Array = new Uint8Array(await image.arrayBuffer());
  if (cleanedExif) bytes = withExif(bytes, format, cleanedExif, width, height);
  if (cleanedXmp) bytes = await withXmp(bytes, format, cleanedXmp);
  if (cleanedIptc && format === 'jpeg') bytes = withIptc(bytes, 'jpeg', cleanedIptc);
  return new Blob([bytes as Uint8Array<ArrayBuffer>], { type: image.type });
}

/**
 * The file Download saves: the result as PNG or JPEG (`kind`), with the photo's metadata, or the
 * mask. A photo with a colour profile is encoded from its stored values, with that profile.
 */
async function resultFile(ed: Editor, kind: string): Promise<File> {
  const stem = ed.name.replace(/\.[^.]+$/, '') || 'photo';
  const file = (blob: Blob, name: string) => new File([blob], name, { type: blob.type });
  if (kind === 'mask') return file(await ed.maskPng(), `${stem}-mask.png`);
  const run = ed.lastRun;
  // The run's PNG as it came (exact pixels, its profile); otherwise the picture re-encoded at its full size.
  if (kind === 'png' && run) return file(await withPhotoMetadata(ed, run.blob, 'png'), `${stem}-inpainted.png`);
  const own = await ownColours(ed);
  const canvas = document.createElement('canvas');
  canvas.width = ed.width;
  canvas.height = ed.height;
  canvas.getContext('2d')!.drawImage(own?.image ?? ed.image, 0, 0);
  own?.image.close();
  const format = kind === 'jpeg' ? 'jpeg' : 'png';
  let blob = await toBlob(canvas, `image/${format}`, 0.95);
  if (own) blob = new Blob([(await withRgbProfile(new Uint8Array(await blob.arrayBuffer()), format, own.icc)) as Uint8Array<ArrayBuffer>], { type: blob.type });
  return file(await withPhotoMetadata(ed, blob, format), `${stem}-inpainted.${format === 'jpeg' ? 'jpg' : 'png'}`);
}

/** The result (or the mask) has left the page: the work kept for a restore is no longer needed. */
function resultSaved(ed: Editor, kind: string): void {
  if (kind === 'mask') return;
  downloaded = ed.image;
  keepWork();
}

async function download(): Promise<void> {
  if (!editor) return;
  const ed = editor;
  const kind = ui.downloadFormat.value;
  resultSaved(ed, kind);
  const file = await resultFile(ed, kind);
  save(file, file.name);
}
ui.download.onclick = () => void download();

/** Whether this browser shares files with other apps (a phone's share sheet; not Chromium on Linux). */
const canShareFiles = (() => {
  try {
    return typeof navigator.share === 'function' && navigator.canShare?.({ files: [new File([new Uint8Array(1)], 'x.png', { type: 'image/png' })] }) === true;
  } catch {
    return false;
  }
})();
ui.share.hidden = !canShareFiles;

/** Hands the result (as Download would save it) to another app through the system's share sheet. */
async function share(): Promise<void> {
  if (!editor || !canShareFiles) return;
  const ed = editor;
  const kind = ui.downloadFormat.value;
  const file = await resultFile(ed, kind);
  try {
    await navigator.share({ files: [file] });
    resultSaved(ed, kind);
    setStatus(`Shared ${file.name}.`);
  } catch (err) {
    // The sheet closed without a choice: nothing happened.
    if ((err as Error).name !== 'AbortError') setStatus(`Could not share ${file.name} (${(err as Error).message}): download it instead.`, 'error');
  }
  refresh();
}
ui.share.onclick = () => void share();

/**
 * Copies the result to the clipboard as PNG (the format every clipboard takes), to paste into a
 * message or a document. The work kept in the browser stays: a clipboard is no copy to rely on.
 */
async function copyResult(): Promise<void> {
  if (!editor || running) return;
  const ed = editor;
  try {
    const file = await resultFile(ed, 'png');
    await navigator.clipboard.write([new ClipboardItem({ 'image/png': file })]);
    setStatus(`Copied the ${ed.lastRun ? 'result' : 'photo'} (${ed.width}×${ed.height} PNG): paste it anywhere.`);
  } catch (err) {
    setStatus(`Could not copy to the clipboard (${(err as Error).message}): download it instead.`, 'error');
  }
}

// Closing or reloading the tab with a result not downloaded, or during a run, asks first (the browser's own prompt).
window.addEventListener('beforeunload', (e) => {
  if (!unsavedResult() && !running) return;
  e.preventDefault();
  e.returnValue = ''; // for browsers before preventDefault was honoured here
});

function undo(): void {
  if (editor && !running && editor.undo()) setStatus('Undone.');
  refresh();
}
function redo(): void {
  if (editor && !running && editor.redo()) setStatus('Redone.');
  refresh();
}
ui.undo.onclick = undo;
ui.redo.onclick = redo;
/** Grows the hole by a step that suits the photo's size: 4 px at 800, 20 at 4000. */
function growHole(): void {
  if (!editor || running || mode !== 'remove') return;
  const radius = Math.max(2, Math.round(Math.max(editor.width, editor.height) / 200));
  if (editor.growHole(radius)) setStatus(`Hole grown by ${radius} px (G again for more; Ctrl+Z undoes).`);
  refresh();
}
ui.grow.onclick = growHole;
ui.clear.onclick = () => {
  editor?.clear(layer);
  refresh();
};
for (const l of LAYERS) ui.layers[l].onclick = () => setLayer(l);
ui.modeRemove.onclick = () => setMode('remove');
ui.modeStylize.onclick = () => setMode('stylize');
for (const t of TOOLS) ui.tools[t].onclick = () => setTool(t);
function setAutoRun(on: boolean): void {
  autoRun = on;
  rememberChoice('inpaint-auto-run', on ? '1' : '0');
  ui.autoRun.setAttribute('aria-pressed', String(on));
  if (editor && mode === 'remove') setStatus(on ? 'Auto: each stroke or lasso on the hole runs as soon as it is let go.' : 'Auto off: paint the hole, then Run.');
}
ui.autoRun.onclick = () => setAutoRun(!autoRun);
ui.autoRun.setAttribute('aria-pressed', String(autoRun));
ui.size.oninput = () => setBrushSize(brushSize());
ui.tolerance.oninput = () => setTolerance(tolerance());
ui.help.onclick = () => ui.helpDialog.showModal();

window.addEventListener('keydown', (e) => {
  if (ui.helpDialog.open) return;
  // The Straighten panel has the keys meanwhile (its inputs; Enter applies); Esc cancels it.
  if (ui.straightenPanel.open) {
    if (e.key === 'Escape') {
      e.preventDefault();
      closeStraighten('Straighten cancelled: the photo is unchanged.');
    } else if (e.key === 'Enter' && !(e.target as HTMLElement).matches('button, input[type="number"]')) {
      // A number field submits the form itself, a button is pressed; elsewhere (the slider) Enter applies too.
      e.preventDefault();
      void applyStraighten();
    }
    return;
  }
  if ((e.target as HTMLElement).tagName === 'SELECT' || (e.target as HTMLElement).tagName === 'INPUT') return;
  const mod = e.ctrlKey || e.metaKey;
  const key = e.key.toLowerCase();
  if (mod && key === 'z') {
    e.preventDefault();
    if (e.shiftKey) redo();
    else undo();
  } else if (mod && key === 'y') {
    e.preventDefault();
    redo();
  } else if (mod && key === 'o') {
    e.preventDefault();
    ui.file.click();
  } else if (mod && key === 's') {
    e.preventDefault();
    void download();
  } else if (mod && key === 'c' && !e.shiftKey && !window.getSelection()?.toString()) {
    // Ctrl+C copies the result, unless text is selected (copying that stays the browser's).
    e.preventDefault();
    void copyResult();
  } else if (mod) {
    return;
  } else if (e.key === ' ') {
    e.preventDefault();
    if (!spaceDown) {
      spaceDown = true;
      refresh();
    }
  } else if (e.key === '[') {
    if (tool === 'wand') setTolerance(tolerance() - 4);
    else setBrushSize(brushSize() / 1.2);
  } else if (e.key === ']') {
    if (tool === 'wand') setTolerance(tolerance() + 4);
    else setBrushSize(brushSize() * 1.2 + 1);
  }
  else if (e.key === '1' || e.key === '2' || e.key === '3') setLayer(LAYERS[Number(e.key) - 1]);
  else if (key === 'r') setMode('remove');
  else if (key === 'y') setMode('stylize');
  else if (key === 'b') setTool('brush');
  else if (key === 'l') setTool('lasso');
  else if (key === 'w') setTool('wand');
  else if (key === 'm') setTool('object');
  else if (key === 'a') setAutoRun(!autoRun);
  else if (key === 'g') growHole();
  else if (key === 't') {
    // Not typed into the angle, which the panel focuses.
    e.preventDefault();
    openStraighten();
  }
  else if (key === 'e') setTool('eraser');
  else if (key === 'c') holdBefore(true);
  else if (key === 's') toggleSplit();
  else if (key === 'o') toggleSources();
  else if (e.key === '0') {
    view.fit();
    refresh();
  } else if (e.key === '+' || e.key === '=') {
    view.zoomAt(1.25, view.width / 2, view.height / 2);
    refresh();
  } else if (e.key === '-') {
    view.zoomAt(0.8, view.width / 2, view.height / 2);
    refresh();
  } else if (e.key === 'Enter') void run();
  else if (e.key === 'Escape') running?.abort();
  else if (e.key === 'Delete' || e.key === 'Backspace') {
    if (editor?.hasPaint(layer)) {
      editor.clear(layer);
      refresh();
    }
  } else if (e.key === '?') ui.helpDialog.showModal();
});
window.addEventListener('keyup', (e) => {
  if (e.key === ' ') {
    spaceDown = false;
    refresh();
  } else if (e.key.toLowerCase() === 'c') holdBefore(false);
});
window.addEventListener('blur', () => {
  spaceDown = false;
  holdBefore(false);
  refresh();
});

/**
 * A photo handed to the installed app: shared to it from another app (the manifest's share_target:
 * the service worker keeps it and opens the page with `?shared`), or opened with it from the files
 * (the manifest's file_handlers, through the launch queue).
 */
async function openHandedPhoto(): Promise<void> {
  const params = new URLSearchParams(location.search);
  if (params.has('shared')) {
    params.delete('shared');
    const rest = params.toString();
    history.replaceState(null, '', location.pathname + (rest ? `?${rest}` : ''));
    const key = new URL('shared-photo', location.href).href;
    let shared: Response | undefined;
    try {
      const cache = await caches.open('inpaint-shared');
      shared = await cache.match(key);
      await cache.delete(key);
    } catch {
      shared = undefined; // no Cache Storage here (an insecure origin): nothing was shared to this page
    }
    if (shared) await openPhoto(await shared.blob(), decodeURIComponent(shared.headers.get('x-name') ?? '') || 'shared photo');
    else setStatus('The shared photo did not reach this page: open it with Open… instead.', 'error');
  }
  const launch = (window as { launchQueue?: { setConsumer(consumer: (params: { files: readonly FileSystemFileHandle[] }) => void): void } }).launchQueue;
  launch?.setConsumer(async ({ files }) => {
    const file = await files[0]?.getFile();
    if (file) await openPhoto(file, file.name);
  });
}

const started = startEngines();
void offerRestore();
void openHandedPhoto();

// For the browser test and for scripting the page from the console: where an image pixel is.
Object.assign(window, {
  inpaintPage: {
    imageToClient: (x: number, y: number) => view.toClient(x, y),
    get history() {
      return { canUndo: editor?.canUndo ?? false, canRedo: editor?.canRedo ?? false, runs: editor?.lastRun ? 1 : 0 };
    },
    /** Whether each layer holds paint, by its pixels. */
    get layers() {
      return Object.fromEntries(LAYERS.map((l) => [l, editor?.isPainted(l) ?? false]));
    },
    /** Whether the sources are shown, and where the last fill copied from: the pixels' count and box (`Editor.lastSources`). */
    get sources() {
      if (editor?.lastRun?.sources === undefined) return undefined;
      const area = editor.lastSources;
      return { shown: view.showSources, count: area ? areaSize(area) : 0, box: area && { x: area.x, y: area.y, width: area.width, height: area.height } };
    },
    /** Where the last fill copied from, as an area of the photo (`Editor.lastSources`; runs as a plain array). */
    get sourcesArea() {
      const area = editor?.lastSources;
      return area && { ...area, runs: [...area.runs] };
    },
    /** How many regions of a running fill show a preview. */
    get previews() {
      return view.fillPreviews;
    },
    /** Where runs happen, and the device model's state (downloaded bytes, load time, the last fill's last step and preview). */
    get engine() {
      return { engine, mode: deviceConfig?.mode, isolated: crossOriginIsolated, lastRunSeconds: lastDeviceRunSeconds, lastStep: lastDeviceStep, lastPreview: lastDevicePreview, ...deviceState };
    },
    /** Resolves once the engines are chosen (config.json read). */
    started,
    /** Stops the device worker after this many ms unused (default DEVICE_IDLE_MS). */
    set deviceIdleMs(ms: number) {
      if (device) device.idleMs = ms;
    },
  },
});

setBrushSize(brushSize());
refresh();
