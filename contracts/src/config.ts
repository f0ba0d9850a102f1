import { z } from 'zod';
import { lineSchema } from './anomaly';
import { recordingSettingsSchema } from './history';

/** Camera ids end up in bus subjects (`frames.raw.<id>`), URLs and file names: keep them to a safe alphabet. */
export const CAMERA_ID_PATTERN = /^[a-z0-9][a-z0-9_-]{0,62}$/;

export const cameraIdSchema = z
  .string()
  .regex(CAMERA_ID_PATTERN, 'must be 1–63 characters of a-z, 0-9, "-" or "_", starting with a letter or digit');

/**
 * A camera source, as written in config or POST /api/cameras:
 * - `rtsp://…` / `rtsps://…` — an RTSP camera, pulled over TCP by ffmpeg;
 * - `testsrc:<pattern>` — ffmpeg's synthetic source (`testsrc2`, `smptebars`, `mandelbrot`…), needs no network;
 * - `file:///abs/path` or `/abs/path` — a local video (looped) or still image (repeated);
 * - `webrtc` — a browser or phone publishing over WHIP (`POST /whip/<camera>` with the camera's publish token).
 */
export type ParsedSource =
  | { kind: 'rtsp'; url: string }
  | { kind: 'testsrc'; pattern: string }
  | { kind: 'file'; path: string }
  | { kind: 'webrtc' };

export const TESTSRC_PATTERNS = ['testsrc', 'testsrc2', 'smptebars', 'smptehdbars', 'rgbtestsrc', 'mandelbrot', 'life', 'cellauto'] as const;

export function parseSource(source: string): { ok: true; value: ParsedSource } | { ok: false; reason: string } {
  const s = source.trim();
  if (s.length === 0) return { ok: false, reason: 'source is empty' };
  if (s.length > 2048) return { ok: false, reason: 'source is longer than 2048 characters' };
  // eslint-disable-next-line no-control-regex -- rejecting control characters is the point
  if (/[\u0000-\u001f]/.test(s)) return { ok: false, reason: 'source contains control characters' };
  if (s === 'webrtc') return { ok: true, value: { kind: 'webrtc' } };
  if (/^rtsps?:\/\//i.test(s)) {
    let url: URL;
    try {
      url = new URL(s);
    } catch {
      return { ok: false, reason: `"${s}" is not a valid RTSP URL` };
    }
    if (!url.hostname) return { ok: false, reason: 'RTSP URL has no host' };
    if (url.port && (Number(url.port) < 1 || Number(url.port) > 65535)) return { ok: false, reason: 'RTSP URL port is out of range' };
    return { ok: true, value: { kind: 'rtsp', url: s } };
  }
  if (s.startsWith('testsrc:')) {
    const pattern = s.slice('testsrc:'.length);
    if (!(TESTSRC_PATTERNS as readonly string[]).includes(pattern)) {
      return { ok: false, reason: `unknown test pattern "${pattern}": use one of ${TESTSRC_PATTERNS.join(', ')}` };
    }
    return { ok: true, value: { kind: 'testsrc', pattern } };
  }
  if (s.startsWith('file://')) {
    const path = decodeURIComponent(s.slice('file://'.length));
    if (!path.startsWith('/')) return { ok: false, reason: 'file:// source needs an absolute path' };
    return { ok: true, value: { kind: 'file', path } };
  }
  if (s.startsWith('/')) return { ok: true, value: { kind: 'file', path: s } };
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(s)) return { ok: false, reason: `unsupported source scheme in "${s}": use rtsp://, rtsps://, file://, testsrc:<pattern> or webrtc` };
  return { ok: false, reason: `"${s}" is not a source: use rtsp://…, an absolute file path, file:///…, testsrc:<pattern> or webrtc (WHIP)` };
}

export const sourceSchema = z.string().superRefine((s, ctx) => {
  const parsed = parseSource(s);
  if (!parsed.ok) ctx.addIssue({ code: 'custom', message: parsed.reason });
});

const point = z.tuple([z.number().min(0).max(1), z.number().min(0).max(1)]);

/** Opening hours: the days and the local time (the camera's zone) a place is open, `from` inclusive, `to` exclusive (wrapping midnight when from > to). */
export const scheduleSchema = z.object({
  name: z.string().min(1).max(64),
  /** Days of week 0 (Sunday) … 6. */
  days: z.array(z.number().int().min(0).max(6)).min(1),
  from: z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'use HH:MM'),
  to: z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'use HH:MM'),
});

export type ScheduleConfig = z.infer<typeof scheduleSchema>;

/** A named polygon in normalised image coordinates (0..1, origin top-left). */
export const zoneSchema = z.object({
  name: z.string().min(1).max(64),
  polygon: z.array(point).min(3, 'a zone polygon needs at least 3 points').max(64),
  /** Its opening hours (a schedule's name), for after-hours rules; absent: the camera's. */
  schedule: z.string().min(1).max(64).optional(),
});

