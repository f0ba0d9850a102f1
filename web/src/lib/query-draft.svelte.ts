import type { QueryError, QueryPatchInput, QueryPlan, Severity, StandingQuery } from '@chronotrace/contracts';
import { compileQuery, createQuery, deleteQuery, errorText, updateQuery, type QuerySaveResult } from './api';
import { runBacktest, type BacktestRun, type QueryState } from './queries.svelte';

/** Pause in typing before the text is sent to be explained. */
export const EXPLAIN_DEBOUNCE_MS = 250;

/** How the server understood a text (the latest answer, which may be for an earlier text). */
export type Understanding =
  | { state: 'idle' }
  | { state: 'ok'; text: string; explanation: string; plan: QueryPlan }
  | { state: 'rejected'; text: string; error: QueryError }
  /** The compile endpoint itself failed (network, 5xx): nothing is known about the text. */
  | { state: 'failed'; text: string; error: string };

function isAbort(e: unknown): boolean {
  return e instanceof DOMException && e.name === 'AbortError';
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function sameCameras(a: readonly string[] | null, b: readonly string[]): boolean {
  const x = [...(a ?? [])].sort();
  const y = [...b].sort();
  return x.length === y.length && x.every((c, i) => c === y[i]);
}

/**
 * The query being composed: explained live as the operator types (debounced, stale requests
 * aborted), tried on the last hour before it is armed (saved disarmed, then backtested), then armed.
 * `close()` stops the pending explanation.
 */
export class QueryDraft {
  #text = $state('');
  severity: Severity = $state('warning');
  /** Cameras to limit the query to; empty: as the text says. */
  cameras: string[] = $state([]);
  understanding: Understanding = $state.raw({ state: 'idle' });
  /** An explanation is being fetched (or waits for the typing to pause). */
  checking = $state(false);
  /** The disarmed copy saved to try the text on the last hour, if any. */
  saved: StandingQuery | null = $state.raw(null);
  backtest: BacktestRun | null = $state.raw(null);
  busy: 'backtest' | 'arm' | 'discard' | null = $state(null);
  error: string | null = $state(null);
  /** The query armed last, for the confirmation line; cleared when typing resumes. */
  lastArmed: StandingQuery | null = $state.raw(null);

  readonly trimmed = $derived(this.#text.trim());
  /** The latest understanding is for the text as it stands. */
  readonly current = $derived(this.understanding.state !== 'idle' && this.understanding.text === this.trimmed);
  /** The server already said it does not understand this very text: saving would fail the same way. */
  readonly rejected = $derived(this.current && this.understanding.state === 'rejected');
  readonly canSubmit = $derived(this.trimmed !== '' && this.busy === null && !this.rejected);

  private timer: ReturnType<typeof setTimeout> | undefined;
  private inflight: AbortController | null = null;

  /**
   * @param queries the list a saved or armed query is put in ahead of the broadcast
   * @param debounceMs pause in typing before explaining (default EXPLAIN_DEBOUNCE_MS)
   */
  constructor(
    private readonly queries: QueryState,
    readonly debounceMs = EXPLAIN_DEBOUNCE_MS,
  ) {}

  get text(): string {
    return this.#text;
  }

  set text(value: string) {
    if (value === this.#text) return;
    this.#text = value;
    this.lastArmed = null;
    this.schedule();
  }

  /** The saved try-out has this text, severity and cameras: arming it needs no edit. */
  savedMatches(): boolean {
    const s = this.saved;
    return s !== null && s.text === this.trimmed && s.severity === this.severity && sameCameras(s.cameras, this.cameras);
  }

  /** Replaces the first whole-word occurrence of an unknown term and explains the result at once. */
  replaceTerm(term: string, replacement: string): void {
    const re = new RegExp(`(^|[^\\p{L}\\p{N}])${escapeRegExp(term)}(?=$|[^\\p{L}\\p{N}])`, 'iu');
    const next = this.#text.replace(re, (_match: string, before: string) => before + replacement);
    if (next === this.#text) return;
    this.#text = next;
    this.lastArmed = null;
    void this.explainNow();
  }

  async explainNow(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.inflight?.abort();
    const text = this.trimmed;
    if (text === '') {
      this.inflight = null;
      this.checking = false;
      this.understanding = { state: 'idle' };
      return;
    }
    const ctl = new AbortController();
    this.inflight = ctl;
    this.checking = true;
    try {
      const res = await compileQuery(text, ctl.signal);
      if (ctl.signal.aborted) return;
      if (!res.ok) this.understanding = { state: 'failed', text, error: errorText(res) };
      else if (res.value.ok) this.understanding = { state: 'ok', text, explanation: res.value.explanation, plan: res.value.plan };
      else this.understanding = { state: 'rejected', text, error: res.value.error };
    } catch (e) {
      // Superseded by a newer text: its own request reports.
      if (!isAbort(e)) throw e;
    } finally {
      if (this.inflight === ctl) {
        this.inflight = null;
        this.checking = false;
      }
    }
  }

  /** Saves the text disarmed (or updates the saved copy) and replays the last hour with it. */
  async tryOnLastHour(): Promise<void> {
    if (!this.canSubmit) return;
    this.busy = 'backtest';
    this.error = null;
    try {
      const saved = await this.save(false);
      if (!saved) return;
      this.backtest = { state: 'running', text: saved.text };
      this.backtest = await runBacktest(saved);
    } finally {
      this.busy = null;
    }
  }

  /** Arms the text: the tried copy when there is one, else a new query. Clears the composer. */
  async arm(): Promise<void> {
    if (!this.canSubmit) return;
    this.busy = 'arm';
    this.error = null;
    try {
      const armed = await this.save(true);
      if (!armed) return;
      clearTimeout(this.timer);
      this.inflight?.abort();
      this.#text = '';
      this.cameras = [];
      this.saved = null;
      this.backtest = null;
      this.checking = false;
      this.understanding = { state: 'idle' };
      this.lastArmed = armed;
    } finally {
      this.busy = null;
    }
  }

  /** Deletes the disarmed try-out and its backtest; the text stays. */
  async discard(): Promise<void> {
    const saved = this.saved;
    if (!saved || this.busy !== null) return;
    this.busy = 'discard';
    this.error = null;
    try {
      const res = await deleteQuery(saved.id);
      if (!res.ok && res.status !== 404) {
        this.error = errorText(res);
        return;
      }
      this.saved = null;
      this.backtest = null;
    } finally {
      this.busy = null;
    }
  }

  close(): void {
    clearTimeout(this.timer);
    this.inflight?.abort();
    this.inflight = null;
  }

  private schedule(): void {
    clearTimeout(this.timer);
    this.inflight?.abort();
    this.inflight = null;
    if (this.trimmed === '') {
      this.timer = undefined;
      this.checking = false;
      this.understanding = { state: 'idle' };
      return;
    }
    this.checking = true;
    this.timer = setTimeout(() => void this.explainNow(), this.debounceMs);
  }

  /** POST (new) or PATCH (the saved try-out, only what changed). Null when it failed (shown). */
  private async save(armed: boolean): Promise<StandingQuery | null> {
    const text = this.trimmed;
    const cameras = [...this.cameras];
    let res: QuerySaveResult | null = null;
    if (this.saved) {
      const s = this.saved;
      const patch: QueryPatchInput = {};
      if (s.text !== text) patch.text = text;
      if (s.severity !== this.severity) patch.severity = this.severity;
      if (!sameCameras(s.cameras, cameras)) patch.cameras = cameras.length > 0 ? cameras : null;
      if (armed && !s.armed) patch.armed = true;
      if (Object.keys(patch).length === 0) return s;
      res = await updateQuery(s.id, patch);
      // Deleted elsewhere meanwhile: save it afresh.
      if (!res.ok && res.status === 404) {
        this.saved = null;
        res = null;
      }
    }
    res ??= await createQuery({ text, severity: this.severity, armed, ...(cameras.length > 0 ? { cameras } : {}) });
    if (!res.ok) {
      if (res.rejection) this.understanding = { state: 'rejected', text, error: res.rejection };
      else this.error = errorText(res);
      return null;
    }
    this.queries.upsert(res.value);
    this.saved = res.value;
    return res.value;
  }
}
