/**
 * Tokens that images, audio and files in a request are billed as, by the rules OpenAI publishes,
 * read from the media's own header bytes (never by tokenizing their base64, which counts a 300 KB
 * PNG as 280,000 tokens where OpenAI bills a few hundred).
 *
 * Sources (stored copies, read 2026-12-03):
 * - Images: OpenAI's "Images and vision" guide, "Calculating costs"
 *   (platform.openai.com/docs/guides/vision#calculating-costs): the tile rule (fit in 2048×2048,
 *   shortest side to 768, 512 px tiles; per model a base and a per-tile figure; `detail: low` is the
 *   base alone) and the patch rule (32 px patches, at most 1536, times a per-model multiplier).
 *   Limits from the same guide: 20 MB per image, 500 images per request.
 * - Audio: OpenAI's Realtime cost guide: user audio is 1 token per 100 ms.
 * - Claude's images (Anthropic's vision guide, platform.claude.com/docs/en/build-with-claude/vision,
 *   read 2026-12-07): width × height / 750 tokens after fitting 1568 px on the long edge (about
 *   1,600 tokens at most) for earlier models; for Opus 4.7 and later, 28 px patches after fitting
 *   2576 px (4,784 tokens at most). A reservation takes the larger of the two; usage settles it.
 */
import { AifdError } from '../errors.js';
import { imageSize, mp3Seconds, wavSeconds, type ImageSize } from './media-headers.js';

type ImageRule = { kind: 'tiles'; base: number; tile: number } | { kind: 'patches'; multiplier: number };

const TILES_4O: ImageRule = { kind: 'tiles', base: 85, tile: 170 };

/** Per model family, first match wins; anything else is billed like gpt-4o. */
const IMAGE_RULES: [RegExp, ImageRule][] = [
  [/^(gpt-5-mini|gpt-4\.1-mini)/, { kind: 'patches', multiplier: 1.62 }],
  [/^(gpt-5-nano|gpt-4\.1-nano)/, { kind: 'patches', multiplier: 2.46 }],
  [/^o4-mini/, { kind: 'patches', multiplier: 1.72 }],
  [/^gpt-4o-mini/, { kind: 'tiles', base: 2833, tile: 5667 }],
  [/^(o1|o3)(?!-mini)/, { kind: 'tiles', base: 75, tile: 150 }],
  [/^computer-use/, { kind: 'tiles', base: 65, tile: 129 }],
];

export const MAX_IMAGES_PER_REQUEST = 500;
const MAX_IMAGE_BYTES = 20 * 1024 * 1024;

/** Audio input: 10 tokens a second. Unreadable audio is bounded as if it were 8 kbit/s (1,000 bytes a second). */
const AUDIO_TOKENS_PER_SECOND = 10;
const LEANEST_AUDIO_BYTES_PER_SECOND = 1000;

/** Files (PDFs and the like): a token per 4 bytes bounds text and page images alike; a file given by id, 8,192. */
const FILE_BYTES_PER_TOKEN = 4;
export const FILE_ID_TOKENS = 8192;

export type Detail = 'low' | 'high' | 'auto';

function ruleFor(model: string | undefined): ImageRule {
  for (const [pattern, rule] of IMAGE_RULES) if (model && pattern.test(model)) return rule;
  return TILES_4O;
}

/** Tokens of one image of `size` (undefined: the most one image can cost on that model). */
export function imageTokens(model: string | undefined, size: ImageSize | undefined, detail: Detail = 'auto'): number {
  const rule = ruleFor(model);
  if (rule.kind === 'tiles') {
    if (detail === 'low') return rule.base;
    // The largest image after scaling is 768 × 2048: 2 × 4 tiles.
    const tiles = size ? tileCount(size) : 8;
    return rule.base + tiles * rule.tile;
  }
  const box = detail === 'low' ? 512 : Infinity;
  const patches = size ? patchCount(fitInto(size, box)) : 1536;
  return Math.ceil(patches * rule.multiplier);
}

function fitInto(size: ImageSize, box: number): ImageSize {
  const scale = Math.min(1, box / Math.max(size.width, size.height));
  return { width: size.width * scale, height: size.height * scale };
}

function tileCount(size: ImageSize): number {
  let { width, height } = fitInto(size, 2048);
  const shortest = Math.min(width, height);
  if (shortest > 768) {
    width = (width * 768) / shortest;
    height = (height * 768) / shortest;
  }
  return Math.ceil(width / 512) * Math.ceil(height / 512);
}

/** The guide's steps: shrink to about 1536 patches, then so the width is a whole number of patches. */
function patchCount(size: ImageSize): number {
  const patches = Math.ceil(size.width / 32) * Math.ceil(size.height / 32);
  if (patches <= 1536) return patches;
  const shrink = Math.sqrt((1536 * 32 * 32) / (size.width * size.height));
  const width = Math.floor(size.width * shrink);
  const height = Math.floor(size.height * shrink);
  const whole = Math.max(1, Math.floor(width / 32)) / (width / 32);
  return Math.min(1536, Math.ceil(Math.floor(width * whole) / 32) * Math.ceil(Math.floor(height * whole) / 32));
}

/** A `data:` URL's parts; its payload is left in place (a slice is decoded when a header is needed). */
interface DataUrl {
  mediaType: string;
  base64: boolean;
  /** Offset of the payload in the URL. */
  start: number;
}

/**
 * A media payload as a string, or read in place from the request's bytes (a 400 KB base64 image is
 * never made into a string: its header, its end and its length are all the rules need).
 */
