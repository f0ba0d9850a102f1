import { rm, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { ClipOnnxEmbedder, ClipTokenizer, EmbedderError, dot } from '../../src/index';
import { TINY_CONTEXT, TINY_DIMENSIONS, tinyTokenizerFiles, useTinyClip, writeTinyClip } from './tiny-clip';

const solid = (hex: string): Promise<Uint8Array> =>
  sharp({ create: { width: 64, height: 48, channels: 3, background: hex } })
    .jpeg()
    .toBuffer()
    .then((b) => new Uint8Array(b));

const tiny = useTinyClip();

describe('ClipTokenizer', () => {
  it('lower-cases, collapses spaces, splits punctuation, wraps in start/end tokens and pads', () => {
    const { vocab, merges } = tinyTokenizerFiles();
    const t = new ClipTokenizer(vocab, merges);
    const id = (w: string): number => vocab[`${w}</w>`]!;
    expect(t.tokenize('A  RED person!', 8)).toEqual([1, id('a'), id('red'), id('person'), 2, 0, 0, 0]);
    expect(t.encode('green')).toEqual([id('green')]);
    // Unknown words are dropped, not mapped to garbage; the end token survives truncation.
    expect(t.tokenize('zzz ladder', 4)).toEqual([1, id('ladder'), 2, 0]);
    expect(t.tokenize('red red red red red', 4)).toEqual([1, id('red'), id('red'), 2]);
  });

  it('refuses a vocabulary without the start and end tokens, and a malformed merges file', () => {
    expect(() => new ClipTokenizer({ a: 1 }, [])).toThrow(EmbedderError);
    expect(() => new ClipTokenizer({ '<|startoftext|>': 1, '<|endoftext|>': 2 }, ['a b c'])).toThrow(/merges.txt/);
  });
});

describe('ClipOnnxEmbedder on a tiny generated CLIP-shaped model', () => {
  it('embeds images and texts into one unit-length space where a colour word is closest to that colour', async () => {
    expect(tiny.clip.dimensions).toBe(TINY_DIMENSIONS);
    expect(tiny.clip.version).toMatch(/^sha256:[0-9a-f]{16}$/);
    const [red, blue] = await tiny.clip.embedImages([await solid('#d01010'), await solid('#1010d0')]);
    const [tRed, tBlue] = await tiny.clip.embedTexts(['a photo of a red person', 'blue']);
    for (const v of [red!, blue!, tRed!, tBlue!]) expect(Math.hypot(...v)).toBeCloseTo(1, 5);
    expect(dot(red!, tRed!)).toBeGreaterThan(dot(blue!, tRed!) + 0.3);
    expect(dot(blue!, tBlue!)).toBeGreaterThan(dot(red!, tBlue!) + 0.3);
  });

  it('accepts any image size (resized to cover, centre-cropped) and reports its model in errors it cannot avoid', async () => {
    const wide = await sharp({ create: { width: 400, height: 20, channels: 3, background: '#10d010' } }).jpeg().toBuffer();
    const [v] = await tiny.clip.embedImages([new Uint8Array(wide)]);
    const [green] = await tiny.clip.embedTexts(['green']);
    expect(dot(v!, green!)).toBeGreaterThan(0.8);
    await expect(tiny.clip.embedImages([new Uint8Array([1, 2, 3])])).rejects.toThrow();
  });

  it('explains a folder that lacks files, has a bad embedder.json, or holds no ONNX model', async () => {
    const broken = await writeTinyClip();
    try {
      await unlink(join(broken, 'merges.txt'));
      await expect(ClipOnnxEmbedder.open({ modelDir: broken })).rejects.toThrow(/lacks merges\.txt/);
      await writeFile(join(broken, 'merges.txt'), '');
      await writeFile(join(broken, 'embedder.json'), JSON.stringify({ imageSize: 'big', contextLength: TINY_CONTEXT }));
      await expect(ClipOnnxEmbedder.open({ modelDir: broken })).rejects.toThrow(/imageSize/);
      await writeFile(join(broken, 'embedder.json'), JSON.stringify({ contextLength: TINY_CONTEXT, imageSize: 16 }));
      await writeFile(join(broken, 'visual.onnx'), 'not a model');
      await expect(ClipOnnxEmbedder.open({ modelDir: broken })).rejects.toThrow(/not a loadable ONNX model/);
    } finally {
      await rm(broken, { recursive: true, force: true });
    }
  });

  it('refuses work once closed', async () => {
    const other = await ClipOnnxEmbedder.open({ modelDir: tiny.dir });
    await other.close();
    await other.close();
    await expect(other.embedTexts(['red'])).rejects.toThrow(/closed/);
  });
});
