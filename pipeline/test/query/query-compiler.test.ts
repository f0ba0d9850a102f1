import { QUERY_LIMITS, QUERY_PLAN_VERSION, queryPlanSchema, type QueryErrorCode, type QueryPlan } from '@chronotrace/contracts';
import { describe, expect, it } from 'vitest';
import { QueryCompiler, QueryCompilerOptionsError, explainPlan, tokenizeQuery } from '../../src/query/index';
import { closest, editDistance } from '../../src/query/suggest';

/** The site these tests compile against: zone and camera names as streams.config would give them. */
const compiler = new QueryCompiler({
  zones: ['entrance', 'Loading Bay', 'gate 3', 'crossing', 'bench'],
  cameras: [
    { id: 'lobby', name: 'Lobby — test pattern' },
    { id: 'street', name: 'Street — pedestrians' },
    { id: 'gate', name: 'Gate — vehicle plate' },
  ],
});

type Rest = Omit<QueryPlan, 'version' | 'subject'>;
const plan = (subject: QueryPlan['subject'], rest: Rest = {}): QueryPlan => ({ version: QUERY_PLAN_VERSION, subject, ...rest });
const person = { classes: ['person'] } satisfies QueryPlan['subject'];

function compiled(text: string): QueryPlan {
  const r = compiler.compile(text);
  if (!r.ok) throw new Error(`expected "${text}" to compile, got ${r.error.code}: ${r.error.error}`);
  return r.plan;
}

function rejected(text: string): { code: QueryErrorCode; error: string; unknownTerms: string[]; suggestions: Record<string, string[]> } {
  const r = compiler.compile(text);
  if (r.ok) throw new Error(`expected "${text}" to be rejected, got ${JSON.stringify(r.plan)}`);
  return r.error;
}

