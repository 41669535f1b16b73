// Part of the video to analyse (a task cycle): a strip of pictures of the chosen file, made here in the browser (a
// hidden <video> seeks to a few evenly spaced moments and each is drawn on a canvas; nothing is uploaded for it), and
// a start and an end under it, as sliders and as numbers, the chosen span shaded on the strip. The whole video by
// default, and then nothing is sent. A video this browser cannot decode gets no strip, a message, and the numbers.
import { $, h, show, text } from "./dom.js";
import { formatMoment, formatTime } from "./format.js";

/** Pictures in the strip, and how long the browser may take to open the file before the strip is given up. */
const THUMBNAILS = 8;
const OPEN_TIMEOUT_MS = 8000;
const SEEK_TIMEOUT_MS = 4000;

/** The file shown (a newer choice stops an older strip), and its length once the browser has read it (null: unknown). */
const range = { file: null, duration: null };

/** Resolves with the first of ``events`` ``target`` fires ("timeout" after ``ms``). */
function once(target, events, ms) {
  return new Promise((resolve) => {
    const done = (name) => {
      clearTimeout(timer);
      for (const event of events) target.removeEventListener(event, handlers[event]);
      resolve(name);
    };
    const handlers = Object.fromEntries(events.map((event) => [event, () => done(event)]));
    for (const event of events) target.addEventListener(event, handlers[event]);
    const timer = setTimeout(() => done("timeout"), ms);
  });
}

/** Draws the strip of ``file``; its length, or null where this browser cannot decode it. */
async function drawStrip(file) {
  const video = h("video", { muted: true, preload: "auto", playsinline: true });
  const url = URL.createObjectURL(file);
  video.src = url;
  try {
    if (await once(video, ["loadeddata", "error"], OPEN_TIMEOUT_MS) !== "loadeddata") return null;
    const duration = video.duration;
    if (!Number.isFinite(duration) || duration <= 0 || !video.videoWidth) return null;
    const canvas = $("#range-strip");
    const cell = { width: 160, height: Math.round((160 * video.videoHeight) / video.videoWidth) };
    canvas.width = cell.width * THUMBNAILS;
    canvas.height = cell.height;
    const context = canvas.getContext("2d");
    for (let index = 0; index < THUMBNAILS; index++) {
      if (range.file !== file) return null;  // another file was chosen meanwhile
      video.currentTime = ((index + 0.5) * duration) / THUMBNAILS;
      if (await once(video, ["seeked", "error"], SEEK_TIMEOUT_MS) !== "seeked") return index ? duration : null;
      context.drawImage(video, index * cell.width, 0, cell.width, cell.height);
      canvas.dataset.drawn = String(index + 1);
    }
    return duration;
  } finally {
    URL.revokeObjectURL(url);
    video.removeAttribute("src");
  }
}

const seconds = (selector) => {
  const raw = $(selector).value.trim();
  return raw === "" ? null : Number(raw);
};

/** What is wrong with a start and an end (seconds, null where not given) in a video of ``duration`` (null: unknown). */
function rangeProblem(start, end, duration) {
  if ((start != null && !(start >= 0)) || (end != null && !(end >= 0))) return "The start and the end are seconds, 0 or more.";
  if (start != null && end != null && end <= start) return "The end of the part to analyse must come after its start.";
  if (duration != null && start != null && start >= duration) return `The start must come before the video's end (${formatTime(duration)}).`;
  return null;
}

/** The range chosen: {start_s, end_s} as start_processing takes them (each only where it is not the video's own
 * start or end: the whole video sends nothing), or {problem} in words. */
export function timeRange() {
  if (!range.file) return {};
  const start = seconds("#range-start"), end = seconds("#range-end");
  const problem = rangeProblem(start, end, range.duration);
  if (problem) return { problem };
  const chosen = {};
  if (start) chosen.start_s = start;
  if (end != null && (range.duration == null || end < range.duration)) chosen.end_s = end;
  return chosen;
}

