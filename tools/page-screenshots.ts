/**
 * Screenshots of the page for docs/serve.md, and a check that a 4000x3000 photo opens and runs
 * without freezing the page (the longest main-thread task is printed); the last one runs on this
 * device and shows a fill's preview.
 *
 *   node --import tsx tools/page-screenshots.ts [--out docs/images] [--model DIR]
 *
 * Needs Debian's chromium (/usr/bin/chromium) and the VGG weights; uses the default model.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { chromium, type Page } from 'playwright-core';
import sharp from 'sharp';
import { TEST_PHOTOS } from '../src/inference/testing.ts';
import { findVggWeights } from '../src/features/weights-location.ts';
import { createServer } from '../src/server/app.ts';
import { deviceAssets } from '../src/server/assets.ts';
import { Methods } from '../src/server/methods.ts';
import { CHROMIUM, CHROMIUM_ARGS } from '../src/server/testing.ts';

const { values } = parseArgs({ options: { out: { type: 'string', default: 'docs/images' }, model: { type: 'string' } } });
const scratch = await mkdtemp(join(tmpdir(), 'page-shots-'));
const vggWeights = await findVggWeights();
const methods = await Methods.load({ bundle: values.model, vggWeights });
// The page as `inpaint serve` gives it (the device mode's files too); the runs measured here are the server's (?engine=server).
const device = await deviceAssets({ bundleDir: methods.bundleDir, vggWeights, mode: 'server' });
const server = await createServer({ methods, device });
const address = await server.app.listen({ port: 0, host: '127.0.0.1' });
const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });

type Window = { inpaintPage: { imageToClient(x: number, y: number): { x: number; y: number } } };
/** Drags through `points` (image pixels); `beforeUp` runs with the button still down. */
async function stroke(page: Page, points: [number, number][], beforeUp?: () => Promise<unknown>): Promise<void> {
  const at = (x: number, y: number) => page.evaluate(([x, y]) => (globalThis as unknown as Window).inpaintPage.imageToClient(x, y), [x, y]);
  const first = await at(...points[0]);
  await page.mouse.move(first.x, first.y);
  await page.mouse.down();
  for (const p of points.slice(1)) {
    const c = await at(...p);
    await page.mouse.move(c.x, c.y, { steps: 8 });
  }
  await beforeUp?.();
  await page.mouse.up();
}
async function waitDone(page: Page): Promise<number> {
  const t = performance.now();
  await page.waitForFunction("['done', 'error'].includes(document.getElementById('status').dataset.state)", undefined, { timeout: 300_000 });
  return (performance.now() - t) / 1000;
}

/** A screenshot as a palette PNG: a quarter of the bytes, no visible difference. */
async function shoot(page: Page, name: string): Promise<void> {
  await writeFile(join(values.out!, name), await sharp(await page.screenshot()).png({ palette: true, quality: 90, effort: 8 }).toBuffer());
}