const accepted: [string, QueryPlan][] = [
  // classes and synonyms
  ['person', plan(person)],
  ['a man', plan(person)],
  ['women', plan(person)],
  ['pedestrians', plan(person)],
  ['children', plan(person)],
  ['a kid', plan(person)],
  ['someone', plan(person)],
  ['van', plan({ classes: ['car', 'truck'] })],
  ['lorries', plan({ classes: ['truck'] })],
  ['car', plan({ classes: ['car'] })],
  ['vehicles', plan({ classes: ['car', 'motorcycle', 'bus', 'truck'] })],
  ['bike', plan({ classes: ['bicycle'] })],
  ['motorbikes', plan({ classes: ['motorcycle'] })],
  ['buses', plan({ classes: ['bus'] })],
  ['traffic lights', plan({ classes: ['traffic light'] })],
  ['a teddy bear', plan({ classes: ['teddy bear'] })],
  ['hair dryer', plan({ classes: ['hair drier'] })],
  ['an orange', plan({ classes: ['orange'] })],
  ['dog or cat', plan({ classes: ['cat', 'dog'] })],
  ['Alert me when there is a dog', plan({ classes: ['dog'] })],
  // colours
  ['red car', plan({ classes: ['car'], colors: [{ part: 'any', colors: ['red'] }] })],
  ['red or blue car', plan({ classes: ['car'], colors: [{ part: 'any', colors: ['red', 'blue'] }] })],
  ['grey van', plan({ classes: ['car', 'truck'], colors: [{ part: 'any', colors: ['grey'] }] })],
  ['gray truck', plan({ classes: ['truck'], colors: [{ part: 'any', colors: ['grey'] }] })],
  ['orange car', plan({ classes: ['car'], colors: [{ part: 'any', colors: ['orange'] }] })],
  ['person in red', plan({ classes: ['person'], colors: [{ part: 'upper', colors: ['red'] }] })],
  ['person in orange', plan({ classes: ['person'], colors: [{ part: 'upper', colors: ['orange'] }] })],
  ['woman wearing yellow', plan({ classes: ['person'], colors: [{ part: 'upper', colors: ['yellow'] }] })],
  ['man in a green t-shirt', plan({ classes: ['person'], colors: [{ part: 'upper', colors: ['green'] }] })],
  ['person with blue jeans', plan({ classes: ['person'], colors: [{ part: 'lower', colors: ['blue'] }] })],
  [
    'man wearing a red shirt and black trousers',
    plan({ classes: ['person'], colors: [{ part: 'upper', colors: ['red'] }, { part: 'lower', colors: ['black'] }] }),
  ],
  // carried objects
  ['person with a backpack', plan({ classes: ['person'], carrying: [{ classes: ['backpack'] }] })],
  ['person with a red backpack', plan({ classes: ['person'], carrying: [{ classes: ['backpack'], colors: ['red'] }] })],
  ['someone carrying a bag', plan({ classes: ['person'], carrying: [{ classes: ['backpack', 'handbag', 'suitcase'] }] })],
  ['person holding an umbrella', plan({ classes: ['person'], carrying: [{ classes: ['umbrella'] }] })],
  ['man with a rucksack', plan({ classes: ['person'], carrying: [{ classes: ['backpack'] }] })],
  ['person with luggage', plan({ classes: ['person'], carrying: [{ classes: ['suitcase'] }] })],
  [
    'person with a backpack and a suitcase',
    plan({ classes: ['person'], carrying: [{ classes: ['backpack'] }, { classes: ['suitcase'] }] }),
  ],
  ['person with a backpack or a suitcase', plan({ classes: ['person'], carrying: [{ classes: ['backpack', 'suitcase'] }] })],
  ['person without a backpack', plan({ classes: ['person'], carrying: [{ classes: ['backpack'], negated: true }] })],
  [
    'person in red with a blue umbrella',
    plan({ classes: ['person'], colors: [{ part: 'upper', colors: ['red'] }], carrying: [{ classes: ['umbrella'], colors: ['blue'] }] }),
  ],
  // counts
  ['more than 10 people', plan(person, { count: { op: '>', n: 10 } })],
  ['at least 3 cars', plan({ classes: ['car'] }, { count: { op: '>=', n: 3 } })],
  ['over 5 people', plan(person, { count: { op: '>', n: 5 } })],
  ['fewer than 2 people', plan(person, { count: { op: '<', n: 2 } })],
  ['exactly 4 dogs', plan({ classes: ['dog'] }, { count: { op: '=', n: 4 } })],
  ['no more than five trucks', plan({ classes: ['truck'] }, { count: { op: '<=', n: 5 } })],
  ['3 people', plan(person, { count: { op: '>=', n: 3 } })],
  ['one person', plan(person)],
  ['a crowd', plan(person, { count: { op: '>=', n: 10 } })],
  ['a group of people', plan(person, { count: { op: '>=', n: 3 } })],
  ['a crowd of cars', plan({ classes: ['car'] }, { count: { op: '>=', n: 10 } })],
  // zones and cameras
  ['person in the loading bay', plan(person, { zones: ['Loading Bay'] })],
  ['person in the LOADINGBAY', plan(person, { zones: ['Loading Bay'] })],
  ['person near gate 3', plan(person, { zones: ['gate 3'] })],
  ['more than 5 people at the entrance', plan(person, { count: { op: '>', n: 5 }, zones: ['entrance'] })],
  ['person on camera lobby', plan(person, { cameras: ['lobby'] })],
  ['person on the street camera', plan(person, { cameras: ['street'] })],
  ['car on camera gate', plan({ classes: ['car'] }, { cameras: ['gate'] })],
  ['person in the entrance or the crossing', plan(person, { zones: ['entrance', 'crossing'] })],
  ['person sitting on a bench', plan(person, { zones: ['bench'] })],
  // dwell
  ['person for over 5 minutes', plan(person, { dwell: { minSeconds: 300 } })],
  ['person for more than 30 seconds', plan(person, { dwell: { minSeconds: 30 } })],
  ['car for an hour', plan({ classes: ['car'] }, { dwell: { minSeconds: 3600 } })],
  ['people for 90s', plan(person, { dwell: { minSeconds: 90 } })],
  // loitering is the anomaly rule (counted from entering the zone), not a total dwell
  ['person loitering', plan(person, { anomaly: { type: 'loitering', minSeconds: 60 } })],
  ['loitering at the entrance', plan(person, { zones: ['entrance'], anomaly: { type: 'loitering', minSeconds: 60 } })],
  ['someone loitering for 10 minutes', plan(person, { anomaly: { type: 'loitering', minSeconds: 600 } })],
  ['car parked in the loading bay', plan({ classes: ['car'] }, { zones: ['Loading Bay'], dwell: { minSeconds: 60 } })],
  // time windows
  ['person after 22:00', plan(person, { time: { after: '22:00' } })],
  ['person before 6am', plan(person, { time: { before: '06:00' } })],
  ['person after 10:30 pm', plan(person, { time: { after: '22:30' } })],
  ['person after 12am', plan(person, { time: { after: '00:00' } })],
  ['person between 22:00 and 06:00', plan(person, { time: { after: '22:00', before: '06:00' } })],
  ['person from 9am to 5pm', plan(person, { time: { after: '09:00', before: '17:00' } })],
  ['person at night', plan(person, { time: { after: '22:00', before: '06:00' } })],
  ['person on weekends', plan(person, { time: { days: [0, 6] } })],
  ['person on weekdays', plan(person, { time: { days: [1, 2, 3, 4, 5] } })],
  ['person on Monday', plan(person, { time: { days: [1] } })],
  ['person on saturdays or sundays', plan(person, { time: { days: [0, 6] } })],
  ['person on weekdays after 19:00', plan(person, { time: { after: '19:00', days: [1, 2, 3, 4, 5] } })],
  // everything at once
  [
    'Alert when there are more than 10 people in the entrance after 22:00',
    plan(person, { count: { op: '>', n: 10 }, zones: ['entrance'], time: { after: '22:00' } }),
  ],
  [
    'person with a red backpack in the loading bay',
    plan({ classes: ['person'], carrying: [{ classes: ['backpack'], colors: ['red'] }] }, { zones: ['Loading Bay'] }),
  ],
  [
    'man loitering near gate 3 for over 5 minutes at night on camera gate',
    plan(person, { zones: ['gate 3'], cameras: ['gate'], anomaly: { type: 'loitering', minSeconds: 300 }, time: { after: '22:00', before: '06:00' } }),
  ],
];

