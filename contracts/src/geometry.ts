/** An axis-aligned box in pixels of the frame it belongs to. */
export interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
  /** Detector confidence 0..1, when it came from a model. */
  score?: number;
  /** What found it, e.g. 'face', 'text', 'person-head'. */
  label?: string;
}
