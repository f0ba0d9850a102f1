import { COCO_CLASSES, type BasicColor, type CocoClass, type QueryCountOp } from '@chronotrace/contracts';

/*
 * The compiler's closed vocabulary: every word or phrase it understands, and what it means.
 * Decisions (documented in the report and tested in pipeline/test/query):
 * - man/woman/child/… all mean `person`: the pipeline infers neither gender nor age (privacy).
 * - `car` means the COCO class car only; `vehicle` means car | truck | bus | motorcycle.
 * - `van` means car | truck: COCO has no van, and detectors label minivans as car and panel vans as truck.
 * - `bag` means backpack | handbag | suitcase.
 * - `crowd` means at least 10, `group` at least 3 (of persons unless a class follows: "a crowd of cars").
 * - loitering / lingering / parked / stationary / stopped mean a dwell of at least 60 s unless a duration is
 *   given; loitering / lingering alone also imply a person ("loitering at the gate").
 * - `at night` / `overnight` means 22:00–06:00; `daytime` 06:00–22:00.
 * - Hard hats, helmets, hats, masks, hi-vis vests, glasses, gloves and weapons other than knives are not
 *   COCO classes: queries naming them are refused with that reason rather than silently ignored.
 * - Faces and number plates are redacted inside the privacy boundary: queries on them are refused.
 */

export type Lexeme =
  | { kind: 'class'; classes: CocoClass[] }
  | { kind: 'color'; color: BasicColor }
  | { kind: 'garment'; part: 'upper' | 'lower' }
  | { kind: 'with' }
  | { kind: 'without' }
  | { kind: 'wear' }
  | { kind: 'place' }
  | { kind: 'or' }
  | { kind: 'and' }
  | { kind: 'cmp'; op: QueryCountOp }
  | { kind: 'number'; n: number }
  | { kind: 'unit'; seconds: number }
  | { kind: 'for' }
  /** `person`: the word implies a person when no subject is named ("loitering at the gate"). */
  | { kind: 'loiter'; person: boolean }
  | { kind: 'after' }
  | { kind: 'before' }
  | { kind: 'between' }
  | { kind: 'from' }
  | { kind: 'until' }
  | { kind: 'clock'; hhmm: string }
  | { kind: 'meridiem'; pm: boolean }
  | { kind: 'period'; after: string; before: string }
  | { kind: 'days'; days: number[] }
  | { kind: 'crowd'; n: number }
  /** An anomaly rule's words ("crowd forming", "left unattended", "after hours", "unusual movement"). */
  | { kind: 'anomaly'; type: 'crowd' | 'abandoned' | 'after-hours' | 'unusual' }
  /** Crossing a line ("crossing", "entered": inbound, "exited": outbound). */
  | { kind: 'cross'; direction?: 'in' | 'out' }
  | { kind: 'direction'; direction: 'in' | 'out' }
  | { kind: 'line-word' }
  | { kind: 'camera-word' }
  | { kind: 'zone-word' }
  | { kind: 'refused'; reason: string }
  | { kind: 'absence' }
  | { kind: 'filler' };

/** Dwell assumed for "loitering" and similar words when no duration is given. */
export const LOITER_SECONDS = 60;
export const CROWD_MIN = 10;
export const GROUP_MIN = 3;
export const NIGHT = { after: '22:00', before: '06:00' } as const;
export const DAYTIME = { after: '06:00', before: '22:00' } as const;

const IRREGULAR_PLURALS: Record<string, string> = {
  person: 'persons', man: 'men', woman: 'women', child: 'children', knife: 'knives', mouse: 'mice', sheep: 'sheep',
  skis: 'skis', scissors: 'scissors', broccoli: 'broccoli', luggage: 'luggage', aircraft: 'aircraft', cattle: 'cattle',
  tv: 'tvs', puppy: 'puppies',
};

/** English plural of a (possibly multi-word) noun: the last word is inflected. */
export function pluralOf(noun: string): string {
  const words = noun.split(' ');
  const last = words.pop() ?? '';
  let plural: string;
  if (IRREGULAR_PLURALS[last] !== undefined) plural = IRREGULAR_PLURALS[last];
  else if (/(s|x|ch|sh)$/.test(last)) plural = `${last}es`;
  else if (/[^aeiou]y$/.test(last)) plural = `${last.slice(0, -1)}ies`;
  else plural = `${last}s`;
  return [...words, plural].join(' ');
}

const VEHICLES: CocoClass[] = ['car', 'truck', 'bus', 'motorcycle'];
const BAGS: CocoClass[] = ['backpack', 'handbag', 'suitcase'];

