// The video in the results, synced both ways with the charts (issue 28, point 6): the annotated video (overlay.mp4)
// where the job wrote one, else the uploaded video with the worker's skeleton drawn over it on a canvas from the
// job's skeleton.json. Choosing a worst moment, a posture picture, or a point of the timeline or of a body-part strip
// seeks the video there; a cursor on both charts follows it as it plays. The timeline is a slider for the keyboard.
// A job that is not assessable has no scores and no charts: its uploaded video plays under the verdict, so that the
// assessor sees why (no one in sight, too small, hidden), with the skeleton in grey where a person was found.
//
// Times: the charts, the moments and the pictures give times in the uploaded video (the analysed frames' times), and
// the uploaded video plays in that time. overlay.mp4 holds the analysed frames only, one after another at the
// analysed rate: a time maps to its analysed frame, and the frame to its place in the overlay.
import * as api from "./api.js";
import { $, h, show, text } from "./dom.js";
import { formatMoment } from "./format.js";
import { drawWorker } from "./skeleton.js";

const SVG = "http://www.w3.org/2000/svg";
const STEPS = { ArrowRight: 1, ArrowUp: 1, ArrowLeft: -1, ArrowDown: -1 };
const PAGE_S = 10;
const CHARTS = ["#timeline", "#body-parts"];
const REFRESH_MS = 60_000;  // a link that lapsed while the video was watched is signed again, once a minute at most
const ABOUT = {
  overlay: "The annotated video: the skeleton coloured by each body part's score, the frame's scores, and the RULA " +
    "levels along the bottom; it holds the analysed frames only.",
  original: "The video as uploaded, faces not blurred, with the worker's skeleton as measured drawn over it: each body " +
    "part coloured by its RULA score, on the analysed frames.",
};
const UNSCORED = "The video as uploaded, faces not blurred, to see why it could not be assessed: whether the worker is " +
  "in sight, large enough and not hidden. Where the analysis found a person, the skeleton it measured is drawn over " +
  "the frame in grey; no scores are shown.";
const HOW = " Choose a worst moment, a picture, or a point on the timeline or a body-part strip to see it here; on the " +
  "timeline, the arrow keys step one analysed frame, Page Up and Page Down 10 s, and Space plays or pauses.";

let current = null;  // the video shown: its element, its clock, the frames and what drawing it needs
let home = null;  // where the panel sits in the page as written: above the charts it is synced with

/** Stop the video and take it off the page (a new analysis, or results without one). */
export function stopVideo() {
  if (!current) return;
  current.abort.abort();
  current.video.pause();
  current.video.removeAttribute("src");
  current.video.load();
  const timeline = $("#timeline");
  for (const name of ["aria-valuemin", "aria-valuemax", "aria-valuenow", "aria-valuetext"]) timeline.removeAttribute(name);
  timeline.setAttribute("role", "img");
  timeline.setAttribute("aria-label", current.timelineLabel);
  document.querySelectorAll(".video-cursor, .seek-picture").forEach((node) => node.remove());
  $("#results-section").classList.remove("has-video");
  show("#video-panel", false);
  current = null;
}

/** Play the job's video (``status.video``: its source, link and, for the uploaded video, the skeleton's link) beside
 * the charts drawn from ``frames`` (frames.csv's rows); nothing where the job keeps no video or the charts could
 * not be drawn (``frames`` null). ``scored`` false: a job without scores, whose video plays alone under the verdict. */
export async function showVideo(status, frames, scored = true) {
  stopVideo();
  const source = status.video;
  if (!source?.url || !frames?.length) return;
  const video = $("#video"), abort = new AbortController();
  const player = { video, frames, times: frames.map((frame) => frame.time), abort, jobId: status.job_id, source: source.source,
                   skeleton: null, pending: null, target: 0, loaded: false, refreshedAt: 0, scored,
                   timelineLabel: $("#timeline").getAttribute("aria-label") };
  player.clock = clockFor(player);
  current = player;
  placePanel(scored);
  text("#video-about", scored ? ABOUT[source.source] + HOW : UNSCORED);
  show("#video-error", false);
  video.closest(".player").hidden = false;
  show("#video-panel");
  $("#results-section").classList.add("has-video");
  listen(player);
  video.src = source.url;
  if (scored) {
    makeSlider(player);
    addCursors();
    addPictureButtons();
  }
  if (source.skeleton_url) player.skeleton = await skeletonFrom(source.skeleton_url, scored ? HOW : "");
  if (current === player) update(player, video.currentTime);
}

