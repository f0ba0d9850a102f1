import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onnx } from 'onnx-proto';
import { afterAll, beforeAll } from 'vitest';
import { ClipOnnxEmbedder } from '../../src/embed/clip-onnx-embedder';

/*
 * A tiny CLIP-shaped model pair made here, not downloaded: same inputs and outputs as a real CLIP
 * export (pixel_values float32 [1,3,S,S] → image_embeds [1,D]; input_ids int64 [1,L] → text_embeds
 * [1,D]), with weights chosen so colour words and images of that colour land close together.
 * It tests the plumbing (files, tokenizer, preprocessing, ONNX Runtime, normalisation, calibration),
 * not CLIP's quality.
 */

const FLOAT = onnx.TensorProto.DataType.FLOAT;
const INT64 = onnx.TensorProto.DataType.INT64;

function valueInfo(name: string, elemType: number, dims: number[]): onnx.IValueInfoProto {
  return { name, type: { tensorType: { elemType, shape: { dim: dims.map((d) => ({ dimValue: d })) } } } };
}

function model(graph: onnx.IGraphProto): Uint8Array {
  return onnx.ModelProto.encode(onnx.ModelProto.create({ irVersion: 7, producerName: 'chronotrace-test', opsetImport: [{ domain: '', version: 11 }], graph })).finish();
}

/** Embedding space: [red, green, blue, person, ladder]. */
export const TINY_DIMENSIONS = 5;
export const TINY_IMAGE_SIZE = 16;
export const TINY_CONTEXT = 16;

/** Words of the tiny vocabulary and their text-embedding rows. */
const WORDS: Record<string, number[]> = {
  red: [1, -0.6, -0.6, 0, 0],
  green: [-0.6, 1, -0.6, 0, 0],
  blue: [-0.6, -0.6, 1, 0, 0],
  person: [0, 0, 0, 0.3, 0],
  ladder: [0, 0, 0, 0, 1],
  /** Red, in a word the query compiler does not know (so it becomes a similarity term). */
  vermilion: [1, -0.6, -0.6, 0, 0],
  a: [0, 0, 0, 0, 0],
  in: [0, 0, 0, 0, 0],
  photo: [0, 0, 0, 0, 0],
  of: [0, 0, 0, 0, 0],
};

/** vocab.json and merges.txt of a byte-level BPE that spells each word above as one token. */
export function tinyTokenizerFiles(): { vocab: Record<string, number>; merges: string[] } {
  const vocab: Record<string, number> = { '!': 0, '<|startoftext|>': 1, '<|endoftext|>': 2 };
  const merges: string[] = ['#version: 0.2'];
  const add = (piece: string): void => {
    if (!(piece in vocab)) vocab[piece] = Object.keys(vocab).length;
  };
  // Each word's merges are added after applying the merges so far, by rank, as BPE will: so every word
  // tokenises to itself even where words share pairs ("r e" of red inside green).
  const rank = (a: string, b: string): number => {
    const i = merges.indexOf(`${a} ${b}`);
    return i < 0 ? Infinity : i;
  };
  const applyAll = (pieces: string[]): string[] => {
    for (;;) {
      let best = -1;
      let bestRank = Infinity;
      for (let i = 0; i < pieces.length - 1; i++) {
        const r = rank(pieces[i]!, pieces[i + 1]!);
        if (r < bestRank) {
          bestRank = r;
          best = i;
        }
      }
      if (best < 0) return pieces;
      pieces = [...pieces.slice(0, best), pieces[best]! + pieces[best + 1]!, ...pieces.slice(best + 2)];
    }
  };
  for (const word of Object.keys(WORDS)) {
    const chars = [...word];
    let pieces = [...chars.slice(0, -1), `${chars[chars.length - 1]}</w>`];
    for (const p of pieces) add(p);
    pieces = applyAll(pieces);
    while (pieces.length > 1) {
      merges.push(`${pieces[0]} ${pieces[1]}`);
      add(`${pieces[0]}${pieces[1]}`);
      pieces = applyAll(pieces);
    }
  }
  return { vocab, merges };
}