/** Synonyms (singular; plurals are generated) → classes. Every COCO name also maps to itself. */
const CLASS_SYNONYMS: Record<string, CocoClass[]> = {
  man: ['person'], woman: ['person'], people: ['person'], pedestrian: ['person'], child: ['person'], kid: ['person'],
  boy: ['person'], girl: ['person'], human: ['person'], individual: ['person'], adult: ['person'], guy: ['person'],
  worker: ['person'], visitor: ['person'], intruder: ['person'],
  someone: ['person'], somebody: ['person'], anyone: ['person'], anybody: ['person'],
  bike: ['bicycle'], cycle: ['bicycle'], pushbike: ['bicycle'],
  automobile: ['car'], taxi: ['car'], cab: ['car'],
  motorbike: ['motorcycle'], moped: ['motorcycle'], scooter: ['motorcycle'],
  plane: ['airplane'], aeroplane: ['airplane'], aircraft: ['airplane'],
  coach: ['bus'], lorry: ['truck'], pickup: ['truck'],
  van: ['car', 'truck'], vehicle: VEHICLES,
  ship: ['boat'], 'traffic signal': ['traffic light'], hydrant: ['fire hydrant'],
  rucksack: ['backpack'], knapsack: ['backpack'], purse: ['handbag'], luggage: ['suitcase'], bag: BAGS,
  ball: ['sports ball'], football: ['sports ball'], ski: ['skis'], scissor: ['scissors'],
  television: ['tv'], sofa: ['couch'], table: ['dining table'], plant: ['potted plant'], houseplant: ['potted plant'],
  phone: ['cell phone'], 'mobile phone': ['cell phone'], smartphone: ['cell phone'], cellphone: ['cell phone'],
  fridge: ['refrigerator'], 'hair dryer': ['hair drier'], hairdryer: ['hair drier'], doughnut: ['donut'],
  puppy: ['dog'], cattle: ['cow'], teddy: ['teddy bear'],
};

const COLORS: Record<string, BasicColor> = {
  red: 'red', orange: 'orange', yellow: 'yellow', green: 'green', blue: 'blue', purple: 'purple', pink: 'pink',
  brown: 'brown', black: 'black', white: 'white', grey: 'grey', gray: 'grey',
  navy: 'blue', violet: 'purple', maroon: 'red', crimson: 'red', beige: 'brown', tan: 'brown', silver: 'grey', magenta: 'pink',
};

const GARMENTS: Record<string, 'upper' | 'lower'> = {
  shirt: 'upper', 't shirt': 'upper', tshirt: 'upper', tee: 'upper', top: 'upper', jacket: 'upper', coat: 'upper',
  hoodie: 'upper', sweater: 'upper', jumper: 'upper', sweatshirt: 'upper', blouse: 'upper', dress: 'upper', vest: 'upper',
  trousers: 'lower', pants: 'lower', jeans: 'lower', shorts: 'lower', skirt: 'lower', leggings: 'lower', slacks: 'lower',
};

const NOT_COCO = (what: string): string =>
  `ChronoTrace cannot see ${what}: no model in the pipeline detects them (they are not one of the 80 COCO classes).`;
const PRIVATE = 'Faces and number plates are redacted inside the privacy boundary before any analysis; queries cannot match on them.';

const REFUSED: Record<string, string> = {
  'hard hat': NOT_COCO('hard hats'), hardhat: NOT_COCO('hard hats'), helmet: NOT_COCO('helmets'), hat: NOT_COCO('hats'),
  cap: NOT_COCO('caps'), 'hi vis': NOT_COCO('hi-vis clothing'), 'high vis': NOT_COCO('hi-vis clothing'), 'hi viz': NOT_COCO('hi-vis clothing'),
  'safety vest': NOT_COCO('safety vests'), 'high visibility': NOT_COCO('hi-vis clothing'), mask: NOT_COCO('masks'),
  'face mask': NOT_COCO('masks'), glasses: NOT_COCO('glasses'), sunglasses: NOT_COCO('glasses'), goggles: NOT_COCO('goggles'),
  glove: NOT_COCO('gloves'), gun: NOT_COCO('guns'), weapon: NOT_COCO('weapons'), rifle: NOT_COCO('guns'), pistol: NOT_COCO('guns'),
  firearm: NOT_COCO('guns'),
  face: PRIVATE, 'licence plate': PRIVATE, 'license plate': PRIVATE, 'number plate': PRIVATE, plate: PRIVATE,
};

const NUMBER_WORDS: Record<string, number> = {
  zero: 0, one: 1, two: 2, three: 3, four: 4, five: 5, six: 6, seven: 7, eight: 8, nine: 9, ten: 10, eleven: 11, twelve: 12,
  thirteen: 13, fourteen: 14, fifteen: 15, sixteen: 16, seventeen: 17, eighteen: 18, nineteen: 19, twenty: 20,
  thirty: 30, forty: 40, fifty: 50, sixty: 60, hundred: 100, dozen: 12,
};

