import { randomBytes } from 'node:crypto';
import {
  backtestSchema,
  formatIssues,
  type CameraRecord,
  newQuerySchema,
  queryPatchSchema,
  type BacktestResult,
  type QueryCompileResult,
  type QueryPlan,
  type QueryRejection,
  type StandingQuery,
} from '@chronotrace/contracts';
import type { Logger, Store } from '@chronotrace/platform';
import { Backtest, QueryCompiler, SimilarityCalibrator, siteOfCamera, type Embedder, type SimilarityCalibratorOptions, type SimilarityJudgement, type TrackMatcherOptions } from '@chronotrace/pipeline';

export type QueryOutcome =
  | { ok: true; query: StandingQuery }
  | { ok: false; status: 400; error: string; details?: string[]; rejection?: QueryRejection }
  | { ok: false; status: 404 | 409; error: string };

export type BacktestOutcome = { ok: true; result: BacktestResult } | { ok: false; status: 400 | 404 | 429; error: string; details?: string[] };

export interface QueryServiceOptions {
  store: Store;
  /** The live matcher's options: backtests replay with the same hysteresis and cooldown. */
  matcher: TrackMatcherOptions;
  log: Logger;
  /** Longest backtest range. Default 7 days. */
  maxBacktestRangeMs?: number;
  /** A backtest stops (truncated) after this much wall time. Default 20 s. */
  backtestBudgetMs?: number;
  /** Backtests running at once in this process; more are refused with 429. Default 2. */
  maxConcurrentBacktests?: number;
  /** An embedder is on: free-text words become a similarity term, and backtests replay it from stored frame embeddings. */
  similarity?: { embedder: Embedder; calibration: SimilarityCalibratorOptions };
}

const DEFAULT_BACKTEST_RANGE_MS = 3600_000;
const BACKTEST_PAGE = 20_000;

/**
 * Standing queries: compile plain language against the current cameras and zones, store, edit,
 * arm/disarm, delete, and backtest over the stored scene. The store is the source of truth; match
 * stages follow it (and this process is told at once through onChange).
 */
export class QueryService {
  private readonly listeners = new Set<() => void>();
  private backtestsRunning = 0;

  constructor(private readonly o: QueryServiceOptions) {}

  /** A compiler knowing every camera (id and name) and zone name there is now. */
  async compiler(cameras?: readonly CameraRecord[]): Promise<QueryCompiler> {
    cameras ??= await this.o.store.cameras.list();
    const zones = [...new Set(cameras.flatMap((c) => c.zones.map((z) => z.name)))];
    const lines = [...new Set(cameras.flatMap((c) => (c.lines ?? []).map((l) => l.name)))];
    return new QueryCompiler({ zones, lines, cameras: cameras.map((c) => ({ id: c.id, name: c.name })), freeText: this.o.similarity !== undefined });
  }

  async compile(text: string): Promise<QueryCompileResult> {
    return (await this.compiler()).compile(text);
  }

  list(): Promise<StandingQuery[]> {
    return this.o.store.queries.list();
  }

  get(id: string): Promise<StandingQuery | null> {
    return this.o.store.queries.get(id);
  }

  async create(input: unknown): Promise<QueryOutcome> {
    const parsed = newQuerySchema.safeParse(input);
    if (!parsed.success) return { ok: false, status: 400, error: 'invalid query', details: formatIssues(parsed.error.issues) };
    const body = parsed.data;
    const compiled = await this.understand(body.text, body.cameras ?? null);
    if (!compiled.ok) return compiled;
    const now = Date.now();
    const query: StandingQuery = {
      id: `q-${randomBytes(6).toString('hex')}`,
      text: body.text.trim(),
      plan: compiled.plan,
      explanation: compiled.explanation,
      cameras: body.cameras ?? null,
      severity: body.severity,
      armed: body.armed,
      version: 1,
      createdAt: now,
      updatedAt: now,
    };
    await this.o.store.queries.insert(query);
    this.o.log.info({ query: query.id, text: query.text, armed: query.armed }, 'standing query created');
    this.changed();
    return { ok: true, query };
  }

