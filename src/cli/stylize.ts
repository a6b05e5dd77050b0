/**
 * `inpaint stylize`: style transfer with the inpainting model's own networks (paper §4.4): the
 * library's `Inpainter.stylize` on one photo, or on every pair of a folder of photos and one style
 * or a folder of styles. Flags, output paths and the single mode's inputs are checked before the
 * model loads, so a typo costs no computation.
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { InpaintError, InputError, UsageError } from '../core/errors.ts';
import { formatFromPath, readImage, type RgbImage } from '../core/image.ts';
import { load, MAX_STYLE_SIZE, MAX_STYLIZE_SIZE, resolveStylizeOptions, STYLIZE_SIZE, type StylizeOptions } from '../inference/index.ts';
import { checkNotInput, checkWritableFile, checkWritableFolder, isFolder, listImages, resultPath, stemOf, writeResult } from './files.ts';
import { type Command, integer, number } from './args.ts';

export const stylizeCommand: Command = {
  summary: 'restyle a photo after another image, with the same networks (paper §4.4)',
  help: `Usage:
  inpaint stylize CONTENT --style STYLE [-o OUT] [options]
  inpaint stylize CONTENT --style STYLE_DIR -o OUT_DIR [options]
  inpaint stylize --input DIR --style STYLE|STYLE_DIR -o OUT_DIR [options]

Renders the CONTENT photo in the look of the STYLE image, with the inpainting model's own networks
and no training for the style (the paper's section 4.4): every 3x3 patch of the content's VGG19
relu3_1 features is replaced by the most similar patch of the style's (patch-swap with the style as
its only source, as in Chen and Schmidt's style-swap), and G2 (Feature2Image) renders the result.
Works on any two images: the content is processed at --size and the result resized to the
content's own size. What it does well and badly: docs/stylize.md.

With a folder of styles (or --input, a folder of contents), OUT_DIR receives one image per pair:
<content>.png for one style, <content>_<style>.png for a folder of styles. One line is printed per
pair; a failed pair does not stop the rest, and the exit code is then 1.

Options:
  --style PATH        the style image (JPEG, PNG, WebP, TIFF, GIF, AVIF or HEIC), or a folder of them
  -o, --out PATH      the output image (.png, .jpg, .webp or .tif), or the output folder; never an
                      input. Without it, one CONTENT's result goes beside it as <stem>-styled.<ext>
                      (-styled-2 and so on where that file exists: nothing is replaced); a folder
                      (one that exists, or a path ending in /) gets that name inside it
  --input DIR         a folder of content photos instead of CONTENT
  --size N            the working size: the content's longer side while it is matched and rendered
                      (${64} to ${MAX_STYLIZE_SIZE}, default ${STYLIZE_SIZE}, what the shipped G2 was trained at); larger keeps more
                      of the content's detail and makes the style's texture finer, at about 4x the
                      time per doubling
  --style-size N      the style's longer side when its patches are taken: the scale of its texture
                      (64 to ${MAX_STYLE_SIZE}, default --size up to ${MAX_STYLE_SIZE}); matching costs grow with its square
  --strength X        how much of the content's features is swapped, 0 to 1 (default 1): 1 is the
                      paper's style transfer, lower keeps more of the content, 0 is G2's rendering
                      of the content itself
  --model DIR         the model bundle folder (default: models/default of this package)
  --vgg FILE          the VGG19 weights (default: INPAINT_VGG_WEIGHTS, the cache, else downloaded once)
  --strip-metadata    leave the content's EXIF and XMP out of the result (by default its date,
                      camera and place are kept in the result, without its
                      thumbnail, and its title, caption, keywords, creator and copyright in any)

Exit codes: 0 done, 1 a file could not be read or written (or, with folders, some pair failed),
2 bad flags or arguments (including an output that would overwrite an input).

Examples:
  inpaint stylize photo.jpg --style painting.jpg -o styled.png
  inpaint stylize photo.jpg --style painting.jpg -o styled.png --size 512 --strength 0.7
  inpaint stylize --input photos/ --style styles/ -o gallery/`,
  run: runStylize,
};

/** One result to make. */
interface Job {
  content: string;
  style: string;
  out: string;
  /** Why it cannot be done (an output name two jobs share), found while planning. */
  problem?: string;
}

