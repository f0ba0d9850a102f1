import { EmbedderError } from './embedder';

/**
 * CLIP's byte-level BPE tokenizer (the one OpenAI's CLIP and its ONNX exports use): lower-cased,
 * whitespace-collapsed text, split by CLIP's pattern, bytes mapped to printable characters, BPE
 * merges by rank, `</w>` closing each word; `<|startoftext|>` … `<|endoftext|>`, zero-padded.
 * Built from a model folder's `vocab.json` (token → id) and `merges.txt` (one merge per line).
 */
export class ClipTokenizer {
  readonly #encoder: Map<string, number>;
  readonly #ranks: Map<string, number>;
  readonly #byteChars: string[];
  readonly #cache = new Map<string, string[]>();
  readonly sot: number;
  readonly eot: number;

  constructor(vocab: Record<string, number>, merges: readonly string[]) {
    this.#encoder = new Map(Object.entries(vocab));
    this.#ranks = new Map();
    let rank = 0;
    for (const line of merges) {
      const t = line.trim();
      if (t === '' || t.startsWith('#version')) continue;
      const parts = t.split(/\s+/);
      if (parts.length !== 2) throw new EmbedderError(`merges.txt: bad line "${t.slice(0, 60)}"`);
      this.#ranks.set(`${parts[0]} ${parts[1]}`, rank++);
    }
    this.#byteChars = bytesToUnicode();
    const sot = this.#encoder.get('<|startoftext|>');
    const eot = this.#encoder.get('<|endoftext|>');
    if (sot === undefined || eot === undefined) throw new EmbedderError('vocab.json has no <|startoftext|> / <|endoftext|> tokens');
    this.sot = sot;
    this.eot = eot;
  }

  /** Token ids of `text`, without start/end tokens. Unknown pieces (not in the vocabulary) are dropped. */
  encode(text: string): number[] {
    const clean = text.normalize('NFC').replace(/\s+/g, ' ').trim().toLowerCase();
    const ids: number[] = [];
    for (const m of clean.matchAll(PATTERN)) {
      const bytes = new TextEncoder().encode(m[0]);
      const word = Array.from(bytes, (b) => this.#byteChars[b] ?? '').join('');
      for (const piece of this.#bpe(word)) {
        const id = this.#encoder.get(piece);
        if (id !== undefined) ids.push(id);
      }
    }
    return ids;
  }

  /** `[sot, …ids, eot]` truncated (eot kept) and zero-padded to `length`. */
  tokenize(text: string, length = 77): number[] {
    const ids = this.encode(text).slice(0, length - 2);
    const out = [this.sot, ...ids, this.eot];
    while (out.length < length) out.push(0);
    return out;
  }

  #bpe(token: string): string[] {
    const cached = this.#cache.get(token);
    if (cached) return cached;
    const chars = [...token];
    if (chars.length === 0) return [];
    let word = [...chars.slice(0, -1), `${chars[chars.length - 1]}</w>`];
    for (;;) {
      let best = -1;
      let bestRank = Infinity;
      for (let i = 0; i < word.length - 1; i++) {
        const r = this.#ranks.get(`${word[i]} ${word[i + 1]}`);
        if (r !== undefined && r < bestRank) {
          bestRank = r;
          best = i;
        }
      }
      if (best < 0) break;
      const a = word[best]!;
      const b = word[best + 1]!;
      const next: string[] = [];
      for (let i = 0; i < word.length; ) {
        if (i < word.length - 1 && word[i] === a && word[i + 1] === b) {
          next.push(a + b);
          i += 2;
        } else {
          next.push(word[i]!);
          i += 1;
        }
      }
      word = next;
      if (word.length === 1) break;
    }
    if (this.#cache.size < 10_000) this.#cache.set(token, word);
    return word;
  }
}

const PATTERN = /<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+/gu;

/** GPT-2/CLIP's reversible byte → printable character table. */
function bytesToUnicode(): string[] {
  const bs: number[] = [];
  for (let b = 33; b <= 126; b++) bs.push(b);
  for (let b = 161; b <= 172; b++) bs.push(b);
  for (let b = 174; b <= 255; b++) bs.push(b);
  const cs = [...bs];
  let n = 0;
  for (let b = 0; b < 256; b++) {
    if (!bs.includes(b)) {
      bs.push(b);
      cs.push(256 + n);
      n++;
    }
  }
  const table: string[] = new Array<string>(256);
  bs.forEach((b, i) => {
    table[b] = String.fromCodePoint(cs[i]!);
  });
  return table;
}