function visualModel(): Uint8Array {
  // Mean colour of the (normalised) image, then a 3 → D map onto the colour axes.
  const w = [
    [1, 0, 0, 0, 0],
    [0, 1, 0, 0, 0],
    [0, 0, 1, 0, 0],
  ].flat();
  return model({
    name: 'tiny-clip-visual',
    node: [
      { opType: 'GlobalAveragePool', input: ['pixel_values'], output: ['pooled'] },
      { opType: 'Flatten', input: ['pooled'], output: ['flat'], attribute: [{ name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: 1 }] },
      { opType: 'MatMul', input: ['flat', 'proj'], output: ['image_embeds'] },
    ],
    initializer: [{ name: 'proj', dataType: FLOAT, dims: [3, TINY_DIMENSIONS], floatData: w }],
    input: [valueInfo('pixel_values', FLOAT, [1, 3, TINY_IMAGE_SIZE, TINY_IMAGE_SIZE])],
    output: [valueInfo('image_embeds', FLOAT, [1, TINY_DIMENSIONS])],
  });
}

function textualModel(vocab: Record<string, number>): Uint8Array {
  const size = Object.keys(vocab).length;
  const table = new Array<number>(size * TINY_DIMENSIONS).fill(0);
  for (const [word, row] of Object.entries(WORDS)) {
    const id = vocab[`${word}</w>`];
    if (id === undefined) throw new Error(`no token for ${word}`);
    row.forEach((v, d) => (table[id * TINY_DIMENSIONS + d] = v));
  }
  return model({
    name: 'tiny-clip-textual',
    node: [
      { opType: 'Gather', input: ['table', 'input_ids'], output: ['rows'], attribute: [{ name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: 0 }] },
      {
        opType: 'ReduceSum',
        input: ['rows'],
        output: ['text_embeds'],
        attribute: [
          { name: 'axes', type: onnx.AttributeProto.AttributeType.INTS, ints: [1] },
          { name: 'keepdims', type: onnx.AttributeProto.AttributeType.INT, i: 0 },
        ],
      },
    ],
    initializer: [{ name: 'table', dataType: FLOAT, dims: [size, TINY_DIMENSIONS], floatData: table }],
    input: [valueInfo('input_ids', INT64, [1, TINY_CONTEXT])],
    output: [valueInfo('text_embeds', FLOAT, [1, TINY_DIMENSIONS])],
  });
}

/** Writes a complete tiny CLIP model folder and returns its path. */
export async function writeTinyClip(dir?: string): Promise<string> {
  const folder = dir ?? (await mkdtemp(join(tmpdir(), 'ct-tiny-clip-')));
  const { vocab, merges } = tinyTokenizerFiles();
  await writeFile(join(folder, 'visual.onnx'), visualModel());
  await writeFile(join(folder, 'textual.onnx'), textualModel(vocab));
  await writeFile(join(folder, 'vocab.json'), JSON.stringify(vocab));
  await writeFile(join(folder, 'merges.txt'), `${merges.join('\n')}\n`);
  await writeFile(join(folder, 'embedder.json'), JSON.stringify({ imageSize: TINY_IMAGE_SIZE, contextLength: TINY_CONTEXT }));
  return folder;
}

/** For a test file: the tiny CLIP written and opened before its tests, closed and removed after. */
export function useTinyClip(): { readonly clip: ClipOnnxEmbedder; readonly dir: string } {
  const state: { clip?: ClipOnnxEmbedder; dir?: string } = {};
  beforeAll(async () => {
    state.dir = await writeTinyClip();
    state.clip = await ClipOnnxEmbedder.open({ modelDir: state.dir });
  });
  afterAll(async () => {
    await state.clip?.close();
    if (state.dir) await rm(state.dir, { recursive: true, force: true });
  });
  return {
    get clip() {
      return state.clip!;
    },
    get dir() {
      return state.dir!;
    },
  };
}
