// `npm run build:web [-- --out DIR] [--model DIR] [--vgg FILE]`: the page as a static folder
// (default dist-web/) that any static host can serve; see src/server/static.ts and docs/serve.md.
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_BUNDLE_DIR } from '../src/inference/inpainter.ts';
import { buildStatic, localVggWeights } from '../src/server/static.ts';

const { values } = parseArgs({ options: { out: { type: 'string', default: 'dist-web' }, model: { type: 'string' }, vgg: { type: 'string' } } });
const t0 = performance.now();
const vggWeights = await localVggWeights(values.vgg);
const built = await buildStatic({ out: resolve(values.out!), bundleDir: values.model ?? DEFAULT_BUNDLE_DIR, vggWeights });
console.log(`wrote ${built.out}: ${(built.bytes / 1e6).toFixed(1)} MB in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
if (!built.vggCopied) console.log(`no local VGG file: the page fetches ${built.config.vggUrl} at run time (see docs/serve.md on CORS)`);
console.log('serve it with the headers Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp, or let its service worker add them');
