/** Real media files made in the test: PNG (pngjs), JPEG (jpeg-js), WAV (PCM written here), PDF (pdf-lib). */
import { randomBytes } from 'node:crypto';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { PDFDocument, StandardFonts } from 'pdf-lib';

/** Noise does not compress: `width × height × 4` bytes of noise make a PNG of about that size. */
export function png(width: number, height: number, noise = false): Buffer {
  const image = new PNG({ width, height });
  if (noise) randomBytes(image.data.length).copy(image.data);
  else image.data.fill(0x80);
  return PNG.sync.write(image);
}

export function jpegImage(width: number, height: number, quality = 80): Buffer {
  const data = Buffer.alloc(width * height * 4);
  for (let i = 0; i < data.length; i += 4) {
    data[i] = (i / 4) % 256;
    data[i + 1] = 0x40;
    data[i + 2] = 0xc0;
    data[i + 3] = 0xff;
  }
  return jpeg.encode({ data, width, height }, quality).data;
}

/** A JPEG with `bytes` of APP1 metadata (EXIF-like) before its frame header, as cameras write them. */
export function jpegWithMetadata(width: number, height: number, bytes: number): Buffer {
  const plain = jpegImage(width, height);
  const segments: Buffer[] = [plain.subarray(0, 2)];
  for (let left = bytes; left > 0; left -= 65_000) {
    const size = Math.min(65_000, left);
    const header = Buffer.from([0xff, 0xe1, (size + 2) >> 8, (size + 2) & 0xff]);
    segments.push(header, Buffer.alloc(size, 0x45));
  }
  segments.push(plain.subarray(2));
  return Buffer.concat(segments);
}

/** PCM WAV: `seconds` of a tone, 16-bit mono. */
export function wav(seconds: number, sampleRate = 16_000): Buffer {
  const samples = Math.round(seconds * sampleRate);
  const data = Buffer.alloc(samples * 2);
  for (let i = 0; i < samples; i++)
    data.writeInt16LE(Math.round(Math.sin((i / sampleRate) * 2 * Math.PI * 440) * 8000), i * 2);
  const header = Buffer.alloc(44);
  header.write('RIFF', 0, 'ascii');
  header.writeUInt32LE(36 + data.length, 4);
  header.write('WAVE', 8, 'ascii');
  header.write('fmt ', 12, 'ascii');
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20); // PCM
  header.writeUInt16LE(1, 22); // mono
  header.writeUInt32LE(sampleRate, 24);
  header.writeUInt32LE(sampleRate * 2, 28); // byte rate
  header.writeUInt16LE(2, 32);
  header.writeUInt16LE(16, 34);
  header.write('data', 36, 'ascii');
  header.writeUInt32LE(data.length, 40);
  return Buffer.concat([header, data]);
}

export async function pdf(pages: number): Promise<Buffer> {
  const document = await PDFDocument.create();
  const font = await document.embedFont(StandardFonts.Helvetica);
  for (let i = 0; i < pages; i++)
    document.addPage().drawText(`Page ${i + 1}: quarterly figures and their notes.`, { x: 50, y: 700, size: 14, font });
  return Buffer.from(await document.save());
}

export const dataUrl = (mediaType: string, bytes: Buffer) => `data:${mediaType};base64,${bytes.toString('base64')}`;