try {
  await mkdir(values.out!, { recursive: true });
  const page = await (await browser.newContext({ viewport: { width: 1280, height: 800 }, acceptDownloads: true })).newPage();
  // Opening the next photo over a result not downloaded asks first: yes.
  page.on('dialog', (d) => void d.accept());
  await page.goto(`${address}/?engine=server`);
  await shoot(page, 'serve-empty.png');

  // A photo at 800x600 with a stroke over the temple roof's top.
  const photo = join(scratch, 'china.jpg');
  await writeFile(photo, await sharp(join(TEST_PHOTOS, 'python3-sklearn/china.jpg')).resize(800, 600, { fit: 'fill' }).jpeg({ quality: 92 }).toBuffer());
  await page.setInputFiles('#file', photo);
  await page.waitForFunction("/Paint over/.test(document.getElementById('status').textContent)");
  await page.locator('#size').fill('28');
  await stroke(page, [[300, 250], [380, 235], [460, 250]]);
  await page.mouse.move(640, 400);
  await shoot(page, 'serve-paint.png');
  await page.click('#run');
  console.log(`800x600 run: ${(await waitDone(page)).toFixed(1)} s`);
  await page.click('#split');
  // Drag the split line into the filled stroke: before on its left, after on its right.
  const box = (await page.locator('#view').boundingBox())!;
  const line = { x: box.x + box.width / 2, y: box.y + box.height / 2 };
  const target = await page.evaluate(([x, y]) => (globalThis as unknown as Window).inpaintPage.imageToClient(x, y), [380, 240]);
  await page.mouse.move(line.x, line.y);
  await page.mouse.down();
  await page.mouse.move(target.x, line.y, { steps: 5 });
  await page.mouse.up();
  await page.mouse.move(box.x + box.width - 40, box.y + box.height - 40);
  await shoot(page, 'serve-split.png');
  await page.click('#split');
  // Where the fill copied from, in yellow.
  await page.keyboard.press('o');
  await shoot(page, 'serve-sources.png');
  await page.keyboard.press('o');
  await page.keyboard.press('?');
  await shoot(page, 'serve-help.png');
  await page.keyboard.press('Escape');

  // The steering layers: undo the run, paint an exclude area (blue) beside the red hole.
  await page.keyboard.press('Control+z');
  await page.keyboard.press('3');
  await page.locator('#size').fill('60');
  await stroke(page, [[120, 330], [260, 320], [360, 340]]);
  await page.mouse.move(640, 450);
  await shoot(page, 'serve-exclude.png');
  await page.keyboard.press('1');

  // The lasso: an outline around the island in the lake, shown while it is drawn.
  await page.keyboard.press('l');
  const outline: [number, number][] = [[515, 318], [545, 298], [600, 296], [640, 308], [645, 335], [600, 350], [540, 348], [512, 335]];
  await stroke(page, outline, () => shoot(page, 'serve-lasso.png'));
  await page.keyboard.press('Control+z');

  // The wand: one click on the island selects it.
  await page.keyboard.press('w');
  await page.locator('#tolerance').fill('24');
  const island = await page.evaluate(([x, y]) => (globalThis as unknown as Window).inpaintPage.imageToClient(x, y), [560, 326]);
  await page.mouse.click(island.x, island.y);
  await page.mouse.move(island.x + 60, island.y + 60);
  await shoot(page, 'serve-wand.png');
  await page.keyboard.press('Control+z');
  await page.keyboard.press('b');

  // The object tool: a box dragged around the girl wading on the left of a beach photo (photos-other)
  // selects her, red top, pink skin and dark trousers, from the sea around her.
  const beach = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
  await beach.goto(`${address}/?engine=server`);
  await beach.setInputFiles('#file', '../shared/data/photos-other/kphotoalbum/cold_water.jpg');
  await beach.waitForFunction("/Paint over/.test(document.getElementById('status').textContent)");
  // Zoomed in on her (a turn of the wheel about her).
  const girl = await beach.evaluate(([x, y]) => (globalThis as unknown as Window).inpaintPage.imageToClient(x, y), [40, 280]);
  await beach.mouse.move(girl.x, girl.y);
  await beach.mouse.wheel(0, -500);
  await beach.keyboard.press('m');
  await stroke(beach, [[6, 214], [62, 348]]);
  await beach.waitForFunction("/as the object in the box/.test(document.getElementById('status').textContent)");
  await beach.mouse.move(1200, 700);
  await shoot(beach, 'serve-object.png');
  // Straighten: the preview of the beach turned 3 degrees counter-clockwise, with 80 px more on the right.
  await beach.keyboard.press('Control+z');
  await beach.keyboard.press('t');
  await beach.locator('#straighten-degrees').fill('-3');
  await beach.locator('#extend-right').fill('80');
  await shoot(beach, 'serve-straighten.png');
  await beach.context().close();

  // On a phone held upright: the toolbar in one row that scrolls sideways, a stroke on the roof.
  const phone = await (await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true })).newPage();
  await phone.goto(`${address}/?engine=server`);
  await phone.setInputFiles('#file', photo);
  await phone.waitForFunction("/Paint over/.test(document.getElementById('status').textContent)");
  await phone.locator('#size').fill('28');
  await stroke(phone, [[300, 250], [380, 235], [460, 250]]);
  await phone.evaluate("document.querySelector('.toolbar').scrollLeft = 0"); // the size's input scrolled it
  await shoot(phone, 'serve-phone.png');
  await phone.context().close();

  // Stylize mode: the photo in the texture of a lantern festival photo.
  await page.click('#mode-stylize');
  const styleFile = join(scratch, 'lanterns.jpg');
  await writeFile(styleFile, await sharp(join(TEST_PHOTOS, 'enlightenment-data/Sea-of-Lanterns.jpg')).resize(512, 512, { fit: 'inside' }).jpeg({ quality: 92 }).toBuffer());
  await page.setInputFiles('#style-file', styleFile);
  await page.click('#run');
  console.log(`800x600 stylize: ${(await waitDone(page)).toFixed(1)} s`);
  await shoot(page, 'serve-stylize.png');
  await page.keyboard.press('r');

  // 4000x3000: open, paint, run; record the main thread's long tasks meanwhile.
  const big = join(scratch, 'big.jpg');
  await writeFile(big, await sharp(join(TEST_PHOTOS, 'enlightenment-data/Mountain.jpg')).resize(4000, 3000, { fit: 'fill' }).jpeg({ quality: 90 }).toBuffer());
  await page.evaluate("globalThis.longTasks = []; new PerformanceObserver((list) => list.getEntries().forEach((e) => globalThis.longTasks.push(e.duration))).observe({ type: 'longtask' })");
  const t0 = performance.now();
  await page.setInputFiles('#file', big);
  await page.waitForFunction("/4000×3000/.test(document.getElementById('info').textContent)");
  const openS = (performance.now() - t0) / 1000;
  const tasks = async (what: string) => {
    const list = await page.evaluate(() => (globalThis as unknown as { longTasks: number[] }).longTasks.splice(0));
    console.log(`4000x3000 ${what}: main-thread tasks over 50 ms: ${list.length}, longest ${Math.max(0, ...list).toFixed(0)} ms`);
  };
  await tasks(`open (${openS.toFixed(1)} s)`);
  await page.locator('#size').fill('120');
  const s0 = performance.now();
  await stroke(page, [[1800, 1400], [2300, 1450], [2600, 1500]]);
  await tasks(`stroke of 24 moves (${((performance.now() - s0) / 1000).toFixed(1)} s)`);
  await page.click('#run');
  const runS = await waitDone(page);
  await tasks(`run (${runS.toFixed(1)} s: ${await page.locator('#status').textContent()})`);
  await page.keyboard.press('Control+z');
  await page.waitForTimeout(300);
  await tasks('undo');
  await shoot(page, 'serve-large.png');

  // On this device: a 1600x1200 photo's fill at 256 px shown over the hole while 512, 1024 and 1600 run.
  const onDevice = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
  await onDevice.goto(`${address}/`);
  const wide = join(scratch, 'wide.jpg');
  await writeFile(wide, await sharp(join(TEST_PHOTOS, 'python3-sklearn/china.jpg')).resize(1600, 1200, { fit: 'fill' }).jpeg({ quality: 92 }).toBuffer());
  await onDevice.setInputFiles('#file', wide);
  await onDevice.waitForFunction("/Paint over/.test(document.getElementById('status').textContent)");
  await onDevice.locator('#size').fill('90');
  await stroke(onDevice, [[500, 500], [800, 470], [1000, 520], [1000, 700]]);
  await onDevice.mouse.move(1270, 790);
  await onDevice.click('#run');
  const d0 = performance.now();
  await onDevice.waitForFunction('window.inpaintPage.previews > 0', undefined, { timeout: 300_000, polling: 50 });
  const previewS = (performance.now() - d0) / 1000;
  await shoot(onDevice, 'serve-preview.png');
  console.log(`1600x1200 on this device: first preview after ${previewS.toFixed(1)} s (the model's load included), done after ${(previewS + (await waitDone(onDevice))).toFixed(1)} s: ${await onDevice.locator('#status').textContent()}`);
} finally {
  await browser.close();
  await server.close();
  await methods.dispose();
  await rm(scratch, { recursive: true, force: true });
}
