import { COCO_CLASSES, isCocoClass, type CocoClass } from '@chronotrace/contracts';

/** The 80 COCO classes, in the detectors' class-index order (index 0 = person): the contracts' list. */
export { COCO_CLASSES };

/** A COCO class name as the detector labels it (the same type as the query plan's CocoClass). */
export type CocoClassName = CocoClass;

export const isCocoClassName: (s: string) => s is CocoClassName = isCocoClass;
