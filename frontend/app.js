// The page: choose a video, upload it straight to storage, follow the job, read the results.
import * as api from "./api.js";
import { h } from "./dom.js";
import { REBA_COLORS, RULA_COLORS, bandChart, bodyPartChart, formatMoment, formatTime, parseFrames, readable, timelineChart,
  timelineLegend } from "./charts.js";

const $ = (selector) => document.querySelector(selector);
const JOB_KEY = "ergo.job", CHOICES_KEY = "ergo.choices";
const FIRST_POLL_MS = 2000, MAX_POLL_MS = 10000;
const FIRST_LIST_MS = 5000, MAX_LIST_MS = 30000;
const ETA_WINDOW_MS = 120000;  // the time left comes from the progress made over the last two minutes

const state = { info: null, operator: false, chosen: null, file: null, upload: null, jobId: null, pollTimer: null, pollDelay: FIRST_POLL_MS, lastStatus: null,
  listTimer: null, listDelay: FIRST_LIST_MS, progress: { jobId: null, best: 0, samples: [] } };

function show(id, visible = true) { $(id).hidden = !visible; }
function text(id, value) { $(id).textContent = value; }
function humanBytes(n) {
  const units = ["B", "KB", "MB", "GB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return `${n.toFixed(i ? 1 : 0)} ${units[i]}`;
}
function banner(message) { text("#banner", message || ""); show("#banner", Boolean(message)); }

// -- choosing a file ------------------------------------------------------------------------
function checkFile(file) {
  const types = state.info?.video_types;  // the server's list (/api/info) is the only one
  if (!types) return "The server has not said which files it accepts yet; reload the page once it answers.";
  const extension = (file.name.split(".").pop() || "").toLowerCase();
  if (!file.name.includes(".") || !(extension in types)) {
    return `"${file.name}" is not a video this service reads. Choose an ${Object.keys(types).join(", ")} file.`;
  }
  const limit = state.info?.max_upload_bytes;
  if (limit && file.size > limit) return `"${file.name}" is ${humanBytes(file.size)}; the limit is ${humanBytes(limit)}.`;
  if (file.size === 0) return `"${file.name}" is empty.`;
  return null;
}

function chooseFile(file) {
  state.chosen = file;  // checked again once the server has said which files it accepts, if it had not yet
  const problem = checkFile(file);
  state.file = problem ? null : file;
  text("#file-error", problem || "");
  show("#file-error", Boolean(problem));
  text("#file-info", problem ? "" : `${file.name} · ${humanBytes(file.size)}`);
  $("#start-button").disabled = Boolean(problem);
}

function renderQualities() {
  const presets = state.info?.presets || [];
  const fastest = presets.find((preset) => preset.relative_time === 1)?.name;
  $("#quality-options").replaceChildren(...presets.map((preset) => {
    const cost = preset.relative_time === 1 ? "fastest" : `about ${preset.relative_time}x the time of ${fastest}`;
    const input = h("input", { type: "radio", name: "quality", value: preset.name });
    const label = h("label", {}, input, " ", h("strong", {}, preset.name), h("small", {}, `${preset.description} (${cost})`));
    input.checked = preset.default;
    input.addEventListener("change", () => { $("#overlay").checked = preset.overlay; });  // each preset's default
    if (preset.default) $("#overlay").checked = preset.overlay;
    return label;
  }));
}

/** The task details form, from the server's list (/api/info: task_details), in the worksheet's groups. */
function renderTaskDetails() {
  const groups = new Map();
  for (const field of state.info?.task_details || []) {
    if (!groups.has(field.group)) groups.set(field.group, []);
    groups.get(field.group).push(taskField(field));
  }
  $("#task-fields").replaceChildren(...[...groups].map(([name, fields]) =>
    h("fieldset", { class: "task-group" }, h("legend", {}, name || "Other"), fields)));
}

function taskField(field) {
  const id = `task-${field.name}`;
  if (field.type === "boolean") {
    const box = h("input", { type: "checkbox", name: field.name, id });
    box.checked = Boolean(field.default);
    return h("label", { class: "task-field" }, box, ` ${field.description}`);
  }
  const input = h("input", { type: "number", name: field.name, id, value: field.default ?? "", min: field.minimum, max: field.maximum,
    step: field.type === "integer" ? 1 : "any", "aria-describedby": `${id}-note` });
  const note = h("small", { id: `${id}-note`, class: "field-note" });
  input.addEventListener("input", () => checkField(field, input, note));
  return h("label", { class: "task-field" }, `${field.description} `, input, note);
}

/** {value} of a task detail as the server's schema takes it, with a note where it was left empty; or {problem}. */
function fieldValue(field, input) {
  if (field.type === "boolean") return { value: input.checked };
  const raw = input.value.trim();
  if (raw === "" && !input.validity.badInput) return { value: field.default, note: `Left empty: the default, ${field.default}, is used.` };
  const value = Number(raw);
  const name = `"${field.description}"`;
  const range = `from ${field.minimum ?? "any"} to ${field.maximum ?? "any"}`;
  if (raw === "" || !Number.isFinite(value)) return { problem: `${name} must be a number ${range}.` };
  if (field.type === "integer" && !Number.isInteger(value)) return { problem: `${name} must be a whole number ${range}.` };
  if ((field.minimum != null && value < field.minimum) || (field.maximum != null && value > field.maximum)) {
    return { problem: `${name} is ${value}; it must be ${range}.` };
  }
  return { value };
}

function checkField(field, input, note) {
  const { problem, note: words } = fieldValue(field, input);
  input.setAttribute("aria-invalid", String(Boolean(problem)));
  note.textContent = problem || words || "";
  note.classList.toggle("error", Boolean(problem));
  return problem;
}

/** Every task detail checked against the server's schema before a byte is sent: the problems, in words. */
function taskProblems() {
  return (state.info?.task_details || []).filter((field) => field.type !== "boolean")
    .map((field) => checkField(field, $(`#task-${field.name}`), $(`#task-${field.name}-note`))).filter(Boolean);
}

/** The task details that differ from their defaults (what start_processing's params needs). */
function taskDetails() {
  const params = {};
  for (const field of state.info?.task_details || []) {
    const { value } = fieldValue(field, $(`#task-${field.name}`));
    if (value !== field.default) params[field.name] = value;
  }
  return Object.keys(params).length ? params : undefined;
}

/** The file chooser offers the types the server accepts. */
function acceptVideoTypes() {
  const types = Object.keys(state.info?.video_types || {});
  if (!types.length) return;
  $("#file-input").accept = ["video/*", ...types.map((type) => `.${type}`)].join(",");
  const names = types.map((type) => type.toUpperCase());
  const limit = state.info.max_upload_bytes ? `, up to ${humanBytes(state.info.max_upload_bytes)}` : "";
  text("#file-hint", `${names.slice(0, -1).join(", ")} or ${names[names.length - 1]}${limit}`);
}

// -- uploading ------------------------------------------------------------------------------
async function startUpload() {
  if (!state.file) return;
  const problems = taskProblems();
  text("#details-error", problems.length ? `Check the task details first (nothing was sent): ${problems.join(" ")}` : "");
  show("#details-error", Boolean(problems.length));
  if (problems.length) {
    $("#task-details").open = true;
    $('#task-fields [aria-invalid="true"]').focus();
    return;
  }
  const file = state.file;
  const quality = document.querySelector('input[name="quality"]:checked')?.value;
  rememberChoices(quality);
  show("#upload-section", false); show("#progress-section"); show("#upload-failure", false); show("#job-progress", false);
  show("#upload-progress");
  $("#upload-bar").value = 0; text("#upload-text", "");
  try {
    const started = performance.now();
    let first = null;  // bytes storage had before this session: a resumed upload's speed counts only what it sends
    state.upload = api.uploadVideo(file, (sent, total, stored) => {
      first ??= sent;
      const seconds = (performance.now() - started) / 1000;
      const speed = (sent - first) / Math.max(seconds, 1e-3);
      // an upload in parts shows what storage holds whole: what a reload keeps, so the bar never goes back after one
      $("#upload-bar").value = (100 * (stored ?? sent)) / total;
      const left = speed > 0 ? ` · ${humanBytes(speed)}/s · ${formatTime((total - sent) / speed)} left` : "";
      const kept = stored == null || stored === sent ? "" : ` (${humanBytes(stored)} stored)`;
      text("#upload-text", `${humanBytes(sent)} of ${humanBytes(total)} sent${kept}${left}`);
    });
    const videoKey = await state.upload.promise;
    state.upload = null;
    show("#resume-hint", false);
    const job = await api.call("start_processing", { video_key: videoKey, quality, params: taskDetails(),
      blur_faces: $("#blur-faces").checked, overlay: $("#overlay").checked });
    watch(job.job_id);
  } catch (error) {
    state.upload = null;
    show("#upload-progress", false);
    show("#upload-failure");
    text("#upload-error", error.code === "unauthorized" ? tokenRefused() : error.message);
    if (error.code === "unauthorized") askForToken();
  }
}

// -- access token ---------------------------------------------------------------------------------
/** What an "unauthorized" answer means here: no token yet, or a saved one the server does not accept. */
function tokenRefused() {
  if (!api.getToken()) return "This server needs an access token. Enter it above, then try again.";
  text("#token-saved", "The server did not accept this token.");
  return "The server did not accept the saved access token. Check it above (or ask for a new one), then try again.";
}

/** Save the typed token and ask the server at once whether it takes it (health needs a valid token). */
async function saveToken() {
  api.setToken($("#token-input").value.trim());
  if (!api.getToken()) return text("#token-saved", "Forgotten.");
  text("#token-saved", "Saved in this browser; checking it with the server…");
  try {
    await api.call("health");
    text("#token-saved", "Saved in this browser; the server accepts it.");
  } catch (error) {
    text("#token-saved", error.code === "unauthorized" ? "Saved, but the server did not accept this token: check it."
      : `Saved in this browser (the server could not check it now: ${error.message})`);
  }
}

function askForToken() {
  showAccess(true);
  $("#token-input").focus();
}

function showAccess(visible) {
  show("#access-section", visible);
  $("#token-toggle").setAttribute("aria-expanded", String(visible));
}

/** A token in the link's fragment (#token=..., which browsers never send to a server) is saved, then removed from the address. */
function tokenFromLink() {
  const fragment = new URLSearchParams(location.hash.slice(1));
  if (!fragment.get("token")) return;
  api.setToken(fragment.get("token"));
  history.replaceState(null, "", location.pathname + location.search);
}

// -- following a job --------------------------------------------------------------------------
function rememberJob(jobId) {
  const url = new URL(location.href);
  url.searchParams.set("job", jobId);
  history.replaceState(null, "", url);
  localStorage.setItem(JOB_KEY, jobId);
}

function forgetJob() {
  const url = new URL(location.href);
  url.searchParams.delete("job");
  history.replaceState(null, "", url);
  localStorage.removeItem(JOB_KEY);
}

function stopPolling() {
  clearTimeout(state.pollTimer);
  state.pollTimer = null;
}

function watch(jobId) {
  stopPolling();
  state.jobId = jobId;
  state.pollDelay = FIRST_POLL_MS;
  rememberJob(jobId);
  showProgressView();
  text("#job-id", jobId);
  poll();
}

function showProgressView() {
  show("#upload-section", false); show("#results-section", false); show("#failure-section", false);
  show("#progress-section"); show("#upload-progress", false); show("#upload-failure", false); show("#job-progress");
}

async function poll() {
  const jobId = state.jobId;
  let status;
  try {
    const answer = await api.call("get_status", { job_id: jobId });
    status = answer.job_status;
    state.operator = Boolean(answer.caller?.operator);
  } catch (error) {
    if (error.code === "job_not_found" || error.code === "invalid_job_id") {
      forgetJob();
      reset();
      banner(`Job ${jobId} was not found; it may have been deleted.`);
      return;
    }
    text("#job-detail", `${error.message} Retrying…`);
    return schedule(jobId);
  }
  if (jobId !== state.jobId) return;
  state.lastStatus = status;
  if (status.status === "completed") return renderResults(status);
  if (status.status === "failed" || status.status === "cancelled") {
    renderFailure(status);
    // an operator may resume it: then this page follows it again, without a reload
    if (status.resumable) schedule(jobId, MAX_POLL_MS);
    return;
  }
  if (!$("#failure-section").hidden) showProgressView();  // resumed
  renderProgress(status);
  schedule(jobId);
}

function schedule(jobId, delay = state.pollDelay) {
  if (jobId !== state.jobId) return;
  state.pollTimer = setTimeout(poll, delay);
  state.pollDelay = Math.min(state.pollDelay * 1.5, MAX_POLL_MS);
}

const ordinal = (n) => `${n}${n % 10 === 1 && n % 100 !== 11 ? "st" : n % 10 === 2 && n % 100 !== 12 ? "nd" : n % 10 === 3 && n % 100 !== 13 ? "rd" : "th"}`;

/** The time left from the progress this page has seen over the last two minutes, or null until there is some. */
function timeLeft(progress) {
  const now = Date.now(), track = state.progress;
  const last = track.samples[track.samples.length - 1];
  if (!last || last.progress !== progress) track.samples.push({ at: now, progress });
  track.samples = track.samples.filter((sample) => now - sample.at <= ETA_WINDOW_MS);
  const first = track.samples[0], newest = track.samples[track.samples.length - 1];
  if (track.samples.length < 3 || newest.progress <= first.progress) return null;
  const rate = (newest.progress - first.progress) / (newest.at - first.at);  // percent per millisecond
  return (100 - progress) / rate / 1000;
}

function renderProgress(status) {
  const track = state.progress;
  if (track.jobId !== status.job_id) Object.assign(track, { jobId: status.job_id, best: 0, samples: [] });
  const progress = Math.max(track.best, status.progress);  // what the page showed never goes back
  track.best = progress;
  const queued = status.status === "queued";
  const stage = queued ? "Queued" : status.stage || "Processing";
  text("#job-stage", stage.charAt(0).toUpperCase() + stage.slice(1));
  $("#job-bar").value = progress;
  const parts = [`${progress.toFixed(0)}%`];
  if (status.frames_total && !queued) parts.push(`${status.frames_done} of ${status.frames_total} frames`);
  const detail = $("#job-detail");
  detail.classList.toggle("stalled", Boolean(status.stalled));
  if (queued && status.queue) {
    const { position, running, estimate_s: estimate } = status.queue;
    parts.push(position === 1 ? "next in line" : `${ordinal(position)} in line`);
    if (running) parts.push(`${running} running now`);
    parts.push(estimate == null ? "estimating when it starts…" : estimate < 5 ? "starting shortly" : `starts in about ${formatTime(estimate)}`);
  } else if (status.stalled) {
    parts.push(`no word from the worker for ${formatTime(status.quiet_s)}: it may have stopped. The job is taken up again ` +
      "when its lease runs out, from its last checkpoint.");
  } else if (status.status === "processing") {
    const left = timeLeft(progress);
    parts.push(left == null ? "estimating time left…" : `about ${formatTime(left)} left`);
  }
  if (status.attempts > 1) parts.push(`attempt ${status.attempts}`);
  text("#job-detail", parts.join(" · "));
  show("#cancel-job", ["queued", "processing"].includes(status.status));  // the owner may cancel their own job
}

function renderFailure(status) {
  show("#progress-section", false);
  show("#failure-section");
  const title = status.status === "cancelled" ? "The analysis was cancelled" : "The analysis did not finish";
  text("#failure-title", title);
  text("#failure-message", status.error || (status.status === "cancelled" ? "It was cancelled." : "It failed."));
  // resuming helps only where the failure was not the job's own (a file that is not a video fails again), and
  // only an operator may resume (on a server without tokens everyone is one): the server says who is asking
  show("#resume-job", Boolean(status.resumable) && state.operator);
}

// -- results ------------------------------------------------------------------------------------

function methodCard(id, name, block, colors) {
  const percent = (share, digits) => `${(share * 100).toFixed(digits)}%`;
  const levels = Object.entries(block.levels);
  const bar = levels.map(([level, row]) => h("span", { class: `lv${level}`,
    style: `width:${percent(row.share, 2)};background:${colors[level]}`, title: `${row.label}: ${percent(row.share, 0)}` }));
  const rows = levels.filter(([, row]) => row.frames > 0).map(([level, row]) => h("tr", {},
    h("td", {}, h("span", { class: "swatch", style: `color:${colors[level]}` }, "■"), ` ${level} · ${row.label}`),
    h("td", {}, percent(row.share, 0)), h("td", {}, `${row.seconds.toFixed(1)} s`)));
  const worst = block.worst_moments.map((m) =>
    h("li", {}, h("a", { href: `#picture-${m.frame_index}`, class: "moment" }, formatMoment(m.time_s)), `: score ${m.score}`));
  const ranged = block.ranged_frames
    ? ` ${block.ranged_frames} more had a body part out of sight: their score lies in a range, up to ${block.ranged_max}.` : "";
  $(id).replaceChildren(h("h3", {}, name),
    h("p", {}, h("span", { class: "big" }, block.max ?? "–"), ` max · mean ${block.mean == null ? "–" : block.mean.toFixed(1)}`),
    h("div", { class: "levels", "aria-hidden": "true" }, bar),
    h("table", {}, h("tbody", {}, rows.length ? rows : h("tr", {}, h("td", {}, "No scored frames")))),
    h("p", { class: "muted" }, `Shares of the ${block.scored_frames} exactly scored frames.${ranged}`),
    h("p", { class: "muted" }, "Worst moments"), h("ol", {}, worst));
}

async function renderResults(status) {
  show("#progress-section", false);
  show("#results-section");
  const summary = status.summary;
  text("#results-meta", `${status.filename || "Video"} · job ${status.job_id} · quality ${status.quality} · ` +
    `${summary.frames_analysed} frames analysed`);
  text("#results-warning", status.warning || "");
  show("#results-warning", Boolean(status.warning));
  methodCard("#rula-card", "RULA", summary.rula, RULA_COLORS);
  methodCard("#reba-card", "REBA", summary.reba, REBA_COLORS);
  const share = (n) => `${Math.round((100 * n) / Math.max(summary.frames_analysed, 1))}%`;
  const basis = summary.frames_scored == null ? null : h("p", { id: "score-basis" }, `What the scores stand on: ` +
    `${share(summary.frames_scored)} of frames scored exactly, ${share(summary.frames_ranged)} as a range (a body part ` +
    `out of sight), ${share(summary.frames_unscored)} not scored (no person, or nothing to score).`);
  const damaged = summary.damaged_spans.length
    ? h("p", { class: "error" }, `Damaged video skipped: ${summary.damaged_spans.join("; ")}`) : null;
  $("#detection-card").replaceChildren(h("h3", {}, "Detection"),
    h("p", {}, h("span", { class: "big" }, `${(summary.detection_rate * 100).toFixed(0)}%`), " of frames show the worker"),
    ...[basis, damaged].filter(Boolean));
  renderMeasurement($("#measurement"), status);
  renderPictures($("#pictures"), status.pictures || []);
  bandChart($("#bands"), summary.time_in_band);
  $("#band-tables").replaceChildren(...Object.entries(summary.time_in_band).map(([part, bands]) =>
    h("table", {}, h("caption", {}, readable(part)), h("tbody", {}, Object.entries(bands).map(([band, v]) =>
      h("tr", {}, h("td", {}, band), h("td", {}, `${v.seconds.toFixed(1)} s`), h("td", {}, `${(v.share * 100).toFixed(0)}%`)))))));
  const sustained = summary.sustained_postures.filter((run) => run.band !== "normal");  // holding a normal posture is no risk
  $("#sustained").replaceChildren(...(sustained.length ? sustained.map((run) =>
    h("li", {}, `${readable(run.part)}: ${run.band} from ${formatMoment(run.start_s)} for ${run.duration_s.toFixed(1)} s`))
    : [h("li", {}, "No posture outside the normal band lasted 4 s or longer.")]));
  renderDownloads(status);
  try {
    const url = (await api.call("generate_download_url", { job_id: status.job_id, artifact: "csv" })).download_url;
    const frames = parseFrames(await (await fetch(url)).text());
    const duration = frames.length ? frames[frames.length - 1].time + (frames.length > 1 ? frames[1].time - frames[0].time : 0) : 0;
    timelineChart($("#timeline"), frames, duration, state.info.risk_levels);
    timelineLegend($("#timeline-legend"), state.info.risk_levels);
    bodyPartChart($("#body-parts"), frames, duration);
  } catch (error) {
    text("#timeline", `The timeline could not be drawn (${error.message}).`);
  }
}

/** Which model, which angles came from 3D points or the 2D image, what was measured and what assumed. */
function renderMeasurement(root, status) {
  root.replaceChildren();
  const line = (label, value) => {
    const p = document.createElement("p");
    const strong = document.createElement("strong");
    strong.textContent = `${label}: `;
    p.append(strong, value);
    root.append(p);
  };
  const inputs = status.inputs || {};
  if (status.model?.name) line("Pose model", `${status.model.name}${status.model.weights ? ` (${status.model.weights})` : ""}`);
  const sources = Object.values(inputs.angle_sources || {});
  const from3d = sources.reduce((n, s) => n + s["3d"], 0);
  const from2d = sources.reduce((n, s) => n + s["2d"], 0);
  if (from3d + from2d) {
    line("Angles", `${Math.round((100 * from3d) / (from3d + from2d))}% from 3D body points, ` +
      `${Math.round((100 * from2d) / (from3d + from2d))}% from the 2D image`);
  }
  if (inputs.measured) line("Measured from the video", inputs.measured.map(readable).join(", "));
  if (inputs.assumed) {
    const details = document.createElement("details");
    const summary = document.createElement("summary");
    summary.textContent = "Assumed from the job's settings (what the video cannot show)";
    const list = document.createElement("ul");
    const measured = new Set(inputs.measured || []);
    for (const [name, value] of Object.entries(inputs.assumed)) {
      const item = document.createElement("li");
      item.textContent = `${readable(name)}: ${value}`;
      if (measured.has(name)) {  // measured where it was seen: the setting stood in only for the other frames
        const unmeasured = (inputs.frames_scored ?? 0) - (inputs.frames_measured?.[name] ?? 0);
        item.textContent += ` (measured where seen; this value stood in for the ${unmeasured} scored frames where it was not)`;
      }
      list.append(item);
    }
    details.append(summary, list);
    root.append(details);
  }
}

/** The posture pictures, each with when and why; a worst moment's link above scrolls to its picture. */
function renderPictures(root, pictures) {
  root.replaceChildren(...pictures.map((picture) => {
    const figure = document.createElement("figure");
    figure.id = `picture-${picture.frame_index}`;
    const image = Object.assign(document.createElement("img"), { src: picture.url, loading: "lazy",
      alt: `The worker at ${formatMoment(picture.time_s)} with the measured skeleton and scores` });
    const caption = document.createElement("figcaption");
    caption.textContent = `${formatMoment(picture.time_s)}: ${picture.reasons.join("; ")}`;
    figure.append(image, caption);
    return figure;
  }));
  if (!pictures.length) root.textContent = "No pictures for this job.";
}

function renderDownloads(status) {
  const names = { pkl: "Data (PKL)", json: "Summary (JSON)", csv: "Frames (CSV)", xlsx: "Report (Excel)", pdf: "Report (PDF)",
    mp4: "Annotated video (MP4)" };
  $("#downloads").replaceChildren(...status.artifacts.map((artifact) => {
    const button = document.createElement("button");
    button.type = "button";
    button.dataset.artifact = artifact;
    button.textContent = names[artifact] || artifact;
    button.addEventListener("click", async () => {
      try {
        const { download_url } = await api.call("generate_download_url", { job_id: status.job_id, artifact });
        const link = Object.assign(document.createElement("a"), { href: download_url, download: "" });
        document.body.append(link);
        link.click();
        link.remove();
      } catch (error) {
        banner(error.message);
      }
    });
    return button;
  }));
}

// -- operator ----------------------------------------------------------------------------------
const CONFIRM = {
  cancel_job: "Cancel this analysis? It stops at its next checkpoint; an operator can resume it later.",
};

async function jobAction(action, jobId) {
  if (CONFIRM[action] && !window.confirm(CONFIRM[action])) return;
  try {
    await api.call(action, { job_id: jobId });
    banner("");
    if (jobId === state.jobId) watch(jobId);
    if (!$("#operator-section").hidden) refreshJobs();
  } catch (error) {
    banner(error.message);
  }
}

/** Old finished jobs, their files and the videos no job needs any more: counted first, deleted after a confirmation. */
async function purgeOldJobs(event) {
  event.preventDefault();
  const days = Number($("#purge-days").value);
  try {
    const preview = await api.call("purge_jobs", { older_than_days: days, dry_run: true });
    const count = preview.would_delete.length;
    if (!count) {
      text("#purge-result", `No finished job is older than ${days} days.`);
      return;
    }
    const more = preview.more ? " (there are more: delete again for the rest)" : "";
    const question = `Delete ${count} finished job${count === 1 ? "" : "s"}${more}, their result files and the videos no `
      + "other job needs? Videos of jobs that can still run or be resumed are kept. This cannot be undone.";
    if (!window.confirm(question)) return;
    const done = await api.call("purge_jobs", { older_than_days: days, dry_run: false });
    const kept = done.kept.length ? `; ${done.kept.length} kept (changed meanwhile)` : "";
    text("#purge-result", `Deleted ${done.deleted.length} job${done.deleted.length === 1 ? "" : "s"}${kept}.`);
    refreshJobs();
  } catch (error) {
    text("#purge-result", error.message);
  }
}

const age = (iso) => formatTime((Date.now() - Date.parse(iso)) / 1000);

/** One row of the operator list: what, whose, how it stands (with a failed job's error), when work started, for how long. */
function jobRow(job) {
  const link = h("a", { href: `?job=${job.job_id}`, title: job.job_id }, job.filename || job.job_id);
  const status = h("td", {}, job.stalled ? `${job.status} (stalled)` : job.status);
  if (job.error) status.append(h("small", { class: "job-error" }, job.error));
  const attempts = job.attempts ? `${job.attempts} of ${job.max_retries + 1}` : "not started";
  const resumed = job.resumes ? ` · resumed ${job.resumes === 1 ? "once" : `${job.resumes} times`}` : "";
  const actions = h("td", {});
  if (job.resumable) actions.append(actionButton("Resume", () => jobAction("resume_job", job.job_id)));
  if (["queued", "processing"].includes(job.status)) actions.append(actionButton("Cancel", () => jobAction("cancel_job", job.job_id)));
  return h("tr", {}, h("td", { class: "filename" }, link), h("td", {}, job.owner ? job.owner.slice(0, 8) : "–"),
    h("td", {}, job.quality || ""), status, h("td", {}, `${job.progress.toFixed(0)}%`),
    h("td", {}, job.work_started_at ? `${age(job.work_started_at)} ago` : "not yet"),
    h("td", {}, job.work_seconds == null ? "–" : formatTime(job.work_seconds)), h("td", {}, attempts + resumed), actions);
}

/** "ok", "error" (tried again later) or "denied" (this token may not list jobs). */
async function loadJobs() {
  show("#jobs-error", false);
  try {
    const { jobs } = await api.call("list_jobs", { limit: 50, state: $("#state-filter").value || undefined });
    state.listDenied = false;
    $("#jobs-table tbody").replaceChildren(...jobs.map(jobRow));
    text("#jobs-updated", `updated ${new Date().toLocaleTimeString()}`);
    return "ok";
  } catch (error) {
    const denied = error.code === "forbidden" || error.code === "unauthorized";
    state.listDenied = denied;
    text("#jobs-error", error.code === "forbidden" ? "The job list is for operators: the saved token is not an operator's."
      : error.code === "unauthorized" ? tokenRefused() : error.message);
    show("#jobs-error");
    return denied ? "denied" : "error";
  }
}

/** Refreshes the list while the panel is open and the page is visible: every 5 s, slower while nothing changes. */
async function refreshJobs() {
  clearTimeout(state.listTimer);
  state.listDelay = FIRST_LIST_MS;
  await loadJobs();
  scheduleJobs();
}

function scheduleJobs() {
  clearTimeout(state.listTimer);
  // a token that may not list jobs only collects 403s: a new token (Save) or Refresh asks again
  if ($("#operator-section").hidden || document.visibilityState !== "visible" || state.listDenied) return;
  state.listTimer = setTimeout(async () => {
    const outcome = await loadJobs();
    state.listDelay = outcome === "ok" ? Math.min(state.listDelay * 1.5, MAX_LIST_MS) : MAX_LIST_MS;
    scheduleJobs();
  }, state.listDelay);
}

function actionButton(label, onClick) {
  const button = document.createElement("button");
  button.type = "button";
  button.textContent = label;
  button.addEventListener("click", onClick);
  return button;
}

// -- wiring --------------------------------------------------------------------------------------
function reset() {
  stopPolling();
  state.jobId = null;
  state.file = null;
  forgetJob();
  $("#file-input").value = "";
  text("#file-info", ""); show("#file-error", false);
  $("#start-button").disabled = true;
  for (const id of ["#progress-section", "#results-section", "#failure-section"]) show(id, false);
  show("#upload-section");
}

function bind() {
  $("#file-input").addEventListener("change", (event) => event.target.files[0] && chooseFile(event.target.files[0]));
  const zone = $("#drop-zone");
  zone.addEventListener("dragover", (event) => { event.preventDefault(); zone.classList.add("dragging"); });
  zone.addEventListener("dragleave", () => zone.classList.remove("dragging"));
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    zone.classList.remove("dragging");
    if (event.dataTransfer.files[0]) chooseFile(event.dataTransfer.files[0]);
  });
  $("#start-button").addEventListener("click", startUpload);
  $("#cancel-upload").addEventListener("click", () => state.upload?.abort());
  $("#retry-upload").addEventListener("click", startUpload);
  document.querySelectorAll(".new-analysis").forEach((button) => button.addEventListener("click", reset));
  $("#cancel-job").addEventListener("click", () => jobAction("cancel_job", state.jobId));
  $("#resume-job").addEventListener("click", () => jobAction("resume_job", state.jobId));
  $("#operator-toggle").addEventListener("click", () => {
    const section = $("#operator-section");
    section.hidden = !section.hidden;
    $("#operator-toggle").setAttribute("aria-expanded", String(!section.hidden));
    if (section.hidden) clearTimeout(state.listTimer);
    else refreshJobs();
  });
  $("#token-toggle").addEventListener("click", () => showAccess($("#access-section").hidden));
  $("#token-input").value = api.getToken();
  $("#token-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    await saveToken();
    if (!$("#operator-section").hidden) refreshJobs();
    if (state.lastStatus) renderProgress(state.lastStatus);
  });
  $("#token-clear").addEventListener("click", () => {
    api.setToken("");
    $("#token-input").value = "";
    text("#token-saved", "Forgotten.");
  });
  $("#state-filter").addEventListener("change", refreshJobs);
  $("#refresh-jobs").addEventListener("click", refreshJobs);
  $("#purge-form").addEventListener("submit", purgeOldJobs);
  document.addEventListener("visibilitychange", () => (document.visibilityState === "visible" ? scheduleJobs() : clearTimeout(state.listTimer)));
}