const CMP: Record<string, QueryCountOp> = {
  'more than': '>', over: '>', above: '>', 'greater than': '>', 'in excess of': '>',
  'at least': '>=', 'no fewer than': '>=', 'no less than': '>=', 'not less than': '>=', minimum: '>=',
  'fewer than': '<', 'less than': '<', under: '<', below: '<',
  'at most': '<=', 'no more than': '<=', 'not more than': '<=', 'up to': '<=', maximum: '<=',
  exactly: '=', precisely: '=',
};

const UNITS: Record<string, number> = {
  second: 1, seconds: 1, sec: 1, secs: 1, s: 1, minute: 60, minutes: 60, min: 60, mins: 60, hour: 3600, hours: 3600, hr: 3600, hrs: 3600, h: 3600,
};

const DAY_NAMES = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'];
const DAY_ABBREVIATIONS: Record<string, number> = { sun: 0, mon: 1, tue: 2, tues: 2, wed: 3, thu: 4, thur: 4, thurs: 4, fri: 5, sat: 6 };

const FILLERS = [
  'a', 'an', 'the', 'any', 'some', 'there', 'is', 'are', 'was', 'were', 'be', 'being', 'been', 'who', 'that', 'which', 'this',
  'these', 'those', 'it', 'its', 'of', 'alert', 'alerts', 'me', 'us', 'notify', 'tell', 'warn', 'when', 'whenever', 'if',
  'show', 'find', 'look', 'looking', 'search', 'detect', 'detected', 'see', 'seen', 'spotted', 'visible', 'appear',
  'appears', 'appearing', 'present', 'all', 'every', 'each', 'please', 'i', 'want', 'get', 'let', 'know', 'time', 'times',
  'walking', 'walks', 'standing', 'stands', 'moving', 'moves', 'going', 'passing', 'sitting', 'waiting', 'entering',
  'enters', 'staying', 'stays', 'view', 'dark', 'light', 'bright', 'pale', 'colored', 'coloured', 'daily', 'day', 'days',
];

const PLACES = ['in', 'inside', 'near', 'nearby', 'at', 'on', 'by', 'around', 'within', 'into', 'close', 'next', 'beside', 'across', 'through'];

