/** Optimal-string-alignment distance: Levenshtein plus adjacent transpositions ("dgo" → "dog" is 1). */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[] = new Array<number>(rows * cols).fill(0);
  const at = (i: number, j: number): number => d[i * cols + j] ?? 0;
  for (let i = 0; i < rows; i++) d[i * cols] = i;
  for (let j = 0; j < cols; j++) d[j] = j;
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, at(i - 2, j - 2) + 1);
      d[i * cols + j] = v;
    }
  }
  return at(a.length, b.length);
}

/** How far a word may be from a suggestion: 1 edit up to 4 letters, 2 up to 8, 3 beyond. */
export function maxDistanceFor(word: string): number {
  return word.length <= 4 ? 1 : word.length <= 8 ? 2 : 3;
}

/** The closest candidates (all at the smallest distance within reach), alphabetical, at most `limit`. */
export function closest(word: string, candidates: readonly string[], limit = 3): string[] {
  const reach = maxDistanceFor(word);
  let best = Infinity;
  let found: string[] = [];
  for (const c of candidates) {
    if (c === word || Math.abs(c.length - word.length) > reach) continue;
    const dist = editDistance(word, c);
    if (dist > reach || dist > best) continue;
    if (dist < best) {
      best = dist;
      found = [];
    }
    found.push(c);
  }
  return [...new Set(found)].sort().slice(0, limit);
}