export interface MediaText {
  readonly length: number;
  slice(start?: number, end?: number): string;
}

function isMediaText(value: unknown): value is MediaText {
  return (
    typeof value === 'string' ||
    (typeof value === 'object' &&
      value !== null &&
      typeof (value as MediaText).slice === 'function' &&
      typeof (value as MediaText).length === 'number')
  );
}

function parseDataUrl(url: MediaText): DataUrl | undefined {
  if (url.slice(0, 5) !== 'data:') return undefined;
  const comma = url.slice(0, 257).indexOf(',');
  if (comma < 0 || comma > 256) return undefined;
  const meta = url.slice(5, comma).toLowerCase();
  return { mediaType: meta.split(';', 1)[0]!, base64: meta.endsWith(';base64'), start: comma + 1 };
}

const BASE64 = /^[A-Za-z0-9+/\r\n]*={0,2}$/;

/** The first `chars` of a base64 payload, decoded, after checking they are base64 at all. */
function decodePrefix(text: MediaText, start: number, chars: number, where: Where): Buffer {
  const slice = text.slice(start, start + chars - (chars % 4));
  if (!BASE64.test(slice) || !BASE64.test(text.slice(-4))) throw notBase64(where);
  return Buffer.from(slice, 'base64');
}

function decodedBytes(text: MediaText, start: number): number {
  const length = text.length - start;
  const end = text.slice(-2);
  return Math.floor((length * 3) / 4) - (end === '==' ? 2 : end.endsWith('=') ? 1 : 0);
}

/** Where in the request a part is, for errors; a function where building the name would cost every request. */
export type Where = string | (() => string);

export function named(where: Where): string {
  return typeof where === 'string' ? where : where();
}

function notBase64(where: Where): AifdError {
  const place = named(where);
  return new AifdError('invalid_request', `${place} is a data: URL whose payload is not base64`, { param: place });
}

/** Tokens of an image given as a URL: by its header for a `data:` URL, the model's most for one image otherwise. */
export function imageUrlTokens(model: string | undefined, url: unknown, detail: unknown, where: Where): number {
  const level: Detail = detail === 'low' || detail === 'high' ? detail : 'auto';
  if (!isMediaText(url)) return imageTokens(model, undefined, level);
  const data = parseDataUrl(url);
  if (!data) return imageTokens(model, undefined, level);
  if (!data.base64) throw notBase64(where);
  if (decodedBytes(url, data.start) > MAX_IMAGE_BYTES) {
    const place = named(where);
    throw new AifdError('invalid_request', `${place} is larger than 20 MB, the most OpenAI takes for one image`, {
      param: place,
    });
  }
  return imageTokens(model, base64ImageSize(url, data.start, where), level);
}

/** An image's size from its base64 payload at `start` (undefined when its header does not say). */
function base64ImageSize(text: MediaText, start: number, where: Where): ImageSize | undefined {
  // PNG, GIF and WebP say their size in the first 30 bytes; a JPEG's frame header follows its metadata.
  let chars = 64;
  for (;;) {
    const read = imageSize(decodePrefix(text, start, chars, where));
    if (read.size) return read.size;
    if (!read.needMore || start + chars >= text.length) return undefined;
    chars *= 8;
  }
}

const CLAUDE_IMAGE_MOST = 4784;

/** Tokens of a Claude image block's base64 `data` (a URL or file: the most one image can cost). */
export function claudeImageTokens(data: unknown, where: Where): number {
  if (!isMediaText(data) || data.length === 0) return CLAUDE_IMAGE_MOST;
  const size = base64ImageSize(data, 0, where);
  if (!size) return CLAUDE_IMAGE_MOST;
  const earlier = fitInto(size, 1568);
  const byArea = Math.min(1600, (earlier.width * earlier.height) / 750);
  const later = fitInto(size, 2576);
  const byPatch = Math.min(CLAUDE_IMAGE_MOST, Math.ceil(later.width / 28) * Math.ceil(later.height / 28));
  return Math.ceil(Math.max(byArea, byPatch));
}

/** Tokens of an `input_audio` part: by its duration where the header says it, else the bound. */
export function audioTokens(data: unknown, format: unknown, where: Where): number {
  if (!isMediaText(data) || data.length === 0) return 0;
  const bytes = decodedBytes(data, 0);
  const head = decodePrefix(data, 0, 4096, where);
  const seconds =
    format === 'wav'
      ? wavSeconds(head, bytes)
      : format === 'mp3'
        ? mp3Seconds(head, bytes)
        : (wavSeconds(head, bytes) ?? mp3Seconds(head, bytes));
  return Math.ceil((seconds ?? bytes / LEANEST_AUDIO_BYTES_PER_SECOND) * AUDIO_TOKENS_PER_SECOND);
}

/** Tokens of a file part (`file_data` as a data: URL or bare base64, or a `file_id`): the documented bound. */
export function fileTokens(fileData: unknown, fileId: unknown, where: Where): number {
  if (isMediaText(fileData) && fileData.length > 0) {
    const data = parseDataUrl(fileData);
    if (data && !data.base64) throw notBase64(where);
    const start = data?.start ?? 0;
    decodePrefix(fileData, start, 64, where);
    return Math.ceil(decodedBytes(fileData, start) / FILE_BYTES_PER_TOKEN);
  }
  return typeof fileId === 'string' ? FILE_ID_TOKENS : 0;
}
