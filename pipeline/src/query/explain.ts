import type { AnomalyRule, BasicColor, CarriedObject, CocoClass, QueryCountOp, QueryPlan, QueryTimeWindow } from '@chronotrace/contracts';
import { pluralOf } from './vocabulary';

const OP_WORDS: Record<QueryCountOp, string> = { '>': 'more than', '>=': 'at least', '<': 'fewer than', '<=': 'at most', '=': 'exactly' };
const DAY_WORDS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

/** "a", "a or b", "a, b or c". */
function joinOr(words: readonly string[], conj = 'or'): string {
  if (words.length <= 1) return words[0] ?? '';
  return `${words.slice(0, -1).join(', ')} ${conj} ${words[words.length - 1] ?? ''}`;
}

function article(phrase: string): string {
  return /^[aeiou]/.test(phrase) ? `an ${phrase}` : `a ${phrase}`;
}

function nouns(classes: readonly CocoClass[], plural: boolean): string {
  return joinOr(classes.map((c) => (plural ? pluralOf(c) : c)));
}

function colorWords(colors: readonly BasicColor[]): string {
  return joinOr(colors);
}

function carried(c: CarriedObject): string {
  const adjective = c.colors && c.colors.length > 0 ? `${colorWords(c.colors)} ` : '';
  const what = article(`${adjective}${nouns(c.classes, false)}`);
  return `${c.negated ? 'not carrying' : 'carrying'} ${what}`;
}

export function formatDuration(seconds: number): string {
  const unit = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;
  if (seconds % 3600 === 0) return unit(seconds / 3600, 'hour');
  if (seconds % 60 === 0) return unit(seconds / 60, 'minute');
  return unit(seconds, 'second');
}

function days(list: readonly number[]): string {
  const key = list.join(',');
  if (key === '0,6') return 'on weekends';
  if (key === '1,2,3,4,5') return 'on weekdays';
  return `on ${joinOr(list.map((d) => DAY_WORDS[d] ?? String(d)))}`;
}

function when(t: QueryTimeWindow): string {
  const parts: string[] = [];
  if (t.after !== undefined && t.before !== undefined) parts.push(`between ${t.after} and ${t.before}`);
  else if (t.after !== undefined) parts.push(`after ${t.after}`);
  else if (t.before !== undefined) parts.push(`before ${t.before}`);
  if (t.days) parts.push(days(t.days));
  return parts.join(' ');
}

function quoted(names: readonly string[]): string {
  return joinOr(names.map((n) => `"${n}"`));
}

/**
 * One human sentence built from a plan, e.g.
 * `Alert when more than 10 persons are in zone "entrance" on any camera, after 22:00.`
 * `cameraNames` maps camera ids to display names; ids are shown when absent.
 */
export function explainPlan(plan: QueryPlan, cameraNames: ReadonlyMap<string, string> = new Map()): string {
  if (plan.anomaly) return explainAnomaly(plan, plan.anomaly, cameraNames);
  const { subject, count } = plan;
  const plural = count !== undefined && count.n !== 1;
  const anyColors = subject.colors?.find((c) => c.part === 'any');
  const adjective = anyColors ? `${colorWords(anyColors.colors)} ` : '';
  const noun = `${adjective}${nouns(subject.classes, plural)}`;
  const head = count ? `${OP_WORDS[count.op]} ${count.n} ${noun}` : article(noun);

  const clauses: string[] = [];
  const body = (subject.colors ?? []).filter((c) => c.part !== 'any');
  if (body.length > 0) clauses.push(`wearing ${body.map((c) => `${colorWords(c.colors)} on the ${c.part} body`).join(' and ')}`);
  for (const c of subject.carrying ?? []) clauses.push(carried(c));
  const described = clauses.length > 0 ? `${head} ${clauses.join(' and ')}` : head;

  const where = plan.zones ? `in ${plan.zones.length > 1 ? 'zones' : 'zone'} ${quoted(plan.zones)}` : 'in view';
  const cams = plan.cameras
    ? `on ${plan.cameras.length > 1 ? 'cameras' : 'camera'} ${quoted(plan.cameras.map((id) => cameraNames.get(id) ?? id))}`
    : 'on any camera';
  const dwell = plan.dwell ? ` for at least ${formatDuration(plan.dwell.minSeconds)}` : '';
  const time = plan.time ? `, ${when(plan.time)}` : '';
  const looks = plan.similarity
    ? ` and the frame looks like "${plan.similarity.text}" (${plan.similarity.terms.map((t) => `"${t}"`).join(', ')} by image–text similarity above this camera's calibrated threshold)`
    : '';
  return `Alert when ${described} ${plural ? 'are' : 'is'} ${where} ${cams}${dwell}${time}${looks}.`;
}

