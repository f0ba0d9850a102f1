import {
  ANOMALY_PRESETS,
  QUERY_LIMITS,
  QUERY_PLAN_VERSION,
  BASIC_COLORS,
  COCO_CLASSES,
  type AnomalyRule,
  type BasicColor,
  type CarriedObject,
  type CocoClass,
  type ColorConstraint,
  type ColorPart,
  type QueryCountOp,
  type QueryCompileResult,
  type QueryError,
  type QueryErrorCode,
  type QueryPlan,
  type QueryTimeWindow,
} from '@chronotrace/contracts';
import { QueryCompilerOptionsError } from './errors';
import { explainPlan } from './explain';
import { closest } from './suggest';
import { LEXICON, LOITER_SECONDS, MAX_PHRASE_WORDS, RELATED, SUGGESTIBLE, type Lexeme } from './vocabulary';

export interface QueryCompilerOptions {
  /** Zone names from streams.config (any camera). Matched case-, space- and punctuation-insensitively. Default []. */
  zones?: readonly string[];
  /** Cameras from streams.config: matched by id, full name, or the name's part before " — ". Default []. */
  cameras?: readonly { id: string; name: string }[];
  /**
   * An embedder is on: words with no structured meaning and no close spelling match become a
   * similarity term (plan.similarity) instead of an error. A likely typo is still an error. Default false.
   */
  freeText?: boolean;
  /** Line names of the cameras (`lines` in streams.config), for line-crossing rules. Default []. */
  lines?: readonly string[];
}

/** A recognised word or phrase, with where it was in the token stream. */
type Item = (Lexeme | { kind: 'zone'; name: string } | { kind: 'camera'; id: string } | { kind: 'line'; name: string } | { kind: 'time'; h: number; m: number }) & {
  word: string;
  /** The raw token before this item, '' at the start. */
  prev: string;
};

class ParseFailure extends Error {
  constructor(
    readonly code: QueryErrorCode,
    message: string,
    readonly terms: string[] = [],
  ) {
    super(message);
  }
}

const TOKEN = /\d{1,2}[:.h]\d{2}(?!\d)|\d+|\p{L}+/gu;
const ARTICLES = new Set(['a', 'an', 'the', 'any']);
const CAMERA_WORDS = new Set(['camera', 'cameras', 'cam', 'cams', 'feed']);
const CLOCK = /^(\d{1,2})[:.h](\d{2})$/;
/** Words after which a lone colour describes clothing ("in red", "wearing red") and 'orange' is not the fruit. */
const COLOR_CONTEXT = new Set(['in', 'wearing', 'wears', 'wear', 'dressed', 'with', 'all', 'or', 'and']);

