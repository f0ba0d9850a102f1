/** Layouts of the wall: tiles per page. */
export const LAYOUTS = [1, 4, 9, 16] as const;
export type Layout = (typeof LAYOUTS)[number];

/** Every shortcut of the wall, as the shortcuts list shows it (the handler is the wall page's). */
export const SHORTCUTS: readonly (readonly [string, string])[] = [
  ['1 – 9', 'open the camera in that position of the page in the focused view'],
  ['← → ↑ ↓', 'move the selection between cameras'],
  ['Enter', 'open the selected camera'],
  ['Page Up / Page Down', 'previous / next page of cameras'],
  ['l', 'next layout (1, 4, 9, 16 per page)'],
  ['g', 'next camera group (by location)'],
  ['a', 'acknowledge the newest unacknowledged alert'],
  ['/', 'go to the query box'],
  ['?', 'show or hide this list'],
  ['Esc', 'close the focused view or this list'],
  ['space, ← →, [ ]', 'in the focused view, once scrubbed back: play/pause, step, previous/next event'],
];

/** Whether a key press is typing (in a field), so wall shortcuts leave it alone. */
export function isTyping(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  return target.isContentEditable || target instanceof HTMLInputElement || target instanceof HTMLTextAreaElement || target instanceof HTMLSelectElement;
}

let audio: AudioContext | null = null;

/** A short tone per severity (info: none; warning: one beep; critical: two, higher), made with Web Audio (no sound file). */
export function alertTone(severity: 'info' | 'warning' | 'critical'): void {
  if (severity === 'info') return;
  try {
    audio ??= new AudioContext();
    const beeps = severity === 'critical' ? [0, 0.25] : [0];
    for (const at of beeps) {
      const o = audio.createOscillator();
      const g = audio.createGain();
      o.frequency.value = severity === 'critical' ? 880 : 660;
      g.gain.value = 0.08;
      o.connect(g).connect(audio.destination);
      o.start(audio.currentTime + at);
      o.stop(audio.currentTime + at + 0.15);
    }
  } catch {
    /* no audio device: silence */
  }
}
