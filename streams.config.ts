import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defineStreams, type CameraConfigInput } from '@chronotrace/contracts';

/*
 * The cameras ChronoTrace starts with. Validated at start-up; a bad field stops start-up with a
 * message naming it. Point CHRONOTRACE_CONFIG at another file for a real site.
 *
 * Sources: rtsp://user:pass@host:554/path (pulled over TCP), an absolute file path (looped),
 * file:///path, or testsrc:<pattern> (ffmpeg's synthetic video, no network needed).
 * Zones are polygons in normalised coordinates (0..1, origin top-left).
 */

// Demo media from Debian's opencv-doc package (installed by .ci/run); cameras whose file is absent are left out.
const OPENCV_DATA = '/usr/share/doc/opencv-doc/examples/data';
// Without opencv-doc the street camera plays the clip the repository ships (media/demo/README.md).
const STREET = existsSync(`${OPENCV_DATA}/vtest.avi`) ? `${OPENCV_DATA}/vtest.avi` : fileURLToPath(new URL('./media/demo/street.mp4', import.meta.url));

const demo: CameraConfigInput[] = [
  {
    id: 'street',
    name: 'Street — pedestrians',
    location: 'Pedestrian crossing (OpenCV vtest.avi)',
    source: STREET,
    fps: 10,
    analysisFps: 2,
    width: 640,
    zones: [{ name: 'crossing', polygon: [[0.05, 0.55], [0.95, 0.55], [0.95, 0.98], [0.05, 0.98]] }],
  },
  {
    id: 'lobby',
    name: 'Lobby — test pattern',
    location: 'Synthetic source',
    source: 'testsrc:testsrc2',
    fps: 10,
    analysisFps: 2,
    width: 640,
  },
  {
    id: 'pitch',
    name: 'Pitch — faces',
    location: 'Still image (messi5.jpg)',
    source: `${OPENCV_DATA}/messi5.jpg`,
    fps: 2,
    width: 640,
  },
  {
    id: 'gate',
    name: 'Gate — vehicle plate',
    location: 'Still image (licenseplate_motion.jpg)',
    source: `${OPENCV_DATA}/licenseplate_motion.jpg`,
    fps: 2,
    width: 640,
  },
];

export default defineStreams({
  cameras: demo.filter((c) => !c.source.startsWith('/') || existsSync(c.source)),
  schedules: [{ name: 'business-hours', days: [1, 2, 3, 4, 5], from: '07:00', to: '19:00' }],
});