/** The options chosen for an upload, kept in this browser so that an upload resumed after a reload keeps them. */
function rememberChoices(quality) {
  localStorage.setItem(CHOICES_KEY, JSON.stringify({ quality, blur: $("#blur-faces").checked, overlay: $("#overlay").checked }));
}

function restoreChoices() {
  let saved = null;
  try { saved = JSON.parse(localStorage.getItem(CHOICES_KEY) || "null"); } catch { /* unreadable: the defaults stay */ }
  const radio = saved && document.querySelector(`input[name="quality"][value="${CSS.escape(saved.quality || "")}"]`);
  if (!radio) return;
  radio.checked = true;
  $("#blur-faces").checked = saved.blur;
  $("#overlay").checked = saved.overlay;
}

function hintUnfinishedUpload() {
  const saved = api.unfinishedUpload();
  if (saved) restoreChoices();
  if (saved) text("#resume-hint", `The upload of "${saved.name}" (${humanBytes(saved.size)}) stopped before it finished. `
    + "Choose the same file again to continue where it stopped.");
  show("#resume-hint", Boolean(saved));
}

async function main() {
  tokenFromLink();
  bind();
  const refused = api.refusedApi();
  try {
    state.info = await api.info();
    if (refused) banner(`The link asked for the API at ${refused}, which this page is not set up to use (config.js); it uses its own.`);
  } catch (error) {
    banner(error.message);
  }
  if (state.info?.auth_required && !api.getToken()) showAccess(true);
  renderQualities();
  renderTaskDetails();
  hintUnfinishedUpload();
  acceptVideoTypes();
  if (state.chosen && state.info) chooseFile(state.chosen);  // a file chosen while the server had not answered yet
  const jobId = new URLSearchParams(location.search).get("job") || localStorage.getItem(JOB_KEY);
  if (jobId) watch(jobId);
}

main();