  async update(id: string, input: unknown): Promise<QueryOutcome> {
    const parsed = queryPatchSchema.safeParse(input);
    if (!parsed.success) return { ok: false, status: 400, error: 'invalid query change', details: formatIssues(parsed.error.issues) };
    const patch = parsed.data;
    const current = await this.o.store.queries.get(id);
    if (!current) return { ok: false, status: 404, error: `no query "${id}"` };
    const text = patch.text?.trim() ?? current.text;
    const cameras = patch.cameras === undefined ? current.cameras : patch.cameras;
    let plan = current.plan;
    let explanation = current.explanation;
    if (patch.text !== undefined || patch.cameras !== undefined) {
      const compiled = await this.understand(text, cameras);
      if (!compiled.ok) return compiled;
      plan = compiled.plan;
      explanation = compiled.explanation;
    }
    const next: StandingQuery = {
      ...current,
      text,
      cameras,
      plan,
      explanation,
      severity: patch.severity ?? current.severity,
      armed: patch.armed ?? current.armed,
      version: current.version + 1,
      updatedAt: Math.max(Date.now(), current.updatedAt + 1),
    };
    if (!(await this.o.store.queries.update(next, current.version))) {
      return { ok: false, status: 409, error: `query "${id}" was changed or deleted meanwhile; reload and try again` };
    }
    this.o.log.info({ query: id, version: next.version, armed: next.armed }, 'standing query updated');
    this.changed();
    return { ok: true, query: next };
  }

  async remove(id: string): Promise<boolean> {
    const gone = await this.o.store.queries.delete(id);
    if (gone) {
      this.o.log.info({ query: id }, 'standing query deleted');
      this.changed();
    }
    return gone;
  }

  /** Replays stored scene frames of [from, to) (default the last hour) through this query alone; fires nothing. */
  async backtest(id: string, input: unknown): Promise<BacktestOutcome> {
    // Each replay holds a page of frames (and embeddings) in memory and keeps the store busy.
    if (this.backtestsRunning >= (this.o.maxConcurrentBacktests ?? 2)) {
      return { ok: false, status: 429, error: 'other backtests are running; try again in a few seconds' };
    }
    this.backtestsRunning++;
    try {
      return await this.runBacktest(id, input);
    } finally {
      this.backtestsRunning--;
    }
  }

  private async runBacktest(id: string, input: unknown): Promise<BacktestOutcome> {
    const parsed = backtestSchema.safeParse(input ?? {});
    if (!parsed.success) return { ok: false, status: 400, error: 'invalid backtest', details: formatIssues(parsed.error.issues) };
    const query = await this.o.store.queries.get(id);
    if (!query) return { ok: false, status: 404, error: `no query "${id}"` };
    const started = Date.now();
    const to = parsed.data.to ?? started;
    const from = parsed.data.from ?? to - DEFAULT_BACKTEST_RANGE_MS;
    if (from >= to) return { ok: false, status: 400, error: 'invalid backtest', details: ['from: must be before to'] };
    const maxRange = this.o.maxBacktestRangeMs ?? 7 * 86_400_000;
    if (to - from > maxRange) return { ok: false, status: 400, error: 'invalid backtest', details: [`to: the range may span at most ${Math.round(maxRange / 3600_000)} h`] };
    const replay = query.plan.similarity ? await this.similarityReplay(query) : null;
    if (replay && !replay.ok) return { ok: false, status: 400, error: replay.error };
    // An anomaly rule replays against each camera's lines and clock, as live.
    const sites = new Map((await this.o.store.cameras.list()).map((c) => [c.id, siteOfCamera(c)]));
    const run = new Backtest(query, { matcher: this.o.matcher, siteOf: (camera) => sites.get(camera) ?? siteOfCamera(undefined) });
    const cameras = new Set<string>();
    const budget = this.o.backtestBudgetMs ?? 20_000;
    let cursor = from;
    let seenAtCursor = new Set<string>();
    let budgetHit = false;
    for (;;) {
      const page = await this.o.store.scene.frames({ from: cursor, to, limit: BACKTEST_PAGE, ...(query.plan.cameras ? { cameras: query.plan.cameras } : {}) });
      // Embeddings are read page by page too, for the same time span: never the whole range at once.
      if (replay?.ok && page.length > 0) await replay.load(cursor, page[page.length - 1]!.capturedAt + 1);
      let fed = 0;
      for (const f of page) {
        if (f.capturedAt === cursor && seenAtCursor.has(f.frameId)) continue;
        run.feed(f, replay?.ok ? replay.judge(f.camera, f.frameId) : undefined);
        fed++;
        cameras.add(f.camera);
      }
      if (page.length < BACKTEST_PAGE || fed === 0) break;
      const last = page[page.length - 1]!.capturedAt;
      seenAtCursor = new Set(page.filter((f) => f.capturedAt === last).map((f) => f.frameId));
      cursor = last;
      if (Date.now() - started > budget) {
        budgetHit = true;
        break;
      }
    }
    const result: BacktestResult = {
      queryId: id,
      from,
      to,
      frames: run.frames,
      cameras: [...cameras].sort(),
      hits: run.hits,
      truncated: run.truncated || budgetHit,
      ms: Date.now() - started,
    };
    this.o.log.info({ query: id, frames: result.frames, hits: result.hits.length, ms: result.ms }, 'backtest');
    return { ok: true, result };
  }

