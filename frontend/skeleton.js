// The worker's skeleton drawn over the uploaded video on a canvas (video.js), from the job's skeleton.json
// (pipeline/skeleton.py): each segment coloured by its RULA body part's score in that frame, as overlay.mp4 and the
// posture pictures colour it, with a dark edge so that it shows on any background.
import { BODY_PARTS, partShade } from "./charts.js";

const UNSCORED = "#78909c";  // pipeline/evidence.py's grey for a body part without a score
const EDGE = "rgba(0, 0, 0, 0.6)";
const HIGHEST = Object.fromEntries(BODY_PARTS.rula);

/** Clear ``canvas`` (laid over ``video``, the same size) and draw one frame's ``points`` of ``skeleton`` on the
 * picture where the player shows it (letterboxed inside the element), coloured by ``frame``'s scores (frames.csv's
 * row); nothing where ``points`` is null (no worker, or no analysed frame near). */
export function drawWorker(canvas, video, points, skeleton, frame) {
  const ratio = window.devicePixelRatio || 1, box = video.getBoundingClientRect();
  const [width, height] = [Math.round(box.width * ratio), Math.round(box.height * ratio)];
  if (canvas.width !== width || canvas.height !== height) Object.assign(canvas, { width, height });
  const pen = canvas.getContext("2d");
  pen.clearRect(0, 0, width, height);
  if (!points || !video.videoWidth) return;
  const scale = Math.min(width / video.videoWidth, height / video.videoHeight);
  const [w, h] = [video.videoWidth * scale, video.videoHeight * scale];
  const place = { left: (width - w) / 2, top: (height - h) / 2, w, h, unit: skeleton.scale };
  const segments = skeleton.segments.map(([from, to, part]) => [spot(points, from, place), spot(points, to, place), part])
    .filter(([a, b]) => a && b);
  const thickness = Math.max(3 * ratio, w / 120);
  pen.lineCap = "round";
  for (const edge of [true, false]) {
    for (const [a, b, part] of segments) {
      pen.strokeStyle = edge ? EDGE : colour(frame, part);
      pen.lineWidth = thickness + (edge ? 2 * ratio : 0);
      pen.beginPath();
      pen.moveTo(...a);
      pen.lineTo(...b);
      pen.stroke();
    }
  }
}

/** Point ``k`` on the canvas, or null where it was not seen. */
function spot(points, k, { left, top, w, h, unit }) {
  return points[2 * k] == null ? null : [left + (points[2 * k] / unit) * w, top + (points[2 * k + 1] / unit) * h];
}

function colour(frame, part) {
  const score = frame?.parts[`rula_${part}`];
  return score == null ? UNSCORED : partShade(score, HIGHEST[part]);
}