function lexicon(): Map<string, Lexeme> {
  const m = new Map<string, Lexeme>();
  const put = (phrase: string, l: Lexeme): void => {
    if (!m.has(phrase)) m.set(phrase, l);
  };
  // Colours first: 'orange' is read as a colour; the parser turns a lone 'orange' back into the fruit.
  for (const [word, color] of Object.entries(COLORS)) put(word, { kind: 'color', color });
  for (const c of COCO_CLASSES) {
    put(c, { kind: 'class', classes: [c] });
    put(pluralOf(c), { kind: 'class', classes: [c] });
  }
  for (const [word, classes] of Object.entries(CLASS_SYNONYMS)) {
    put(word, { kind: 'class', classes });
    put(pluralOf(word), { kind: 'class', classes });
  }
  for (const [word, part] of Object.entries(GARMENTS)) {
    put(word, { kind: 'garment', part });
    put(pluralOf(word), { kind: 'garment', part });
  }
  for (const [word, reason] of Object.entries(REFUSED)) {
    put(word, { kind: 'refused', reason });
    put(pluralOf(word), { kind: 'refused', reason });
  }
  for (const [word, n] of Object.entries(NUMBER_WORDS)) put(word, { kind: 'number', n });
  for (const [phrase, op] of Object.entries(CMP)) put(phrase, { kind: 'cmp', op });
  for (const [word, seconds] of Object.entries(UNITS)) put(word, { kind: 'unit', seconds });
  DAY_NAMES.forEach((d, i) => {
    put(d, { kind: 'days', days: [i] });
    put(`${d}s`, { kind: 'days', days: [i] });
  });
  for (const [word, d] of Object.entries(DAY_ABBREVIATIONS)) put(word, { kind: 'days', days: [d] });
  for (const w of ['weekend', 'weekends']) put(w, { kind: 'days', days: [0, 6] });
  for (const w of ['weekday', 'weekdays', 'workday', 'workdays', 'working day', 'working days']) put(w, { kind: 'days', days: [1, 2, 3, 4, 5] });
  for (const w of ['with', 'carrying', 'carries', 'carry', 'holding', 'holds', 'hold', 'pushing', 'pulling', 'wheeling', 'dragging', 'has', 'having']) put(w, { kind: 'with' });
  for (const w of ['without', 'not carrying', 'not holding']) put(w, { kind: 'without' });
  for (const w of ['wearing', 'wears', 'wear', 'dressed', 'clothed']) put(w, { kind: 'wear' });
  for (const w of PLACES) put(w, { kind: 'place' });
  put('or', { kind: 'or' });
  put('and', { kind: 'and' });
  put('for', { kind: 'for' });
  for (const w of ['loitering', 'loiter', 'loiters', 'loiterer', 'loiterers', 'lingering', 'linger', 'lingers'])
    put(w, { kind: 'loiter', person: true });
  for (const w of ['parked', 'stationary', 'idling', 'stopped']) put(w, { kind: 'loiter', person: false });
  put('after', { kind: 'after' });
  put('before', { kind: 'before' });
  put('between', { kind: 'between' });
  put('from', { kind: 'from' });
  for (const w of ['to', 'until', 'till', 'til']) put(w, { kind: 'until' });
  put('noon', { kind: 'clock', hhmm: '12:00' });
  put('midday', { kind: 'clock', hhmm: '12:00' });
  put('midnight', { kind: 'clock', hhmm: '00:00' });
  put('am', { kind: 'meridiem', pm: false });
  put('pm', { kind: 'meridiem', pm: true });
  for (const w of ['night', 'nights', 'nighttime', 'night time', 'overnight']) put(w, { kind: 'period', ...NIGHT });
  for (const w of ['daytime', 'day time', 'during the day']) put(w, { kind: 'period', ...DAYTIME });
  for (const w of ['crowd', 'crowds']) put(w, { kind: 'crowd', n: CROWD_MIN });
  for (const w of ['group', 'groups']) put(w, { kind: 'crowd', n: GROUP_MIN });
  for (const w of ['crowd forming', 'crowds forming', 'crowd gathering', 'crowds gathering', 'crowd building', 'crowd building up', 'crowding', 'gathering', 'gather', 'gathers', 'forming'])
    put(w, { kind: 'anomaly', type: 'crowd' });
  for (const w of ['unattended', 'left unattended', 'left behind', 'abandoned', 'abandon', 'dumped']) put(w, { kind: 'anomaly', type: 'abandoned' });
  for (const w of ['after hours', 'out of hours', 'outside hours', 'outside opening hours', 'outside business hours', 'outside working hours', 'after closing', 'after closing time'])
    put(w, { kind: 'anomaly', type: 'after-hours' });
  for (const w of ['unusual', 'unusual movement', 'unusual movements', 'unusual activity', 'unusual behaviour', 'unusual behavior', 'abnormal', 'abnormal movement', 'abnormal activity', 'abnormal behaviour', 'abnormal behavior', 'erratic', 'erratic movement'])
    put(w, { kind: 'anomaly', type: 'unusual' });
  for (const w of ['crossing', 'crosses', 'cross', 'crossed']) put(w, { kind: 'cross' });
  for (const w of ['entered', 'enter', 'came in', 'coming in']) put(w, { kind: 'cross', direction: 'in' });
  for (const w of ['exited', 'exit', 'exits', 'exiting', 'went out', 'going out']) put(w, { kind: 'cross', direction: 'out' });
  for (const w of ['inbound', 'inward', 'inwards']) put(w, { kind: 'direction', direction: 'in' });
  for (const w of ['outbound', 'outward', 'outwards']) put(w, { kind: 'direction', direction: 'out' });
  for (const w of ['line', 'lines']) put(w, { kind: 'line-word' });
  for (const w of ['camera', 'cameras', 'cam', 'cams', 'feed']) put(w, { kind: 'camera-word' });
  for (const w of ['zone', 'zones', 'area', 'areas', 'region']) put(w, { kind: 'zone-word' });
  for (const w of ['no', 'not', 'nobody', 'none', 'nothing', 'never', 'no one', 'empty']) put(w, { kind: 'absence' });
  for (const w of FILLERS) put(w, { kind: 'filler' });
  return m;
}

/** Phrase (words joined by one space) → meaning. Built once. */
export const LEXICON: ReadonlyMap<string, Lexeme> = lexicon();

export const MAX_PHRASE_WORDS = Math.max(...[...LEXICON.keys()].map((k) => k.split(' ').length));

/** Words worth suggesting: content words (not fillers, not refused terms). */
export const SUGGESTIBLE: readonly string[] = [...LEXICON.entries()]
  .filter(([, l]) => !['filler', 'refused', 'place', 'absence', 'or', 'and', 'line-word'].includes(l.kind))
  .map(([k]) => k);

/** Words the compiler deliberately does not accept but can point elsewhere for. */
export const RELATED: Readonly<Record<string, string[]>> = {
  cyclist: ['person with a bicycle'],
  cyclists: ['person with a bicycle'],
  biker: ['person with a motorcycle'],
  crowded: ['crowd'],
  animal: ['dog', 'cat', 'bird', 'horse'],
  animals: ['dog', 'cat', 'bird', 'horse'],
  tonight: ['at night'],
  evening: ['after 18:00'],
  morning: ['before 12:00'],
  afternoon: ['after 12:00'],
  outside: ['in zone <name>'],
  trolley: ['suitcase'],
  stroller: ['person'],
  pram: ['person'],
};
