import type { SceneTrack } from '@chronotrace/contracts';

export type { TrackColors } from '@chronotrace/contracts';

/** A track of one frame as the matcher takes it: the scene stage's track with colours and carried objects. */
export type MatchTrack = SceneTrack;
