/** Real PrivacyDetector implementations for tests: fixed answers, failures and hangs, without models. */
import type { Box, ModelVersion } from '@chronotrace/contracts';
import type { Detection, DetectFocus, PrivacyDetector } from '../../src/privacy/privacy-detector';

export class FixedBoxDetector implements PrivacyDetector {
  readonly models: ModelVersion[];
  calls = 0;
  closed = false;
  constructor(
    readonly name: string,
    private readonly boxes: Box[],
    private readonly delayMs = 0,
  ) {
    this.models = [{ name: `fixed-${name}`, version: 'test' }];
  }
  async start(): Promise<void> {}
  async detect(): Promise<Detection> {
    this.calls++;
    if (this.delayMs > 0) await new Promise((r) => setTimeout(r, this.delayMs));
    return { boxes: this.boxes.map((b) => ({ ...b })), ms: this.delayMs };
  }
  async close(): Promise<void> {
    this.closed = true;
  }
}

export class ThrowingDetector implements PrivacyDetector {
  readonly models: ModelVersion[] = [{ name: 'throwing', version: 'test' }];
  constructor(readonly name: string) {}
  async start(): Promise<void> {}
  async detect(): Promise<Detection> {
    throw new Error('model exploded');
  }
  async close(): Promise<void> {}
}

/** Never answers (a stuck worker). */
export class HangingDetector implements PrivacyDetector {
  readonly models: ModelVersion[] = [{ name: 'hanging', version: 'test' }];
  constructor(readonly name: string) {}
  async start(): Promise<void> {}
  detect(): Promise<Detection> {
    return new Promise<Detection>(() => undefined);
  }
  async close(): Promise<void> {}
}

/** Answers nothing and records the focus of every call (undefined = whole frame, no cascade). */
export class FocusRecorder implements PrivacyDetector {
  readonly models: ModelVersion[];
  readonly focuses: (DetectFocus | undefined)[] = [];
  constructor(readonly name: string) {
    this.models = [{ name: `recorder-${name}`, version: 'test' }];
  }
  async start(): Promise<void> {}
  async detect(_jpeg: Uint8Array, _frame: { width: number; height: number }, focus?: DetectFocus): Promise<Detection> {
    this.focuses.push(focus && { regions: focus.regions.map((b) => ({ ...b })), wholeFrame: focus.wholeFrame });
    return { boxes: [], ms: 1 };
  }
  async close(): Promise<void> {}
}