/** The span shaded on the strip, the sliders where the numbers are, and the span in words. */
function showSpan() {
  const duration = range.duration;
  const chosen = timeRange();
  text("#range-error", chosen.problem || "");
  show("#range-error", Boolean(chosen.problem));
  for (const id of ["#range-start", "#range-end"]) $(id).setAttribute("aria-invalid", String(Boolean(chosen.problem)));
  if (chosen.problem) return;
  const start = chosen.start_s || 0;
  const end = chosen.end_s ?? duration;
  if (duration != null) {
    $("#range-span").style.left = `${(100 * start) / duration}%`;
    $("#range-span").style.width = `${(100 * (end - start)) / duration}%`;
    $("#range-start-slider").value = String(start);
    $("#range-end-slider").value = String(end);
    $("#range-start-slider").setAttribute("aria-valuetext", formatMoment(start));  // read out as a moment, not "1"
    $("#range-end-slider").setAttribute("aria-valuetext", formatMoment(end));
  }
  const whole = chosen.start_s == null && chosen.end_s == null;
  const of = duration == null ? "" : ` of ${formatTime(duration)}`;
  text("#range-chosen", whole ? `The whole video${of} is analysed.`
    : `Analysed: ${formatMoment(start)} to ${end == null ? "the end" : formatMoment(end)}${of}.`);
}

/** A slider moved: its number follows (the other end is pushed along so that the end stays after the start). */
function slid(which) {
  const start = Number($("#range-start-slider").value), end = Number($("#range-end-slider").value);
  const step = Number($("#range-start-slider").step);
  if (which === "start") {
    $("#range-start").value = start ? String(start) : "";
    if (end <= start) $("#range-end").value = String(Math.min(range.duration, start + step));
  } else {
    $("#range-end").value = end >= range.duration ? "" : String(end);
    if (end <= start) $("#range-start").value = String(Math.max(0, end - step));
  }
  showSpan();
}

/** A new file: the whole video, or the part ``kept`` ({start_s, end_s}, as timeRange() gave them: an upload of this
 * file that stopped, resumed now, keeps the part chosen for it); its strip drawn once the browser has read it (or a
 * message where it cannot). */
export async function chooseForRange(file, kept = {}) {
  range.file = file;
  range.duration = null;
  $("#range-start").value = String(kept.start_s ?? "");
  $("#range-end").value = String(kept.end_s ?? "");
  delete $("#range-strip").dataset.drawn;
  show("#time-range", true);
  show("#range-visual", false);
  text("#range-note", "Making pictures of the video…");
  showSpan();
  const duration = await drawStrip(file).catch(() => null);  // whatever went wrong, the numbers still work
  if (range.file !== file) return;
  range.duration = duration;
  if (duration == null) {
    text("#range-note", "This browser cannot show pictures of this video (its format or codec), so there is no strip; "
      + "the server may still read it. Type the start and the end in seconds to analyse a part.");
    $("#range-strip").dataset.failed = "true";
    showSpan();
    return;
  }
  delete $("#range-strip").dataset.failed;
  for (const id of ["#range-start-slider", "#range-end-slider"]) {
    $(id).max = String(duration);
    $(id).step = String(Math.max(0.1, Math.round(duration) / 1000));
  }
  $("#range-start").max = $("#range-end").max = String(duration);
  text("#range-note", "Pictures of the video at evenly spaced moments; the part analysed is outlined.");
  show("#range-visual", true);
  showSpan();
}

/** No file: nothing to show, nothing to send. */
export function clearRange() {
  range.file = null;
  range.duration = null;
  show("#time-range", false);
}

export function initTimeRange() {
  $("#range-start-slider").addEventListener("input", () => slid("start"));
  $("#range-end-slider").addEventListener("input", () => slid("end"));
  for (const id of ["#range-start", "#range-end"]) $(id).addEventListener("input", showSpan);
  $("#range-whole").addEventListener("click", () => {
    $("#range-start").value = $("#range-end").value = "";
    showSpan();
  });
}
