// The results view: the verdict first (can this video be assessed, why not, what to do), then, where it can be,
// the scores, what they stand on, the pictures, how it was measured, the charts; and the files to download.
import * as api from "./api.js";
import { $, button, h, show, text } from "./dom.js";
import { REBA_COLORS, RULA_COLORS, bandChart, bodyPartChart, parseFrames, timelineChart, timelineLegend } from "./charts.js";
import { costWords, formatMoment, plural, readable } from "./format.js";
import { banner, showView, state } from "./state.js";
import { measurement } from "./measurement.js";
import { renderRecord } from "./record.js";
import { showVideo, stopVideo } from "./video.js";
import { renderRescore } from "./rescore.js";

const NOT_ASSESSABLE = "not assessable";
/** What each verdict means for the figures below it (the reasons and the advice come from the server). */
const VERDICT_MEANING = {
  assessable: "The video shows enough of the worker for the scores below.",
  "partly assessable": "The scores below stand on part of the video only: read them with the reasons below in mind.",
  [NOT_ASSESSABLE]: "This video cannot be assessed, so it is given no scores: see why, and what to do.",
};

export async function renderResults(status) {
  stopVideo();
  showView("results");
  const summary = status.summary;
  text("#results-meta", `${status.filename || "Video"} · job ${status.job_id} · quality ${status.quality} · ` +
    `${summary.frames_analysed} frames analysed`);
  const part = status.time_range?.words;  // the report's words for a part of the video; none for the whole
  text("#results-range", part ? `Part of the video: ${part}.` : "");
  show("#results-range", Boolean(part));
  const cost = costWords(status.cost);
  text("#results-cost", cost ? `The analysis took ${cost}.` : "");
  renderRecord(status);
  text("#results-warning", status.warning || "");
  show("#results-warning", Boolean(status.warning));
  renderVerdict($("#verdict"), summary.verdict);
  $("#detection-card").replaceChildren(...detection(summary));
  renderDownloads(status);
  renderRescore(status);
  const scored = summary.verdict?.status !== NOT_ASSESSABLE;  // results made before verdicts have none: scored
  for (const part of ["#rula-card", "#reba-card", "#assessment"]) show(part, scored);
  renderAdvice(scored ? summary.what_to_change || [] : []);  // results made before the advice have none
  if (!scored) return showVideo(status, await framesOf(status).catch(() => null), false);  // to see why
  methodCard("#rula-card", "RULA", summary.rula, RULA_COLORS);
  methodCard("#reba-card", "REBA", summary.reba, REBA_COLORS);
  $("#measurement").replaceChildren(...measurement(status));
  renderPictures($("#pictures"), status.pictures || []);
  renderBands(summary);
  await showVideo(status, await drawTimelines(status));
}

function renderVerdict(root, verdict) {
  show("#verdict", Boolean(verdict));
  if (!verdict) return root.replaceChildren();
  const list = (title, items) => (items.length ? [h("h4", {}, title), h("ul", {}, items.map((item) => h("li", {}, item)))] : null);
  root.dataset.status = verdict.status;
  root.replaceChildren(...[h("h3", {}, `Verdict: ${verdict.status}`), h("p", {}, VERDICT_MEANING[verdict.status] || ""),
    list("Why", verdict.reasons), list("What to do", verdict.advice)].flat().filter(Boolean));
}

/** For each body part that drives the result, why and what to change, with its sources (the server's sourced table,
 * pipeline/advice.py: the words are never made up per job). */
function renderAdvice(findings) {
  show("#what-to-change", findings.length > 0);
  const sources = (list) => list.flatMap((source, i) => [i ? "; " : null, h("cite", { title: source.citation }, source.name)]);
  $("#what-to-change").replaceChildren(...(findings.length ? [h("h3", { id: "what-to-change-title" }, "What to change"),
    h("ul", {}, findings.map((finding) => h("li", { "data-part": finding.part }, h("strong", {}, readable(finding.part)),
      h("p", {}, finding.why), h("p", {}, finding.recommendation),
      h("p", { class: "muted sources" }, "Sources: ", sources(finding.sources)))))] : []));
}

/** How many frames show the worker (poses rejected as not a person do not count) and what the scores stand on. */
function detection(summary) {
  const frames = summary.frames_analysed;
  const share = (n) => `${Math.round((100 * n) / Math.max(frames, 1))}%`;
  const rejected = summary.frames_rejected ? h("p", { id: "rejected-frames" }, `Not counted: ${plural(summary.frames_rejected, "frame")} ` +
    "where the pose found was rejected as not a person's.") : null;
  const basis = summary.frames_scored == null ? null : h("p", { id: "score-basis" }, "What the scores stand on: " +
    `${share(summary.frames_scored)} of frames scored exactly, ${share(summary.frames_ranged)} as a range (a body part ` +
    `out of sight), ${share(summary.frames_unscored)} not scored (no person, or nothing to score).`);
  const damaged = summary.damaged_spans.length
    ? h("p", { class: "error" }, `Damaged video skipped: ${summary.damaged_spans.join("; ")}`) : null;
  return [h("h3", {}, "Detection"), h("p", {}, h("span", { class: "big" }, share(summary.frames_with_person)),
    ` of frames show the worker (${summary.frames_with_person} of ${frames})`), rejected, basis, damaged].filter(Boolean);
}