  /**
   * For a query with a similarity term: the stored frame embeddings, loaded page by page alongside the
   * scene frames and replayed through a fresh calibrator in time order (as live: frames without an
   * embedding reuse their camera's last judgement).
   */
  private async similarityReplay(
    query: StandingQuery,
  ): Promise<
    { ok: true; load: (from: number, to: number) => Promise<void>; judge: (camera: string, frameId: string) => Map<string, SimilarityJudgement> } | { ok: false; error: string }
  > {
    const sim = this.o.similarity;
    const term = query.plan.similarity;
    if (!sim || !term) return { ok: false, error: 'this query has a similarity term: backtesting it needs the embedder (EMBEDDER) in this process' };
    const model = `${sim.embedder.name}@${sim.embedder.version}`;
    const [vector] = await sim.embedder.embedTexts([term.text]);
    if (!vector) return { ok: false, error: 'the embedder returned no vector for the query text' };
    let byFrame = new Map<string, Float32Array>();
    const calibrator = new SimilarityCalibrator(model, sim.calibration);
    const last = new Map<string, Map<string, SimilarityJudgement>>();
    return {
      ok: true,
      load: async (pageFrom, pageTo) => {
        const embeddings = await this.o.store.scene.embeddings({ from: pageFrom, to: pageTo, model, ...(query.plan.cameras ? { cameras: query.plan.cameras } : {}) });
        byFrame = new Map(embeddings.map((e) => [e.frameId, e.vector]));
      },
      judge: (camera, frameId) => {
        const v = byFrame.get(frameId);
        if (v) last.set(camera, calibrator.judge(camera, v, [{ id: query.id, vector }]));
        return last.get(camera) ?? new Map();
      },
    };
  }

  /** Called after every change made through this process. Returns an unsubscribe function. */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Compiles the text and folds the operator's camera limit into the plan. */
  private async understand(
    text: string,
    cameras: string[] | null,
  ): Promise<{ ok: true; plan: QueryPlan; explanation: string } | { ok: false; status: 400; error: string; details?: string[]; rejection?: QueryRejection }> {
    const all = await this.o.store.cameras.list();
    const compiler = await this.compiler(all);
    const r = compiler.compile(text);
    if (!r.ok) {
      return {
        ok: false,
        status: 400,
        error: r.error.error,
        rejection: { error: r.error.error, code: r.error.code, unknownTerms: r.error.unknownTerms, suggestions: r.error.suggestions },
      };
    }
    if (cameras === null) return r;
    const known = new Set(all.map((c) => c.id));
    const unknown = cameras.filter((c) => !known.has(c));
    if (unknown.length > 0) return { ok: false, status: 400, error: 'invalid query', details: unknown.map((c) => `cameras: no camera "${c}"`) };
    const limited = r.plan.cameras ? r.plan.cameras.filter((c) => cameras.includes(c)) : [...new Set(cameras)];
    if (limited.length === 0) {
      return { ok: false, status: 400, error: 'invalid query', details: [`cameras: the text names ${r.plan.cameras?.join(', ')}, none of which is in the cameras given`] };
    }
    const plan: QueryPlan = { ...r.plan, cameras: limited };
    return { ok: true, plan, explanation: compiler.explain(plan) };
  }

  private changed(): void {
    for (const l of this.listeners) {
      try {
        l();
      } catch (e) {
        this.o.log.error({ err: e }, 'query change listener failed');
      }
    }
  }
}