const refusedTable: [string, QueryErrorCode, string][] = [
  ['', 'empty', 'Type what to look for'],
  ['   ', 'empty', 'Type what to look for'],
  ['the', 'no-subject', 'Say what to look for'],
  ['after 22:00', 'no-subject', 'Say what to look for'],
  ['with a backpack', 'no-subject', 'carries the backpack'],
  ['persn with a backpak', 'unknown-terms', '"persn", "backpak"'],
  ['person without a hard hat', 'unsupported', 'cannot see hard hats'],
  ['worker without a helmet', 'unsupported', 'cannot see helmets'],
  ['person in a hi-vis vest', 'unsupported', 'cannot see hi-vis'],
  ['man with a gun', 'unsupported', 'not one of the 80 COCO classes'],
  ['car with licence plate AB12', 'unsupported', 'redacted'],
  ['person with a face', 'unsupported', 'redacted'],
  ['no people in the lobby', 'unsupported', 'absence'],
  ['nobody at the entrance', 'unsupported', 'absence'],
  ['fewer than 1 person', 'unsupported', 'absence'],
  ['person in a jacket', 'unsupported', 'only be matched by their colour'],
  ['person for less than 5 minutes', 'unsupported', 'only be a minimum'],
  ['kids with 2 bags', 'unsupported', 'cannot be counted'],
  ['person and dog', 'too-complex', 'join alternatives with "or"'],
  ['person near a car', 'too-complex', 'relations between objects'],
  ['car or red truck', 'too-complex', 'whole subject'],
  ['more than 3 people at least 4 cars', 'too-complex', 'only one count'],
  ['person after 22:00 after 23:00', 'too-complex', 'Only one "after"'],
  ['person for 5 minutes for 10 minutes', 'too-complex', 'only one duration'],
  ['red car wearing blue jeans', 'invalid', "describes a person's clothes"],
  ['person after 25:00', 'invalid', 'not a time of day'],
  ['person after 13pm', 'invalid', 'not a time of day'],
  ['person after', 'invalid', 'must be followed by a time'],
  ['person at 10pm', 'invalid', 'say "after", "before" or "between"'],
  ['person between 22:00 and 22:00', 'invalid', 'empty time window'],
  ['more than people', 'invalid', 'must be followed by a number'],
  ['more than 5000 people', 'invalid', 'counts go up to 1000'],
  ['person for 48 hours', 'invalid', 'between 1 second and 24 hours'],
  ['vehicles or bicycles', 'too-many-classes', 'names 5 classes'],
  ['person with a backpack, a suitcase, an umbrella and a handbag', 'too-many-carried', 'At most 3'],
];