/** The panel above the charts it is synced with; for a job without scores (no charts), under the verdict. */
function placePanel(scored) {
  const panel = $("#video-panel");
  home ??= { parent: panel.parentElement, next: panel.nextElementSibling };
  if (scored) home.parent.insertBefore(panel, home.next);
  else $("#what-to-change").before(panel);
}

/** The times of one video: the analysed frame shown at a time, and a time's place in the video file and back. */
function clockFor(player) {
  const { times, video } = player, count = times.length;
  const frameAt = (t) => {  // the last analysed frame at or before t
    let low = 0, high = count - 1;
    while (low < high) {
      const middle = (low + high + 1) >> 1;
      if (times[middle] <= t + 1e-6) low = middle; else high = middle - 1;
    }
    return low;
  };
  if (player.source !== "overlay") return { frameAt, toVideo: (t) => t, fromVideo: (c) => c };
  const length = () => (Number.isFinite(video.duration) ? video.duration : count);
  return { frameAt, toVideo: (t) => ((frameAt(t) + 0.5) / count) * length(),
           fromVideo: (c) => times[Math.min(count - 1, Math.max(0, Math.floor((c / length()) * count)))] };
}

function listen(player) {
  const { video, abort: { signal } } = player;
  const follow = () => update(player, video.currentTime);
  video.addEventListener("timeupdate", follow, { signal });
  video.addEventListener("seeked", follow, { signal });
  video.addEventListener("loadedmetadata", () => {
    player.loaded = true;
    if (!video.videoWidth) return cannotPlay("This browser plays only the sound of this video: it cannot show its picture.");
    if (player.pending != null) seek(player.pending);
    follow();
  }, { signal });
  video.addEventListener("error", () => recover(player), { signal });
  if ("requestVideoFrameCallback" in video) {  // each frame as it is shown: the skeleton and the cursor keep up with it
    const frame = (now, meta) => {
      if (current !== player) return;
      update(player, meta.mediaTime);
      video.requestVideoFrameCallback(frame);
    };
    video.requestVideoFrameCallback(frame);
  }
  const resized = new ResizeObserver(follow);  // the canvas follows the player's size (a phone turned, a window resized)
  resized.observe(video);
  signal.addEventListener("abort", () => resized.disconnect());
  $("#results-section").addEventListener("click", (event) => {
    const moment = event.target.closest("[data-seek]");
    if (!moment) return;
    event.preventDefault();  // a worst moment's link showed its picture: the video shows the moment now
    seek(Number(moment.dataset.seek), true);
  }, { signal });
  for (const selector of CHARTS) {
    $(selector).addEventListener("click", (event) => {
      const svg = $(`${selector} svg`);
      if (svg) seek(timeAtPointer(svg, event));
    }, { signal });
  }
  $("#timeline").addEventListener("keydown", (event) => onKey(player, event), { signal });
}

/** Show the video at ``t`` (seconds of the uploaded video); ``reveal``: bring the player into view and give it the
 * keyboard (Space then plays), as after choosing a moment far from it. */
function seek(t, reveal = false) {
  if (!current) return;
  const { video, clock } = current;
  current.target = t;
  if (reveal) {
    $("#video-panel").scrollIntoView({ block: "nearest" });
    video.focus({ preventScroll: true });
  }
  if (video.readyState < 1) { current.pending = t; return; }  // before the video's length is known: once it is
  current.pending = null;
  video.currentTime = clock.toVideo(t);
}

function onKey(player, event) {
  const { times, video, clock } = player;
  const now = video.seeking ? player.target : clock.fromVideo(video.currentTime);
  const frame = clock.frameAt(now), last = times.length - 1;
  const moves = { PageUp: now + PAGE_S, PageDown: now - PAGE_S, Home: times[0], End: times[last] };
  if (event.key === " " || event.key === "Enter") {
    event.preventDefault();
    return video.paused ? video.play().catch(() => {}) : video.pause();
  }
  let target = moves[event.key];
  if (event.key in STEPS) target = times[Math.min(last, Math.max(0, frame + STEPS[event.key]))];
  if (target === undefined) return;
  event.preventDefault();
  seek(Math.min(times[last], Math.max(times[0], target)));
}

/** The timeline as a slider: the moment shown, its scores in words, and the keys that move it. */
function makeSlider(player) {
  const timeline = $("#timeline"), { times } = player;
  timeline.setAttribute("role", "slider");
  timeline.setAttribute("aria-label", "Moment of the video shown, on the timeline of the RULA and REBA scores");
  timeline.setAttribute("aria-valuemin", String(times[0]));
  timeline.setAttribute("aria-valuemax", String(times[times.length - 1]));
  timeline.setAttribute("aria-valuenow", String(times[0]));
}

