import { connect as tcpConnect } from 'node:net';
import postgres from 'postgres';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect as natsConnect } from '@nats-io/transport-node';

/** The real services of this machine (the same defaults as platform/src/env.ts). */
export const NATS_URL = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
export const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A short admin connection to PostgreSQL (not the one the processes use). */
export function pgAdmin(): postgres.Sql {
  return postgres(DATABASE_URL, { max: 1, onnotice: () => undefined, connect_timeout: 5 });
}

/** Redis PING over a raw socket: no client library needed to tell whether the server is there. */
function redisPing(url: string, timeoutMs: number): Promise<void> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const sock = tcpConnect({ host: u.hostname, port: Number(u.port || 6379) });
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`no answer from Redis at ${url} within ${timeoutMs} ms`));
    }, timeoutMs);
    let got = '';
    sock.on('connect', () => sock.write('PING\r\n'));
    sock.on('data', (d) => {
      got += d.toString('utf8');
      if (got.includes('\r\n')) {
        clearTimeout(timer);
        sock.end();
        // '+PONG', or '-NOAUTH …' when a password is needed: either way a server answered.
        if (got.startsWith('+PONG') || got.startsWith('-NOAUTH')) resolve();
        else reject(new Error(`unexpected Redis answer: ${got.trim()}`));
      }
    });
    sock.on('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`Redis at ${url} unreachable: ${e.message}`));
    });
  });
}

/**
 * Fails (never skips) when one of the real services is down, naming which. The test must not
 * pass by testing nothing.
 */
export async function assertServicesUp(): Promise<void> {
  const problems: string[] = [];
  const sql = pgAdmin();
  try {
    await sql`SELECT 1`;
  } catch (e) {
    problems.push(`PostgreSQL (${DATABASE_URL}): ${String(e)}`);
  } finally {
    await sql.end({ timeout: 2 }).catch(() => undefined);
  }
  try {
    const nc = await natsConnect({ servers: NATS_URL, timeout: 3_000 });
    try {
      const jsm = await jetstreamManager(nc);
      await jsm.getAccountInfo();
    } finally {
      await nc.close();
    }
  } catch (e) {
    problems.push(`NATS JetStream (${NATS_URL}): ${String(e)}`);
  }
  try {
    await redisPing(REDIS_URL, 3_000);
  } catch (e) {
    problems.push(String(e));
  }
  if (problems.length > 0) throw new Error(`distributed test needs the real services:\n  ${problems.join('\n  ')}`);
}

/** Drops the test schema and everything in it. */
export async function dropSchema(schema: string): Promise<void> {
  const sql = pgAdmin();
  try {
    await sql.unsafe(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await sql.end({ timeout: 5 });
  }
}

/** Deletes every JetStream stream named `<prefix>_*` (their consumers go with them). Returns their names. */
export async function deleteStreams(prefix: string): Promise<string[]> {
  const nc = await natsConnect({ servers: NATS_URL, timeout: 5_000 });
  const deleted: string[] = [];
  try {
    const jsm = await jetstreamManager(nc);
    const names: string[] = [];
    for await (const name of jsm.streams.names()) if (name.startsWith(`${prefix}_`)) names.push(name);
    for (const name of names) {
      await jsm.streams.delete(name);
      deleted.push(name);
    }
  } finally {
    await nc.close();
  }
  return deleted;
}
