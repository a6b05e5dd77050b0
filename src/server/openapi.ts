/** The API's OpenAPI 3.1 description, served at /api/v1/openapi.json. */
import { METHOD_NAMES } from '../baselines/index.ts';
import { READABLE_FORMATS } from '../core/image.ts';

const error = (description: string) => ({
  description,
  content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
});

/** A request body of `multipart/form-data` with these parts and fields, `required` among them. */
const form = (required: string[], properties: Record<string, object>) => ({
  required: true,
  content: { 'multipart/form-data': { schema: { type: 'object', required, properties } } },
});

/** The answers every queued endpoint may give: the limits, the form's type, the queue. */
const queued = {
  '413': error('a part over the byte limit, or an image over the pixel limit'),
  '415': error(`not multipart/form-data, or a part that is not a ${READABLE_FORMATS} image`),
  '503': {
    ...error('the queue is full (error "busy"), the time limit passed ("timeout"), or the server is shutting down'),
    headers: { 'Retry-After': { schema: { type: 'integer' }, description: 'seconds' } },
  },
};

export function openApiDocument(limits: { maxPixels: number; maxFileBytes: number; maxQueue: number }): object {
  return {
    openapi: '3.1.0',
    info: {
      title: 'contextual-inpaint',
      version: '1',
      description:
        'Fill the holes a mask marks in a photo (Song et al., "Contextual-based Image Inpainting: Infer, Match, and Translate", ECCV 2018). ' +
        `One inference runs at a time; up to ${limits.maxQueue} requests wait, more get 503 with Retry-After.`,
    },
    paths: {
      '/api/v1/inpaint': {
        post: {
          summary: 'Fill the holes of a photo',
          description:
            'Answers the filled image, the input\'s size with its EXIF orientation applied (wider with extend), in the input\'s format (or `format`), its alpha channel kept. ' +
            'Known pixels are the input\'s exactly (in PNG and TIFF; JPEG and WebP re-encode them at quality 95). ' +
            'The hole is the mask, the objects in the boxes of the field box, or both, and what rotate and extend leave empty. ' +
            'The header X-Inpaint-Notices holds a JSON array of notes (mask resized, mask empty, the pixels each box selected...).',
          requestBody: form(['image'], {
            image: { type: 'string', format: 'binary', description: `${READABLE_FORMATS}; at most ${limits.maxPixels} pixels and ${limits.maxFileBytes} bytes` },
            mask: { type: 'string', format: 'binary', description: 'the hole: white on black, or opaque on a transparent layer; the image\'s size unless resizeMask. Required unless box, rotate or extend is sent' },
            box: {
              type: 'string',
              examples: ['120,80,60,140', '120,80,60,140;300,40,50,50'],
              description:
                'instead of a mask, or with one: "X,Y,W,H", a box drawn around an object to remove (its left and top edges, its width and height, in the image\'s pixels with its EXIF orientation applied, as the mask\'s); ' +
                'several separated by ";". The hole is the object GrabCut tells from what surrounds each box, grown by 1% of the box\'s longer side (at least 2 px), united with the mask when one is sent; ' +
                'a notice says how many pixels each box took. 400 when a box is malformed, lies outside the image or covers all of it, or holds nothing that stands apart from its surroundings',
            },
            rotate: {
              type: 'number',
              minimum: -45,
              maximum: 45,
              examples: [-2.5],
              description:
                'straighten: turn the image this many degrees clockwise (negative: counter-clockwise) about its centre, keep its size, and fill the corners that leaves empty. ' +
                'The mask, the boxes, sampleFrom and exclude are in the image\'s pixels before the turn and turn with it. 400 past 45 degrees',
            },
            extend: {
              type: 'string',
              examples: ['40', '10%', '0,0,200,0', '4:5'],
              description:
                'add a border and fill it: "PX" or "P%" on every side (P% of the width at the left and right, of the height at the top and bottom), or "L,T,R,B" each side in turn, ' +
                'or "W:H", the border that gives the image that width to height (half on each of the two sides that need it; none for an image of that shape), after rotate. ' +
                `The mask, the boxes, sampleFrom and exclude are in the image's own pixels. 400 when malformed; 422 when a side would grow by more than the image is across it, or the answer would have more than ${limits.maxPixels} pixels`,
            },
            sampleFrom: {
              type: 'string',
              format: 'binary',
              description:
                'method ours only: a mask of the image\'s size (unless resizeMask) whose white pixels are the only ones the fill may copy from, as Content-Aware Fill\'s sampling area; ' +
                'only the crop around each hole is searched (the whole photo up to 512 px, else about 3x the hole). 422 when it lies entirely in the hole or holds no block of known pixels large enough to copy',
            },
            exclude: { type: 'string', format: 'binary', description: 'method ours only: a mask of the image\'s size (unless resizeMask) whose white pixels the fill never copies from (e.g. a second object of the kind removed)' },
            method: { type: 'string', enum: [...METHOD_NAMES], default: 'ours' },
            ensemble: { type: 'integer', enum: [1, 2, 4, 8], default: 1, description: 'ours, g1-only: average the fills of this many mirrored and turned copies' },
            dilate: { type: 'integer', minimum: 0, maximum: 256, default: 2, description: 'grow the hole by this many pixels first' },
            resizeMask: { type: 'boolean', default: false, description: 'resize a mask of another size instead of refusing it' },
            format: { type: 'string', enum: ['png', 'jpeg', 'webp', 'tiff'], description: "the answer's format; default the input's (PNG for GIF and AVIF)" },
            stripMetadata: { type: 'boolean', default: false, description: "answer without the image's EXIF and XMP; by default its date, camera and place are kept in the answer, never its thumbnail, and its XMP's title, caption, keywords, creator and copyright in any" },
            sources: {
              type: 'boolean',
              default: false,
              description:
                'method ours only: also answer where the fill copied its patches from, so that a fill that took the wrong thing can exclude that place on the next request; ' +
                'the answer is then multipart/form-data with the parts image (the filled image) and sources (a PNG mask, the image\'s size, white where the fill copied from)',
            },
          }),
          responses: {
            '200': {
              description: 'the filled image (with sources: multipart/form-data, the parts image and sources)',
              headers: {
                'X-Inpaint-Notices': { schema: { type: 'string' }, description: 'a JSON array of strings' },
                'X-Inpaint-Seconds': { schema: { type: 'string' }, description: 'the time the request took, waiting included' },
              },
              content: { 'image/png': {}, 'image/jpeg': {}, 'image/webp': {}, 'image/tiff': {}, 'multipart/form-data': {} },
            },
            '400': error(
              'a missing or repeated part (neither mask nor box), an unknown field, a bad option value, an option for another method (ensemble for a baseline; sampleFrom, exclude or sources for any method but ours); ' +
                'a box that is malformed, outside the image or over all of it, or in which nothing stands apart from its surroundings',
            ),
            ...queued,
            '422': error(
              'a corrupt image; a mask, sampleFrom or exclude of another size (without resizeMask); a hole that leaves nothing to copy from; a sampleFrom that lies entirely in the hole, or an allowed area too small to copy from',
            ),
          },
        },
      },
      '/api/v1/select': {
        post: {
          summary: 'The mask of the objects in boxes drawn around them',
          description:
            'Answers a PNG mask of the image\'s size (EXIF orientation applied), white where GrabCut finds the object in each box: what in it stands apart from a ring around it, grown by 1% of the box\'s longer side (at least 2 px). ' +
            'It is the hole /api/v1/inpaint fills for the same box, before its dilate: to show a selection before a fill, or to touch it up. In the same queue, with the same limits, as /api/v1/inpaint. ' +
            'The header X-Inpaint-Notices says how many pixels each box selected.',
          requestBody: form(['image', 'box'], {
            image: { type: 'string', format: 'binary', description: `${READABLE_FORMATS}; at most ${limits.maxPixels} pixels and ${limits.maxFileBytes} bytes` },
            box: { type: 'string', description: '"X,Y,W,H" in the image\'s pixels (after its EXIF orientation): a box drawn around each object; several separated by ";"', examples: ['120,80,60,140'] },
          }),
          responses: {
            '200': { description: 'the mask', headers: { 'X-Inpaint-Notices': { schema: { type: 'string' }, description: 'a JSON array of strings' } }, content: { 'image/png': {} } },
            '400': error('a missing or repeated part, an unknown field, a malformed box, a box outside the image or over all of it, or one in which nothing stands apart'),
            ...queued,
            '422': error('a corrupt image'),
          },
        },
      },
      '/api/v1/stylize': {
        post: {
          summary: 'Render a photo in the texture of a style image',
          description:
            "Style transfer with the same networks (paper §4.4): every 3x3 patch of the content's VGG features is swapped for the most similar patch of the style's, and G2 renders the result. " +
            "Answers the stylized content at the content's size (EXIF orientation applied), in the content's format (or `format`). In the same queue, with the same limits and errors, as /api/v1/inpaint.",
          requestBody: form(['content', 'style'], {
            content: { type: 'string', format: 'binary', description: `the photo to render; ${READABLE_FORMATS}; at most ${limits.maxPixels} pixels and ${limits.maxFileBytes} bytes` },
            style: { type: 'string', format: 'binary', description: 'the image whose patches are copied (a painting, a texture); any size' },
            size: { type: 'integer', minimum: 64, maximum: 2048, default: 256, description: "the working size: the content's longer side while matching and rendering (cost about its square)" },
            strength: { type: 'number', minimum: 0, maximum: 1, default: 1, description: "1: the style's patches alone; 0: the content's own features; between, their mean" },
            format: { type: 'string', enum: ['png', 'jpeg', 'webp', 'tiff'], description: "the answer's format; default the content's (PNG for GIF and AVIF)" },
            stripMetadata: { type: 'boolean', default: false, description: "answer without the content's EXIF and XMP; by default its date, camera and place are kept in the answer, never its thumbnail, and its XMP's title, caption, keywords, creator and copyright in any" },
          }),
          responses: {
            '200': { description: 'the stylized content', headers: { 'X-Inpaint-Notices': { schema: { type: 'string' }, description: 'a JSON array of strings' } }, content: { 'image/png': {}, 'image/jpeg': {}, 'image/webp': {}, 'image/tiff': {} } },
            '400': error('a missing or repeated part, an unknown field, a bad size, strength or stripMetadata'),
            ...queued,
            '422': error('a corrupt image'),
          },
        },
      },
      '/api/v1/health': { get: { summary: 'Status, the queue and memory', responses: { '200': { description: 'ok', content: { 'application/json': {} } } } } },
      '/api/v1/methods': { get: { summary: 'The methods and what they take', responses: { '200': { description: 'ok', content: { 'application/json': {} } } } } },
    },
    components: {
      schemas: {
        Error: {
          type: 'object',
          required: ['error', 'message'],
          properties: {
            error: { type: 'string', enum: ['bad_request', 'not_found', 'payload_too_large', 'unsupported_media_type', 'unprocessable', 'busy', 'timeout', 'internal'] },
            message: { type: 'string', description: 'what was wrong, in the words of the inpaint command' },
          },
        },
      },
    },
  };
}