/** The cursor, the slider and the skeleton at the video's time ``mediaTime`` (of the file played). */
function update(player, mediaTime) {
  if (current !== player) return;
  const t = player.video.seeking ? player.target : player.clock.fromVideo(mediaTime);
  for (const selector of CHARTS) moveCursor($(selector), t, !player.video.paused);
  if (player.scored) {  // the timeline is the slider; a job without scores has none
    const frame = player.frames[player.clock.frameAt(t)], timeline = $("#timeline");
    timeline.setAttribute("aria-valuenow", String(Math.round(t * 1000) / 1000));
    timeline.setAttribute("aria-valuetext", `${formatMoment(t)}: RULA ${frame.rula ?? "not scored"}, REBA ${frame.reba ?? "not scored"}`);
  }
  drawSkeleton(player, mediaTime);
}

function axis(svg) {
  const [x0, x1, duration] = ["x0", "x1", "duration"].map((name) => Number(svg.dataset[name]));
  return { x0, x1, duration, x: (t) => x0 + (Math.min(Math.max(t, 0), duration) / Math.max(duration, 1e-6)) * (x1 - x0) };
}

function addCursors() {
  for (const selector of CHARTS) {
    const svg = $(`${selector} svg`);
    if (!svg) continue;
    const line = document.createElementNS(SVG, "line");
    for (const [name, value] of Object.entries({ y1: 0, y2: svg.viewBox.baseVal.height, class: "video-cursor" })) line.setAttribute(name, value);
    svg.append(line);
  }
}

/** The charts' cursors at ``t``; ``follow``: scroll a chart wider than the screen to keep its cursor in sight. */
function moveCursor(container, t, follow) {
  const svg = container.querySelector("svg"), line = container.querySelector(".video-cursor");
  if (!svg || !line) return;
  const x = axis(svg).x(t);
  line.setAttribute("x1", x);
  line.setAttribute("x2", x);
  if (!follow || container.scrollWidth <= container.clientWidth) return;
  const shown = (x / svg.viewBox.baseVal.width) * svg.getBoundingClientRect().width;
  if (shown < container.scrollLeft || shown > container.scrollLeft + container.clientWidth) {
    container.scrollLeft = shown - container.clientWidth / 2;
  }
}

function timeAtPointer(svg, event) {
  const point = new DOMPoint(event.clientX, event.clientY).matrixTransform(svg.getScreenCTM().inverse());
  const { x0, x1, duration } = axis(svg);
  return Math.min(duration, Math.max(0, ((point.x - x0) / (x1 - x0)) * duration));
}

/** A button under each posture picture for the keyboard (a click on the picture itself does the same). */
function addPictureButtons() {
  for (const figure of document.querySelectorAll("#pictures figure[data-seek]")) {
    const time = Number(figure.dataset.seek);
    figure.querySelector("figcaption").append(" ", h("button", { type: "button", class: "seek-picture link", "data-seek": time },
      `See ${formatMoment(time)} in the video`));
  }
}

async function skeletonFrom(url, how) {
  try {
    const response = await fetch(url);
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    return await response.json();
  } catch (error) {
    text("#video-about", `The video as uploaded; the worker's skeleton could not be loaded (${error.message}).${how}`);
    return null;
  }
}

function drawSkeleton(player, mediaTime) {
  const { skeleton, frames, clock } = player;
  const index = clock.frameAt(mediaTime);
  const step = frames.length > 1 ? frames[1].time - frames[0].time : Infinity;
  const near = skeleton && mediaTime - skeleton.times[index] <= 1.5 * step;  // not between frames far apart
  // coloured by the frame's scores; grey (no frame's scores) for a job that may show none
  drawWorker($("#skeleton"), player.video, near ? skeleton.frames[index] : null, skeleton, player.scored ? frames[index] : null);
}

/** A link that lapsed while the video was watched is signed again (the status holds a new one); a video this browser
 * cannot play is said so in words. */
async function recover(player) {
  const { video } = player;
  if (player.loaded && Date.now() - player.refreshedAt > REFRESH_MS) {
    player.refreshedAt = Date.now();
    try {
      const { job_status: status } = await api.call("get_status", { job_id: player.jobId });
      if (current === player && status.video?.url) {
        player.pending = player.clock.fromVideo(video.currentTime);
        video.src = status.video.url;
        return;
      }
    } catch {
      // said below
    }
  }
  const unplayable = video.error?.code === MediaError.MEDIA_ERR_SRC_NOT_SUPPORTED;
  cannotPlay(unplayable ? "This browser cannot play this video's format." : "The video could not be loaded.");
}

function cannotPlay(reason) {
  $("#video").closest(".player").hidden = true;
  text("#video-error", `${reason} The charts, the pictures and the downloads below still show each moment.`);
  show("#video-error");
}