export function tokenizeQuery(text: string): string[] {
  const normal = text.normalize('NFKC').toLowerCase().replace(/['’]s\b/g, '');
  return normal.match(TOKEN) ?? [];
}

/** Key for comparing names regardless of case, spaces and punctuation: "Loading Bay" = "loading-bay" = "loadingbay". */
function nameKey(s: string): string {
  return tokenizeQuery(s).join('');
}

const COCO_ORDER = new Map<CocoClass, number>(COCO_CLASSES.map((c, i) => [c, i]));
const COLOR_ORDER = new Map<BasicColor, number>(BASIC_COLORS.map((c, i) => [c, i]));
const PART_ORDER: Record<ColorPart, number> = { any: 0, upper: 1, lower: 2 };

function sortedClasses(cs: Iterable<CocoClass>): CocoClass[] {
  return [...new Set(cs)].sort((a, b) => (COCO_ORDER.get(a) ?? 0) - (COCO_ORDER.get(b) ?? 0));
}

function sortedColors(cs: Iterable<BasicColor>): BasicColor[] {
  return [...new Set(cs)].sort((a, b) => (COLOR_ORDER.get(a) ?? 0) - (COLOR_ORDER.get(b) ?? 0));
}

function hhmm(h: number, m: number): string {
  return `${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}`;
}

/** Mutable state of one parse. */
interface ParseState {
  subject: CocoClass[] | null;
  /** Colours waiting for the subject's class to decide 'upper' (persons) or 'any'. */
  subjectColors: { part: ColorPart | 'auto'; colors: BasicColor[]; word: string }[];
  carrying: CarriedObject[];
  mode: 'subject' | 'carry' | 'carry-neg';
  join: 'or' | 'and' | null;
  afterPlace: boolean;
  count?: { op: QueryCountOp; n: number };
  crowd: boolean;
  dwellSeconds?: number;
  loiter: boolean;
  /** A word implying a person was seen ("loitering"). */
  loiterer: boolean;
  time: QueryTimeWindow;
  days: Set<number>;
  zones: string[];
  cameras: string[];
  unknown: string[];
  /** An anomaly's words, and their word (for messages). */
  anomaly?: { type: 'crowd' | 'abandoned' | 'after-hours' | 'unusual'; word: string };
  /** Crossing a line: the direction the words imply, the line named. */
  cross?: { direction?: 'in' | 'out'; word: string };
  direction?: 'in' | 'out';
  line?: string;
}

/**
 * Compiles plain-language standing queries into typed plans. Pure and deterministic: no I/O, the same
 * text and options always give the same plan, explanation or error.
 */
export class QueryCompiler {
  readonly #zones = new Map<string, string>();
  readonly #cameras = new Map<string, string>();
  readonly #cameraNames = new Map<string, string>();
  readonly #lines = new Map<string, string>();
  readonly #maxPlaceWords: number;
  readonly #suggestible: string[];
  readonly #freeText: boolean;

  constructor(options: QueryCompilerOptions = {}) {
    this.#freeText = options.freeText ?? false;
    let maxWords = 1;
    for (const zone of options.zones ?? []) {
      const key = nameKey(zone);
      if (key === '') throw new QueryCompilerOptionsError(`zone name ${JSON.stringify(zone)} has no letters or digits`);
      this.#zones.set(key, zone);
      maxWords = Math.max(maxWords, tokenizeQuery(zone).length);
    }
    for (const cam of options.cameras ?? []) {
      const short = cam.name.split(/\s+[—–-]\s+/)[0] ?? cam.name;
      for (const label of [cam.id, cam.name, short]) {
        const key = nameKey(label);
        if (key === '') continue;
        if (!this.#cameras.has(key)) this.#cameras.set(key, cam.id);
        maxWords = Math.max(maxWords, tokenizeQuery(label).length);
      }
      this.#cameraNames.set(cam.id, cam.name);
    }
    for (const line of options.lines ?? []) {
      const key = nameKey(line);
      if (key === '') throw new QueryCompilerOptionsError(`line name ${JSON.stringify(line)} has no letters or digits`);
      this.#lines.set(key, line);
      maxWords = Math.max(maxWords, tokenizeQuery(line).length);
    }
    this.#maxPlaceWords = maxWords;
    this.#suggestible = [...SUGGESTIBLE, ...[...this.#zones.values()].map((z) => z.toLowerCase()), ...this.#cameraNames.keys()];
  }

  compile(text: string): QueryCompileResult {
    const trimmed = text.trim();
    if (trimmed === '') return fail('empty', 'Type what to look for, e.g. "person with a red backpack in the loading bay".');
    if (trimmed.length > QUERY_LIMITS.maxChars)
      return fail('too-long', `The query is ${trimmed.length} characters long; the limit is ${QUERY_LIMITS.maxChars}.`);
    const tokens = tokenizeQuery(trimmed);
    if (tokens.length > QUERY_LIMITS.maxTokens)
      return fail('too-many-tokens', `The query has ${tokens.length} words; the limit is ${QUERY_LIMITS.maxTokens}.`);
    if (tokens.length === 0) return fail('empty', 'Type what to look for, e.g. "person with a red backpack in the loading bay".');

    const { items, unknown } = this.#lex(tokens);
    const refused = items.find((i) => i.kind === 'refused');
    if (refused && refused.kind === 'refused') return fail('unsupported', `"${refused.word}": ${refused.reason}`);
    const absence = items.find((i) => i.kind === 'absence');
    if (absence)
      return fail(
        'unsupported',
        `"${absence.word}": queries for the absence of something are not supported; negation works for carried objects only, e.g. "person without a backpack".`,
      );
    let residue: string[] = [];
    if (unknown.length > 0) {
      const failed = this.#unknown(unknown);
      if (!this.#freeText || failed.ok) return failed;
      // A word close to one we know is a typo, not a description: ask, as without an embedder.
      if (Object.values(failed.error.suggestions).some((s) => s.length > 0)) return failed;
      residue = failed.error.unknownTerms;
    }

    let plan: QueryPlan;
    try {
      plan = parse(items, [...new Set(this.#lines.values())]);
    } catch (e) {
      if (e instanceof ParseFailure) {
        if (e.code === 'unknown-terms') return this.#unknown(e.terms);
        return fail(e.code, e.message);
      }
      throw e;
    }
    if (residue.length > 0) {
      // An anomaly rule watches for what happens, not for what the frame looks like: the words stay unknown.
      if (plan.anomaly) return this.#unknown(residue);
      plan.similarity = { text: trimmed.normalize('NFKC').replace(/\s+/g, ' '), terms: residue };
    }
    return { ok: true, plan, explanation: explainPlan(plan, this.#cameraNames) };
  }

  /** The sentence for a plan this compiler made (camera ids shown by name). */
  explain(plan: QueryPlan): string {
    return explainPlan(plan, this.#cameraNames);
  }

  #unknown(terms: string[]): QueryCompileResult {
    const unknownTerms = [...new Set(terms)];
    const suggestions: Record<string, string[]> = {};
    for (const t of unknownTerms) suggestions[t] = RELATED[t] ?? (/^\d/.test(t) ? [] : closest(t, this.#suggestible));
    const list = unknownTerms.map((t) => `"${t}"`).join(', ');
    return {
      ok: false,
      error: { code: 'unknown-terms', error: `Not understood: ${list}.`, unknownTerms, suggestions },
    };
  }

  /** Longest match first; a zone or camera name wins a tie unless the vocabulary word is content after no place word. */
  #lex(tokens: string[]): { items: Item[]; unknown: string[] } {
    const items: Item[] = [];
    const unknown: string[] = [];
    const maxWords = Math.max(MAX_PHRASE_WORDS, this.#maxPlaceWords);
    let p = 0;
    while (p < tokens.length) {
      const prev = tokens[p - 1] ?? '';
      // The word before, skipping articles: "in the lobby" → "in".
      let q = p - 1;
      while (q > 0 && ARTICLES.has(tokens[q] ?? '')) q -= 1;
      const before = tokens[q] ?? '';
      let best: { len: number; item: Item } | null = null;
      for (let len = Math.min(maxWords, tokens.length - p); len >= 1 && best === null; len--) {
        const span = tokens.slice(p, p + len);
        const lexeme = LEXICON.get(span.join(' '));
        const key = span.join('');
        const zone = this.#zones.get(key);
        const camera = this.#cameras.get(key);
        const line = this.#lines.get(key);
        const word = span.join(' ');
        const next = tokens[p + len] ?? '';
        // A line's name followed by "line" is the line ("the gate line"), whatever else the words mean.
        if (line !== undefined && (next === 'line' || next === 'lines' || (!lexeme && zone === undefined && camera === undefined))) {
          best = { len, item: { kind: 'line', name: line, word, prev } };
          break;
        }
        const cameraHint = CAMERA_WORDS.has(before) || CAMERA_WORDS.has(next);
        const place: Item | null =
          camera !== undefined && (zone === undefined || cameraHint)
            ? { kind: 'camera', id: camera, word, prev }
            : zone !== undefined
              ? { kind: 'zone', name: zone, word, prev }
              : null;
        const beforeKind = LEXICON.get(before)?.kind;
        const placeContext = beforeKind === 'place' || beforeKind === 'zone-word' || cameraHint;
        // A zone or camera named like a crossing word ("the crossing") is the place.
        if (place && (!lexeme || lexeme.kind === 'filler' || lexeme.kind === 'cross' || placeContext)) best = { len, item: place };
        else if (lexeme) best = { len, item: { ...lexeme, word, prev } };
        else if (place) best = { len, item: place };
      }
      if (best) {
        if (best.item.kind !== 'filler') items.push(best.item);
        p += best.len;
        continue;
      }
      const tok = tokens[p] ?? '';
      const clock = CLOCK.exec(tok);
      if (clock) items.push({ kind: 'time', h: Number(clock[1]), m: Number(clock[2]), word: tok, prev });
      else if (/^\d+$/.test(tok)) items.push({ kind: 'number', n: Number(tok), word: tok, prev });
      else unknown.push(tok);
      p += 1;
    }
    return { items, unknown };
  }
}

function fail(code: QueryErrorCode, error: string): { ok: false; error: QueryError } {
  return { ok: false, error: { code, error, unknownTerms: [], suggestions: {} } };
}

/** Reads a time at items[k]: "22:00", "6am", "6 pm", "10:30pm", "noon", or a bare hour 0–23. */
function readTime(items: readonly Item[], k: number): { hhmm: string; next: number } | null {
  const it = items[k];
  if (!it) return null;
  if (it.kind === 'clock') return { hhmm: it.hhmm, next: k + 1 };
  let h: number;
  let m = 0;
  if (it.kind === 'time') {
    h = it.h;
    m = it.m;
  } else if (it.kind === 'number') h = it.n;
  else return null;
  const mer = items[k + 1];
  if (mer?.kind === 'meridiem') {
    if (h < 1 || h > 12 || m > 59) throw new ParseFailure('invalid', `"${it.word} ${mer.word}" is not a time of day.`);
    return { hhmm: hhmm((h % 12) + (mer.pm ? 12 : 0), m), next: k + 2 };
  }
  if (h > 23 || m > 59) throw new ParseFailure('invalid', `"${it.word}" is not a time of day; use 00:00–23:59 or 1–12 am/pm.`);
  return { hhmm: hhmm(h, m), next: k + 1 };
}

function parse(items: readonly Item[], lines: readonly string[]): QueryPlan {
  const st: ParseState = {
    subject: null,
    subjectColors: [],
    carrying: [],
    mode: 'subject',
    join: null,
    afterPlace: false,
    crowd: false,
    loiter: false,
    loiterer: false,
    time: {},
    days: new Set(),
    zones: [],
    cameras: [],
    unknown: [],
  };
  let i = 0;
  while (i < items.length) {
    const it = items[i] as Item;
    switch (it.kind) {
      case 'or':
      case 'and':
        st.join = it.kind;
        i += 1;
        continue;
      case 'class':
        addClass(st, it.classes, [], it.word);
        i += 1;
        break;
      case 'color': {
        const colors: BasicColor[] = [it.color];
        let j = i + 1;
        for (;;) {
          const a = items[j];
          const b = items[j + 1];
          if (a?.kind === 'color') {
            colors.push(a.color);
            j += 1;
          } else if ((a?.kind === 'or' || a?.kind === 'and') && b?.kind === 'color') {
            colors.push(b.color);
            j += 2;
          } else break;
        }
        const next = items[j];
        if (next?.kind === 'class') {
          addClass(st, next.classes, colors, `${it.word} ${next.word}`);
          i = j + 1;
        } else if (next?.kind === 'garment') {
          st.subjectColors.push({ part: next.part, colors, word: `${it.word} ${next.word}` });
          i = j + 1;
        } else if (it.word === 'orange' && colors.length === 1 && !COLOR_CONTEXT.has(it.prev)) {
          addClass(st, ['orange'], [], it.word);
          i = j;
        } else {
          st.subjectColors.push({ part: 'auto', colors, word: it.word });
          i = j;
        }
        break;
      }
      case 'garment':
        throw new ParseFailure('unsupported', `"${it.word}": clothes can only be matched by their colour, e.g. "blue jeans" or "red shirt".`);
      case 'with':
        st.mode = 'carry';
        st.afterPlace = false;
        i += 1;
        continue;
      case 'without':
        st.mode = 'carry-neg';
        st.afterPlace = false;
        i += 1;
        continue;
      case 'place':
      case 'zone-word':
        st.mode = 'subject';
        st.afterPlace = true;
        i += 1;
        continue;
      case 'cmp': {
        const num = items[i + 1];
        if (num?.kind !== 'number') {
          if (['over', 'under', 'above', 'below'].includes(it.word)) {
            st.mode = 'subject';
            st.afterPlace = true;
            i += 1;
            continue;
          }
          throw new ParseFailure('invalid', `"${it.word}" must be followed by a number, e.g. "${it.word} 5 people".`);
        }
        const unit = items[i + 2];
        if (unit?.kind === 'unit') {
          setDwell(st, it.op, num.n * unit.seconds, `${it.word} ${num.word} ${unit.word}`);
          i += 3;
        } else {
          setCount(st, it.op, num.n, `${it.word} ${num.word}`, items[i + 2]);
          i += 2;
        }
        break;
      }
      case 'number': {
        const next = items[i + 1];
        if (next?.kind === 'unit') {
          setDwell(st, '>=', it.n * next.seconds, `${it.word} ${next.word}`);
          i += 2;
        } else if (next?.kind === 'class' || (next?.kind === 'color' && items[i + 2]?.kind === 'class')) {
          if (it.n !== 1) setCount(st, '>=', it.n, it.word, next);
          i += 1;
        } else if (next?.kind === 'meridiem') {
          throw new ParseFailure('invalid', `"${it.word} ${next.word}": say "after", "before" or "between" with a time.`);
        } else {
          st.unknown.push(it.word);
          i += 1;
        }
        break;
      }
      case 'time':
      case 'clock':
        throw new ParseFailure('invalid', `"${it.word}": say "after", "before" or "between" with a time, e.g. "after 22:00".`);
      case 'for': {
        const a = items[i + 1];
        const b = items[i + 2];
        const c = items[i + 3];
        if (a?.kind === 'cmp' && b?.kind === 'number' && c?.kind === 'unit') {
          setDwell(st, a.op, b.n * c.seconds, `for ${a.word} ${b.word} ${c.word}`);
          i += 4;
        } else if (a?.kind === 'number' && b?.kind === 'unit') {
          setDwell(st, '>=', a.n * b.seconds, `for ${a.word} ${b.word}`);
          i += 3;
        } else if (a?.kind === 'unit') {
          setDwell(st, '>=', a.seconds, `for ${a.word}`);
          i += 2;
        } else i += 1;
        break;
      }
      case 'unit':
      case 'meridiem':
        st.unknown.push(it.word);
        i += 1;
        break;
      case 'loiter':
        st.loiter = true;
        if (it.person) st.loiterer = true;
        i += 1;
        break;
      case 'after':
      case 'before': {
        const t = readTime(items, i + 1);
        if (!t) throw new ParseFailure('invalid', `"${it.word}" must be followed by a time, e.g. "${it.word} 22:00" or "${it.word} 6am".`);
        if (st.time[it.kind] !== undefined) throw new ParseFailure('too-complex', `Only one "${it.word}" time per query.`);
        st.time[it.kind] = t.hhmm;
        i = t.next;
        break;
      }
      case 'between':
      case 'from': {
        const t1 = readTime(items, i + 1);
        const sep = t1 ? items[t1.next] : undefined;
        const okSep = sep?.kind === 'and' || (it.kind === 'from' && sep?.kind === 'until');
        const t2 = t1 && okSep ? readTime(items, t1.next + 1) : null;
        if (!t1 || !t2) {
          if (it.kind === 'from' && !t1) {
            i += 1;
            continue;
          }
          throw new ParseFailure('invalid', `"${it.word}" needs two times, e.g. "between 22:00 and 06:00".`);
        }
        if (t1.hhmm === t2.hhmm) throw new ParseFailure('invalid', `"${it.word} ${t1.hhmm} and ${t2.hhmm}" is an empty time window.`);
        if (st.time.after !== undefined || st.time.before !== undefined) throw new ParseFailure('too-complex', 'Only one time window per query.');
        st.time.after = t1.hhmm;
        st.time.before = t2.hhmm;
        i = t2.next;
        break;
      }
      case 'until': {
        const t = readTime(items, i + 1);
        if (t) {
          if (st.time.before !== undefined) throw new ParseFailure('too-complex', 'Only one time window per query.');
          st.time.before = t.hhmm;
          i = t.next;
        } else if (it.word === 'to') i += 1;
        else throw new ParseFailure('invalid', `"${it.word}" must be followed by a time, e.g. "until 06:00".`);
        break;
      }
      case 'period':
        if (st.time.after !== undefined || st.time.before !== undefined) throw new ParseFailure('too-complex', 'Only one time window per query.');
        st.time.after = it.after;
        st.time.before = it.before;
        i += 1;
        break;
      case 'days':
        for (const d of it.days) st.days.add(d);
        i += 1;
        break;
      case 'zone':
        if (!st.zones.includes(it.name)) st.zones.push(it.name);
        st.mode = 'subject';
        i += 1;
        break;
      case 'camera':
        if (!st.cameras.includes(it.id)) st.cameras.push(it.id);
        st.mode = 'subject';
        i += 1;
        break;
      case 'crowd':
        setCount(st, '>=', it.n, it.word, undefined);
        st.crowd = true;
        i += 1;
        break;
      case 'anomaly':
        if (st.anomaly && st.anomaly.type !== it.type) throw new ParseFailure('too-complex', `"${st.anomaly.word}" and "${it.word}": one anomaly per query.`);
        st.anomaly = { type: it.type, word: it.word };
        i += 1;
        break;
      case 'cross':
        st.cross = { ...(it.direction ? { direction: it.direction } : {}), word: it.word };
        st.mode = 'subject';
        i += 1;
        break;
      case 'direction':
        st.direction = it.direction;
        i += 1;
        break;
      case 'line':
        if (st.line !== undefined && st.line !== it.name) throw new ParseFailure('too-complex', 'One line per query.');
        st.line = it.name;
        st.mode = 'subject';
        i += 1;
        break;
      case 'line-word':
        i += 1;
        break;
      case 'wear':
      case 'camera-word':
      case 'filler':
      case 'refused':
      case 'absence':
        i += 1;
        break;
    }
    st.join = null;
  }
  if (st.unknown.length > 0) throw new ParseFailure('unknown-terms', 'not understood', st.unknown);
  return finish(st, lines);
}

function addClass(st: ParseState, classes: CocoClass[], colors: BasicColor[], word: string): void {
  if (st.mode !== 'subject') {
    if (st.subject === null) throw new ParseFailure('no-subject', `Say who or what carries the ${word}, e.g. "person with a ${word}".`);
    const last = st.carrying[st.carrying.length - 1];
    if (st.join === 'or' && last) {
      last.classes = sortedClasses([...last.classes, ...classes]);
      if (colors.length > 0) last.colors = sortedColors([...(last.colors ?? []), ...colors]);
      return;
    }
    const obj: CarriedObject = { classes: sortedClasses(classes) };
    if (colors.length > 0) obj.colors = sortedColors(colors);
    if (st.mode === 'carry-neg') obj.negated = true;
    st.carrying.push(obj);
    if (st.carrying.length > QUERY_LIMITS.maxCarried)
      throw new ParseFailure('too-many-carried', `At most ${QUERY_LIMITS.maxCarried} carried objects per query.`);
    return;
  }
  if (st.subject === null) {
    st.subject = sortedClasses(classes);
    if (colors.length > 0) st.subjectColors.push({ part: 'auto', colors, word });
    return;
  }
  if (st.join === 'or') {
    if (colors.length > 0)
      throw new ParseFailure('too-complex', `"${word}": a colour can apply to the whole subject only ("red car or truck"), not to one alternative.`);
    st.subject = sortedClasses([...st.subject, ...classes]);
    return;
  }
  if (st.afterPlace)
    throw new ParseFailure('too-complex', `"${word}": relations between objects other than carrying are not supported; name places by zone or camera.`);
  throw new ParseFailure('too-complex', `"${word}": one kind of subject per query; join alternatives with "or" ("person or dog").`);
}

function setCount(st: ParseState, op: QueryCountOp, n: number, word: string, next: Item | undefined): void {
  if (st.mode !== 'subject' && (next?.kind === 'class' || next?.kind === 'color'))
    throw new ParseFailure('unsupported', `"${word}": carried objects cannot be counted; counts apply to the subject.`);
  if (st.count !== undefined) throw new ParseFailure('too-complex', `"${word}": only one count per query.`);
  if (n > QUERY_LIMITS.maxCount) throw new ParseFailure('invalid', `"${word}": counts go up to ${QUERY_LIMITS.maxCount}.`);
  if ((op === '<' && n <= 1) || (op === '<=' && n === 0) || (op === '=' && n === 0))
    throw new ParseFailure('unsupported', `"${word}": queries for the absence of something are not supported.`);
  st.count = { op, n };
}

function setDwell(st: ParseState, op: QueryCountOp, seconds: number, word: string): void {
  if (op === '<' || op === '<=') throw new ParseFailure('unsupported', `"${word}": a stay can only be a minimum, e.g. "for over 5 minutes".`);
  if (st.dwellSeconds !== undefined) throw new ParseFailure('too-complex', `"${word}": only one duration per query.`);
  if (seconds <= 0 || seconds > QUERY_LIMITS.maxDwellSeconds)
    throw new ParseFailure('invalid', `"${word}": a stay must be between 1 second and ${QUERY_LIMITS.maxDwellSeconds / 3600} hours.`);
  st.dwellSeconds = seconds;
}

function finish(st: ParseState, lines: readonly string[]): QueryPlan {
  const rule = anomalyOf(st, lines);
  let subject = st.subject;
  if (subject === null) {
    if (rule?.type === 'abandoned') subject = ['backpack', 'handbag', 'suitcase'];
    else if (!st.crowd && !st.loiterer && !rule) throw new ParseFailure('no-subject', 'Say what to look for, e.g. "person", "car" or "dog".');
    else subject = ['person'];
  }
  if (rule?.type === 'abandoned' && subject.some((c) => !BAG_CLASSES.includes(c)))
    throw new ParseFailure('unsupported', `"${st.anomaly?.word ?? 'unattended'}": only bags are watched for being left (backpack, handbag, suitcase), not ${subject.join(' or ')}.`);
  if (subject.length > QUERY_LIMITS.maxClasses)
    throw new ParseFailure(
      'too-many-classes',
      `The query names ${subject.length} classes (${subject.join(', ')}); the limit is ${QUERY_LIMITS.maxClasses}.`,
    );
  const personOnly = subject.length === 1 && subject[0] === 'person';
  const parts = new Map<ColorPart, BasicColor[]>();
  for (const c of st.subjectColors) {
    if ((c.part === 'upper' || c.part === 'lower') && !personOnly)
      throw new ParseFailure('invalid', `"${c.word}" describes a person's clothes, but the query looks for ${subject.join(' or ')}.`);
    const part: ColorPart = c.part === 'auto' ? (personOnly ? 'upper' : 'any') : c.part;
    parts.set(part, [...(parts.get(part) ?? []), ...c.colors]);
  }
  const colors: ColorConstraint[] = [...parts.entries()]
    .sort(([a], [b]) => PART_ORDER[a] - PART_ORDER[b])
    .map(([part, cs]) => ({ part, colors: sortedColors(cs) }));

  const plan: QueryPlan = { version: QUERY_PLAN_VERSION, subject: { classes: subject } };
  if (colors.length > 0) plan.subject.colors = colors;
  if (st.carrying.length > 0) plan.subject.carrying = st.carrying;
  if (st.count && !rule) plan.count = st.count;
  if (st.zones.length > 0) plan.zones = st.zones;
  if (st.cameras.length > 0) plan.cameras = st.cameras;
  const dwell = rule ? undefined : (st.dwellSeconds ?? (st.loiter ? LOITER_SECONDS : undefined));
  if (dwell !== undefined) plan.dwell = { minSeconds: dwell };
  if (rule) plan.anomaly = rule;
  const time: QueryTimeWindow = { ...st.time };
  if (st.days.size > 0 && st.days.size < 7) time.days = [...st.days].sort((a, b) => a - b);
  if (time.after !== undefined || time.before !== undefined || time.days) plan.time = time;
  return plan;
}

const BAG_CLASSES: readonly CocoClass[] = ['backpack', 'handbag', 'suitcase'];

/**
 * The anomaly rule the words ask for, if any: loitering (a person-word like "loitering", its duration
 * or the preset's), a crowd forming, a bag left unattended, after hours, unusual movement, or crossing
 * a line (with a count and a window: "more than 20 people entered in 10 minutes").
 */
function anomalyOf(st: ParseState, lines: readonly string[]): AnomalyRule | undefined {
  const kinds = [st.anomaly?.type, st.cross || st.line !== undefined ? 'line' : undefined, st.loiter && st.loiterer ? 'loitering' : undefined].filter((k): k is string => k !== undefined);
  if (kinds.length > 1) throw new ParseFailure('too-complex', `One anomaly per query: the words ask for ${kinds.join(' and ')}.`);
  const kind = kinds[0];
  if (!kind) return undefined;
  const noCount = (what: string): void => {
    if (st.count && !st.crowd) throw new ParseFailure('too-complex', `${what} cannot be combined with a count.`);
  };
  switch (kind) {
    case 'loitering':
      noCount('Loitering');
      return { type: 'loitering', minSeconds: st.dwellSeconds ?? ANOMALY_PRESETS.loitering.minSeconds };
    case 'crowd':
      if (st.dwellSeconds !== undefined) throw new ParseFailure('too-complex', 'A crowd forming is judged over a minute; it takes no duration.');
      return { ...ANOMALY_PRESETS.crowd };
    case 'abandoned':
      noCount('A bag left unattended');
      return { ...ANOMALY_PRESETS.abandoned, minSeconds: st.dwellSeconds ?? ANOMALY_PRESETS.abandoned.minSeconds };
    case 'after-hours':
      noCount('After hours');
      if (st.time.after !== undefined || st.time.before !== undefined) throw new ParseFailure('too-complex', '"after hours" means outside the zone\'s schedule; give either that or a time window, not both.');
      return { type: 'after-hours' };
    case 'unusual':
      noCount('Unusual movement');
      return { ...ANOMALY_PRESETS.unusual };
    default: {
      const line = st.line ?? (lines.length === 1 ? lines[0] : undefined);
      if (line === undefined) {
        throw new ParseFailure(
          lines.length === 0 ? 'unsupported' : 'invalid',
          lines.length === 0
            ? `"${st.cross?.word ?? 'line'}": no camera has a line to cross; add \`lines\` to a camera in streams.config.`
            : `Say which line: ${lines.map((l) => `"${l} line"`).join(', ')}.`,
        );
      }
      const direction = st.direction ?? st.cross?.direction;
      const rule: AnomalyRule = { type: 'line', line, ...(direction ? { direction } : {}) };
      if (st.count) {
        if (st.count.op !== '>' && st.count.op !== '>=') throw new ParseFailure('unsupported', 'Crossings can be counted as "more than" or "at least" a number.');
        if (st.dwellSeconds === undefined) throw new ParseFailure('invalid', 'Say over what time the crossings are counted, e.g. "in 10 minutes".');
        return { ...rule, count: { op: st.count.op, n: st.count.n, windowSeconds: st.dwellSeconds } };
      }
      if (st.dwellSeconds !== undefined) throw new ParseFailure('invalid', 'A duration goes with a count of crossings, e.g. "more than 20 people entered in 10 minutes".');
      return rule;
    }
  }
}
