import { describe, expect, it } from 'vitest';
import { QUERY_PLAN_VERSION, type QueryPlan } from '@chronotrace/contracts';
import { QueryCompiler } from '../../src/index';

const compiler = new QueryCompiler({
  zones: ['gate', 'entrance', 'lobby', 'warehouse', 'car park'],
  cameras: [{ id: 'street', name: 'Street' }],
  lines: ['gate', 'door'],
});
const oneLine = new QueryCompiler({ zones: ['entrance'], lines: ['gate'] });
const person = { classes: ['person' as const] };
const bags = { classes: ['backpack' as const, 'handbag' as const, 'suitcase' as const] };
const plan = (subject: QueryPlan['subject'], rest: Omit<QueryPlan, 'version' | 'subject'>): QueryPlan => ({ version: QUERY_PLAN_VERSION, subject, ...rest });

describe('the compiler on anomalies', () => {
  it.each<[string, QueryPlan, RegExp]>([
    ['loitering at the gate for 2 minutes', plan(person, { zones: ['gate'], anomaly: { type: 'loitering', minSeconds: 120 } }), /stays in zone "gate" for 2 minutes after entering it \(loitering\)/],
    ['crowd forming at the entrance', plan(person, { zones: ['entrance'], anomaly: { type: 'crowd', risePerMinute: 5, clearFraction: 0.5 } }), /a crowd of persons forms in zone "entrance".*rises by 5 or more within a minute/],
    ['people gathering in the lobby', plan(person, { zones: ['lobby'], anomaly: { type: 'crowd', risePerMinute: 5, clearFraction: 0.5 } }), /crowd of persons forms in zone "lobby"/],
    ['bag left unattended in the lobby', plan(bags, { zones: ['lobby'], anomaly: { type: 'abandoned', minSeconds: 60, distance: 0.15 } }), /backpack, handbag or suitcase is left unattended in zone "lobby".*still for 1 minute/],
    ['suitcase unattended for 2 minutes', plan({ classes: ['suitcase'] }, { anomaly: { type: 'abandoned', minSeconds: 120, distance: 0.15 } }), /a suitcase is left unattended in view/],
    ['anyone in the warehouse after hours', plan(person, { zones: ['warehouse'], anomaly: { type: 'after-hours' } }), /a person is in zone "warehouse" on any camera outside the zone's opening hours/],
    ['unusual movement in the car park', plan(person, { zones: ['car park'], anomaly: { type: 'unusual', z: 4, minHistory: 200 } }), /moves unusually in zone "car park".*hour of the week/],
    ['people crossing the gate line inbound', plan(person, { anomaly: { type: 'line', line: 'gate', direction: 'in' } }), /a person crosses line "gate" inbound on any camera/],
    ['car crossing the door line', plan({ classes: ['car'] }, { anomaly: { type: 'line', line: 'door' } }), /a car crosses line "door" on any camera/],
    ['more than 20 people entered through the door line in 10 minutes', plan(person, { anomaly: { type: 'line', line: 'door', direction: 'in', count: { op: '>', n: 20, windowSeconds: 600 } } }), /more than 20 persons cross line "door" inbound within 10 minutes/],
  ])('%j', (text, expected, sentence) => {
    const r = compiler.compile(text);
    if (!r.ok) throw new Error(JSON.stringify(r.error));
    expect(r.plan).toEqual(expected);
    expect(r.explanation).toMatch(sentence);
  });

  it('takes the only line when none is named, and asks which one when there are several', () => {
    const r = oneLine.compile('more than 20 people entered in 10 minutes');
    expect(r.ok && r.plan.anomaly).toEqual({ type: 'line', line: 'gate', direction: 'in', count: { op: '>', n: 20, windowSeconds: 600 } });
    const ask = compiler.compile('more than 20 people entered in 10 minutes');
    expect(ask.ok).toBe(false);
    if (!ask.ok) expect(ask.error.error).toMatch(/Say which line: "gate line", "door line"/);
    const none = new QueryCompiler({}).compile('people crossing the line');
    expect(!none.ok && none.error.error).toMatch(/no camera has a line to cross; add `lines`/);
  });

  it('refuses what an anomaly rule cannot mean', () => {
    for (const [text, why] of [
      ['car left unattended', /only bags are watched for being left/],
      ['loitering and a crowd forming', /One anomaly per query/],
      ['more than 20 people entered through the gate line', /Say over what time the crossings are counted/],
      ['anyone in the warehouse after hours after 22:00', /"after hours" means outside the zone's schedule/],
      ['crowd forming for 5 minutes', /takes no duration/],
    ] as const) {
      const r = compiler.compile(text);
      expect(r.ok, text).toBe(false);
      if (!r.ok) expect(r.error.error, text).toMatch(why);
    }
  });

  it('keeps the words that are not anomalies as before: a crowd is still a count, a parked car a stay, the crossing zone a zone', () => {
    const crowd = compiler.compile('a crowd at the entrance');
    expect(crowd.ok && crowd.plan).toEqual(plan(person, { count: { op: '>=', n: 10 }, zones: ['entrance'] }));
    const parked = compiler.compile('car parked in the car park');
    expect(parked.ok && parked.plan).toEqual(plan({ classes: ['car'] }, { zones: ['car park'], dwell: { minSeconds: 60 } }));
    const zone = new QueryCompiler({ zones: ['crossing'] }).compile('person in the crossing');
    expect(zone.ok && zone.plan).toEqual(plan(person, { zones: ['crossing'] }));
  });
});