/** The sentence of an anomaly rule, e.g. `Alert when a person stays in zone "gate" for 2 minutes after entering it (loitering) on any camera.` */
function explainAnomaly(plan: QueryPlan, rule: AnomalyRule, cameraNames: ReadonlyMap<string, string>): string {
  const { subject } = plan;
  const anyColors = subject.colors?.find((c) => c.part === 'any');
  const adjective = anyColors ? `${colorWords(anyColors.colors)} ` : '';
  const clauses: string[] = [];
  const body = (subject.colors ?? []).filter((c) => c.part !== 'any');
  if (body.length > 0) clauses.push(`wearing ${body.map((c) => `${colorWords(c.colors)} on the ${c.part} body`).join(' and ')}`);
  for (const c of subject.carrying ?? []) clauses.push(carried(c));
  const one = [article(`${adjective}${nouns(subject.classes, false)}`), ...clauses].join(' ');
  const many = `${adjective}${nouns(subject.classes, true)}`;
  const where = plan.zones ? `in ${plan.zones.length > 1 ? 'zones' : 'zone'} ${quoted(plan.zones)}` : 'in view';
  const cams = plan.cameras ? `on ${plan.cameras.length > 1 ? 'cameras' : 'camera'} ${quoted(plan.cameras.map((id) => cameraNames.get(id) ?? id))}` : 'on any camera';
  const time = plan.time ? `, ${when(plan.time)}` : '';
  switch (rule.type) {
    case 'loitering':
      return `Alert when ${one} stays ${where} for ${formatDuration(rule.minSeconds)} after entering it (loitering) ${cams}${time}.`;
    case 'crowd':
      return `Alert when a crowd of ${many} forms ${where} ${cams}: their number rises by ${rule.risePerMinute} or more within a minute to ${rule.risePerMinute} above its usual level (once per crowd)${time}.`;
    case 'abandoned':
      return `Alert when ${one} is left unattended ${where} ${cams}: still for ${formatDuration(rule.minSeconds)} with no person within ${Math.round(rule.distance * 100)} % of the frame height (the alert shows who left it)${time}.`;
    case 'after-hours':
      return `Alert when ${one} is ${where} ${cams} outside ${rule.schedule ? `schedule "${rule.schedule}"` : "the zone's opening hours (its schedule, else the camera's)"}.`;
    case 'unusual':
      return `Alert when ${one} moves unusually ${where} ${cams}: speed, direction or numbers far outside what is usual there at that hour of the week (z ≥ ${rule.z}, once ${rule.minHistory} observations are learned)${time}.`;
    case 'line': {
      const dir = rule.direction === 'in' ? ' inbound' : rule.direction === 'out' ? ' outbound' : '';
      if (rule.count) return `Alert when ${OP_WORDS[rule.count.op]} ${rule.count.n} ${many} cross line "${rule.line}"${dir} within ${formatDuration(rule.count.windowSeconds)} ${cams}${time}.`;
      return `Alert when ${one} crosses line "${rule.line}"${dir} ${cams}${time}.`;
    }
  }
}
