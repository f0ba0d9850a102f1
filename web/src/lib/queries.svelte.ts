import type { BacktestResult, StandingQuery } from '@chronotrace/contracts';
import { backtestQuery, deleteQuery, errorText, listQueries, updateQuery } from './api';

/** A backtest of one query: running, done, or failed with the API's message. */
export type BacktestRun =
  | { state: 'running'; text: string }
  | { state: 'done'; text: string; result: BacktestResult }
  | { state: 'failed'; text: string; error: string };

/** Newest first. */
function newestFirst(a: StandingQuery, b: StandingQuery): number {
  return b.createdAt - a.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/** Runs a backtest of a saved query over the server's default window (the last hour). */
export async function runBacktest(query: StandingQuery): Promise<BacktestRun> {
  const res = await backtestQuery(query.id);
  return res.ok ? { state: 'done', text: query.text, result: res.value } : { state: 'failed', text: query.text, error: errorText(res) };
}

/**
 * The standing queries: loaded from GET /api/queries, replaced by the `queries` broadcast
 * (the whole list after any change, by anyone), and changed from this page.
 */
export class QueryState {
  items: StandingQuery[] = $state.raw([]);
  loaded = $state(false);
  loadError: string | null = $state(null);
  /** Queries with a toggle or delete in flight. */
  busy: ReadonlySet<string> = $state.raw(new Set());
  /** The last failed change's message, per query. */
  errors: Readonly<Record<string, string>> = $state.raw({});
  backtests: Readonly<Record<string, BacktestRun>> = $state.raw({});

  readonly armedCount = $derived(this.items.filter((q) => q.armed).length);

  get(id: string): StandingQuery | undefined {
    return this.items.find((q) => q.id === id);
  }

  async load(signal?: AbortSignal): Promise<void> {
    const res = await listQueries(signal);
    this.loaded = true;
    if (!res.ok) {
      this.loadError = errorText(res);
      return;
    }
    this.loadError = null;
    this.reconcile(res.value);
  }

  /** The whole list (GET or broadcast). A newer version this page already has is kept. */
  reconcile(list: StandingQuery[]): void {
    this.loaded = true;
    const mine = new Map(this.items.map((q) => [q.id, q]));
    this.items = list.map((q) => {
      const had = mine.get(q.id);
      return had && had.version > q.version ? had : q;
    }).sort(newestFirst);
    const ids = new Set(this.items.map((q) => q.id));
    this.backtests = Object.fromEntries(Object.entries(this.backtests).filter(([id]) => ids.has(id)));
  }

  /** One query from a 200/201 answer, ahead of the broadcast. */
  upsert(query: StandingQuery): void {
    const had = this.get(query.id);
    if (had && had.version > query.version) return;
    this.items = (had ? this.items.map((q) => (q.id === query.id ? query : q)) : [...this.items, query]).sort(newestFirst);
  }

  async setArmed(id: string, armed: boolean): Promise<void> {
    await this.change(id, async () => {
      const res = await updateQuery(id, { armed });
      if (!res.ok) return errorText(res);
      this.upsert(res.value);
      return null;
    });
  }

  async remove(id: string): Promise<boolean> {
    let gone = false;
    await this.change(id, async () => {
      const res = await deleteQuery(id);
      // 404: someone else deleted it already; the list should simply follow.
      if (!res.ok && res.status !== 404) return errorText(res);
      gone = true;
      this.items = this.items.filter((q) => q.id !== id);
      const { [id]: _dropped, ...rest } = this.backtests;
      this.backtests = rest;
      return null;
    });
    return gone;
  }

  async backtest(id: string): Promise<void> {
    const query = this.get(id);
    if (!query || this.backtests[id]?.state === 'running') return;
    this.backtests = { ...this.backtests, [id]: { state: 'running', text: query.text } };
    const run = await runBacktest(query);
    // Deleted meanwhile: nothing to show it under.
    if (this.get(id)) this.backtests = { ...this.backtests, [id]: run };
  }

  closeBacktest(id: string): void {
    const { [id]: _closed, ...rest } = this.backtests;
    this.backtests = rest;
  }

  /** Runs one change at a time per query, keeping its error (or clearing it on success). */
  private async change(id: string, work: () => Promise<string | null>): Promise<void> {
    if (this.busy.has(id)) return;
    this.busy = new Set([...this.busy, id]);
    try {
      const error = await work();
      const { [id]: _old, ...rest } = this.errors;
      this.errors = error === null ? rest : { ...rest, [id]: error };
    } finally {
      const next = new Set(this.busy);
      next.delete(id);
      this.busy = next;
    }
  }
}
