import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';

/** CPU seconds and resident memory of one process, from /proc/<pid>/stat. */
export interface ProcSample {
  pid: number;
  comm: string;
  cpuSeconds: number;
  rssBytes: number;
}

let clkTck: number | undefined;
let pageSize: number | undefined;

function sysconf(name: string, fallback: number): number {
  try {
    const v = Number(execFileSync('getconf', [name], { encoding: 'utf8' }).trim());
    return Number.isFinite(v) && v > 0 ? v : fallback;
  } catch {
    return fallback;
  }
}

/** True when /proc is readable (Linux). Elsewhere child-process figures are reported as null. */
export function procAvailable(): boolean {
  try {
    readFileSync(`/proc/${process.pid}/stat`, 'utf8');
    return true;
  } catch {
    return false;
  }
}

function readStat(pid: number): { ppid: number; sample: ProcSample } | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null; // exited between readdir and read
  }
  // comm is in parentheses and may hold spaces: split after the last ')'.
  const close = text.lastIndexOf(')');
  const comm = text.slice(text.indexOf('(') + 1, close);
  const f = text.slice(close + 2).split(' ');
  // f[i] is field i+3 of proc(5): ppid=4, utime=14, stime=15, rss=24.
  clkTck ??= sysconf('CLK_TCK', 100);
  pageSize ??= sysconf('PAGESIZE', 4096);
  const ppid = Number(f[1]);
  const ticks = Number(f[11]) + Number(f[12]);
  return { ppid, sample: { pid, comm, cpuSeconds: ticks / clkTck, rssBytes: Number(f[21]) * pageSize } };
}

/** Every live descendant (children, grandchildren…) of `root`, e.g. the ffmpeg processes of ingest. */
export function descendants(root = process.pid): ProcSample[] {
  const byParent = new Map<number, ProcSample[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const s = readStat(Number(name));
    if (!s) continue;
    const list = byParent.get(s.ppid) ?? [];
    list.push(s.sample);
    byParent.set(s.ppid, list);
  }
  const out: ProcSample[] = [];
  const queue = [root];
  while (queue.length > 0) {
    const pid = queue.pop() as number;
    for (const c of byParent.get(pid) ?? []) {
      out.push(c);
      queue.push(c.pid);
    }
  }
  return out;
}
