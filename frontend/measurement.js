// "How it was measured", in words: which pose model, which angles came from 3D body points or the 2D image, which way
// the camera looked (gravity's vertical, against which the trunk's lean is measured), what was measured, what assumed.
import { h } from "./dom.js";
import { plural, readable } from "./format.js";

/** The lines of the part, from a finished job's status. */
export function measurement(status) {
  const inputs = status.inputs || {};
  const line = (label, value) => h("p", {}, h("strong", {}, `${label}: `), value);
  const lines = [];
  if (status.model?.name) lines.push(line("Pose model", `${status.model.name}${status.model.weights ? ` (${status.model.weights})` : ""}`));
  const sources = Object.values(inputs.angle_sources || {});
  const from3d = sources.reduce((n, s) => n + s["3d"], 0);
  const from2d = sources.reduce((n, s) => n + s["2d"], 0);
  if (from3d + from2d) {
    lines.push(line("Angles", `${Math.round((100 * from3d) / (from3d + from2d))}% from 3D body points, ` +
      `${Math.round((100 * from2d) / (from3d + from2d))}% from the 2D image`));
  }
  if (inputs.camera_tilt) lines.push(line("Camera angle", cameraWords(inputs.camera_tilt)));
  if (status.viewpoint) lines.push(line("Viewpoint", status.viewpoint));  // the report's words, from the job's view
  if (inputs.measured) lines.push(line("Measured from the video", inputs.measured.map(readable).join(", ")));
  if (inputs.assumed) lines.push(assumptions(inputs));
  return lines;
}

/** The camera's tilt (``inputs.camera_tilt``: pitch positive looking down, roll positive when gravity leans towards
 * the picture's left), how it was found and how far to trust it. */
function cameraWords(tilt) {
  const degrees = (value) => `${Math.abs(value).toFixed(0)}°`;
  // the tilt's uncertainty (degrees; 0 when known with confidence), over which the trunk's scores are ranged
  const ranged = tilt.uncertainty ? ` Uncertain by ±${degrees(tilt.uncertainty)}: the trunk's scores are ranged over it.` : "";
  if (tilt.method === "none") {
    return "not estimated (too few frames with the worker standing straight): the camera's own up was taken for " +
      `vertical, so a camera that was tilted tilts the trunk's angles by as much.${ranged}`;
  }
  const pitch = Math.abs(tilt.pitch) < 1 ? "looking level" : `looking ${degrees(tilt.pitch)} ${tilt.pitch > 0 ? "down" : "up"}`;
  const roll = Math.abs(tilt.roll) < 1 ? "not rolled"
    : `rolled ${degrees(tilt.roll)} (the vertical leans towards the picture's ${tilt.roll > 0 ? "left" : "right"})`;
  const trust = tilt.confidence === "high" ? "high confidence" : `${tilt.confidence} confidence: read the trunk's angles with care`;
  return `${pitch}, ${roll}; ${howFound(tilt)} (${trust}). The body's angles are measured against the vertical this gives.${ranged}`;
}

/** How the camera's tilt was found (``inputs.camera_tilt.method``), in words. */
function howFound(tilt) {
  const edges = () => `estimated from ${plural(tilt.lines, "upright edge")} in the scene`;
  switch (tilt.method) {
    case "given": return "as given for the job";
    case "stance": return `estimated from the worker's stance in ${plural(tilt.frames, "frame")}` +
      (tilt.spread == null ? "" : ` that agree within ${Math.abs(tilt.spread).toFixed(0)}°`);
    case "scene": return edges();
    case "scene+stance": return `${edges()} (the roll) and from them and the worker's stance (the tilt down)`;
    default: return `found by "${tilt.method}"`;
  }
}

/** What the video cannot show, as the job's settings gave it; folded, since it is long and mostly the defaults. */
function assumptions(inputs) {
  const measured = new Set(inputs.measured || []);
  const items = Object.entries(inputs.assumed).map(([name, value]) => {
    let words = `${readable(name)}: ${value}`;
    if (measured.has(name)) {  // measured where it was seen: the setting stood in only for the other frames
      const unmeasured = (inputs.frames_scored ?? 0) - (inputs.frames_measured?.[name] ?? 0);
      words += ` (measured where seen; this value stood in for the ${unmeasured} scored frames where it was not)`;
    }
    return h("li", {}, words);
  });
  return h("details", {}, h("summary", {}, "Assumed from the job's settings (what the video cannot show)"), h("ul", {}, items));
}