describe('QueryCompiler', () => {
  it(`has a table of at least 60 phrasings (${accepted.length + refusedTable.length})`, () => {
    expect(accepted.length + refusedTable.length).toBeGreaterThanOrEqual(60);
  });

  it.each(accepted)('compiles %j', (text, expected) => {
    const got = compiled(text);
    expect(got).toEqual(expected);
    // No stray undefined keys: the plan is exactly what is stored and sent to the wall.
    expect(JSON.parse(JSON.stringify(got))).toStrictEqual(expected);
    expect(queryPlanSchema.safeParse(got).success).toBe(true);
  });

  it.each(refusedTable)('rejects %j with %s', (text, code, message) => {
    const error = rejected(text);
    expect(error.code).toBe(code);
    expect(error.error).toContain(message);
  });

  it('is deterministic: the same text gives the same result every time, across instances', () => {
    const text = 'man in red with a bag or umbrella near gate 3 for over 5 minutes between 22:00 and 06:00 on weekends';
    const other = new QueryCompiler({ zones: ['entrance', 'Loading Bay', 'gate 3', 'crossing', 'bench'] });
    expect(other.compile(text)).toEqual(compiler.compile(text));
    expect(JSON.stringify(compiler.compile(text))).toBe(JSON.stringify(compiler.compile(text)));
  });

  it('orders classes in COCO order and colours in palette order whatever the word order', () => {
    expect(compiled('dog or person or cat')).toEqual(plan({ classes: ['person', 'cat', 'dog'] }));
    expect(compiled('white or red car').subject.colors).toEqual([{ part: 'any', colors: ['red', 'white'] }]);
    expect(compiled('person on sunday or friday or monday').time).toEqual({ days: [0, 1, 5] });
  });

  it('compiles a thousand queries in well under a second', () => {
    const started = performance.now();
    for (let i = 0; i < 1000; i++) compiler.compile(`more than ${i % 50} people with a red backpack near gate 3 after 22:00 on weekends`);
    expect(performance.now() - started).toBeLessThan(1000);
  });
});

describe('unknown words and suggestions', () => {
  it('names every unknown word and suggests the closest known ones', () => {
    const error = rejected('persn with a backpak');
    expect(error).toEqual({
      code: 'unknown-terms',
      error: 'Not understood: "persn", "backpak".',
      unknownTerms: ['persn', 'backpak'],
      suggestions: { persn: ['person'], backpak: ['backpack'] },
    });
  });

  it.each([
    ['perosn', ['person']],
    ['dgo', ['dog']],
    ['lory', ['lorry']],
    ['bycicle', ['bicycle']],
    ['suitcse', ['suitcase']],
    ['umbrela', ['umbrella']],
    ['animals', ['dog', 'cat', 'bird', 'horse']],
    ['cyclist', ['person with a bicycle']],
    ['xyzzyq', []],
  ])('suggests for %j: %j', (word, expected) => {
    const error = rejected(`${word} at the entrance`);
    expect(error.unknownTerms).toEqual([word]);
    expect(error.suggestions).toEqual({ [word]: expected });
  });

  it('suggests configured zone names and camera ids', () => {
    expect(rejected('person in the entrence').suggestions).toEqual({ entrence: ['entrance'] });
    expect(rejected('person on camera lobbby').suggestions).toEqual({ lobbby: ['lobby'] });
  });

  it('lists each unknown word once, in order, and reports a stray number', () => {
    const error = rejected('person blah 7 blah');
    expect(error.unknownTerms).toEqual(['blah']);
    expect(rejected('person 7').unknownTerms).toEqual(['7']);
    expect(rejected('person 7').suggestions).toEqual({ '7': [] });
  });

  it('measures edit distance with transpositions', () => {
    expect(editDistance('dog', 'dgo')).toBe(1);
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(editDistance('', 'abc')).toBe(3);
    expect(closest('persn', ['person', 'persons', 'prison'])).toEqual(['person']);
    expect(closest('zzzz', ['person'])).toEqual([]);
  });
});

describe('caps', () => {
  it(`rejects text longer than ${QUERY_LIMITS.maxChars} characters`, () => {
    const text = `person ${'x'.repeat(QUERY_LIMITS.maxChars)}`;
    const error = rejected(text);
    expect(error.code).toBe('too-long');
    expect(error.error).toBe(`The query is ${text.length} characters long; the limit is 200.`);
  });

  it('accepts exactly 200 characters', () => {
    const text = `person${' '.repeat(QUERY_LIMITS.maxChars - 'person'.length - 1)}a`;
    expect(text.length).toBe(200);
    expect(compiler.compile(text).ok).toBe(true);
  });

  it(`rejects more than ${QUERY_LIMITS.maxTokens} words`, () => {
    const text = `person${' a'.repeat(QUERY_LIMITS.maxTokens)}`;
    const error = rejected(text);
    expect(error.code).toBe('too-many-tokens');
    expect(error.error).toBe('The query has 41 words; the limit is 40.');
    expect(compiler.compile(`person${' a'.repeat(QUERY_LIMITS.maxTokens - 1)}`).ok).toBe(true);
  });

  it('allows 4 subject classes and rejects a fifth', () => {
    expect(compiled('vehicle').subject.classes).toHaveLength(4);
    expect(compiled('person or dog or cat or bicycle').subject.classes).toEqual(['person', 'bicycle', 'cat', 'dog']);
    expect(rejected('person or dog or cat or bicycle or horse').code).toBe('too-many-classes');
  });

  it('allows 3 carried objects and rejects a fourth', () => {
    expect(compiled('person with a backpack and a suitcase and an umbrella').subject.carrying).toHaveLength(3);
    expect(rejected('person with a backpack and a suitcase and an umbrella and a kite').code).toBe('too-many-carried');
  });
});

