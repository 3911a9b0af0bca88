/**
 * What a media file's first bytes say, read without decoding it: an image's width and height
 * (PNG, JPEG, GIF, WebP) and a WAV or MP3 file's duration. Every reader returns undefined for bytes
 * it cannot make sense of; none throws.
 */

export interface ImageSize {
  width: number;
  height: number;
}

type ImageFormat = 'png' | 'jpeg' | 'gif' | 'webp';

function imageFormat(bytes: Uint8Array): ImageFormat | undefined {
  if (bytes.length >= 8 && bytes[0] === 0x89 && ascii(bytes, 1, 3) === 'PNG') return 'png';
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'jpeg';
  if (bytes.length >= 6 && (ascii(bytes, 0, 6) === 'GIF87a' || ascii(bytes, 0, 6) === 'GIF89a')) return 'gif';
  if (bytes.length >= 12 && ascii(bytes, 0, 4) === 'RIFF' && ascii(bytes, 8, 4) === 'WEBP') return 'webp';
  return undefined;
}

/**
 * The image's size from its header. `undefined` with `needMore` when the header may lie beyond the
 * bytes given (a JPEG's frame header follows its metadata, which can be long).
 */
export function imageSize(bytes: Uint8Array): { size?: ImageSize; needMore?: boolean } {
  const format = imageFormat(bytes);
  if (format === 'png')
    return sized(
      bytes.length >= 24 && ascii(bytes, 12, 4) === 'IHDR'
        ? { width: u32be(bytes, 16), height: u32be(bytes, 20) }
        : undefined,
    );
  if (format === 'gif')
    return sized(bytes.length >= 10 ? { width: u16le(bytes, 6), height: u16le(bytes, 8) } : undefined);
  if (format === 'webp') return sized(webpSize(bytes));
  if (format === 'jpeg') return jpegSize(bytes);
  return {};
}

function sized(size: ImageSize | undefined): { size?: ImageSize } {
  return size && size.width > 0 && size.height > 0 ? { size } : {};
}

function webpSize(bytes: Uint8Array): ImageSize | undefined {
  const chunk = ascii(bytes, 12, 4);
  if (chunk === 'VP8 ' && bytes.length >= 30)
    return { width: u16le(bytes, 26) & 0x3fff, height: u16le(bytes, 28) & 0x3fff };
  if (chunk === 'VP8L' && bytes.length >= 25) {
    const bits = bytes[21]! | (bytes[22]! << 8) | (bytes[23]! << 16) | (bytes[24]! << 24);
    return { width: (bits & 0x3fff) + 1, height: ((bits >>> 14) & 0x3fff) + 1 };
  }
  if (chunk === 'VP8X' && bytes.length >= 30) return { width: u24le(bytes, 24) + 1, height: u24le(bytes, 27) + 1 };
  return undefined;
}

/** Start-of-frame markers that carry the size: C0–CF but for DHT (C4), JPG (C8) and DAC (CC). */
function isStartOfFrame(marker: number): boolean {
  return marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
}

function jpegSize(bytes: Uint8Array): { size?: ImageSize; needMore?: boolean } {
  let at = 2;
  while (at + 4 <= bytes.length) {
    if (bytes[at] !== 0xff) return {};
    const marker = bytes[at + 1]!;
    // Fill bytes, and markers without a length.
    if (marker === 0xff) {
      at++;
      continue;
    }
    if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      at += 2;
      continue;
    }
    if (marker === 0xd9 || marker === 0xda) return {};
    const length = u16be(bytes, at + 2);
    if (length < 2) return {};
    if (isStartOfFrame(marker)) {
      if (at + 9 > bytes.length) return { needMore: true };
      return sized({ height: u16be(bytes, at + 5), width: u16be(bytes, at + 7) });
    }
    at += 2 + length;
  }
  return { needMore: true };
}

/** Seconds of audio in a WAV file (from its header; the data chunk's size is capped by `totalBytes`). */
export function wavSeconds(bytes: Uint8Array, totalBytes: number): number | undefined {
  if (bytes.length < 12 || ascii(bytes, 0, 4) !== 'RIFF' || ascii(bytes, 8, 4) !== 'WAVE') return undefined;
  let byteRate: number | undefined;
  let at = 12;
  while (at + 8 <= bytes.length) {
    const id = ascii(bytes, at, 4);
    const size = u32le(bytes, at + 4);
    if (id === 'fmt ' && at + 16 <= bytes.length) byteRate = u32le(bytes, at + 16);
    if (id === 'data') {
      if (!byteRate) return undefined;
      const data = Math.min(size, Math.max(0, totalBytes - at - 8));
      return data / byteRate;
    }
    at += 8 + size + (size % 2);
  }
  return undefined;
}

/** MPEG-1 Layer III bit rates in kbit/s, by the header's 4-bit index. */
const MP3_KBPS = [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 0];

/** Seconds of an MP3 file, assuming the first frame's bit rate holds throughout (an ID3 tag is skipped). */
export function mp3Seconds(bytes: Uint8Array, totalBytes: number): number | undefined {
  let at = 0;
  if (ascii(bytes, 0, 3) === 'ID3' && bytes.length >= 10) {
    at = 10 + ((bytes[6]! & 0x7f) << 21) + ((bytes[7]! & 0x7f) << 14) + ((bytes[8]! & 0x7f) << 7) + (bytes[9]! & 0x7f);
  }
  if (at + 4 > bytes.length || bytes[at] !== 0xff || (bytes[at + 1]! & 0xe0) !== 0xe0) return undefined;
  const kbps = MP3_KBPS[bytes[at + 2]! >> 4]!;
  if (kbps === 0) return undefined;
  return ((totalBytes - at) * 8) / (kbps * 1000);
}

function ascii(bytes: Uint8Array, at: number, length: number): string {
  let out = '';
  for (let i = at; i < at + length && i < bytes.length; i++) out += String.fromCharCode(bytes[i]!);
  return out;
}

const u16be = (b: Uint8Array, at: number) => (b[at]! << 8) | b[at + 1]!;
const u16le = (b: Uint8Array, at: number) => b[at]! | (b[at + 1]! << 8);
const u24le = (b: Uint8Array, at: number) => b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16);
const u32be = (b: Uint8Array, at: number) =>
  ((b[at]! << 24) >>> 0) + ((b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!);
const u32le = (b: Uint8Array, at: number) =>
  (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16)) + ((b[at + 3]! << 24) >>> 0);