async function runStylize(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      style: { type: 'string' },
      out: { type: 'string', short: 'o' },
      input: { type: 'string' },
      size: { type: 'string' },
      'style-size': { type: 'string' },
      strength: { type: 'string' },
      model: { type: 'string' },
      vgg: { type: 'string' },
      'strip-metadata': { type: 'boolean' },
    },
  });
  if (positionals.length > 1) throw new UsageError(`Expected one CONTENT image but received ${positionals.length}: ${positionals.join(' ')} (use --input DIR for a folder)`);
  const [single] = positionals;
  if (single !== undefined && values.input !== undefined) throw new UsageError('give either CONTENT or --input DIR, not both');
  if (single === undefined && values.input === undefined) throw new UsageError('missing CONTENT (or --input DIR for a folder of photos)');
  if (!values.style) throw new UsageError('missing --style STYLE (an image, or a folder of images)');
  const options: StylizeOptions = {
    size: values.size === undefined ? undefined : integer(values.size, '--size'),
    styleSize: values['style-size'] === undefined ? undefined : integer(values['style-size'], '--style-size'),
    strength: values.strength === undefined ? undefined : number(values.strength, '--strength'),
  };
  resolveStylizeOptions(options);
  const keepMetadata = !(values['strip-metadata'] ?? false);

  const styleFolder = await isFolder(values.style);
  if (single !== undefined && !styleFolder) {
    const out = await resultPath(values.out, single, 'styled');
    formatFromPath(out);
    await checkNotInput([out], [single, values.style]);
    await checkWritableFile(out);
    // Read the inputs first: a bad file should fail before the model loads.
    const content = await readImage(single);
    const style = await readImage(values.style);
    const inpainter = await load({ bundle: values.model, vggWeights: values.vgg });
    try {
      for (const n of inpainter.notices) console.error(`warning: ${n}`);
      const { image, notices } = await inpainter.stylize(content, style, options);
      await writeResult(out, image, single, { keepMetadata, notices });
      for (const n of notices) console.error(`note: ${n}`);
      console.log(`${single} in the style of ${values.style} -> ${out}`);
    } finally {
      await inpainter.dispose();
    }
    return;
  }

  if (!values.out) throw new UsageError('missing -o OUT_DIR (the folder for the results)');
  const contents = single !== undefined ? [single] : (await listImages(values.input!, '--input')).map((f) => join(values.input!, f));
  const styles = styleFolder ? (await listImages(values.style, '--style')).map((f) => join(values.style!, f)) : [values.style];
  const outDir = values.out;
  const jobs = planJobs(contents, styles, outDir, styleFolder);
  await checkNotInput(
    jobs.map((j) => j.out),
    [...contents, ...styles],
  );
  await checkWritableFolder(outDir);
  const inpainter = await load({ bundle: values.model, vggWeights: values.vgg });
  for (const n of inpainter.notices) console.error(`warning: ${n}`);
  // Each style is decoded once; a style that cannot be read fails its pairs only.
  const decoded = new Map<string, Promise<RgbImage>>();
  const styleImage = (path: string) => {
    if (!decoded.has(path)) decoded.set(path, readImage(path));
    return decoded.get(path)!;
  };
  const failed: string[] = [];
  try {
    for (const [i, job] of jobs.entries()) {
      const tag = `[${i + 1}/${jobs.length}] ${stemOf(job.content)} x ${stemOf(job.style)}`;
      const started = performance.now();
      try {
        if (job.problem) throw new InputError(job.problem);
        const { image, notices } = await inpainter.stylize(job.content, await styleImage(job.style), options);
        await writeResult(job.out, image, job.content, { keepMetadata, notices });
        console.log(`${tag} -> ${job.out} (${((performance.now() - started) / 1000).toFixed(2)} s)`);
        for (const n of notices) console.log(`  note: ${n}`);
      } catch (err) {
        if (!(err instanceof InpaintError)) throw err;
        failed.push(`${stemOf(job.content)} x ${stemOf(job.style)}`);
        console.log(`${tag}: FAILED: ${err.message}`);
      }
    }
  } finally {
    await inpainter.dispose();
  }
  console.log(`${jobs.length - failed.length} of ${jobs.length} images stylized into ${outDir}`);
  if (failed.length > 0) throw new InputError(`${failed.length} of ${jobs.length} failed: ${failed.join(', ')}`);
}

/**
 * Every content with every style, written to `outDir/<content>.png` (one style file) or
 * `outDir/<content>_<style>.png` (a folder of styles). Pairs whose names collide are marked, not
 * dropped, so that they are reported.
 */
function planJobs(contents: readonly string[], styles: readonly string[], outDir: string, namedByStyle: boolean): Job[] {
  const jobs: Job[] = contents.flatMap((content) =>
    styles.map((style) => ({ content, style, out: join(outDir, `${stemOf(content)}${namedByStyle ? `_${stemOf(style)}` : ''}.png`) })),
  );
  const uses = new Map<string, number>();
  for (const j of jobs) uses.set(j.out, (uses.get(j.out) ?? 0) + 1);
  for (const j of jobs) if (uses.get(j.out)! > 1) j.problem = `another pair would also be written to ${j.out} (two inputs share a name stem)`;
  return jobs;
}