describe('explanations', () => {
  it.each([
    ['more than 10 people in the entrance after 22:00', 'Alert when more than 10 persons are in zone "entrance" on any camera, after 22:00.'],
    ['person', 'Alert when a person is in view on any camera.'],
    ['an umbrella', 'Alert when an umbrella is in view on any camera.'],
    ['van', 'Alert when a car or truck is in view on any camera.'],
    ['vehicle', 'Alert when a car, motorcycle, bus or truck is in view on any camera.'],
    ['exactly 1 bus', 'Alert when exactly 1 bus is in view on any camera.'],
    ['at least 2 buses', 'Alert when at least 2 buses are in view on any camera.'],
    ['red or blue car', 'Alert when a red or blue car is in view on any camera.'],
    [
      'man wearing a red shirt and blue jeans',
      'Alert when a person wearing red on the upper body and blue on the lower body is in view on any camera.',
    ],
    [
      'person with a red backpack in the loading bay',
      'Alert when a person carrying a red backpack is in zone "Loading Bay" on any camera.',
    ],
    ['person without a bag', 'Alert when a person not carrying a backpack, handbag or suitcase is in view on any camera.'],
    ['person on camera lobby', 'Alert when a person is in view on camera "Lobby — test pattern".'],
    [
      'person in the entrance or the crossing on camera street or camera lobby',
      'Alert when a person is in zones "entrance" or "crossing" on cameras "Street — pedestrians" or "Lobby — test pattern".',
    ],
    ['loitering near gate 3 at night', 'Alert when a person stays in zone "gate 3" for 1 minute after entering it (loitering) on any camera, between 22:00 and 06:00.'],
    ['car for 90 seconds', 'Alert when a car is in view on any camera for at least 90 seconds.'],
    ['car for 2 hours', 'Alert when a car is in view on any camera for at least 2 hours.'],
    ['a crowd on weekends', 'Alert when at least 10 persons are in view on any camera, on weekends.'],
    ['person on weekdays before 7am', 'Alert when a person is in view on any camera, before 07:00 on weekdays.'],
    ['dog on monday or friday', 'Alert when a dog is in view on any camera, on Monday or Friday.'],
  ])('explains %j', (text, sentence) => {
    const r = compiler.compile(text);
    expect(r.ok && r.explanation).toBe(sentence);
  });

  it('explains a stored plan without a compiler, showing camera ids', () => {
    const p = plan(person, { cameras: ['lobby'], count: { op: '<=', n: 3 } });
    expect(explainPlan(p)).toBe('Alert when at most 3 persons are in view on camera "lobby".');
    expect(compiler.explain(p)).toBe('Alert when at most 3 persons are in view on camera "Lobby — test pattern".');
  });
});

describe('tokenizeQuery and options', () => {
  it('splits times, numbers and words, dropping punctuation and possessives', () => {
    expect(tokenizeQuery("Man's RED t-shirt, after 22:00 or 6am; for 5min")).toEqual([
      'man', 'red', 't', 'shirt', 'after', '22:00', 'or', '6', 'am', 'for', '5', 'min',
    ]);
  });

  it('refuses a zone name with no letters or digits', () => {
    expect(() => new QueryCompiler({ zones: ['—'] })).toThrow(QueryCompilerOptionsError);
  });

  it('prefers a camera over a zone of the same name only when the word camera is next to it', () => {
    const c = new QueryCompiler({ zones: ['gate'], cameras: [{ id: 'gate', name: 'Gate' }] });
    const atGate = c.compile('person at the gate');
    const onGateCamera = c.compile('person on the gate camera');
    expect(atGate.ok && atGate.plan.zones).toEqual(['gate']);
    expect(onGateCamera.ok && onGateCamera.plan.cameras).toEqual(['gate']);
  });

  it('reads a COCO word as a class unless a place word comes before it', () => {
    expect(compiled('bench')).toEqual(plan({ classes: ['bench'] }));
    expect(compiled('person on the bench')).toEqual(plan(person, { zones: ['bench'] }));
  });
});