function methodCard(id, name, block, colors) {
  const percent = (share, digits) => `${(share * 100).toFixed(digits)}%`;
  const levels = Object.entries(block.levels);
  const bar = levels.map(([level, row]) => h("span", { class: `lv${level}`,
    style: `width:${percent(row.share, 2)};background:${colors[level]}`, title: `${row.label}: ${percent(row.share, 0)}` }));
  const rows = levels.filter(([, row]) => row.frames > 0).map(([level, row]) => h("tr", {},
    h("td", {}, h("span", { class: "swatch", style: `color:${colors[level]}` }, "■"), ` ${level} · ${row.label}`),
    h("td", {}, percent(row.share, 0)), h("td", {}, `${row.seconds.toFixed(1)} s`)));
  const worst = block.worst_moments.map((m) =>
    h("li", {}, h("a", { href: `#picture-${m.frame_index}`, class: "moment", "data-seek": m.time_s }, formatMoment(m.time_s)),
      `: score ${m.score}`));
  const ranged = block.ranged_frames
    ? ` ${block.ranged_frames} more had a body part out of sight: their score lies in a range, up to ${block.ranged_max}.` : "";
  $(id).replaceChildren(h("h3", {}, name),
    h("p", {}, h("span", { class: "big" }, block.max ?? "–"), ` max · mean ${block.mean == null ? "–" : block.mean.toFixed(1)}`),
    h("div", { class: "levels", "aria-hidden": "true" }, bar),
    h("table", {}, h("tbody", {}, rows.length ? rows : h("tr", {}, h("td", {}, "No scored frames")))),
    h("p", { class: "muted" }, `Shares of the ${block.scored_frames} exactly scored frames.${ranged}`),
    h("p", { class: "muted" }, "Worst moments"), h("ol", {}, worst));
}

/** The posture pictures, each with when and why; a worst moment's link above scrolls to its picture. */
function renderPictures(root, pictures) {
  root.replaceChildren(...pictures.map((picture) => h("figure", { id: `picture-${picture.frame_index}`, "data-seek": picture.time_s },
    h("img", { src: picture.url, loading: "lazy", alt: `The worker at ${formatMoment(picture.time_s)} with the measured skeleton and scores` }),
    h("figcaption", {}, `${formatMoment(picture.time_s)}: ${picture.reasons.join("; ")}`))));
  if (!pictures.length) root.textContent = "No pictures for this job.";
}

/** Time in each posture band, as a chart and as tables, and the postures held outside the normal band. */
function renderBands(summary) {
  bandChart($("#bands"), summary.time_in_band);
  $("#band-tables").replaceChildren(...Object.entries(summary.time_in_band).map(([part, bands]) =>
    h("table", {}, h("caption", {}, readable(part)), h("tbody", {}, Object.entries(bands).map(([band, v]) =>
      h("tr", {}, h("td", {}, band), h("td", {}, `${v.seconds.toFixed(1)} s`), h("td", {}, `${(v.share * 100).toFixed(0)}%`)))))));
  const sustained = summary.sustained_postures.filter((run) => run.band !== "normal");  // holding a normal posture is no risk
  $("#sustained").replaceChildren(...(sustained.length ? sustained.map((run) =>
    h("li", {}, `${readable(run.part)}: ${run.band} from ${formatMoment(run.start_s)} for ${run.duration_s.toFixed(1)} s`))
    : [h("li", {}, "No posture outside the normal band lasted 4 s or longer.")]));
}

/** The risk over time and each body part over time, from the job's frames.csv; its rows (the video's clock), or
 * null where they could not be read. */
async function drawTimelines(status) {
  try {
    const frames = await framesOf(status);
    const duration = frames.length ? frames[frames.length - 1].time + (frames.length > 1 ? frames[1].time - frames[0].time : 0) : 0;
    timelineChart($("#timeline"), frames, duration, state.info.risk_levels);
    timelineLegend($("#timeline-legend"), state.info.risk_levels);
    bodyPartChart($("#body-parts"), frames, duration);
    return frames;
  } catch (error) {
    text("#timeline", `The timeline could not be drawn (${error.message}).`);
    return null;
  }
}

/** The job's frames.csv, row by row (the video's clock). */
async function framesOf(status) {
  const url = (await api.call("generate_download_url", { job_id: status.job_id, artifact: "csv" })).download_url;
  return parseFrames(await (await fetch(url)).text());
}

/** A button per result file, in words and in the order the server gives them (/api/info: artifact_labels). */
function renderDownloads(status) {
  const names = state.info?.artifact_labels || {};
  const known = Object.keys(names).filter((artifact) => status.artifacts.includes(artifact));
  const offered = [...known, ...status.artifacts.filter((artifact) => !known.includes(artifact))];
  $("#downloads").replaceChildren(...offered.map((artifact) =>
    button(names[artifact] || artifact, () => download(status.job_id, artifact), { "data-artifact": artifact })));
}

async function download(jobId, artifact) {
  try {
    const { download_url: url } = await api.call("generate_download_url", { job_id: jobId, artifact });
    const link = h("a", { href: url, download: "" });
    document.body.append(link);
    link.click();
    link.remove();
  } catch (error) {
    banner(error.message);
  }
}