export const privacySchema = z
  .object({
    /** Redact faces. Default true. */
    faces: z.boolean().default(true),
    /** Redact licence plates and other text regions. Default true. */
    plates: z.boolean().default(true),
    /** Redact the head region of every detected person (catches faces too small for the face model). Default true. */
    heads: z.boolean().default(true),
    /** How regions are hidden. Default 'pixelate'. */
    method: z.enum(['pixelate', 'blur']).default('pixelate'),
    /** Grow each redacted box by this fraction of its size on every side. Default 0.15. */
    margin: z.number().min(0).max(1).default(0.15),
  })
  .strict();

export type PrivacySettings = z.infer<typeof privacySchema>;

export const cameraSchema = z
  .object({
    id: cameraIdSchema,
    name: z.string().min(1).max(120),
    location: z.string().max(200).default(''),
    source: sourceSchema,
    /** Video rate: frames per second taken from the source, every one redacted and shown on the wall. Default 10. */
    fps: z.number().min(0.1).max(30).default(10),
    /**
     * Analysis rate: frames per second the privacy detectors run on (besides frames where something moves
     * that no carried region covers); the frames between are redacted with the regions carried from the
     * last detection. At or above `fps`, every frame is analysed. Default 2.
     */
    analysisFps: z.number().min(0.1).max(30).default(2),
    /** Width frames are scaled to (height keeps the aspect ratio). Default 640. */
    width: z.number().int().min(64).max(3840).default(640),
    zones: z.array(zoneSchema).max(64).default([]),
    /** Lines for line-crossing rules and directional counts ('in': crossing from the left of from→to to its right). */
    lines: z.array(lineSchema).max(32).default([]),
    /** The camera's opening hours (a schedule's name), for after-hours rules in zones without their own. */
    schedule: z.string().min(1).max(64).optional(),
    /** Schedule definitions the camera and its zones name (in streams.config the top-level ones named are copied here). */
    schedules: z.array(scheduleSchema).max(32).default([]),
    privacy: privacySchema.default({ faces: true, plates: true, heads: true, method: 'pixelate', margin: 0.15 }),
    enabled: z.boolean().default(true),
    /** IANA time zone of the site (search's "yesterday", "after 18:00"). Default: the process's (TZ). */
    timeZone: z
      .string()
      .max(64)
      .refine(isTimeZone, 'must be an IANA time zone, e.g. Europe/Paris or UTC')
      .optional(),
    /** The redacted recording: retention by days and size. Default on, 7 days, 10 GB. */
    recording: recordingSettingsSchema.default({ enabled: true, retainDays: 7, retainGb: 10 }),
  })
  .strict();

/** Whether Intl knows this IANA time zone. */
export function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** The process's time zone (TZ), the default of cameras without one. */
export function processTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
}

export type CameraConfig = z.infer<typeof cameraSchema>;
export type CameraConfigInput = z.input<typeof cameraSchema>;



export const streamsConfigSchema = z
  .object({
    cameras: z.array(cameraSchema).max(256),
    schedules: z.array(scheduleSchema).default([]),
  })
  .strict()
  .superRefine((cfg, ctx) => {
    const seen = new Map<string, number>();
    cfg.cameras.forEach((c, i) => {
      const prev = seen.get(c.id);
      if (prev !== undefined) ctx.addIssue({ code: 'custom', path: ['cameras', i, 'id'], message: `duplicate camera id "${c.id}" (also cameras[${prev}])` });
      else seen.set(c.id, i);
      const defined = new Set([...cfg.schedules, ...c.schedules].map((x) => x.name));
      if (c.schedule !== undefined && !defined.has(c.schedule)) ctx.addIssue({ code: 'custom', path: ['cameras', i, 'schedule'], message: `no schedule "${c.schedule}" (define it in schedules)` });
      c.zones.forEach((z, j) => {
        if (z.schedule !== undefined && !defined.has(z.schedule)) ctx.addIssue({ code: 'custom', path: ['cameras', i, 'zones', j, 'schedule'], message: `no schedule "${z.schedule}" (define it in schedules)` });
      });
    });
  })
  // Each camera carries the definitions of the schedules it names, so every process reads them from the store.
  .transform((cfg) => ({
    ...cfg,
    cameras: cfg.cameras.map((c) => {
      const named = new Set([c.schedule, ...c.zones.map((z) => z.schedule)].filter((n): n is string => n !== undefined));
      const own = new Set(c.schedules.map((x) => x.name));
      return { ...c, schedules: [...c.schedules, ...cfg.schedules.filter((x) => named.has(x.name) && !own.has(x.name))] };
    }),
  }));

export type StreamsConfig = z.infer<typeof streamsConfigSchema>;
export type StreamsConfigInput = z.input<typeof streamsConfigSchema>;

/** Identity helper for `streams.config.ts`: typed input, validated at start-up. */
export function defineStreams(config: StreamsConfigInput): StreamsConfigInput {
  return config;
}

/** Body of POST /api/cameras. */
export const newCameraSchema = cameraSchema;

/** Turns zod issues into "path: message" lines, one per bad field. */
export function formatIssues(issues: readonly z.core.$ZodIssue[]): string[] {
  return issues.map((i) => `${i.path.length ? i.path.map(String).join('.') : '(root)'}: ${i.message}`);
}
