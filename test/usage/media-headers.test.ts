import { describe, expect, it } from 'vitest';
import { imageSize, mp3Seconds, wavSeconds } from '../../src/usage/media-headers.js';
import { jpegImage, jpegWithMetadata, png, wav } from '../helpers/media.js';

describe('image sizes from header bytes', () => {
  it('reads PNG and JPEG files of several sizes, made here', () => {
    for (const [width, height] of [
      [1, 1],
      [640, 480],
      [3000, 1000],
      [300, 2000],
    ] as const) {
      expect(imageSize(png(width, height)).size).toEqual({ width, height });
      expect(imageSize(jpegImage(width, height)).size).toEqual({ width, height });
    }
  });

  it('asks for more bytes when a JPEG frame header lies past its metadata, and finds it then', () => {
    const file = jpegWithMetadata(800, 600, 150_000);
    expect(imageSize(file.subarray(0, 4096))).toEqual({ needMore: true });
    expect(imageSize(file).size).toEqual({ width: 800, height: 600 });
  });

  it('reads GIF and the three kinds of WebP header', () => {
    const gif = Buffer.from('GIF89a\x40\x01\xf0\x00', 'latin1');
    expect(imageSize(gif).size).toEqual({ width: 320, height: 240 });
    const riff = (chunk: string, body: Buffer) =>
      Buffer.concat([Buffer.from('RIFF\0\0\0\0WEBP', 'latin1'), Buffer.from(chunk, 'latin1'), Buffer.alloc(4), body]);
    const vp8 = Buffer.alloc(10);
    vp8.writeUInt16LE(1024, 6);
    vp8.writeUInt16LE(768, 8);
    expect(imageSize(riff('VP8 ', vp8)).size).toEqual({ width: 1024, height: 768 });
    const vp8l = Buffer.alloc(5);
    vp8l[0] = 0x2f;
    vp8l.writeUInt32LE(((500 - 1) | ((400 - 1) << 14)) >>> 0, 1);
    expect(imageSize(riff('VP8L', vp8l)).size).toEqual({ width: 500, height: 400 });
    const vp8x = Buffer.alloc(10);
    vp8x.writeUIntLE(4000 - 1, 4, 3);
    vp8x.writeUIntLE(3000 - 1, 7, 3);
    expect(imageSize(riff('VP8X', vp8x)).size).toEqual({ width: 4000, height: 3000 });
  });

  it('says nothing for truncated, lying or unknown bytes', () => {
    expect(imageSize(png(64, 64).subarray(0, 12))).toEqual({});
    const zero = png(64, 64);
    zero.writeUInt32BE(0, 16);
    expect(imageSize(zero)).toEqual({});
    expect(imageSize(Buffer.from('II*\0 a TIFF file'))).toEqual({});
    expect(imageSize(Buffer.alloc(0))).toEqual({});
    expect(imageSize(Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00]))).toEqual({ needMore: true });
  });
});

describe('audio durations from header bytes', () => {
  it('reads a WAV file of several lengths', () => {
    for (const seconds of [0.5, 3, 61]) {
      const file = wav(seconds);
      expect(wavSeconds(file.subarray(0, 64), file.length)).toBeCloseTo(seconds, 3);
    }
  });

  it('never believes a data chunk larger than the file', () => {
    const file = wav(2);
    file.writeUInt32LE(0xffffffff, 40);
    expect(wavSeconds(file, file.length)).toBeCloseTo(2, 2);
  });

  it('reads an MP3 frame header (after an ID3 tag) and bounds by its bit rate', () => {
    const frame = Buffer.from([0xff, 0xfb, 0x90, 0x64]); // MPEG-1 layer III, 128 kbit/s
    expect(mp3Seconds(frame, 160_000)).toBeCloseTo(10, 5);
    const id3 = Buffer.concat([Buffer.from('ID3\x04\x00\x00\x00\x00\x00\x0a', 'latin1'), Buffer.alloc(10), frame]);
    expect(mp3Seconds(id3, 20 + 160_000)).toBeCloseTo(10, 5);
    expect(mp3Seconds(Buffer.from('not audio'), 100)).toBeUndefined();
    expect(wavSeconds(Buffer.from('RIFF'), 4)).toBeUndefined();
  });
});
